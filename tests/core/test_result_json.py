"""EvalResult serialization round trip, schema checks, tidy frame."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import assay
from assay.core import catalogue
from assay.core.result import COLUMNS, SCHEMA_VERSION


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    n = 1000
    d = {"y": rng.integers(0, 2, n), "s": rng.random(n), "g": rng.choice(["a", "b", "<c>"], n)}
    return assay.evaluate(d, label="y", scores="s", slices="g", thresholds=[0.5], min_slice_size=10)


def test_json_round_trip_preserves_everything(result, tmp_path):
    path = tmp_path / "r.json"
    text = result.to_json(path)
    doc = json.loads(text)
    assert doc["schema"] == "assay.EvalResult" and doc["version"] == SCHEMA_VERSION
    back = assay.EvalResult.from_json(path)
    import pandas.testing as pdt

    pdt.assert_frame_equal(back.to_frame(), result.to_frame())
    assert back.slices == result.slices
    assert back.config == json.loads(json.dumps(result.config))
    a = back.value("fpr", slice="g=<c>", threshold=0.5)
    b = result.value("fpr", slice="g=<c>", threshold=0.5)
    assert (a.value, a.lower, a.upper, a.diff) == (b.value, b.lower, b.upper, b.diff)
    assert assay.EvalResult.from_json(text).n_rows == 1000


def test_json_has_no_nan_tokens(result):
    text = result.to_json()
    assert "NaN" not in text and "Infinity" not in text


def test_from_json_rejects_other_documents():
    with pytest.raises(ValueError, match=re.escape("Not an assay evaluation result: schema is 'x'.")):
        assay.EvalResult.from_json('{"schema": "x"}')
    with pytest.raises(ValueError, match=re.escape("Unsupported result schema version 99; this assay reads version 1.")):
        assay.EvalResult.from_json('{"schema": "assay.EvalResult", "version": 99}')


def test_tidy_frame(result):
    df = result.to_frame()
    assert list(df.columns) == list(COLUMNS)
    # one row per model x slice x metric x threshold
    assert not df.duplicated(["model", "class", "slice", "metric", "threshold"]).any()
    fpr = df[(df.metric == "fpr") & (df.slice == "overall")]
    assert len(fpr) == 1 and fpr.threshold.iloc[0] == 0.5
    assert set(df.slice) == {s.slice for s in result.slices}
    sf = result.slices_frame()
    assert list(sf.columns) == ["feature", "slice", "key", "count", "weighted_count", "withheld", "reason"]


def test_reads_a_result_written_by_the_previous_version():
    """``data/result_v1_0.1.0.json`` was written by assay before the metric-family platform
    (commit 177ad83) from the data below; this version reads it and computes the same
    when asked for that version's interval rules (replicate intervals, no withholding)."""
    from pathlib import Path

    path = Path(__file__).parent / "data" / "result_v1_0.1.0.json"
    old = assay.EvalResult.from_json(path)
    rng = np.random.default_rng(42)
    n = 300
    y = rng.integers(0, 2, n)
    s = np.round(rng.beta(2 + y, 3 - y), 3)
    d = {"y": y, "s": s, "s2": np.round(np.clip(s + rng.normal(0, .1, n), 0, 1), 3),
         "g": rng.choice(["a", "b"], n)}  # fmt: skip
    new = assay.evaluate(d, label="y", scores=["s", "s2"], slices="g", thresholds=[0.3, 0.5],
                         min_slice_size=5, rate_interval="replicate", min_denominator=0)  # fmt: skip
    assert set(old.metrics) == set(new.metrics)
    for m in old.metrics:
        for sl in ("overall", "g=a", "g=b"):
            for model in ("s", "s2"):
                ts = old.thresholds if catalogue.per_threshold(m) else [None]
                for t in ts:
                    try:
                        a = old.value(m, slice=sl, threshold=t, model=model)
                    except ValueError:
                        continue  # e.g. flip rates exist for the second model only
                    b = new.value(m, slice=sl, threshold=t, model=model)
                    for k in ("value", "lower", "upper", "diff", "diff_lower", "diff_upper"):
                        x, z = getattr(a, k), getattr(b, k)
                        assert (np.isnan(x) and np.isnan(z)) or x == pytest.approx(z, rel=1e-9, abs=1e-12), (m, sl, model, t, k)
    assert old.to_html().startswith("<!DOCTYPE html>")
    assert "Model card" in old.to_model_card() or old.to_model_card()
