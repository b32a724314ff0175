"""Building blocks: clipping to a ball, a private count and a private sum / mean.

Neighbouring data sets differ by adding or removing one point (the relation the
accounting in :mod:`assay.privacy.accounting` uses). Every point is first projected onto
the ball of radius ``r`` around the origin (:func:`clip_to_radius`), so

* a count changes by at most 1: the discrete Laplace mechanism with parameter ``a``
  (``P(Z = z) = tanh(a/2) exp(-a |z|)``, integer noise) is ``a``-DP;
* a sum of points changes by at most ``r`` in the L2 norm: Gaussian noise of standard
  deviation ``sigma`` per coordinate gives the analytic Gaussian guarantee
  ``delta(eps) = Phi(r/(2 sigma) - eps sigma/r) - e^eps Phi(-r/(2 sigma) - eps sigma/r)``
  (Balle and Wang, 2018); :func:`gaussian_sigma` returns the smallest ``sigma`` for a
  target ``(eps, delta)``.

All noise is drawn from a :class:`numpy.random.Generator` made from ``random_state``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._util.validation import param_error, param_type_error

RandomState = int | np.random.Generator | np.random.SeedSequence | None


def as_generator(random_state: RandomState, *, func: str = "assay.privacy") -> np.random.Generator:
    """A NumPy generator from a seed, a ``SeedSequence`` or a generator (used as is)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, np.random.SeedSequence):
        return np.random.default_rng(random_state)
    if isinstance(random_state, bool) or not isinstance(random_state, int | np.integer):
        raise param_type_error(
            "random_state", "an int, a numpy Generator, a SeedSequence or None", random_state,
            func=func,
        )
    if int(random_state) < 0:
        raise param_error("random_state", "a non-negative int", random_state, func=func)
    return np.random.default_rng(int(random_state))


def check_positive(param: str, value: Any, *, func: str, allow_inf: bool = False) -> float:
    """Return ``value`` as a float if it is a positive (finite unless ``allow_inf``) number."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise param_type_error(param, "a positive float", value, func=func)
    v = float(value)
    if math.isnan(v) or v <= 0 or (math.isinf(v) and not allow_inf):
        what = "a positive float" + ("" if allow_inf else " (finite)")
        raise param_error(param, what, value, func=func)
    return v


def check_delta(value: Any, *, func: str) -> float:
    """Return ``delta`` if it lies in the open interval (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise param_type_error("delta", "a float in the open interval (0, 1)", value, func=func)
    v = float(value)
    if not 0.0 < v < 1.0:
        raise param_error("delta", "a float in the open interval (0, 1)", value, func=func)
    return v


def check_points(X: Any, *, func: str, param: str = "X") -> np.ndarray:
    """``X`` as a finite 2-D float64 array (rows are points)."""
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise param_type_error(param, "a 2-D array of numbers", type(X).__name__, func=func) from exc
    if arr.ndim != 2:
        raise param_error(param, "a 2-D array (n_samples, n_features)", f"shape {arr.shape}",
                          func=func)
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise param_error(param, "a non-empty 2-D array", f"shape {arr.shape}", func=func)
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise param_error(param, "finite numbers (no NaN or infinity)",
                          f"{bad} row(s) with NaN or infinite coordinates", func=func)
    return arr


def clip_to_radius(X: np.ndarray, radius: float) -> np.ndarray:
    """Project the rows of ``X`` with norm above ``radius`` onto the sphere of that radius.

    Rows inside the ball are returned unchanged; a row outside is rescaled to norm exactly
    ``radius`` (the direction is kept). Returns a new array.
    """
    radius = check_positive("radius", radius, func="clip_to_radius")
    X = np.asarray(X, dtype=np.float64)
    norms = np.linalg.norm(X, axis=-1, keepdims=True)
    scale = radius / np.maximum(norms, radius)
    return X * scale


def discrete_laplace(parameter: float, size: int | tuple[int, ...] | None = None, *,
                     random_state: RandomState = None) -> Any:
    """Draw discrete Laplace noise: ``P(Z = z) = tanh(a/2) exp(-a |z|)`` for integers ``z``.

    Sampled as the difference of two independent geometric variables with success
    probability ``1 - exp(-a)``; ``parameter`` is ``a`` (``inf`` gives zeros).
    """
    a = check_positive("parameter", parameter, func="discrete_laplace", allow_inf=True)
    rng = as_generator(random_state, func="discrete_laplace")
    if math.isinf(a):
        return np.zeros(size, dtype=np.int64) if size is not None else 0
    p = -math.expm1(-a)  # 1 - exp(-a), accurate for small a
    g1 = rng.geometric(p, size=size)
    g2 = rng.geometric(p, size=size)
    out = np.asarray(g1, dtype=np.int64) - np.asarray(g2, dtype=np.int64)
    return out if size is not None else int(out)


def discrete_laplace_variance(parameter: float) -> float:
    """Variance of the discrete Laplace distribution: ``2 e^-a / (1 - e^-a)^2``."""
    a = float(parameter)
    q = math.exp(-a)
    return 2.0 * q / (1.0 - q) ** 2


def gaussian_sigma(epsilon: float, delta: float, sensitivity: float = 1.0) -> float:
    """Smallest Gaussian standard deviation giving ``(epsilon, delta)``-DP for one release of
    a query of L2 ``sensitivity`` (the analytic Gaussian mechanism, via ``dp-accounting``)."""
    func = "gaussian_sigma"
    eps = check_positive("epsilon", epsilon, func=func)
    dlt = check_delta(delta, func=func)
    sens = check_positive("sensitivity", sensitivity, func=func)
    return _gaussian_sigma(eps, dlt, sens)


@functools.lru_cache(maxsize=1024)
def _gaussian_sigma(eps: float, dlt: float, sens: float) -> float:
    from .._util.optional import require

    pld_accountant = require("dp_accounting.pld.accountant", "privacy")
    pld_common = require("dp_accounting.pld.common", "privacy")
    return float(
        pld_accountant.get_smallest_gaussian_noise(
            pld_common.DifferentialPrivacyParameters(eps, dlt), num_queries=1, sensitivity=sens
        )
    )


def gaussian_delta(epsilon: float, sigma: float, sensitivity: float = 1.0) -> float:
    """The analytic Gaussian mechanism's delta at ``epsilon`` (closed form, Balle & Wang 2018)."""
    from statistics import NormalDist

    phi = NormalDist().cdf
    r = sensitivity / sigma
    return phi(r / 2 - epsilon / r) - math.exp(epsilon) * phi(-r / 2 - epsilon / r)


def private_count(count: int, epsilon: float, *, random_state: RandomState = None) -> int:
    """``count`` plus discrete Laplace noise of parameter ``epsilon``: ``epsilon``-DP when one
    point changes the count by at most 1. The result may be negative."""
    func = "private_count"
    if isinstance(count, bool) or not isinstance(count, int | np.integer):
        raise param_type_error("count", "an int", count, func=func)
    eps = check_positive("epsilon", epsilon, func=func, allow_inf=True)
    return int(count) + int(discrete_laplace(eps, random_state=random_state))


def private_sum(X: Any, radius: float, *, sigma: float, random_state: RandomState = None
                ) -> np.ndarray:
    """Sum of the rows of ``X`` after projection onto the ball of ``radius``, plus Gaussian noise
    of standard deviation ``sigma`` per coordinate (L2 sensitivity ``radius``)."""
    func = "private_sum"
    pts = check_points(X, func=func)
    r = check_positive("radius", radius, func=func)
    if isinstance(sigma, bool) or not isinstance(sigma, int | float | np.floating) or sigma < 0:
        raise param_error("sigma", "a non-negative float", sigma, func=func)
    rng = as_generator(random_state, func=func)
    total = clip_to_radius(pts, r).sum(axis=0)
    return total + rng.normal(0.0, float(sigma), size=total.shape)


@dataclass(frozen=True)
class PrivateMean:
    """A private mean: the noisy sum, the noisy count, and their ratio (``mean``).

    ``sigma`` and ``count_parameter`` are the noise scales used; ``epsilon``/``delta`` the
    guarantee of the pair (basic composition of the two releases).
    """

    mean: np.ndarray
    noisy_sum: np.ndarray
    noisy_count: int
    sigma: float
    count_parameter: float
    epsilon: float
    delta: float


def private_mean(X: Any, radius: float, *, epsilon: float, delta: float,
                 sum_fraction: float = 0.5, random_state: RandomState = None) -> PrivateMean:
    """Private mean of the rows of ``X`` (projected onto the ball of ``radius``).

    ``sum_fraction`` of ``epsilon`` goes to the Gaussian sum (calibrated exactly for
    ``(sum_fraction * epsilon, delta)``), the rest to the discrete Laplace count; the mean
    is the noisy sum divided by ``max(1, noisy count)``. By basic composition the pair is
    ``(epsilon, delta)``-DP.
    """
    func = "private_mean"
    pts = check_points(X, func=func)
    r = check_positive("radius", radius, func=func)
    eps = check_positive("epsilon", epsilon, func=func)
    dlt = check_delta(delta, func=func)
    if isinstance(sum_fraction, bool) or not isinstance(sum_fraction, int | float):
        raise param_type_error("sum_fraction", "a float in the open interval (0, 1)",
                               sum_fraction, func=func)
    if not 0.0 < float(sum_fraction) < 1.0:
        raise param_error("sum_fraction", "a float in the open interval (0, 1)", sum_fraction,
                          func=func)
    rng = as_generator(random_state, func=func)
    sigma = gaussian_sigma(eps * sum_fraction, dlt, r)
    a = eps * (1.0 - sum_fraction)
    s = private_sum(pts, r, sigma=sigma, random_state=rng)
    c = private_count(int(pts.shape[0]), a, random_state=rng)
    return PrivateMean(s / max(1, c), s, c, sigma, a, eps, dlt)
