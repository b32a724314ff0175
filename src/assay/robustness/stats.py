"""Statistics across seeds (NumPy; SciPy for the chi-square and t quantiles).

The verdict's test, :func:`seed_effect_test`: every seed ``i`` has a loss ``l[i, j]`` on
every row ``j`` (0/1 correctness, squared error, a prediction change...), and a metric that
is a weighted sum of them, ``d[i] = sum_j w[j] l[i, j]``. For the stress test's excess
over the iid set the weights are ``1/n_stress`` on the stress rows minus ``1/n_iid`` on
the iid rows, so a seed that is uniformly better by some amount on both has the same
``d``. The null hypothesis is that the seeds differ only by per-row churn: for each row,
which seed gets which loss is exchangeable, independently across rows (no seed is better on
the set as a whole). Under it the vector ``d`` has mean ``mean(d) * 1`` and covariance
``sigma^2 (I - J/k)`` with ``sigma^2 = sum_j w[j]^2 s_j^2 k/(k-1)`` (``s_j^2`` the
variance of row ``j``'s losses across the ``k`` seeds), so
``T = sum_i (d[i] - mean(d))^2 / sigma^2`` is approximately chi-square with ``k - 1``
degrees of freedom over many rows. With 0/1 losses on one set (``w = 1``) ``T`` is
Cochran's Q. :func:`permutation_test` gives the exact Monte Carlo p-value of the same
statistic by permuting each row's losses across seeds.

The stress metric may follow the iid metric: the weights ``u - b v`` (``u``, ``v`` the
weights of the stress and the iid metric) test ``m_S - b m_I``; ``b = 1`` allows the same
shift ("shift"), ``b = mean error on the stress set / mean error on iid`` the same relative
change ("relative": a seed whose iid false positive rate is 10 % higher has a 10 % higher
subgroup false positive rate). ``b`` is fixed before the test, so ``T`` keeps ``k - 1``
degrees of freedom. (Fitting ``b`` to the seeds is no test: a large ``b`` times an iid seed
effect hidden in the iid noise explains any stress spread.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._util.optional import require

__all__ = [
    "SeedEffectTest",
    "Spread",
    "discordant_pairs",
    "holm",
    "permutation_test",
    "rank_changed",
    "rankdata",
    "seed_effect_test",
    "spearman",
    "spearman_matrix",
    "spread",
]

F64 = NDArray[np.float64]


def _stats() -> Any:
    return require("scipy.stats", "robustness", purpose="the across-seed tests of assay.robustness")


@dataclass(frozen=True)
class SeedEffectTest:
    """``statistic`` T, ``df`` = seeds - 1, ``p_value``; ``noise_variance``: the variance
    of ``d`` per seed that per-row churn explains (``sigma^2 (k-1)/k``);
    ``observed_variance``: the sample variance of ``d`` across seeds (ddof=1); ``slope``: the
    iid metric's coefficient ``b`` in ``d = m_S - b m_I`` (NaN when no iid term)."""

    statistic: float
    df: int
    p_value: float
    noise_variance: float
    observed_variance: float
    method: str = "chi2"
    slope: float = math.nan

    @property
    def excess_ratio(self) -> float:
        """Observed variance over the noise variance (``T / df``): about 1 under the null."""
        return self.statistic / self.df if self.df > 0 else math.nan


def _losses_weights(losses: ArrayLike, weights: ArrayLike | None) -> tuple[F64, F64]:
    lo = np.asarray(losses, dtype=np.float64)
    if lo.ndim != 2 or lo.shape[0] < 2:
        raise ValueError(
            "The 'losses' parameter of seed_effect_test must be a (seeds, rows) array with at "
            f"least 2 seeds. Got shape {lo.shape} instead."
        )
    w = np.full(lo.shape[1], 1.0 / max(lo.shape[1], 1)) if weights is None else np.asarray(weights, np.float64)
    if w.shape != (lo.shape[1],):
        raise ValueError(
            f"The 'weights' parameter of seed_effect_test must have one weight per row "
            f"({lo.shape[1]}). Got shape {w.shape} instead."
        )
    return lo, w


def seed_effect_test(losses: ArrayLike, weights: ArrayLike | None = None) -> SeedEffectTest:
    """Test whether the seeds' weighted mean losses ``d = losses @ weights`` differ more than
    per-row churn explains (see the module docstring). ``weights`` default ``1/rows``."""
    lo, w = _losses_weights(losses, weights)
    k = lo.shape[0]
    keep = w != 0
    lo, w = lo[:, keep], w[keep]
    d = lo @ w
    ss = float(np.sum((d - d.mean()) ** 2))
    s2 = lo.var(axis=0)  # ddof=0 across seeds
    sigma2 = float(np.sum(w**2 * s2)) * k / (k - 1)
    if sigma2 <= 0.0 or ss <= 1e-300:
        return SeedEffectTest(0.0, k - 1, 1.0, max(sigma2, 0.0) * (k - 1) / k, ss / (k - 1))
    t = ss / sigma2
    p = float(_stats().chi2.sf(t, k - 1))
    return SeedEffectTest(t, k - 1, p, sigma2 * (k - 1) / k, ss / (k - 1))


def permutation_test(losses: ArrayLike, weights: ArrayLike | None = None, *,
                     n_permutations: int = 999, seed: int = 0) -> SeedEffectTest:  # fmt: skip
    """The same statistic with a Monte Carlo permutation p-value: each row's losses are
    permuted across seeds independently (``(1 + hits) / (1 + n_permutations)``)."""
    lo, w = _losses_weights(losses, weights)
    base = seed_effect_test(lo, w)
    keep = w != 0
    lo, w = lo[:, keep], w[keep]
    d = lo @ w
    obs = float(np.sum((d - d.mean()) ** 2))
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(n_permutations):
        dp = rng.permuted(lo, axis=0) @ w
        hits += float(np.sum((dp - dp.mean()) ** 2)) >= obs * (1 - 1e-12)
    p = (1 + hits) / (1 + n_permutations)
    return SeedEffectTest(base.statistic, base.df, p, base.noise_variance, base.observed_variance,
                          method=f"permutation ({n_permutations})")  # fmt: skip


@dataclass(frozen=True)
class Spread:
    """Distribution of one metric across seeds: mean with its t interval, standard
    deviation (ddof=1) with its chi-square interval (normal seeds), range."""

    n: int
    mean: float
    sd: float
    min: float
    max: float
    mean_lower: float
    mean_upper: float
    sd_lower: float
    sd_upper: float


def spread(values: ArrayLike, confidence: float = 0.95) -> Spread:
    """:class:`Spread` of the finite ``values``."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    n = v.size
    nan = math.nan
    if n == 0:
        return Spread(0, nan, nan, nan, nan, nan, nan, nan, nan)
    mean = float(v.mean())
    if n < 2:
        return Spread(n, mean, nan, float(v.min()), float(v.max()), nan, nan, nan, nan)
    sd = float(v.std(ddof=1))
    st = _stats()
    a = 1.0 - confidence
    half = float(st.t.ppf(1 - a / 2, n - 1)) * sd / math.sqrt(n)
    lo_q, hi_q = float(st.chi2.ppf(1 - a / 2, n - 1)), float(st.chi2.ppf(a / 2, n - 1))
    return Spread(n, mean, sd, float(v.min()), float(v.max()), mean - half, mean + half,
                  sd * math.sqrt((n - 1) / lo_q), sd * math.sqrt((n - 1) / hi_q))  # fmt: skip


def rankdata(x: ArrayLike) -> F64:
    """Ranks 1..n with ties given their average rank."""
    a = np.asarray(x, dtype=np.float64)
    order = np.argsort(a, kind="mergesort")
    s = a[order]
    ranks = np.empty(a.size, np.float64)
    i = 0
    while i < a.size:
        j = i
        while j + 1 < a.size and s[j + 1] == s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(a: ArrayLike, b: ArrayLike) -> float:
    """Spearman's rank correlation (Pearson correlation of the average ranks); NaN when
    either side is constant or fewer than 2 finite pairs."""
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return math.nan
    rx, ry = rankdata(x[ok]), rankdata(y[ok])
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = math.sqrt(float(rx @ rx) * float(ry @ ry))
    return float(rx @ ry) / den if den > 0 else math.nan


def spearman_matrix(values: ArrayLike) -> F64:
    """Spearman correlations between the columns of a ``(seeds, tests)`` array."""
    v = np.asarray(values, np.float64)
    m = v.shape[1]
    out = np.full((m, m), np.nan)
    for i in range(m):
        for j in range(i, m):
            out[i, j] = out[j, i] = spearman(v[:, i], v[:, j])
    return out


def discordant_pairs(a: ArrayLike, b: ArrayLike) -> float:
    """Share of seed pairs that ``a`` and ``b`` order oppositely (pairs tied on either side
    count as not discordant)."""
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = x.size
    if n < 2:
        return math.nan
    sx = np.sign(x[:, None] - x[None, :])
    sy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(n, 1)
    return float(np.mean((sx * sy)[iu] < 0))


def rank_changed(a: ArrayLike, b: ArrayLike, *, higher_better: bool = True) -> float:
    """Share of seeds whose rank (1 = best, ties share the average rank) under ``b``
    differs from their rank under ``a``."""
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return math.nan
    sign = -1.0 if higher_better else 1.0
    return float(np.mean(rankdata(sign * x[ok]) != rankdata(sign * y[ok])))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN)."""
    p = np.asarray(p_values, np.float64)
    out = np.full(p.size, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = idx.size
    if m == 0:
        return out.tolist()
    order = idx[np.argsort(p[idx], kind="mergesort")]
    running = 0.0
    for r, i in enumerate(order):
        running = max(running, min(1.0, (m - r) * p[i]))
        out[i] = running
    return out.tolist()
