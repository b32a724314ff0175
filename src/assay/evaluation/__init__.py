"""Sliced evaluation: :func:`evaluate` and its built-in metric families."""

from ..core.plan import DEFAULT_THRESHOLDS, ROW_CONTENT, Plan
from ..core.result import EvalResult, MetricValue, SliceInfo
from ..core.slicing import SliceSpec, bins
from ..core.state import EvalState
from .evaluate import evaluate

__all__ = [
    "DEFAULT_THRESHOLDS",
    "ROW_CONTENT", "EvalResult", "EvalState", "MetricValue", "Plan", "SliceInfo", "SliceSpec",
    "bins", "evaluate",
]  # fmt: skip
