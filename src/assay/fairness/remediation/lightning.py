"""PyTorch Lightning integration of MinDiff: a ``LightningModule`` wrapping any model.

Importing this module imports ``lightning`` (install ``assay[lightning]``); the rest of
``assay.fairness.remediation`` does not need it.

Examples
--------
>>> import torch
>>> import lightning as L
>>> from torch import nn
>>> from assay.fairness.remediation import MinDiffLoader, build_mindiff_sets
>>> from assay.fairness.remediation.lightning import MinDiffLightningModule
>>> g = torch.Generator().manual_seed(0)
>>> x, y = torch.randn(64, 4, generator=g), (torch.arange(64) % 2).float()
>>> sets = build_mindiff_sets((x, y), sensitive=(torch.arange(64) < 32), label_value=0)
>>> loader = MinDiffLoader((x, y), sets, batch_size=16, seed=0)
>>> module = MinDiffLightningModule(
...     nn.Linear(4, 1),
...     lambda out, target: nn.functional.binary_cross_entropy_with_logits(out[:, 0], target),
...     loss="mmd", loss_weight=1.0, predictions_transform=torch.sigmoid)
>>> trainer = L.Trainer(max_epochs=1, accelerator="cpu", logger=False,
...                     enable_checkpointing=False, enable_progress_bar=False,
...                     enable_model_summary=False)
>>> trainer.fit(module, train_dataloaders=loader)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn

from assay._util.optional import require

from .losses import MinDiffLossFn
from .model import MinDiffModel, TaskLossFn, _unpack

L = require("lightning", "lightning", purpose="assay.fairness.remediation.lightning")

__all__ = ["MinDiffLightningModule"]

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]


class MinDiffLightningModule(L.LightningModule):  # type: ignore[name-defined]
    """A ``LightningModule`` that trains ``model`` on ``task_loss + loss_weight * mindiff_loss``.

    Feed it a :class:`~assay.fairness.remediation.MinDiffLoader` (items
    ``(task_batch, mindiff_batch)``); a batch without a MinDiff part trains (or validates)
    on the task loss alone. Logs ``train_loss``, ``train_task_loss`` and
    ``train_mindiff_loss`` (``val_*`` in validation).

    Parameters
    ----------
    model : nn.Module
        Any model; it is wrapped in a :class:`~assay.fairness.remediation.MinDiffModel`
        (available as ``self.mindiff_model``; ``self.model`` is the original).
    task_loss_fn : callable
        ``task_loss_fn(outputs, targets)`` (or with a third ``sample_weight`` argument for
        task batches of three tensors).
    loss, loss_weight, predictions_transform, fuse_forward, **loss_kwargs
        As in :class:`~assay.fairness.remediation.MinDiffModel`.
    optimizer : callable, optional
        ``optimizer(parameters) -> torch.optim.Optimizer``; by default Adam with
        learning rate ``lr``.
    lr : float, default 1e-3
        Learning rate of the default optimiser.
    """

    def __init__(
        self,
        model: nn.Module,
        task_loss_fn: TaskLossFn,
        *,
        loss: str | MinDiffLossFn = "mmd",
        loss_weight: float = 1.0,
        predictions_transform: Callable[[Any], Tensor] | None = None,
        fuse_forward: bool | str = "auto",
        optimizer: OptimizerFactory | None = None,
        lr: float = 1e-3,
        **loss_kwargs: Any,
    ) -> None:
        super().__init__()
        self.mindiff_model = MinDiffModel(
            model,
            loss,
            loss_weight,
            predictions_transform=predictions_transform,
            fuse_forward=fuse_forward,  # type: ignore[arg-type]
            **loss_kwargs,
        )
        self.task_loss_fn = task_loss_fn
        self.optimizer_factory = optimizer
        self.lr = float(lr)

    @property
    def model(self) -> nn.Module:
        """The wrapped (original) model."""
        return self.mindiff_model.model

    def forward(self, inputs: Any) -> Any:
        """The wrapped model's outputs."""
        return self.mindiff_model.model(inputs)

    def _step(self, batch: Any, stage: str) -> Tensor:
        inputs, targets, weight, mindiff = _unpack(batch)
        losses = self.mindiff_model.compute_loss(
            inputs, targets, self.task_loss_fn, mindiff, weight
        )
        size = int(inputs.shape[0]) if isinstance(inputs, Tensor) else None
        self.log(f"{stage}_loss", losses["loss"].detach(), prog_bar=True, batch_size=size)
        self.log(f"{stage}_task_loss", losses["task_loss"], batch_size=size)
        self.log(f"{stage}_mindiff_loss", losses["mindiff_loss"], batch_size=size)
        return losses["loss"]

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Total loss of one ``(task_batch, mindiff_batch)`` item."""
        return self._step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Validation losses (the MinDiff part only if the batch has one)."""
        return self._step(batch, "val")

    def predict_step(self, batch: Any, batch_idx: int) -> Any:
        """The model's outputs on a batch's inputs."""
        inputs = batch[0] if isinstance(batch, tuple | list) else batch
        return self.mindiff_model.model(inputs)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """The optimiser from ``optimizer``, or Adam(lr)."""
        params = self.mindiff_model.parameters()
        if self.optimizer_factory is not None:
            return self.optimizer_factory(params)
        return torch.optim.Adam(params, lr=self.lr)
