"""Scale-out: states merge by addition; the same seed gives the same output on 1 and many
partitions (NumPy partitions, and Spark local)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from assay.privacy import DPKMeans, clip_to_radius
from assay.privacy.coreset import SimHash, count_state, merge_all


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, float]:
    X, _ = make_blobs(3000, n_features=4, centers=4, cluster_std=0.5, random_state=1)
    X = X - X.mean(axis=0)
    return X, float(np.percentile(np.linalg.norm(X, axis=1), 95))  # some rows get clipped


def test_count_states_merge_to_the_whole(data: tuple[np.ndarray, float]) -> None:
    X, _ = data
    h = SimHash.draw(4, 10, np.random.default_rng(0))
    codes = h.codes(X)
    whole = count_state(codes, 10)
    merged = merge_all([count_state(c, 10) for c in np.array_split(codes, 7)])
    for lvl in range(11):
        np.testing.assert_array_equal(merged.keys[lvl], whole.keys[lvl])
        np.testing.assert_array_equal(merged.counts[lvl], whole.counts[lvl])
    # The counts of level l are the histogram of the first l bits (brute force).
    bits = ((X @ h.projections.T) < 0).astype(int)
    for lvl in (0, 3, 10):
        pref = [int("".join(map(str, b[:lvl])) or "0", 2) for b in bits]
        k, c = np.unique(pref, return_counts=True)
        np.testing.assert_array_equal(whole.keys[lvl], k)
        np.testing.assert_array_equal(whole.counts[lvl], c)


@pytest.mark.parametrize("split", [None, 0.8])
def test_same_output_on_one_and_many_partitions(data: tuple[np.ndarray, float],
                                                split: float | None) -> None:
    X, r = data
    ref = DPKMeans(4, epsilon=1.0, delta=1e-6, radius=r, budget_split=split,
                   random_state=5).fit(X)
    perm = np.random.default_rng(0).permutation(len(X))
    for parts in (np.array_split(X, 3), np.array_split(X, 11), np.array_split(X[perm], 5)):
        km = DPKMeans(4, epsilon=1.0, delta=1e-6, radius=r, budget_split=split,
                      random_state=5).fit_partitions(parts)
        np.testing.assert_array_equal(km.cluster_centers_, ref.cluster_centers_)
        np.testing.assert_array_equal(km.coreset_points_, ref.coreset_points_)
        np.testing.assert_array_equal(km.coreset_weights_, ref.coreset_weights_)
        assert km.epsilon_spent_ == ref.epsilon_spent_


def test_partitions_must_share_columns() -> None:
    with pytest.raises(ValueError, match=r"'partitions' parameter of DPKMeans must be arrays "
                       r"with the same number of columns\. Got '\[2, 3\] columns'"):
        DPKMeans(2, epsilon=1.0, delta=1e-6, radius=1.0).fit_partitions(
            [np.zeros((5, 2)), np.zeros((5, 3))])


@pytest.mark.slow  # starts a JVM (about a minute on this shared machine)
def test_spark_equals_local(data: tuple[np.ndarray, float]) -> None:
    pytest.importorskip("pyspark")
    import os
    import sys

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (SparkSession.builder.master("local[1]").appName("assay-privacy-tests")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", "1g").getOrCreate())
    try:
        from assay.privacy.spark import fit_spark

        X, r = data
        cols = [f"x{i}" for i in range(X.shape[1])]
        df = spark.createDataFrame([tuple(map(float, row)) for row in X], cols)
        ref = DPKMeans(4, epsilon=1.0, delta=1e-6, radius=r, random_state=9).fit(X)
        # One partition, and many (rows shuffled across them by repartition).
        for n_parts, frame in ((1, df.coalesce(1)), (7, df.repartition(7))):
            assert frame.rdd.getNumPartitions() == n_parts
            km = fit_spark(DPKMeans(4, epsilon=1.0, delta=1e-6, radius=r, random_state=9), frame)
            np.testing.assert_array_equal(km.cluster_centers_, ref.cluster_centers_)
            np.testing.assert_array_equal(km.coreset_points_, ref.coreset_points_)
            np.testing.assert_array_equal(km.coreset_weights_, ref.coreset_weights_)
            assert km.epsilon_spent_ == ref.epsilon_spent_
        with pytest.warns(UserWarning, match="NOT differentially private"):
            km = fit_spark(DPKMeans(4, epsilon=1.0, delta=1e-6, radius="data", random_state=9),
                           frame)
        assert km.radius_ == pytest.approx(float(np.linalg.norm(X, axis=1).max()))
        with pytest.raises(ValueError, match="The feature column 'x9' is not in the data"):
            fit_spark(DPKMeans(4, epsilon=1.0, delta=1e-6, radius=r), df, ["x0", "x9"])
    finally:
        spark.stop()


def test_empty_partition_states_are_neutral(data: tuple[np.ndarray, float]) -> None:
    # A Spark partition may hold no row: its states must change nothing when merged.
    from assay.privacy.coreset import TreeParams, grow_tree, sum_state

    X, r = data
    X = clip_to_radius(X, r)
    h = SimHash.draw(4, 8, np.random.default_rng(1))
    codes = h.codes(X)
    empty = np.zeros((0, 4))
    whole = count_state(codes, 8)
    merged = count_state(h.codes(empty), 8) + whole
    for lvl in range(9):
        np.testing.assert_array_equal(merged.keys[lvl], whole.keys[lvl])
        np.testing.assert_array_equal(merged.counts[lvl], whole.counts[lvl])
    tree = grow_tree(whole, TreeParams(30, 10, 8), float("inf"), whole.n,
                     np.random.default_rng(0))
    full = sum_state(X, codes, tree, r)
    with_empty = sum_state(empty, h.codes(empty), tree, r) + full
    np.testing.assert_array_equal(with_empty.sums, full.sums)
