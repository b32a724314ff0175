"""The private LSH coreset: hashing, mergeable states, the noisy tree and its leaves.

A point's hash is ``max_depth`` sign bits of random projections (SimHash: bit ``j`` is 1
when ``<x, v_j> < 0`` for a standard normal ``v_j``); the tree's node at level ``l`` with
prefix ``p`` holds the points whose first ``l`` bits are ``p``. Everything the data
contributes is a sum over points, so it is computed per partition and merged by addition:

1. :class:`CountState` (``count_state``): the number of points under every hash prefix of
   every level. Merged, then the tree is grown on the driver, level by level: the root's
   count and the counts of both children of each branching node get discrete Laplace
   noise; a node branches when its noisy count reaches ``min_points_in_branching_node``,
   a child stays in the tree when its noisy count reaches ``min_points_in_node``;
   a node without children in the tree is a leaf (:func:`grow_tree`).
2. :class:`SumState` (``sum_state``): the sum of the points under each leaf (exact, in
   fixed point). Merged, then
   Gaussian noise is added once per leaf and the coreset point is the noisy sum divided by
   the leaf's noisy count, projected back into the ball; its weight is the noisy count
   (:func:`private_coreset`).

Noise is drawn only on merged states, in a fixed order (level, then prefix), so the same
seed gives the same tree and coreset for any partitioning of the same rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from .mechanisms import clip_to_radius, discrete_laplace

MAX_HASH_BITS = 62


@dataclass(frozen=True)
class SimHash:
    """Random-projection hash with ``projections`` of shape ``(max_depth, dim)``."""

    projections: np.ndarray

    @classmethod
    def draw(cls, dim: int, max_depth: int, rng: np.random.Generator) -> SimHash:
        return cls(rng.standard_normal((max_depth, dim)))

    @property
    def max_depth(self) -> int:
        return int(self.projections.shape[0])

    def codes(self, X: np.ndarray) -> np.ndarray:
        """The ``max_depth``-bit hash of each row as an int64 (first bit most significant)."""
        depth = self.max_depth
        if depth == 0:
            return np.zeros(X.shape[0], dtype=np.int64)
        bits = (X @ self.projections.T) < 0  # (n, depth)
        weights = np.left_shift(np.int64(1), np.arange(depth - 1, -1, -1, dtype=np.int64))
        return bits.astype(np.int64) @ weights


def prefixes(codes: np.ndarray, level: int, max_depth: int) -> np.ndarray:
    """The level-``level`` prefix of each code (its first ``level`` bits)."""
    return np.right_shift(codes, max_depth - level)


@dataclass
class CountState:
    """Points per hash prefix, per level ``0..max_depth``: sorted ``keys[lvl]``, ``counts[lvl]``."""

    max_depth: int
    keys: list[np.ndarray]
    counts: list[np.ndarray]

    def merge(self, other: CountState) -> CountState:
        """The state of the union of both sets of rows (counts add)."""
        if other.max_depth != self.max_depth:
            raise ValueError(
                f"CountState.merge: max_depth differs ({self.max_depth} and {other.max_depth})"
            )
        keys, counts = [], []
        for lvl in range(self.max_depth + 1):
            k = np.concatenate([self.keys[lvl], other.keys[lvl]])
            c = np.concatenate([self.counts[lvl], other.counts[lvl]])
            uk, inv = np.unique(k, return_inverse=True)
            keys.append(uk)
            counts.append(np.bincount(inv, weights=c, minlength=uk.size).astype(np.int64))
        return CountState(self.max_depth, keys, counts)

    __add__ = merge

    def lookup(self, level: int, query: np.ndarray) -> np.ndarray:
        """True counts of the prefixes ``query`` at ``level`` (0 for prefixes with no point)."""
        keys, counts = self.keys[level], self.counts[level]
        if keys.size == 0:
            return np.zeros(query.size, dtype=np.int64)
        pos = np.clip(np.searchsorted(keys, query), 0, keys.size - 1)
        return np.where(keys[pos] == query, counts[pos], 0)

    @property
    def n(self) -> int:
        return int(self.counts[0].sum()) if self.counts[0].size else 0


def count_state(codes: np.ndarray, max_depth: int) -> CountState:
    """The :class:`CountState` of one partition's hash codes."""
    keys, counts = [], []
    for lvl in range(max_depth + 1):
        k, c = np.unique(prefixes(codes, lvl, max_depth), return_counts=True)
        keys.append(k.astype(np.int64))
        counts.append(c.astype(np.int64))
    return CountState(max_depth, keys, counts)


@dataclass(frozen=True)
class TreeParams:
    """Thresholds of the tree (see :class:`~assay.privacy.DPKMeans`)."""

    min_points_in_branching_node: int
    min_points_in_node: int
    max_depth: int


def default_tree_params(noisy_root_count: int, n_clusters: int, dim: int, sigma: float,
                        radius: float, max_depth: int) -> TreeParams:
    """The reference implementation's heuristic.

    A leaf of ``m`` points has mean noise of norm about ``sqrt(dim) * sigma / m``; with
    ``m = 10 sqrt(dim) sigma / radius`` that is a tenth of the radius. The minimum is capped
    by ``noisy_root_count // (2 k)`` so that there is room for a node per cluster, and is at
    least 1; a node branches from three times the minimum.
    """
    low_noise = int(10 * math.sqrt(dim) * sigma / radius) if sigma > 0 else 1
    m = max(1, min(low_noise, noisy_root_count // (2 * n_clusters)))
    return TreeParams(3 * m, m, max_depth)


@dataclass
class LshTree:
    """The grown tree: per level, the prefixes kept and their noisy counts; the leaves."""

    max_depth: int
    level_keys: list[np.ndarray]
    level_counts: list[np.ndarray]
    leaf_level: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    leaf_key: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    leaf_count: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n_leaves(self) -> int:
        return int(self.leaf_key.size)

    @property
    def depth(self) -> int:
        return len(self.level_keys) - 1

    def leaf_index(self, codes: np.ndarray) -> np.ndarray:
        """Index of the leaf each code falls in, -1 where its branch was pruned."""
        out = np.full(codes.size, -1, dtype=np.int64)
        for lvl in np.unique(self.leaf_level):
            sel = np.flatnonzero(self.leaf_level == lvl)  # leaves at level lvl, sorted by key
            keys = self.leaf_key[sel]
            p = prefixes(codes, int(lvl), self.max_depth)
            pos = np.clip(np.searchsorted(keys, p), 0, keys.size - 1)
            hit = keys[pos] == p
            out[hit] = sel[pos[hit]]
        return out


def grow_tree(counts: CountState, params: TreeParams, count_parameter: float,
              noisy_root_count: int, rng: np.random.Generator) -> LshTree:
    """Grow the tree from merged counts (noise drawn here, in level then prefix order)."""
    depth = counts.max_depth
    level_keys = [np.zeros(1, dtype=np.int64)]
    level_counts = [np.array([max(1, noisy_root_count)], dtype=np.int64)]
    for lvl in range(min(params.max_depth, depth)):
        branch = level_counts[lvl] >= params.min_points_in_branching_node
        if not branch.any():
            break
        parents = level_keys[lvl][branch]
        children = np.sort(np.concatenate([2 * parents, 2 * parents + 1]))
        true = counts.lookup(lvl + 1, children)
        noisy = true + discrete_laplace(count_parameter, size=children.size, random_state=rng)
        keep = noisy >= params.min_points_in_node
        if not keep.any():
            break
        level_keys.append(children[keep])
        level_counts.append(np.asarray(noisy[keep], dtype=np.int64))
    tree = LshTree(depth, level_keys, level_counts)
    lv, ky, ct = [], [], []
    for lvl, (keys, cnt) in enumerate(zip(level_keys, level_counts, strict=True)):
        if lvl + 1 < len(level_keys):
            parents_below = np.right_shift(level_keys[lvl + 1], 1)
            is_leaf = ~np.isin(keys, parents_below)
        else:
            is_leaf = np.ones(keys.size, dtype=bool)
        lv.append(np.full(int(is_leaf.sum()), lvl, dtype=np.int64))
        ky.append(keys[is_leaf])
        ct.append(cnt[is_leaf])
    tree.leaf_level = np.concatenate(lv)
    tree.leaf_key = np.concatenate(ky)
    tree.leaf_count = np.concatenate(ct)
    return tree


#: Leaf sums are accumulated exactly in fixed point: a coordinate ``x`` (``|x| <= radius``)
#: counts as ``trunc(x * 2**FIXED_POINT_BITS / radius)``, an int64. Integer addition is
#: associative, so the merged sums, hence the coreset, are bit-identical for any partitioning
#: and order of the rows; truncation toward zero never moves a point out of the ball; the
#: rounding is below ``2**-32`` radius per coordinate, and a leaf may hold up to ``2**31``
#: points before the int64 could overflow.
FIXED_POINT_BITS = 32


@dataclass
class SumState:
    """Fixed-point sums of the (clipped) points under each leaf, int64 ``(n_leaves, dim)``.

    ``radius`` fixes the scale (see :data:`FIXED_POINT_BITS`); :meth:`values` converts back.
    """

    sums: np.ndarray
    radius: float

    def merge(self, other: SumState) -> SumState:
        if other.sums.shape != self.sums.shape or other.radius != self.radius:
            raise ValueError(
                f"SumState.merge: shapes or radii differ ({self.sums.shape}, r={self.radius} "
                f"and {other.sums.shape}, r={other.radius})"
            )
        return SumState(self.sums + other.sums, self.radius)

    __add__ = merge

    def values(self) -> np.ndarray:
        """The sums as floats."""
        return self.sums.astype(np.float64) * (self.radius / 2.0**FIXED_POINT_BITS)


def to_fixed(X: np.ndarray, radius: float) -> np.ndarray:
    """Points (already clipped to ``radius``) in the fixed point of :class:`SumState`."""
    return np.trunc(X * (2.0**FIXED_POINT_BITS / radius)).astype(np.int64)


def sum_state(X: np.ndarray, codes: np.ndarray, tree: LshTree, radius: float) -> SumState:
    """The :class:`SumState` of one partition (``X`` already clipped to ``radius``)."""
    idx = tree.leaf_index(codes)
    sums = np.zeros((tree.n_leaves, X.shape[1]), dtype=np.int64)
    ok = idx >= 0
    if ok.any():
        _add_rows(sums, idx[ok], to_fixed(X[ok], radius))
    return SumState(sums, float(radius))


def _add_rows(out: np.ndarray, idx: np.ndarray, rows: np.ndarray) -> None:
    order = np.argsort(idx, kind="stable")
    sidx = idx[order]
    starts = np.flatnonzero(np.r_[True, sidx[1:] != sidx[:-1]])
    out[sidx[starts]] += np.add.reduceat(rows[order], starts, axis=0)


def private_coreset(tree: LshTree, sums: SumState, sigma: float, radius: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Coreset points (noisy leaf means, projected into the ball) and weights (noisy counts)."""
    total = sums.values()
    noisy = total + rng.normal(0.0, sigma, size=total.shape) if sigma > 0 else total
    points = clip_to_radius(noisy / tree.leaf_count[:, None].astype(np.float64), radius)
    return points, tree.leaf_count.astype(np.float64)


State = TypeVar("State", CountState, SumState)


def merge_all(states: Sequence[State]) -> State:
    """Merge a non-empty sequence of states by addition (left to right)."""
    it = iter(states)
    try:
        total = next(it)
    except StopIteration:
        raise ValueError("merge_all: no states to merge (got an empty sequence)") from None
    for s in it:
        total = total.merge(s)
    return total
