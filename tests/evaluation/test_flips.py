"""Flip rates (the O(K) start/end state) against a brute-force count per threshold."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import assay
from assay.core.replicates import row_hashes


def test_flip_rates_weighted_three_models_many_thresholds():
    rng = np.random.default_rng(3)
    n = 2000
    s0 = rng.random(n)
    d = {"y": rng.integers(0, 2, n), "s0": s0, "s1": np.clip(s0 + rng.normal(0, 0.1, n), 0, 1),
         "s2": rng.random(n), "w": rng.uniform(0.1, 3.3, n), "g": rng.choice(["a", "b", "c"], n)}  # fmt: skip
    thr = np.round(np.linspace(0.01, 0.99, 40), 4)
    r = assay.evaluate(d, label="y", scores=["s0", "s1", "s2"], slices="g", weight="w",
                       thresholds=thr)  # fmt: skip
    g, w = np.asarray(d["g"]), d["w"]
    for model in ("s1", "s2"):
        for name, m in [("overall", np.ones(n, bool)), ("g=b", g == "b")]:
            for t in thr[::7]:
                a, b = d["s0"][m] > t, d[model][m] > t
                ww = w[m]
                p2n = ww[a & ~b].sum() / ww.sum()
                n2p = ww[~a & b].sum() / ww.sum()
                got = r.value("flip_rate_pos_to_neg", slice=name, threshold=t, model=model).value
                assert got == pytest.approx(p2n, rel=1e-12, abs=0)
                got = r.value("flip_rate_neg_to_pos", slice=name, threshold=t, model=model).value
                assert got == pytest.approx(n2p, rel=1e-12, abs=0)
                got = r.value("flip_rate", slice=name, threshold=t, model=model).value
                assert got == pytest.approx(p2n + n2p, rel=1e-12, abs=0)
    # no flip between identical models, at every threshold: exactly zero despite weights
    same = assay.evaluate(dict(d, s3=d["s0"]), label="y", scores=["s0", "s3"], weight="w",
                          thresholds=thr, ci="bootstrap", n_replicates=10)  # fmt: skip
    for t in thr:
        v = same.value("flip_rate", threshold=t, model="s3")
        assert v.value == 0.0 and v.lower == 0.0 and v.upper == 0.0


def test_flip_rate_jackknife_interval_equals_explicit_leave_one_bucket_out():
    rng = np.random.default_rng(4)
    n = 1500
    d = {"y": rng.integers(0, 2, n), "a": rng.random(n), "b": rng.random(n), "k": np.arange(n) + 10}
    r = assay.evaluate(d, label="y", scores=["a", "b"], thresholds=[0.4], row_key="k", seed=2)
    bucket = (row_hashes(d["k"], 2) % np.uint64(20)).astype(int)

    def rate(sel):
        return np.mean((d["a"][sel] > 0.4) != (d["b"][sel] > 0.4))

    reps = np.array([rate(bucket != j) for j in range(20)])
    se = np.sqrt(19 / 20 * np.sum((reps - reps.mean()) ** 2))
    v = r.value("flip_rate", threshold=0.4, model="b")
    crit = stats.t.ppf(0.975, 19)
    assert v.value == pytest.approx(rate(np.ones(n, bool)), rel=1e-12)
    assert v.lower == pytest.approx(v.value - crit * se, rel=1e-9)
    assert v.upper == pytest.approx(v.value + crit * se, rel=1e-9)


def test_flip_state_is_linear_in_thresholds():
    from assay.core.plan import Plan
    from assay.core.state import EvalState

    plan = Plan.build({"label": "y", "scores": ["a", "b"], "thresholds": np.linspace(0, 1, 10_001)},
                      func="evaluate")  # fmt: skip
    st = EvalState(plan)
    flip = st.tables[0].arrays["flip0"]
    assert flip.shape == (1, 2, 4, 10_002, 20)  # not (10_002, 10_002)
