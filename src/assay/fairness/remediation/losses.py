"""MinDiff losses as PyTorch modules, and the registry of loss names.

* :class:`AbsoluteCorrelationLoss`, :class:`MMDLoss` and :class:`AdjustedMMDLoss` -- the
  module forms of the functional losses of :mod:`assay.fairness.remediation.functional`
  (definitions, notation and defaults there; they follow TensorFlow Model Remediation's
  MinDiff losses). A module remembers the checked group weights of a reused membership
  tensor, and a loss weight given by :class:`~assay.fairness.remediation.MinDiffModel` is
  fused into the compiled kernel.
* :data:`MINDIFF_LOSSES` and :func:`get_mindiff_loss` -- the loss names accepted wherever a
  MinDiff loss is asked for.

The functional losses, the kernels and the type aliases are re-exported here, so that
``from assay.fairness.remediation.losses import mmd_loss`` keeps working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from assay._util.validation import param_error, param_type_error

from ._checks import EmptyGroup, check_empty_group, shown
from ._inputs import MembershipMemo
from .functional import (  # noqa: F401 (constants re-exported for the old import path)
    ADJUSTED_MMD_EPSILON,
    CORRELATION_EPSILON,
    DEFAULT_KERNEL_LENGTH,
    DEFAULT_MAX_KERNEL_ELEMENTS,
    KernelFn,
    MinDiffLossFn,
    PredictionsTransform,
    _absolute_correlation,
    _adjusted_mmd,
    _mmd,
    _resolve_kernel,
    _ResolvedKernel,
    absolute_correlation_loss,
    adjusted_mmd_loss,
    gaussian_kernel,
    laplacian_kernel,
    mmd_loss,
)

__all__ = [
    "MINDIFF_LOSSES",
    "AbsoluteCorrelationLoss",
    "AdjustedMMDLoss",
    "KernelFn",
    "MMDLoss",
    "MinDiffLossFn",
    "PredictionsTransform",
    "absolute_correlation_loss",
    "adjusted_mmd_loss",
    "gaussian_kernel",
    "get_mindiff_loss",
    "laplacian_kernel",
    "mmd_loss",
]


# --------------------------------------------------------------------------- modules


class AbsoluteCorrelationLoss(nn.Module):
    """Module form of :func:`absolute_correlation_loss`.

    Parameters
    ----------
    predictions_transform : callable, optional
        Applied to the predictions first (e.g. ``torch.sigmoid`` on logits).
    empty_group : {"zero", "raise"}, default "zero"
        Behaviour when a group is empty; see :func:`absolute_correlation_loss`.
    check_inputs : bool, default True
        Check membership and weight values on every call.

    Examples
    --------
    >>> import torch
    >>> loss = AbsoluteCorrelationLoss()
    >>> float(loss(torch.tensor([0.9, 0.8, 0.2, 0.1]), torch.tensor([1, 1, 0, 0])))  # doctest: +ELLIPSIS
    0.98...
    """

    def __init__(
        self,
        predictions_transform: PredictionsTransform | None = None,
        *,
        empty_group: EmptyGroup = "zero",
        check_inputs: bool = True,
    ) -> None:
        super().__init__()
        self.predictions_transform = predictions_transform
        self.empty_group: EmptyGroup = check_empty_group(
            empty_group, func="AbsoluteCorrelationLoss"
        )
        self.check_inputs = check_inputs
        self._memo = MembershipMemo()

    def forward(self, predictions: Tensor, membership: Any, weights: Any = None) -> Tensor:
        """Compute the loss; see :func:`absolute_correlation_loss`."""
        return self._weighted(predictions, membership, weights, 1.0)

    #: The functional loss this module computes (``_adjusted_mmd`` in the subclass).
    _impl = staticmethod(_mmd)

    def _weighted(
        self, predictions: Tensor, membership: Any, weights: Any, scale: float
    ) -> Tensor:
        """``scale * forward(...)``, with the scale fused into the kernel where it can be."""
        return _absolute_correlation(
            predictions,
            membership,
            weights,
            predictions_transform=self.predictions_transform,
            empty_group=self.empty_group,
            check_inputs=self.check_inputs,
            _memo=self._memo,
            _scale=scale,
        )

    def extra_repr(self) -> str:
        return f"empty_group={self.empty_group!r}"


class MMDLoss(nn.Module):
    """Module form of :func:`mmd_loss`.

    Parameters
    ----------
    kernel : {"gaussian", "laplacian"} or callable, default "gaussian"
        The kernel; see :func:`mmd_loss`.
    kernel_length : float, default 0.1
        The kernel length of the named kernels.
    predictions_transform : callable, optional
        Applied to the predictions first (e.g. ``torch.sigmoid`` on logits).
    chunk_size : int, optional
        Rows of the kernel matrix computed at once; see :func:`mmd_loss`.
    empty_group : {"zero", "raise"}, default "zero"
        Behaviour when a group is empty.
    check_inputs : bool, default True
        Check membership and weight values. The module remembers (by weak reference and
        version counter) the checked group weights of the last unweighted membership tensor,
        so a membership vector reused between steps, as :class:`~assay.fairness.remediation.MinDiffLoader` does, is
        checked once.

    Examples
    --------
    >>> import torch
    >>> loss = MMDLoss("laplacian", kernel_length=0.5)
    >>> round(float(loss(torch.tensor([0.9, 0.8, 0.2, 0.1]), torch.tensor([1, 1, 0, 0]))), 4)
    1.3206
    """

    _func = "MMDLoss"

    def __init__(
        self,
        kernel: str | KernelFn = "gaussian",
        kernel_length: float = DEFAULT_KERNEL_LENGTH,
        predictions_transform: PredictionsTransform | None = None,
        *,
        chunk_size: int | None = None,
        empty_group: EmptyGroup = "zero",
        check_inputs: bool = True,
    ) -> None:
        super().__init__()
        _resolve_kernel(kernel, kernel_length, self._func)  # validate eagerly
        self.kernel = kernel
        self.kernel_length = float(kernel_length)
        self.predictions_transform = predictions_transform
        self.chunk_size = chunk_size
        self.empty_group: EmptyGroup = check_empty_group(empty_group, func=self._func)
        self.check_inputs = check_inputs
        self._memo = MembershipMemo()
        self._resolved_cache: tuple[tuple[Any, float], _ResolvedKernel] | None = None

    def forward(self, predictions: Tensor, membership: Any, weights: Any = None) -> Tensor:
        """Compute the loss; see :func:`mmd_loss`."""
        return self._weighted(predictions, membership, weights, 1.0)

    def _resolved(self) -> _ResolvedKernel:
        """The kernel function, name and length, resolved once per (kernel, kernel_length)."""
        key = (self.kernel, self.kernel_length)
        cached = self._resolved_cache
        if cached is None or cached[0] != key:
            cached = (key, _resolve_kernel(self.kernel, self.kernel_length, self._func))
            self._resolved_cache = cached
        return cached[1]

    #: The functional loss this module computes (``_adjusted_mmd`` in the subclass).
    _impl = staticmethod(_mmd)

    def _weighted(
        self, predictions: Tensor, membership: Any, weights: Any, scale: float
    ) -> Tensor:
        """``scale * forward(...)``, with the scale fused into the kernel where it can be."""
        return self._impl(
            predictions,
            membership,
            weights,
            kernel=self.kernel,
            kernel_length=self.kernel_length,
            predictions_transform=self.predictions_transform,
            chunk_size=self.chunk_size,
            empty_group=self.empty_group,
            check_inputs=self.check_inputs,
            _memo=self._memo,
            _resolved=self._resolved(),
            _scale=scale,
        )

    def extra_repr(self) -> str:
        kernel = (
            self.kernel
            if isinstance(self.kernel, str)
            else getattr(self.kernel, "__name__", "custom")
        )
        return f"kernel={kernel!r}, kernel_length={self.kernel_length}"


class AdjustedMMDLoss(MMDLoss):
    """Module form of :func:`adjusted_mmd_loss`; same parameters as :class:`MMDLoss`."""

    _func = "AdjustedMMDLoss"

    def forward(self, predictions: Tensor, membership: Any, weights: Any = None) -> Tensor:
        """Compute the loss; see :func:`adjusted_mmd_loss`."""
        return self._weighted(predictions, membership, weights, 1.0)

    _impl = staticmethod(_adjusted_mmd)


MINDIFF_LOSSES: dict[str, Callable[..., nn.Module]] = {
    "mmd": lambda **kw: MMDLoss("gaussian", **kw),
    "gaussian_mmd": lambda **kw: MMDLoss("gaussian", **kw),
    "laplacian_mmd": lambda **kw: MMDLoss("laplacian", **kw),
    "adjusted_mmd": lambda **kw: AdjustedMMDLoss("gaussian", **kw),
    "adjusted_laplacian_mmd": lambda **kw: AdjustedMMDLoss("laplacian", **kw),
    "absolute_correlation": lambda **kw: AbsoluteCorrelationLoss(**kw),
}
"""Loss names accepted wherever a MinDiff loss is asked for, and their constructors."""


def get_mindiff_loss(loss: str | MinDiffLossFn | nn.Module, **kwargs: Any) -> MinDiffLossFn:
    """Return a MinDiff loss from a name in :data:`MINDIFF_LOSSES`, or ``loss`` itself.

    Parameters
    ----------
    loss : str or callable
        ``"mmd"`` (Gaussian kernel), ``"gaussian_mmd"``, ``"laplacian_mmd"``,
        ``"adjusted_mmd"``, ``"adjusted_laplacian_mmd"``, ``"absolute_correlation"``, or any
        callable ``loss(predictions, membership, weights) -> scalar`` (returned unchanged).
    **kwargs
        Passed to the named loss's constructor (e.g. ``kernel_length=0.2``,
        ``predictions_transform=torch.sigmoid``); not allowed with a callable.
    """
    func = "get_mindiff_loss"
    if isinstance(loss, str):
        if loss not in MINDIFF_LOSSES:
            listed = ", ".join(repr(k) for k in MINDIFF_LOSSES)
            raise param_error("loss", f"one of {{{listed}}} or a callable", loss, func=func)
        return MINDIFF_LOSSES[loss](**kwargs)
    if callable(loss):
        if kwargs:
            raise param_error(
                "kwargs", "empty when 'loss' is a callable", shown(str(sorted(kwargs))), func=func
            )
        return loss
    listed = ", ".join(repr(k) for k in MINDIFF_LOSSES)
    raise param_type_error("loss", f"one of {{{listed}}} or a callable", loss, func=func)
