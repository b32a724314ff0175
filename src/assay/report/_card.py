"""Model card (placeholder)."""

from __future__ import annotations

from typing import Any


def model_card(result: Any) -> str:
    raise NotImplementedError
