"""Resampling schemes for confidence intervals, as extra mergeable state.

Every state array carries a trailing *replicate* axis of length ``n_state``:

* ``Jackknife(B)`` (delete-a-group jackknife, as TFMA does): each row falls in one of
  ``B`` buckets, chosen from a hash of the row's key; the state keeps one slot per bucket.
  The full-data value is the sum over buckets; replicate ``b`` is the full value minus
  bucket ``b``.
* ``PoissonBootstrap(B)``: each row gets ``B`` independent Poisson(1) multiplicities, also
  derived from a hash of the row's key; slot 0 holds the plain sums, slots ``1..B`` the
  resampled sums.
* ``NoReplicates()``: one slot, no intervals.

Because the bucket and the multiplicities of a row depend only on its key and the seed,
the state is the same however the rows are chunked, ordered or partitioned, and two
states merge by addition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .stats import t_ppf

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def splitmix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The SplitMix64 finalizer: a bijective, well-mixed hash of 64-bit integers."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def row_hashes(keys: NDArray[Any], seed: int) -> NDArray[np.uint64]:
    """Seeded 64-bit hash of integer row keys (row positions, or hashed key columns)."""
    k = np.asarray(keys).astype(np.uint64, copy=False)
    s = splitmix64(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
    with np.errstate(over="ignore"):
        return splitmix64(k ^ s)


def _poisson1_table(bits: int = 16) -> NDArray[np.uint8]:
    """Quantiles of Poisson(1) at the midpoints of ``2**bits`` equal probability cells."""
    n = 1 << bits
    u = (np.arange(n) + 0.5) / n
    cdf = np.cumsum([math.exp(-1.0) / math.factorial(k) for k in range(20)])
    return np.searchsorted(cdf, u, side="right").astype(np.uint8)


_POISSON_TABLE = _poisson1_table()


class Replication:
    """Base class: how rows are spread over the trailing replicate axis of the state."""

    name: str = "none"
    n_state: int = 1
    n_replicates: int = 0

    def row_data(self, hashes: NDArray[np.uint64]) -> Any:  # pragma: no cover - interface
        return None

    def accumulate(
        self, out: NDArray[np.float64], key: NDArray[np.int64], w: NDArray[np.float64], rows: Any
    ) -> None:
        """Add ``w`` of each row at ``out[key[i], :]`` spread over the replicate axis.

        ``out`` has shape ``(M, n_state)``; ``key`` holds flat indices in ``[0, M)``.
        """
        _add_counts(out[:, 0], key, w)

    def expand(self, a: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Split a state array ``(..., n_state)`` into point ``(...)`` and replicates ``(..., R)``."""
        return a[..., 0], a[..., :0]

    def interval(
        self, point: NDArray[np.float64], reps: NDArray[np.float64], confidence: float
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Confidence interval from the point estimate and replicate estimates."""
        nan = np.full(np.shape(point), np.nan)
        return nan, nan.copy()

    def p_value(
        self, point: NDArray[np.float64], reps: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Two-sided p-value of "the value is 0", the test that :meth:`interval` inverts
        (``p < 1 - confidence`` exactly when the interval excludes 0). NaN where the
        replicates do not vary (a zero-width interval is no evidence)."""
        return np.full(np.shape(point), np.nan)

    def config(self) -> dict[str, Any]:
        return {"method": self.name, "n_replicates": self.n_replicates}


def _t_p_value(
    point: NDArray[np.float64], se: NDArray[np.float64], k: NDArray[np.int64]
) -> NDArray[np.float64]:
    from .stats import t_sf_array

    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.abs(point) / se
        ok = np.isfinite(t) & (se > 0) & (k >= 2)
        p = 2.0 * t_sf_array(np.where(ok, t, 0.0), np.maximum(k - 1, 1))
    return np.where(ok, np.minimum(p, 1.0), np.nan)


def _add_counts(out: NDArray[np.float64], key: NDArray[np.int64], w: NDArray[np.float64]) -> None:
    """``out += np.bincount(key, w, minlength=out.size)`` (1-D ``out``, possibly a strided
    view), without a temporary of ``out``'s size when the keys are few: the same sums, each
    key's weights added in row order, so the result is bit-identical."""
    if key.size == 0:
        return
    if out.size <= 8 * key.size + 65_536:
        out += np.bincount(key, weights=w, minlength=out.size)
        return
    u, inv = np.unique(key, return_inverse=True)
    out[u] += np.bincount(inv.reshape(-1), weights=w, minlength=u.size)


class NoReplicates(Replication):
    """A single slot: point estimates only."""


@dataclass(frozen=True)
class _JackRows:
    bucket: NDArray[np.int64]


class Jackknife(Replication):
    """Delete-a-group jackknife with ``n_buckets`` buckets and a t interval."""

    name = "jackknife"

    def __init__(self, n_buckets: int = 20) -> None:
        self.n_state = n_buckets
        self.n_replicates = n_buckets

    def row_data(self, hashes: NDArray[np.uint64]) -> _JackRows:
        return _JackRows((hashes % np.uint64(self.n_state)).astype(np.int64))

    def accumulate(
        self, out: NDArray[np.float64], key: NDArray[np.int64], w: NDArray[np.float64], rows: Any
    ) -> None:
        b = self.n_state
        flat = key * b + rows.bucket
        _add_counts(out.reshape(-1), flat, w)

    def expand(self, a: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        total = a.sum(axis=-1)
        return total, total[..., None] - a

    def interval(
        self, point: NDArray[np.float64], reps: NDArray[np.float64], confidence: float
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        valid = np.isfinite(reps)
        k = valid.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(valid, reps, 0.0).sum(axis=-1) / k
            dev = np.where(valid, reps - mean[..., None], 0.0)
            var = (k - 1) / k * (dev**2).sum(axis=-1)
        return _t_interval(point, np.sqrt(var), k, confidence)

    def _se(self, reps: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        valid = np.isfinite(reps)
        k = valid.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(valid, reps, 0.0).sum(axis=-1) / k
            dev = np.where(valid, reps - mean[..., None], 0.0)
            var = (k - 1) / k * (dev**2).sum(axis=-1)
        return np.sqrt(var), k

    def p_value(
        self, point: NDArray[np.float64], reps: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        se, k = self._se(reps)
        return _t_p_value(point, se, k)


@dataclass(frozen=True)
class _BootRows:
    mult: NDArray[np.float64]  # (n, B) Poisson(1) multiplicities


class PoissonBootstrap(Replication):
    """Poisson bootstrap with ``n_draws`` replicates; t interval from their spread (as TFMA)."""

    name = "bootstrap"

    def __init__(self, n_draws: int = 100) -> None:
        self.n_state = n_draws + 1
        self.n_replicates = n_draws

    def row_data(self, hashes: NDArray[np.uint64]) -> _BootRows:
        return _BootRows(poisson_multiplicities(hashes, self.n_replicates))  # float64

    def accumulate(
        self, out: NDArray[np.float64], key: NDArray[np.int64], w: NDArray[np.float64], rows: Any
    ) -> None:
        if key.size == 0:
            return
        order = np.argsort(key, kind="stable")
        sk = key[order]
        starts = np.flatnonzero(np.concatenate(([True], sk[1:] != sk[:-1])))
        ws = w[order]
        full = np.empty((key.size, self.n_state))
        full[:, 0] = ws
        np.multiply(rows.mult[order], ws[:, None], out=full[:, 1:])
        out[sk[starts]] += np.add.reduceat(full, starts, axis=0)

    def expand(self, a: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return a[..., 0], a[..., 1:]

    def interval(
        self, point: NDArray[np.float64], reps: NDArray[np.float64], confidence: float
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        valid = np.isfinite(reps)
        k = valid.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(valid, reps, 0.0).sum(axis=-1) / k
            dev = np.where(valid, reps - mean[..., None], 0.0)
            sd = np.sqrt((dev**2).sum(axis=-1) / (k - 1))
        return _t_interval(point, sd, k, confidence)

    def p_value(
        self, point: NDArray[np.float64], reps: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        valid = np.isfinite(reps)
        k = valid.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(valid, reps, 0.0).sum(axis=-1) / k
            dev = np.where(valid, reps - mean[..., None], 0.0)
            sd = np.sqrt((dev**2).sum(axis=-1) / (k - 1))
        return _t_p_value(point, sd, k)


def poisson_multiplicities(hashes: NDArray[np.uint64], n_draws: int) -> NDArray[np.float64]:
    """Poisson(1) draws ``(n, n_draws)`` that depend only on each row's hash.

    Each 64-bit hash of (row hash, draw index) yields four 16-bit uniforms, mapped through
    a table of Poisson(1) quantiles (probabilities exact to within 2**-16).
    """
    n = hashes.shape[0]
    n_words = (n_draws + 3) // 4
    idx = np.arange(n_words, dtype=np.uint64) * _GOLDEN
    with np.errstate(over="ignore"):
        words = splitmix64(hashes[:, None] ^ idx[None, :])
    parts = words.view(np.uint16).reshape(n, n_words * 4)[:, :n_draws]
    out: NDArray[np.float64] = _POISSON_TABLE[parts].astype(np.float64)
    return out


_T_CACHE: dict[tuple[int, float], float] = {}


def _t_interval(
    point: NDArray[np.float64], se: NDArray[np.float64], k: NDArray[np.int64], confidence: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    q = (1.0 + confidence) / 2.0
    kk = np.asarray(k)
    crit = np.full(kk.shape, np.nan)
    for dof in np.unique(kk):
        if dof >= 2:
            key = (int(dof) - 1, q)
            if key not in _T_CACHE:
                _T_CACHE[key] = t_ppf(q, int(dof) - 1)
            crit[kk == dof] = _T_CACHE[key]
    half = crit * se
    with np.errstate(invalid="ignore"):
        return point - half, point + half


def make_replication(method: str | None, n: int | None) -> Replication:
    """Build the scheme named ``method`` ('jackknife', 'bootstrap' or None)."""
    if method is None or method == "none":
        return NoReplicates()
    if method == "jackknife":
        return Jackknife(20 if n is None else n)
    return PoissonBootstrap(100 if n is None else n)
