"""Evaluating OOD detectors on the platform: :func:`evaluate_detectors` and
:class:`OODResult`.

The metrics (AUROC, AUPR-in/out, FPR at 95% / 80% TPR, detection accuracy) with intervals,
per OOD data set and per slice, are computed by ``assay.evaluate(..., task="ood")`` (the
``ood`` metric family); this module only lays out the rows (label 1 = OOD, 0 =
in-distribution, one score column per detector), runs one evaluation per OOD data set and
shows the results. OOD is the positive class; a score is an outlier score (larger = more
OOD).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from .._util.files import write_text_atomic
from .._util.optional import require
from ..core.result import EvalResult
from ..evaluation.evaluate import evaluate
from ..evaluation.families.ood import OOD_METRICS
from ..report.sections import Chart, Section, Series, Table, render_sections
from ._common import F64, as_float_array

__all__ = ["OODResult", "evaluate_detectors"]

_FUNC = "evaluate_detectors"
_LABELS = {
    "auroc": "AUROC",
    "aupr_in": "AUPR-in",
    "aupr_out": "AUPR-out",
    "fpr_at_95_tpr": "FPR@95%TPR",
    "fpr_at_80_tpr": "FPR@80%TPR",
    "detection_accuracy": "Detection acc.",
}


def _score_map(scores: Any, name: str) -> dict[str, F64]:
    if isinstance(scores, Mapping):
        if not scores:
            raise ValueError(f"The {name!r} parameter of {_FUNC} must name at least one detector.")
        out = {}
        for k, v in scores.items():
            if not isinstance(k, str) or not k:
                raise TypeError(
                    f"The {name!r} parameter of {_FUNC} must map detector names (non-empty str) "
                    f"to scores. Got the key {k!r}."
                )
            out[k] = as_float_array(v, f"{name}[{k!r}]", func=_FUNC, ndim=1)
        return out
    return {"score": as_float_array(scores, name, func=_FUNC, ndim=1)}


def _column_pair(pair: Any, col: str, n_in: int, n_out: int) -> NDArray[Any]:
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise TypeError(
            f"The 'slices' parameter of {_FUNC} must map each column name to a pair (values "
            f"for the in-distribution rows, values for the OOD rows). Got "
            f"{type(pair).__name__} for {col!r}."
        )
    a, b = np.asarray(pair[0]), np.asarray(pair[1])
    if a.shape != (n_in,) or b.shape != (n_out,):
        raise ValueError(
            f"The 'slices' parameter of {_FUNC}: column {col!r} must have {n_in} values for "
            f"the in-distribution rows and {n_out} for the OOD rows. Got shapes {a.shape} and "
            f"{b.shape}."
        )
    return np.concatenate([a.astype(object), b.astype(object)])


def evaluate_detectors(
    scores_in: Any,
    scores_out: Any,
    *,
    out_sets: Any = None,
    out_name: str = "ood",
    slices: Mapping[str, Any] | None = None,
    ci: Literal["jackknife", "bootstrap"] | None = "bootstrap",
    n_replicates: int | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    progress: bool = False,
) -> OODResult:
    """Evaluate outlier scores of in-distribution and OOD examples through
    ``assay.evaluate(..., task="ood")``.

    Parameters
    ----------
    scores_in, scores_out
        Outlier scores (larger = more OOD) of the in-distribution and of the OOD examples:
        a 1-d array (one detector, named ``"score"``) or a mapping ``{detector: scores}``
        with the same detectors on both sides. NumPy arrays or tensors.
    out_sets
        Optional name of the OOD data set of each OOD row (``len(scores_out)`` values). Each
        data set is evaluated against all in-distribution rows, and all of them pooled as
        ``"all"``; without it the OOD rows form one set named ``out_name``.
    slices
        Optional subgroups: ``{column: (values for the in rows, values for the OOD rows)}``;
        each column is a slice of every evaluation (for example the in-distribution class,
        with the OOD rows in a slice of their own, or a subgroup present on both sides).
    ci, n_replicates, confidence, seed, progress
        Passed to :func:`assay.evaluate`. The default is the Poisson bootstrap: the
        jackknife is unreliable for FPR at a TPR, a quantile-like metric.

    Returns
    -------
    OODResult
        One :class:`~assay.EvalResult` per OOD set (``.evaluations``) and the scores.
    """
    s_in, s_out = _score_map(scores_in, "scores_in"), _score_map(scores_out, "scores_out")
    if list(s_in) != list(s_out):
        raise ValueError(
            f"The 'scores_in' and 'scores_out' parameters of {_FUNC} must hold the same "
            f"detectors in the same order. Got {list(s_in)} and {list(s_out)}."
        )
    n_in = {v.size for v in s_in.values()}
    n_out = {v.size for v in s_out.values()}
    if len(n_in) != 1 or len(n_out) != 1:
        raise ValueError(
            f"Every detector must score the same examples in {_FUNC}: got "
            f"{sorted(n_in)} in-distribution and {sorted(n_out)} OOD score counts."
        )
    ni, no = n_in.pop(), n_out.pop()
    if not isinstance(out_name, str) or not out_name:
        raise TypeError(f"The 'out_name' parameter of {_FUNC} must be a non-empty str.")
    if out_sets is None:
        sets = np.full(no, out_name, dtype=object)
    else:
        if hasattr(out_sets, "detach"):
            out_sets = out_sets.detach().cpu().numpy()
        sets = np.asarray(out_sets).astype(str).astype(object)
        if sets.shape != (no,):
            raise ValueError(
                f"The 'out_sets' parameter of {_FUNC} must name the OOD set of each of the "
                f"{no} OOD rows. Got shape {sets.shape} instead."
            )
    names = list(dict.fromkeys(sets.tolist()))
    if len(names) > 1 and "all" in names:
        raise ValueError(f"The 'out_sets' parameter of {_FUNC} must not use the name 'all'.")
    extra = {}
    for col, pair in (slices or {}).items():
        if col in s_in or col in ("is_ood", "row_id"):
            raise ValueError(
                f"The 'slices' parameter of {_FUNC}: column name {col!r} is taken (by a "
                "detector or the row layout)."
            )
        extra[col] = _column_pair(pair, col, ni, no)

    table: dict[str, Any] = {
        "is_ood": np.concatenate([np.zeros(ni, np.int8), np.ones(no, np.int8)]),
        "row_id": np.arange(ni + no, dtype=np.int64),
        **{k: np.concatenate([s_in[k], s_out[k]]) for k in s_in},
        **extra,
    }
    groups = [*names, "all"] if len(names) > 1 else names
    evaluations: dict[str, EvalResult] = {}
    for g in groups:
        keep = np.ones(ni + no, bool)
        if g != "all":
            keep[ni:] = sets == g
        part = {k: v[keep] for k, v in table.items()}
        evaluations[g] = evaluate(
            part, label="is_ood", scores=list(s_in), slices=list(extra) or None, task="ood",
            ci=ci, n_replicates=n_replicates, confidence=confidence, seed=seed,
            row_key="row_id", progress=progress,
        )  # fmt: skip
    return OODResult(
        evaluations=evaluations,
        detectors=list(s_in),
        scores_in=s_in,
        scores_out={k: v for k, v in s_out.items()},
        out_sets=sets,
    )


def _fmt(v: float, lo: float, hi: float) -> str:
    if not np.isfinite(v):
        return "-"
    if np.isfinite(lo) and np.isfinite(hi):
        return f"{v:.3f} [{lo:.3f}, {hi:.3f}]"
    return f"{v:.3f}"


@dataclass
class OODResult:
    """Metrics of OOD detectors per OOD data set (and slice) with intervals.

    ``evaluations``: one :class:`~assay.EvalResult` per OOD set (``"all"`` pools them when
    there are several); each has one model per detector. ``positive`` names the positive
    class of AUROC, AUPR-out and the TPR: ``"ood"``.
    """

    evaluations: dict[str, EvalResult]
    detectors: list[str]
    scores_in: dict[str, F64] = field(repr=False)
    scores_out: dict[str, F64] = field(repr=False)
    out_sets: NDArray[Any] = field(repr=False)
    positive: str = "ood"

    @property
    def ood_sets(self) -> list[str]:
        return list(self.evaluations)

    def value(
        self,
        metric: str,
        detector: str | None = None,
        *,
        ood_set: str | None = None,
        slice: str | Mapping[str, Any] = "overall",
    ) -> float:
        """One metric's point estimate (use :meth:`interval` for the bounds)."""
        return self._mv(metric, detector, ood_set, slice).value

    def interval(
        self,
        metric: str,
        detector: str | None = None,
        *,
        ood_set: str | None = None,
        slice: str | Mapping[str, Any] = "overall",
    ) -> tuple[float, float]:
        mv = self._mv(metric, detector, ood_set, slice)
        return mv.lower, mv.upper

    def _mv(self, metric: str, detector: str | None, ood_set: str | None, slice: Any) -> Any:
        if metric not in OOD_METRICS:
            raise ValueError(
                f"The 'metric' parameter of OODResult.value must be one of {list(OOD_METRICS)}. "
                f"Got {metric!r} instead."
            )
        det = self.detectors[0] if detector is None else detector
        if det not in self.detectors:
            raise ValueError(
                f"The 'detector' parameter of OODResult.value must be one of {self.detectors}. "
                f"Got {det!r} instead."
            )
        key = self.ood_sets[-1] if ood_set is None else ood_set
        if key not in self.evaluations:
            raise ValueError(
                f"The 'ood_set' parameter of OODResult.value must be one of {self.ood_sets}. "
                f"Got {key!r} instead."
            )
        return self.evaluations[key].value(metric, model=det, slice=slice)

    def to_frame(self) -> Any:
        """Tidy table: one row per OOD set, detector, slice and metric (``value``,
        ``lower``, ``upper``, ``count``, ...; the platform's columns, ``model`` renamed
        ``detector``)."""
        pd = require("pandas", "pandas", purpose="OODResult.to_frame")
        parts = []
        for name, ev in self.evaluations.items():
            f = ev.to_frame()
            f = f[f["metric"].isin(OOD_METRICS)].rename(columns={"model": "detector"})
            f.insert(0, "ood_set", name)
            parts.append(f)
        out = pd.concat(parts, ignore_index=True)
        out["positive"] = self.positive
        return out

    def histograms(self, bins: int = 30) -> dict[str, dict[str, list[float]]]:
        """Per detector: shared bin ``edges`` (over the 0.5-99.5% range of all its scores)
        and the share of the in-distribution (``in``) and OOD (``out``) examples per bin."""
        out = {}
        for d in self.detectors:
            a, b = self.scores_in[d], self.scores_out[d]
            both = np.concatenate([a, b])
            lo, hi = np.quantile(both, [0.005, 0.995])
            if not hi > lo:
                lo, hi = float(both.min()) - 0.5, float(both.max()) + 0.5
            edges = np.linspace(lo, hi, bins + 1)
            ca = np.histogram(np.clip(a, lo, hi), edges)[0] / a.size
            cb = np.histogram(np.clip(b, lo, hi), edges)[0] / b.size
            out[d] = {"edges": edges.tolist(), "in": ca.tolist(), "out": cb.tolist()}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "ood",
            "positive": self.positive,
            "score": "outlier score, larger = more out-of-distribution",
            "detectors": list(self.detectors),
            "ood_sets": {
                k: int(np.sum(self.out_sets == k)) if k != "all" else int(self.out_sets.size)
                for k in self.evaluations
            },
            "n_in": int(next(iter(self.scores_in.values())).size),
            "evaluations": {k: ev.to_dict() for k, ev in self.evaluations.items()},
            "histograms": self.histograms(),
        }

    def to_json(self, path: str | Path | None = None, *, indent: int | None = None) -> str:
        """The metrics of every OOD set (each the platform's result JSON), the positive
        class and the score histograms; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            write_text_atomic(path, text)
        return text

    def summary_frame(self, ood_set: str | None = None) -> Any:
        """One row per detector, one column per metric (point estimates)."""
        pd = require("pandas", "pandas", purpose="OODResult.summary_frame")
        key = self.ood_sets[-1] if ood_set is None else ood_set
        rows = [
            {"detector": d, **{m: self.value(m, d, ood_set=key) for m in OOD_METRICS}}
            for d in self.detectors
        ]
        return pd.DataFrame(rows)

    def to_section(self, title: str = "Out-of-distribution detection") -> Section:
        """A report section: metrics with intervals per detector and OOD set, and the
        histograms of the scores of in-distribution against OOD examples."""
        tables = []
        for name in self.ood_sets:
            rows: list[Sequence[Any]] = []
            for d in self.detectors:
                cells = [d]
                for m in OOD_METRICS:
                    mv = self._mv(m, d, name, "overall")
                    cells.append(_fmt(mv.value, mv.lower, mv.upper))
                rows.append(cells)
            n_out = int(self.out_sets.size if name == "all" else np.sum(self.out_sets == name))
            tables.append(
                Table(
                    f"OOD set: {name}",
                    ["detector", *(_LABELS[m] for m in OOD_METRICS)],
                    rows,
                    caption=f"{self._n_in()} in-distribution and {n_out} OOD examples; "
                    "point estimate [95% interval].",
                )
            )
        charts = []
        for d, h in self.histograms().items():
            charts.append(
                Chart(
                    "histogram",
                    f"Scores of {d}",
                    [
                        Series("in-distribution", h["edges"], h["in"]),
                        Series("OOD", h["edges"], h["out"]),
                    ],
                    x_label="outlier score (larger = more OOD)",
                    y_label="share of examples",
                )
            )
        key = self.ood_sets[-1]
        best = max(self.detectors, key=lambda d: np.nan_to_num(self.value("auroc", d, ood_set=key)))
        figures = {f"AUROC ({d})": self.value("auroc", d, ood_set=key) for d in self.detectors}
        summary = [
            f"Best AUROC on {key!r}: {best} ({self.value('auroc', best, ood_set=key):.3f}). "
            "OOD is the positive class; scores are outlier scores (larger = more OOD)."
        ]
        return Section(
            title,
            summary=summary,
            figures=figures,
            tables=tables,
            charts=charts,
            notes=[
                "Metrics from assay.evaluate(..., task='ood'); intervals: "
                f"{self.evaluations[key].config.get('ci')}."
            ],
            kind="ood",
        )

    def to_html(self, path: str | Path | None = None, *, title: str | None = None) -> str:
        """The section as a self-contained offline HTML page (written to ``path`` if given)."""
        return render_sections([self.to_section()], path, title=title)

    def _n_in(self) -> int:
        return int(next(iter(self.scores_in.values())).size)
