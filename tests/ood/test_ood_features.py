"""Feature detectors: Mahalanobis, relative Mahalanobis, kNN and ViM against scikit-learn
(EmpiricalCovariance, NearestNeighbors), closed forms and pytorch-ood on the same features;
the sign on clusters with a known answer; the error messages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.covariance import EmpiricalCovariance
from sklearn.neighbors import NearestNeighbors

from assay import ood

RNG = np.random.default_rng(1)
D = 6
MEANS = np.array([[0.0] * D, [4.0] + [0.0] * (D - 1), [0.0, 4.0] + [0.0] * (D - 2)])
Y = np.repeat(np.arange(3), 60)
A = RNG.normal(size=(D, D)) * 0.3 + np.eye(D)
X = MEANS[Y] + RNG.normal(size=(Y.size, D)) @ A
X_IN = MEANS[np.arange(30) % 3] + RNG.normal(size=(30, D)) @ A
X_OUT = X_IN + np.array([0.0, 0.0, 12.0, -12.0, 0.0, 0.0])  # far from every class


@contextmanager
def _float64() -> Iterator[None]:
    """pytorch-ood builds its covariance in the default dtype: make it float64 meanwhile."""
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def _sk_mahalanobis(x: np.ndarray) -> np.ndarray:
    means = np.stack([X[Y == c].mean(axis=0) for c in range(3)])
    cov = EmpiricalCovariance(assume_centered=True).fit(X - means[Y])
    return np.min([cov.mahalanobis(x - m) for m in means], axis=0)


def test_mahalanobis_against_sklearn() -> None:
    det = ood.Mahalanobis().fit(X, Y)
    np.testing.assert_allclose(det.score(X_IN), _sk_mahalanobis(X_IN), rtol=1e-9)
    np.testing.assert_allclose(det.score(X_OUT), _sk_mahalanobis(X_OUT), rtol=1e-9)
    assert det.reg_ == 0.0 and det.n_features_in_ == D
    np.testing.assert_array_equal(det.classes_, [0, 1, 2])


def test_mahalanobis_against_pytorch_ood(pood: Any) -> None:
    import torch

    # pytorch-ood's covariance is the sum of the centred outer products (not divided by n)
    # plus 1e-6 on its diagonal, and its score is half the squared distance: with the same
    # ridge per row, ours is 2 n times theirs.
    n = X.shape[0]
    x = np.concatenate([X_IN, X_OUT])
    with _float64():
        theirs = pood.Mahalanobis(None).fit_features(torch.tensor(X), torch.tensor(Y))
        t = theirs.predict_features(torch.tensor(x)).numpy()
    ours = ood.Mahalanobis(reg=1e-6 / n).fit(X, Y)
    np.testing.assert_allclose(ours.score(x), 2 * n * t, rtol=1e-6)


def test_relative_mahalanobis_against_sklearn_and_pytorch_ood(pood: Any) -> None:
    import torch

    x = np.concatenate([X_IN, X_OUT])
    bg = EmpiricalCovariance().fit(X)
    means = np.stack([X[Y == c].mean(axis=0) for c in range(3)])
    cls = EmpiricalCovariance(assume_centered=True).fit(X - means[Y])
    expected = np.min([cls.mahalanobis(x - m) for m in means], axis=0) - bg.mahalanobis(x)
    np.testing.assert_allclose(ood.RelativeMahalanobis().fit(X, Y).score(x), expected, rtol=1e-8)

    n = X.shape[0]
    with _float64():
        theirs = pood.RMD(None).fit_features(torch.tensor(X), torch.tensor(Y))
        t = theirs.predict_features(torch.tensor(x)).numpy()
    ours = ood.RelativeMahalanobis(reg=1e-6 / n).fit(X, Y).score(x)
    np.testing.assert_allclose(ours, n * t, rtol=1e-6, atol=1e-6)


def test_knn_against_sklearn_and_pytorch_ood(pood: Any) -> None:
    import torch

    x = np.concatenate([X_IN, X_OUT])
    norm = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    for k in (1, 5, 50):
        nn_ = NearestNeighbors(n_neighbors=k).fit(norm(X))
        dist, _ = nn_.kneighbors(norm(x))
        ours = ood.KNN(k=k, batch_size=7).fit(X).score(x)
        np.testing.assert_allclose(ours, dist[:, -1], rtol=1e-7, atol=1e-7)
        theirs = pood.KNN(None, k=k).fit_features(torch.tensor(X), torch.tensor(Y))
        np.testing.assert_allclose(
            ours, theirs.predict_features(torch.tensor(x)).numpy(), rtol=1e-7, atol=1e-7
        )


def _last_layer() -> tuple[np.ndarray, np.ndarray]:
    w = RNG.normal(size=(3, D))
    b = RNG.normal(size=3)
    return w, b


def test_vim_against_closed_form_and_pytorch_ood(pood: Any) -> None:
    import torch

    w, b = _last_layer()
    x = np.concatenate([X_IN, X_OUT])
    det = ood.ViM(w, b, dim=2).fit(X)
    # closed form, written out independently of the class
    u = -np.linalg.pinv(w) @ b
    c = X - u
    vals, vecs = np.linalg.eigh(c.T @ c / c.shape[0])
    null = vecs[:, np.argsort(vals)[: D - 2]]
    alpha = (X @ w.T + b).max(axis=1).mean() / np.linalg.norm(c @ null, axis=1).mean()
    expected = alpha * np.linalg.norm((x - u) @ null, axis=1) - logsumexp(x @ w.T + b, axis=1)
    np.testing.assert_allclose(det.score(x), expected, rtol=1e-9)
    assert det.alpha_ == pytest.approx(alpha)

    theirs = pood.ViM(None, d=2, w=torch.tensor(w).float(), b=torch.tensor(b).float())
    theirs.fit_features(torch.tensor(X).float(), torch.tensor(Y))
    t = theirs.predict_features(torch.tensor(x).float()).double().numpy()
    np.testing.assert_allclose(det.score(x), t, rtol=1e-3, atol=1e-3)  # theirs is float32


def test_sign_far_features_score_higher() -> None:
    for det in (ood.Mahalanobis().fit(X, Y), ood.RelativeMahalanobis().fit(X, Y)):
        s_in, s_out = det.score(X_IN), det.score(X_OUT)
        assert np.median(s_out) > np.max(s_in), type(det).__name__
    # ViM: training features span the first two axes (tiny noise elsewhere) and the
    # classifier reads only those; an OOD feature leaves that plane without changing the
    # logits, so only its residual (the virtual logit) grows.
    z = np.zeros((90, D))
    z[:, :2] = RNG.normal(size=(90, 2)) * 3
    z[:, 2:] = RNG.normal(size=(90, D - 2)) * 0.01
    w = np.zeros((3, D))
    w[:, :2] = RNG.normal(size=(3, 2))
    b = RNG.normal(size=3)
    vim = ood.ViM(w, b, dim=2).fit(z)
    inside = z[:10]
    outside = inside + np.array([0.0, 0.0, 0.0, 5.0, 0.0, 0.0])
    np.testing.assert_allclose(inside @ w.T, outside @ w.T)
    assert np.all(vim.score(outside) > vim.score(inside) + 1.0)
    # kNN works on directions: an OOD point points where no training feature does
    knn = ood.KNN(k=3).fit(X + 20.0)  # every training feature near the direction (1, ..., 1)
    near, far = knn.score(np.ones((1, D)) * 5), knn.score(-np.ones((1, D)) * 5)
    assert far[0] > near[0]


def test_tensor_inputs() -> None:
    import torch

    det = ood.Mahalanobis().fit(torch.tensor(X, dtype=torch.float32), torch.tensor(Y))
    np.testing.assert_allclose(
        det.score(torch.tensor(X_IN)), ood.Mahalanobis().fit(X, Y).score(X_IN), rtol=1e-4
    )


def test_singular_covariance_is_regularized_with_a_warning() -> None:
    x = np.concatenate([X, X[:, :1]], axis=1)  # a duplicated column: singular covariance
    with pytest.warns(
        RuntimeWarning, match=r"covariance is singular or ill-conditioned.*regularized"
    ):
        det = ood.Mahalanobis().fit(x, Y)
    assert det.reg_ > 0
    s = det.score(np.concatenate([X_OUT, X_OUT[:, :1]], axis=1))
    assert np.all(np.isfinite(s))


def test_scored_before_fit() -> None:
    for det in (
        ood.Mahalanobis(),
        ood.RelativeMahalanobis(),
        ood.KNN(),
        ood.ViM(*_last_layer(), dim=2),
    ):
        with pytest.raises(
            ood.NotFittedError, match=rf"This {type(det).__name__} is not fitted yet"
        ):
            det.score(X_IN)
        with pytest.raises(ValueError):  # a NotFittedError is a ValueError
            det.score(X_IN)


def test_width_differs_from_fit() -> None:
    det = ood.Mahalanobis().fit(X, Y)
    with pytest.raises(
        ValueError,
        match=r"'features' parameter of Mahalanobis.score must have 6 columns \(as at fit\)\. Got 4",
    ):
        det.score(X_IN[:, :4])
    with pytest.raises(ValueError, match=r"KNN.score must have 6 columns"):
        ood.KNN(k=2).fit(X).score(X_IN[:, :5])


def test_bad_fit_arguments() -> None:
    with pytest.raises(
        ValueError,
        match=r"'labels' parameter of Mahalanobis.fit must have one label per feature row \(180\)",
    ):
        ood.Mahalanobis().fit(X, Y[:-1])
    with pytest.raises(TypeError, match=r"'labels' parameter of Mahalanobis.fit is required"):
        ood.Mahalanobis().fit(X, None)
    with pytest.raises(
        ValueError, match=r"'reg' parameter of Mahalanobis.fit must be None or a float >= 0"
    ):
        ood.Mahalanobis(reg=-1.0).fit(X, Y)
    with pytest.raises(ValueError, match=r"'k' parameter of KNN must be an int >= 1\. Got 0"):
        ood.KNN(k=0).fit(X)
    with pytest.raises(ValueError, match=r"'dim' parameter of ViM must be an int in \[1, 5\]"):
        ood.ViM(*_last_layer(), dim=6).fit(X)
    w, b = _last_layer()
    with pytest.raises(
        ValueError, match=r"'bias' parameter of ViM must have one entry per row of 'weight' \(3\)"
    ):
        ood.ViM(w, b[:2], dim=2).fit(X)
    bad = X.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"'features' parameter of KNN.fit must be finite"):
        ood.KNN().fit(bad)
