"""Remediation in training: MinDiff and counterfactual logit pairing for PyTorch models.

* Losses (functions and ``nn.Module``\\ s): :func:`absolute_correlation_loss`,
  :func:`mmd_loss` (Gaussian or Laplacian kernel), :func:`adjusted_mmd_loss`, and the
  counterfactual pairing losses :func:`pairwise_mse_loss`,
  :func:`pairwise_absolute_difference_loss`, :func:`pairwise_cosine_loss`. The MinDiff
  losses' functions are in :mod:`.functional`, their modules (and the registry of loss
  names) in :mod:`.losses`.
* Training: :class:`MinDiffModel` (wraps any model; adds ``loss_weight * mindiff_loss``),
  :func:`mindiff_train_step`, :func:`fit_mindiff`, :class:`CounterfactualModel`,
  :func:`counterfactual_logit_pairing_loss`; a Lightning module in
  :mod:`assay.fairness.remediation.lightning` (``MinDiffLightningModule``, also importable
  from here, which imports ``lightning`` on first use).
* Data: :func:`build_mindiff_sets`, :class:`MinDiffLoader`, :class:`MinDiffBatch`.

This subpackage needs PyTorch (``pip install 'assay[torch]'``).
"""

from __future__ import annotations

from typing import Any

from assay._util.optional import require

require("torch", "torch", purpose="assay.fairness.remediation")

from .counterfactual import (  # noqa: E402
    CLP_LOSSES,
    CounterfactualBatch,
    CounterfactualLoss,
    CounterfactualModel,
    counterfactual_logit_pairing_loss,
    flip_binary_features,
    pairwise_absolute_difference_loss,
    pairwise_cosine_loss,
    pairwise_mse_loss,
)
from .data import (  # noqa: E402
    MinDiffBatch,
    MinDiffLoader,
    MinDiffSets,
    build_mindiff_sets,
    pack_mindiff_batch,
)
from .functional import (  # noqa: E402
    absolute_correlation_loss,
    adjusted_mmd_loss,
    gaussian_kernel,
    laplacian_kernel,
    mmd_loss,
)
from .losses import (  # noqa: E402
    MINDIFF_LOSSES,
    AbsoluteCorrelationLoss,
    AdjustedMMDLoss,
    MMDLoss,
    get_mindiff_loss,
)
from .model import MinDiffModel, fit_mindiff, make_mlp, mindiff_train_step  # noqa: E402

__all__ = [
    "CLP_LOSSES",
    "MINDIFF_LOSSES",
    "AbsoluteCorrelationLoss",
    "AdjustedMMDLoss",
    "CounterfactualBatch",
    "CounterfactualLoss",
    "CounterfactualModel",
    "MMDLoss",
    "MinDiffBatch",
    "MinDiffLoader",
    "MinDiffModel",
    "MinDiffSets",
    "absolute_correlation_loss",
    "adjusted_mmd_loss",
    "build_mindiff_sets",
    "counterfactual_logit_pairing_loss",
    "fit_mindiff",
    "flip_binary_features",
    "gaussian_kernel",
    "get_mindiff_loss",
    "laplacian_kernel",
    "make_mlp",
    "mindiff_train_step",
    "mmd_loss",
    "pack_mindiff_batch",
    "pairwise_absolute_difference_loss",
    "pairwise_cosine_loss",
    "pairwise_mse_loss",
]


def __getattr__(name: str) -> Any:
    # The Lightning module is loaded on first use so that lightning stays optional.
    if name == "MinDiffLightningModule":
        from .lightning import MinDiffLightningModule

        return MinDiffLightningModule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
