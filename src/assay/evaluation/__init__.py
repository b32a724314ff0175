"""Sliced evaluation: mergeable per-chunk state, finalized into metrics with intervals."""

from .evaluate import DEFAULT_THRESHOLDS, evaluate
from .result import EvalResult, MetricValue
from .slicing import SliceSpec
from .state import EvalState

__all__ = ["DEFAULT_THRESHOLDS", "EvalResult", "EvalState", "MetricValue", "SliceSpec", "evaluate"]
