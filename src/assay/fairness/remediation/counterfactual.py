r"""Counterfactual logit pairing (CLP): make a model's output ignore a sensitive attribute.

A counterfactual :math:`x'_i` is example :math:`x_i` with the sensitive attribute changed
(e.g. a flipped binary column, or a swapped identity term in text). CLP adds a penalty on
the difference between the model's outputs :math:`o_i = f(x_i)` and :math:`o'_i = f(x'_i)`,
after TF Model Remediation's ``counterfactual`` package.

Per-example losses, over the flattened non-batch dimensions (:math:`D` values per example):

* ``"mse"`` -- pairwise squared error :math:`\ell_i = \frac1D \sum_d (o_{id} - o'_{id})^2`;
* ``"absolute_difference"`` -- :math:`\ell_i = \frac1D \sum_d |o_{id} - o'_{id}|`;
* ``"cosine"`` -- :math:`\ell_i = 1 - \frac{o_i \cdot o'_i}{\nu(o_i)\,\nu(o'_i)}` with
  :math:`\nu(v) = \sqrt{\max(\|v\|^2, 10^{-12})}`; in :math:`[0, 2]`, 0 when the two outputs
  point the same way. (Keras's cosine loss is the negative similarity, i.e. this minus 1.)
  With a single output per example it only compares signs.

Reduction: the weighted mean :math:`L = \sum_i w_i \ell_i / \sum_i w_i` (the plain mean
without weights; 0 for an empty batch or all-zero weights).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple, overload

import numpy as np
import torch
from torch import Tensor, nn

from assay._util.validation import check_choice, param_error, param_type_error

from ._checks import check_nonnegative_float, check_weights, shown
from ._tree import FuseForward, concat_inputs, resolve_fuse, split_outputs

__all__ = [
    "CLP_LOSSES",
    "CounterfactualBatch",
    "CounterfactualLoss",
    "CounterfactualModel",
    "counterfactual_logit_pairing_loss",
    "flip_binary_features",
    "pairwise_absolute_difference_loss",
    "pairwise_cosine_loss",
    "pairwise_mse_loss",
]

ClpLossName = Literal["mse", "absolute_difference", "cosine"]
CLP_LOSSES: tuple[str, ...] = ("mse", "absolute_difference", "cosine")
COSINE_EPSILON = 1.0e-12


def _prepare(
    original: Any, counterfactual: Any, weights: Any, *, func: str, check_inputs: bool
) -> tuple[Tensor, Tensor, Tensor | None]:
    for name, value in (("original", original), ("counterfactual", counterfactual)):
        if not isinstance(value, Tensor):
            raise param_type_error(name, "a torch.Tensor", value, func=func)
        if value.ndim == 0:
            raise param_error(
                name, "a tensor with a batch dimension", shown("a 0-d tensor"), func=func
            )
    if original.shape != counterfactual.shape:
        raise param_error(
            "counterfactual",
            f"a tensor of the same shape as 'original' {tuple(original.shape)}",
            shown(f"shape {tuple(counterfactual.shape)}"),
            func=func,
        )
    n = original.shape[0]
    d = int(np.prod(original.shape[1:], dtype=np.int64))
    o = original.reshape(n, d)
    c = counterfactual.reshape(n, d)
    if not o.is_floating_point():
        o = o.float()
    c = c.to(o.dtype)
    if weights is None:
        return o, c, None
    if not isinstance(weights, Tensor):
        weights = torch.as_tensor(weights)
    if weights.ndim == 2 and weights.shape[1] == 1:
        weights = weights[:, 0]
    if weights.ndim != 1 or weights.shape[0] != n:
        raise param_error(
            "weights",
            f"a tensor of weights with one entry per example ({n})",
            shown(f"shape {tuple(weights.shape)}"),
            func=func,
        )
    w = weights.to(dtype=o.dtype, device=o.device)
    if check_inputs:
        check_weights(w, func=func)
    return o, c, w


def _reduce(per_example: Tensor, weights: Tensor | None) -> Tensor:
    if weights is None:
        if per_example.numel() == 0:
            return per_example.sum()
        return per_example.mean()
    total = weights.sum()
    safe = torch.where(total > 0, total, torch.ones_like(total))
    return torch.where(total > 0, (weights * per_example).sum() / safe, total.new_zeros(()))


def pairwise_mse_loss(
    original: Tensor, counterfactual: Tensor, weights: Any = None, *, check_inputs: bool = True
) -> Tensor:
    r"""Weighted mean over examples of the mean squared difference :math:`(o - o')^2`.

    Parameters
    ----------
    original : Tensor
        Model outputs on the original examples, shape ``(N, ...)``.
    counterfactual : Tensor
        Model outputs on their counterfactuals, the same shape.
    weights : Tensor or array-like, optional
        Non-negative example weights, shape ``(N,)`` or ``(N, 1)``.
    check_inputs : bool, default True
        Check that the weights are non-negative (one device sync).

    Returns
    -------
    Tensor
        :math:`\sum_i w_i \ell_i / \sum_i w_i`, with :math:`\ell_i` the mean of
        :math:`(o_{id} - o'_{id})^2` over the non-batch dimensions.
    """
    o, c, w = _prepare(
        original, counterfactual, weights, func="pairwise_mse_loss", check_inputs=check_inputs
    )
    return _reduce((o - c).square().mean(dim=1), w)


def pairwise_absolute_difference_loss(
    original: Tensor, counterfactual: Tensor, weights: Any = None, *, check_inputs: bool = True
) -> Tensor:
    r"""Weighted mean over examples of the mean absolute difference :math:`|o - o'|`.

    Parameters are as in :func:`pairwise_mse_loss`. Where :math:`o = o'` the gradient of
    :math:`|o - o'|` is taken to be 0.
    """
    o, c, w = _prepare(
        original,
        counterfactual,
        weights,
        func="pairwise_absolute_difference_loss",
        check_inputs=check_inputs,
    )
    return _reduce((o - c).abs().mean(dim=1), w)


def pairwise_cosine_loss(
    original: Tensor, counterfactual: Tensor, weights: Any = None, *, check_inputs: bool = True
) -> Tensor:
    r"""Weighted mean over examples of the cosine distance :math:`1 - \cos(o_i, o'_i)`.

    .. math::

        \ell_i = 1 - \frac{o_i \cdot o'_i}{\nu(o_i)\,\nu(o'_i)}, \qquad
        \nu(v) = \sqrt{\max(\|v\|^2, 10^{-12})}

    over the flattened non-batch dimensions. The floor in :math:`\nu` keeps the value and the
    gradient finite for an all-zero output (then :math:`\ell_i = 1`). Parameters are as in
    :func:`pairwise_mse_loss`.
    """
    o, c, w = _prepare(
        original, counterfactual, weights, func="pairwise_cosine_loss", check_inputs=check_inputs
    )
    norm_o = o.square().sum(dim=1).clamp_min(COSINE_EPSILON).sqrt()
    norm_c = c.square().sum(dim=1).clamp_min(COSINE_EPSILON).sqrt()
    cosine = (o * c).sum(dim=1) / (norm_o * norm_c)
    return _reduce(1.0 - cosine, w)


_CLP_FUNCS: dict[str, Callable[..., Tensor]] = {
    "mse": pairwise_mse_loss,
    "absolute_difference": pairwise_absolute_difference_loss,
    "cosine": pairwise_cosine_loss,
}


class CounterfactualLoss(nn.Module):
    """Module form of the pairwise counterfactual losses.

    Parameters
    ----------
    kind : {"mse", "absolute_difference", "cosine"}, default "mse"
        Which per-example loss; see the module docstring.
    check_inputs : bool, default True
        Check that the weights are non-negative on every call.
    """

    def __init__(self, kind: ClpLossName = "mse", *, check_inputs: bool = True) -> None:
        super().__init__()
        self.kind: str = check_choice("kind", kind, CLP_LOSSES, func="CounterfactualLoss")
        self.check_inputs = check_inputs

    def forward(self, original: Tensor, counterfactual: Tensor, weights: Any = None) -> Tensor:
        """Compute the loss between outputs on originals and on counterfactuals."""
        return _CLP_FUNCS[self.kind](
            original, counterfactual, weights, check_inputs=self.check_inputs
        )

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"


ClpLossFn = Callable[[Tensor, Tensor, Tensor | None], Tensor]


def _resolve_clp(loss: Any, func: str) -> ClpLossFn:
    if isinstance(loss, str):
        check_choice("loss", loss, CLP_LOSSES, func=func)
        return CounterfactualLoss(loss)  # type: ignore[arg-type]
    if callable(loss):
        return loss
    raise param_type_error(
        "loss", "one of {'mse', 'absolute_difference', 'cosine'} or a callable", loss, func=func
    )


def counterfactual_logit_pairing_loss(
    model: Callable[..., Any],
    original: Any,
    counterfactual: Any,
    weights: Any = None,
    *,
    loss: ClpLossName | ClpLossFn = "mse",
    fuse_forward: FuseForward = "auto",
) -> Tensor:
    """Run ``model`` on originals and on their counterfactuals; return the pairing loss.

    Parameters
    ----------
    model : callable
        Any model (usually an ``nn.Module``) mapping a batch to outputs (logits).
    original, counterfactual : Tensor, or tuple / list / dict of tensors
        The two input batches, example ``i`` of one paired with example ``i`` of the other.
    weights : Tensor or array-like, optional
        Non-negative weights of the pairs, shape ``(N,)``.
    loss : {"mse", "absolute_difference", "cosine"} or callable, default "mse"
        The pairwise loss (see the module docstring) or ``loss(o, o_cf, weights)``.
    fuse_forward : {"auto", True, False}, default "auto"
        Run the model once on the concatenated batch (faster) or twice. ``"auto"`` fuses
        unless the model has batch-norm layers, whose statistics would mix the two batches.

    Returns
    -------
    Tensor
        The scalar loss, differentiable with respect to the model's parameters.
    """
    func = "counterfactual_logit_pairing_loss"
    loss_fn = _resolve_clp(loss, func)
    if resolve_fuse(fuse_forward, model, func=func):
        joined, sizes = concat_inputs([original, counterfactual], func=func)
        out_o, out_c = split_outputs(model(joined), sizes)
    else:
        out_o, out_c = model(original), model(counterfactual)
    return loss_fn(out_o, out_c, weights)


def flip_binary_features(x: Any, columns: int | Sequence[int]) -> Tensor:
    """Counterfactuals for 0/1 sensitive features: return a copy of ``x`` with ``1 - x[:, columns]``.

    Flipping both columns of a one-hot pair swaps the two categories.

    Parameters
    ----------
    x : Tensor or array-like
        Shape ``(N, F)``.
    columns : int or sequence of int
        Feature columns to flip.
    """
    func = "flip_binary_features"
    t = x if isinstance(x, Tensor) else torch.as_tensor(x)
    if t.ndim != 2:
        raise param_error("x", "a 2-D tensor (N, F)", shown(f"shape {tuple(t.shape)}"), func=func)
    cols = [columns] if isinstance(columns, int) else list(columns)
    for col in cols:
        if isinstance(col, bool) or not isinstance(col, int) or not -t.shape[1] <= col < t.shape[1]:
            raise param_error("columns", f"column indices in [0, {t.shape[1]})", columns, func=func)
    out = t.clone()
    out[:, cols] = 1 - out[:, cols]
    return out


class CounterfactualBatch(NamedTuple):
    """Originals and their counterfactuals for one CLP step.

    Attributes
    ----------
    original : Tensor (or tuple / dict of tensors)
        Original inputs.
    counterfactual : Tensor (or tuple / dict of tensors)
        Their counterfactuals, in the same order.
    weights : Tensor, optional
        Non-negative pair weights, shape ``(N,)``.
    """

    original: Any
    counterfactual: Any
    weights: Tensor | None = None


class CounterfactualModel(nn.Module):
    """Wrap any model to add ``loss_weight * clp_loss`` to its training loss.

    The wrapped model's class is untouched; ``forward`` runs it on the task batch and, when
    a :class:`CounterfactualBatch` is given, also on the originals and counterfactuals (one
    fused forward by default).

    Parameters
    ----------
    model : nn.Module
        The model; its outputs (logits) are compared.
    loss : {"mse", "absolute_difference", "cosine"} or callable, default "mse"
        The pairing loss.
    loss_weight : float, default 1.0
        Multiplier :math:`\\lambda` of the pairing loss.
    fuse_forward : {"auto", True, False}, default "auto"
        See :func:`counterfactual_logit_pairing_loss`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = CounterfactualModel(nn.Linear(3, 1), loss_weight=2.0)
    >>> x = torch.ones(4, 3)
    >>> out, penalty = net(x, CounterfactualBatch(x, flip_binary_features(x, 0)))
    >>> out.shape, penalty.ndim
    (torch.Size([4, 1]), 0)
    """

    def __init__(
        self,
        model: nn.Module,
        loss: ClpLossName | ClpLossFn = "mse",
        loss_weight: float = 1.0,
        *,
        fuse_forward: FuseForward = "auto",
    ) -> None:
        super().__init__()
        func = "CounterfactualModel"
        if not isinstance(model, nn.Module):
            raise param_type_error("model", "a torch.nn.Module", model, func=func)
        self.model = model
        self.loss_fn = _resolve_clp(loss, func)
        self.loss_weight = check_nonnegative_float("loss_weight", loss_weight, func=func)
        self.fuse_forward = resolve_fuse(fuse_forward, model, func=func)

    @overload
    def forward(self, inputs: Any, counterfactual: None = None) -> Any: ...
    @overload
    def forward(self, inputs: Any, counterfactual: CounterfactualBatch) -> tuple[Any, Tensor]: ...

    def forward(
        self, inputs: Any, counterfactual: CounterfactualBatch | None = None
    ) -> Any | tuple[Any, Tensor]:
        """Return ``model(inputs)``, or ``(model(inputs), loss_weight * clp_loss)``."""
        if counterfactual is None:
            return self.model(inputs)
        if self.fuse_forward:
            joined, sizes = concat_inputs(
                [inputs, counterfactual.original, counterfactual.counterfactual],
                func="CounterfactualModel",
            )
            outputs, out_o, out_c = split_outputs(self.model(joined), sizes)
        else:
            outputs = self.model(inputs)
            out_o = self.model(counterfactual.original)
            out_c = self.model(counterfactual.counterfactual)
        penalty = self.loss_fn(out_o, out_c, counterfactual.weights)
        return outputs, self.loss_weight * penalty

    def compute_loss(
        self,
        inputs: Any,
        targets: Any,
        task_loss_fn: Callable[[Any, Any], Tensor],
        counterfactual: CounterfactualBatch | None = None,
    ) -> dict[str, Tensor]:
        """Return ``{"loss": task + weighted CLP, "task_loss": ..., "clp_loss": weighted CLP}``."""
        if counterfactual is None:
            outputs = self.model(inputs)
            task = task_loss_fn(outputs, targets)
            return {"loss": task, "task_loss": task.detach(), "clp_loss": task.new_zeros(())}
        outputs, penalty = self(inputs, counterfactual)
        task = task_loss_fn(outputs, targets)
        return {"loss": task + penalty, "task_loss": task.detach(), "clp_loss": penalty.detach()}
