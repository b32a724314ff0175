r"""Add a MinDiff penalty to any PyTorch model's training loss.

The total loss of a step is

.. math::

    L = L_{\text{task}}(f(x), y) + \lambda \, L_{\text{MinDiff}}\big(g(f(x^{md})), s^{md}, w^{md}\big)

where :math:`f` is the user's model (its class is not changed), :math:`x^{md}` is a MinDiff
batch (sensitive-group examples, then the other group's) with membership :math:`s^{md}`
and weights :math:`w^{md}`, :math:`g` an optional ``predictions_transform`` (e.g. a sigmoid
on logits) and :math:`\lambda` the ``loss_weight``. By default the model runs once on the
task and MinDiff batches concatenated.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, overload

import torch
from torch import Tensor, nn

from assay._util.validation import check_int, param_type_error

from ._checks import check_nonnegative_float
from ._tree import FuseForward, concat_inputs, resolve_fuse, split_outputs
from .data import MinDiffBatch
from .losses import AbsoluteCorrelationLoss, MinDiffLossFn, MMDLoss, get_mindiff_loss

__all__ = ["MinDiffModel", "TaskLossFn", "fit_mindiff", "make_mlp", "mindiff_train_step"]

TaskLossFn = Callable[..., Tensor]
"""``task_loss_fn(outputs, targets)`` or, for batches with sample weights,
``task_loss_fn(outputs, targets, weights)``; returns a scalar."""


class MinDiffModel(nn.Module):
    r"""Wrap a model to compute ``loss_weight * mindiff_loss`` next to its outputs.

    Like TF Model Remediation's ``MinDiffModel``: the wrapped model is used as is, and the
    MinDiff penalty is computed on its outputs for a separate MinDiff batch.

    Parameters
    ----------
    model : nn.Module
        Any model.
    loss : str or callable, default "mmd"
        A name from :data:`~assay.fairness.remediation.losses.MINDIFF_LOSSES` (``"mmd"``,
        ``"laplacian_mmd"``, ``"adjusted_mmd"``, ``"absolute_correlation"``, ...) or any
        ``loss(predictions, membership, weights) -> scalar``.
    loss_weight : float, default 1.0
        The multiplier :math:`\lambda`.
    predictions_transform : callable, optional
        Applied to the model's output on the MinDiff batch before the loss, e.g.
        ``torch.sigmoid`` to compare probabilities rather than logits (recommended for the
        MMD losses with their default kernel length of 0.1), or a function that picks one
        output of a multi-output model.
    fuse_forward : {"auto", True, False}, default "auto"
        Run the model once on the concatenated task and MinDiff batches. ``"auto"`` fuses
        unless the model contains batch-norm layers (their statistics would mix the two).
    **loss_kwargs
        Passed to a named loss (e.g. ``kernel_length=0.2``, ``chunk_size=1024``).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from assay.fairness.remediation import MinDiffBatch
    >>> net = MinDiffModel(nn.Linear(3, 1), loss="mmd", loss_weight=1.5,
    ...                    predictions_transform=torch.sigmoid)
    >>> md = MinDiffBatch(torch.randn(6, 3, generator=torch.Generator().manual_seed(0)),
    ...                   torch.tensor([1.0, 1, 1, 0, 0, 0]))
    >>> outputs, penalty = net(torch.zeros(4, 3), md)
    >>> outputs.shape, penalty.ndim
    (torch.Size([4, 1]), 0)
    """

    def __init__(
        self,
        model: nn.Module,
        loss: str | MinDiffLossFn = "mmd",
        loss_weight: float = 1.0,
        *,
        predictions_transform: Callable[[Any], Tensor] | None = None,
        fuse_forward: FuseForward = "auto",
        **loss_kwargs: Any,
    ) -> None:
        super().__init__()
        func = "MinDiffModel"
        if not isinstance(model, nn.Module):
            raise param_type_error("model", "a torch.nn.Module", model, func=func)
        if predictions_transform is not None and not callable(predictions_transform):
            raise param_type_error(
                "predictions_transform", "a callable or None", predictions_transform, func=func
            )
        self.model = model
        self.mindiff_loss = get_mindiff_loss(loss, **loss_kwargs)
        self.loss_weight = check_nonnegative_float("loss_weight", loss_weight, func=func)
        self.predictions_transform = predictions_transform
        self.fuse_forward = resolve_fuse(fuse_forward, model, func=func)

    @overload
    def forward(self, inputs: Any, mindiff: None = None) -> Any: ...
    @overload
    def forward(self, inputs: Any, mindiff: MinDiffBatch) -> tuple[Any, Tensor]: ...

    def forward(self, inputs: Any, mindiff: MinDiffBatch | None = None) -> Any | tuple[Any, Tensor]:
        """Return ``model(inputs)``; with a MinDiff batch, ``(model(inputs), weighted penalty)``.

        Parameters
        ----------
        inputs : Tensor (or tuple / list / dict of tensors)
            The task batch.
        mindiff : MinDiffBatch, optional
            ``(inputs, membership, weights)`` for the penalty.
        """
        if mindiff is None:
            return self.model(inputs)
        if self.fuse_forward:
            joined, sizes = concat_inputs([inputs, mindiff.inputs], func="MinDiffModel")
            outputs, md_outputs = split_outputs(self.model(joined), sizes)
        else:
            outputs = self.model(inputs)
            md_outputs = self.model(mindiff.inputs)
        return outputs, self.mindiff_penalty(md_outputs, mindiff)

    def mindiff_penalty(self, mindiff_outputs: Any, mindiff: MinDiffBatch) -> Tensor:
        """``loss_weight * mindiff_loss(transform(mindiff_outputs), membership, weights)``."""
        preds = mindiff_outputs
        if self.predictions_transform is not None:
            preds = self.predictions_transform(preds)
        loss = self.mindiff_loss
        if isinstance(loss, MMDLoss | AbsoluteCorrelationLoss):  # weight fused into the kernel
            return loss._weighted(preds, mindiff.membership, mindiff.weights, self.loss_weight)
        return self.loss_weight * loss(preds, mindiff.membership, mindiff.weights)

    def compute_loss(
        self,
        inputs: Any,
        targets: Any,
        task_loss_fn: TaskLossFn,
        mindiff: MinDiffBatch | None = None,
        sample_weight: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """Return ``{"loss", "task_loss", "mindiff_loss"}`` for one batch.

        ``loss = task_loss + loss_weight * mindiff_loss`` is the one to differentiate;
        ``task_loss`` and ``mindiff_loss`` (already multiplied by ``loss_weight``) are
        detached, for logging.
        """
        if mindiff is None:
            outputs = self.model(inputs)
            penalty: Tensor | None = None
        else:
            outputs, penalty = self(inputs, mindiff)
        if sample_weight is None:
            task = task_loss_fn(outputs, targets)
        else:
            task = task_loss_fn(outputs, targets, sample_weight)
        if penalty is None:
            return {"loss": task, "task_loss": task.detach(), "mindiff_loss": task.new_zeros(())}
        return {
            "loss": task + penalty,
            "task_loss": task.detach(),
            "mindiff_loss": penalty.detach(),
        }


def _unpack(batch: Any) -> tuple[Any, Any, Tensor | None, MinDiffBatch | None]:
    """Split a loader item into ``(inputs, targets, sample_weight, mindiff)``."""
    mindiff: MinDiffBatch | None = None
    task = batch
    if isinstance(batch, tuple | list) and len(batch) == 2 and isinstance(batch[1], MinDiffBatch):
        task, mindiff = batch[0], batch[1]
    elif isinstance(batch, tuple | list) and len(batch) == 2 and batch[1] is None:
        task = batch[0]
    if not isinstance(task, tuple | list) or len(task) not in (2, 3):
        raise TypeError(
            "Expected a task batch (inputs, targets) or (inputs, targets, sample_weight), "
            f"optionally paired with a MinDiffBatch; got {type(task).__name__}."
        )
    weight = task[2] if len(task) == 3 else None
    return task[0], task[1], weight, mindiff


def mindiff_train_step(
    model: MinDiffModel,
    optimizer: torch.optim.Optimizer,
    task_loss_fn: TaskLossFn,
    batch: Any,
) -> dict[str, Tensor]:
    """One optimisation step on a ``(task_batch, mindiff_batch)`` pair from :class:`MinDiffLoader`.

    Zeroes the gradients, computes ``task_loss + loss_weight * mindiff_loss``, back-propagates
    and steps the optimiser. A batch without a MinDiff part trains on the task loss only.

    Returns
    -------
    dict of str to Tensor
        Detached ``loss``, ``task_loss`` and ``mindiff_loss``.
    """
    inputs, targets, weight, mindiff = _unpack(batch)
    optimizer.zero_grad(set_to_none=True)
    losses = model.compute_loss(inputs, targets, task_loss_fn, mindiff, weight)
    losses["loss"].backward()
    optimizer.step()
    losses["loss"] = losses["loss"].detach()
    return losses


def fit_mindiff(
    model: MinDiffModel,
    loader: Iterable[Any],
    task_loss_fn: TaskLossFn,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int = 1,
) -> list[dict[str, float]]:
    """A plain training loop: ``epochs`` passes of :func:`mindiff_train_step` over ``loader``.

    Returns
    -------
    list of dict
        Per epoch, the mean ``loss``, ``task_loss`` and ``mindiff_loss`` over its batches.
    """
    history: list[dict[str, float]] = []
    model.train()
    for _ in range(epochs):
        sums: dict[str, float] = {}
        count = 0
        for batch in loader:
            losses = mindiff_train_step(model, optimizer, task_loss_fn, batch)
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            count += 1
        history.append({k: v / max(count, 1) for k, v in sums.items()})
    return history


def make_mlp(
    in_features: int,
    hidden: Sequence[int] = (64, 64),
    out_features: int = 1,
    *,
    generator: torch.Generator | None = None,
    seed: int = 0,
) -> nn.Sequential:
    r"""A ReLU multi-layer perceptron initialised from an explicit generator.

    The layers are created without their default initialisation (which would draw from the
    global random state) and then initialised like ``nn.Linear``'s default:
    weights and biases uniform in :math:`\pm 1/\sqrt{\text{fan\_in}}`.

    Parameters
    ----------
    in_features : int
        Input width.
    hidden : sequence of int, default (64, 64)
        Hidden layer widths.
    out_features : int, default 1
        Output width (1 logit for binary classification).
    generator : torch.Generator, optional
        Source of the initial weights; by default a CPU generator seeded with ``seed``.
    seed : int, default 0
        Seed of the default generator.
    """
    func = "make_mlp"
    widths = [check_int("in_features", in_features, minimum=1, func=func)]
    widths += [check_int("hidden", h, minimum=1, func=func) for h in hidden]
    widths.append(check_int("out_features", out_features, minimum=1, func=func))
    if generator is None:
        generator = torch.Generator().manual_seed(check_int("seed", seed, func=func))
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
        linear = torch.nn.utils.skip_init(nn.Linear, fan_in, fan_out)
        bound = 1.0 / math.sqrt(fan_in)
        with torch.no_grad():
            linear.weight.uniform_(-bound, bound, generator=generator)
            linear.bias.uniform_(-bound, bound, generator=generator)
        layers.append(linear)
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)
