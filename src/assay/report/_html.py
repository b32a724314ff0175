"""The interactive HTML report: one self-contained file, no network, no dependencies."""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..core.result import EvalResult
from ._payload import metric_catalog, num, result_payload, sample_payload, script_json

#: Metrics charted when ``metrics`` is not given (those the result has), then the
#: calibration plot.
DEFAULT_METRICS = ("positive_rate", "fpr", "fnr", "roc_auc")
#: Name of the calibration plot in ``metrics`` (mean score against mean label per slice).
CALIBRATION_PLOT = "calibration_plot"
_CALIB_ID = "__calibration__"

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
    payloads = [result_payload(r, labels[i]) for i, r in enumerate(results)]
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
    if threshold is None:
        first = [round(float(t), 9) for t in results[0].thresholds]
        thr_value = 0.5 if 0.5 in first else first[len(first) // 2]
    else:
        thr_value = round(float(threshold), 9)
        if thr_value not in thresholds:
            raise ValueError(
                f"The 'threshold' parameter of render_html must be one of the evaluated "
                f"thresholds {thresholds}. Got {threshold!r} instead."
            )
    all_metrics = list(dict.fromkeys(m for r in results for m in r.metrics))
    if metrics is None:
        chosen = [m for m in DEFAULT_METRICS if m in all_metrics]
        if len(runs) > 1 and other is None and "flip_rate" in all_metrics:
            chosen.append("flip_rate")
        if "mean_score" in all_metrics and "mean_label" in all_metrics:
            chosen.append(_CALIB_ID)
    else:
        if isinstance(metrics, str):
            metrics = [metrics]
        chosen = []
        for m in metrics:
            if m == CALIBRATION_PLOT:
                chosen.append(_CALIB_ID)
            elif m in all_metrics:
                chosen.append(m)
            else:
                raise ValueError(
                    f"The 'metrics' parameter of render_html must name metrics of the result "
                    f"(or {CALIBRATION_PLOT!r}). Got {m!r}; available: {all_metrics}."
                )
    order = list(dict.fromkeys(s.slice for r in results for s in r.slices))
    from .._version import __version__

    return {
        "title": title if title is not None else _default_title(results, labels),
        "generator": f"assay {__version__}",
        "results": payloads,
        "runs": runs,
        "thresholds": [num(t) for t in thresholds],
        "metricsInfo": metric_catalog(all_metrics),
        "sliceOrder": order,
        "initial": {
            "metrics": chosen,
            "threshold": thresholds.index(thr_value),
            "compare": compare,
        },
        "sample": (
            None if sample is None else sample_payload(sample, results, rows_per_slice=sample_rows)
        ),
    }


def _default_title(results: Sequence[EvalResult], labels: Sequence[str]) -> str:
    if len(results) > 1:
        return "Fairness report: " + " vs ".join(labels)
    return "Fairness report: " + ", ".join(results[0].models)


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
) -> str:
    """Write the interactive fairness report of ``result`` as one self-contained HTML file.

    The page works offline in any browser: controls for the metrics, the threshold, the
    baseline slice, the model (and class), slice filters and sorting; a bar chart per
    metric with one bar per slice, confidence-interval whiskers, the difference from the
    baseline in percent and a mark where it is significant; a calibration plot; a table
    under each chart; withheld slices with the reason; and a drill-down per slice.

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
        Metrics charted at first (the reader can change them); ``"calibration_plot"`` adds
        the calibration plot. Default: positive rate, FPR, FNR, ROC AUC and calibration.
    threshold
        Threshold shown at first (default 0.5 when evaluated, else the middle one).
    sample_rows
        Most rows of ``sample`` kept per slice.
    """
    payload = build_payload(
        result, other=other, names=names, sample=sample, title=title, metrics=metrics,
        threshold=threshold, sample_rows=sample_rows,
    )  # fmt: skip
    doc = html_document(payload)
    if path is not None:
        Path(path).write_text(doc, encoding="utf-8")
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
