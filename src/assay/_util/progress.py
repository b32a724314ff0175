"""A dependency-free progress bar for long work (quiet unless asked for)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Minimal progress bar written to ``stream`` (stderr by default).

    ``total`` may be ``None`` when the amount of work is unknown; then a counter is shown.
    Updates are rate limited so the bar costs nothing on a hot path. On a terminal the bar
    is redrawn in place (every ``min_interval`` seconds); otherwise (a log file, CI, a
    notebook's captured stderr) each update is one plain line, at most one every
    ``line_interval`` seconds, and ``close`` writes one final summary line.
    """

    def __init__(
        self,
        total: float | None,
        *,
        desc: str = "",
        unit: str = "rows",
        enabled: bool = True,
        stream: TextIO | None = None,
        min_interval: float = 0.2,
        line_interval: float = 10.0,
    ) -> None:
        self.total = total
        self.desc = desc
        self.unit = unit
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.live = bool(isatty()) if callable(isatty) else False
        self.min_interval = min_interval if self.live else line_interval
        self.n = 0.0
        self._start = time.perf_counter()
        self._last = 0.0

    def update(self, n: float = 1.0, *, position: float | None = None) -> None:
        """Advance by ``n`` (or jump to ``position``) and redraw if enough time has passed."""
        if position is not None:
            self.n = position
        else:
            self.n += n
        if not self.enabled:
            return
        if not self.live and self.total and self.n >= self.total:
            return  # finished: the summary line at close says so (no twin line before it)
        now = time.perf_counter()
        if now - self._last >= self.min_interval:
            self._last = now
            self._draw(now)

    def close(self) -> None:
        if self.enabled:
            self._draw(time.perf_counter(), final=True)
            if self.live:
                self.stream.write("\n")
            self.stream.flush()
            self.enabled = False  # a second close writes nothing

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _draw(self, now: float, final: bool = False) -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = self.n / elapsed
        r = f"{rate:,.0f}" if rate >= 10 else f"{rate:.2g}"  # 0.05 seeds/s, not 0
        if self.total:
            frac = min(max(self.n / self.total, 0.0), 1.0)
            width = 30
            filled = int(frac * width)
            bar = "#" * filled + "-" * (width - filled)
            text = f"{self.desc} [{bar}] {frac * 100:5.1f}% {r} {self.unit}/s"
        else:
            text = f"{self.desc} {self.n:,.0f} {self.unit} {r} {self.unit}/s"
        if self.live:
            self.stream.write("\r" + text)
        else:
            of = f"/{self.total:,.0f}" if self.total else ""
            end = "" if final else " ..."
            self.stream.write(
                f"{self.desc}: {self.n:,.0f}{of} {self.unit} in {elapsed:.1f} s "
                f"({r} {self.unit}/s){end}\n"
            )
        self.stream.flush()
