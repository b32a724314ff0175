"""Evaluating calibration and uncertainty on the platform: :func:`evaluate_uncertainty` and
:class:`UncertaintyResult`.

The metrics with intervals (accuracy, top-label ECE / MCE, classwise ECE, NLL, Brier score)
are computed by ``assay.evaluate(..., task="uncertainty")`` (the ``uncertainty`` metric
family), per model (or method) and per slice; this module lays out the rows, adds the
functional metrics that need every row at once (equal-mass ECE, AURC, misclassification
AUROC) and the reliability diagram, and shows the result.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from .._util.files import write_text_atomic
from .._util.optional import require
from ..core.result import EvalResult
from ..evaluation.evaluate import evaluate
from ..report.sections import Chart, Section, Series, Table, render_sections
from . import metrics as M

__all__ = ["CalibrationResult", "UncertaintyResult", "evaluate_uncertainty"]

_FUNC = "evaluate_uncertainty"

#: Platform metrics (with intervals) shown per model, in order, with their short labels.
PLATFORM_METRICS = {
    "top_label_accuracy": "Accuracy",
    "top_label_ece": "ECE",
    "top_label_ece_l2": "ECE (L2)",
    "top_label_mce": "MCE",
    "classwise_ece": "Classwise ECE",
    "nll": "NLL",
    "brier_score": "Brier",
    "brier_score_mean": "Brier (mean over classes)",
}
#: Functional metrics (no intervals), computed from all rows.
FUNCTIONAL_METRICS = {
    "top_label_ece_equal_mass": "ECE (equal-mass bins)",
    "aurc": "AURC",
    "misclassification_auroc": "Misclassification AUROC",
}


def _nan_to_none(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


@dataclass
class UncertaintyResult:
    """Calibration and uncertainty metrics of one or more models on one labelled set.

    ``values[model][metric] = (value, lower, upper)`` (intervals NaN for the functional
    metrics); ``reliability[model]``: the reliability diagram's data; ``evaluation``: the
    platform's :class:`~assay.EvalResult` (per slice; ``None`` after :meth:`from_json`).
    """

    values: dict[str, dict[str, tuple[float, float, float]]]
    reliability: dict[str, M.ReliabilityDiagram]
    config: dict[str, Any] = field(default_factory=dict)
    evaluation: EvalResult | None = None

    @property
    def models(self) -> list[str]:
        return list(self.values)

    def value(self, metric: str, model: str | None = None) -> float:
        m = self.models[0] if model is None else model
        if m not in self.values:
            raise ValueError(f"Unknown model {m!r}; the result has {self.models}.")
        if metric not in self.values[m]:
            raise ValueError(f"Unknown metric {metric!r}; the result has {list(self.values[m])}.")
        return self.values[m][metric][0]

    def to_frame(self) -> Any:
        """Tidy frame: one row per model and metric (``value``, ``lower``, ``upper``,
        ``source``: ``"platform"`` with intervals or ``"functional"``)."""
        pd = require("pandas", "pandas", purpose="UncertaintyResult.to_frame")
        rows = [
            {"model": m, "metric": k, "value": v[0], "lower": v[1], "upper": v[2],
             "source": "platform" if k in PLATFORM_METRICS else "functional"}
            for m, vals in self.values.items() for k, v in vals.items()
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=["model", "metric", "value", "lower", "upper", "source"])

    def reliability_frame(self) -> Any:
        """Tidy frame of the reliability diagrams: one row per model and bin."""
        pd = require("pandas", "pandas", purpose="UncertaintyResult.reliability_frame")
        rows = []
        for m, d in self.reliability.items():
            for b in range(d.count.size):
                rows.append({"model": m, "bin": b, "lower": d.edges[b], "upper": d.edges[b + 1],
                             "count": d.count[b], "confidence": d.confidence[b],
                             "accuracy": d.accuracy[b]})  # fmt: skip
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "uncertainty",
            "config": self.config,
            "values": {m: {k: [_nan_to_none(x) for x in v] for k, v in vals.items()}
                       for m, vals in self.values.items()},
            "reliability": {m: {k: [_nan_to_none(x) for x in arr] for k, arr in d.to_dict().items()}
                            for m, d in self.reliability.items()},
        }

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 1) -> str:
        """JSON (NaN as null); also written to ``path`` when given. The embedded evaluation
        is not included (save it with its own ``to_json``)."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            write_text_atomic(path, text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> UncertaintyResult:
        s = str(text_or_path)
        text = Path(s).read_text() if not s.lstrip().startswith("{") else s
        d = json.loads(text)
        if d.get("kind") != "uncertainty":
            raise ValueError(f"UncertaintyResult.from_json: not an uncertainty result (kind={d.get('kind')!r}).")

        def num(x: Any) -> float:
            return float("nan") if x is None else float(x)

        values = {m: {k: (num(v[0]), num(v[1]), num(v[2])) for k, v in vals.items()}
                  for m, vals in d["values"].items()}  # fmt: skip
        rel = {
            m: M.ReliabilityDiagram(*(np.array([num(x) for x in r[k]]) for k in
                                      ("edges", "count", "confidence", "accuracy")))
            for m, r in d["reliability"].items()
        }  # fmt: skip
        return cls(values, rel, d.get("config", {}))

    def to_section(self, title: str = "Calibration and uncertainty") -> Section:
        """A report section: the metrics with intervals per model, the reliability diagram
        (accuracy against confidence per bin, line and bar charts) and the bin counts."""
        rows: list[Sequence[Any]] = []
        for m, vals in self.values.items():
            cells: list[Any] = [m]
            for k in (*PLATFORM_METRICS, *FUNCTIONAL_METRICS):
                v = vals.get(k)
                cells.append("" if v is None else _fmt(*v))
            rows.append(cells)
        conf = self.config.get("confidence", 0.95)
        table = Table(
            "Metrics", ["model", *PLATFORM_METRICS.values(), *FUNCTIONAL_METRICS.values()], rows,
            caption=f"Point estimate [{conf:.0%} interval, {self.config.get('ci')}] from "
            "assay.evaluate(task='uncertainty'); the last three columns are computed from all "
            f"rows (no interval). {self.config.get('n_bins')} equal-width bins.",
        )  # fmt: skip
        line = Chart(
            "line", "Reliability diagram",
            [Series(m, _finite_pairs(d)[0], _finite_pairs(d)[1]) for m, d in self.reliability.items()],
            x_label="mean confidence in the bin", y_label="accuracy in the bin",
            reference="y=x", x_range=(0.0, 1.0), y_range=(0.0, 1.0),
            caption="Points under the diagonal are over-confident bins.",
        )  # fmt: skip
        first = next(iter(self.reliability.values()))
        cats = [f"{first.edges[b]:.2f}-{first.edges[b + 1]:.2f}" for b in range(first.count.size)]
        bars = Chart(
            "bar", "Accuracy per confidence bin",
            [Series(m, cats, np.nan_to_num(d.accuracy).tolist()) for m, d in self.reliability.items()],
            x_label="top-label confidence bin", y_label="accuracy (0 where empty)", y_range=(0.0, 1.0),
        )  # fmt: skip
        counts = Chart(
            "bar", "Rows per confidence bin",
            [Series(m, cats, d.count.tolist()) for m, d in self.reliability.items()],
            x_label="top-label confidence bin", y_label="rows",
        )  # fmt: skip
        m0 = self.models[0]
        figures = {f"ECE ({m})": self.value("top_label_ece", m) for m in self.models}
        figures.update({f"NLL ({m})": self.value("nll", m) for m in self.models})
        best = min(self.models, key=lambda m: np.nan_to_num(self.value("top_label_ece", m), nan=np.inf))
        summary = [
            f"Lowest top-label ECE: {best} ({self.value('top_label_ece', best):.4f}). "
            f"{m0}: accuracy {self.value('top_label_accuracy', m0):.4f}, NLL "
            f"{self.value('nll', m0):.4f}, Brier {self.value('brier_score', m0):.4f}."
        ]
        notes = [
            f"{self.config.get('n')} rows, {self.config.get('n_classes')} classes, inputs given "
            f"as {self.config.get('input')}. Brier: sum over classes (and divided by the "
            "number of classes, as Uncertainty Baselines' MNIST code). NLL in nats."
        ]
        return Section(title, summary=summary, figures=figures, tables=[table],
                       charts=[line, bars, counts], notes=notes, evaluation=self.evaluation,
                       kind="uncertainty")  # fmt: skip

    def to_html(self, path: str | Path | None = None, *, title: str | None = None) -> str:
        """The section as a self-contained offline HTML page (written to ``path`` if given)."""
        return render_sections([self.to_section()], path, title=title)


#: Another name of the same result (the issue names both).
CalibrationResult = UncertaintyResult


def _fmt(v: float, lo: float, hi: float) -> str:
    if not math.isfinite(v):
        return "-"
    if math.isfinite(lo) and math.isfinite(hi):
        return f"{v:.4f} [{lo:.4f}, {hi:.4f}]"
    return f"{v:.4f}"


def _finite_pairs(d: M.ReliabilityDiagram) -> tuple[list[float], list[float]]:
    ok = d.count > 0
    return d.confidence[ok].tolist(), d.accuracy[ok].tolist()


def evaluate_uncertainty(
    probs: ArrayLike | Mapping[str, ArrayLike],
    labels: ArrayLike,
    *,
    from_logits: bool = False,
    n_bins: int = 15,
    slices: Mapping[str, ArrayLike] | None = None,
    ci: Literal["jackknife", "bootstrap"] | None = "jackknife",
    confidence: float = 0.95,
    seed: int = 0,
) -> UncertaintyResult:
    """Calibration and uncertainty of one model (``probs``) or several (``{name: probs}``,
    e.g. a model before and after temperature scaling) on the same labelled rows.

    ``probs``: ``(n, K)`` probabilities (or logits with ``from_logits=True``; binary
    ``(n,)`` as everywhere in :mod:`assay.uncertainty`). ``slices``: optional columns
    ``{name: values}`` to slice by (the metrics per slice are in ``result.evaluation``).
    """
    func = _FUNC
    given = dict(probs) if isinstance(probs, Mapping) else {"model": probs}
    if not given:
        raise ValueError(f"The 'probs' parameter of {func} must hold at least one model.")
    mats = {name: M.to_probabilities(p, from_logits=from_logits, name=f"probs[{name!r}]", func=func)
            for name, p in given.items()}  # fmt: skip
    shapes = {p.shape for p in mats.values()}
    if len(shapes) != 1:
        raise ValueError(f"The models in 'probs' of {func} must have the same shape; got {sorted(shapes)}.")
    n, k = next(iter(shapes))
    y = M.check_labels(labels, n, k, func=func)
    data: dict[str, Any] = {"__label": y}
    scores: dict[str, list[str]] = {}
    for i, (name, p) in enumerate(mats.items()):
        cols = [f"__m{i}_p{c}" for c in range(k)]
        for c, col in enumerate(cols):
            data[col] = p[:, c]
        scores[name] = cols
    slice_names: list[str] = []
    for s, v in (slices or {}).items():
        arr = np.asarray(v)
        if arr.shape != (n,):
            raise ValueError(f"The slice column {s!r} of {func} must have one value per row ({n}). Got shape {arr.shape}.")
        data[s] = arr
        slice_names.append(s)
    ev = evaluate(data, label="__label", scores=scores, classes=list(range(k)), task="uncertainty",
                  calibration_bins=n_bins, slices=slice_names or None, ci=ci,
                  confidence=confidence, seed=seed)  # fmt: skip
    values: dict[str, dict[str, tuple[float, float, float]]] = {}
    rel: dict[str, M.ReliabilityDiagram] = {}
    for name, p in mats.items():
        vals = {}
        for m in PLATFORM_METRICS:
            mv = ev.value(m, model=name, cls=0)
            vals[m] = (float(mv.value), float(mv.lower), float(mv.upper))
        nan = float("nan")
        vals["top_label_ece_equal_mass"] = (M.expected_calibration_error(p, y, n_bins, strategy="quantile"), nan, nan)
        vals["aurc"] = (M.area_under_risk_coverage(p, y), nan, nan)
        vals["misclassification_auroc"] = (M.misclassification_auroc(p, y), nan, nan)
        values[name] = vals
        rel[name] = M.reliability_diagram(p, y, n_bins)
    config = {"n": int(n), "n_classes": int(k), "n_bins": n_bins, "ci": ci, "confidence": confidence,
              "seed": seed, "input": "logits" if from_logits else "probabilities",
              "slices": slice_names}  # fmt: skip
    return UncertaintyResult(values, rel, config, ev)
