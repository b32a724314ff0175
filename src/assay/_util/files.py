"""Atomic file writes (results, reports, model cards)."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically: to a temporary file in the same folder,
    then :func:`os.replace` onto ``path``, so a reader never sees a half-written file and
    a failed write leaves any previous file as it was.

    A symbolic link is written through. A new file gets the permissions of a plain ``open``
    (``0o666`` less the umask); an existing file keeps its own.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """:func:`write_text_atomic` for bytes."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to (``torch.save``, ``np.savez``, any writer
    that takes a path); on a clean exit it replaces ``path`` in one step, on an error it is
    removed and ``path`` is left as it was::

        with atomic_path("ckpt.pt") as tmp:
            torch.save(state, tmp)
    """
    target = Path(path)
    if target.is_symlink():  # write through the link, as a plain open would
        target = target.resolve()
    folder = target.parent
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    while True:
        tmp = folder / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - a 48-bit name collision
            continue
        os.close(fd)
        break
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
