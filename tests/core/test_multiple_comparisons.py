"""Adjusted significance across slices: Benjamini-Hochberg (default), Holm, none.

References: statsmodels' ``multipletests`` (``fdr_bh``, ``holm``) when installed, and a
hand-computed example; the p-values against SciPy's t distribution.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import assay
from assay.core.stats import adjust_pvalues


def test_bh_and_holm_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # BH: sorted 0.005, 0.01, 0.03, 0.04 -> 4p/rank = 0.02, 0.02, 0.04, 0.04
    np.testing.assert_allclose(adjust_pvalues(p, "bh"), [0.02, 0.04, 0.04, 0.02])
    # Holm: 4*0.005=0.02, 3*0.01=0.03, 2*0.03=0.06, 1*0.04 -> max(0.06, 0.04)=0.06
    np.testing.assert_allclose(adjust_pvalues(p, "holm"), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(adjust_pvalues(p, "none"), p)
    with pytest.raises(
        ValueError, match=r"must be one of \['bh', 'holm', 'none'\]. Got 'bonf' instead."
    ):
        adjust_pvalues(p, "bonf")


@pytest.mark.parametrize("method,sm", [("bh", "fdr_bh"), ("holm", "holm")])
def test_adjustment_matches_statsmodels_within_groups(method, sm):
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    rng = np.random.default_rng(0)
    p = rng.beta(0.4, 1.0, 300)
    p[rng.random(300) < 0.1] = np.nan  # not tests
    groups = rng.integers(0, 5, 300)
    got = adjust_pvalues(p, method, groups)
    for g in range(5):
        m = (groups == g) & np.isfinite(p)
        ref = multipletests(p[m], method=sm)[1]
        np.testing.assert_allclose(got[m], ref, rtol=1e-12)
        assert np.isnan(got[(groups == g) & ~np.isfinite(p)]).all()


def _many_slices(seed=0, n_slices=60, n=6000, effect=0.0):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, n_slices, n)
    y = rng.integers(0, 2, n)
    s = rng.random(n)
    s = np.where(g < 3, np.clip(s + effect, 0, 1), s)  # three slices truly differ
    return {"y": y, "s": s, "g": np.array([f"s{i:02d}" for i in g])}


def test_result_carries_adjusted_significance_and_states_the_method():
    d = _many_slices(effect=0.4)
    r = assay.evaluate(d, label="y", scores="s", slices="g", thresholds=[0.5])
    assert r.config["multiple_comparisons"] == "bh"
    doc = r.to_dict()
    assert doc["significance"]["multiple_comparisons"] == "bh"
    assert "significant_adjusted" in doc["metrics"]
    df = r.to_frame()
    assert "significant_adjusted" in df.columns and "p_value_adjusted" in df.columns
    fpr = df[(df.metric == "fpr") & (df.slice != "overall")]
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    ok = fpr.p_value.notna()
    ref = multipletests(fpr.p_value[ok], method="fdr_bh")[1]
    np.testing.assert_allclose(fpr.p_value_adjusted[ok], ref, rtol=1e-10)
    # adjusted never marks more than unadjusted, and each flag is its p-value's verdict
    assert (df.significant_adjusted <= df.significant).all()
    v = r.value("fpr", slice="g=s00", threshold=0.5)
    assert v.significant and v.significant_adjusted  # a true gap of +0.4 in the scores
    holm = r.adjusted("holm")
    assert holm.config["multiple_comparisons"] == "holm"
    hf = holm.to_frame()
    assert (hf.p_value_adjusted.fillna(0) >= df.p_value_adjusted.fillna(0) - 1e-12).all()
    none = assay.evaluate(
        d, label="y", scores="s", slices="g", thresholds=[0.5], multiple_comparisons=None
    )
    nf = none.to_frame()
    assert (nf.significant_adjusted == nf.significant).all()
    with pytest.raises(
        ValueError, match="The 'multiple_comparisons' parameter of evaluate must be one of"
    ):
        assay.evaluate(d, label="y", scores="s", multiple_comparisons="bonferroni")


def test_p_value_is_the_inverted_interval():
    d = _many_slices(seed=2, n_slices=4, n=4000)
    r = assay.evaluate(d, label="y", scores="s", slices="g", thresholds=[0.5], confidence=0.9)
    df = r.to_frame()
    rows = df[(df.metric == "roc_auc") & df.p_value.notna()]
    assert len(rows) == 4
    for _, row in rows.iterrows():
        # jackknife with 20 buckets: t with 19 degrees of freedom
        crit = stats.t.ppf(0.95, 19)
        se = (row.diff_upper - row.diff_lower) / (2 * crit)
        assert row.p_value == pytest.approx(2 * stats.t.sf(abs(row["diff"]) / se, 19), rel=1e-8)
        assert (row.p_value < 0.1) == bool(row.significant)


def test_null_slices_are_rarely_significant_after_adjustment():
    # 60 slices with no true difference: unadjusted flags ~5% of them, BH almost none.
    unadj, adj = 0, 0
    for seed in range(3):
        r = assay.evaluate(
            _many_slices(seed=10 + seed), label="y", scores="s", slices="g", thresholds=[0.5]
        )
        f = r.to_frame()
        f = f[(f.metric == "fpr") & (f.slice != "overall")]
        unadj += int(f.significant.sum())
        adj += int(f.significant_adjusted.sum())
    assert adj <= 1 and adj <= unadj


def test_adjustment_families_from_the_finalizer_equal_those_from_the_key_columns():
    """The finalizer numbers the families (model x class x metric x threshold) as it emits
    rows; recomputing them from the table's key columns gives the same adjusted values."""
    import pyarrow as pa

    from assay.core.result import add_adjusted

    rng = np.random.default_rng(11)
    n = 3000
    y = rng.integers(0, 3, n)
    p = rng.dirichlet([1, 1, 1], n) * 0.5 + np.eye(3)[y] * 0.5
    d = {"y": y, "p0": p[:, 0], "p1": p[:, 1], "p2": p[:, 2], "q0": p[:, 1], "q1": p[:, 0],
         "q2": p[:, 2], "g": rng.choice(list("abcdefgh"), n), "h": rng.choice(list("xyz"), n)}  # fmt: skip
    r = assay.evaluate(d, label="y", classes=[0, 1, 2], scores={"A": ["p0", "p1", "p2"],
                       "B": ["q0", "q1", "q2"]}, slices=["g", "h", ("g", "h")],
                       thresholds=[0.3, 0.6], min_denominator=0)  # fmt: skip
    t = r.to_arrow()
    again = add_adjusted(
        t.set_column(t.column_names.index("p_value_adjusted"), "p_value_adjusted",
                     pa.nulls(t.num_rows, pa.float64())), "bh", 0.95,
    )  # fmt: skip
    a = t.column("p_value_adjusted").to_numpy(zero_copy_only=False)
    b = again.column("p_value_adjusted").to_numpy(zero_copy_only=False)
    assert np.isfinite(a).sum() > 100
    np.testing.assert_array_equal(a, b)
    assert t.column("significant_adjusted").equals(again.column("significant_adjusted"))
