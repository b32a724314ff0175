"""assay: examine and fix machine-learning models and their data."""

from . import engines as _engines  # noqa: F401  (registers engine="spark")
from . import report as _report  # noqa: F401  (registers the result's renderers)
from ._version import __version__
from .core.slicing import bins
from .evaluation import EvalResult, MetricValue, SliceSpec, evaluate

__all__ = ["EvalResult", "MetricValue", "SliceSpec", "__version__", "bins", "evaluate"]

#: Capability subpackages, imported on first use (``assay.ood.msp_score(...)`` after a
#: plain ``import assay``), so that ``import assay`` stays light.
_SUBPACKAGES = ("ood", "privacy", "robustness", "uncertainty", "valuation")


def __getattr__(name: str) -> object:
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'assay' has no attribute {name!r}")
