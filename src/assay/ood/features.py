"""Detectors on features: Mahalanobis distance with a shared covariance (Lee et al. 2018),
relative Mahalanobis (Ren et al. 2021), k-nearest-neighbour distance on normalized
features (Sun et al. 2022) and ViM, virtual-logit matching (Wang et al. 2022).

All follow the detector API: configuration in ``__init__``, ``fit(features, labels)`` returns
``self`` with the learned state in attributes ending with ``_``, ``score(features)`` returns
one outlier score per row, **larger = more out-of-distribution**. Features are NumPy arrays
or torch tensors of shape ``(n, d)``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._common import F64, as_float_array, check_fitted, check_width, logsumexp


def _labels(labels: Any, n: int, func: str) -> NDArray[Any]:
    if labels is None:
        raise TypeError(f"The 'labels' parameter of {func} is required (one class label per row).")
    if hasattr(labels, "detach"):
        labels = labels.detach().cpu().numpy()
    y = np.asarray(labels)
    if y.shape != (n,):
        raise ValueError(
            f"The 'labels' parameter of {func} must have one label per feature row ({n}). "
            f"Got shape {y.shape} instead."
        )
    if np.issubdtype(y.dtype, np.floating) and not np.all(y == np.round(y)):
        raise TypeError(
            f"The 'labels' parameter of {func} must hold class labels (integers or strings). "
            f"Got non-integer floats of dtype {y.dtype} instead."
        )
    return y


def shared_precision(centered: F64, reg: float | None, *, func: str) -> tuple[F64, float]:
    """Inverse of the covariance ``centered.T @ centered / n`` (the maximum-likelihood
    estimate, as scikit-learn's ``EmpiricalCovariance(assume_centered=True)``).

    When the covariance is singular or ill-conditioned (condition number above 1e10) and
    ``reg`` is None, ``1e-6 * trace / d`` is added to its diagonal with a warning; a given
    ``reg`` is always added. Returns the precision and the ridge used.
    """
    n, d = centered.shape
    if reg is not None and (
        isinstance(reg, bool) or not isinstance(reg, int | float) or not reg >= 0
    ):
        raise ValueError(
            f"The 'reg' parameter of {func} must be None or a float >= 0. Got {reg!r} instead."
        )
    cov = centered.T @ centered / n
    ridge = 0.0 if reg is None else float(reg)
    if reg is None:
        eig = np.linalg.eigvalsh(cov)
        if eig[0] <= 1e-10 * max(eig[-1], 1e-300):
            ridge = 1e-6 * max(float(np.trace(cov)) / d, 1e-12)
            warnings.warn(
                f"{func}: the feature covariance is singular or ill-conditioned (smallest "
                f"eigenvalue {eig[0]:.3g}, largest {eig[-1]:.3g}, {n} rows for {d} features); "
                f"regularized by adding {ridge:.3g} to its diagonal (pass reg= to choose).",
                RuntimeWarning,
                stacklevel=3,
            )
    if ridge:
        cov = cov + ridge * np.eye(d)
    prec: F64 = np.linalg.inv(cov)
    return (prec + prec.T) / 2, ridge


def _sq_mahalanobis(x: F64, means: F64, prec: F64) -> F64:
    """``(n, c)`` squared distances of each row to each mean under ``prec``."""
    out: F64 = np.empty((x.shape[0], means.shape[0]))
    for c in range(means.shape[0]):  # one matrix product per class (BLAS), no (n, c, d) array
        diff = x - means[c]
        out[:, c] = np.sum((diff @ prec) * diff, axis=1)
    return np.maximum(out, 0.0)


class Mahalanobis:
    """Minimum Mahalanobis distance to the class means, with one covariance shared by the
    classes (Lee et al. 2018): ``score(x) = min_c (x - mu_c)^T S^-1 (x - mu_c)``.

    Parameters
    ----------
    reg : float or None, default=None
        Ridge added to the covariance's diagonal; None adds one only when it is singular
        (and warns).

    Attributes
    ----------
    classes_, means_ (classes, d), covariance_ (d, d), precision_ (d, d), reg_ (the ridge used),
    n_features_in_.
    """

    def __init__(self, reg: float | None = None) -> None:
        self.reg = reg

    def fit(self, features: Any, labels: Any) -> Mahalanobis:
        func = f"{type(self).__name__}.fit"
        x = as_float_array(features, "features", func=func)
        y = _labels(labels, x.shape[0], func)
        self.classes_ = np.unique(y)
        self.means_ = np.stack([x[y == c].mean(axis=0) for c in self.classes_])
        idx = np.searchsorted(self.classes_, y)
        centered = x - self.means_[idx]
        self.precision_, self.reg_ = shared_precision(centered, self.reg, func=func)
        self.covariance_ = centered.T @ centered / x.shape[0]
        self.n_features_in_ = x.shape[1]
        return self

    def distances(self, features: Any) -> F64:
        """``(n, classes)`` squared Mahalanobis distances to each class mean."""
        check_fitted(self, "precision_")
        func = f"{type(self).__name__}.score"
        x = as_float_array(features, "features", func=func)
        check_width(x, self.n_features_in_, "features", func=func)
        return _sq_mahalanobis(x, self.means_, self.precision_)

    def score(self, features: Any) -> F64:
        out: F64 = self.distances(features).min(axis=1)
        return out


class RelativeMahalanobis(Mahalanobis):
    """Relative Mahalanobis distance (Ren et al. 2021):
    ``score(x) = min_c [MD_c(x) - MD_0(x)]``, where ``MD_c`` is the class-conditional squared
    distance of :class:`Mahalanobis` and ``MD_0`` the squared distance to the mean of all
    training features under their own covariance (the background Gaussian).

    Attributes: those of :class:`Mahalanobis` plus ``background_mean_``,
    ``background_precision_``.
    """

    def fit(self, features: Any, labels: Any) -> RelativeMahalanobis:
        super().fit(features, labels)
        x = as_float_array(features, "features", func="RelativeMahalanobis.fit")
        self.background_mean_ = x.mean(axis=0)
        self.background_precision_, _ = shared_precision(
            x - self.background_mean_, self.reg, func="RelativeMahalanobis.fit"
        )
        return self

    def score(self, features: Any) -> F64:
        d = self.distances(features)
        x = as_float_array(features, "features", func="RelativeMahalanobis.score")
        d0 = _sq_mahalanobis(x, self.background_mean_[None], self.background_precision_)
        out: F64 = (d - d0).min(axis=1)
        return out


def _normalize(x: F64) -> F64:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    out: F64 = x / np.maximum(norm, 1e-12)
    return out


class KNN:
    """Distance to the k-th nearest training feature after L2 normalization (Sun et al.
    2022, "deep nearest neighbours").

    Parameters
    ----------
    k : int, default=50
        Neighbour rank (clipped to the number of training rows).
    batch_size : int, default=1024
        Rows scored at a time (memory is ``batch_size * n_train`` floats).

    Attributes: ``bank_`` (normalized training features), ``n_features_in_``.
    """

    def __init__(self, k: int = 50, batch_size: int = 1024) -> None:
        self.k = k
        self.batch_size = batch_size

    def fit(self, features: Any, labels: Any = None) -> KNN:
        if isinstance(self.k, bool) or not isinstance(self.k, int | np.integer) or self.k < 1:
            raise ValueError(
                f"The 'k' parameter of KNN must be an int >= 1. Got {self.k!r} instead."
            )
        x = as_float_array(features, "features", func="KNN.fit")
        self.bank_ = _normalize(x)
        self.n_features_in_ = x.shape[1]
        return self

    def score(self, features: Any) -> F64:
        check_fitted(self, "bank_")
        x = as_float_array(features, "features", func="KNN.score")
        check_width(x, self.n_features_in_, "features", func="KNN.score")
        z = _normalize(x)
        k = min(int(self.k), self.bank_.shape[0])
        out = np.empty(z.shape[0])
        sq_bank = np.sum(self.bank_**2, axis=1)
        for i in range(0, z.shape[0], self.batch_size):
            zb = z[i : i + self.batch_size]
            d2 = np.sum(zb**2, axis=1)[:, None] + sq_bank[None, :] - 2 * zb @ self.bank_.T
            kth = np.partition(d2, k - 1, axis=1)[:, k - 1]
            out[i : i + self.batch_size] = np.sqrt(np.maximum(kth, 0.0))
        return out


class ViM:
    """Virtual-logit matching (Wang et al. 2022).

    With the classifier's last layer ``logits = features @ W.T + b``, features are moved to
    the origin ``u = -pinv(W) @ b``; the principal subspace is spanned by the ``dim``
    leading eigenvectors of the training features' (uncentered, about ``u``) covariance and
    the residual ``r(x)`` is the norm of the projection onto the remaining eigenvectors. The
    virtual logit ``alpha * r(x)`` is scaled by ``alpha`` = mean training max logit / mean
    training residual, and ``score(x) = alpha * r(x) - logsumexp(logits(x))`` (the negative
    ViM score of the paper; larger = more OOD).

    Parameters
    ----------
    weight : (classes, d) array, bias : (classes,) array
        The last linear layer (NumPy or tensors; ``model.fc.weight``, ``model.fc.bias``).
    dim : int
        Dimension of the principal subspace (``0 < dim < d``).

    Attributes: ``origin_``, ``residual_basis_`` (d, d - dim), ``alpha_``, ``n_features_in_``.
    """

    def __init__(self, weight: Any, bias: Any, dim: int) -> None:
        self.weight = weight
        self.bias = bias
        self.dim = dim

    def _wb(self) -> tuple[F64, F64]:
        w = as_float_array(self.weight, "weight", func="ViM")
        b = as_float_array(self.bias, "bias", func="ViM", ndim=1)
        if b.shape[0] != w.shape[0]:
            raise ValueError(
                f"The 'bias' parameter of ViM must have one entry per row of 'weight' "
                f"({w.shape[0]}). Got {b.shape[0]} instead."
            )
        return w, b

    def fit(self, features: Any, labels: Any = None) -> ViM:
        x = as_float_array(features, "features", func="ViM.fit")
        w, b = self._wb()
        check_width(x, w.shape[1], "features", func="ViM.fit")
        d = x.shape[1]
        if (
            isinstance(self.dim, bool)
            or not isinstance(self.dim, int | np.integer)
            or not 0 < self.dim < d
        ):
            raise ValueError(
                f"The 'dim' parameter of ViM must be an int in [1, {d - 1}] (below the feature "
                f"width). Got {self.dim!r} instead."
            )
        self.origin_ = -np.linalg.pinv(w) @ b
        c = x - self.origin_
        _, eigvec = np.linalg.eigh(c.T @ c / c.shape[0])  # ascending
        self.residual_basis_ = eigvec[:, : d - int(self.dim)]
        logits = x @ w.T + b
        resid = np.linalg.norm(c @ self.residual_basis_, axis=1)
        self.alpha_ = float(logits.max(axis=1).mean() / max(resid.mean(), 1e-300))
        self.n_features_in_ = d
        return self

    def score(self, features: Any) -> F64:
        check_fitted(self, "alpha_")
        x = as_float_array(features, "features", func="ViM.score")
        check_width(x, self.n_features_in_, "features", func="ViM.score")
        w, b = self._wb()
        resid = np.linalg.norm((x - self.origin_) @ self.residual_basis_, axis=1)
        out: F64 = self.alpha_ * resid - logsumexp(x @ w.T + b)
        return out
