"""SNGP (Liu et al. 2020, "Simple and Principled Uncertainty Estimation with Deterministic
Deep Learning via Distance Awareness") for any PyTorch feature extractor.

* :func:`spectral_normalize`: each hidden ``nn.Linear`` gets
  ``torch.nn.utils.parametrizations.spectral_norm`` (power iteration) and is rescaled so
  that its spectral norm is at most ``norm_bound``: the effective weight is
  ``W * min(1, c / sigma(W))`` (unchanged when ``sigma <= c``), as SNGP's bound. Each
  ``nn.Conv1d/2d/3d`` gets :class:`BoundedSpectralConv`: the same bound on the norm of the
  convolution *operator* (the linear map from inputs of the shape the layer sees to its
  outputs, stride, padding, dilation and groups included), estimated by power iteration
  with the convolution and its adjoint, as SNGP's reference ``SpectralNormalizationConv2D``
  (edward2) does -- not the norm of the reshaped kernel, which neither bounds nor equals it.
* :class:`RandomFeatureGP`: the random-Fourier-feature Gaussian-process output layer.
  ``phi(h) = sqrt(2 / D) cos(W h + b)`` with ``W ~ N(0, 1 / l^2)`` and ``b ~ U(0, 2 pi)``
  fixed (``E[phi(x) . phi(y)] = exp(-|x - y|^2 / (2 l^2))``, the RBF kernel), and trained
  output weights ``beta``: logits ``phi(h) beta``. The Laplace posterior precision
  ``P = I * ridge + sum_i p_i (1 - p_i) phi_i phi_i^T`` (``p_i`` the top-label probability)
  is accumulated over an epoch with :meth:`RandomFeatureGP.update_precision`; the predictive
  variance is ``ridge * phi^T P^{-1} phi``.
* Mean-field logits (Lu et al. 2020): ``logits / sqrt(1 + lambda * var)`` with
  ``lambda = pi / 8``.
* :class:`SNGPClassifier`: a feature extractor (spectrally normalised) plus the GP layer;
  :meth:`SNGPClassifier.uncertainty` gives scores that are larger = more uncertain (usable
  as OOD scores).

Requires PyTorch (``pip install 'assay[torch]'``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._util.optional import require

require("torch", "torch", purpose="assay.uncertainty.sngp")

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

F64 = NDArray[np.float64]

#: The mean-field factor ``lambda`` of SNGP's logit adjustment.
MEAN_FIELD_FACTOR = math.pi / 8.0


class BoundedSpectralLinear(nn.Module):
    """A ``nn.Linear`` whose spectral norm is kept at most ``norm_bound``.

    The wrapped layer carries torch's ``spectral_norm`` parametrization (its ``weight`` is
    ``W / sigma``, with ``sigma`` from the power iteration); this module multiplies it by
    ``min(sigma, c)``, so the effective weight is ``W * min(1, c / sigma)``.
    """

    linear: Any

    def __init__(self, linear: Any, norm_bound: float = 0.95, n_power_iterations: int = 1) -> None:
        super().__init__()
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"BoundedSpectralLinear wraps an nn.Linear; got {type(linear).__name__}.")
        if not norm_bound > 0:
            raise ValueError(f"The 'norm_bound' parameter must be > 0. Got {norm_bound!r} instead.")
        self.linear = nn.utils.parametrizations.spectral_norm(linear, n_power_iterations=n_power_iterations)
        self.norm_bound = float(norm_bound)

    def effective_weight(self) -> Any:
        w_sn = self.linear.weight  # W / sigma (runs a power iteration step in training)
        w = self.linear.parametrizations.weight.original
        sigma = torch.linalg.vector_norm(w) / torch.linalg.vector_norm(w_sn).clamp_min(1e-12)
        return w_sn * torch.clamp(sigma, max=self.norm_bound)

    def forward(self, x: Any) -> Any:
        return F.linear(x, self.effective_weight(), self.linear.bias)


#: Power iterations run the first time a :class:`BoundedSpectralConv` sees an input shape.
CONV_INIT_ITERATIONS = 15


def _is_conv(m: Any) -> bool:
    return isinstance(m, nn.Conv1d | nn.Conv2d | nn.Conv3d)


class BoundedSpectralConv(nn.Module):
    """A ``nn.Conv1d/2d/3d`` whose operator norm is kept at most ``norm_bound``.

    The operator is the linear map ``x -> conv(x)`` (bias excluded) on inputs of one shape
    ``(C_in, *spatial)``: the shape given as ``input_shape``, else the one of the first
    input (a later input of another spatial shape restarts the estimate for that shape,
    since the norm depends on it). Its largest singular value ``sigma`` is estimated by power
    iteration, ``v = A u / |A u|``, ``u = A^T v / |A^T v|``, with ``A^T`` the exact adjoint
    (the gradient of the convolution with respect to its input), ``n_power_iterations`` per
    training forward, :data:`CONV_INIT_ITERATIONS` when a shape is first seen, none in eval
    mode; ``sigma = |A(W) u|`` carries the gradient through ``W`` (as torch's
    ``spectral_norm``). The effective kernel is ``W * min(1, c / sigma)``, so the layer's
    operator norm is ``min(sigma, c)``. The vector ``u`` is the buffer ``u``, of shape
    ``(1, C_in, *spatial)`` (empty until the first input), saved in the state dict.
    """

    conv: Any
    u: Any

    def __init__(
        self,
        conv: Any,
        norm_bound: float = 0.95,
        n_power_iterations: int = 1,
        *,
        input_shape: tuple[int, ...] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if not _is_conv(conv):
            raise TypeError(f"BoundedSpectralConv wraps an nn.Conv1d, nn.Conv2d or nn.Conv3d; got {type(conv).__name__}.")
        if not norm_bound > 0:
            raise ValueError(f"The 'norm_bound' parameter must be > 0. Got {norm_bound!r} instead.")
        if not (isinstance(n_power_iterations, int) and n_power_iterations >= 1):
            raise ValueError(f"The 'n_power_iterations' parameter must be an integer >= 1. Got {n_power_iterations!r} instead.")
        self.conv = conv
        self.norm_bound = float(norm_bound)
        self.n_power_iterations = n_power_iterations
        self.seed = int(seed)
        self.n_dims = len(conv.kernel_size)
        self.register_buffer("u", torch.empty(0, dtype=conv.weight.dtype, device=conv.weight.device))
        if input_shape is not None:
            shape = tuple(int(d) for d in input_shape)
            if len(shape) != self.n_dims + 1 or shape[0] != conv.in_channels or min(shape) < 1:
                raise ValueError(
                    f"The 'input_shape' parameter must be (C_in={conv.in_channels}, "
                    f"{self.n_dims} spatial sizes); got {input_shape!r}."
                )
            self._start(shape)

    def _op(self, x: Any, w: Any) -> Any:
        return self.conv._conv_forward(x, w, None)

    def _adjoint(self, y: Any, shape: tuple[int, ...], w: Any) -> Any:
        with torch.enable_grad():
            x = torch.zeros((1, *shape), dtype=w.dtype, device=w.device, requires_grad=True)
            (g,) = torch.autograd.grad(self._op(x, w), x, grad_outputs=y)
        return g

    @torch.no_grad()
    def power_iteration(self, n: int = CONV_INIT_ITERATIONS) -> None:
        """Run ``n`` power iterations on the current kernel (e.g. after training, when one
        iteration per step lagged behind a fast-moving kernel)."""
        if self.u.numel() == 0:
            raise RuntimeError("BoundedSpectralConv has seen no input yet: pass input_shape or run a forward pass.")
        w = self.conv.weight.detach()
        u = self.u
        shape = tuple(u.shape[1:])
        for _ in range(n):
            v = self._op(u, w)
            v = v / torch.linalg.vector_norm(v).clamp_min(1e-12)
            u = self._adjoint(v, shape, w)
            u = u / torch.linalg.vector_norm(u).clamp_min(1e-12)
        self.u = u.detach().clone()

    def _start(self, shape: tuple[int, ...]) -> None:
        w = self.conv.weight
        g = torch.Generator(device="cpu").manual_seed(self.seed)
        u = torch.randn((1, *shape), generator=g, dtype=torch.float64).to(dtype=w.dtype, device=w.device)
        self.u = u / torch.linalg.vector_norm(u)
        self.power_iteration(CONV_INIT_ITERATIONS)

    def _input_shape(self, x: Any) -> tuple[int, ...]:
        return tuple(x.shape[1:]) if x.dim() == self.n_dims + 2 else tuple(x.shape)

    def sigma(self) -> Any:
        """The current estimate of the operator norm of the *unscaled* kernel,
        ``|A(W) u|`` (differentiable in ``W``)."""
        if self.u.numel() == 0:
            raise RuntimeError("BoundedSpectralConv has seen no input yet: pass input_shape or run a forward pass.")
        return torch.linalg.vector_norm(self._op(self.u, self.conv.weight))

    def effective_weight(self) -> Any:
        """``W * min(1, c / sigma)``."""
        return self.conv.weight * torch.clamp(self.norm_bound / self.sigma().clamp_min(1e-12), max=1.0)

    def forward(self, x: Any) -> Any:
        shape = self._input_shape(x)
        if tuple(self.u.shape[1:]) != shape:
            self._start(shape)
        elif self.training:
            self.power_iteration(self.n_power_iterations)
        return self.conv._conv_forward(x, self.effective_weight(), self.conv.bias)

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any, **kwargs: Any) -> None:
        saved = state_dict.get(prefix + "u")
        if saved is not None and tuple(saved.shape) != tuple(self.u.shape):
            self.u = torch.empty_like(saved)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def spectral_normalize(
    module: Any,
    norm_bound: float = 0.95,
    *,
    n_power_iterations: int = 1,
    exclude: Iterable[str] = (),
    conv: bool = True,
) -> Any:
    """Replace every ``nn.Linear`` inside ``module`` (except the names in ``exclude``) by a
    :class:`BoundedSpectralLinear` and, with ``conv=True`` (default), every ``nn.Conv1d/2d/3d``
    by a :class:`BoundedSpectralConv` (operator norm on the input shape it sees), in place;
    returns ``module``. Pass the feature extractor, not the output layer. A bare layer is
    returned wrapped."""
    if isinstance(module, nn.Linear):
        return BoundedSpectralLinear(module, norm_bound, n_power_iterations)
    if conv and _is_conv(module):
        return BoundedSpectralConv(module, norm_bound, n_power_iterations)
    skip = set(exclude)
    for name, child in list(module.named_modules()):
        if isinstance(child, BoundedSpectralLinear | BoundedSpectralConv):
            continue
        for cname, sub in list(child.named_children()):
            full = f"{name}.{cname}" if name else cname
            if full in skip:
                continue
            if isinstance(sub, nn.Linear):
                setattr(child, cname, BoundedSpectralLinear(sub, norm_bound, n_power_iterations))
            elif conv and _is_conv(sub):
                setattr(child, cname, BoundedSpectralConv(sub, norm_bound, n_power_iterations))
    return module


def mean_field_logits(logits: Any, variance: Any, factor: float = MEAN_FIELD_FACTOR) -> Any:
    """``logits / sqrt(1 + factor * variance)`` (variance per row, broadcast over classes)."""
    v = variance if variance.ndim == logits.ndim else variance.unsqueeze(-1)
    return logits / torch.sqrt(1.0 + factor * v)


class RandomFeatureGP(nn.Module):
    """Random-Fourier-feature GP output layer with a Laplace posterior (see the module
    docstring). ``forward(h)`` returns the posterior-mean logits."""

    rff_weight: Any
    rff_bias: Any
    precision: Any
    covariance: Any
    beta: Any

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        num_features: int = 1024,
        *,
        lengthscale: float = 1.0,
        ridge: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"The 'num_classes' parameter of RandomFeatureGP must be >= 2. Got {num_classes!r} instead.")
        g = torch.Generator().manual_seed(seed)
        self.in_features, self.num_classes, self.num_features = in_features, num_classes, num_features
        self.lengthscale, self.ridge = float(lengthscale), float(ridge)
        self.register_buffer("rff_weight", torch.randn(num_features, in_features, generator=g) / lengthscale)
        self.register_buffer("rff_bias", torch.rand(num_features, generator=g) * 2 * math.pi)
        self.beta = nn.Linear(num_features, num_classes, bias=False)
        self.register_buffer("precision", torch.eye(num_features, dtype=torch.float64) * ridge)
        self.register_buffer("covariance", torch.eye(num_features, dtype=torch.float64) / ridge)
        self._cov_stale = False

    def features(self, h: Any) -> Any:
        """``phi(h) = sqrt(2 / D) cos(W h + b)``."""
        return math.sqrt(2.0 / self.num_features) * torch.cos(F.linear(h, self.rff_weight, self.rff_bias))

    def forward(self, h: Any) -> Any:
        return self.beta(self.features(h))

    def reset_precision(self) -> None:
        """Back to the prior precision ``ridge * I`` (call at the start of the last epoch)."""
        self.precision.copy_(torch.eye(self.num_features, dtype=torch.float64) * self.ridge)
        self._cov_stale = True

    @torch.no_grad()
    def update_precision(self, h: Any) -> None:
        """Add a batch of features to the Laplace precision:
        ``P += sum_i p_i (1 - p_i) phi_i phi_i^T`` with ``p_i`` the top-label probability."""
        phi = self.features(h).double()
        p = torch.softmax(self.beta(phi.to(self.beta.weight.dtype)).double(), dim=-1).max(dim=-1).values
        wphi = phi * (p * (1 - p)).unsqueeze(-1)
        self.precision += wphi.T @ phi
        self._cov_stale = True

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._cov_stale = True  # the loaded covariance may predate the loaded precision

    def _covariance(self) -> Any:
        if self._cov_stale:
            self.covariance.copy_(torch.linalg.inv(self.precision))
            self._cov_stale = False
        return self.covariance

    @torch.no_grad()
    def predict(self, h: Any) -> tuple[Any, Any]:
        """Posterior-mean logits and the predictive variance ``ridge * phi^T P^{-1} phi``."""
        phi = self.features(h)
        logits = self.beta(phi)
        pd = phi.double()
        var = self.ridge * ((pd @ self._covariance()) * pd).sum(dim=-1)
        return logits, var.to(logits.dtype)


class SNGPClassifier(nn.Module):
    """A feature extractor (its hidden ``nn.Linear`` and convolution layers spectrally
    normalised unless ``spectral_norm=False``) followed by a :class:`RandomFeatureGP` output layer.

    Training: minimise the cross-entropy of ``forward(x)`` (the GP's mean logits); then call
    :meth:`fit_precision` over one pass of the training data (or, during the last epoch,
    :meth:`reset_precision` and :meth:`update_precision` per batch). Prediction:
    :meth:`predict_logits` (mean-field adjusted), :meth:`predict_proba`, :meth:`uncertainty`.
    """

    features: Any
    gp: Any

    def __init__(
        self,
        feature_extractor: Any,
        in_features: int,
        num_classes: int,
        *,
        num_features: int = 1024,
        lengthscale: float = 1.0,
        ridge: float = 1.0,
        norm_bound: float = 0.95,
        spectral_norm: bool = True,
        mean_field_factor: float = MEAN_FIELD_FACTOR,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.features = spectral_normalize(feature_extractor, norm_bound) if spectral_norm else feature_extractor
        self.gp = RandomFeatureGP(in_features, num_classes, num_features, lengthscale=lengthscale,
                                  ridge=ridge, seed=seed)  # fmt: skip
        self.mean_field_factor = mean_field_factor

    def forward(self, x: Any) -> Any:
        return self.gp(self.features(x))

    def reset_precision(self) -> None:
        self.gp.reset_precision()

    @torch.no_grad()
    def update_precision(self, x: Any) -> None:
        was = self.training
        self.eval()
        self.gp.update_precision(self.features(x))
        self.train(was)

    def fit_precision(self, batches: Iterable[Any]) -> SNGPClassifier:
        """Reset the precision and accumulate it over ``batches`` (inputs, or ``(x, y)``
        pairs whose first element is used): the Laplace update over one epoch."""
        self.reset_precision()
        for b in batches:
            self.update_precision(b[0] if isinstance(b, tuple | list) else b)
        return self

    @torch.no_grad()
    def predict_logits(self, x: Any, *, batch_size: int | None = None) -> tuple[Any, Any]:
        """Mean-field adjusted logits and the GP's predictive variance (eval mode), in
        batches of ``batch_size`` rows (all at once by default)."""
        was = self.training
        self.eval()
        step = x.shape[0] if batch_size is None else int(batch_size)
        if step < 1:
            raise ValueError(f"The 'batch_size' parameter must be >= 1 or None. Got {batch_size!r} instead.")
        parts = [self.gp.predict(self.features(x[i : i + step])) for i in range(0, x.shape[0], step)]
        self.train(was)
        logits, var = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
        return mean_field_logits(logits, var, self.mean_field_factor), var

    def predict_proba(self, x: Any, *, batch_size: int | None = None) -> F64:
        logits, _ = self.predict_logits(x, batch_size=batch_size)
        out: F64 = torch.softmax(logits, dim=-1).double().cpu().numpy()
        return out

    def uncertainty(self, x: Any, *, batch_size: int | None = None) -> dict[str, F64]:
        """Larger = more uncertain: the GP variance, ``1 - max_k p_k`` and the predictive
        entropy of the mean-field probabilities."""
        logits, var = self.predict_logits(x, batch_size=batch_size)
        p = torch.softmax(logits.double(), dim=-1)
        ent = -(p * torch.log(p.clamp_min(1e-300))).sum(dim=-1)
        return {
            "variance": var.double().cpu().numpy(),
            "one_minus_max_prob": (1 - p.max(dim=-1).values).cpu().numpy(),
            "predictive_entropy": ent.cpu().numpy(),
        }
