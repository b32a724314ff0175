"""Confidence intervals: explicit recomputation, SciPy quantiles, simulated coverage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

import assay
from assay.core.replicates import poisson_multiplicities, row_hashes
from assay.core.stats import betainc, t_ppf


@pytest.mark.parametrize("df", [1, 2, 5, 19, 99, 1000])
@pytest.mark.parametrize("q", [0.6, 0.9, 0.975, 0.995])
def test_t_quantile_matches_scipy(q, df):
    assert t_ppf(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-9)
    assert t_ppf(1 - q, df) == pytest.approx(stats.t.ppf(1 - q, df), rel=1e-9)


@pytest.mark.parametrize("a,b,x", [(0.5, 0.5, 0.3), (2.0, 3.0, 0.7), (10.0, 0.5, 0.99), (50, 50, 0.5)])
def test_incomplete_beta_matches_scipy(a, b, x):
    from scipy.special import betainc as sp_betainc

    assert betainc(a, b, x) == pytest.approx(sp_betainc(a, b, x), rel=1e-10)


def test_jackknife_interval_equals_explicit_leave_one_bucket_out():
    rng = np.random.default_rng(0)
    n = 3000
    y = rng.integers(0, 2, n)
    s = np.round(rng.beta(2 + y, 3 - y), 3)
    g = rng.choice(["a", "b"], n)
    key = np.arange(n) * 7 + 3
    r = assay.evaluate({"y": y, "s": s, "g": g, "k": key}, label="y", scores="s", slices="g",
                       thresholds=[0.5], row_key="k", seed=11, confidence=0.9)  # fmt: skip
    bucket = (row_hashes(key, 11) % np.uint64(20)).astype(int)
    crit = stats.t.ppf(0.95, 19)

    def check(metric_fn, got, mask):
        reps = np.array([metric_fn(mask & (bucket != b)) for b in range(20)])
        full = metric_fn(mask)
        se = np.sqrt(19 / 20 * np.sum((reps - reps.mean()) ** 2))
        assert got.value == pytest.approx(full, rel=1e-12)
        assert got.lower == pytest.approx(max(full - crit * se, 0.0), rel=1e-9)
        assert got.upper == pytest.approx(min(full + crit * se, 1.0), rel=1e-9)

    def fpr(m):
        neg = m & (y == 0)
        return np.sum(s[neg] > 0.5) / neg.sum()

    def auc(m):
        return roc_auc_score(y[m], s[m])

    for name, mask in [("overall", np.ones(n, bool)), ("g=a", g == "a"), ("g=b", g == "b")]:
        check(fpr, r.value("fpr", slice=name, threshold=0.5), mask)
        check(auc, r.value("roc_auc", slice=name), mask)
    # The difference from the baseline is jackknifed on the same buckets.
    v = r.value("fpr", slice="g=a", threshold=0.5)
    reps = np.array([fpr((g == "a") & (bucket != b)) - fpr(bucket != b) for b in range(20)])
    se = np.sqrt(19 / 20 * np.sum((reps - reps.mean()) ** 2))
    assert v.diff_upper - v.diff == pytest.approx(crit * se, rel=1e-9)


def test_bootstrap_interval_equals_explicit_resampled_recomputation():
    rng = np.random.default_rng(1)
    n = 2000
    y = rng.integers(0, 2, n)
    s = rng.random(n)
    r = assay.evaluate({"y": y, "s": s}, label="y", scores="s", thresholds=[0.5], ci="bootstrap", n_replicates=30, seed=5)
    m = poisson_multiplicities(row_hashes(np.arange(n), 5), 30)  # (n, 30)
    neg = y == 0
    reps = np.array([np.sum(m[neg & (s > 0.5), b]) / np.sum(m[neg, b]) for b in range(30)])
    full = np.mean(s[neg] > 0.5)
    half = stats.t.ppf(0.975, 29) * reps.std(ddof=1)
    v = r.value("fpr", threshold=0.5)
    assert v.value == pytest.approx(full)
    assert v.lower == pytest.approx(full - half, rel=1e-9)
    assert v.upper == pytest.approx(full + half, rel=1e-9)


def test_poisson_multiplicities_have_poisson_1_moments():
    m = poisson_multiplicities(row_hashes(np.arange(200_000), 0), 8)
    assert m.mean() == pytest.approx(1.0, abs=0.01)
    assert m.var() == pytest.approx(1.0, abs=0.02)
    freq0 = np.mean(m == 0)
    assert freq0 == pytest.approx(np.exp(-1), abs=0.005)
    # Independent across draws.
    c = np.corrcoef(m[:, 0], m[:, 1])[0, 1]
    assert abs(c) < 0.01


@pytest.mark.parametrize("ci", ["jackknife", "bootstrap"])
def test_intervals_cover_the_true_value_at_about_the_nominal_rate(ci):
    # Negatives' scores are uniform: the true FPR at threshold 0.3 is 0.7, the true AUC
    # with positives' scores ~ Beta(2, 1) and negatives' ~ U(0, 1) is 2/3.
    rng = np.random.default_rng(123)
    covered_fpr, covered_auc, runs = 0, 0, 150
    for seed in range(runs):
        n = 800
        y = rng.integers(0, 2, n)
        s = np.where(y == 1, rng.beta(2, 1, n), rng.uniform(0, 1, n))
        r = assay.evaluate({"y": y, "s": s}, label="y", scores="s", thresholds=[0.3], ci=ci, seed=seed,
                           n_replicates=20 if ci == "jackknife" else 50)  # fmt: skip
        f = r.value("fpr", threshold=0.3)
        a = r.value("roc_auc")
        covered_fpr += f.lower <= 0.7 <= f.upper
        covered_auc += a.lower <= 2 / 3 <= a.upper
    # Nominal 95%: with 150 runs, a binomial 99.9% band is about [0.88, 0.995].
    assert 0.88 <= covered_fpr / runs <= 1.0
    assert 0.88 <= covered_auc / runs <= 1.0
