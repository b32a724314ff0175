"""Differential privacy: private counts, sums and means, and differentially private k-means
by Google's LSH coreset algorithm (``DPKMeans``), with accounting by ``dp-accounting``.

Needs the ``privacy`` extra (``dp-accounting``; scikit-learn and SciPy for k-means++).
See docs/privacy.md.
"""

from __future__ import annotations

from .accounting import NoiseParams, basic_composition, calibrate_noise, coreset_event, split_noise
from .kmeans import DPKMeans
from .mechanisms import (
    PrivateMean,
    clip_to_radius,
    discrete_laplace,
    gaussian_delta,
    gaussian_sigma,
    private_count,
    private_mean,
    private_sum,
)
from .result import (
    ClusteringComparison,
    compare_clustering,
    dominant_label_accuracy,
    dpkmeans_method,
    kmeans_loss,
    kmeanspp_method,
)

__all__ = [
    "ClusteringComparison",
    "DPKMeans",
    "NoiseParams",
    "PrivateMean",
    "basic_composition",
    "calibrate_noise",
    "clip_to_radius",
    "compare_clustering",
    "coreset_event",
    "discrete_laplace",
    "dominant_label_accuracy",
    "dpkmeans_method",
    "gaussian_delta",
    "gaussian_sigma",
    "kmeans_loss",
    "kmeanspp_method",
    "private_count",
    "private_mean",
    "private_sum",
    "split_noise",
]
