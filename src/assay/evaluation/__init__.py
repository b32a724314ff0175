"""Sliced evaluation: mergeable per-chunk state, finalized into metrics with intervals."""

from .evaluate import DEFAULT_THRESHOLDS, ROW_CONTENT, evaluate
from .result import EvalResult, MetricValue
from ..core.slicing import SliceSpec
from .state import EvalState

__all__ = [
    "DEFAULT_THRESHOLDS",
    "ROW_CONTENT", "EvalResult", "EvalState", "MetricValue", "SliceSpec", "evaluate"]
