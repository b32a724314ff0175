"""``UnderspecificationResult``: the spread of every metric across seeds per stress test."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._util.files import write_text_atomic
from .._util.optional import require
from ..report.sections import Chart, Section, Series, Table, render_sections

__all__ = ["SUMMARY_COLUMNS", "UnderspecificationResult"]

#: Columns of :meth:`UnderspecificationResult.to_frame`, in order.
SUMMARY_COLUMNS = (
    "test", "kind", "metric", "primary", "rows", "seeds", "mean", "sd", "min", "max", "range",
    "mean_lower", "mean_upper", "sd_lower", "sd_upper", "sd_ratio", "spearman_iid",
    "discordant_pairs", "rank_changed", "statistic", "df", "p_value", "p_adjusted",
    "excess_ratio", "slope", "test_kind", "test_method", "verdict",
)  # fmt: skip

TEST_STATEMENT = (
    "Seed-effect test: for a metric that is a mean over rows (accuracy, FPR, FNR, squared "
    "error, counterfactual change), d_i = m_stress,i - b m_iid,i per seed i is compared with "
    "the variance per-row churn explains (each row's losses exchangeable across seeds, "
    "independently across rows): T = sum_i (d_i - mean d)^2 / sigma^2, sigma^2 = "
    "sum_j w_j^2 s_j^2 k/(k-1), chi-square with k-1 degrees of freedom (Cochran's Q for 0/1 "
    "losses on one set). b = ratio of the mean errors (reference 'relative', default: the iid "
    "spread explains the same relative change) or 1 ('shift'). The iid row tests the seeds "
    "against churn alone; counterfactual rows the per-row prediction change. "
    "p-values Holm-adjusted across the stress tests (per metric); 'underspecified' when the "
    "adjusted p-value is below alpha. A stress test's headline verdict is its primary metric's."
)


def _num(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def _unnum(x: Any) -> Any:
    if x is None:
        return math.nan
    if x == "inf":
        return math.inf
    if x == "-inf":
        return -math.inf
    return x


@dataclass
class UnderspecificationResult:
    """Per stress test and metric: the distribution across seeds and the verdict.

    ``summary``: one dict per (stress test, metric) with the columns
    :data:`SUMMARY_COLUMNS`; ``per_seed``: one dict per seed, stress test and metric
    (``value`` with the platform's interval ``lower``/``upper``); ``rank_correlation``:
    per metric the Spearman matrix of seed rankings between the stress tests;
    ``config``: settings, seeds, failed seeds, seconds per seed; ``failures``: traceback per
    failed seed; ``notes``: caveats (identical models, failed seeds).
    """

    summary: list[dict[str, Any]]
    per_seed: list[dict[str, Any]]
    rank_correlation: dict[str, dict[str, Any]]
    config: dict[str, Any] = field(default_factory=dict)
    failures: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    # ---------------------------------------------------------------- access
    @property
    def seeds(self) -> list[int]:
        return list(self.config.get("seeds", []))

    @property
    def tests(self) -> list[str]:
        return list(dict.fromkeys(r["test"] for r in self.summary))

    def row(self, test: str, metric: str | None = None) -> dict[str, Any]:
        """The summary row of ``test`` and ``metric`` (default: the primary metric)."""
        for r in self.summary:
            if r["test"] == test and (r["metric"] == metric if metric else r["primary"]):
                return r
        raise ValueError(
            f"No summary row for test {test!r} and metric {metric!r}; tests are {self.tests} and "
            f"metrics {sorted({r['metric'] for r in self.summary})}."
        )

    def verdict(self, test: str, metric: str | None = None) -> str:
        """``"specified"``, ``"underspecified"``, ``"identical models"`` (or for the iid set
        ``"reference"`` / ``"seeds differ on iid"``) of ``test`` on ``metric`` (default the
        primary metric; ``""`` for metrics without a test)."""
        return str(self.row(test, metric)["verdict"])

    @property
    def verdicts(self) -> dict[str, str]:
        return {r["test"]: r["verdict"] for r in self.summary if r["primary"]}

    def values(self, test: str, metric: str | None = None) -> list[float]:
        """The metric's value per seed on ``test`` (in :attr:`seeds` order)."""
        m = metric or self.row(test)["metric"]
        return [r["value"] for r in self.per_seed if r["test"] == test and r["metric"] == m]

    # ---------------------------------------------------------------- frames
    def to_frame(self) -> Any:
        """Tidy summary: one row per stress test and metric (:data:`SUMMARY_COLUMNS`)."""
        pd = require("pandas", "pandas", purpose="UnderspecificationResult.to_frame")
        return pd.DataFrame([{c: r.get(c) for c in SUMMARY_COLUMNS} for r in self.summary],
                            columns=list(SUMMARY_COLUMNS))  # fmt: skip

    def per_seed_frame(self) -> Any:
        """One row per seed, stress test and metric: value and the platform's interval."""
        pd = require("pandas", "pandas", purpose="UnderspecificationResult.per_seed_frame")
        return pd.DataFrame(self.per_seed, columns=["seed", "test", "kind", "metric", "value", "lower", "upper"])

    def rank_correlation_frame(self, metric: str | None = None) -> Any:
        """Spearman correlation of seed rankings between stress tests (square frame)."""
        pd = require("pandas", "pandas", purpose="UnderspecificationResult.rank_correlation_frame")
        m = metric or self.config.get("primary_metric")
        if m not in self.rank_correlation:
            raise ValueError(f"Unknown metric {m!r}; the result has {list(self.rank_correlation)}.")
        rc = self.rank_correlation[m]
        return pd.DataFrame(rc["matrix"], index=rc["tests"], columns=rc["tests"])

    # ---------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "underspecification",
            "config": self.config,
            "summary": [{k: _num(v) for k, v in r.items()} for r in self.summary],
            "per_seed": [{k: _num(v) for k, v in r.items()} for r in self.per_seed],
            "rank_correlation": {m: {"tests": d["tests"], "matrix": [[_num(x) for x in row] for row in d["matrix"]]}
                                 for m, d in self.rank_correlation.items()},
            "failures": {str(k): v for k, v in self.failures.items()},
            "notes": self.notes,
        }  # fmt: skip

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 1) -> str:
        """JSON (NaN as null, infinities as strings); also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            write_text_atomic(path, text)
        return text

    @classmethod
    def from_json(cls, source: str | Path) -> UnderspecificationResult:
        s = str(source)
        text = s if s.lstrip().startswith("{") else Path(s).read_text()
        d = json.loads(text)
        if d.get("kind") != "underspecification":
            raise ValueError(
                "The 'source' parameter of UnderspecificationResult.from_json must be an "
                f"underspecification result's JSON. Got kind={d.get('kind')!r} instead."
            )
        return cls(
            [{k: _unnum(v) for k, v in r.items()} for r in d["summary"]],
            [{k: _unnum(v) for k, v in r.items()} for r in d["per_seed"]],
            {m: {"tests": r["tests"], "matrix": [[_unnum(x) for x in row] for row in r["matrix"]]}
             for m, r in d["rank_correlation"].items()},
            d.get("config", {}),
            {int(k): v for k, v in d.get("failures", {}).items()},
            list(d.get("notes", [])),
        )  # fmt: skip

    # ---------------------------------------------------------------- report
    def to_section(self, title: str = "Underspecification stress tests") -> Section:
        """Report section: verdicts in words, the summary table (primary metrics), spread
        ratio bars, per-seed iid-versus-stress scatter and the Spearman matrix."""
        prim = [r for r in self.summary if r["primary"]]
        m0 = self.config.get("primary_metric", "")
        under = [r["test"] for r in prim if r["verdict"] == "underspecified"]
        spec = [r["test"] for r in prim if r["verdict"] == "specified"]
        k = len(self.seeds)
        summary = []
        if self.config.get("identical"):
            summary.append(f"All {k} seeds gave identical predictions: the training function seems to ignore its seed.")
        else:
            summary.append(
                f"{k} seeds. Underspecified (the spread across seeds exceeds what the iid spread and "
                f"per-row noise explain): {', '.join(under) or 'none'}. Specified: {', '.join(spec) or 'none'}."
            )
        iid = next((r for r in prim if r["kind"] == "iid"), None)
        if iid is not None:
            summary.append(f"iid {iid['metric']}: mean {iid['mean']:.4f}, sd {iid['sd']:.4g}, range "
                           f"[{iid['min']:.4f}, {iid['max']:.4f}] ({iid['verdict']}).")  # fmt: skip
        cols = ["test", "kind", "metric", "mean [CI]", "sd [CI]", "range", "sd / iid sd",
                "Spearman with iid", "discordant pairs", "T / df", "p (Holm)", "verdict"]  # fmt: skip
        rows = [[r["test"], r["kind"], r["metric"], _ci(r["mean"], r["mean_lower"], r["mean_upper"]),
                 _ci(r["sd"], r["sd_lower"], r["sd_upper"]), f"{r['min']:.4f} - {r['max']:.4f}",
                 r["sd_ratio"], r["spearman_iid"], r["discordant_pairs"], r["excess_ratio"],
                 r["p_adjusted"] if r["kind"] != "iid" else r["p_value"], r["verdict"]]
                for r in prim]  # fmt: skip
        tables = [Table("Primary metric per stress test", cols, rows, caption=TEST_STATEMENT)]
        other = [r for r in self.summary if not r["primary"]]
        if other:
            tables.append(Table(
                "Other metrics", ["test", "metric", "mean", "sd", "min", "max", "sd / iid sd", "T / df",
                                  "p (Holm)", "verdict"],
                [[r["test"], r["metric"], r["mean"], r["sd"], r["min"], r["max"], r["sd_ratio"],
                  r["excess_ratio"], r["p_adjusted"] if r["kind"] != "iid" else r["p_value"], r["verdict"]]
                 for r in other],
                caption="Metrics without a verdict are not means over rows (no seed-effect test)."))  # fmt: skip
        rc = self.rank_correlation.get(m0)
        if rc:
            tables.append(Table(f"Spearman correlation of seed rankings ({m0})", ["", *rc["tests"]],
                                [[n, *row] for n, row in zip(rc["tests"], rc["matrix"], strict=True)]))  # fmt: skip
        charts: list[Chart] = []
        ratio = [r for r in prim if r["kind"] not in ("iid", "counterfactual") and math.isfinite(r["sd_ratio"])]
        if ratio:
            charts.append(Chart("bar", "Spread across seeds relative to iid",
                                [Series("sd / iid sd", [r["test"] for r in ratio], [r["sd_ratio"] for r in ratio])],
                                x_label="stress test", y_label=f"sd of {m0} / sd on iid", reference=1.0))  # fmt: skip
        if iid is not None:
            xs = self.values(iid["test"], m0)
            series = [Series(r["test"], xs, self.values(r["test"], m0)) for r in prim
                      if r["kind"] not in ("iid", "counterfactual")][:8]  # fmt: skip
            if series:
                charts.append(Chart("scatter", "Per seed: iid versus stress test", series,
                                    x_label=f"iid {m0}", y_label=f"stress-test {m0}",
                                    caption="One point per seed; a flat cloud means the iid metric "
                                    "does not predict the stress-test metric."))  # fmt: skip
        notes = [*self.notes, f"alpha = {self.config.get('alpha')}, test = {self.config.get('test')}, "
                 f"threshold = {self.config.get('threshold')}, task = {self.config.get('task')}; "
                 "per-seed metrics and their intervals from assay.evaluate."]  # fmt: skip
        figures: dict[str, Any] = {"seeds": k, "underspecified": len(under), "specified": len(spec)}
        return Section(title, summary=summary, figures=figures, tables=tables, charts=charts,
                       notes=notes, kind="robustness")  # fmt: skip

    def to_html(self, path: str | Path | None = None, *, title: str | None = None) -> str:
        """The section as a self-contained offline HTML page (written to ``path`` if given)."""
        return render_sections([self.to_section()], path, title=title)

    def __repr__(self) -> str:
        v = ", ".join(f"{t}: {x}" for t, x in self.verdicts.items())
        return f"UnderspecificationResult({len(self.seeds)} seeds; {v})"


def _ci(v: float, lo: float, hi: float) -> str:
    if not math.isfinite(v):
        return "-"
    if math.isfinite(lo) and math.isfinite(hi):
        return f"{v:.4g} [{lo:.4g}, {hi:.4g}]"
    return f"{v:.4g}"
