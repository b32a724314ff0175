"""Exact KNN-Shapley (Jia et al., "Efficient task-specific data valuation for nearest
neighbor algorithms", VLDB 2019), classification utility.

For one validation point ``(x, y)`` sort the ``N`` training rows by Euclidean distance to
``x`` (``a_1`` nearest; ties by row order) and let ``m_i = 1[y_{a_i} = y]``. The utility of a
subset ``S`` is the share of its ``K`` nearest members (``min(K, |S|)`` of them, divided by
``K``) that carry the label ``y``. Its Shapley values have the closed form (Theorem 1)::

    s(a_N) = m_N / N
    s(a_i) = s(a_{i+1}) + (m_i - m_{i+1}) / K * min(K, i) / i      (i = N-1, ..., 1)

and the value of a training row is its mean over the validation points. Every rank
contributes (not only the ``K`` nearest), so each validation point needs the full order of
the training rows: the computation is ``O(M N log N)`` in blocks of validation rows that
bound the memory, optionally over several threads (NumPy's sort releases the GIL). The sort
is NumPy's SIMD integer sort of keys that pack the distance's bits with the row index,
tie runs fixed up exactly (:func:`_stable_order`), so the order is exactly the stable
argsort of the computed distances.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._util.progress import Progress
from .._util.validation import check_int
from ._common import (
    F64,
    I64,
    check_duplicates,
    check_fitted,
    check_train_val,
    encode_labels,
)

__all__ = ["KNNRegressionShapley", "KNNShapley", "knn_shapley", "knn_shapley_regression"]

_FUNC = "knn_shapley"


_SIGN_OFF = np.int64(0x7FFFFFFFFFFFFFFF)


def _index_bits(n: int) -> int:
    """Bits that hold a training row index (at least one)."""
    return max(1, (n - 1).bit_length())


def _stable_order(d: F64, bits: int | None = None) -> I64:
    """``np.argsort(d, axis=1, kind="stable")`` (ties by row order), exactly, about 10x faster.

    Each float64 is mapped to an int64 with the same order (its bit pattern, the magnitude
    bits flipped for negative numbers), the low ``bits`` bits are replaced by the column
    index, and the keys are sorted with NumPy's SIMD integer sort (no argsort, no
    indirection). The key keeps the sign, exponent and the top ``52 - bits`` mantissa bits,
    so two distances can only be misordered if they agree in all of those: such runs of
    equal truncated keys (rare: relative gaps under ``2**(bits - 52)``, or exact ties) are
    found after the sort and re-sorted by the exact float64 and then the index."""
    n = d.shape[1]
    if bits is None:
        bits = _index_bits(n)
    if bits > 40:  # too few distance bits left: plain stable argsort
        out: I64 = np.argsort(d, axis=1, kind="stable")
        return out
    low = np.int64((1 << bits) - 1)
    key = np.bitwise_and(d.view(np.int64), ~low)  # -0.0 does not occur: see _block_values
    neg = np.flatnonzero(d.min(axis=1) < 0)  # rows whose negative keys need the flip
    if neg.size:
        sub = d[neg].view(np.int64)
        sub ^= (sub >> 63) & _SIGN_OFF
        key[neg] = sub & ~low
    key |= np.arange(n, dtype=np.int64)[None, :]
    key.sort(axis=1)
    trunc = key >> bits
    tied = trunc[:, 1:] == trunc[:, :-1]
    del trunc
    key &= low  # now the order
    order: I64 = key
    if tied.any():
        r, p = np.nonzero(tied)
        first = r * n + p  # slot p of row r ties with slot p + 1
        slots = np.union1d(first, first + 1)
        group = np.cumsum(~np.isin(slots - 1, first))
        flat = order.reshape(-1)
        idx = flat[slots]
        dist = d.reshape(-1)[(slots // n) * n + idx]
        flat[slots] = idx[np.lexsort((idx, dist, group))]
    return order


def _rank_weights(n: int, k: int) -> tuple[F64, F64]:
    """``1/j`` and ``1/(j(j-1))`` (0 for ``j = 1``) for the ranks ``j = 1..n``."""
    j = np.arange(1, n + 1, dtype=np.float64)
    inv = 1.0 / j
    c = np.zeros(n)
    c[1:] = 1.0 / (j[1:] * (j[1:] - 1.0))
    return inv, c


def _augment(xt: F64) -> F64:
    """The training rows as ``[x_t, |x_t|^2 / 2, 1]`` (see :func:`_block_order`)."""
    xt_aug = np.empty((xt.shape[0], xt.shape[1] + 2))
    xt_aug[:, :-2] = xt
    xt_aug[:, -2] = 0.5 * np.einsum("ij,ij->i", xt, xt)
    xt_aug[:, -1] = 1.0
    return xt_aug


def _block_order(xt_aug: F64, xv: F64) -> I64:
    """Per validation row of ``xv``, the training rows from the nearest (ties by row order).

    The training rows are ranked by half the squared distance, ``|x|^2 / 2 + |x_t|^2 / 2 -
    x . x_t``, one matrix product of ``[-x, 1, |x|^2 / 2]`` with the augmented training rows
    ``[x_t, |x_t|^2 / 2, 1]`` (``-0.0`` could only come from a sum of ``-0.0`` terms, and
    ``|x|^2 / 2 >= +0``; rounding can make a distance slightly negative, which the key of
    :func:`_stable_order` handles)."""
    xv_aug = np.empty((xv.shape[0], xv.shape[1] + 2))
    np.negative(xv, out=xv_aug[:, :-2])
    xv_aug[:, -2] = 1.0
    xv_aug[:, -1] = 0.5 * np.einsum("ij,ij->i", xv, xv)
    return _stable_order(xv_aug @ xt_aug.T)


def _block_values(
    xt_aug: F64, ct: NDArray[Any], xv: F64, cv: NDArray[Any], k: int,
    weights: tuple[F64, F64],
) -> F64:  # fmt: skip
    """Sum over the validation rows ``xv`` of their KNN-Shapley values (one per training row).

    The recursion unrolled: with ``m_j`` the label match of the row at rank ``j``, for
    ``i >= K``, ``s_i = m_i / i + C_i - C_N`` with ``C_i = sum_{j <= i} m_j / (j (j - 1))``
    (the weights ``min(K, j) / (K j)`` are ``1/j`` there, and the sum telescopes), and for
    ``i < K``, ``s_i = s_K + (m_i - m_K) / K``; one forward cumulative sum per validation row.
    ``C_N`` is the same for every rank, so it is subtracted once per validation row at the
    end."""
    n = xt_aug.shape[0]
    inv, c = weights
    order = _block_order(xt_aug, xv)
    match = (ct[order] == cv[:, None]).view(np.uint8).astype(np.float64)
    s = match * c[None, :]
    np.cumsum(s, axis=1, out=s)
    c_n = s[:, -1].sum()
    if k > 1:
        head = match[:, :k].copy()
    match *= inv[None, :]
    s += match
    del match
    if k > 1:
        s[:, : k - 1] = s[:, k - 1 : k] + (head[:, : k - 1] - head[:, k - 1 : k]) / k
    out: F64 = np.bincount(order.ravel(), weights=s.ravel(), minlength=n).astype(np.float64)
    out -= c_n
    return out


def _over_blocks(
    work: Callable[[int, int], F64], m: int, block_rows: int, n: int, n_jobs: int,
    progress: bool, desc: str,
) -> F64:  # fmt: skip
    """The sum of ``work(a, b)`` over the blocks ``[a, b)`` of the ``m`` validation rows, on
    ``n_jobs`` threads."""
    starts = list(range(0, m, block_rows))
    total = np.zeros(n, dtype=np.float64)
    with Progress(m, desc=desc, unit="val rows", enabled=progress) as bar:

        def one(a: int) -> F64:
            return work(a, min(a + block_rows, m))

        if n_jobs == 1:
            for a in starts:
                total += one(a)
                bar.update(min(block_rows, m - a))
        else:
            with ThreadPoolExecutor(n_jobs) as pool:
                for a, part in zip(starts, pool.map(one, starts), strict=True):
                    total += part
                    bar.update(min(block_rows, m - a))
    return total


def _default_block_rows(block_rows: int | None, m: int, n: int, max_memory: int, func: str) -> int:
    if block_rows is None:
        # about 40 bytes per training row and validation row in a block; blocks of about
        # 800,000 cells stay in cache (at 100,000 training rows 8 validation rows per block
        # ran 2.5x faster than 80)
        block_rows = max(1, min(m, 800_000 // n, int(max_memory) // (40 * n)))
    return check_int("block_rows", block_rows, minimum=1, func=func)


def knn_shapley(
    x_train: Any,
    y_train: Any,
    x_val: Any,
    y_val: Any,
    k: int = 5,
    *,
    duplicates: str = "raise",
    block_rows: int | None = None,
    max_memory: int = 256 * 2**20,
    n_jobs: int = 1,
    progress: bool = False,
) -> F64:
    """Exact KNN-Shapley value of every training row (Jia et al. 2019, classification).

    Parameters
    ----------
    x_train, y_train
        Training features (``N x d``, numeric, finite) and labels (``N``).
    x_val, y_val
        Validation features (``M x d``) and labels (``M``); every validation class must occur
        among the training labels.
    k
        Number of neighbours of the KNN utility, ``1 <= k <= N``.
    duplicates
        ``"raise"`` (default): refuse equal training rows, whose values depend on how distance
        ties are broken; ``"allow"``: break ties by row order.
    block_rows, max_memory
        Validation rows per block (default: about 800,000 / ``N``, at least 1, and at most
        as many as fit in ``max_memory`` bytes of working arrays, about ``40 N`` bytes per
        validation row).
    n_jobs
        Threads working on blocks at once.
    progress
        Show a progress bar over validation rows.

    Returns
    -------
    numpy.ndarray
        ``N`` values, the mean over validation points of each point's exact Shapley values.
        They sum to the utility of the full training set (the empty set's utility is 0).
    """
    xt, yt, xv, yv = check_train_val(x_train, y_train, x_val, y_val, func=_FUNC)
    n, m = xt.shape[0], xv.shape[0]
    k = check_int("k", k, minimum=1, func=_FUNC)
    if k > n:
        raise ValueError(
            f"The 'k' parameter of {_FUNC} must be at most the number of training rows ({n}). "
            f"Got {k} instead."
        )
    check_duplicates(xt, duplicates, func=_FUNC)
    n_jobs = check_int("n_jobs", n_jobs, minimum=1, func=_FUNC)
    ct, cv, classes = encode_labels(yt, yv, func=_FUNC)
    block_rows = _default_block_rows(block_rows, m, n, max_memory, _FUNC)
    weights = _rank_weights(n, k)
    cts = ct.astype(np.int8 if classes.size < 128 else np.int32)  # a small array to gather from
    xt_aug = _augment(xt)
    total = _over_blocks(
        lambda a, b: _block_values(xt_aug, cts, xv[a:b], cv[a:b], k, weights),
        m, block_rows, n, n_jobs, progress, "KNN-Shapley",
    )  # fmt: skip
    out: F64 = total / m
    return out


class KNNShapley:
    """Exact KNN-Shapley values as an estimator: ``fit(x_train, y_train, x_val, y_val)``
    sets ``values_`` (one per training row) and ``fit_time_`` (seconds).

    Deterministic; ``random_state`` is accepted for the common API and unused.
    """

    name = "KNN-Shapley"

    def __init__(
        self,
        k: int = 5,
        *,
        duplicates: str = "raise",
        n_jobs: int = 1,
        max_memory: int = 256 * 2**20,
        progress: bool = False,
        random_state: int | None = None,
    ) -> None:
        self.k = k
        self.duplicates = duplicates
        self.n_jobs = n_jobs
        self.max_memory = max_memory
        self.progress = progress
        self.random_state = random_state

    def fit(self, x_train: Any, y_train: Any, x_val: Any, y_val: Any) -> KNNShapley:
        t0 = time.perf_counter()
        self.values_ = knn_shapley(
            x_train, y_train, x_val, y_val, self.k, duplicates=self.duplicates,
            n_jobs=self.n_jobs, max_memory=self.max_memory, progress=self.progress,
        )  # fmt: skip
        self.fit_time_ = time.perf_counter() - t0
        return self

    @property
    def values(self) -> F64:
        check_fitted(self)
        return self.values_


# ----------------------------------------------------------------------------------------
# regression utility
# ----------------------------------------------------------------------------------------

_RFUNC = "knn_shapley_regression"


def _rank_shapley(m: F64, k: int, inv: F64, c: F64) -> F64:
    """Per validation row (a row of ``m``, the values ``m_j`` at the ranks ``j = 1..N``),
    the Shapley values at every rank of the game ``(1/K) sum of m_j over the K nearest
    members of the subset``: the classification recursion with real ``m_j`` (it is linear in
    them)."""
    s = m * c[None, :]
    np.cumsum(s, axis=1, out=s)
    s -= s[:, -1:]
    s += m * inv[None, :]
    if k > 1:
        s[:, : k - 1] = s[:, k - 1 : k] + (m[:, : k - 1] - m[:, k - 1 : k]) / k
    return s


def _pair_weights(n: int, k: int) -> tuple[F64, F64]:
    """For the pair game ``G_ij(S) = 1[i, j in S and both among the K nearest of S]``
    (ranks ``i < j``): each of ``i`` and ``j`` gets ``c_j = T (T + 1) / (2 j (j - 1))`` with
    ``T = min(K - 1, j - 1)``, each of the ``j - 2`` other rows nearer than ``j`` gets
    ``d_j = -K (K - 1) / (j (j - 1) (j - 2))`` when ``j > K`` (0 otherwise); farther rows 0.
    (``i``'s marginal is 1 when it arrives after ``j`` with at most ``K - 2`` of the other
    nearer rows present; the others share the rest by symmetry and efficiency.)"""
    j = np.arange(1, n + 1, dtype=np.float64)
    t = np.minimum(k - 1, j - 1)
    cj = np.zeros(n)
    cj[1:] = t[1:] * (t[1:] + 1) / (2 * j[1:] * (j[1:] - 1))
    dj = np.zeros(n)
    far = j > k
    if k > 1:
        dj[far] = -k * (k - 1) / (j[far] * (j[far] - 1) * (j[far] - 2))
    return cj, dj


def _block_values_regression(
    xt_aug: F64, yt: F64, xv: F64, yv: F64, k: int, weights: tuple[F64, F64, F64, F64]
) -> F64:
    """Sum over the validation rows of the exact Shapley values of the KNN regression utility
    ``U(S) = -((1/K) sum_{K nearest in S} y_t - y)^2``.

    ``U = -y^2 + (2 y / K) L - L^2 / K^2`` with ``L(S)`` the sum of the labels of the ``K``
    nearest members: ``L`` and the squares part of ``L^2`` are games of the classification
    form (:func:`_rank_shapley` with ``m_j = y_j`` and ``y_j^2``); the cross terms ``2 y_i
    y_j`` of ``L^2`` are pair games (:func:`_pair_weights`), summed in ``O(N)`` per
    validation row with prefix and suffix sums."""
    inv, c, cj, dj = weights
    n = xt_aug.shape[0]
    order = _block_order(xt_aug, xv)
    ys = yt[order]  # labels by rank
    # the recursion is linear in m: one pass for 2 y L / k - (squares of L) / k^2
    lin = _rank_shapley(ys * (2.0 * yv[:, None] - ys / k), k, inv, c)
    before = np.cumsum(ys, axis=1)
    before -= ys  # S_{p-1}: the labels of the nearer rows
    # pair part: 2 y_p sum_{j>p} y_j (c_j - d_j) + 2 c_p y_p S_{p-1} + 2 sum_{j>p} d_j y_j S_{j-1}
    a = ys * (cj - dj)[None, :]
    np.cumsum(a, axis=1, out=a)
    a -= a[:, -1:]  # minus the suffix sums after p
    b = ys * dj[None, :] * before
    np.cumsum(b, axis=1, out=b)
    b -= b[:, -1:]
    pair = ys * (cj[None, :] * before - a)
    pair -= b
    lin -= (2.0 / (k * k)) * pair
    out: F64 = np.bincount(order.ravel(), weights=lin.ravel(), minlength=n).astype(np.float64)
    return out


def knn_shapley_regression(
    x_train: Any,
    y_train: Any,
    x_val: Any,
    y_val: Any,
    k: int = 5,
    *,
    duplicates: str = "raise",
    block_rows: int | None = None,
    max_memory: int = 256 * 2**20,
    n_jobs: int = 1,
    progress: bool = False,
) -> F64:
    """Exact KNN-Shapley values for regression (Jia et al. 2019's unweighted KNN regression
    utility): per validation point ``U(S) = -(mean over K of the labels of the K nearest
    members of S - y)^2`` (``min(K, |S|)`` labels summed, divided by ``K``; ``U(empty) =
    -y^2``), averaged over validation points. Same arguments and cost as
    :func:`knn_shapley`; the labels are numbers. The values sum to the mean of ``U(full) -
    U(empty)``."""
    xt, yt_raw, xv, yv_raw = check_train_val(x_train, y_train, x_val, y_val, func=_RFUNC)
    yt = _numeric_labels(yt_raw, "y_train")
    yv = _numeric_labels(yv_raw, "y_val")
    n, m = xt.shape[0], xv.shape[0]
    k = check_int("k", k, minimum=1, func=_RFUNC)
    if k > n:
        raise ValueError(
            f"The 'k' parameter of {_RFUNC} must be at most the number of training rows ({n}). "
            f"Got {k} instead."
        )
    check_duplicates(xt, duplicates, func=_RFUNC)
    n_jobs = check_int("n_jobs", n_jobs, minimum=1, func=_RFUNC)
    block_rows = _default_block_rows(block_rows, m, n, max_memory // 2, _RFUNC)
    weights = (*_rank_weights(n, k), *_pair_weights(n, k))
    xt_aug = _augment(xt)
    total = _over_blocks(
        lambda a, b: _block_values_regression(xt_aug, yt, xv[a:b], yv[a:b], k, weights),
        m, block_rows, n, n_jobs, progress, "KNN-Shapley (regression)",
    )  # fmt: skip
    out: F64 = total / m
    return out


def _numeric_labels(y: NDArray[Any], name: str) -> F64:
    if y.dtype.kind not in "biuf":
        raise TypeError(
            f"The {name!r} parameter of {_RFUNC} must be numeric labels (regression targets). "
            f"Got dtype {y.dtype} instead."
        )
    a = y.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"The {name!r} parameter of {_RFUNC} must be finite. Got NaN or inf.")
    return a


class KNNRegressionShapley(KNNShapley):
    """:func:`knn_shapley_regression` as an estimator (``values_``, ``fit_time_``)."""

    name = "KNN-Shapley (regression)"

    def fit(self, x_train: Any, y_train: Any, x_val: Any, y_val: Any) -> KNNRegressionShapley:
        t0 = time.perf_counter()
        self.values_ = knn_shapley_regression(
            x_train, y_train, x_val, y_val, self.k, duplicates=self.duplicates,
            n_jobs=self.n_jobs, max_memory=self.max_memory, progress=self.progress,
        )  # fmt: skip
        self.fit_time_ = time.perf_counter() - t0
        return self
