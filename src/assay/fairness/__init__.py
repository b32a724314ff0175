"""Fairness evaluation (sliced metrics, bias AUCs) and remediation (MinDiff, CLP).

The remediation losses need PyTorch (``pip install 'assay[torch]'``) and are imported
from :mod:`assay.fairness.remediation`.
"""

from ..evaluation import EvalResult, SliceSpec, evaluate

__all__ = ["EvalResult", "SliceSpec", "evaluate"]
