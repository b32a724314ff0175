"""DPKMeans: the scikit-learn contract, the tree against a brute-force recursion, the
non-private limit against scikit-learn's KMeans, determinism, and bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from assay.privacy import DPKMeans, clip_to_radius


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray, float]:
    X, y = make_blobs(6000, n_features=6, centers=5, cluster_std=0.4, center_box=(-8, 8),
                      random_state=3)
    X = X - X.mean(axis=0)
    return X, y, float(np.linalg.norm(X, axis=1).max())


def _loss(X: np.ndarray, centers: np.ndarray) -> float:
    d2 = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    return float(d2.min(axis=1).mean())


def test_sklearn_contract(blobs: tuple[np.ndarray, np.ndarray, float]) -> None:
    X, _, r = blobs
    km = DPKMeans(5, epsilon=1.0, delta=1e-6, radius=r, random_state=0)
    assert km.fit(X) is km
    assert km.cluster_centers_.shape == (5, 6)
    assert km.n_features_in_ == 6
    assert km.labels_.shape == (6000,)
    np.testing.assert_array_equal(km.labels_, km.predict(X))  # X lies inside the ball
    assert km.inertia_ == pytest.approx(-km.score(X))
    assert km.inertia_ == pytest.approx(_loss(X, km.cluster_centers_) * len(X))
    twin = clone(km)
    assert twin.get_params() == km.get_params() and not hasattr(twin, "cluster_centers_")
    assert km.set_params(n_clusters=3).n_clusters == 3
    with pytest.raises(ValueError, match="Invalid parameter 'k' for estimator DPKMeans"):
        km.set_params(k=3)


def test_same_seed_same_output_other_seed_differs(blobs: tuple[np.ndarray, np.ndarray, float]
                                                  ) -> None:
    X, _, r = blobs
    a = DPKMeans(5, epsilon=1.0, delta=1e-6, radius=r, random_state=7).fit(X)
    b = DPKMeans(5, epsilon=1.0, delta=1e-6, radius=r, random_state=7).fit(X)
    c = DPKMeans(5, epsilon=1.0, delta=1e-6, radius=r, random_state=8).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.coreset_points_, b.coreset_points_)
    assert not np.array_equal(a.coreset_points_, c.coreset_points_)


def _brute_force_leaves(X: np.ndarray, P: np.ndarray, m_branch: int, m_node: int
                        ) -> list[np.ndarray]:
    """The tree without noise, by explicit recursion: a node splits on the sign of the next
    projection (>= 0 left) if it has >= m_branch points and depth remains; children with
    < m_node points are dropped; a node without kept children is a leaf."""
    leaves: list[np.ndarray] = []

    def visit(idx: np.ndarray, depth: int) -> None:
        kids = []
        if idx.size >= m_branch and depth < P.shape[0]:
            proj = X[idx] @ P[depth]
            kids = [k for k in (idx[proj >= 0], idx[proj < 0]) if k.size >= m_node]
        if not kids:
            leaves.append(idx)
        for k in kids:
            visit(k, depth + 1)

    visit(np.arange(X.shape[0]), 0)
    return leaves


@pytest.mark.parametrize(("m_node", "m_branch", "depth"), [(1, 3, 4), (5, 12, 6), (2, 2, 0)])
def test_noiseless_tree_equals_brute_force_recursion(m_node: int, m_branch: int, depth: int
                                                     ) -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 3)) * 0.6
    km = DPKMeans(1, epsilon=math.inf, delta=1e-6, radius=1.0, max_depth=depth,
                  min_points_in_node=m_node, min_points_in_branching_node=m_branch,
                  random_state=4).fit(X)
    Xc = clip_to_radius(X, 1.0)
    leaves = _brute_force_leaves(Xc, km.hash_projections_, m_branch, m_node)
    expected = sorted((len(ix), tuple(np.round(Xc[ix].mean(axis=0), 6))) for ix in leaves)
    got = sorted((int(w), tuple(np.round(p, 6)))
                 for p, w in zip(km.coreset_points_, km.coreset_weights_, strict=True))
    assert got == expected


def test_noiseless_coreset_keeps_every_point_and_the_mean(blobs: tuple[np.ndarray, np.ndarray,
                                                                       float]) -> None:
    X, _, r = blobs
    km = DPKMeans(5, epsilon=math.inf, delta=1e-6, radius=r, random_state=0).fit(X)
    assert km.coreset_weights_.sum() == len(X)
    mean = (km.coreset_points_ * km.coreset_weights_[:, None]).sum(axis=0) / len(X)
    np.testing.assert_allclose(mean, X.mean(axis=0), atol=1e-8)


def test_loss_approaches_sklearn_as_epsilon_grows(blobs: tuple[np.ndarray, np.ndarray, float]
                                                  ) -> None:
    X, _, r = blobs
    ref = KMeans(5, n_init=10, random_state=0).fit(X).inertia_ / len(X)
    losses = {}
    for eps in (0.3, 1e3, math.inf):
        runs = [_loss(X, DPKMeans(5, epsilon=eps, delta=1e-6, radius=r, random_state=s)
                      .fit(X).cluster_centers_) for s in range(3)]
        losses[eps] = float(np.median(runs))
    assert losses[math.inf] == pytest.approx(ref, rel=0.02)
    assert losses[1e3] == pytest.approx(ref, rel=0.05)
    assert losses[0.3] > losses[1e3]


def test_radius_from_data_warns_loudly(blobs: tuple[np.ndarray, np.ndarray, float]) -> None:
    X, _, r = blobs
    with pytest.warns(UserWarning, match="NOT differentially private"):
        km = DPKMeans(5, epsilon=1.0, delta=1e-6, radius="data", random_state=0).fit(X)
    assert km.radius_ == pytest.approx(r)
    # No finite epsilon is claimed, and the budget table says why.
    assert km.radius_from_data_ and math.isinf(km.epsilon_spent_)
    assert "NOT private" in km.accounting_table()[-1]["mechanism"]
    given = DPKMeans(5, epsilon=1.0, delta=1e-6, radius=r, random_state=0).fit(X)
    assert not given.radius_from_data_ and given.epsilon_spent_ <= 1.0


def test_points_outside_the_radius_are_projected(blobs: tuple[np.ndarray, np.ndarray, float]
                                                 ) -> None:
    X, _, r = blobs
    small = DPKMeans(5, epsilon=math.inf, delta=1e-6, radius=r / 4, random_state=0).fit(X)
    assert np.linalg.norm(small.coreset_points_, axis=1).max() <= r / 4 * (1 + 1e-12)
    same = DPKMeans(5, epsilon=math.inf, delta=1e-6, radius=r / 4, random_state=0).fit(
        clip_to_radius(X, r / 4))
    np.testing.assert_array_equal(small.cluster_centers_, same.cluster_centers_)


def test_too_few_coreset_points_warn() -> None:
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.warns(UserWarning, match="fewer than n_clusters=10"):
        km = DPKMeans(10, epsilon=0.1, delta=1e-6, radius=3.0, random_state=0).fit(X)
    assert km.cluster_centers_.shape[0] < 10


X_OK = np.random.default_rng(0).normal(size=(20, 2))


@pytest.mark.parametrize(
    ("kwargs", "X", "exc", "match"),
    [
        (dict(epsilon=0.0), X_OK, ValueError, "'epsilon' parameter of DPKMeans must be a positive"),
        (dict(epsilon=-1.0), X_OK, ValueError, "'epsilon' parameter of DPKMeans"),
        (dict(epsilon="1"), X_OK, TypeError, "'epsilon' parameter of DPKMeans must be a positive"),
        (dict(delta=0.0), X_OK, ValueError,
         r"'delta' parameter of DPKMeans must be a float in the open interval \(0, 1\)"),
        (dict(delta=1.0), X_OK, ValueError, r"'delta' parameter .* \(0, 1\)\. Got 1.0"),
        (dict(radius=0.0), X_OK, ValueError, "'radius' parameter of DPKMeans must be a positive"),
        (dict(radius="max"), X_OK, ValueError, "'radius' parameter of DPKMeans must be a positive "
         "float or 'data'. Got 'max'"),
        (dict(n_clusters=21), X_OK, ValueError,
         r"'n_clusters' parameter of DPKMeans must be at most the number of samples \(20\)"),
        (dict(n_clusters=2.0), X_OK, TypeError, "'n_clusters' parameter of DPKMeans must be an int"),
        (dict(), np.r_[X_OK, [[np.nan, 0.0]]], ValueError,
         r"'X' parameter of DPKMeans must be finite numbers \(no NaN or infinity\)"),
        (dict(), np.r_[X_OK, [[np.inf, 0.0]]], ValueError, "1 row.s. with NaN or infinite"),
        (dict(max_depth=63), X_OK, ValueError, "'max_depth' parameter of DPKMeans must be an int "
         "between 0 and 62"),
        (dict(min_points_in_node=5, min_points_in_branching_node=4), X_OK, ValueError,
         r"'min_points_in_branching_node' parameter .* >= min_points_in_node \(5\)"),
        (dict(min_points_in_node=0), X_OK, ValueError, "'min_points_in_node' parameter"),
        (dict(budget_split=1.5), X_OK, ValueError, "'budget_split' parameter of DPKMeans"),
        (dict(random_state=-1), X_OK, ValueError, "'random_state' parameter of DPKMeans"),
        (dict(), X_OK[:, 0], ValueError, r"'X' parameter of DPKMeans must be a 2-D array"),
    ],
)
def test_bad_input(kwargs: dict, X: np.ndarray, exc: type, match: str) -> None:
    params = dict(n_clusters=2, epsilon=1.0, delta=1e-6, radius=3.0, random_state=0)
    params.update(kwargs)
    with pytest.raises(exc, match=match), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        DPKMeans(**params).fit(X)


def test_predict_before_fit_and_wrong_width() -> None:
    km = DPKMeans(2, epsilon=1.0, delta=1e-6, radius=3.0)
    with pytest.raises(RuntimeError, match="not fitted yet"):
        km.predict(X_OK)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km.fit(X_OK)
    with pytest.raises(ValueError, match=r"must be 2 features \(as in fit\)\. Got '3 features'"):
        km.predict(np.zeros((2, 3)))
