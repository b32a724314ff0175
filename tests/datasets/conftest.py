"""Locate the shared offline data folder for the data set tests, or skip."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

# The shared data folder sits next to the repository: <repo>/../shared/data.
FALLBACK_DATA_HOME = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _candidates() -> list[Path]:
    out = []
    env = os.environ.get("ASSAY_DATA_HOME")
    if env:
        out.append(Path(env).expanduser())
    out.append(FALLBACK_DATA_HOME)
    return out


@pytest.fixture(scope="session")
def need_data() -> Callable[..., Path]:
    """Return ``need(*relpaths)``: the first data home holding all files, else skip the test."""

    def need(*relpaths: str) -> Path:
        for home in _candidates():
            if all((home / rel).is_file() for rel in relpaths):
                return home.resolve()
        tried = ", ".join(str(p) for p in _candidates())
        pytest.skip(f"shared data files {list(relpaths)} not found (looked in: {tried})")

    return need
