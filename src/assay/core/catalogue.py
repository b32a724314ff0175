"""The one catalogue of metrics: what each metric is, read by everything that shows one.

A metric family (see :mod:`assay.core.family`) declares its metrics as :class:`MetricInfo`
entries and its plots as :class:`PlotInfo` entries; :func:`register` adds them here when
the family's module is imported. The result (range clipping, intervals, threshold
handling), its JSON (the ``catalogue`` section), the HTML report (names, definitions,
groups, default charts, plots) and the model card (default metrics, which metrics have
gaps) all read this catalogue; none of them lists metrics by hand.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Better = Literal["higher", "lower", "target"]
Gap = Literal["difference", "ratio", "none"]


@dataclass(frozen=True)
class MetricInfo:
    """One catalogue entry.

    Attributes
    ----------
    name
        Metric id, as in the ``metric`` column of the tidy table (``"fpr"``).
    label
        Display name (``"False positive rate"``).
    definition
        One-line definition shown next to the metric.
    family
        Name of the metric family that computes it.
    group
        Heading the report and the model card list it under (``"At the threshold"``).
    per_threshold
        Whether the metric has one value per decision threshold.
    lower, upper
        Range of the metric; interval ends are clipped to it.
    better
        Which direction is better: ``"higher"``, ``"lower"``, ``"target"`` (closer to
        ``target``), or ``None`` (neither: a size or a description of the data).
    target
        The ideal value when ``better == "target"``.
    gap
        How a gap from the baseline slice is read: ``"difference"`` (value minus the
        baseline's), ``"ratio"`` (value over the baseline's) or ``"none"`` (never listed as
        a gap: a size, not a property of the model).
    interval
        Whether the metric gets a confidence interval.
    default
        Charted by default in the report and listed by default in the model card.
    task_ranges
        Narrower ranges for some tasks, as ``(task, lower, upper)`` (``mean_label`` is in
        [0, 1] for binary labels, unbounded for regression).
    size
        The metric is the size of the slice (the row count): reported for withheld
        slices too, never compared with the baseline.
    card
        Listed by default in the model card besides the ``default`` entries (the card's
        tables have room for more metrics than the report has charts: precision,
        accuracy, the bias AUCs, the means).
    denominator
        For a proportion (a rate with a known denominator): the count metrics of the same
        family whose sum is its denominator (``("fp", "tn")`` for the false positive
        rate). The finalizer then gives it a binomial score interval where the replicate
        interval is unreliable and withholds it when the denominator is below
        ``min_denominator`` (see docs/evaluation.md). Empty for other metrics.
    denominator_label
        What the denominator counts, for messages (``"negatives"``).
    """

    name: str
    label: str
    definition: str
    family: str
    group: str
    per_threshold: bool = False
    lower: float = -math.inf
    upper: float = math.inf
    better: Better | None = None
    target: float | None = None
    gap: Gap = "difference"
    interval: bool = True
    default: bool = False
    size: bool = False
    task_ranges: tuple[tuple[str, float, float], ...] = ()
    task_groups: tuple[tuple[str, str], ...] = ()
    card: bool = False
    denominator: tuple[str, ...] = ()
    denominator_label: str = ""

    @property
    def proportion(self) -> bool:
        """Whether the metric is a proportion with a known denominator."""
        return bool(self.denominator)

    def bounds(self, task: str) -> tuple[float, float]:
        """The metric's range for ``task``."""
        for t, lo, hi in self.task_ranges:
            if t == task:
                return lo, hi
        return self.lower, self.upper

    def group_for(self, task: str | None) -> str:
        """The heading the metric is listed under for ``task`` (``task_groups`` names
        other headings for some tasks: the mean label is calibration for a classifier,
        part of the regression metrics for a regression)."""
        for t, g in self.task_groups:
            if t == task:
                return g
        return self.group

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (infinite bounds as ``None``)."""
        out = asdict(self)
        for k in ("lower", "upper"):
            if not math.isfinite(out[k]):
                out[k] = None
        out["denominator"] = list(self.denominator)
        out["task_groups"] = [list(x) for x in self.task_groups]
        out["task_ranges"] = [
            [t, lo if math.isfinite(lo) else None, hi if math.isfinite(hi) else None]
            for t, lo, hi in self.task_ranges
        ]
        return out


@dataclass(frozen=True)
class PlotInfo:
    """A plot of one metric against another per slice (e.g. calibration: mean score
    against mean label), with the metrics tabulated under it."""

    id: str
    title: str
    help: str
    family: str
    x: str
    y: str
    x_label: str
    y_label: str
    table: tuple[str, ...] = ()
    diagonal: str | None = None  # legend text of the y = x line, or None for no line
    default: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["table"] = list(self.table)
        return out


@dataclass
class _Catalogue:
    metrics: dict[str, MetricInfo] = field(default_factory=dict)
    plots: dict[str, PlotInfo] = field(default_factory=dict)
    rank: dict[str, tuple[int, int]] = field(default_factory=dict)


_CATALOGUE = _Catalogue()


def register(*entries: MetricInfo | PlotInfo, order: int = 100) -> None:
    """Add entries to the catalogue. Re-registering an identical entry is a no-op; a
    different entry under a registered name raises ``ValueError``. Entries are listed by
    ``order`` (their family's run order), then in registration order."""
    for e in entries:
        table: dict[str, Any] = (
            _CATALOGUE.metrics if isinstance(e, MetricInfo) else _CATALOGUE.plots
        )
        key = e.name if isinstance(e, MetricInfo) else e.id
        old = table.get(key)
        if old is not None and old != e:
            raise ValueError(
                f"The metric catalogue already has an entry {key!r} (from family "
                f"{old.family!r}); choose another name."
            )
        if old is None:
            table[key] = e
            rank_key = ("m:" if isinstance(e, MetricInfo) else "p:") + key
            _CATALOGUE.rank[rank_key] = (order, len(_CATALOGUE.rank))


def metric(name: str) -> MetricInfo | None:
    """The entry of metric ``name``, or ``None`` when it is not in the catalogue."""
    return _CATALOGUE.metrics.get(name)


def metrics() -> list[MetricInfo]:
    """Every metric entry, by family order (the order of the report's controls)."""
    return sorted(_CATALOGUE.metrics.values(), key=lambda e: _CATALOGUE.rank["m:" + e.name])


def plots() -> list[PlotInfo]:
    """Every plot entry, by family order."""
    return sorted(_CATALOGUE.plots.values(), key=lambda e: _CATALOGUE.rank["p:" + e.id])


def label(name: str) -> str:
    """Display name of ``name`` (the id itself when unknown)."""
    e = metric(name)
    return name if e is None else e.label


def definition(name: str) -> str:
    """One-line definition of ``name`` (empty when unknown)."""
    e = metric(name)
    return "" if e is None else e.definition


def per_threshold(name: str) -> bool:
    """Whether ``name`` has a value per threshold (``False`` when unknown)."""
    e = metric(name)
    return False if e is None else e.per_threshold


def markdown() -> str:
    """The catalogue as Markdown (``docs/metrics.md`` is this text; ``assay metrics``
    prints it)."""

    def rng(e: MetricInfo) -> str:
        def f(v: float) -> str:
            return "" if not math.isfinite(v) else f"{v:g}"

        parts = []
        if math.isfinite(e.lower) or math.isfinite(e.upper):
            parts.append(f"[{f(e.lower) or '-inf'}, {f(e.upper) or 'inf'}]")
        for t, lo, hi in e.task_ranges:
            parts.append(f"{t}: [{f(lo) or '-inf'}, {f(hi) or 'inf'}]")
        return "; ".join(parts) or "any"

    def better(e: MetricInfo) -> str:
        if e.better == "target":
            return f"closer to {e.target:g}"
        return e.better or ""

    lines = [
        "# Metrics",
        "",
        "Generated from the metric catalogue (`assay.core.catalogue`; `assay metrics` prints "
        "it). The result, its JSON, the report and the model card read the same entries.",
        "",
    ]
    by_family: dict[str, list[MetricInfo]] = {}
    for e in metrics():
        by_family.setdefault(e.family, []).append(e)
    for fam, entries in by_family.items():
        lines += [f"## Family `{fam}`", ""]
        lines += ["| metric | name | definition | per threshold | range | better | gap |"]
        lines += ["|---|---|---|---|---|---|---|"]
        for e in entries:
            lines.append(
                f"| `{e.name}` | {e.label} | {e.definition.replace('|', chr(92) + '|')} | "
                f"{'yes' if e.per_threshold else ''} | {rng(e)} | {better(e)} | "
                f"{'' if e.gap == 'none' else e.gap} |"
            )
        lines.append("")
    if plots():
        lines += ["## Plots", "", "| plot | family | x | y | shows |", "|---|---|---|---|---|"]
        for p in plots():
            lines.append(
                f"| `{p.id}` | {p.family} | `{p.x}` | `{p.y}` | {p.help.replace('|', chr(92) + '|')} |"
            )
        lines.append("")
    return "\n".join(lines)
