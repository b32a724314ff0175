"""Out-of-distribution (OOD) detection: detectors and their evaluation.

Every detector gives an **outlier score, larger = more out-of-distribution** (the
pytorch-ood convention). Functional forms take logits (NumPy arrays or torch tensors) and
return a NumPy array; the classes follow scikit-learn's contract (configuration in
``__init__``, ``fit`` returns ``self``, learned state ends with ``_``, ``score`` returns one
score per example). The metrics (AUROC, AUPR, FPR at 95% TPR, ...) are those of the ``ood``
metric family of ``assay.evaluate(..., task="ood")``, where OOD is the positive class.

The model-based parts (ODIN, Mahalanobis with input perturbation, collecting logits and
features from a model, the PixelCNN likelihood ratio) need ``assay[torch]``; torch is imported
only when they are used. See ``docs/ood.md``.
"""

from __future__ import annotations

from typing import Any

from ._common import NotFittedError, compressed_bits
from .features import KNN, Mahalanobis, RelativeMahalanobis, ViM
from .logits import (
    MSP,
    Energy,
    EnsembleDisagreement,
    Entropy,
    MaxLogit,
    energy_score,
    ensemble_disagreement_score,
    entropy_score,
    max_logit_score,
    msp_score,
)
from .metrics import OOD_METRICS, ood_frame, ood_metrics
from .result import OODResult, evaluate_detectors
from .torch_utils import ODIN, MahalanobisPerturbed, Outputs, collect, odin_score

_LAZY = {
    "LikelihoodRatio": "likelihood",
    "warn_if_same_set": "likelihood",
    "PixelCNN": "pixelcnn",
    "train_pixelcnn": "pixelcnn",
    "mutate": "pixelcnn",
}


def __getattr__(name: str) -> Any:
    """The torch-based likelihood-ratio parts, imported on first use (``assay[torch]``)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "KNN",
    "MSP",
    "ODIN",
    "OOD_METRICS",
    "Energy",
    "EnsembleDisagreement",
    "Entropy",
    "LikelihoodRatio",
    "Mahalanobis",
    "MahalanobisPerturbed",
    "MaxLogit",
    "NotFittedError",
    "OODResult",
    "Outputs",
    "PixelCNN",
    "RelativeMahalanobis",
    "ViM",
    "collect",
    "compressed_bits",
    "energy_score",
    "ensemble_disagreement_score",
    "entropy_score",
    "evaluate_detectors",
    "max_logit_score",
    "msp_score",
    "mutate",
    "odin_score",
    "ood_frame",
    "ood_metrics",
    "train_pixelcnn",
    "warn_if_same_set",
]
