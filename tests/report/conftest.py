"""Shared fixtures for the report tests: synthetic scored data, results and a browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import assay

THRESHOLDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
EVIL_VALUES = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(4)</script>\u2028&amp;\"'",
]
EVIL_MODEL = "<svg onload=alert(2)>"
EVIL_COLUMN = 'feat"<b>x</b>'


def make_data(n: int = 3000, seed: int = 0) -> dict[str, Any]:
    """Scored rows with a group column (one tiny group, withheld at size 30) and sex."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1])
    group[:12] = "tiny"
    sex = rng.choice(["F", "M"], n)
    base = {"north": 0.3, "south": 0.5, "east": 0.4, "west": 0.6, "tiny": 0.5}
    p = np.array([base[g] for g in group])
    y = rng.binomial(1, p)
    bias = np.array([{"south": 0.08, "west": -0.05}.get(g, 0.0) for g in group])
    score = np.clip(0.3 * y + rng.normal(0.35, 0.18, n) + bias, 0, 1)
    score_b = np.clip(0.3 * y + rng.normal(0.35, 0.18, n) + bias / 4, 0, 1)
    return {"group": group, "sex": sex, "label": y, "score": score, "score_b": score_b}


@pytest.fixture(scope="session")
def data() -> dict[str, Any]:
    return make_data()


@pytest.fixture(scope="session")
def result(data: dict[str, Any]) -> assay.EvalResult:
    return assay.evaluate(
        data, label="label", scores="score", slices=["group", "sex", ("group", "sex")],
        thresholds=THRESHOLDS, min_slice_size=30,
    )  # fmt: skip


@pytest.fixture(scope="session")
def result_b(data: dict[str, Any]) -> assay.EvalResult:
    return assay.evaluate(
        data, label="label", scores="score_b", slices=["group", "sex", ("group", "sex")],
        thresholds=THRESHOLDS, min_slice_size=30,
    )  # fmt: skip


@pytest.fixture(scope="session")
def evil() -> dict[str, Any]:
    """The hostile names used by ``evil_data`` / ``evil_result``."""
    return {"values": EVIL_VALUES, "model": EVIL_MODEL, "column": EVIL_COLUMN}


@pytest.fixture(scope="session")
def evil_data() -> dict[str, Any]:
    """Data whose slice values, column and model names are markup."""
    d = make_data(900, seed=1)
    rng = np.random.default_rng(2)
    return {
        EVIL_COLUMN: rng.choice([*EVIL_VALUES, "plain"], 900),
        "label": d["label"],
        "s": d["score"],
    }


@pytest.fixture(scope="session")
def evil_result(evil_data: dict[str, Any]) -> assay.EvalResult:
    return assay.evaluate(
        evil_data, label="label", scores={EVIL_MODEL: "s"}, slices=[EVIL_COLUMN],
        thresholds=[0.3, 0.5], min_slice_size=30,
    )  # fmt: skip


# ------------------------------------------------------------------------ browser
CHROMIUM = os.environ.get("ASSAY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright, or skip with the reason."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(
            f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium, "
            f"or set ASSAY_CHROMIUM); not found"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(
            "browser tests need the playwright Python package (pip install 'assay[report]')"
        )
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
