"""Model-based parts of the classifier detectors (``assay[torch]``): collecting logits and
features from a model and a data loader, ODIN (Liang et al. 2018) and Mahalanobis with
input perturbation (Lee et al. 2018).

No global device: inputs are moved to ``device`` (default: the device of the model's first
parameter).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._util.optional import require
from ._common import F64, check_fitted, check_temperature
from .features import Mahalanobis


def _torch() -> Any:
    return require("torch", purpose="model-based OOD detectors")


@dataclass
class Outputs:
    """What :func:`collect` gathered: ``logits`` (n, classes), ``features`` (n, d) when a
    feature function was given, ``labels`` (n,) when the loader yields them."""

    logits: F64
    features: F64 | None
    labels: NDArray[np.int64] | None


def _device(model: Any, device: Any) -> Any:
    if device is not None:
        return device
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else "cpu"


def iter_batches(data: Any, batch_size: int = 256) -> Iterator[tuple[Any, Any]]:
    """``(inputs, labels or None)`` from a tensor (cut into batches) or a data loader
    yielding tensors or ``(inputs, labels, ...)`` tuples."""
    torch = _torch()
    if isinstance(data, torch.Tensor | np.ndarray):
        t = torch.as_tensor(data)
        for i in range(0, t.shape[0], batch_size):
            yield t[i : i + batch_size], None
        return
    for batch in data:
        if isinstance(batch, list | tuple):
            yield batch[0], (batch[1] if len(batch) > 1 else None)
        else:
            yield batch, None


def collect(
    model: Any,
    loader: Any,
    *,
    features: Callable[[Any], Any] | None = None,
    device: Any = None,
) -> Outputs:
    """Run ``model`` (in eval mode, without gradients) over ``loader`` (or a tensor) and
    gather its logits, the output of ``features(inputs)`` if given, and the labels."""
    torch = _torch()
    dev = _device(model, device)
    was_training = model.training
    model.eval()
    logits, feats, labels = [], [], []
    try:
        with torch.no_grad():
            for x, y in iter_batches(loader):
                x = x.to(dev)
                logits.append(model(x).double().cpu().numpy())
                if features is not None:
                    feats.append(features(x).flatten(1).double().cpu().numpy())
                if y is not None:
                    labels.append(np.asarray(y.cpu() if hasattr(y, "cpu") else y))
    finally:
        model.train(was_training)
    if not logits:
        raise ValueError("The 'loader' parameter of collect yielded no batches.")
    return Outputs(
        logits=np.concatenate(logits),
        features=np.concatenate(feats) if feats else None,
        labels=np.concatenate(labels).astype(np.int64) if labels else None,
    )


def _check_epsilon(epsilon: Any, func: str) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, int | float) or not epsilon >= 0:
        raise ValueError(
            f"The 'epsilon' parameter of {func} must be a float >= 0. Got {epsilon!r} instead."
        )
    return float(epsilon)


def odin_score(
    model: Any, inputs: Any, temperature: float = 1000.0, epsilon: float = 0.0014
) -> F64:
    """ODIN (Liang et al. 2018) for one batch of inputs (a tensor).

    The input moves against the gradient of the temperature-scaled cross-entropy of the
    predicted class, ``x' = x - epsilon * sign(grad_x [-log S_yhat(x; T)])``, and the score
    is ``-max_k softmax(model(x') / T)_k`` (larger = more OOD).
    """
    torch = _torch()
    t = check_temperature(temperature, "odin_score")
    eps = _check_epsilon(epsilon, "odin_score")
    with torch.enable_grad():  # the step needs the input gradient even under no_grad()
        x = inputs.detach().clone().requires_grad_(True)
        z = model(x) / t
        loss = torch.nn.functional.cross_entropy(z, z.argmax(dim=1), reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    with torch.no_grad():
        xp = x - eps * torch.sign(grad)
        p = torch.softmax(model(xp) / t, dim=1)
    out: F64 = -p.max(dim=1).values.double().cpu().numpy()
    return out


class ODIN:
    """ODIN detector over a model (:func:`odin_score`); ``score`` takes a tensor of inputs
    or a data loader. ``fit`` learns nothing (choose ``temperature`` and ``epsilon`` on
    validation data that is not the test OOD set)."""

    def __init__(self, model: Any, temperature: float = 1000.0, epsilon: float = 0.0014) -> None:
        self.model = model
        self.temperature = temperature
        self.epsilon = epsilon

    def fit(self, *args: Any, **kw: Any) -> ODIN:
        return self

    def score(self, data: Any, *, device: Any = None) -> F64:
        dev = _device(self.model, device)
        was = self.model.training
        self.model.eval()
        try:
            parts = [
                odin_score(self.model, x.to(dev), self.temperature, self.epsilon)
                for x, _ in iter_batches(data)
            ]
        finally:
            self.model.train(was)
        return np.concatenate(parts)


class MahalanobisPerturbed:
    """Mahalanobis with input perturbation (Lee et al. 2018): the input moves to decrease
    its distance to the closest class mean, ``x' = x - epsilon * sign(grad_x min_c
    MD_c(f(x)))``, and the score is ``min_c MD_c(f(x'))`` (larger = more OOD), with the
    class means and shared covariance of :class:`Mahalanobis` fitted on ``f(x)``.

    Parameters
    ----------
    features : callable
        Maps an input batch (tensor) to its feature tensor (differentiably).
    epsilon : float, default=0.0014
    reg : float or None, default=None (see :class:`Mahalanobis`).

    Attributes: ``mahalanobis_`` (the fitted :class:`Mahalanobis`).
    """

    def __init__(
        self, features: Callable[[Any], Any], epsilon: float = 0.0014, reg: float | None = None
    ) -> None:
        self.features = features
        self.epsilon = epsilon
        self.reg = reg

    def fit(self, data: Any, labels: Any = None, *, device: Any = None) -> MahalanobisPerturbed:
        """Fit on a loader yielding ``(inputs, labels)``, or on an input tensor and ``labels``."""
        torch = _torch()
        feats, ys = [], []
        with torch.no_grad():
            for x, y in iter_batches(data):
                feats.append(self.features(x if device is None else x.to(device)).flatten(1))
                ys.append(y)
        f = torch.cat(feats).double().cpu().numpy()
        if labels is None:
            if any(y is None for y in ys):
                raise ValueError(
                    "The 'labels' parameter of MahalanobisPerturbed.fit is required when the "
                    "data yields no labels."
                )
            labels = torch.cat([torch.as_tensor(y) for y in ys]).numpy()
        self.mahalanobis_ = Mahalanobis(reg=self.reg).fit(f, labels)
        return self

    def score(self, data: Any, *, device: Any = None) -> F64:
        check_fitted(self, "mahalanobis_")
        torch = _torch()
        eps = _check_epsilon(self.epsilon, "MahalanobisPerturbed")
        m = self.mahalanobis_
        out = []
        for x, _ in iter_batches(data):
            if device is not None:
                x = x.to(device)
            means = torch.as_tensor(m.means_, dtype=torch.float64, device=x.device)
            prec = torch.as_tensor(m.precision_, dtype=torch.float64, device=x.device)

            def dist(inp: Any, means: Any = means, prec: Any = prec) -> Any:
                f = self.features(inp).flatten(1).double()
                diff = f[:, None, :] - means[None]
                return torch.einsum("ncd,de,nce->nc", diff, prec, diff).min(dim=1).values

            with torch.enable_grad():
                xg = x.detach().clone().requires_grad_(True)
                (grad,) = torch.autograd.grad(dist(xg).sum(), xg)
            with torch.no_grad():
                out.append(dist(xg - eps * torch.sign(grad)).cpu().numpy())
        return np.concatenate(out).astype(np.float64)
