"""Result tables larger than memory should hold: record batches spilled to a memory-mapped
Arrow file.

A sliced evaluation's tidy table has one row per model x class x slice x metric x threshold:
100,000 slice values with the default 9 thresholds are 14.6 million rows (about 2 GiB).
:class:`BatchSink` collects the record batches as the finalizer emits them; once the table
is projected to exceed ``budget`` bytes (``spill="auto"``) or from the start
(``spill=True``), the batches go to an Arrow IPC stream file in the temporary directory
(``$ASSAY_TMPDIR``, else :func:`tempfile.gettempdir`) instead of memory, and the finished
table is read back zero-copy from a memory map of that file. The operating system pages
the table in as it is read and may drop those pages again, so the process holds only what
it touches. The file is unlinked as soon as it is mapped (POSIX keeps the data until the
map is closed, when the table is garbage-collected); where unlinking an open file fails
(Windows) it is removed at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
from pathlib import Path

import pyarrow as pa

#: ``spill="auto"`` spills a result table projected to exceed this many bytes (256 MiB).
SPILL_BYTES = 256 << 20

#: Environment variable naming the folder of spilled result tables.
TMPDIR_ENV = "ASSAY_TMPDIR"


def spill_dir() -> Path:
    """The folder spilled tables are written to."""
    d = os.environ.get(TMPDIR_ENV)
    return Path(d) if d else Path(tempfile.gettempdir())


class BatchSink:
    """Collects record batches of one schema in memory or, past the budget, on disk.

    ``spill`` is ``True`` (always to disk), ``False`` (never) or ``"auto"``: spill once
    ``projected(done)`` (the bytes held so far, scaled by the share of the work left, see
    :meth:`add`) exceeds ``budget``.
    """

    def __init__(self, schema: pa.Schema, spill: bool | str, budget: int = SPILL_BYTES) -> None:
        self.schema = schema
        self.spill = spill
        self.budget = budget
        self._batches: list[pa.RecordBatch] = []
        self._held = 0
        self._path: Path | None = None
        self._file: pa.NativeFile | None = None
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None
        self.rows = 0

    @property
    def spilled(self) -> bool:
        """Whether the batches went to disk."""
        return self._writer is not None

    def add(self, batch: pa.RecordBatch, done: float = 1.0) -> None:
        """Append ``batch``; ``done`` is the share of the whole table emitted so far
        (including ``batch``), from which the final size is projected."""
        self.rows += batch.num_rows
        if self._writer is not None:
            self._writer.write_batch(batch)
            return
        self._batches.append(batch)
        self._held += batch.nbytes
        if self.spill is True or (
            self.spill == "auto" and self._held / max(done, 1e-12) > self.budget
        ):
            self._open()

    def _open(self) -> None:
        folder = spill_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix="assay-result-", suffix=".arrows", dir=folder)
        except OSError as e:
            raise OSError(
                f"Could not create a file for a large result table in {str(folder)!r} "
                f"({e}). Set {TMPDIR_ENV} to a writable folder with room, or pass "
                "spill=False to keep the table in memory."
            ) from e
        os.close(fd)
        self._path = Path(name)
        self._file = pa.OSFile(name, "wb")
        self._writer = pa.ipc.new_stream(self._file, self.schema)
        for b in self._batches:
            self._writer.write_batch(b)
        self._batches, self._held = [], 0

    def table(self) -> pa.Table:
        """The collected table (memory-mapped when spilled). The sink is spent."""
        if self._writer is None:
            out = pa.Table.from_batches(self._batches, schema=self.schema)
            self._batches = []
            return out
        if self._file is None or self._path is None:  # set with the writer
            raise RuntimeError("BatchSink: spilled without a file")
        self._writer.close()
        self._file.close()
        self._writer = None
        path = self._path
        mm = pa.memory_map(str(path), "r")
        out = pa.ipc.open_stream(mm).read_all()
        try:
            path.unlink()
        except OSError:  # an open file cannot be removed here (Windows): at exit
            atexit.register(_remove, path)
        return out


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
