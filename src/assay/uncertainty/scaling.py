"""Post-hoc calibration on held-out logits: temperature scaling and vector scaling (Guo et
al. 2017), fitted by minimising the negative log-likelihood with L-BFGS (PyTorch, float64).

Both take **logits** (pre-softmax outputs, shape ``(n, K)``; a binary model's single logit
``(n,)`` is the two-class logit ``[0, z]``) and refuse probabilities: when every row is
non-negative and sums to one (within :data:`~assay.uncertainty.metrics.PROB_ATOL`) the input
is probabilities, and scaling them is the most reported mistake against temperature-scaling
code. Pass ``log(probs)`` if only probabilities are available (the softmax of log
probabilities is the same distribution).

Neither ever increases the NLL on the data it was fitted on: the optimiser starts at the
identity (``T = 1``; ``w = 1, b = 0``) and the identity is kept when the fit ends worse.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._util.optional import require
from .metrics import _as_float, check_labels, looks_like_probabilities

F64 = NDArray[np.float64]


def _logits(logits: ArrayLike, func: str) -> F64:
    z = _as_float(logits, "logits", func)
    if z.ndim == 2 and z.shape[1] == 1:
        z = z[:, 0]
    if z.ndim == 1:
        if np.all((z >= 0) & (z <= 1)) and z.size > 1 and np.unique(z).size > 2:
            # a column of numbers in [0, 1] is almost surely a probability, not a logit
            raise ValueError(
                f"The 'logits' parameter of {func} must hold logits (pre-sigmoid outputs), "
                "but every value lies in [0, 1]: these look like probabilities. Pass "
                "log(p / (1 - p)) or the model's raw output."
            )
        return np.column_stack([np.zeros_like(z), z])
    if looks_like_probabilities(z):
        raise ValueError(
            f"The 'logits' parameter of {func} must hold logits (pre-softmax outputs), but "
            "every row is non-negative and sums to 1: these are probabilities. Pass the "
            "model's outputs before the softmax (or np.log(probs))."
        )
    return z


def _labels(labels: ArrayLike, z: F64, func: str) -> NDArray[np.int64]:
    y = check_labels(labels, z.shape[0], z.shape[1], func=func)
    if np.unique(y).size < 2:
        raise ValueError(
            f"The 'labels' parameter of {func} holds a single class ({int(y[0])}); the "
            "calibration set needs at least two classes (the NLL would be minimised by an "
            "infinitely confident model)."
        )
    return y


def _nll(z: F64, y: NDArray[np.int64]) -> float:
    m = z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z - m).sum(axis=1)) + m[:, 0]
    return float((lse - z[np.arange(y.size), y]).mean())


def _softmax(z: F64) -> F64:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    out: F64 = e / e.sum(axis=1, keepdims=True)
    return out


def _lbfgs(params: list[Any], loss_fn: Any, max_iter: int) -> None:
    torch = require("torch", "torch", purpose="temperature and vector scaling")
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-10, tolerance_change=1e-14)  # fmt: skip

    def closure() -> Any:
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    opt.step(closure)


class TemperatureScaling:
    """Temperature scaling: calibrated probabilities ``softmax(z / T)`` with one ``T > 0``
    fitted on held-out logits by minimising the NLL over ``log T`` (L-BFGS).

    Attributes after :meth:`fit`: ``temperature_``, ``nll_before_`` (at ``T = 1``) and
    ``nll_after_`` (at ``temperature_``; never larger than ``nll_before_``).
    """

    def __init__(self, max_iter: int = 200) -> None:
        self.max_iter = max_iter

    def fit(self, logits: ArrayLike, labels: ArrayLike) -> TemperatureScaling:
        func = "TemperatureScaling.fit"
        torch = require("torch", "torch", purpose="TemperatureScaling")
        z = _logits(logits, func)
        y = _labels(labels, z, func)
        zt = torch.as_tensor(z, dtype=torch.float64)
        yt = torch.as_tensor(y)
        log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)

        def loss() -> Any:
            return torch.nn.functional.cross_entropy(zt / torch.exp(log_t), yt)

        _lbfgs([log_t], loss, self.max_iter)
        t = float(torch.exp(log_t).detach())
        before = _nll(z, y)
        after = _nll(z / t, y) if np.isfinite(t) and t > 0 else np.inf
        if not after <= before:
            t, after = 1.0, before
        self.temperature_ = t
        self.nll_before_ = before
        self.nll_after_ = after
        self.n_classes_ = z.shape[1]
        return self

    def _check_fitted(self, func: str) -> None:
        if not hasattr(self, "temperature_"):
            raise RuntimeError(f"{func}: this TemperatureScaling is not fitted; call fit first.")

    def calibrated_logits(self, logits: ArrayLike) -> F64:
        """``z / T`` (two-class logits for a binary input)."""
        func = "TemperatureScaling.transform"
        self._check_fitted(func)
        z = _logits(logits, func)
        if z.shape[1] != self.n_classes_:
            raise ValueError(
                f"The 'logits' parameter of {func} must have {self.n_classes_} classes (as "
                f"in fit). Got {z.shape[1]} instead."
            )
        out: F64 = z / self.temperature_
        return out

    def transform(self, logits: ArrayLike) -> F64:
        """Calibrated probabilities ``softmax(z / T)``, shape ``(n, K)``."""
        return _softmax(self.calibrated_logits(logits))

    def fit_transform(self, logits: ArrayLike, labels: ArrayLike) -> F64:
        return self.fit(logits, labels).transform(logits)


class VectorScaling:
    """Vector scaling: ``softmax(z * w + b)`` with one weight and bias per class, fitted on
    held-out logits by minimising the NLL (L-BFGS from ``w = 1, b = 0``).

    Attributes after :meth:`fit`: ``weights_`` ``(K,)``, ``biases_`` ``(K,)``,
    ``nll_before_``, ``nll_after_`` (never larger).
    """

    def __init__(self, max_iter: int = 500) -> None:
        self.max_iter = max_iter

    def fit(self, logits: ArrayLike, labels: ArrayLike) -> VectorScaling:
        func = "VectorScaling.fit"
        torch = require("torch", "torch", purpose="VectorScaling")
        z = _logits(logits, func)
        y = _labels(labels, z, func)
        k = z.shape[1]
        zt = torch.as_tensor(z, dtype=torch.float64)
        yt = torch.as_tensor(y)
        w = torch.ones(k, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(k, dtype=torch.float64, requires_grad=True)

        def loss() -> Any:
            return torch.nn.functional.cross_entropy(zt * w + b, yt)

        _lbfgs([w, b], loss, self.max_iter)
        wn, bn = w.detach().numpy().copy(), b.detach().numpy().copy()
        before = _nll(z, y)
        after = _nll(z * wn + bn, y) if np.all(np.isfinite(wn)) and np.all(np.isfinite(bn)) else np.inf
        if not after <= before:
            wn, bn, after = np.ones(k), np.zeros(k), before
        self.weights_, self.biases_ = wn, bn
        self.nll_before_, self.nll_after_ = before, after
        return self

    def calibrated_logits(self, logits: ArrayLike) -> F64:
        func = "VectorScaling.transform"
        if not hasattr(self, "weights_"):
            raise RuntimeError(f"{func}: this VectorScaling is not fitted; call fit first.")
        z = _logits(logits, func)
        if z.shape[1] != self.weights_.size:
            raise ValueError(
                f"The 'logits' parameter of {func} must have {self.weights_.size} classes (as "
                f"in fit). Got {z.shape[1]} instead."
            )
        out: F64 = z * self.weights_ + self.biases_
        return out

    def transform(self, logits: ArrayLike) -> F64:
        """Calibrated probabilities ``softmax(z * w + b)``."""
        return _softmax(self.calibrated_logits(logits))

    def fit_transform(self, logits: ArrayLike, labels: ArrayLike) -> F64:
        return self.fit(logits, labels).transform(logits)
