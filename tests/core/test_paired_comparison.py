"""Paired model comparison: the change between two models on the same rows, with its
interval from the shared replicates, checked against an explicit leave-one-bucket-out
recomputation; pairing of separately evaluated results and the reasons it is refused."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import stats

import assay
from assay.core.replicates import row_hashes


def _data(seed=0, n=3000):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    a = np.round(rng.beta(2 + y, 3 - y), 4)
    b = np.clip(a + rng.normal(0.05, 0.1, n), 0, 1)  # model b flags more rows
    g = rng.choice(["x", "y"], n)
    return {"y": y, "a": a, "b": b, "g": g, "k": np.arange(n) * 3 + 1}


def test_paired_change_equals_explicit_leave_one_bucket_out():
    d = _data()
    r = assay.evaluate(
        d, label="y", scores=["a", "b"], slices="g", thresholds=[0.5], row_key="k", seed=4
    )
    mc = r.model_comparison()
    assert set(mc.model) == {"b"} and set(mc.reference) == {"a"}
    bucket = (row_hashes(d["k"], 4) % np.uint64(20)).astype(int)
    y = d["y"]
    crit = stats.t.ppf(0.975, 19)

    def fpr(s, m):
        neg = m & (y == 0)
        return np.sum(s[neg] > 0.5) / neg.sum()

    for sl, mask in [("overall", np.ones(len(y), bool)), ("g=x", d["g"] == "x")]:
        row = mc[(mc.slice == sl) & (mc.metric == "fpr")].iloc[0]
        full = fpr(d["b"], mask) - fpr(d["a"], mask)
        reps = np.array(
            [
                fpr(d["b"], mask & (bucket != j)) - fpr(d["a"], mask & (bucket != j))
                for j in range(20)
            ]
        )
        se = np.sqrt(19 / 20 * np.sum((reps - reps.mean()) ** 2))
        assert row["diff"] == pytest.approx(full, rel=1e-12)
        assert row.diff_lower == pytest.approx(full - crit * se, rel=1e-9)
        assert row.diff_upper == pytest.approx(full + crit * se, rel=1e-9)
        assert row.significant  # +0.05 on every score: more false positives
        # paired is much tighter than treating the two models as independent
        va, vb = (
            r.value("fpr", slice=sl, threshold=0.5, model="a"),
            r.value("fpr", slice=sl, threshold=0.5, model="b"),
        )
        indep = np.hypot(va.upper - va.value, vb.upper - vb.value)
        assert row.diff_upper - row["diff"] < indep
    # in the JSON, and read back
    back = assay.EvalResult.from_json(r.to_json())
    np.testing.assert_allclose(back.model_comparison()["diff"], mc["diff"], equal_nan=True)
    assert "model_comparison" in r.to_dict()


def test_separately_evaluated_results_pair_like_one_evaluation():
    d = _data(seed=1)
    kw = dict(label="y", slices="g", thresholds=[0.5], row_key="k", seed=4)
    both = assay.evaluate(d, scores=["a", "b"], **kw).model_comparison()
    ra = assay.evaluate(d, scores="a", **kw)
    rb = assay.evaluate(d, scores="b", **kw)
    c = ra.compare(rb)
    assert c.models == ["a", "b"]
    got = c.model_comparison()
    key = ["slice", "metric", "threshold"]
    m = both.merge(got, on=key, suffixes=("", "_sep"))
    assert len(m) == len(both) > 0
    np.testing.assert_allclose(m["diff_sep"], m["diff"], rtol=1e-12, equal_nan=True)
    # replicates are kept as float32: intervals agree to single precision
    np.testing.assert_allclose(
        m["diff_lower_sep"], m["diff_lower"], rtol=1e-4, atol=1e-6, equal_nan=True
    )
    assert (m["significant_sep"] == m["significant"]).mean() > 0.97
    assert c.to_html().startswith("<!DOCTYPE html>")


def test_pairing_is_refused_with_the_reason():
    d = _data(seed=2, n=500)
    ra = assay.evaluate(d, label="y", scores="a", slices="g", thresholds=[0.5], seed=1)
    rb = assay.evaluate(d, label="y", scores="b", slices="g", thresholds=[0.5], seed=2)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Cannot pair these results: the change between models needs the same rows with the same replicate assignment, but seed differs (1 vs 2)."
        ),
    ):
        ra.compare(rb)
    half = {k: v[:400] for k, v in d.items()}
    rc = assay.evaluate(half, label="y", scores="b", slices="g", thresholds=[0.5], seed=1)
    with pytest.raises(ValueError, match="the number of rows differs \\(500 vs 400\\)"):
        ra.compare(rc)
    back = assay.EvalResult.from_json(rb.to_json())
    rb1 = assay.evaluate(d, label="y", scores="b", slices="g", thresholds=[0.5], seed=1)
    assert ra.compare(rb1).models == ["a", "b"]
    back = assay.EvalResult.from_json(rb1.to_json())
    with pytest.raises(ValueError, match="results read from JSON do not carry them"):
        ra.compare(back)
    with pytest.raises(
        TypeError,
        match=r"The 'other' parameter of EvalResult.compare must be an EvalResult. Got dict instead.",
    ):
        ra.compare({})


def test_keep_replicates_controls_what_separate_results_can_pair():
    rng = np.random.default_rng(3)
    n = 400
    d = {"y": rng.integers(0, 2, n), "s": rng.random(n), "t": rng.random(n),
         "g": rng.choice(["a", "b"], n)}  # fmt: skip
    kw = dict(label="y", slices="g", thresholds=[0.5])
    a = assay.evaluate(d, scores="s", **kw)
    assert a.replicates is not None and a.replicates.shape == (a.to_arrow().num_rows, 20)
    b_off = assay.evaluate(d, scores="t", keep_replicates=False, **kw)
    assert b_off.replicates is None and b_off.config["keep_replicates"] is False
    with pytest.raises(ValueError, match="a result was evaluated with keep_replicates=False"):
        a.compare(b_off)
    b_on = assay.evaluate(d, scores="t", keep_replicates=True, **kw)
    assert a.compare(b_on).model_comparison().shape[0] > 0
    with pytest.raises(ValueError, match=r"The 'keep_replicates' parameter of evaluate must be True, False or 'auto'. Got 'yes' instead."):
        assay.evaluate(d, scores="t", keep_replicates="yes", **kw)


def test_keep_replicates_auto_drops_them_above_the_budget(monkeypatch):
    import assay.core.finalize as F

    monkeypatch.setattr(F, "REPLICATE_BUDGET", 100)
    rng = np.random.default_rng(4)
    d = {"y": rng.integers(0, 2, 300), "s": rng.random(300), "t": rng.random(300)}
    a = assay.evaluate(d, label="y", scores="s", thresholds=[0.5])
    b = assay.evaluate(d, label="y", scores="t", thresholds=[0.5])
    assert a.replicates is None and "keep_replicates='auto' keeps at most 100 values" in a.replicates_dropped
    with pytest.raises(ValueError, match="evaluate both with keep_replicates=True"):
        a.compare(b)
    # the numbers do not depend on whether the replicates were kept
    monkeypatch.setattr(F, "REPLICATE_BUDGET", 10**9)
    kept = assay.evaluate(d, label="y", scores="s", thresholds=[0.5])
    assert kept.replicates is not None
    import pandas as pd

    pd.testing.assert_frame_equal(kept.to_frame(), a.to_frame())
