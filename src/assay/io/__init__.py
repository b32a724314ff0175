"""Reading tables of examples from any supported source, in bounded-memory chunks."""

from .tables import TableSource, open_source

__all__ = ["TableSource", "open_source"]
