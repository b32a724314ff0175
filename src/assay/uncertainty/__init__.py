"""Uncertainty and calibration: metrics (NumPy) and methods (PyTorch) around any model.

Metrics (:mod:`.metrics`, no PyTorch): :func:`expected_calibration_error`,
:func:`maximum_calibration_error`, :func:`classwise_calibration_error`,
:func:`negative_log_likelihood`, :func:`brier_score`, :func:`accuracy`,
:func:`risk_coverage_curve`, :func:`area_under_risk_coverage`,
:func:`misclassification_auroc`, :func:`reliability_diagram` and the uncertainty scores
:func:`predictive_entropy`, :func:`mutual_information`, :func:`disagreement`.

Streaming (:mod:`.streaming`, bounded memory, mergeable): :class:`StreamingCalibration`.

Post-hoc calibration (:mod:`.scaling`; PyTorch is imported when fitting):
:class:`TemperatureScaling`, :class:`VectorScaling`.

Methods needing PyTorch, imported on first use (``pip install 'assay[torch]'``):
:class:`DeepEnsemble`, :class:`MCDropout` / :func:`mc_dropout_probs` and
:func:`uncertainty_scores` (:mod:`.ensembles`); :class:`SNGPClassifier`,
:class:`RandomFeatureGP`, :func:`spectral_normalize`, :class:`BoundedSpectralLinear`,
:class:`BoundedSpectralConv` (:mod:`.sngp`).

On the platform (per slice, with intervals; imported on first use):
:func:`evaluate_uncertainty` returning an :class:`UncertaintyResult` (``to_frame``,
``to_json``, ``to_section``, ``to_html``), over ``assay.evaluate(..., task="uncertainty")``.

Distribution shift (:mod:`.shift`, NumPy): :func:`corrupt` and :func:`corrupted_sets`
(rotation, translation, shot noise, Gaussian blur, contrast, pixelation, JPEG at severities
1..5, seeded), whose ``shift`` / ``severity`` columns are slices of one evaluation.

See ``docs/uncertainty.md``.
"""

from __future__ import annotations

from typing import Any

from .metrics import (
    NLL_EPS,
    PROB_ATOL,
    ReliabilityDiagram,
    accuracy,
    area_under_risk_coverage,
    brier_score,
    classwise_calibration_error,
    disagreement,
    expected_calibration_error,
    expected_entropy,
    maximum_calibration_error,
    misclassification_auroc,
    mutual_information,
    negative_log_likelihood,
    predictive_entropy,
    reliability_diagram,
    risk_coverage_curve,
    to_probabilities,
)
from .scaling import TemperatureScaling, VectorScaling
from .streaming import StreamingCalibration

#: Names served lazily from the PyTorch modules (imported on first use).
_LAZY = {
    "DeepEnsemble": "ensembles", "MCDropout": "ensembles", "mc_dropout_probs": "ensembles",
    "predict_member_probs": "ensembles", "uncertainty_scores": "ensembles",
    "SNGPClassifier": "sngp", "RandomFeatureGP": "sngp", "BoundedSpectralLinear": "sngp",
    "BoundedSpectralConv": "sngp", "CONV_INIT_ITERATIONS": "sngp",
    "spectral_normalize": "sngp", "mean_field_logits": "sngp",
    "UncertaintyResult": "result", "evaluate_uncertainty": "result",
    "corrupt": "shift", "corrupted_sets": "shift", "CORRUPTIONS": "shift",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'assay.uncertainty' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{mod}"), name)

__all__ = [
    "NLL_EPS",
    "PROB_ATOL",
    "ReliabilityDiagram",
    "StreamingCalibration",
    "TemperatureScaling",
    "VectorScaling",
    "accuracy",
    "area_under_risk_coverage",
    "brier_score",
    "classwise_calibration_error",
    "disagreement",
    "expected_calibration_error",
    "expected_entropy",
    "maximum_calibration_error",
    "misclassification_auroc",
    "mutual_information",
    "negative_log_likelihood",
    "predictive_entropy",
    "reliability_diagram",
    "risk_coverage_curve",
    "to_probabilities",
]  # fmt: skip
