"""assay: examine and fix machine-learning models and their data."""

from . import engines as _engines  # noqa: F401  (registers engine="spark")
from . import report as _report  # noqa: F401  (registers the result's renderers)
from ._version import __version__
from .core.slicing import bins
from .evaluation import EvalResult, MetricValue, SliceSpec, evaluate

__all__ = ["EvalResult", "MetricValue", "SliceSpec", "__version__", "bins", "evaluate"]
