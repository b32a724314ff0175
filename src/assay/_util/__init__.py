"""Shared machinery used by every capability: validation, optional imports, progress, hashing."""
