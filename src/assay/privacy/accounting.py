"""Privacy accounting of the LSH coreset with Google's ``dp-accounting``.

The coreset releases (see docs/privacy.md):

* one discrete Laplace count per node, the nodes of one tree level being disjoint sets of
  points, so each of the ``max_depth + 1`` levels is one discrete Laplace mechanism of
  parameter ``a`` on a vector of L1 sensitivity 1 (parallel composition inside a level);
* one Gaussian sum per leaf, the leaves being disjoint, so all leaf sums together are one
  Gaussian mechanism of L2 sensitivity ``radius`` and standard deviation ``sigma``.

The whole run is the ``DpEvent`` ``Gaussian(sigma / radius)`` composed with
``DiscreteLaplace(a, 1)`` self-composed ``max_depth + 1`` times. Two ways to set the noise:

* ``calibrate_noise`` (the default of :class:`~assay.privacy.DPKMeans`, as in the
  reference implementation): ``sigma = alpha * radius`` and ``a = 1 / (m * alpha)`` with a
  multiplier ``m`` (20 by default), and the smallest ``alpha`` whose PLD accounting meets
  the target is found with ``dp_accounting.mechanism_calibration``;
* ``split_noise``: a fixed share of epsilon for the sums (the Gaussian calibrated exactly
  for ``(share * epsilon, delta)``) and the rest spread evenly over the levels; by basic
  composition the total is ``(epsilon, delta)``, and the PLD accountant reports the
  (smaller) epsilon actually spent.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any, Literal

from .._util.optional import require

Accountant = Literal["pld", "basic"]


def dp_modules() -> tuple[ModuleType, ModuleType, ModuleType]:
    """``(dp_accounting, dp_accounting.pld.accountant, dp_accounting.pld.common)``."""
    dp = require("dp_accounting", "privacy", purpose="differentially private clustering")
    acct = require("dp_accounting.pld.accountant", "privacy")
    common = require("dp_accounting.pld.common", "privacy")
    return dp, acct, common


@dataclass(frozen=True)
class NoiseParams:
    """The noise of one coreset run.

    ``sigma``: Gaussian standard deviation per coordinate of each leaf sum; ``count_parameter``:
    the discrete Laplace parameter ``a`` of each count (noise ``exp(-a|z|)``, ``a``-DP per
    level); ``radius``: the sum's L2 sensitivity; ``levels``: ``max_depth + 1``.
    ``epsilon``/``delta``: what the accountant named by ``accountant`` reports for them.
    """

    sigma: float
    count_parameter: float
    radius: float
    levels: int
    epsilon: float
    delta: float
    accountant: str
    method: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def coreset_event(sigma: float, count_parameter: float, radius: float, levels: int) -> Any:
    """The ``DpEvent`` of a coreset run (Gaussian sums composed with ``levels`` counts)."""
    dp, _, _ = dp_modules()
    return dp.ComposedDpEvent([
        dp.GaussianDpEvent(sigma / radius),
        dp.SelfComposedDpEvent(dp.dp_event.DiscreteLaplaceDpEvent(count_parameter, 1), levels),
    ])


def discretization(epsilon: float) -> float:
    """The PLD accountant's value discretization for a target ``epsilon``: ``1e-4`` up to
    ``epsilon = 1``, growing with epsilon (the loss grid would otherwise be too long). The
    accountant's rounding is pessimistic, so a coarser grid only overstates the spent budget."""
    return 1e-4 * max(1.0, float(epsilon))


def pld_accountant(epsilon: float = 1.0) -> Any:
    """A fresh PLD accountant (add-or-remove-one neighbours) with :func:`discretization`."""
    pld = require("dp_accounting.pld.pld_privacy_accountant", "privacy")
    return pld.PLDAccountant(value_discretization_interval=discretization(epsilon))


def pld_epsilon(event: Any, delta: float, *, scale: float = 1.0) -> float:
    """Epsilon at ``delta`` of ``event`` by the PLD accountant (add-or-remove-one neighbours);
    ``scale``: the epsilon the discretization is sized for."""
    acct = pld_accountant(scale)
    acct.compose(event)
    return float(acct.get_epsilon(delta))


def pld_delta(event: Any, epsilon: float) -> float:
    """Delta at ``epsilon`` of ``event`` by the PLD accountant."""
    acct = pld_accountant(epsilon)
    acct.compose(event)
    return float(acct.get_delta(epsilon))


def basic_composition(sigma: float, count_parameter: float, radius: float, levels: int,
                      delta: float) -> float:
    """Epsilon by basic composition: the Gaussian's epsilon at ``delta`` (analytic, exact)
    plus ``levels * a`` for the pure-DP counts."""
    return _gaussian_epsilon(sigma, radius, delta) + levels * count_parameter


def _gaussian_epsilon(sigma: float, radius: float, delta: float) -> float:
    """Smallest epsilon of one Gaussian release (sensitivity ``radius``) at ``delta``."""
    from .mechanisms import gaussian_delta

    lo, hi = 0.0, 1.0
    while gaussian_delta(hi, sigma, radius) > delta:
        hi *= 2.0
        if hi > 1e6:
            return math.inf
    if gaussian_delta(lo, sigma, radius) <= delta:
        return 0.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if gaussian_delta(mid, sigma, radius) > delta:
            lo = mid
        else:
            hi = mid
    return hi


@functools.lru_cache(maxsize=256)
def calibrate_noise(epsilon: float, delta: float, radius: float, levels: int,
                    laplace_multiplier: float = 20.0) -> NoiseParams:
    """Noise meeting ``(epsilon, delta)`` under PLD accounting, with the sums' and counts'
    noise tied by ``sigma = alpha * radius``, ``1 / a = laplace_multiplier * alpha``."""
    _, acct, common = dp_modules()
    calib = require("dp_accounting.mechanism_calibration", "privacy")

    def make_event(alpha: float) -> Any:
        return coreset_event(alpha * radius, 1.0 / (laplace_multiplier * alpha), radius, levels)

    # Lower end: the Gaussian alone using the whole budget.
    sigma_all = acct.get_smallest_gaussian_noise(
        common.DifferentialPrivacyParameters(epsilon, delta), num_queries=1, sensitivity=radius)
    lower = float(sigma_all) / radius
    alpha = calib.calibrate_dp_mechanism(
        lambda: pld_accountant(epsilon), make_event, epsilon, delta,
        bracket_interval=calib.LowerEndpointAndGuess(lower, 2 * lower),
    )
    alpha = float(alpha)
    sigma = alpha * radius
    a = 1.0 / (laplace_multiplier * alpha)
    spent = pld_epsilon(coreset_event(sigma, a, radius, levels), delta, scale=epsilon)
    return NoiseParams(sigma, a, radius, levels, spent, delta, "pld", "calibrated")


@functools.lru_cache(maxsize=256)
def split_noise(epsilon: float, delta: float, radius: float, levels: int,
                sum_fraction: float) -> NoiseParams:
    """Noise from a fixed split: ``sum_fraction * epsilon`` (with all of ``delta``) for the
    Gaussian sums, ``(1 - sum_fraction) * epsilon / levels`` for each level's counts.

    By basic composition this noise spends exactly ``(epsilon, delta)`` (the design bound);
    the spent budget reported is the PLD accountant's epsilon at ``delta`` for the same
    ``DpEvent`` (:func:`coreset_event`), which is at most that. Should the accountant's
    pessimistic discretization ever put it above the basic-composition value, the basic value
    (also a valid bound) is reported and ``accountant`` says ``"basic"``."""
    from .mechanisms import gaussian_sigma

    sigma = gaussian_sigma(epsilon * sum_fraction, delta, radius)
    a = epsilon * (1.0 - sum_fraction) / levels
    basic = basic_composition(sigma, a, radius, levels, delta)
    pld = pld_epsilon(coreset_event(sigma, a, radius, levels), delta, scale=epsilon)
    if pld <= basic:
        return NoiseParams(sigma, a, radius, levels, pld, delta, "pld", "split")
    return NoiseParams(sigma, a, radius, levels, basic, delta, "basic", "split")
