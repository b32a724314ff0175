"""The result of a data valuation: :class:`ValuationResult` (a tidy frame, JSON and a report
section) and :func:`value_bins`, a categorical column of value bins to slice on in
``assay.evaluate``."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._util.files import write_text_atomic
from .._util.optional import require
from .._util.validation import check_int
from ..report.sections import Chart, Section, Series, Table, render_sections
from ._common import F64, as_features
from .uses import (
    DiscoveryCurve,
    RemovalCurve,
    as_mask,
    as_values,
    ascending_order,
    detection_scores,
    discovery_curve,
)

__all__ = ["ValuationResult", "valuation_result", "value_bins"]


def value_bins(values: Any, n_bins: int = 5) -> NDArray[np.object_]:
    """A categorical column of ``n_bins`` value bins, to slice on (``assay.evaluate(...,
    slices="value_bin")``): ``"Q1 of 5 (lowest)"``, ``"Q2 of 5"``, ..., ``"Q5 of 5 (highest)"``.

    Bins hold (about) equal numbers of rows by rank; rows of equal value share their average
    rank and so always fall in the same bin (bins may then be unequal, some empty)."""
    func = "value_bins"
    v = as_values(values, func=func)
    n_bins = check_int("n_bins", n_bins, minimum=1, func=func)
    order = np.argsort(v, kind="stable")
    xs = v[order]
    starts = np.flatnonzero(np.concatenate([[True], xs[1:] != xs[:-1]]))
    ends = np.concatenate([starts[1:], [xs.size]])
    avg = np.empty(v.size)
    avg[order] = np.repeat((starts + ends - 1) / 2.0, ends - starts)  # 0-based average rank
    b = np.minimum(n_bins - 1, np.floor(avg * n_bins / v.size).astype(np.int64))
    labels = []
    for i in range(n_bins):
        tag = " (lowest)" if i == 0 and n_bins > 1 else " (highest)" if i == n_bins - 1 and n_bins > 1 else ""
        labels.append(f"Q{i + 1} of {n_bins}{tag}")
    out: NDArray[np.object_] = np.asarray(labels, dtype=object)[b]
    return out


def _plain(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


@dataclass
class ValuationResult:
    """One valuation of the training rows.

    ``values``: one per training row (larger = more valuable); ``method``: its name;
    optional ``labels`` and ``features`` (``n x d``, with ``feature_names``) of the rows,
    ``is_corrupted`` (a known mask, e.g. the flipped labels of a benchmark: then
    ``discovery`` and :attr:`detection` are computed), ``std_error`` (sampling methods),
    ``removal`` (a :class:`~assay.valuation.RemovalCurve`), ``fit_time`` (seconds) and
    ``config``. Build one from a fitted method with :func:`valuation_result`.
    """

    values: F64
    method: str
    labels: NDArray[Any] | None = None
    features: F64 | None = None
    feature_names: list[str] | None = None
    is_corrupted: NDArray[np.bool_] | None = None
    std_error: F64 | None = None
    removal: RemovalCurve | None = None
    discovery: DiscoveryCurve | None = None
    fit_time: float | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        func = "ValuationResult"
        self.values = as_values(self.values, func=func)
        n = self.values.size
        if self.labels is not None:
            self.labels = np.asarray(self.labels)
            if self.labels.shape != (n,):
                raise ValueError(
                    f"The 'labels' parameter of {func} must have one label per row ({n}). "
                    f"Got shape {self.labels.shape} instead."
                )
        if self.features is not None:
            self.features = as_features(self.features, "features", func=func)
            if self.features.shape[0] != n:
                raise ValueError(
                    f"The 'features' parameter of {func} must have one row per value ({n}). "
                    f"Got {self.features.shape[0]} rows instead."
                )
            d = self.features.shape[1]
            if self.feature_names is None:
                self.feature_names = [f"x{j}" for j in range(d)]
            self.feature_names = [str(c) for c in self.feature_names]
            if len(self.feature_names) != d:
                raise ValueError(
                    f"The 'feature_names' parameter of {func} must name every feature column "
                    f"({d}). Got {len(self.feature_names)} names instead."
                )
        if self.std_error is not None:
            self.std_error = as_values(self.std_error, "std_error", func=func, n=n)
        if self.is_corrupted is not None:
            self.is_corrupted = as_mask(self.is_corrupted, n, "is_corrupted", func=func)
            if self.discovery is None and self.is_corrupted.any():
                self.discovery = discovery_curve(self.values, self.is_corrupted)

    @property
    def n_rows(self) -> int:
        return int(self.values.size)

    @property
    def rank(self) -> NDArray[np.int64]:
        """1 for the most valuable row, ``n`` for the least (ties by row order)."""
        r = np.empty(self.n_rows, dtype=np.int64)
        r[ascending_order(-self.values)] = np.arange(1, self.n_rows + 1)
        return r

    @property
    def detection(self) -> dict[str, float] | None:
        """Precision / recall / F1 of flagging as many lowest-valued rows as are corrupted,
        and the AUROC (:func:`~assay.valuation.detection_scores`); ``None`` without
        ``is_corrupted``."""
        if self.is_corrupted is None or not self.is_corrupted.any():
            return None
        return detection_scores(self.values, self.is_corrupted)

    def value_bins(self, n_bins: int = 5) -> NDArray[np.object_]:
        """The rows' value bins (:func:`value_bins`), a slice column for ``assay.evaluate``."""
        return value_bins(self.values, n_bins)

    # ------------------------------------------------------------------ frame and JSON

    def to_frame(self, *, features: bool = True) -> Any:
        """One row per training row: ``row``, ``value``, ``rank`` (1 = most valuable),
        ``method``, then ``std_error``, ``label``, ``corrupted`` where known, then the
        features (``features=True``)."""
        pd = require("pandas", "pandas", purpose="ValuationResult.to_frame")
        cols: dict[str, Any] = {
            "row": np.arange(self.n_rows), "value": self.values, "rank": self.rank,
            "method": np.full(self.n_rows, self.method, dtype=object),
        }  # fmt: skip
        if self.std_error is not None:
            cols["std_error"] = self.std_error
        if self.labels is not None:
            cols["label"] = self.labels
        if self.is_corrupted is not None:
            cols["corrupted"] = self.is_corrupted
        if features and self.features is not None and self.feature_names is not None:
            for j, name in enumerate(self.feature_names):
                key = name if name not in cols else f"feature_{name}"
                cols[key] = self.features[:, j]
        return pd.DataFrame(cols)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "valuation",
            "method": self.method,
            "values": self.values.tolist(),
            "labels": None if self.labels is None else [_plain(v) for v in self.labels.tolist()],
            "features": None if self.features is None else self.features.tolist(),
            "feature_names": self.feature_names,
            "is_corrupted": None if self.is_corrupted is None else self.is_corrupted.tolist(),
            "std_error": None if self.std_error is None else self.std_error.tolist(),
            "removal": None if self.removal is None else self.removal.to_dict(),
            "discovery": None if self.discovery is None else self.discovery.to_dict(),
            "fit_time": self.fit_time,
            "config": {k: _plain(v) for k, v in self.config.items()},
        }

    def to_json(self, path: str | Path | None = None, *, indent: int | None = None) -> str:
        """JSON of the whole result (values, labels, features, curves); also written to
        ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            write_text_atomic(path, text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> ValuationResult:
        """The result written by :meth:`to_json` (a JSON string or a file path)."""
        s = str(text_or_path)
        text = s if s.lstrip().startswith("{") else Path(s).read_text()
        d = json.loads(text)
        if d.get("kind") != "valuation":
            raise ValueError(
                "The 'text_or_path' parameter of ValuationResult.from_json must hold a "
                f"valuation result (kind='valuation'). Got kind={d.get('kind')!r} instead."
            )

        def arr(key: str, dtype: Any = np.float64) -> Any:
            return None if d.get(key) is None else np.asarray(d[key], dtype=dtype)

        return cls(
            values=np.asarray(d["values"], dtype=np.float64), method=d["method"],
            labels=None if d.get("labels") is None else np.asarray(d["labels"]),
            features=arr("features"), feature_names=d.get("feature_names"),
            is_corrupted=arr("is_corrupted", bool), std_error=arr("std_error"),
            removal=None if d.get("removal") is None else RemovalCurve.from_dict(d["removal"]),
            discovery=None if d.get("discovery") is None else DiscoveryCurve.from_dict(d["discovery"]),
            fit_time=d.get("fit_time"), config=dict(d.get("config") or {}),
        )  # fmt: skip

    # ------------------------------------------------------------------ report

    def _row_table(self, rows: NDArray[np.int64], title: str, max_features: int) -> Table:
        columns = ["row", "value", "rank"]
        if self.labels is not None:
            columns.append("label")
        if self.is_corrupted is not None:
            columns.append("corrupted")
        names = (self.feature_names or [])[:max_features] if self.features is not None else []
        columns += names
        rank = self.rank
        body = []
        for i in rows.tolist():
            cells: list[Any] = [i, float(self.values[i]), int(rank[i])]
            if self.labels is not None:
                cells.append(_plain(self.labels[i]))
            if self.is_corrupted is not None:
                cells.append("yes" if self.is_corrupted[i] else "no")
            if names and self.features is not None:
                cells += [float(x) for x in self.features[i, : len(names)]]
            body.append(cells)
        return Table(title, columns, body)

    def to_section(self, title: str | None = None, *, n_rows: int = 10, max_features: int = 12,
                   bins: int = 30) -> Section:  # fmt: skip
        """A report section: key figures, the value distribution (by known corruption when
        given), the discovery and point-removal curves, and the ``n_rows`` most and least
        valuable rows with their labels and first ``max_features`` features."""
        title = title or f"Data valuation: {self.method}"
        v = self.values
        lo, hi = float(v.min()), float(v.max())
        if hi <= lo:
            hi = lo + 1.0
        edges = np.linspace(lo, hi, bins + 1)
        if self.is_corrupted is not None and self.is_corrupted.any():
            hist = [Series("clean rows", edges.tolist(), np.histogram(v[~self.is_corrupted], edges)[0].tolist()),
                    Series("corrupted rows", edges.tolist(), np.histogram(v[self.is_corrupted], edges)[0].tolist())]  # fmt: skip
        else:
            hist = [Series("rows", edges.tolist(), np.histogram(v, edges)[0].tolist())]
        charts = [Chart("histogram", "Value distribution", hist, x_label="value",
                        y_label="training rows")]  # fmt: skip
        figures: dict[str, Any] = {"method": self.method, "training rows": self.n_rows}
        if self.fit_time is not None:
            figures["fit time (s)"] = round(float(self.fit_time), 3)
        summary = [
            f"{self.method} valued {self.n_rows} training rows: median {float(np.median(v)):.4g}, "
            f"range [{float(v.min()):.4g}, {float(v.max()):.4g}]; "
            f"{int((v < 0).sum())} row(s) have a negative value."
        ]
        det = self.detection
        if det is not None and self.discovery is not None:
            dc = self.discovery
            figures["noisy-label F1"] = round(det["f1"], 4)
            figures["detection AUROC"] = round(det["auroc"], 4)
            summary.append(
                f"Inspecting the {dc.n_corrupted} lowest-valued rows finds {det['recall']:.1%} "
                f"of the {dc.n_corrupted} known corrupted rows (F1 {det['f1']:.3f}; AUROC of "
                f"-value {det['auroc']:.3f}, 0.5 is random)."
            )
            charts.append(Chart(
                "line", "Corrupted-sample discovery",
                [Series("by value (lowest first)", dc.inspected.tolist(), dc.found.tolist()),
                 Series("optimal", dc.inspected.tolist(), dc.optimal.tolist())],
                x_label="fraction of training rows inspected",
                y_label="fraction of corrupted rows found", reference="y=x",
                y_range=(0.0, 1.0), caption="The diagonal is a random inspection order.",
            ))  # fmt: skip
        if self.removal is not None:
            rc = self.removal
            names = {"lowest": "least valuable removed first",
                     "highest": "most valuable removed first", "random": "random removal"}
            charts.append(Chart(
                "line", "Point removal",
                [Series(names.get(k, k), rc.removed.tolist(), s.tolist()) for k, s in rc.scores.items()],
                x_label="fraction of training rows removed",
                y_label=f"held-out {rc.metric}",
                caption="The model retrained without the removed rows; removing the least "
                "valuable rows should keep (or raise) the score, removing the most valuable "
                "should lower it fast.",
            ))  # fmt: skip
            if "lowest" in rc.scores and "highest" in rc.scores:
                j = int(np.argmin(np.abs(rc.removed - 0.2)))
                summary.append(
                    f"After removing {rc.removed[j]:.0%} of the rows: {rc.metric} "
                    f"{rc.scores['lowest'][j]:.4f} without the least valuable, "
                    f"{rc.scores['highest'][j]:.4f} without the most valuable "
                    f"(all rows: {rc.scores['lowest'][0]:.4f})."
                )
        order = ascending_order(-v)
        k = min(n_rows, self.n_rows)
        tables = [self._row_table(order[:k], f"The {k} most valuable rows", max_features),
                  self._row_table(ascending_order(v)[:k], f"The {k} least valuable rows", max_features)]  # fmt: skip
        notes = ["Values: larger = more valuable to the model's score on the validation set. "
                 "Ranks break ties by row order."]  # fmt: skip
        if self.config:
            notes.append("Settings: " + ", ".join(f"{a}={b}" for a, b in self.config.items()))
        return Section(title, summary=summary, figures=figures, tables=tables, charts=charts,
                       notes=notes, kind="valuation")  # fmt: skip

    def to_html(self, path: str | Path | None = None, *, title: str | None = None) -> str:
        """The section as a self-contained offline HTML page (written to ``path`` if given)."""
        return render_sections([self.to_section()], path, title=title)


def valuation_result(
    method: Any,
    x_train: Any = None,
    y_train: Any = None,
    *,
    feature_names: list[str] | None = None,
    is_corrupted: Any = None,
    removal: RemovalCurve | None = None,
    config: dict[str, Any] | None = None,
) -> ValuationResult:
    """A :class:`ValuationResult` from a fitted valuation method (its ``values_``, ``name``,
    ``std_error_`` and ``fit_time_``), with the training rows it valued (optional; a pandas
    DataFrame gives the feature names)."""
    func = "valuation_result"
    if not hasattr(method, "values_"):
        raise TypeError(
            f"The 'method' parameter of {func} must be a fitted valuation method (with "
            f"values_). Got {type(method).__name__} without values_; call fit(...) first."
        )
    if feature_names is None and x_train is not None and hasattr(x_train, "columns"):
        feature_names = [str(c) for c in x_train.columns]
    cfg = dict(config or {})
    for key in ("k", "n_samples", "n_iterations", "truncation", "alpha", "beta", "random_state"):
        if hasattr(method, key) and key not in cfg:
            val = getattr(method, key)
            if val is None or isinstance(val, int | float | str | bool):
                cfg[key] = val
    return ValuationResult(
        values=np.asarray(method.values_, dtype=np.float64),
        method=str(getattr(method, "name", type(method).__name__)),
        labels=None if y_train is None else np.asarray(y_train).ravel(),
        features=None if x_train is None else x_train, feature_names=feature_names,
        is_corrupted=is_corrupted, std_error=getattr(method, "std_error_", None),
        removal=removal, fit_time=getattr(method, "fit_time_", None), config=cfg,
    )  # fmt: skip
