"""The library's progress bar: redrawn in place on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io

from assay._util.progress import Progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_off_a_terminal_one_line_per_update_and_a_summary(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("assay._util.progress.time.perf_counter", clock)
    buf = io.StringIO()
    with Progress(100, desc="fit", unit="rows", stream=buf, line_interval=10.0) as bar:
        for step in range(100):
            clock.t = step * 1.0  # 1 s per update: a line at most every 10 s
            bar.update(1)
    lines = buf.getvalue().splitlines()
    assert "\r" not in buf.getvalue()
    assert len(lines) == 9 + 1  # a line at t = 10, 20, ..., 90, then the summary
    assert lines[0] == "fit: 11/100 rows in 10.0 s (1.1 rows/s) ..."  # 11 rows / 10 s
    assert lines[-1].startswith("fit: 100/100 rows in 99.0 s") and not lines[-1].endswith("...")


def test_on_a_terminal_redrawn_in_place():
    tty = Tty()
    with Progress(10, desc="fit", stream=tty) as bar:
        bar.update(10)
    out = tty.getvalue()
    assert out.startswith("\rfit [") and "100.0%" in out and out.endswith("\n")
    assert out.count("\n") == 1


def test_disabled_writes_nothing_and_close_is_idempotent():
    buf = io.StringIO()
    bar = Progress(5, stream=buf, enabled=False)
    bar.update(5)
    bar.close()
    assert buf.getvalue() == ""
    buf2 = io.StringIO()
    bar2 = Progress(None, desc="rows", stream=buf2)
    bar2.update(3)
    bar2.close()
    bar2.close()
    assert buf2.getvalue().splitlines()[-1].startswith("rows: 3 rows in ")
    assert len(buf2.getvalue().splitlines()) == 2
