"""Loss and accuracy against scikit-learn and by hand; the comparison's frame, JSON, section."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics.cluster import contingency_matrix

from assay.privacy.result import (
    ClusteringComparison,
    compare_clustering,
    dominant_label_accuracy,
    dpkmeans_method,
    kmeans_loss,
    kmeanspp_method,
)
from assay.report.sections import Section


def test_loss_equals_sklearn_inertia_per_row() -> None:
    X, _ = make_blobs(500, n_features=3, centers=4, random_state=0)
    km = KMeans(4, n_init=1, random_state=0).fit(X)
    assert kmeans_loss(X, km.cluster_centers_) == pytest.approx(km.inertia_ / len(X), rel=1e-6)
    assert kmeans_loss([[0.0, 0.0], [2.0, 0.0]], [[0.0, 0.0]]) == pytest.approx(2.0)  # (0+4)/2


def test_accuracy_by_hand_and_against_the_contingency_matrix() -> None:
    y = np.array(["a", "a", "b", "b", "b", "c"])
    lab = np.array([0, 0, 0, 1, 1, 1])
    # cluster 0 -> a (2 of 3), cluster 1 -> b (2 of 3): 4 of 6
    assert dominant_label_accuracy(y, lab) == pytest.approx(4 / 6)
    rng = np.random.default_rng(0)
    y2, l2 = rng.integers(0, 5, 300), rng.integers(0, 7, 300)
    ref = contingency_matrix(y2, l2).max(axis=0).sum() / 300
    assert dominant_label_accuracy(y2, l2) == pytest.approx(ref)
    with pytest.raises(ValueError, match="'labels' parameter of dominant_label_accuracy"):
        dominant_label_accuracy(y, lab[:3])


def test_comparison_frame_json_and_section() -> None:
    X, y = make_blobs(1500, n_features=3, centers=3, cluster_std=0.3, random_state=2)
    X = X - X.mean(axis=0)
    r = float(np.linalg.norm(X, axis=1).max())
    res = compare_clustering(
        X, y, [2, 3], {"k-means++": kmeanspp_method(X),
                       "DPKMeans": dpkmeans_method(X, epsilon=1.0, delta=1e-6, radius=r,
                                                   budget_split=0.8)},
        runs=3, dataset="blobs (synthetic)", settings={"epsilon": 1.0, "delta": 1e-6, "runs": 3},
    )
    df = res.to_frame()
    assert len(df) == 2 * 2 * 3 and set(df["method"]) == {"k-means++", "DPKMeans"}
    assert (df["accuracy"].between(0, 1)).all()
    km3 = df[(df["method"] == "k-means++") & (df["k"] == 3)]
    assert km3["accuracy"].min() > 0.99  # well separated blobs
    s = res.summary()
    row = s[(s["method"] == "DPKMeans") & (s["k"] == 2)].iloc[0]
    sub = df[(df["method"] == "DPKMeans") & (df["k"] == 2)]["loss"]
    assert row["loss_mean"] == pytest.approx(sub.mean())
    assert row["loss_q25"] == pytest.approx(np.percentile(sub, 25))
    back = ClusteringComparison.from_json(res.to_json())
    assert back.records == json.loads(res.to_json())["records"]
    sec = res.to_section()
    assert isinstance(sec, Section) and len(sec.charts) == 2
    assert "<svg" in res.to_html()
    with pytest.raises(ValueError, match="expected kind 'dp_clustering'"):
        ClusteringComparison.from_json('{"kind": "ood"}')
