"""Atomic writes (assay._util.files): replace in one step, leave the old file on failure."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from assay._util.files import atomic_path, write_bytes_atomic, write_text_atomic


def test_atomic_path_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "a.npy"
    with atomic_path(target) as tmp, open(tmp, "wb") as f:
        np.save(f, np.arange(3))
    assert np.array_equal(np.load(target), np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["a.npy"]
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert np.array_equal(np.load(target), np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["a.npy"]


def test_write_bytes_atomic_keeps_the_old_file_when_the_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "b.bin"
    write_bytes_atomic(target, b"old")
    write_text_atomic(tmp_path / "c.txt", "text")
    assert target.read_bytes() == b"old" and (tmp_path / "c.txt").read_text() == "text"

    def fail(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "c.txt"]
