"""The building blocks against closed forms and SciPy's distributions, at fixed seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from assay.privacy import (
    clip_to_radius,
    discrete_laplace,
    gaussian_delta,
    gaussian_sigma,
    private_count,
    private_mean,
    private_sum,
)
from assay.privacy.mechanisms import discrete_laplace_variance

DRAWS = 200_000


@pytest.mark.parametrize("a", [0.1, 0.7, 2.0])
def test_discrete_laplace_matches_scipy_pmf(a: float) -> None:
    z = discrete_laplace(a, size=DRAWS, random_state=1)
    assert z.dtype == np.int64
    # Chi-square goodness of fit against scipy.stats.dlaplace (same pmf:
    # tanh(a/2) exp(-a|k|)), with the tails pooled so each bin expects >= 20 draws.
    dist = stats.dlaplace(a)
    kmax = int(dist.ppf(1 - 20 / DRAWS))
    support = np.arange(-kmax, kmax + 1)
    observed = np.array([(z < -kmax).sum()] + [(z == k).sum() for k in support]
                        + [(z > kmax).sum()])
    probs = np.r_[dist.cdf(-kmax - 1), dist.pmf(support), dist.sf(kmax)]
    expected = probs / probs.sum() * DRAWS
    chi2 = ((observed - expected) ** 2 / expected).sum()
    p = stats.chi2.sf(chi2, df=observed.size - 1)
    assert p > 1e-3, (a, chi2, p)
    # Moments: unbiased, variance 2 e^-a / (1 - e^-a)^2 (= SciPy's).
    var = discrete_laplace_variance(a)
    assert var == pytest.approx(dist.var(), rel=1e-9)
    assert abs(z.mean()) < 4 * math.sqrt(var / DRAWS)
    assert z.var() == pytest.approx(var, rel=0.03)


def test_discrete_laplace_infinite_parameter_is_noiseless() -> None:
    assert discrete_laplace(math.inf, random_state=0) == 0
    assert not discrete_laplace(math.inf, size=5, random_state=0).any()


def test_private_count_unbiased_with_the_specified_scale() -> None:
    rng = np.random.default_rng(3)
    eps = 0.5
    draws = np.array([private_count(1000, eps, random_state=rng) for _ in range(20_000)])
    # Goodness of fit of the released noise against scipy.stats.dlaplace(epsilon).
    dist = stats.dlaplace(eps)
    kmax = int(dist.ppf(1 - 20 / draws.size))
    support = np.arange(-kmax, kmax + 1)
    z = draws - 1000
    observed = np.array([(z < -kmax).sum()] + [(z == k).sum() for k in support]
                        + [(z > kmax).sum()])
    probs = np.r_[dist.cdf(-kmax - 1), dist.pmf(support), dist.sf(kmax)]
    expected = probs / probs.sum() * draws.size
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, df=observed.size - 1) > 1e-3
    var = discrete_laplace_variance(eps)
    assert abs(draws.mean() - 1000) < 4 * math.sqrt(var / draws.size)
    assert draws.var() == pytest.approx(var, rel=0.05)
    assert private_count(7, math.inf, random_state=0) == 7


def test_clip_projects_outside_points_onto_the_sphere() -> None:
    X = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0], [-10.0, 0.0]])
    out = clip_to_radius(X, 2.0)
    np.testing.assert_allclose(out[0], [1.2, 1.6])  # 2 * (3, 4) / 5
    np.testing.assert_array_equal(out[1], X[1])  # inside: unchanged
    np.testing.assert_array_equal(out[2], X[2])
    np.testing.assert_allclose(out[3], [-2.0, 0.0])
    np.testing.assert_allclose(np.linalg.norm(out[[0, 3]], axis=1), 2.0)


def test_private_sum_noise_is_gaussian_with_sigma_around_the_clipped_sum() -> None:
    X = np.array([[3.0, 4.0, 0.0], [0.1, 0.2, 0.3], [0.0, 0.0, -9.0]])
    true = clip_to_radius(X, 1.0).sum(axis=0)
    np.testing.assert_allclose(true, [0.7, 1.0, -0.7])
    sigma = 0.8
    rng = np.random.default_rng(5)
    noise = np.array([private_sum(X, 1.0, sigma=sigma, random_state=rng) - true
                      for _ in range(5000)]).ravel()
    ks = stats.kstest(noise, stats.norm(0, sigma).cdf)
    assert ks.pvalue > 1e-3
    assert abs(noise.mean()) < 4 * sigma / math.sqrt(noise.size)
    np.testing.assert_array_equal(private_sum(X, 1.0, sigma=0.0, random_state=0), true)


def test_gaussian_sigma_meets_the_analytic_gaussian_closed_form() -> None:
    for eps, delta, sens in [(1.0, 1e-6, 1.0), (0.3, 1e-5, 2.5), (4.0, 1e-8, 0.5)]:
        sigma = gaussian_sigma(eps, delta, sens)
        assert gaussian_delta(eps, sigma, sens) <= delta * (1 + 1e-6)
        assert gaussian_delta(eps, sigma * 0.99, sens) > delta  # the smallest such sigma
        if eps < 1:  # never worse than the classical bound
            assert sigma <= sens * math.sqrt(2 * math.log(1.25 / delta)) / eps


def test_private_mean_budget_and_unbiased_sum() -> None:
    rng = np.random.default_rng(11)
    X = rng.uniform(-0.5, 0.5, size=(400, 2))
    res = private_mean(X, 1.0, epsilon=1.0, delta=1e-6, sum_fraction=0.6, random_state=0)
    assert res.sigma == pytest.approx(gaussian_sigma(0.6, 1e-6, 1.0))
    assert res.count_parameter == pytest.approx(0.4)
    assert res.epsilon == 1.0 and res.delta == 1e-6
    np.testing.assert_allclose(res.mean, res.noisy_sum / res.noisy_count)
    sums = np.array([private_mean(X, 1.0, epsilon=1.0, delta=1e-6, random_state=s).noisy_sum
                     for s in range(2000)])
    se = gaussian_sigma(0.5, 1e-6, 1.0) / math.sqrt(sums.shape[0])
    assert np.all(np.abs(sums.mean(axis=0) - X.sum(axis=0)) < 4 * se)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: private_count(3, 0.0), "'epsilon' parameter of private_count must be a positive"),
        (lambda: private_count(3.5, 1.0), "'count' parameter of private_count must be an int"),
        (lambda: private_mean([[0.0]], 1.0, epsilon=1.0, delta=1.0),
         r"'delta' parameter of private_mean must be a float in the open interval \(0, 1\)"),
        (lambda: private_mean([[0.0]], 1.0, epsilon=-1.0, delta=0.1),
         "'epsilon' parameter of private_mean must be a positive float"),
        (lambda: private_sum([[np.nan, 0.0]], 1.0, sigma=1.0),
         r"'X' parameter of private_sum must be finite numbers \(no NaN or infinity\)\. Got '1 row"),
        (lambda: private_sum([[0.0]], 0.0, sigma=1.0),
         "'radius' parameter of private_sum must be a positive float"),
        (lambda: private_sum([1.0, 2.0], 1.0, sigma=1.0),
         r"'X' parameter of private_sum must be a 2-D array"),
        (lambda: private_mean([[0.0]], 1.0, epsilon=1.0, delta=0.1, sum_fraction=1.0),
         "'sum_fraction' parameter of private_mean must be a float in the open interval"),
        (lambda: clip_to_radius(np.zeros((1, 1)), -1.0),
         "'radius' parameter of clip_to_radius must be a positive float"),
    ],
)
def test_bad_input_messages(call: object, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        call()  # type: ignore[operator]
