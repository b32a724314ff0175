"""TMC-Shapley, Beta Shapley and Data Banzhaf against exact semivalues by enumerating all
subsets of a tiny game, within their own standard errors; efficiency; seeds; errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from assay.valuation import (
    BetaShapley,
    DataBanzhaf,
    TMCShapley,
    beta_shapley_weights,
    gelman_rubin,
)

N = 6


def _game(seed=0):
    """A deterministic utility on 6 players: a table over all 64 subsets (U(empty) = 0)."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.0, 1.0, N)
    table = {}
    for mask in range(2**N):
        members = [i for i in range(N) if mask >> i & 1]
        table[mask] = 0.0 if not members else math.sqrt(sum(w[members])) + 0.3 * rng.random()
    calls = [0]

    def utility(idx):
        calls[0] += 1
        return table[int(sum(1 << int(i) for i in idx))]

    return table, utility, calls


def _exact_semivalue(table, p):
    """sum_s p(s) * mean over |S| = s (i not in S) of U(S + i) - U(S), by enumeration."""
    out = np.zeros(N)
    for i in range(N):
        others = [j for j in range(N) if j != i]
        for s in range(N):
            subsets = list(itertools.combinations(others, s))
            gain = [table[sum(1 << j for j in S) | 1 << i] - table[sum(1 << j for j in S)]
                    for S in subsets]
            out[i] += p[s] * np.mean(gain)
    return out


def _shapley_by_permutations(table):
    out = np.zeros(N)
    perms = list(itertools.permutations(range(N)))
    for perm in perms:
        mask = 0
        for i in perm:
            out[i] += table[mask | 1 << i] - table[mask]
            mask |= 1 << i
    return out / len(perms)


def _check_within_error(est, exact):
    z = (est.values_ - exact) / est.std_error_
    assert np.all(np.abs(z) < 4.0), z
    # the stated error is neither wildly small nor uselessly large
    assert 0.05 < float(np.mean(z**2)) < 4.0
    assert est.std_error_.max() < 0.05


def test_reference_semivalues_agree():
    table, _, _ = _game()
    shap = _exact_semivalue(table, np.full(N, 1.0 / N))
    np.testing.assert_allclose(shap, _shapley_by_permutations(table), atol=1e-12)
    assert shap.sum() == pytest.approx(table[2**N - 1] - table[0])


def test_beta_weights_are_the_beta_binomial():
    from scipy.stats import betabinom

    np.testing.assert_allclose(beta_shapley_weights(7, 1.0, 1.0), np.full(7, 1 / 7))
    p = beta_shapley_weights(9, 16.0, 1.0)
    np.testing.assert_allclose(p, betabinom.pmf(np.arange(9), 8, 1.0, 16.0), rtol=1e-12)
    assert p[0] > p[1] > p[-1]  # (16, 1) weights small subsets
    with pytest.raises(ValueError, match=r"'alpha' and 'beta' .* must be positive"):
        beta_shapley_weights(5, 0.0, 1.0)


def test_tmc_without_truncation_is_within_its_error_of_exact_shapley():
    table, utility, _ = _game(1)
    exact = _exact_semivalue(table, np.full(N, 1.0 / N))
    est = TMCShapley(n_samples=3000, truncation=0.0, random_state=0).fit_utility(utility, N)
    _check_within_error(est, exact)
    # efficiency holds permutation by permutation
    assert est.values_.sum() == pytest.approx(table[2**N - 1] - table[0], abs=1e-12)
    assert est.convergence_["n_samples"] == 3000
    assert est.convergence_["rhat_max"] < 1.05
    assert est.convergence_["relative_change_last_tenth"] < 0.05


def test_beta_shapley_is_within_its_error_of_the_exact_beta_semivalue():
    table, utility, _ = _game(2)
    for a, b in [(16.0, 1.0), (4.0, 1.0)]:
        exact = _exact_semivalue(table, beta_shapley_weights(N, a, b))
        est = BetaShapley(alpha=a, beta=b, n_samples=3000, random_state=1).fit_utility(utility, N)
        _check_within_error(est, exact)


def test_banzhaf_msr_is_within_its_error_of_exact_banzhaf():
    table, utility, calls = _game(3)
    p = np.array([math.comb(N - 1, s) / 2 ** (N - 1) for s in range(N)])
    exact = _exact_semivalue(table, p)
    est = DataBanzhaf(n_samples=4000, random_state=2).fit_utility(utility, N)
    _check_within_error(est, exact)
    assert calls[0] == 4000 == est.n_utility_evaluations_
    assert est.convergence_["rhat_max"] < 1.05


def test_truncation_saves_evaluations():
    _, utility, calls = _game(4)
    TMCShapley(n_samples=200, truncation=0.0, random_state=0).fit_utility(utility, N)
    plain = calls[0]
    calls[0] = 0
    TMCShapley(n_samples=200, truncation=0.5, random_state=0).fit_utility(utility, N)
    assert calls[0] < plain


@pytest.mark.parametrize("cls", [TMCShapley, BetaShapley, DataBanzhaf])
def test_seeded_runs_repeat(cls):
    _, utility, _ = _game(5)
    a = cls(n_samples=50, random_state=7).fit_utility(utility, N).values_
    b = cls(n_samples=50, random_state=7).fit_utility(utility, N).values_
    c = cls(n_samples=50, random_state=8).fit_utility(utility, N).values_
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_time_budget_stops_early():
    _, utility, _ = _game(6)
    est = DataBanzhaf(n_samples=10_000, time_budget=1e-9, random_state=0).fit_utility(utility, N)
    assert est.n_samples_ == 1


def test_with_an_estimator_efficiency_against_fits_by_hand():
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    xt = rng.normal(size=(8, 2))
    yt = np.array([0, 1, 0, 1, 1, 0, 1, 1])
    xv = rng.normal(size=(30, 2))
    yv = (xv[:, 0] > 0).astype(int)
    model = LogisticRegression()
    est = TMCShapley(model, n_samples=4, truncation=0.0, random_state=0).fit(xt, yt, xv, yv)
    full = clone(model).fit(xt, yt).score(xv, yv)
    empty = np.mean(yv == 1)  # the most frequent training class is 1
    assert est.values_.sum() == pytest.approx(full - empty, abs=1e-12)


def test_gelman_rubin_against_the_textbook_formula():
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(4, 50, 3)) + np.array([0.0, 0.0, 1.0])[None, None, :]
    draws[1, :, 2] += 2.0  # chain 1 disagrees on row 2
    L = 50
    w = draws.var(axis=1, ddof=1).mean(axis=0)
    b = L * draws.mean(axis=1).var(axis=0, ddof=1)
    want = np.sqrt(((L - 1) / L * w + b / L) / w)
    got = gelman_rubin(draws.sum(axis=1), (draws**2).sum(axis=1), np.full(4, 50.0))
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert got[2] > 1.2 > got[0]


def test_bad_arguments_are_named():
    _, utility, _ = _game()
    with pytest.raises(ValueError, match=r"'truncation' parameter of TMCShapley must be in \[0, 1\)"):
        TMCShapley(truncation=1.5).fit_utility(utility, N)
    with pytest.raises(TypeError, match="'estimator' parameter of DataBanzhaf must be"):
        DataBanzhaf().fit(np.eye(3), [0, 1, 0], np.eye(3), [0, 1, 0])
    with pytest.raises(ValueError, match="'time_budget' parameter of BetaShapley"):
        BetaShapley(time_budget=-1).fit_utility(utility, N)
    with pytest.raises(TypeError, match="'n_samples' parameter of TMCShapley must be an int"):
        TMCShapley(n_samples=2.5).fit_utility(utility, N)
    with pytest.raises(TypeError, match=r"'utility' parameter of TMCShapley\.fit_utility"):
        TMCShapley().fit_utility(None, N)


def test_time_budget_drops_the_permutation_in_progress():
    """Out of time inside a permutation (after the first), the permutation is dropped: the
    run stops within 64 evaluations instead of finishing a permutation of all n rows."""
    import time as _time

    calls = []

    def slow(idx):
        calls.append(len(idx))
        _time.sleep(0.0005)
        return float(len(idx)) / 500

    est = TMCShapley(truncation=0.0, n_samples=50, time_budget=0.05, random_state=0)
    est.fit_utility(slow, 500)
    assert est.n_samples_ == 1
    assert len(calls) <= 1 + 500 + 64
    # the one permutation's marginal contributions of U(S) = |S| / 500 are exactly 1 / 500
    np.testing.assert_allclose(est.values_, np.full(500, 1 / 500), rtol=0, atol=1e-15)
