"""The across-seed statistics against SciPy, statsmodels and brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as st

from assay.robustness import (
    discordant_pairs,
    holm,
    permutation_test,
    rank_changed,
    rankdata,
    seed_effect_test,
    spearman,
    spearman_matrix,
    spread,
)


def test_seed_effect_test_is_cochrans_q_on_binary_losses() -> None:
    cochrans_q = pytest.importorskip("statsmodels.stats.contingency_tables").cochrans_q

    rng = np.random.default_rng(1)
    k, n = 6, 300
    base = rng.random(n) < 0.7
    flips = rng.random((k, n)) < np.linspace(0.05, 0.25, k)[:, None]
    correct = (base[None, :] ^ flips).astype(float)
    ref = cochrans_q(correct.T)  # rows = blocks, columns = treatments
    got = seed_effect_test(correct)
    assert got.df == ref.df == k - 1
    assert got.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-8)
    assert got.p_value < 0.05  # the seeds' flip rates differ
    # weights scale d but not T
    assert seed_effect_test(correct, np.full(n, 3.0)).statistic == pytest.approx(got.statistic)


def test_noise_variance_is_the_exact_permutation_expectation() -> None:
    # All per-row permutations of a tiny table: E[sum (d - mean d)^2] = noise_variance * k
    losses = np.array([[0.0, 1.0, 2.5], [1.0, 1.0, 0.0], [0.5, 0.0, 1.0]])
    w = np.array([0.5, -0.25, 1.0])
    k = losses.shape[0]
    perms = list(itertools.permutations(range(k)))
    ss = []
    for combo in itertools.product(perms, repeat=losses.shape[1]):
        lp = np.stack([losses[list(p), j] for j, p in enumerate(combo)], axis=1)
        d = lp @ w
        ss.append(np.sum((d - d.mean()) ** 2))
    got = seed_effect_test(losses, w)
    assert np.mean(ss) == pytest.approx(got.noise_variance * k, rel=1e-12)


def test_chi2_and_permutation_p_values_agree_and_null_is_calibrated() -> None:
    rng = np.random.default_rng(2)
    k, n = 8, 400
    pvals = []
    for _ in range(200):  # exchangeable losses: no seed effect
        lo = (rng.random((k, n)) < rng.random(n)[None, :]).astype(float)
        pvals.append(seed_effect_test(lo).p_value)
    assert 0.02 <= np.mean(np.array(pvals) < 0.05) <= 0.09
    assert st.kstest(pvals, "uniform").pvalue > 0.01
    lo = (rng.random((k, n)) < (rng.random(n)[None, :] * 0.8 + np.linspace(0, 0.08, k)[:, None])).astype(float)
    a, b = seed_effect_test(lo), permutation_test(lo, n_permutations=1999, seed=0)
    assert b.statistic == a.statistic
    assert abs(a.p_value - b.p_value) < 0.03 + 0.3 * a.p_value


def test_identical_losses_give_p_one() -> None:
    lo = np.tile(np.array([0.0, 1.0, 1.0, 0.0]), (5, 1))
    r = seed_effect_test(lo)
    assert (r.statistic, r.p_value) == (0.0, 1.0)


def test_seed_effect_test_errors() -> None:
    with pytest.raises(ValueError, match=r"'losses' parameter of seed_effect_test must be a \(seeds, rows\)"):
        seed_effect_test(np.zeros(5))
    with pytest.raises(ValueError, match=r"'weights' parameter of seed_effect_test must have one weight per row \(5\)"):
        seed_effect_test(np.zeros((3, 5)), np.ones(4))


def test_spread_against_scipy() -> None:
    v = np.array([0.81, 0.84, 0.79, 0.86, 0.83, np.nan])
    s = spread(v, 0.9)
    f = v[np.isfinite(v)]
    lo, hi = st.t.interval(0.9, f.size - 1, loc=f.mean(), scale=st.sem(f))
    assert (s.n, s.mean, s.sd, s.min, s.max) == (5, pytest.approx(f.mean()), pytest.approx(np.std(f, ddof=1)), 0.79, 0.86)
    assert (s.mean_lower, s.mean_upper) == (pytest.approx(lo), pytest.approx(hi))
    # sd interval: variance interval (n-1) s^2 / chi2 quantiles, square-rooted
    var = np.var(f, ddof=1)
    assert s.sd_lower == pytest.approx(math.sqrt(4 * var / st.chi2.ppf(0.95, 4)))
    assert s.sd_upper == pytest.approx(math.sqrt(4 * var / st.chi2.ppf(0.05, 4)))


def test_ranks_and_rank_correlations_against_scipy() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 6, 15).astype(float)  # ties
    b = a + rng.normal(0, 2, 15)
    assert np.array_equal(rankdata(a), st.rankdata(a))
    assert spearman(a, b) == pytest.approx(st.spearmanr(a, b).statistic)
    m = np.c_[a, b, rng.normal(size=15), -b]
    assert np.allclose(spearman_matrix(m), st.spearmanr(m).statistic)
    assert math.isnan(spearman(np.ones(5), np.arange(5.0)))
    x, y = rng.normal(size=12), rng.normal(size=12)  # no ties: discordant share = (1 - tau) / 2
    assert discordant_pairs(x, y) == pytest.approx((1 - st.kendalltau(x, y).statistic) / 2)
    # brute force with ties
    a2, b2 = np.array([1.0, 2, 2, 3]), np.array([2.0, 1, 3, 3])
    pairs = list(itertools.combinations(range(4), 2))
    disc = sum((a2[i] - a2[j]) * (b2[i] - b2[j]) < 0 for i, j in pairs) / len(pairs)
    assert discordant_pairs(a2, b2) == pytest.approx(disc)


def test_rank_changed() -> None:
    iid = np.array([0.90, 0.91, 0.92, 0.93])
    assert rank_changed(iid, iid + 0.5) == 0.0
    assert rank_changed(iid, np.array([0.5, 0.6, 0.8, 0.7])) == 0.5  # two seeds swap
    assert rank_changed(iid, -iid) == 1.0


def test_holm_against_statsmodels() -> None:
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests

    p = [0.01, 0.04, 0.03, 0.2, 0.001]
    assert np.allclose(holm(p), multipletests(p, method="holm")[1])
    out = holm([0.02, math.nan, 0.5])
    assert out[0] == pytest.approx(0.04) and math.isnan(out[1]) and out[2] == pytest.approx(0.5)
