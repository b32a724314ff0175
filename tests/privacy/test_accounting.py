"""Accounting: by hand for basic composition, against dp-accounting's own numbers for PLD."""

from __future__ import annotations

import math

import dp_accounting as dp
import numpy as np
import pytest

from assay.privacy import (
    DPKMeans,
    basic_composition,
    calibrate_noise,
    coreset_event,
    gaussian_delta,
    gaussian_sigma,
    split_noise,
)
from assay.privacy.accounting import pld_delta, pld_epsilon

# Tiny fits here check the budget only; a coreset with fewer than k points is fine.
pytestmark = pytest.mark.filterwarnings("ignore:DPKMeans. the private coreset has")


def test_split_accounting_equals_hand_computation() -> None:
    eps, delta, r, depth = 1.0, 1e-6, 2.0, 20
    noise = split_noise(eps, delta, r, depth + 1, 0.8)
    # By hand: the Gaussian gets (0.8, 1e-6) exactly; each of the 21 levels 0.2 / 21.
    assert noise.sigma == pytest.approx(gaussian_sigma(0.8, 1e-6, 2.0))
    assert gaussian_delta(0.8, noise.sigma, 2.0) == pytest.approx(1e-6, rel=1e-4)
    assert noise.count_parameter == pytest.approx(0.2 / 21)
    # Basic composition of this noise is exactly the target: 0.8 + 21 * (0.2 / 21) = 1.
    basic = basic_composition(noise.sigma, noise.count_parameter, r, depth + 1, delta)
    assert basic == pytest.approx(eps, abs=1e-6)
    # The reported spend is dp-accounting's own PLD number for the same DpEvent, built here
    # from dp_accounting's classes directly; it is below the basic-composition bound.
    event = dp.ComposedDpEvent([
        dp.GaussianDpEvent(noise.sigma / r),
        dp.SelfComposedDpEvent(dp.dp_event.DiscreteLaplaceDpEvent(0.2 / 21, 1), depth + 1),
    ])
    acct = dp.pld.PLDAccountant(value_discretization_interval=1e-4)
    acct.compose(event)
    assert noise.accountant == "pld"
    assert noise.epsilon == pytest.approx(acct.get_epsilon(delta), abs=1e-9)
    assert 0.8 < noise.epsilon < basic
    assert noise.delta == delta
    # The fitted estimator reports the same numbers.
    X = np.random.default_rng(0).normal(size=(300, 3))
    km = DPKMeans(3, epsilon=eps, delta=delta, radius=r, budget_split=0.8, random_state=0).fit(X)
    assert km.epsilon_spent_ == noise.epsilon
    assert km.delta_spent_ == 1e-6
    assert km.noise_.count_parameter == pytest.approx(0.2 / 21)


def test_basic_composition_of_given_noise() -> None:
    sigma, a, r, levels = 3.0, 0.05, 1.0, 5
    eps_gauss = basic_composition(sigma, a, r, levels, 1e-6) - levels * a
    # The Gaussian part is the closed form's epsilon at delta.
    assert gaussian_delta(eps_gauss, sigma, r) == pytest.approx(1e-6, rel=1e-4)


def test_dp_accounting_numbers_for_the_mechanisms() -> None:
    a = 0.3
    # Discrete Laplace with parameter a on sensitivity 1 is a-DP (pure), composed L times L*a.
    one = dp.dp_event.DiscreteLaplaceDpEvent(a, 1)
    assert pld_epsilon(one, 1e-12) == pytest.approx(a, abs=1e-6)
    assert pld_epsilon(dp.SelfComposedDpEvent(one, 5), 1e-12) == pytest.approx(5 * a, abs=1e-5)
    # The Gaussian event's PLD epsilon matches the analytic closed form.
    eps = pld_epsilon(dp.GaussianDpEvent(3.0), 1e-6)
    assert gaussian_delta(eps, 3.0, 1.0) == pytest.approx(1e-6, rel=1e-3)


def test_calibrated_noise_meets_the_target_and_beats_basic_composition() -> None:
    eps, delta, r, levels = 1.0, 1e-6, 1.0, 21
    noise = calibrate_noise(eps, delta, r, levels)
    # The tie between the two noises (sigma = alpha r, 1/a = 20 alpha).
    alpha = noise.sigma / r
    assert 1.0 / noise.count_parameter == pytest.approx(20 * alpha)
    event = coreset_event(noise.sigma, noise.count_parameter, r, levels)
    spent = pld_epsilon(event, delta)
    assert eps - 1e-3 < spent <= eps + 1e-9
    assert noise.epsilon == pytest.approx(spent, abs=1e-6)
    assert pld_delta(event, eps) <= delta * 1.001
    # Basic composition of the same noise is looser than the PLD accountant.
    assert basic_composition(noise.sigma, noise.count_parameter, r, levels, delta) > spent
    # Half the noise is over budget.
    assert pld_epsilon(coreset_event(noise.sigma / 2, noise.count_parameter * 2, r, levels),
                       delta) > eps


def test_estimator_reports_the_calibrated_budget() -> None:
    X = np.random.default_rng(1).normal(size=(300, 2))
    km = DPKMeans(2, epsilon=1.0, delta=1e-6, radius=1.0, random_state=0).fit(X)
    noise = calibrate_noise(1.0, 1e-6, 1.0, 21)
    assert km.epsilon_spent_ == pytest.approx(noise.epsilon)
    assert km.epsilon_spent_ <= 1.0
    assert km.noise_.sigma == noise.sigma
    rows = km.accounting_table()
    assert [r["compositions"] for r in rows] == [21, 1, 22]


def test_infinite_epsilon_is_reported_as_not_private() -> None:
    X = np.random.default_rng(1).normal(size=(100, 2))
    km = DPKMeans(2, epsilon=math.inf, delta=1e-6, radius=5.0, random_state=0).fit(X)
    assert math.isinf(km.epsilon_spent_)
    assert km.noise_.sigma == 0.0
