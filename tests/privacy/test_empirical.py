"""Empirical privacy check: neighbouring data sets differing in one extreme point.

Over many seeded runs, the distance from the extreme point to its nearest private center
has the same distribution with and without the point at epsilon = 1 (two-sample KS test
does not reject), while without noise (epsilon = inf) the same test does single it out,
so the check is able to fail.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from assay.privacy import DPKMeans

RUNS = 80


def _distances(data: np.ndarray, far: np.ndarray, epsilon: float) -> np.ndarray:
    out = []
    for seed in range(RUNS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c = DPKMeans(3, epsilon=epsilon, delta=1e-6, radius=1.0,
                         random_state=seed).fit(data).cluster_centers_
        out.append(np.linalg.norm(c - far, axis=1).min())
    return np.array(out)


@pytest.mark.slow  # 4 x 80 fits, about 20 s on this shared machine
def test_one_extreme_point_is_not_singled_out() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(0, 0.15, size=(400, 2)) + rng.choice([-0.5, 0.5], size=(400, 1))
    far = np.array([[0.0, 1.0]])  # on the sphere, far from both blobs
    Xp = np.r_[X, far]
    private = stats.ks_2samp(_distances(X, far, 1.0), _distances(Xp, far, 1.0)).pvalue
    exact = stats.ks_2samp(_distances(X, far, math.inf), _distances(Xp, far, math.inf)).pvalue
    assert private > 0.05
    assert exact < 0.01
