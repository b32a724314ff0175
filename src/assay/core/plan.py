"""The evaluation plan: validated configuration, built once, shared by every engine.

:meth:`Plan.build` checks the arguments of :func:`assay.evaluate` (with messages that name
the calling function) and derives everything an engine needs: the columns to read, the
scored heads (model, class), the slice specs, the replication scheme, and the metric
families that apply to the task. Engines (:mod:`assay.core.engine`, ``assay.engines``)
take a plan and return a merged :class:`~assay.core.state.EvalState`;
:func:`assay.core.finalize.finalize` turns it into the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from .._util.validation import (
    check_choice,
    check_fraction,
    check_int,
    missing_column_error,
    param_error,
    param_type_error,
)
from .layout import FamilyInstance, Task
from .registry import families, tasks
from .replicates import Replication, make_replication
from .slicing import OVERALL, SliceSpec, parse_slices, slice_name
from .stats import ADJUSTMENTS

if TYPE_CHECKING:
    from ..io.tables import TableSource

DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(round(0.1 * i, 10) for i in range(1, 10))

#: ``row_key`` value that hashes each row's content (label, scores, weight, slice values)
#: instead of its position: the same on any chunking, order or partitioning. Identical
#: rows then share a replicate assignment.
ROW_CONTENT = "<row content>"

#: Name of a column an engine adds to hold each row's position in the data, used as the
#: row key where the position would otherwise be lost (in-memory data sent to Spark): the
#: same keys as the local engine's default, so the result reports ``row_key=None``.
ROW_POSITION = "__assay_row_position"

#: Default smallest denominator of a rate (``min_denominator``): a false negative rate
#: from fewer positives is withheld.
DEFAULT_MIN_DENOMINATOR = 10

#: Interval methods of rates (``rate_interval``; see docs/evaluation.md).
RATE_INTERVALS = ("auto", "wilson", "jeffreys", "replicate")

#: Default most slices per evaluation (see ``max_slices``).
DEFAULT_MAX_SLICES = 10_000

ScoresArg = str | Sequence[str] | Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class Head:
    """One scored output: a model's score column, or one class of a multi-class model."""

    model: str
    cls: Any = None

    @property
    def label(self) -> str:
        return self.model if self.cls is None else f"{self.model}[{self.cls}]"


class Plan:
    """Validated arguments of an evaluation (see :meth:`build`).

    Picklable (it travels to Spark executors); two states merge only when their plans
    have the same :attr:`state_key`.
    """

    label: str
    task: Task
    classes: tuple[Any, ...] | None
    models: dict[str, list[str]]
    specs: list[SliceSpec]
    weight: str | None
    thresholds: tuple[float, ...]
    score_type: str
    positive_label: Any
    min_slice_size: int
    min_denominator: int
    rate_interval: str
    multiple_comparisons: str
    max_slices: int
    ci: str | None
    replication: Replication
    confidence: float
    keep_replicates: bool | str
    spill: bool | str
    baseline: str
    auc: str
    auc_bins: int
    calibration_bins: int
    on_invalid: str
    row_key: str | None
    seed: int
    chunk_size: int
    na_values: tuple[str, ...] | None
    func: str

    def __init__(self) -> None:
        self.label = ""
        self.models = {}
        self.heads: list[Head] = []
        self.head_cols: list[tuple[str, list[str], int | None]] = []
        self.pairs: list[tuple[int, int]] = []
        self.families: list[FamilyInstance] = []

    @classmethod
    def build(cls, args: Mapping[str, Any], *, func: str) -> Plan:
        """Validate ``args`` (the keyword arguments of :func:`assay.evaluate`, without
        ``data`` and ``engine``); error messages name ``func``."""
        self = cls()
        self.func = func
        kw = dict(args)

        def get(name: str, default: Any = None) -> Any:
            return kw.get(name, default)

        known = tasks()
        task = get("task", "classification")
        check_choice("task", task, sorted(known), func=func)
        self.task = known[task]
        label = get("label")
        if not isinstance(label, str):
            raise param_type_error("label", "a column name (str)", label, func=func)
        self.label = label
        numeric = self.task.labels == "numeric"
        if numeric:
            for name in ("classes", "positive_label"):
                if get(name) is not None:
                    raise param_error(
                        name, f"None for task={task!r} (numeric labels)", get(name), func=func
                    )
        self.classes = _check_classes(get("classes"), func)
        self.models = _parse_scores(get("scores"), self.classes, func)
        self.specs = parse_slices(get("slices"), func=func)
        w = get("weight")
        if w is not None and not isinstance(w, str):
            raise param_type_error("weight", "a column name (str) or None", w, func=func)
        self.weight = w
        if self.task.thresholds:
            self.thresholds = _check_thresholds(get("thresholds"), func)
        else:
            if get("thresholds") is not None:
                raise param_error(
                    "thresholds", f"None for task={task!r} (no decision thresholds)",
                    get("thresholds"), func=func,
                )  # fmt: skip
            self.thresholds = ()
        self.score_type = check_choice(
            "score_type", get("score_type", "probability"), ["probability", "logit"], func=func
        )
        self.positive_label = get("positive_label")
        self.min_slice_size = check_int(
            "min_slice_size", get("min_slice_size", 1), minimum=1, func=func
        )
        self.min_denominator = check_int(
            "min_denominator", get("min_denominator", DEFAULT_MIN_DENOMINATOR), minimum=0,
            func=func,
        )
        self.rate_interval = check_choice(
            "rate_interval", get("rate_interval", "auto"), list(RATE_INTERVALS), func=func
        )
        mc = get("multiple_comparisons", "bh")
        self.multiple_comparisons = check_choice(
            "multiple_comparisons", "none" if mc is None else mc, list(ADJUSTMENTS), func=func
        )
        self.max_slices = check_int(
            "max_slices", get("max_slices", DEFAULT_MAX_SLICES), minimum=1, func=func
        )
        self.ci = check_choice(
            "ci", get("ci", "jackknife"), ["jackknife", "bootstrap", None], func=func
        )
        nrep = get("n_replicates")
        if nrep is not None:
            nrep = check_int("n_replicates", nrep, minimum=2, func=func)
        self.replication = make_replication(self.ci, nrep)
        self.confidence = check_fraction("confidence", get("confidence", 0.95), func=func)
        keep = get("keep_replicates", "auto")
        if not (isinstance(keep, bool) or keep == "auto"):
            raise param_error("keep_replicates", "True, False or 'auto'", keep, func=func)
        self.keep_replicates = keep
        spill = get("spill", "auto")
        if not (isinstance(spill, bool) or spill == "auto"):
            raise param_error("spill", "True, False or 'auto'", spill, func=func)
        self.spill = spill
        self.baseline = _baseline_name(get("baseline", OVERALL), func)
        self.auc = check_choice("auc", get("auc", "histogram"), ["histogram", "exact"], func=func)
        self.auc_bins = check_int("auc_bins", get("auc_bins", 4096), minimum=2, func=func)
        self.calibration_bins = check_int(
            "calibration_bins", get("calibration_bins", 10), minimum=1, func=func
        )
        self.on_invalid = check_choice(
            "on_invalid", get("on_invalid", "raise"), ["raise", "drop"], func=func
        )
        rk = get("row_key")
        if rk is not None and not isinstance(rk, str):
            raise param_type_error(
                "row_key", f"a column name (str), {ROW_CONTENT!r} or None", rk, func=func
            )
        self.row_key = rk
        self.seed = check_int("seed", get("seed", 0), minimum=0, func=func)
        self.chunk_size = check_int("chunk_size", get("chunk_size", 262_144), minimum=1, func=func)
        self.na_values = _check_na_values(get("na_values"), func)
        for model, cols in self.models.items():
            if self.classes is None:
                self.heads.append(Head(model))
                self.head_cols.append((model, cols, None))
            else:
                for ci_, c in enumerate(self.classes):
                    self.heads.append(Head(model, c))
                    self.head_cols.append((model, cols, ci_))
        n_cls = 1 if self.classes is None else len(self.classes)
        for m in range(1, len(self.models)):
            for c in range(n_cls):
                self.pairs.append((c, m * n_cls + c))
        self.families = [f(self) for f in families() if f.applies(self)]
        return self

    def with_row_key(self, row_key: str | None) -> Plan:
        """A copy of the plan with another ``row_key`` (engines set their default)."""
        import copy

        out = copy.copy(self)
        out.row_key = row_key
        return out

    @property
    def state_key(self) -> tuple[Any, ...]:
        """What fixes the layout of the state: states merge only when these are equal."""
        return (
            self.task.name,
            tuple(self.heads),
            tuple(self.specs),
            self.thresholds,
            self.auc_bins,
            self.calibration_bins,
            self.auc,
            self.replication.name,
            self.replication.n_state,
            tuple(self.pairs),
            tuple(f.name for f in self.families),
        )

    def slice_columns(self) -> list[str]:
        out: list[str] = []
        for spec in self.specs:
            for c in spec.columns:
                if c not in out:
                    out.append(c)
        return out

    def score_columns(self) -> list[str]:
        return list(dict.fromkeys(c for mc in self.models.values() for c in mc))

    def needed_columns(self) -> list[str]:
        cols = [self.label, *self.score_columns()]
        if self.weight:
            cols.append(self.weight)
        if self.row_key and self.row_key != ROW_CONTENT:
            cols.append(self.row_key)
        cols += self.slice_columns()
        return list(dict.fromkeys(cols))

    def csv_types(self) -> dict[str, pa.DataType]:
        types: dict[str, pa.DataType] = {c: pa.string() for c in self.slice_columns()}
        if self.classes is None:
            for c in self.score_columns():
                types[c] = pa.float64()
        if self.weight:
            types[self.weight] = pa.float64()
        return types

    def check_columns(self, source: TableSource) -> None:
        avail = source.columns
        checks: list[tuple[str, str]] = [("label", self.label)]
        checks += [("score", c) for c in self.score_columns()]
        if self.weight:
            checks.append(("weight", self.weight))
        if self.row_key and self.row_key != ROW_CONTENT:
            checks.append(("row_key", self.row_key))
        checks += [("slice", c) for c in self.slice_columns()]
        for kind, name in checks:
            if name not in avail:
                raise missing_column_error(kind, name, avail)
        dup = [name for _, name in checks if list(avail).count(name) > 1]
        if dup:
            raise ValueError(
                f"The data ({source.description}) has {list(avail).count(dup[0])} columns named "
                f"{dup[0]!r}; the columns an evaluation reads must have unique names. Rename "
                "or drop the duplicates."
            )

    def config(self) -> dict[str, Any]:
        """The configuration recorded in the result (``EvalResult.config``)."""
        return {
            "task": self.task.name,
            "label": self.label,
            "scores": self.models,
            "classes": None if self.classes is None else list(self.classes),
            "positive_label": self.positive_label,
            "weight": self.weight,
            "slices": [s.name for s in self.specs],
            "thresholds": list(self.thresholds),
            "score_type": self.score_type,
            "min_slice_size": self.min_slice_size,
            "min_denominator": self.min_denominator,
            "rate_interval": self.rate_interval,
            "multiple_comparisons": self.multiple_comparisons,
            "ci": self.replication.config(),
            "confidence": self.confidence,
            "keep_replicates": self.keep_replicates,
            "baseline": self.baseline,
            "auc": self.auc,
            "auc_bins": self.auc_bins,
            "calibration_bins": self.calibration_bins,
            "seed": self.seed,
            "row_key": None if self.row_key == ROW_POSITION else self.row_key,
            "families": [f.name for f in self.families],
            "na_values": None if self.na_values is None else list(self.na_values),
        }


def _check_na_values(na_values: Any, func: str) -> tuple[str, ...] | None:
    expected = "a list of strings read as missing values in a CSV file, or None"
    if na_values is None:
        return None
    if isinstance(na_values, str):
        return (na_values,)
    if not isinstance(na_values, Sequence | set | frozenset) or not all(
        isinstance(v, str) for v in na_values
    ):
        raise param_type_error("na_values", expected, na_values, func=func)
    return tuple(na_values)


def _check_classes(classes: Any, func: str) -> tuple[Any, ...] | None:
    if classes is None:
        return None
    if isinstance(classes, str) or not isinstance(classes, Sequence | np.ndarray):
        raise param_type_error("classes", "a list of at least two class values or None", classes, func=func)
    out = tuple(c.item() if isinstance(c, np.generic) else c for c in classes)
    if len(out) < 2 or len(set(out)) != len(out):
        raise param_error("classes", "a list of at least two distinct class values", classes, func=func)
    return out


def _parse_scores(scores: Any, classes: tuple[Any, ...] | None, func: str) -> dict[str, list[str]]:
    expected = "a column name, a list of column names, or a mapping {model: column(s)}"
    if isinstance(scores, str):
        models: dict[str, list[str]] = {scores: [scores]}
    elif isinstance(scores, Mapping):
        models = {}
        for k, v in scores.items():
            if not isinstance(k, str):
                raise param_type_error("scores", expected, scores, func=func)
            if isinstance(v, str):
                models[k] = [v]
            elif isinstance(v, Sequence) and v and all(isinstance(c, str) for c in v):
                models[k] = list(v)
            else:
                raise param_type_error("scores", expected, scores, func=func)
    elif isinstance(scores, Sequence) and scores and all(isinstance(c, str) for c in scores):
        if classes is not None and len(scores) == len(classes) and len(scores) > 1:
            models = {"model": list(scores)}
        else:
            models = {c: [c] for c in scores}
    else:
        raise param_type_error("scores", expected, scores, func=func)
    if not models:
        raise param_error("scores", expected, scores, func=func)
    for m, cols in models.items():
        if classes is None and len(cols) != 1:
            raise ValueError(
                f"Model {m!r} in 'scores' lists {len(cols)} columns, but without 'classes' "
                "each model has exactly one score column."
            )
        if classes is not None and len(cols) not in (1, len(classes)):
            raise ValueError(
                f"Model {m!r} in 'scores' lists {len(cols)} columns; with {len(classes)} "
                "classes give one list-valued column or one column per class."
            )
    return models


def _check_thresholds(thresholds: Any, func: str) -> tuple[float, ...]:
    if thresholds is None:
        return DEFAULT_THRESHOLDS
    if isinstance(thresholds, str | bytes):
        raise param_type_error("thresholds", "a list of floats in [0, 1]", thresholds, func=func)
    try:
        arr = np.asarray(list(thresholds), dtype=np.float64)
    except (TypeError, ValueError):
        raise param_type_error("thresholds", "a list of floats in [0, 1]", thresholds, func=func) from None
    if arr.ndim != 1 or arr.size == 0:
        raise param_error("thresholds", "a non-empty list of floats in [0, 1]", thresholds, func=func)
    if not np.all(np.isfinite(arr)) or arr.min() < 0.0 or arr.max() > 1.0:
        raise param_error(
            "thresholds",
            "a list of floats in [0, 1] (thresholds apply to probabilities; logits are "
            "converted with score_type='logit')",
            list(thresholds) if not isinstance(thresholds, list) else thresholds, func=func)
    if np.unique(arr).size != arr.size:
        raise param_error("thresholds", "a list of distinct floats", list(arr), func=func)
    return tuple(float(t) for t in np.sort(arr))


def _baseline_name(baseline: Any, func: str) -> str:
    if isinstance(baseline, str):
        return baseline
    if isinstance(baseline, Mapping):
        spec = parse_slices([baseline], func=func)[-1]
        key = tuple(v[0] if v is not None and len(v) == 1 else None for v in spec.values)
        if any(k is None for k in key):
            raise param_error("baseline", "a mapping of each column to one value", baseline, func=func)
        return slice_name(spec, key)
    raise param_type_error("baseline", "a slice name (str) or a mapping {column: value}", baseline, func=func)

