"""Small helpers of the programs in :mod:`assay.apps`: argument checks, torch, a progress bar.

The library has its own versions of these in a private package; the programs keep these
copies so that they depend on public names only. The messages are the library's:
``The 'x' parameter of f must be ... Got ... instead.``
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any, TextIO

import numpy as np


def check_choice(param: str, value: Any, choices: Sequence[Any], *, func: str) -> Any:
    """Return ``value`` if it is one of ``choices``; raise ``ValueError`` otherwise."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(
            f"The {param!r} parameter of {func} must be one of {{{listed}}}. Got {value!r} instead."
        )
    return value


def check_int(param: str, value: Any, *, minimum: int | None = None, func: str) -> int:
    """Return ``value`` as ``int`` if it is an integer at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"The {param!r} parameter of {func} must be an int. "
            f"Got {value!r} of type {type(value).__name__} instead."
        )
    number = int(value)
    if minimum is not None and number < minimum:
        raise ValueError(
            f"The {param!r} parameter of {func} must be an int >= {minimum}. Got {value!r} instead."
        )
    return number


def require_torch(purpose: str) -> ModuleType:
    """Import ``torch`` or raise ``ImportError`` naming the ``assay[torch]`` extra."""
    try:
        return importlib.import_module("torch")
    except ImportError as exc:  # pragma: no cover - torch is installed in the test environment
        raise ImportError(
            f"'torch' is required for {purpose} but is not installed; "
            "install it with: pip install 'assay[torch]'"
        ) from exc


class Progress:
    """A minimal progress bar on ``stream`` (stderr by default).

    On a terminal it is redrawn in place at most every 0.2 s; on anything else (a log file,
    a pipe, CI) it writes one line when it closes: what was done, how much and how fast."""

    def __init__(
        self,
        total: float,
        *,
        desc: str = "",
        unit: str = "steps",
        enabled: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        self.total, self.desc, self.unit, self.enabled = total, desc, unit, enabled
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.live = bool(isatty()) if callable(isatty) else False
        self.n = 0.0
        self._start = time.perf_counter()
        self._last = 0.0

    def update(self, n: float = 1.0) -> None:
        """Advance by ``n`` and redraw (on a terminal) if enough time has passed."""
        self.n += n
        if not (self.enabled and self.live):
            return
        now = time.perf_counter()
        if now - self._last >= 0.2:
            self._last = now
            self._draw(now)

    def close(self) -> None:
        """Draw the final state and end the line (the only line when not on a terminal)."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.live:
            self._draw(now)
        else:
            secs = max(now - self._start, 1e-9)
            self.stream.write(
                f"{self.desc}: {self.n:,.0f}/{self.total:,.0f} {self.unit} in {secs:.1f} s "
                f"({self.n / secs:,.0f} {self.unit}/s)"
            )
        self.stream.write("\n")
        self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _draw(self, now: float) -> None:
        rate = self.n / max(now - self._start, 1e-9)
        frac = min(max(self.n / self.total, 0.0), 1.0) if self.total else 1.0
        bar = "#" * int(frac * 30) + "-" * (30 - int(frac * 30))
        self.stream.write(f"\r{self.desc} [{bar}] {frac * 100:5.1f}% {rate:,.0f} {self.unit}/s")
        self.stream.flush()
