"""assay: examine and fix machine-learning models and their data."""

from .evaluation import EvalResult, MetricValue, SliceSpec, evaluate

__version__ = "0.1.0"

__all__ = ["EvalResult", "MetricValue", "SliceSpec", "__version__", "evaluate"]
