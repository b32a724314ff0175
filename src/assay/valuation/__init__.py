"""Data valuation: how much each training row is worth to a model's validation performance.

Every method follows one API: ``fit(x_train, y_train, x_val, y_val)`` returns the method, and
``values_`` holds one value per training row (larger = more valuable). Exact KNN-Shapley
(:func:`knn_shapley`; :func:`knn_shapley_regression` for numeric labels), leave-one-out, Truncated Monte Carlo Shapley, Beta Shapley, Data
Banzhaf and DVRL (``assay[torch]``, imported on first use); their uses as pure functions
(:func:`discovery_curve`, :func:`detection_scores`, :func:`point_removal`,
:func:`robust_fit`, :func:`domain_adaptation`) and :class:`ValuationResult` (frame, JSON,
report section; :func:`value_bins` to slice on values in ``assay.evaluate``). scikit-learn is needed by the
model-based methods (``assay[valuation]``). See ``docs/valuation.md``.
"""

from __future__ import annotations

from typing import Any

from ._common import ModelUtility, NotFittedError, knn_utility
from .knn import KNNRegressionShapley, KNNShapley, knn_shapley, knn_shapley_regression
from .loo import LeaveOneOut, leave_one_out
from .result import ValuationResult, valuation_result, value_bins
from .sampling import BetaShapley, DataBanzhaf, TMCShapley, beta_shapley_weights, gelman_rubin
from .uses import (
    DiscoveryCurve,
    DomainAdaptation,
    RemovalCurve,
    detection_scores,
    discovery_curve,
    domain_adaptation,
    point_removal,
    robust_fit,
    selection_weights,
)

_LAZY = {"DVRL": "dvrl", "TorchClassifier": "dvrl", "ValueEstimator": "dvrl"}


def __getattr__(name: str) -> Any:
    """The torch-based parts (DVRL), imported on first use (``assay[torch]``)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DVRL",
    "BetaShapley",
    "DataBanzhaf",
    "DiscoveryCurve",
    "DomainAdaptation",
    "KNNRegressionShapley",
    "KNNShapley",
    "LeaveOneOut",
    "ModelUtility",
    "NotFittedError",
    "RemovalCurve",
    "TMCShapley",
    "TorchClassifier",
    "ValuationResult",
    "ValueEstimator",
    "beta_shapley_weights",
    "detection_scores",
    "discovery_curve",
    "domain_adaptation",
    "gelman_rubin",
    "knn_shapley",
    "knn_shapley_regression",
    "knn_utility",
    "leave_one_out",
    "point_removal",
    "robust_fit",
    "selection_weights",
    "valuation_result",
    "value_bins",
]
