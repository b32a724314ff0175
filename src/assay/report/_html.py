"""The interactive HTML report: one self-contained file, no network, no dependencies."""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .._util.files import write_text_atomic
from ..core import catalogue
from ..core.result import EvalResult
from ._catalog import groups, has_gap, info, result_metrics, task
from ._payload import (
    changes_payload,
    group_catalog,
    metric_catalog,
    num,
    plot_catalog,
    result_payload,
    sample_payload,
    script_json,
    threshold_free_metrics,
)

#: Name of the calibration plot in ``metrics`` (mean score against mean label per slice);
#: any plot id of the catalogue (``assay.core.catalogue.plots()``) works the same way,
#: e.g. ``"prediction_plot"`` for regression results.
CALIBRATION_PLOT = "calibration_plot"


def default_metrics(metrics: Sequence[str]) -> list[str]:
    """The metrics charted when ``metrics`` is not given: the catalogue's ``default``
    entries among ``metrics`` (for classification positive rate, FPR, FNR and ROC AUC;
    for regression MSE, MAE and R^2), in the result's order."""
    return [m for m in metrics if (e := info(m)) is not None and e.default]


def __getattr__(name: str) -> Any:
    # DEFAULT_METRICS: the catalogue's default entries (read when asked, so families
    # registered later count too).
    if name == "DEFAULT_METRICS":
        return tuple(e.name for e in catalogue.metrics() if e.default)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Nothing may be fetched: inline script and style only, images only as data: URLs.
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


@cache
def _asset(name: str) -> str:
    text = resources.files("assay.report").joinpath("assets", name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower():  # pragma: no cover - our own file
        raise RuntimeError(f"report asset {name} must not contain a closing script/style tag")
    return text


def _check_result(obj: Any, param: str) -> EvalResult:
    if not isinstance(obj, EvalResult):
        raise TypeError(
            f"The {param!r} parameter of render_html must be an EvalResult (from "
            f"assay.evaluate). Got {obj!r} of type {type(obj).__name__} instead."
        )
    return obj


def build_payload(
    result: EvalResult,
    *,
    other: EvalResult | None = None,
    names: Sequence[str] = ("A", "B"),
    sample: Any = None,
    title: str | None = None,
    metrics: Sequence[str] | None = None,
    threshold: float | None = None,
    sample_rows: int = 20,
    headline: Sequence[str] | None = None,
    sample_columns: int = 5,
    replicate_values: int = 50_000,
) -> dict[str, Any]:
    """The data embedded in the page (also handy for tests and other front ends)."""
    results = [_check_result(result, "result")]
    if other is not None:
        results.append(_check_result(other, "other"))
    if isinstance(names, str) or len(names) < len(results):
        raise ValueError(
            f"The 'names' parameter of render_html must be a pair of names, one per result. "
            f"Got {names!r} instead."
        )
    labels = [str(n) for n in names[: len(results)]]
    if len(set(labels)) != len(labels):
        raise ValueError(
            f"The 'names' parameter of render_html must hold distinct names. Got {names!r} instead."
        )
    runs = []
    for i, r in enumerate(results):
        for m in r.models:
            if other is None:
                label = m
            else:
                label = labels[i] + (f" ({m})" if len(r.models) > 1 else "")
            runs.append({"result": i, "model": m, "label": label})
    if other is not None:
        compare = len(results[0].models)
    else:
        compare = 1 if len(runs) > 1 else -1

    thresholds = sorted({round(float(t), 9) for r in results for t in r.thresholds})
    thr_index: int | None = None
    if threshold is None:
        first = [round(float(t), 9) for t in results[0].thresholds] or thresholds
        if first:
            thr_index = thresholds.index(0.5 if 0.5 in first else first[len(first) // 2])
    else:
        thr_value = round(float(threshold), 9)
        if thr_value not in thresholds:
            raise ValueError(
                f"The 'threshold' parameter of render_html must be one of the evaluated "
                f"thresholds {thresholds}. Got {threshold!r} instead."
            )
        thr_index = thresholds.index(thr_value)
    all_metrics = list(dict.fromkeys(m for r in results for m in result_metrics(r)))
    free = list(dict.fromkeys(m for r in results for m in threshold_free_metrics(r)))
    plots = plot_catalog(all_metrics)
    if (
        isinstance(replicate_values, bool)
        or not isinstance(replicate_values, int)
        or (replicate_values < 0)
    ):
        raise ValueError(
            f"The 'replicate_values' parameter of render_html must be an int >= 0. "
            f"Got {replicate_values!r} instead."
        )
    wanted = (
        [m for m in ([metrics] if isinstance(metrics, str) else list(metrics))]
        if metrics is not None
        else default_metrics(all_metrics)
    )
    if headline is not None and not isinstance(headline, str) and len(headline) == 3:
        wanted = [str(headline[0]), *wanted]
    first_thr: float | None = None if thr_index is None else thresholds[thr_index]
    payloads = [
        result_payload(
            r, labels[i], replicate_values=replicate_values, priority=wanted, threshold=first_thr
        )
        for i, r in enumerate(results)
    ]
    for r, pl in zip(results, payloads, strict=True):
        if len(r.models) > 1:
            pl["changes"] = changes_payload(r.comparison_arrow(), r)
    pair: dict[str, Any] | None = None
    if other is not None:
        try:
            combined = results[0].compare(results[1])
        except ValueError as exc:
            pair = {"why": " ".join(str(exc).split()), "runs": [0, len(results[0].models)]}
        else:
            ch = changes_payload(combined.comparison_arrow(), results[0])
            pair = {"why": None, "runs": [0, len(results[0].models)],
                    "model": combined.models[1], "values": ch["values"]}  # fmt: skip
    if metrics is None:
        shown = [0] if compare < 0 else [0, compare]
        chosen = _initial_metrics(
            all_metrics,
            plots,
            [_run_values(payloads, runs, i) for i in shown],
            task(results[0]),
        )
    else:
        chosen = _named_metrics(metrics, all_metrics, plots)
    order = list(dict.fromkeys(s.slice for r in results for s in r.slices))
    from .._version import __version__

    return {
        "title": title if title is not None else _default_title(results, labels),
        "generator": f"assay {__version__}",
        "task": task(results[0]),
        "results": payloads,
        "runs": runs,
        "thresholds": [num(t) for t in thresholds],
        "metricsInfo": metric_catalog(all_metrics, free, task(results[0])),
        "plots": plots,
        "groups": group_catalog(all_metrics, plots, task(results[0])),
        "sliceOrder": order,
        "initial": {
            "metrics": chosen,
            "threshold": thr_index,
            "compare": compare,
        },
        "headline": _headline(headline, all_metrics, order),
        "pair": pair,
        "sample": (
            None
            if sample is None
            else sample_payload(
                sample,
                results,
                rows_per_slice=sample_rows,
                feature_columns=sample_columns,
                threshold=first_thr,
            )
        ),
    }


def _headline(
    headline: Sequence[str] | None, metrics: Sequence[str], slices: Sequence[str]
) -> dict[str, str] | None:
    """The checked ``headline`` argument as ``{"metric", "slice", "reference"}``."""
    if headline is None:
        return None
    if isinstance(headline, str) or len(headline) != 3:
        raise ValueError(
            f"The 'headline' parameter of render_html must be (metric, slice, reference_slice), "
            f"e.g. ('fnr', 'sex=Female', 'sex=Male'). Got {headline!r} instead."
        )
    metric, a, b = (str(x) for x in headline)
    if metric not in metrics:
        raise ValueError(
            f"The 'headline' parameter of render_html names metric {metric!r}, which the "
            f"result does not have; available: {list(metrics)}."
        )
    for x in (a, b):
        if x not in slices:
            raise ValueError(
                f"The 'headline' parameter of render_html names slice {x!r}, which the "
                f"result does not have; for example {list(slices)[:6]}."
            )
    return {"metric": metric, "slice": a, "reference": b}


def _run_values(
    payloads: Sequence[dict[str, Any]], runs: Sequence[dict[str, Any]], i: int
) -> dict[str, Any]:
    """The values of run ``i`` (one model of one result): ``{class: {metric: ...}}``."""
    run = runs[i]
    return payloads[run["result"]]["values"].get(run["model"], {})


def _initial_metrics(
    all_metrics: Sequence[str],
    plots: Sequence[dict[str, Any]],
    shown: Sequence[dict[str, Any]],
    task_name: str | None = None,
) -> list[str]:
    """The charts shown first: the catalogue's ``default`` metrics and plots; and every
    group of metrics that neither covers gets its first metric with a gap, when a run shown
    first has it (with two models in one result, the flip rate)."""
    chosen = default_metrics(all_metrics)
    default_plots = [p for p in plots if p["default"]]
    covered = {m for p in default_plots for m in (p["x"], p["y"])}

    def in_shown(m: str) -> bool:
        return any(m in per_cls for values in shown for per_cls in values.values())

    for _group, ms in groups(all_metrics, task_name):
        if any(m in chosen or m in covered for m in ms):
            continue
        first = next((m for m in ms if has_gap(m) and in_shown(m)), None)
        if first is not None:
            chosen.append(first)
    chosen = [m for m in all_metrics if m in chosen]
    return chosen + [p["id"] for p in default_plots]


def _named_metrics(
    metrics: Sequence[str] | str, all_metrics: Sequence[str], plots: Sequence[dict[str, Any]]
) -> list[str]:
    """The page ids of the metrics and plots named in ``metrics`` (checked)."""
    items = [metrics] if isinstance(metrics, str) else list(metrics)
    by_name = {p["plot"]: p["id"] for p in plots}
    chosen = []
    for m in items:
        if m in by_name:
            chosen.append(by_name[m])
        elif m in all_metrics:
            chosen.append(m)
        else:
            raise ValueError(
                f"The 'metrics' parameter of render_html must name metrics of the result "
                f"(or its plots {list(by_name)}). Got {m!r}; available: {all_metrics}."
            )
    return list(dict.fromkeys(chosen))


def _default_title(results: Sequence[EvalResult], labels: Sequence[str]) -> str:
    kind = "Fairness" if all(task(r) == "classification" for r in results) else "Evaluation"
    if len(results) > 1:
        return f"{kind} report: " + " vs ".join(labels)
    return f"{kind} report: " + ", ".join(results[0].models)


def html_fragment(payload: dict[str, Any]) -> str:
    """The report as one ``<div>`` (style, data and script inside) for embedding in a page."""
    return (
        '<div class="assay-report">'
        f"<style>{_asset('report.css')}</style>"
        '<div class="assay-app"><p>Loading the report… (it needs JavaScript)</p></div>'
        f'<script type="application/json" class="assay-report-data">{script_json(payload)}</script>'
        f"<script>{_asset('report.js')}</script>"
        "</div>"
    )


def html_document(payload: dict[str, Any]) -> str:
    """A complete, self-contained HTML document."""
    title = html.escape(str(payload.get("title", "")), quote=True)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        f"<title>{title}</title>\n"
        "<style>html,body{margin:0;padding:0;background:#f6f8fa}</style>\n"
        "</head>\n<body>\n"
        f"{html_fragment(payload)}\n"
        "</body>\n</html>\n"
    )


def render_html(
    result: EvalResult,
    path: str | Path | None = None,
    *,
    other: EvalResult | None = None,
    names: Sequence[str] = ("A", "B"),
    sample: Any = None,
    title: str | None = None,
    metrics: Sequence[str] | None = None,
    threshold: float | None = None,
    sample_rows: int = 20,
    headline: Sequence[str] | None = None,
    sample_columns: int = 5,
    replicate_values: int = 50_000,
) -> str:
    """Write the interactive report of ``result`` as one self-contained HTML file.

    The page works offline in any browser: controls for the metrics (grouped as the
    metric catalogue groups them), the threshold (when the result has thresholds), the
    baseline slice, the model (and class), slice filters and sorting; a bar chart per
    metric with one bar per slice, confidence-interval whiskers, the difference from the
    baseline in percent and a mark where it is significant; the catalogue's plots of one
    metric against another per slice (calibration; mean prediction against mean label
    for regression); a table under each chart; withheld slices with the reason; and a
    drill-down per slice. Names, definitions, groups and plots all come from
    :mod:`assay.core.catalogue`.

    Parameters
    ----------
    result
        An :class:`~assay.EvalResult`.
    path
        Where to write the page (optional); the HTML is returned either way.
    other
        A second result shown side by side (for example the same data scored by a
        remediated model), with the change per slice.
    names
        Display names of ``result`` and ``other``.
    sample
        A table (pyarrow, pandas, polars, dict of arrays or a file path) holding the slice
        columns, the label and the score column(s): the drill-down then shows up to
        ``sample_rows`` of its rows per slice, drawn with a fixed seed.
    title
        Page title (default: built from the model names).
    metrics
        Metrics charted at first (the reader can change them); a plot id of the catalogue
        (``"calibration_plot"``, ``"prediction_plot"``) adds that plot. Default: the
        catalogue's ``default`` metrics and plots the result has, plus the first metric
        of any group neither covers (classification: positive rate, FPR, FNR, ROC AUC,
        the calibration plot, and the flip rate with two models; regression: MSE, MAE,
        R^2 and the prediction plot).
    threshold
        Threshold shown at first (default 0.5 when evaluated, else the middle one); a
        result without thresholds (regression) takes none.
    sample_rows
        Most rows of ``sample`` kept per slice.
    headline
        What the evaluation is about: ``(metric, slice, reference_slice)``, e.g.
        ``("fnr", "sex=Female", "sex=Male")``. The page opens with both slices' values
        with intervals and the gap ``slice - reference_slice`` with its interval and
        significance, per model, in words (the interval of the gap is the evaluation's
        when ``reference_slice`` is its configured baseline, else computed from the
        shipped replicates; otherwise the page says why it has none).
    sample_columns
        How many of the sample's other columns (the user's features, in the sample's
        order) the drill-down keeps besides the slice columns, label and scores.
    replicate_values
        Most replicate numbers embedded in the page (default 50,000: about 0.3 MB), so
        that changing the baseline slice keeps significance: the charted metrics at the
        first threshold first, then the other thresholds and metrics. 0 ships none; the
        page then says why it cannot test against another baseline (as it does for a
        result read from JSON, which holds no replicates).
    """
    payload = build_payload(
        result, other=other, names=names, sample=sample, title=title, metrics=metrics,
        threshold=threshold, sample_rows=sample_rows, headline=headline,
        sample_columns=sample_columns, replicate_values=replicate_values,
    )  # fmt: skip
    doc = html_document(payload)
    if path is not None:
        write_text_atomic(path, doc)
    return doc


def repr_html(
    result: EvalResult,
    *,
    other: EvalResult | None = None,
    names: Sequence[str] = ("A", "B"),
    sample: Any = None,
    title: str | None = None,
    height: int = 900,
    **kw: Any,
) -> str:
    """The report for Jupyter's ``_repr_html_``: the same page in a sandboxed ``<iframe srcdoc>``.

    The iframe isolates the page's style and script, so several reports can share one
    notebook page.
    """
    doc = render_html(result, other=other, names=names, sample=sample, title=title, **kw)
    return (
        f'<iframe class="assay-report-frame" srcdoc="{html.escape(doc, quote=True)}" '
        f'sandbox="allow-scripts" style="width:100%;height:{int(height)}px;border:1px solid #d1d9e0;'
        f'border-radius:6px" title="assay fairness report"></iframe>'
    )
