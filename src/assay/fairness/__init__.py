"""Fairness evaluation (sliced metrics, bias AUCs) and remediation (MinDiff, CLP).

The remediation names below need PyTorch (``pip install 'assay[torch]'``); they are imported
on first use, so ``import assay.fairness`` does not import torch.
"""

from __future__ import annotations

from typing import Any

from ..evaluation import EvalResult, SliceSpec, evaluate

_REMEDIATION = {
    "AbsoluteCorrelationLoss",
    "AdjustedMMDLoss",
    "CounterfactualModel",
    "MMDLoss",
    "MinDiffBatch",
    "MinDiffLoader",
    "MinDiffModel",
    "absolute_correlation_loss",
    "adjusted_mmd_loss",
    "build_mindiff_sets",
    "counterfactual_logit_pairing_loss",
    "fit_mindiff",
    "mmd_loss",
}

__all__ = ["EvalResult", "SliceSpec", "evaluate", *sorted(_REMEDIATION)]


def __getattr__(name: str) -> Any:
    if name in _REMEDIATION:
        from . import remediation

        return getattr(remediation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
