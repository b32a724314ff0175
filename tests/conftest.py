"""Shared test fixtures: the offline data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_home() -> Path | None:
    env = os.environ.get("ASSAY_DATA_HOME")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if cand.is_dir():
            return cand
    return None


@pytest.fixture(scope="session")
def data_home() -> Path:
    home = shared_data_home()
    if home is None:
        pytest.skip("the shared data folder (ASSAY_DATA_HOME or ../shared/data) is not present")
    return home
