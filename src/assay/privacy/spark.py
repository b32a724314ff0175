"""DPKMeans on a Spark DataFrame: the same states as the local fit, one per partition,
merged on the driver by addition; all noise is drawn once on the driver.

Two passes over the data: the hash-prefix counts (:class:`~assay.privacy.coreset.CountState`),
then, once the noisy tree is grown on the driver and broadcast, the leaf sums
(:class:`~assay.privacy.coreset.SumState`). The sums are exact integers, so the output is
bit-identical to ``DPKMeans.fit`` on the same rows with the same ``random_state``, whatever
the partitioning.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .._util.validation import missing_column_error, param_type_error
from .coreset import CountState, LshTree, SimHash, SumState, count_state, sum_state
from .kmeans import DPKMeans
from .mechanisms import check_points, clip_to_radius


def _rows_to_array(rows: Iterator[Any], width: int) -> np.ndarray:
    data = [tuple(r) for r in rows]
    if not data:
        return np.zeros((0, width))
    return check_points(np.asarray(data, dtype=np.float64), func="fit_spark")


def fit_spark(estimator: DPKMeans, df: Any, columns: Sequence[str] | None = None) -> DPKMeans:
    """Fit ``estimator`` on the numeric ``columns`` (all columns if ``None``) of the Spark
    DataFrame ``df``; returns the estimator (``labels_``/``inertia_`` are not set: call
    ``predict`` on the rows you need)."""
    if not isinstance(estimator, DPKMeans):
        raise param_type_error("estimator", "a DPKMeans", estimator, func="fit_spark")
    cols = list(df.columns) if columns is None else list(columns)
    for c in cols:
        if c not in df.columns:
            raise missing_column_error("feature", c, df.columns)
    rdd = df.select(*cols).rdd
    dim = len(cols)

    def counts_of(hasher: SimHash, radius: float) -> CountState:
        def part(rows: Iterator[Any]) -> Iterator[CountState]:
            X = clip_to_radius(_rows_to_array(rows, dim), radius)
            yield count_state(hasher.codes(X), hasher.max_depth)

        return rdd.mapPartitions(part).treeReduce(lambda a, b: a.merge(b))

    def sums_of(hasher: SimHash, tree: LshTree, radius: float) -> SumState:
        shared = rdd.context.broadcast((hasher, tree))

        def part(rows: Iterator[Any]) -> Iterator[SumState]:
            h, t = shared.value
            X = clip_to_radius(_rows_to_array(rows, dim), radius)
            yield sum_state(X, h.codes(X), t, radius)

        try:
            return rdd.mapPartitions(part).treeReduce(lambda a, b: a.merge(b))
        finally:
            shared.unpersist()

    def max_norm() -> float:
        return float(rdd.map(lambda r: float(np.linalg.norm(np.asarray(r, dtype=float))))
                     .max())

    return estimator.fit_from_states(dim, counts_of, sums_of, max_norm=max_norm)
