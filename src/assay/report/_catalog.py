"""What the report and the model card know about metrics and plots: read from the one
catalogue, :mod:`assay.core.catalogue`; nothing here lists a metric by name.

A metric the catalogue does not know (for example in a result loaded from JSON written by
a family that is not installed) is shown under its id, without a definition, in the group
``"Other"``, with its threshold handling read from the result's own table.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow.compute as pc

from ..core import catalogue
from ..core.catalogue import MetricInfo, PlotInfo
from ..core.result import EvalResult

#: Group of metrics the catalogue does not know.
OTHER_GROUP = "Other"


def info(metric: str) -> MetricInfo | None:
    """The catalogue entry of ``metric`` (``None`` when unknown)."""
    return catalogue.metric(metric)


def metric_name(metric: str) -> str:
    """Display name of ``metric`` (the metric id itself when unknown)."""
    return catalogue.label(metric)


def metric_help(metric: str) -> str:
    """One-line definition of ``metric`` (empty when unknown)."""
    return catalogue.definition(metric)


def metric_group(metric: str, task: str | None = None) -> str:
    """Heading ``metric`` is listed under (for ``task``)."""
    e = info(metric)
    return OTHER_GROUP if e is None else e.group_for(task)


def has_gap(metric: str) -> bool:
    """Whether a difference from the baseline means something for ``metric`` (not a size)."""
    e = info(metric)
    return e is None or (e.gap != "none" and not e.size)


def is_size(metric: str) -> bool:
    """Whether ``metric`` is the size of the slice (shown for withheld slices too)."""
    e = info(metric)
    return e is not None and e.size


def task(result: EvalResult) -> str:
    """The result's task (results written before tasks existed are classification)."""
    return str(result.config.get("task") or "classification")


_METRICS: weakref.WeakKeyDictionary[EvalResult, list[str]] = weakref.WeakKeyDictionary()


def result_metrics(result: EvalResult) -> list[str]:
    """``result.metrics`` (in the result's order), read once per result: the page asks
    often, and at 1,000 slices reading the table's metric column takes seconds."""
    got = _METRICS.get(result)
    if got is None:
        col = result.to_arrow().column("metric")
        got = [str(m) for m in pc.unique(col).to_pylist()]
        _METRICS[result] = got
    return list(got)


def threshold_free_metrics(result: EvalResult) -> list[str]:
    """The result's metrics that have no value per threshold, in the result's order.

    The catalogue says which metrics are per threshold; for a metric it does not know,
    the result's table does (its rows carry no threshold).
    """
    unknown = [m for m in result_metrics(result) if info(m) is None]
    data_free: set[str] = set()
    if unknown:
        tbl = result.to_arrow()
        has_thr: dict[str, bool] = {}
        for m, t in zip(
            tbl.column("metric").to_pylist(), tbl.column("threshold").to_pylist(), strict=True
        ):
            finite = t is not None and math.isfinite(t)
            has_thr[m] = has_thr.get(m, False) or finite
        data_free = {m for m, h in has_thr.items() if not h}
    out = []
    for m in result_metrics(result):
        e = info(m)
        if (e is not None and not e.per_threshold) or (e is None and m in data_free):
            out.append(m)
    return out


def groups(metrics: Sequence[str], task: str | None = None) -> list[tuple[str, list[str]]]:
    """``metrics`` grouped under their catalogue headings.

    Groups come in the order of their first metric in ``metrics`` (the result's order,
    which is the families' run order); groups that hold only sizes (no metric with a gap,
    such as the row counts) come last.
    """
    out: dict[str, list[str]] = {}
    for m in metrics:
        out.setdefault(metric_group(m, task), []).append(m)
    items = list(out.items())
    return [g for g in items if any(has_gap(m) for m in g[1])] + [
        g for g in items if not any(has_gap(m) for m in g[1])
    ]


def metric_entry(metric: str, free: Iterable[str], task_name: str) -> dict[str, Any]:
    """Everything the page needs to know about ``metric``."""
    e = info(metric)
    if e is None:
        return {
            "name": metric, "help": "", "group": OTHER_GROUP, "family": None,
            "perThreshold": metric not in set(free), "better": None, "target": None,
            "gap": "difference", "lower": None, "upper": None, "size": False,
            "default": False,
        }  # fmt: skip
    lo, hi = e.bounds(task_name)
    return {
        "name": e.label, "help": e.definition, "group": e.group_for(task_name),
        "family": e.family,
        "perThreshold": e.per_threshold, "better": e.better, "target": _finite(e.target),
        "gap": e.gap, "lower": _finite(lo), "upper": _finite(hi), "size": e.size,
        "default": e.default,
    }  # fmt: skip


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


# ------------------------------------------------------------------------ plots
def plots_for(metrics: Iterable[str]) -> list[PlotInfo]:
    """Catalogue plots whose x and y metrics are all in ``metrics``."""
    have = set(metrics)
    return [p for p in catalogue.plots() if p.x in have and p.y in have]


def _stem(p: PlotInfo) -> str:
    return p.id[: -len("_plot")] if p.id.endswith("_plot") and len(p.id) > 5 else p.id


def plot_page_id(p: PlotInfo) -> str:
    """The plot's id on the page (``calibration_plot`` -> ``__calibration__``): the value
    of its ``data-metric`` attribute and of its checkbox; never a metric id."""
    return f"__{_stem(p)}__"


def plot_css_class(p: PlotInfo) -> str:
    """CSS class of the plot's card (``calibration_plot`` -> ``calibration-card``)."""
    return _stem(p).replace("_", "-") + "-card"
