"""Small statistical helpers with no SciPy dependency (the core needs only NumPy;
Jeffreys intervals import SciPy when asked for).

``t_ppf`` inverts the Student-t distribution function, which is computed from the
regularized incomplete beta function (continued fraction, modified Lentz method):

    P(T <= t) = 1 - I_x(df/2, 1/2) / 2,   x = df / (df + t^2),   for t >= 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Distribution function of Student's t with ``df`` degrees of freedom."""
    x = df / (df + t * t)
    tail = 0.5 * betainc(df / 2.0, 0.5, x)
    return 1.0 - tail if t >= 0 else tail


def t_ppf(q: float, df: float) -> float:
    """Quantile function of Student's t (bisection on ``t_cdf``, accurate to ~1e-12)."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"t_ppf needs 0 < q < 1. Got {q!r} instead.")
    if q == 0.5:
        return 0.0
    if q < 0.5:
        return -t_ppf(1.0 - q, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < q:
        hi *= 2.0
        if hi > 1e12:
            return math.inf
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------- vectorized
# Array versions for the finalizer (one call per block of slice values, no Python loop
# over cells).


def betainc_array(a: Any, b: Any, x: Any) -> NDArray[np.float64]:
    """Regularized incomplete beta function I_x(a, b), elementwise on arrays.

    The same continued fraction as :func:`betainc` (modified Lentz), iterated on whole
    arrays until every element has converged (at most 300 terms)."""
    a_, b_, x_ = np.broadcast_arrays(
        np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
        np.asarray(x, dtype=np.float64),
    )  # fmt: skip
    out = np.full(x_.shape, np.nan)
    ok = np.isfinite(x_) & (a_ > 0) & (b_ > 0)
    out[ok & (x_ <= 0.0)] = 0.0
    out[ok & (x_ >= 1.0)] = 1.0
    mid = ok & (x_ > 0.0) & (x_ < 1.0)
    if not mid.any():
        return out
    a1, b1, x1 = a_[mid], b_[mid], x_[mid]
    swap = x1 >= (a1 + 1.0) / (a1 + b1 + 2.0)
    aa_ = np.where(swap, b1, a1)
    bb_ = np.where(swap, a1, b1)
    xx = np.where(swap, 1.0 - x1, x1)
    with np.errstate(all="ignore"):
        log_front = (
            _lgamma(aa_ + bb_) - _lgamma(aa_) - _lgamma(bb_)
            + aa_ * np.log(xx) + bb_ * np.log1p(-xx)
        )  # fmt: skip
    cf = _betacf_array(aa_, bb_, xx)
    val = np.exp(log_front) * cf / aa_
    out[mid] = np.where(swap, 1.0 - val, val)
    return out


_LGAMMA = np.frompyfunc(math.lgamma, 1, 1)


def _lgamma(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(_LGAMMA(x), dtype=np.float64)


def _betacf_array(
    a: NDArray[np.float64], b: NDArray[np.float64], x: NDArray[np.float64]
) -> NDArray[np.float64]:
    tiny = 1e-300

    def fix(v: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.where(np.abs(v) > tiny, v, tiny)

    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(x)
    d = 1.0 / fix(1.0 - qab * x / qap)
    h = d.copy()
    done = np.zeros(x.shape, dtype=bool)
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 / fix(1.0 + aa * d)
        c = fix(1.0 + aa / c)
        h = np.where(done, h, h * d * c)
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 / fix(1.0 + aa * d)
        c = fix(1.0 + aa / c)
        delta = d * c
        h = np.where(done, h, h * delta)
        done |= np.abs(delta - 1.0) < 1e-15
        if done.all():
            break
    return h


def t_sf_array(t: Any, df: Any) -> NDArray[np.float64]:
    """Upper tail P(T > t) of Student's t, elementwise (``df`` may be an array).

    Integer degrees of freedom (the replicate intervals' ``k - 1``) use the finite series
    of Abramowitz & Stegun 26.7.3/26.7.4 in ``theta = atan(|t| / sqrt(df))`` where the tail
    is large, and the remainder of the same series (which is the tail itself, so keeps its
    relative precision) where ``cos(theta)^2 <= 1/2``; one pass per distinct ``df``.
    Non-integer ``df`` use the incomplete beta function."""
    t_ = np.asarray(t, dtype=np.float64)
    df_ = np.broadcast_to(np.asarray(df, dtype=np.float64), t_.shape)
    out = np.full(t_.shape, np.nan)
    at = np.abs(t_)
    integer = ~np.isnan(at) & (df_ >= 1) & (df_ == np.round(df_)) & (df_ <= 400)
    for d in np.unique(df_[integer]):
        sel = integer & (df_ == d)
        out[sel] = _t_two_sided_integer(at[sel], int(d)) / 2.0
    rest = ~integer & ~np.isnan(t_) & ~np.isnan(df_)
    if rest.any():
        with np.errstate(invalid="ignore", divide="ignore"):
            x = df_[rest] / (df_[rest] + at[rest] * at[rest])
        out[rest] = 0.5 * betainc_array(df_[rest] / 2.0, 0.5, x)
    return np.where(t_ >= 0, out, 1.0 - out)


def _t_two_sided_integer(at: NDArray[np.float64], df: int) -> NDArray[np.float64]:
    """P(|T| > at) for Student's t with integer ``df``.

    With ``c = cos(theta)``, ``s = sin(theta)``, ``m = df // 2``: for even ``df`` the tail is
    ``s * sum_{j >= m} a_j c^(2j)`` (``a_j = C(2j, j) / 4^j``, the series of ``1 / s``), for
    odd ``df`` it is ``(2/pi) s c sum_{j >= m} b_j c^(2j)`` (``b_j = 4^j j!^2 / (2j+1)!``,
    the series of ``(pi/2 - theta) / (s c)``); A&S 26.7.3/26.7.4 are the complements of
    these sums' first ``m`` terms."""
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.arctan(at / math.sqrt(df))
    c = np.cos(theta)
    c2 = c * c
    s = np.sin(theta)
    m = df // 2
    even = df % 2 == 0
    # complement of the first m terms: exact where the tail is not small
    term = np.ones_like(c) if even else c.copy()
    acc = term.copy() if m > 0 else np.zeros_like(c)
    for j in range(1, m):
        term = term * c2 * ((2 * j - 1) / (2 * j) if even else (2 * j) / (2 * j + 1))
        acc += term
    out = 1.0 - s * acc if even else 1.0 - 2.0 / math.pi * (theta + s * acc)
    # where it is small, sum the remainder itself (no cancellation); it converges like c2^j
    tail = out < 1e-4
    if tail.any():
        ct, st = c[tail], s[tail]
        c2t = ct * ct
        if even:  # a_m = C(2m, m) / 4^m
            coef = math.exp(math.lgamma(2 * m + 1) - 2 * math.lgamma(m + 1) - 2 * m * math.log(2))
        else:  # b_m = 4^m m!^2 / (2m+1)!
            coef = math.exp(2 * m * math.log(2) + 2 * math.lgamma(m + 1) - math.lgamma(2 * m + 2))
        term = coef * c2t**m
        rem = term.copy()
        live = np.arange(term.size)  # elements whose sum has not converged
        tl, cl = term, c2t
        j = m
        while live.size:
            for _ in range(16):
                j += 1
                tl = tl * cl * ((2 * j - 1) / (2 * j) if even else (2 * j) / (2 * j + 1))
                rem[live] += tl
            keep = tl > 1e-17 * rem[live]
            live, tl, cl = live[keep], tl[keep], cl[keep]
        out[tail] = st * rem if even else 2.0 / math.pi * st * ct * rem
    out[np.isinf(at)] = 0.0
    return np.clip(out, 0.0, 1.0)


_ERFC = np.frompyfunc(math.erfc, 1, 1)


def norm_sf_array(z: Any) -> NDArray[np.float64]:
    """Upper tail P(Z > z) of the standard normal, elementwise."""
    z_ = np.asarray(z, dtype=np.float64)
    out = np.full(z_.shape, np.nan)
    ok = ~np.isnan(z_)
    out[ok] = np.asarray(_ERFC(z_[ok] / math.sqrt(2.0)), dtype=np.float64) / 2.0
    return out


def norm_ppf(q: float) -> float:
    """Quantile of the standard normal (bisection on ``erfc``, accurate to ~1e-13)."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"norm_ppf needs 0 < q < 1. Got {q!r} instead.")
    if q < 0.5:
        return -norm_ppf(1.0 - q)
    lo, hi = 0.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if 0.5 * math.erfc(-mid / math.sqrt(2.0)) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-14:
            break
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------- proportions


def wilson_interval(
    k: Any, n: Any, confidence: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Wilson score interval of a binomial proportion ``k / n`` (elementwise).

    ``lower, upper = (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)`` with
    ``p = k / n`` and ``z`` the normal quantile of ``(1 + confidence) / 2``. Valid at
    ``k = 0`` and ``k = n`` (the interval then starts or ends at the boundary but has
    positive width). ``n <= 0`` gives NaN. Counts may be fractional (weighted)."""
    z = norm_ppf((1.0 + confidence) / 2.0)
    k_ = np.asarray(k, dtype=np.float64)
    n_ = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.clip(k_ / n_, 0.0, 1.0)
        z2 = z * z
        den = 1.0 + z2 / n_
        centre = (p + z2 / (2.0 * n_)) / den
        half = z * np.sqrt(p * (1.0 - p) / n_ + z2 / (4.0 * n_ * n_)) / den
        lo = np.where(n_ > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        hi = np.where(n_ > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    # Exact ends at the boundary (no rounding away from 0 or 1).
    lo = np.where(k_ <= 0, 0.0, lo)
    hi = np.where(k_ >= n_, 1.0, hi)
    lo = np.where(n_ > 0, lo, np.nan)
    hi = np.where(n_ > 0, hi, np.nan)
    return lo, hi


def jeffreys_interval(
    k: Any, n: Any, confidence: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Jeffreys interval of ``k / n``: quantiles ``(1 -+ confidence) / 2`` of
    Beta(k + 1/2, n - k + 1/2), with the lower end 0 at ``k = 0`` and the upper end 1 at
    ``k = n`` (Brown, Cai and DasGupta 2001). Needs SciPy (``beta.ppf``)."""
    from .._util.optional import require

    sp = require("scipy.stats", "stats", purpose="Jeffreys intervals (rate_interval='jeffreys')")
    k_ = np.asarray(k, dtype=np.float64)
    n_ = np.asarray(n, dtype=np.float64)
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        a = k_ + 0.5
        b = n_ - k_ + 0.5
        good = n_ > 0
        a_ = np.where(good, np.maximum(a, 0.5), 1.0)
        b_ = np.where(good, np.maximum(b, 0.5), 1.0)
        lo = np.asarray(sp.beta.ppf(alpha / 2.0, a_, b_), dtype=np.float64)
        hi = np.asarray(sp.beta.ppf(1.0 - alpha / 2.0, a_, b_), dtype=np.float64)
    lo = np.where(k_ <= 0, 0.0, lo)
    hi = np.where(k_ >= n_, 1.0, hi)
    return np.where(good, lo, np.nan), np.where(good, hi, np.nan)


def mover_difference(
    p1: Any, l1: Any, u1: Any, p2: Any, l2: Any, u2: Any
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Interval of ``p1 - p2`` from intervals of each (Newcombe's hybrid score method,
    "method of variance estimates recovery", MOVER; Newcombe 1998, method 10):

    ``L = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)``, ``U = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``.
    It treats the two estimates as independent, which is conservative for a slice against
    a baseline that contains it (the covariance is then positive)."""
    p1, l1, u1, p2, l2, u2 = (np.asarray(v, dtype=np.float64) for v in (p1, l1, u1, p2, l2, u2))
    d = p1 - p2
    lo = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return lo, hi


def mover_ratio(
    p1: Any, l1: Any, u1: Any, p2: Any, l2: Any, u2: Any
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Interval of ``p1 / p2`` (both non-negative) from intervals of each (MOVER for a
    ratio, Donner and Zou 2012). The upper end is infinite when ``l2 = 0``."""
    p1, l1, u1, p2, l2, u2 = (np.asarray(v, dtype=np.float64) for v in (p1, l1, u1, p2, l2, u2))
    with np.errstate(invalid="ignore", divide="ignore"):
        pp = p1 * p2
        lo = (pp - np.sqrt(np.maximum(pp**2 - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2), 0.0))) / (
            u2 * (2 * p2 - u2)
        )
        hi = (pp + np.sqrt(np.maximum(pp**2 - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2), 0.0))) / (
            l2 * (2 * p2 - l2)
        )
        hi = np.where(l2 <= 0, np.inf, hi)
        lo = np.where(np.isfinite(lo), np.maximum(lo, 0.0), 0.0)
    return lo, hi


# --------------------------------------------------------------------------- multiplicity

#: Accepted names of the multiple-comparison adjustments.
ADJUSTMENTS = ("bh", "holm", "none")


def adjust_pvalues(p: Any, method: str, groups: Any = None) -> NDArray[np.float64]:
    """Adjusted p-values within each group (NaN p-values are not tests and stay NaN).

    ``"bh"``: Benjamini-Hochberg step-up (false discovery rate),
    ``q_(i) = min_{j >= i} m p_(j) / j``; ``"holm"``: Holm step-down (family-wise error),
    ``q_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))``; ``"none"``: unchanged. ``m`` is the
    number of finite p-values in the group."""
    pv = np.asarray(p, dtype=np.float64).ravel()
    out = np.full(pv.shape, np.nan)
    if method == "none":
        return pv.copy()
    if method not in ADJUSTMENTS:
        raise ValueError(
            f"The 'method' parameter of adjust_pvalues must be one of {list(ADJUSTMENTS)}. "
            f"Got {method!r} instead."
        )
    if groups is None:
        out[:] = _adjust_finite(pv, method)
        return out
    g = np.asarray(groups).ravel()
    if g.shape != pv.shape:
        raise ValueError(
            f"The 'groups' parameter of adjust_pvalues must have one value per p-value "
            f"({pv.size}). Got {g.size} instead."
        )
    # one family at a time, so that the temporaries are the size of a family (a result
    # table of 14.6M rows has a few hundred families of about 100,000 tests each)
    order = np.argsort(g, kind="stable")
    gs = g[order]
    bounds = np.flatnonzero(gs[1:] != gs[:-1]) + 1
    del gs
    for a, b in zip(np.r_[0, bounds], np.r_[bounds, g.size], strict=True):
        ix = order[a:b]
        out[ix] = _adjust_finite(pv[ix], method)
    return out


def _adjust_finite(p: NDArray[np.float64], method: str) -> NDArray[np.float64]:
    """Adjusted p-values of one family (NaN where ``p`` is not finite)."""
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    if idx.size == 0:
        return out
    pi = p[idx]
    order = np.argsort(pi, kind="stable")
    ps = pi[order]
    m = float(ps.size)
    rank = np.arange(1.0, ps.size + 1.0)
    if method == "bh":
        adj = np.minimum.accumulate((m * ps / rank)[::-1])[::-1]
    else:
        adj = np.maximum.accumulate(np.minimum(1.0, (m - rank + 1.0) * ps))
    res = np.empty_like(ps)
    res[order] = np.minimum(adj, 1.0)
    out[idx] = res
    return out
