"""Model card: what was evaluated, on which data, how each slice fares, and the largest gaps."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._util.files import write_text_atomic
from ..core import catalogue
from ..core.result import EvalResult
from ._catalog import has_gap, info, is_size, metric_help, metric_name, threshold_free_metrics
from ._payload import result_classes


def default_card_metrics(metrics: Sequence[str]) -> list[str]:
    """The metrics a card reports when ``metrics`` is not given: the catalogue's
    ``default`` and ``card`` entries among ``metrics``, in the result's order (for
    classification positive rate, FPR, FNR, precision, accuracy, mean score, mean label,
    calibration, ROC AUC, BPSN and BNSP AUC; for regression MSE, MAE, R^2, mean label and
    mean prediction)."""
    return [m for m in metrics if (e := info(m)) is not None and (e.default or e.card)]


def __getattr__(name: str) -> Any:
    # DEFAULT_CARD_METRICS: the catalogue's default and card entries (read when asked, so
    # families registered later count too).
    if name == "DEFAULT_CARD_METRICS":
        return tuple(e.name for e in catalogue.metrics() if e.default or e.card)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


CARD_SCHEMA = "assay.ModelCard"
CARD_VERSION = 1


def model_card(
    result: EvalResult,
    path: str | Path | None = None,
    *,
    format: Literal["markdown", "json"] = "markdown",
    other: EvalResult | None = None,
    names: Sequence[str] = ("A", "B"),
    title: str | None = None,
    description: str | None = None,
    metrics: Sequence[str] | None = None,
    thresholds: float | Sequence[float] | None = None,
    top: int = 5,
) -> str:
    """A model card of ``result`` as Markdown (default) or JSON; written to ``path`` if given.

    It lists the data (rows, source, label, models), the evaluation settings, every slice
    with its size (withheld slices with the reason), the chosen metrics per slice with
    their confidence intervals at the chosen threshold(s), and the largest gaps: per
    metric, the ``top`` biggest differences from the baseline slice whose interval
    excludes 0. With ``other``, a second result (named by ``names``) is compared slice by
    slice.

    Parameters
    ----------
    result, other
        :class:`~assay.EvalResult` objects; ``other`` is optional.
    path
        Where to write the card (optional); the text is returned either way.
    format
        ``"markdown"`` or ``"json"``.
    title, description
        Heading and free text (for example the model's intended use).
    metrics
        Metrics to report (default: the catalogue's ``default`` and ``card`` entries the
        result has; for classification positive rate, FPR, FNR, precision, accuracy, mean
        score, mean label, calibration, ROC AUC, BPSN AUC and BNSP AUC; for regression
        MSE, MAE, R^2, mean label and mean prediction).
    thresholds
        Threshold(s) for the metrics that have one value per threshold (default 0.5 when
        evaluated, else the middle evaluated threshold; none for a result without
        thresholds, such as a regression result).
    top
        Gaps listed per metric.
    """
    if format not in ("markdown", "json"):
        raise ValueError(
            f"The 'format' parameter of model_card must be one of {{'markdown', 'json'}}. "
            f"Got {format!r} instead."
        )
    if not isinstance(result, EvalResult) or (
        other is not None and not isinstance(other, EvalResult)
    ):
        bad = result if not isinstance(result, EvalResult) else other
        raise TypeError(
            f"model_card needs EvalResult objects (from assay.evaluate). "
            f"Got {type(bad).__name__} instead."
        )
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(
            f"The 'top' parameter of model_card must be an int >= 1. Got {top!r} instead."
        )
    card = build_card(
        result, other=other, names=names, title=title, description=description,
        metrics=metrics, thresholds=thresholds, top=top,
    )  # fmt: skip
    text = (
        json.dumps(card, indent=2, allow_nan=False) + "\n"
        if format == "json"
        else card_markdown(card)
    )
    if path is not None:
        write_text_atomic(path, text)
    return text


# ------------------------------------------------------------------------ structure
def num(x: Any) -> float | int | None:
    """A JSON-safe number at full precision: ``None`` for missing or non-finite."""
    if x is None:
        return None
    f = float(x)
    if not math.isfinite(f):
        return None
    return int(f) if f.is_integer() and abs(f) < 1e15 else f


def _pick_thresholds(result: EvalResult, thresholds: float | Sequence[float] | None) -> list[float]:
    evaluated = [round(float(t), 9) for t in result.thresholds]
    if thresholds is None:
        if not evaluated:
            return []
        return [0.5 if 0.5 in evaluated else evaluated[len(evaluated) // 2]]
    items = [thresholds] if isinstance(thresholds, int | float) else list(thresholds)
    out = []
    for t in items:
        tr = round(float(t), 9)
        if tr not in evaluated:
            raise ValueError(
                f"The 'thresholds' parameter of model_card must hold evaluated thresholds "
                f"{evaluated}. Got {t!r} instead."
            )
        out.append(tr)
    return list(dict.fromkeys(out))


def _pick_metrics(results: Sequence[EvalResult], metrics: Sequence[str] | None) -> list[str]:
    available = list(dict.fromkeys(m for r in results for m in r.metrics))
    if metrics is None:
        return default_card_metrics(available)
    items = [metrics] if isinstance(metrics, str) else list(metrics)
    for m in items:
        if m not in available:
            raise ValueError(
                f"The 'metrics' parameter of model_card must name metrics of the result. "
                f"Got {m!r}; available: {available}."
            )
    return list(dict.fromkeys(items))


def _data_section(r: EvalResult) -> dict[str, Any]:
    cfg = r.config
    scores = cfg.get("scores") or {}
    return {
        "rows": int(r.n_rows),
        "dropped": int(r.n_dropped),
        "source": str(r.source),
        "label": cfg.get("label"),
        "weight": cfg.get("weight"),
        "models": {str(m): [str(c) for c in cols] for m, cols in scores.items()}
        if isinstance(scores, dict)
        else {str(m): [str(m)] for m in r.models},
        "classes": None if cfg.get("classes") is None else [str(c) for c in cfg["classes"]],
        "positive_label": None if cfg.get("positive_label") is None else str(cfg["positive_label"]),
    }


def _eval_section(r: EvalResult, thresholds: list[float]) -> dict[str, Any]:
    cfg = r.config
    ci = cfg.get("ci") or {}
    return {
        "slice_specs": [str(s) for s in cfg.get("slices", [])],
        "n_slices": len(r.slices),
        "n_withheld": len(r.withheld_slices),
        "thresholds_evaluated": [num(t) for t in r.thresholds],
        "thresholds_reported": [num(t) for t in thresholds],
        "ci_method": None if ci.get("method") in (None, "none") else ci.get("method"),
        "n_replicates": ci.get("n_replicates"),
        "confidence": num(cfg.get("confidence")),
        "baseline": str(cfg.get("baseline", "overall")),
        "min_slice_size": cfg.get("min_slice_size"),
        # How the error-bounded (threshold-free ranking) metrics were computed: only for a
        # result that has such metrics.
        "auc": cfg.get("auc") if _has_error_bounds(r) else None,
        "auc_bins": cfg.get("auc_bins") if _has_error_bounds(r) else None,
    }


def _has_error_bounds(r: EvalResult) -> bool:
    """Whether any metric of ``r`` carries a ``max_error`` bound (the histogram AUCs)."""
    col = r.to_arrow().column("max_error").to_numpy(zero_copy_only=False)
    return bool(np.isfinite(col.astype(np.float64)).any())


def _row(
    r: EvalResult, metric: str, slice_: str, t: float | None, model: str, cls: Any
) -> dict[str, Any] | None:
    try:
        v = r.value(metric, slice=slice_, threshold=t, model=model, cls=cls)
    except ValueError:
        return None
    base = v.value - v.diff if math.isfinite(v.value) and math.isfinite(v.diff) else math.nan
    return {
        "model": model,
        "class": None if cls is None else str(cls),
        "metric": metric,
        "threshold": None if t is None else num(t),
        "slice": slice_,
        "count": v.count,
        "withheld": v.withheld,
        "value": num(v.value),
        "lower": num(v.lower),
        "upper": num(v.upper),
        "baseline_value": num(base),
        "diff": num(v.diff),
        "diff_lower": num(v.diff_lower),
        "diff_upper": num(v.diff_upper),
        "diff_percent": num(100 * v.diff / abs(base))
        if math.isfinite(base) and base != 0
        else None,
        "ratio": num(v.ratio),
        "significant": bool(v.significant),
        "max_error": num(v.max_error),
    }


def _metric_rows(
    r: EvalResult, metrics: list[str], thresholds: list[float]
) -> list[dict[str, Any]]:
    free = set(threshold_free_metrics(r))
    rows = []
    for model in r.models:
        for cls in result_classes(r):
            for metric in metrics:
                if metric not in r.metrics:
                    continue
                ts: list[float | None] = [None] if metric in free else list(thresholds)
                for t in ts:
                    for s in r.slices:
                        row = _row(r, metric, s.slice, t, model, cls)
                        if row is not None:
                            rows.append(row)
    return rows


def _gaps(rows: list[dict[str, Any]], baseline: str, top: int) -> list[dict[str, Any]]:
    """Per (model, class, metric, threshold): the ``top`` largest significant differences."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        if not has_gap(row["metric"]) or row["slice"] == baseline or row["withheld"]:
            continue
        if not row["significant"] or row["diff"] is None:
            continue
        key = (row["model"], row["class"], row["metric"], row["threshold"])
        groups.setdefault(key, []).append(row)
    out = []
    for key in groups:  # rows come in model, class, metric, threshold order
        best = sorted(groups[key], key=lambda r: -abs(r["diff"]))[:top]
        out.extend(best)
    return out


def build_card(
    result: EvalResult,
    *,
    other: EvalResult | None = None,
    names: Sequence[str] = ("A", "B"),
    title: str | None = None,
    description: str | None = None,
    metrics: Sequence[str] | None = None,
    thresholds: float | Sequence[float] | None = None,
    top: int = 5,
) -> dict[str, Any]:
    """The model card as a JSON-ready dict (what ``model_card(format="json")`` writes)."""
    results = [result] + ([other] if other is not None else [])
    if other is not None and (isinstance(names, str) or len(names) < 2 or names[0] == names[1]):
        raise ValueError(
            f"The 'names' parameter of model_card must be two distinct names. Got {names!r} instead."
        )
    thr = _pick_thresholds(result, thresholds)
    chosen = _pick_metrics(results, metrics)
    rows = _metric_rows(result, chosen, thr)
    baseline = str(result.config.get("baseline", "overall"))
    card: dict[str, Any] = {
        "schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "title": title if title is not None else "Model card: " + ", ".join(result.models),
        "description": description,
        "data": _data_section(result),
        "evaluation": _eval_section(result, thr),
        "metric_definitions": {
            m: {"name": metric_name(m), "definition": metric_help(m)} for m in chosen
        },
        "slices": [
            {
                "feature": s.feature,
                "slice": s.slice,
                "count": int(s.count),
                "weighted_count": num(s.weighted_count),
                "withheld": bool(s.withheld),
                "reason": s.reason,
            }
            for s in result.slices
        ],
        "metrics": rows,
        "largest_gaps": _gaps(rows, baseline, top),
        "comparison": None,
        "caveats": _caveats(result, rows),
    }
    if other is not None:
        o_thr = [t for t in thr if round(t, 9) in {round(float(x), 9) for x in other.thresholds}]
        o_rows = _metric_rows(other, chosen, o_thr)
        o_base = str(other.config.get("baseline", "overall"))
        card["comparison"] = {
            "names": [str(names[0]), str(names[1])],
            "other": {
                "data": _data_section(other),
                "evaluation": _eval_section(other, o_thr),
                "metrics": o_rows,
                "largest_gaps": _gaps(o_rows, o_base, top),
                "caveats": _caveats(other, o_rows),
            },
            "changes": _changes(rows, o_rows),
        }
    return card


def _changes(a_rows: list[dict[str, Any]], b_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per metric, threshold and slice: value in A, in B and the change B - A.

    Models are paired in order (first model of A with first of B, ...).
    """
    a_models = list(dict.fromkeys(r["model"] for r in a_rows))
    b_models = list(dict.fromkeys(r["model"] for r in b_rows))
    pair = dict(zip(a_models, b_models, strict=False))
    b_index = {(r["model"], r["class"], r["metric"], r["threshold"], r["slice"]): r for r in b_rows}
    out = []
    for r in a_rows:
        if r["model"] not in pair:
            continue
        b = b_index.get((pair[r["model"]], r["class"], r["metric"], r["threshold"], r["slice"]))
        if b is None:
            continue
        va, vb = r["value"], b["value"]
        change = None if va is None or vb is None else num(vb - va)
        out.append({
            "model_a": r["model"], "model_b": b["model"], "class": r["class"],
            "metric": r["metric"], "threshold": r["threshold"], "slice": r["slice"],
            "value_a": va, "lower_a": r["lower"], "upper_a": r["upper"],
            "value_b": vb, "lower_b": b["lower"], "upper_b": b["upper"],
            "change": change,
            "change_percent": None if change is None or not va else num(100 * change / abs(va)),
        })  # fmt: skip
    return out


def _caveats(r: EvalResult, rows: list[dict[str, Any]]) -> list[str]:
    cfg = r.config
    out = []
    if r.withheld_slices:
        out.append(
            f"{len(r.withheld_slices)} slice(s) have fewer than min_slice_size="
            f"{cfg.get('min_slice_size')} rows and are withheld (no metrics reported): "
            + "; ".join(s.slice for s in r.withheld_slices)
            + "."
        )
    if r.n_dropped:
        out.append(f"{r.n_dropped:,} row(s) were dropped as invalid before evaluation.")
    ci = cfg.get("ci") or {}
    if ci.get("method") not in (None, "none"):
        conf = float(cfg.get("confidence") or 0.95) * 100
        out.append(
            f"Intervals are {conf:g}% {ci.get('method')} intervals per "
            f"slice and metric, not adjusted for multiple comparisons; with many slices some "
            f"'significant' gaps are expected by chance."
        )
    else:
        out.append("No confidence intervals were computed (ci=None); no gap is marked significant.")
    baseline = str(cfg.get("baseline", "overall"))
    if baseline == "overall":
        out.append(
            "Differences and significance are relative to the overall data, which includes "
            "each slice's own rows; the gap between a slice and the rest of the data is larger."
        )
    else:
        out.append(f"Differences and significance are relative to the slice {baseline}.")
    worst = max((row["max_error"] for row in rows if row["max_error"] is not None), default=None)
    if worst is not None and worst > 0:
        out.append(
            f"Threshold-free metrics come from a {cfg.get('auc_bins')}-bin score histogram; "
            f"their error is at most {worst:.2g}."
        )
    return out


# ------------------------------------------------------------------------ Markdown
_MD_SPECIAL = str.maketrans({
    "\\": "\\\\", "`": "\\`", "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]", "|": "\\|",
    "#": "\\#", "!": "\\!", "<": "&lt;", ">": "&gt;", "&": "&amp;",
    # Anything a reader may take for a line break would end a table row.
    "\n": " ", "\r": " ", "\v": " ", "\f": " ", "\x1c": " ", "\x1d": " ", "\x1e": " ",
    "\x85": " ", "\u2028": " ", "\u2029": " ",
})  # fmt: skip


def md(text: Any) -> str:
    """``text`` as literal Markdown: inline markup, table pipes and HTML escaped."""
    return str(text).translate(_MD_SPECIAL)


def fmt_value(v: Any) -> str:
    """A number as the card shows it: counts with separators, rates with 3 decimals."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    f = float(v)
    if f.is_integer():
        return f"{int(f):,}"
    a = abs(f)
    if a >= 1000:
        return f"{round(f):,}"
    if a >= 100:
        return f"{f:.1f}"
    if a >= 10:
        return f"{f:.2f}"
    return f"{f:.3f}"


def _ci(row: dict[str, Any]) -> str:
    if row["lower"] is None or row["upper"] is None:
        return ""
    return f" [{fmt_value(row['lower'])}, {fmt_value(row['upper'])}]"


def _signed(v: float | None) -> str:
    if v is None:
        return "–"
    return ("+" if v > 0 else "−" if v < 0 else "±") + fmt_value(abs(v))


def _pct(v: float | None) -> str:
    if v is None:
        return "–"
    return ("+" if v > 0 else "−" if v < 0 else "±") + f"{abs(v):.1f}%"


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    out = ["| " + " | ".join(header) + " |"]
    out.append("|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|")
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _thr_suffix(t: Any, thresholded: bool) -> str:
    """`` — threshold 0.5`` / `` — threshold-free``; nothing in a card without thresholds."""
    if not thresholded:
        return ""
    return " — " + ("threshold-free" if t is None else f"threshold {t:g}")


def card_markdown(card: dict[str, Any]) -> str:
    """Render a card dict (from :func:`build_card`) as Markdown."""
    L: list[str] = [f"# {md(card['title'])}", ""]
    if card.get("description"):
        L += [md(card["description"]), ""]
    comp = card.get("comparison")
    names: list[str] = list(comp["names"]) if comp else []
    sections = [(names[0] if names else None, card["data"], card["evaluation"])]
    if comp:
        sections.append((names[1], comp["other"]["data"], comp["other"]["evaluation"]))

    L += ["## Data", ""]
    for name, data, _ in sections:
        if name is not None:
            L += [f"**{md(name)}**", ""]
        L.append(
            f"- Rows evaluated: {data['rows']:,}"
            + (f" ({data['dropped']:,} dropped as invalid)" if data["dropped"] else "")
        )
        L.append(f"- Source: {md(data['source'] or 'not recorded')}")
        L.append(
            f"- Label column: {md(data['label'])}"
            + (
                f" (positive label {md(data['positive_label'])})"
                if data.get("positive_label")
                else ""
            )
        )
        if data.get("weight"):
            L.append(f"- Weight column: {md(data['weight'])}")
        models = "; ".join(
            md(m) if list(cols) == [m] else f"{md(m)} (" + ", ".join(md(c) for c in cols) + ")"
            for m, cols in data["models"].items()
        )
        L.append(f"- Models (score columns): {models}")
        if data.get("classes"):
            L.append("- Classes: " + ", ".join(md(c) for c in data["classes"]))
        L.append("")

    L += ["## Evaluation", ""]
    for name, _, ev in sections:
        if name is not None:
            L += [f"**{md(name)}**", ""]
        L.append(
            "- Slices: "
            + ", ".join(md(s) for s in ev["slice_specs"])
            + f" ({ev['n_slices']} slices, {ev['n_withheld']} withheld)"
        )
        if ev["thresholds_evaluated"]:
            L.append(
                "- Thresholds reported: "
                + ", ".join(f"{t:g}" for t in ev["thresholds_reported"])
                + " (evaluated: "
                + ", ".join(f"{t:g}" for t in ev["thresholds_evaluated"])
                + ")"
            )
        if ev["ci_method"]:
            conf = ev["confidence"] * 100 if ev["confidence"] is not None else float("nan")
            L.append(
                f"- Confidence intervals: {conf:g}% {md(ev['ci_method'])} ({ev['n_replicates']} replicates)"
            )
        else:
            L.append("- Confidence intervals: none")
        L.append(f"- Baseline slice: {md(ev['baseline'])}")
        L.append(f"- Minimum slice size: {ev['min_slice_size']}")
        if ev.get("auc"):
            L.append(
                f"- Threshold-free metrics: {md(ev['auc'])}"
                + (f" ({ev['auc_bins']} bins)" if ev["auc"] == "histogram" else "")
            )
        L.append("")

    defs = card.get("metric_definitions") or {}
    if defs:
        L += ["### Metrics reported", ""]
        for m, d in defs.items():
            L.append(f"- **{md(d['name'])}** ({md(m)}): {md(d['definition'])}")
        L.append("")

    L += ["## Slices", ""]
    L += _table(
        ["Feature", "Slice", "Rows", "Weighted rows", "Status"],
        [[md(s["feature"]), md(s["slice"]), f"{s['count']:,}", fmt_value(s["weighted_count"]),
          "withheld: " + md(s["reason"] or "") if s["withheld"] else "ok"]
         for s in card["slices"]],
        {2, 3},
    )  # fmt: skip
    L.append("")

    baseline = card["evaluation"]["baseline"]
    conf = card["evaluation"]["confidence"]
    conf_txt = f"{conf * 100:g}%" if conf is not None else ""
    L += ["## Metrics by slice", ""]
    if card["evaluation"]["ci_method"]:
        L.append(
            f"Values with {conf_txt} confidence intervals. ✱ marks a significant difference "
            f"from the baseline slice {md(baseline)} (the interval of the difference excludes 0)."
        )
    else:
        L.append("Values without confidence intervals (the evaluation ran with ci=None).")
    L.append("")
    thr = bool(card["evaluation"]["thresholds_evaluated"])
    L += _metric_tables(card["metrics"], card["slices"], defs, thresholded=thr)

    L += ["## Largest gaps", ""]
    L.append(
        f"Per metric, the biggest differences from the baseline slice {md(baseline)} whose "
        f"{conf_txt} interval excludes 0 (largest first)."
    )
    L.append("")
    L += _gap_tables(card["largest_gaps"], defs, thresholded=thr)

    if comp:
        a, b = names
        L += [f"## Comparison: {md(a)} vs {md(b)}", ""]
        L.append(
            f"Change = {md(b)} − {md(a)} per slice (models paired in order). The results carry "
            f"no interval for the change; compare the two intervals."
        )
        L.append("")
        L += _change_tables(comp["changes"], defs, a, b, thresholded=thr)
        L += [f"## Largest gaps in {md(b)}", ""]
        L += _gap_tables(comp["other"]["largest_gaps"], defs, thresholded=thr)

    L += ["## Caveats", ""]
    for c in card["caveats"]:
        L.append(f"- {md(c)}")
    if comp:
        for c in comp["other"]["caveats"]:
            L.append(f"- {md(names[1])}: {md(c)}")
    L.append("")
    return "\n".join(L)


def _group(
    rows: list[dict[str, Any]], keys: tuple[str, ...]
) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    out: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(tuple(r[k] for k in keys), []).append(r)
    return out


def _metric_tables(
    rows: list[dict[str, Any]],
    slices: list[dict[str, Any]],
    defs: dict[str, Any],
    *,
    thresholded: bool = True,
) -> list[str]:
    L: list[str] = []
    by_model = _group(rows, ("model", "class"))
    for (model, cls), mrows in by_model.items():
        by_thr = _group(mrows, ("threshold",))
        for (t,), trows in sorted(
            by_thr.items(), key=lambda kv: (kv[0][0] is not None, kv[0][0] or 0)
        ):
            head = (
                f"### {md(model)}"
                + (f", class {md(cls)}" if cls is not None else "")
                + _thr_suffix(t, thresholded)
            )
            L += [head, ""]
            metrics = list(dict.fromkeys(r["metric"] for r in trows))
            cell = {(r["slice"], r["metric"]): r for r in trows}
            body = []
            for s in slices:
                line = [md(s["slice"]), f"{s['count']:,}"]
                for m in metrics:
                    r = cell.get((s["slice"], m))
                    if r is None:
                        line.append("–")
                    elif r["withheld"] and not is_size(m):
                        line.append("withheld")
                    else:
                        line.append(
                            fmt_value(r["value"]) + _ci(r) + (" ✱" if r["significant"] else "")
                        )
                body.append(line)
            header = ["Slice", "Rows"] + [md(defs.get(m, {}).get("name", m)) for m in metrics]
            L += _table(header, body, set(range(1, len(header))))
            L.append("")
    return L


def _gap_tables(
    gaps: list[dict[str, Any]], defs: dict[str, Any], *, thresholded: bool = True
) -> list[str]:
    if not gaps:
        return ["No metric differs significantly from the baseline in any slice.", ""]
    L: list[str] = []
    for (model, cls, metric, t), grows in _group(
        gaps, ("model", "class", "metric", "threshold")
    ).items():
        name = defs.get(metric, {}).get("name", metric)
        L += [
            f"### {md(name)}{_thr_suffix(t, thresholded)}"
            + (f" ({md(model)}" + (f", class {md(cls)}" if cls is not None else "") + ")"),
            "",
        ]
        body = [
            [md(g["slice"]), f"{g['count']:,}", fmt_value(g["value"]) + _ci(g),
             fmt_value(g["baseline_value"]),
             _signed(g["diff"]) + (f" [{_signed(g['diff_lower'])}, {_signed(g['diff_upper'])}]"
                                   if g["diff_lower"] is not None else ""),
             _pct(g["diff_percent"]), fmt_value(g["ratio"])]
            for g in grows
        ]  # fmt: skip
        L += _table(
            ["Slice", "Rows", "Value", "Baseline", "Difference", "Difference %", "Ratio"],
            body, {1, 2, 3, 4, 5, 6},
        )  # fmt: skip
        L.append("")
    return L


def _change_tables(
    changes: list[dict[str, Any]],
    defs: dict[str, Any],
    a: str,
    b: str,
    *,
    thresholded: bool = True,
) -> list[str]:
    L: list[str] = []
    for (ma, mb, cls, metric, t), rows in _group(
        changes, ("model_a", "model_b", "class", "metric", "threshold")
    ).items():
        name = defs.get(metric, {}).get("name", metric)
        L += [
            f"### {md(name)}{_thr_suffix(t, thresholded)}"
            + (f", class {md(cls)}" if cls is not None else ""),
            "",
        ]
        body = [
            [md(r["slice"]),
             fmt_value(r["value_a"]) + _ci({"lower": r["lower_a"], "upper": r["upper_a"]}),
             fmt_value(r["value_b"]) + _ci({"lower": r["lower_b"], "upper": r["upper_b"]}),
             _signed(r["change"]), _pct(r["change_percent"])]
            for r in rows
        ]  # fmt: skip
        L += _table(
            ["Slice", f"{md(a)} ({md(ma)})", f"{md(b)} ({md(mb)})", "Change", "Change %"],
            body, {1, 2, 3, 4},
        )  # fmt: skip
        L.append("")
    return L
