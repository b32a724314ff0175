"""Model card in the sense of Mitchell et al. (2019), "Model Cards for Model Reporting".

The card has the paper's nine sections. Four are generated from the evaluation (factors
evaluated, metrics, evaluation data, quantitative analyses: the headline, each model's
overall values, the paired change between models and the largest significant gaps, all
with intervals and the multiple-comparison adjustment stated); the others come from the
caller (:class:`ModelCardInfo`, a dict with the same keys, or a YAML / JSON file), and the
card says plainly which of them were not provided. The same content is written as Markdown,
as the project's JSON document (``format="json"``) or as JSON following Google's Model Card
Toolkit schema v0.0.2 (``format="model-card-toolkit"``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._util.files import write_text_atomic
from .._util.optional import require
from ..core import catalogue
from ..core.result import EvalResult
from ._catalog import has_gap, info, is_size, metric_help, metric_name, threshold_free_metrics


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
CARD_VERSION = 2
MCT_SCHEMA_VERSION = "0.0.2"

_ADJUSTMENT_NAMES = {
    "bh": "Benjamini-Hochberg (false discovery rate)",
    "holm": "Holm (family-wise error rate)",
    "none": "none",
}


# ------------------------------------------------------------------------ caller's sections
@dataclass
class ModelCardInfo:
    """The parts of a model card only the model's authors can write.

    Every field is optional; the card names the ones left out. A field is a text (blank
    lines separate paragraphs) or a list of texts (shown as bullets); ``model_details`` may
    also be a mapping such as ``{"name": ..., "version": ..., "date": "2024-05-01",
    "owners": [...], "license": "Apache-2.0", "architecture": ..., "citation": ...,
    "references": [...], "overview": ...}`` (those keys also fill the Model Card Toolkit
    export's structured fields)."""

    #: Who built the model, when, which version and type, how it was trained, license,
    #: citation, where to send questions.
    model_details: str | Sequence[str] | Mapping[str, Any] | None = None
    #: What the model is for.
    intended_use: str | Sequence[str] | None = None
    #: Who is expected to use it.
    intended_users: str | Sequence[str] | None = None
    #: Uses it was not built or evaluated for.
    out_of_scope_uses: str | Sequence[str] | None = None
    #: Groups, instruments and environments that may change how the model performs, and
    #: why the evaluated slices were chosen.
    factors: str | Sequence[str] | None = None
    #: Why these metrics, thresholds and interval settings were chosen.
    metrics: str | Sequence[str] | None = None
    #: Where the evaluation rows come from, why they were chosen, how they were processed.
    evaluation_data: str | Sequence[str] | None = None
    #: What the model was trained on.
    training_data: str | Sequence[str] | None = None
    #: Risks, sensitive data, harms and their mitigations.
    ethical_considerations: str | Sequence[str] | None = None
    #: What the evaluation does not show, and what the authors recommend.
    caveats_and_recommendations: str | Sequence[str] | None = None


INFO_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ModelCardInfo))
_FIELD_TITLES = {f: f.replace("_", " ").replace("out of scope", "out-of-scope")
                 for f in INFO_FIELDS}  # fmt: skip


def load_card_info(source: Any, *, func: str = "model_card") -> dict[str, Any]:
    """The caller's sections as ``{field: text | [texts] | {key: value}}`` (unset fields
    left out) from a :class:`ModelCardInfo`, a mapping, or the path of a YAML (``.yaml``,
    ``.yml``; needs PyYAML) or JSON file holding such a mapping."""
    if source is None:
        return {}
    if isinstance(source, ModelCardInfo):
        raw: Mapping[str, Any] = dataclasses.asdict(source)
    elif isinstance(source, Mapping):
        raw = source
    elif isinstance(source, str | Path):
        raw = _read_info_file(Path(source), func)
    else:
        raise TypeError(
            f"The 'info' parameter of {func} must be a ModelCardInfo, a mapping or the path "
            f"of a YAML or JSON file. Got {type(source).__name__} instead."
        )
    unknown = [k for k in raw if k not in INFO_FIELDS]
    if unknown:
        raise ValueError(
            f"The 'info' parameter of {func} has unknown section(s) {unknown}; the sections "
            f"are {list(INFO_FIELDS)}."
        )
    out: dict[str, Any] = {}
    for key in INFO_FIELDS:
        value = raw.get(key)
        if value is None:
            continue
        out[key] = _check_field(key, value, func)
    return out


def _read_info_file(path: Path, func: str) -> Mapping[str, Any]:
    if not path.is_file():
        raise ValueError(f"The 'info' parameter of {func}: the file {str(path)!r} does not exist.")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        yaml = require("yaml", "card", purpose="reading a model card's sections from YAML")
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(
                f"The 'info' parameter of {func}: the file {str(path)!r} is not valid YAML "
                f"({' '.join(str(exc).split())})."
            ) from None
    elif path.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"The 'info' parameter of {func}: the file {str(path)!r} is not valid JSON "
                f"({exc})."
            ) from None
    else:
        raise ValueError(
            f"The 'info' parameter of {func} must name a .yaml, .yml or .json file. "
            f"Got {str(path)!r} instead."
        )
    if not isinstance(doc, Mapping):
        raise ValueError(
            f"The 'info' parameter of {func}: the file {str(path)!r} must hold a mapping of "
            f"sections. Got {type(doc).__name__} instead."
        )
    return doc


def _check_field(key: str, value: Any, func: str) -> Any:
    def text(v: Any, where: str) -> str:
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise TypeError(
                f"The 'info' parameter of {func}: {where} must be a text or a list of texts. "
                f"Got {type(v).__name__} instead."
            )
        return str(v)

    if isinstance(value, Mapping):
        if key != "model_details":
            raise TypeError(
                f"The 'info' parameter of {func}: section {key!r} must be a text or a list of "
                f"texts (only 'model_details' may be a mapping). Got a mapping instead."
            )
        out: dict[str, Any] = {}
        for k, v in value.items():
            if v is None:
                continue
            if isinstance(v, Sequence) and not isinstance(v, str):
                out[str(k)] = [text(x, f"model_details[{k!r}]") for x in v]
            else:
                out[str(k)] = text(v, f"model_details[{k!r}]")
        return out
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [text(x, f"section {key!r}") for x in value]
    return text(value, f"section {key!r}")


# ------------------------------------------------------------------------ entry point
def model_card(
    result: EvalResult,
    path: str | Path | None = None,
    *,
    format: Literal["markdown", "json", "model-card-toolkit"] = "markdown",
    info: ModelCardInfo | Mapping[str, Any] | str | Path | None = None,
    headline: Sequence[str] | None = None,
    other: EvalResult | None = None,
    names: Sequence[str] | None = None,
    title: str | None = None,
    description: str | None = None,
    metrics: Sequence[str] | None = None,
    thresholds: float | Sequence[float] | None = None,
    top: int = 5,
    max_rows: int = 60,
) -> str:
    """A model card of ``result`` as Markdown (default) or JSON; written to ``path`` if given.

    Sections (Mitchell et al., 2019): model details, intended use (and users, and
    out-of-scope uses), factors, metrics, evaluation data, training data, quantitative
    analyses, ethical considerations, caveats and recommendations. The caller writes the
    non-generated ones through ``info``; every one not provided is named as such. The
    quantitative analyses are generated: the headline (both slices' values with intervals,
    the gap with its interval and adjusted significance, per model), each model's overall
    values, the paired change of each model from the first, and per metric the ``top``
    largest gaps from the baseline slice that stay significant after the result's
    multiple-comparison adjustment.

    Parameters
    ----------
    result
        An :class:`~assay.EvalResult` with one or more models.
    path
        Where to write the card (optional); the text is returned either way.
    format
        ``"markdown"``, ``"json"`` (the project's card document, ``assay.ModelCard``
        version 2) or ``"model-card-toolkit"`` (JSON following the Model Card Toolkit
        schema v0.0.2).
    info
        The caller's sections: a :class:`ModelCardInfo`, a mapping with its field names, or
        the path of a YAML or JSON file holding that mapping.
    headline
        ``(metric, slice, reference_slice)``: what the evaluation is about, e.g.
        ``("fnr", "sex=Female", "sex=Male")``. The gap has an interval when one of the two
        slices is the evaluation's baseline.
    other
        A second result of the same rows (for example scored by another model). It is
        paired with ``result`` (:meth:`EvalResult.compare`) when the replicates allow;
        otherwise the card shows the change without an interval and says why.
    names
        Display names of the models of ``result`` and ``other`` when each has one model
        (default: the model names the results hold).
    title, description
        Heading and an opening paragraph.
    metrics
        Metrics to report (default: the catalogue's ``default`` and ``card`` entries).
    thresholds
        Threshold(s) for the metrics with one value per threshold (default 0.5 when
        evaluated, else the middle one; none for a result without thresholds).
    top
        Gaps listed per metric.
    max_rows
        Most rows (slices x models) of a per-slice table: past it, the tables keep the
        slices the card names (overall, the baseline, the headline's, and those of the
        largest gaps while they fit) and say how many are left out; the JSON document and
        the HTML report keep every slice.
    """
    if format not in ("markdown", "json", "model-card-toolkit"):
        raise ValueError(
            "The 'format' parameter of model_card must be one of {'markdown', 'json', "
            f"'model-card-toolkit'}}. Got {format!r} instead."
        )
    card = build_card(
        result, other=other, names=names, title=title, description=description, info=info,
        headline=headline, metrics=metrics, thresholds=thresholds, top=top,
        max_rows=max_rows,
    )  # fmt: skip
    if format == "json":
        text = json.dumps(card, indent=2, allow_nan=False) + "\n"
    elif format == "model-card-toolkit":
        text = json.dumps(card_toolkit_json(card), indent=2, allow_nan=False) + "\n"
    else:
        text = card_markdown(card)
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
    sig = r.significance
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
        "min_denominator": sig.get("min_denominator"),
        "rate_interval": sig.get("rate_interval"),
        "multiple_comparisons": str(sig.get("multiple_comparisons") or "none"),
        "adjustment_family": sig.get("family"),
        # How the error-bounded (threshold-free ranking) metrics were computed: only for a
        # result that has such metrics.
        "auc": cfg.get("auc") if _has_error_bounds(r) else None,
        "auc_bins": cfg.get("auc_bins") if _has_error_bounds(r) else None,
    }


def _has_error_bounds(r: EvalResult) -> bool:
    """Whether any metric of ``r`` carries a ``max_error`` bound (the histogram AUCs)."""
    col = r.to_arrow().column("max_error").to_numpy(zero_copy_only=False)
    return bool(np.isfinite(col.astype(np.float64)).any())


_ROW_COLS = ("model", "class", "metric", "threshold", "slice", "count", "withheld", "value",
             "lower", "upper", "diff", "diff_lower", "diff_upper", "ratio", "significant",
             "significant_adjusted", "p_value", "p_value_adjusted", "max_error", "interval",
             "note")  # fmt: skip


def _metric_rows(
    r: EvalResult, metrics: list[str], thresholds: list[float], labels: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One record per (model, class, metric, reported threshold, slice), read from the
    tidy table in one pass, in model, class, metric, threshold and slice order."""
    t = r.to_arrow()
    free = set(threshold_free_metrics(r))
    keep = pc.is_in(t.column("metric"), value_set=pa.array(metrics, pa.string()))
    t = t.filter(keep)
    cols = {c: t.column(c).to_pylist() for c in _ROW_COLS}
    slice_pos = {s.slice: i for i, s in enumerate(r.slices)}
    metric_pos = {m: i for i, m in enumerate(metrics)}
    model_pos = {m: i for i, m in enumerate(r.models)}
    thr_set = {round(x, 9) for x in thresholds}
    rows = []
    for i in range(t.num_rows):
        m = cols["metric"][i]
        th = cols["threshold"][i]
        th = None if th is None or math.isnan(th) else round(th, 9)
        if m in free:
            if th is not None:
                continue
        elif th not in thr_set:
            continue
        rec = {c: cols[c][i] for c in _ROW_COLS}
        rec["threshold"] = None if th is None else num(th)
        rec["model"] = labels.get(rec["model"], rec["model"])
        for k in ("value", "lower", "upper", "diff", "diff_lower", "diff_upper", "ratio",
                  "p_value", "p_value_adjusted", "max_error"):  # fmt: skip
            rec[k] = num(rec[k])
        v, d = rec["value"], rec["diff"]
        base = v - d if v is not None and d is not None else None
        rec["baseline_value"] = num(base)
        rec["diff_percent"] = num(100 * d / abs(base)) if base and d is not None else None
        rec["significant"] = bool(rec["significant"])
        rec["significant_adjusted"] = bool(rec["significant_adjusted"])
        rec["withheld"] = bool(rec["withheld"])
        rec["count"] = int(rec["count"])
        rec["_order"] = (model_pos.get(cols["model"][i], 0), str(rec["class"]),
                         metric_pos[m], -1 if th is None else th, slice_pos.get(rec["slice"], 0))  # fmt: skip
        rows.append(rec)
    rows.sort(key=lambda x: x["_order"])
    for rec in rows:
        del rec["_order"]
    return rows


def _gaps(rows: list[dict[str, Any]], baseline: str, top: int) -> list[dict[str, Any]]:
    """Per (model, class, metric, threshold): the ``top`` largest gaps that stay significant
    after the multiple-comparison adjustment."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        if not has_gap(row["metric"]) or row["slice"] == baseline or row["withheld"]:
            continue
        if not row["significant_adjusted"] or row["diff"] is None:
            continue
        key = (row["model"], row["class"], row["metric"], row["threshold"])
        groups.setdefault(key, []).append(row)
    out = []
    for key in groups:  # rows come in model, class, metric, threshold order
        out.extend(sorted(groups[key], key=lambda r: -abs(r["diff"]))[:top])
    return out


def _test_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many gaps were tested, significant before and after the adjustment."""
    tested = [r for r in rows if r["p_value"] is not None and has_gap(r["metric"])]
    return {
        "tested": len(tested),
        "significant": sum(r["significant"] for r in tested),
        "significant_adjusted": sum(r["significant_adjusted"] for r in tested),
    }


def _labels(
    results: Sequence[EvalResult], names: Sequence[str] | None
) -> list[dict[str, str]]:
    """Display name of each model of each result: its own name unless ``names`` gives one
    per result (each with one model); clashes get `` (2)``."""
    if names is not None:
        if isinstance(names, str) or len(names) != len(results) or len(set(names)) != len(names):
            raise ValueError(
                f"The 'names' parameter of model_card must hold {len(results)} distinct "
                f"name(s), one per result. Got {names!r} instead."
            )
        if any(len(r.models) != 1 for r in results):
            raise ValueError(
                "The 'names' parameter of model_card needs results with one model each; "
                f"these have {[len(r.models) for r in results]} models. Leave it out to use "
                "the model names."
            )
        return [{r.models[0]: str(n)} for r, n in zip(results, names, strict=True)]
    seen: set[str] = set()
    out = []
    for r in results:
        lab = {}
        for m in r.models:
            name, k = m, 2
            while name in seen:
                name, k = f"{m} ({k})", k + 1
            seen.add(name)
            lab[m] = name
        out.append(lab)
    return out


def build_card(
    result: EvalResult,
    *,
    other: EvalResult | None = None,
    names: Sequence[str] | None = None,
    title: str | None = None,
    description: str | None = None,
    info: ModelCardInfo | Mapping[str, Any] | str | Path | None = None,
    headline: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    thresholds: float | Sequence[float] | None = None,
    top: int = 5,
    max_rows: int = 60,
) -> dict[str, Any]:
    """The model card as a JSON-ready dict (what ``model_card(format="json")`` writes)."""
    for what, r in (("result", result), ("other", other)):
        if r is not None and not isinstance(r, EvalResult):
            raise TypeError(
                f"The {what!r} parameter of model_card must be an EvalResult (from "
                f"assay.evaluate). Got {type(r).__name__} instead."
            )
    for what, v in (("top", top), ("max_rows", max_rows)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(
                f"The {what!r} parameter of model_card must be an int >= 1. Got {v!r} instead."
            )
    sections = load_card_info(info)
    pairing: str | None = None
    results = [result]
    if other is not None:
        labels_in = _labels([result, other], names)
        try:
            combined = result.compare(other)
        except ValueError as exc:
            results = [result, other]
            labels = labels_in
            pairing = " ".join(str(exc).split())
        else:
            results = [combined]
            first, second = combined.models
            labels = [{first: labels_in[0][result.models[0]],
                       second: labels_in[1][other.models[0]]}]  # fmt: skip
    else:
        labels = _labels(results, names)
    main = results[0]
    thr = _pick_thresholds(main, thresholds)
    chosen = _pick_metrics(results, metrics)
    rows: list[dict[str, Any]] = []
    for r, lab in zip(results, labels, strict=True):
        o_thr = [t for t in thr if t in {round(float(x), 9) for x in r.thresholds}]
        rows += _metric_rows(r, chosen, o_thr, lab)
    baseline = str(main.config.get("baseline", "overall"))
    models = [lab[m] for r, lab in zip(results, labels, strict=True) for m in r.models]
    ev = _eval_section(main, thr)
    hl = _headline(results, labels, headline, thr)
    gaps = _gaps(rows, baseline, top)
    card: dict[str, Any] = {
        "schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "title": title if title is not None else "Model card: " + ", ".join(models),
        "description": description,
        "models": models,
        "sections": sections,
        "not_provided": [f for f in INFO_FIELDS if f not in sections],
        "data": _data_section(main),
        "evaluation": ev,
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
            for s in main.slices
        ],
        "headline": hl,
        "overall": [r for r in rows if r["slice"] == "overall"],
        "metrics": rows,
        "largest_gaps": gaps,
        "tests": _test_counts(rows),
        "model_comparison": _model_comparison(results, labels, chosen, thr, hl, pairing, top),
        "caveats": _caveats(main, rows, pairing),
        "top": top,
        "max_rows": max_rows,
    }
    if len(results) > 1:
        card["data_other"] = _data_section(results[1])
    return card


def _headline(
    results: Sequence[EvalResult],
    labels: Sequence[Mapping[str, str]],
    headline: Sequence[str] | None,
    thresholds: list[float],
) -> dict[str, Any] | None:
    """Per model: both slices' values with intervals and the gap ``slice - reference`` with
    its interval and significance (from the evaluation when one slice is its baseline)."""
    if headline is None:
        return None
    if isinstance(headline, str) or len(headline) != 3:
        raise ValueError(
            "The 'headline' parameter of model_card must be (metric, slice, reference_slice), "
            f"e.g. ('fnr', 'sex=Female', 'sex=Male'). Got {headline!r} instead."
        )
    metric, a, b = (str(x) for x in headline)
    main = results[0]
    if metric not in main.metrics:
        raise ValueError(
            f"The 'headline' parameter of model_card names metric {metric!r}, which the "
            f"result does not have; available: {main.metrics}."
        )
    names = [s.slice for s in main.slices]
    for x in (a, b):
        if x not in names:
            raise ValueError(
                f"The 'headline' parameter of model_card names slice {x!r}, which the result "
                f"does not have; for example {names[:6]}."
            )
    e = info(metric)
    t = None if e is not None and not e.per_threshold else (thresholds[0] if thresholds else None)
    baseline = str(main.config.get("baseline", "overall"))
    per_model = []
    for r, lab in zip(results, labels, strict=True):
        for m in r.models:
            va = r.value(metric, slice=a, threshold=t, model=m)
            vb = r.value(metric, slice=b, threshold=t, model=m)
            rec: dict[str, Any] = {
                "model": lab[m],
                "value": num(va.value), "lower": num(va.lower), "upper": num(va.upper),
                "count": va.count, "note": va.note,
                "reference_value": num(vb.value), "reference_lower": num(vb.lower),
                "reference_upper": num(vb.upper), "reference_count": vb.count,
                "reference_note": vb.note,
            }  # fmt: skip
            gap = va.value - vb.value
            rec["gap"] = num(gap)
            if b == baseline:
                lo, hi, g = va.diff_lower, va.diff_upper, va
                sign = 1.0
            elif a == baseline:
                lo, hi, g = -vb.diff_upper, -vb.diff_lower, vb
                sign = -1.0
            else:
                g, sign, lo, hi = None, 1.0, math.nan, math.nan
            if g is None:
                rec.update(gap_lower=None, gap_upper=None, significant=None,
                           significant_adjusted=None, p_value=None, p_value_adjusted=None,
                           why_no_interval=f"the evaluation's intervals are for gaps from "
                           f"its baseline slice {baseline}; evaluate with baseline={b!r} "
                           "for an interval of this gap")  # fmt: skip
            else:
                rec.update(gap=num(sign * g.diff), gap_lower=num(lo), gap_upper=num(hi),
                           significant=bool(g.significant),
                           significant_adjusted=bool(g.significant_adjusted),
                           p_value=num(g.p_value), p_value_adjusted=num(g.p_value_adjusted),
                           why_no_interval=None if math.isfinite(lo) and math.isfinite(hi)
                           else (g.note or "the gap has no interval (ci=None or undefined)"))  # fmt: skip
            per_model.append(rec)
    return {"metric": metric, "metric_name": metric_name(metric), "slice": a, "reference": b,
            "threshold": num(t), "models": per_model}  # fmt: skip


def _model_comparison(
    results: Sequence[EvalResult],
    labels: Sequence[Mapping[str, str]],
    metrics: list[str],
    thresholds: list[float],
    headline: dict[str, Any] | None,
    pairing: str | None,
    top: int,
) -> dict[str, Any] | None:
    """The change of each model from the first: overall per metric, at the headline's
    slices, and the largest significant changes by slice; paired intervals when the models
    were evaluated together."""
    models = [lab[m] for r, lab in zip(results, labels, strict=True) for m in r.models]
    if len(models) < 2:
        return None
    thr_set = {round(t, 9) for t in thresholds}
    keep_slices = {"overall"} | (
        {headline["slice"], headline["reference"]} if headline is not None else set()
    )
    if pairing is not None:  # two results evaluated apart: the change, no interval
        a, b = results
        changes = []
        for metric in metrics:
            if metric not in a.metrics or metric not in b.metrics or not has_gap(metric):
                continue
            e = info(metric)
            ts: list[float | None] = (
                [None] if e is not None and not e.per_threshold else list(thresholds)
            )
            for t in ts:
                for s in sorted(keep_slices):
                    try:
                        va = a.value(metric, slice=s, threshold=t, model=a.models[0])
                        vb = b.value(metric, slice=s, threshold=t, model=b.models[0])
                    except ValueError:
                        continue
                    changes.append({
                        "model": models[len(a.models)], "reference": models[0],
                        "metric": metric, "threshold": num(t), "slice": s, "class": None,
                        "value": num(vb.value), "reference_value": num(va.value),
                        "diff": num(vb.value - va.value), "diff_lower": None,
                        "diff_upper": None, "significant": None, "significant_adjusted": None,
                        "p_value_adjusted": None,
                    })  # fmt: skip
        return {"paired": False, "why_not_paired": pairing, "changes": changes, "largest": []}
    r, lab = results[0], labels[0]
    t = r.comparison_arrow()
    if t.num_rows == 0:
        return {"paired": False, "why_not_paired": "the result holds no paired comparison",
                "changes": [], "largest": []}  # fmt: skip
    cols = t.to_pydict()
    selected, candidates = [], []
    for i in range(t.num_rows):
        m = cols["metric"][i]
        if m not in metrics:
            continue
        th = cols["threshold"][i]
        th = None if th is None or math.isnan(th) else round(th, 9)
        if th is not None and th not in thr_set:
            continue
        rec = {
            "model": lab.get(cols["model"][i], cols["model"][i]),
            "reference": lab.get(cols["reference"][i], cols["reference"][i]),
            "class": cols["class"][i], "metric": m, "threshold": num(th),
            "slice": cols["slice"][i], "value": num(cols["value"][i]),
            "reference_value": num(cols["reference_value"][i]), "diff": num(cols["diff"][i]),
            "diff_lower": num(cols["diff_lower"][i]), "diff_upper": num(cols["diff_upper"][i]),
            "significant": bool(cols["significant"][i]),
            "significant_adjusted": bool(cols["significant_adjusted"][i]),
            "p_value_adjusted": num(cols["p_value_adjusted"][i]),
        }  # fmt: skip
        e = info(m)
        if (rec["slice"] == "overall" and e is not None and e.default) or (
            headline is not None and m == headline["metric"] and rec["slice"] in keep_slices
        ):
            selected.append(rec)
        elif rec["significant_adjusted"] and rec["diff"] is not None and e is not None and e.default:
            candidates.append(rec)
    largest: list[dict[str, Any]] = []
    by_metric: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for c in candidates:
        by_metric.setdefault((c["metric"], c["threshold"], c["class"]), []).append(c)
    for group in by_metric.values():
        largest += sorted(group, key=lambda x: -abs(x["diff"]))[:top]
    return {"paired": True, "why_not_paired": None, "changes": selected, "largest": largest}


def _caveats(r: EvalResult, rows: list[dict[str, Any]], pairing: str | None) -> list[str]:
    cfg = r.config
    out = []
    if r.withheld_slices:
        names = [s.slice for s in r.withheld_slices]
        shown = "; ".join(names[:10]) + (f"; and {len(names) - 10} more" if len(names) > 10 else "")
        out.append(
            f"{len(names)} slice(s) have fewer than min_slice_size={cfg.get('min_slice_size')} "
            f"rows and are withheld (no metrics reported): {shown}."
        )
    rate_withheld = {(x["slice"], x["metric"]) for x in rows
                     if x["value"] is None and not x["withheld"] and x["note"]}  # fmt: skip
    if rate_withheld:
        out.append(
            f"{len(rate_withheld)} (slice, metric) value(s) are not reported, each with its "
            f"reason in the JSON card (for example rates whose denominator is below "
            f"min_denominator={r.significance.get('min_denominator')})."
        )
    if r.n_dropped:
        out.append(f"{r.n_dropped:,} row(s) were dropped as invalid before evaluation.")
    ci = cfg.get("ci") or {}
    method = str(r.significance.get("multiple_comparisons") or "none")
    if ci.get("method") not in (None, "none"):
        conf = float(cfg.get("confidence") or 0.95) * 100
        adj = (
            "significance is adjusted for multiple comparisons across slices with "
            f"{_ADJUSTMENT_NAMES.get(method, method)}"
            if method != "none"
            else "significance is not adjusted for multiple comparisons; with many slices "
            "some 'significant' gaps are expected by chance"
        )
        out.append(f"Intervals are {conf:g}% {ci.get('method')} intervals per slice and "
                   f"metric; {adj}.")  # fmt: skip
        out.append(
            "A gap that is not significant is not shown to be absent: small slices have wide "
            "intervals. Read the interval, not only the mark."
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
            f"Ranking metrics come from a {cfg.get('auc_bins')}-bin score histogram; "
            f"their error is at most {worst:.2g}."
        )
    if pairing is not None:
        out.append(
            "The two results were evaluated separately and could not be paired, so the change "
            f"between models has no interval: {pairing}"
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


def _ci(lo: Any, hi: Any, signed: bool = False) -> str:
    if lo is None or hi is None:
        return ""
    f = _signed if signed else fmt_value
    return f" [{f(lo)}, {f(hi)}]"


def _signed(v: float | None) -> str:
    if v is None:
        return "–"
    return ("+" if v > 0 else "−" if v < 0 else "±") + fmt_value(abs(v))


def _p(v: float | None) -> str:
    """A p-value: three decimals, ``< 0.001`` below that."""
    if v is None:
        return "–"
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


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


def _caller(L: list[str], sections: Mapping[str, Any], key: str, *, heading: str | None = None) -> None:
    """The caller's text for ``key``, or a plain statement that it was not provided."""
    if heading:
        L += [f"**{heading}**", ""]
    value = sections.get(key)
    if value is None:
        L += ["*Not provided by the model's authors.*", ""]
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            text = ", ".join(md(x) for x in v) if isinstance(v, list) else md(v)
            L.append(f"- {md(str(k).replace('_', ' ').capitalize())}: {text}")
        L.append("")
    elif isinstance(value, list):
        L += [f"- {md(x)}" for x in value] + [""]
    else:
        for para in str(value).split("\n\n"):
            if para.strip():
                L += [md(para.strip()), ""]


def _sig_words(rec: Mapping[str, Any], method: str) -> str:
    if rec.get("significant") is None:
        return "not tested (no interval)"
    if rec.get("significant_adjusted"):
        p = rec.get("p_value_adjusted")
        return "significant" + (f" (adjusted p = {p:.2g})" if p is not None and method != "none"
                                else "")  # fmt: skip
    if rec.get("significant"):
        return "not significant after the adjustment for multiple comparisons"
    if rec.get("gap_lower") is None and rec.get("diff_lower") is None:
        return "not tested (no interval)"
    return "not significant (the interval includes 0)"


def card_markdown(card: dict[str, Any]) -> str:
    """Render a card dict (from :func:`build_card`) as Markdown."""
    sec = card.get("sections") or {}
    ev = card["evaluation"]
    data = card["data"]
    defs = card.get("metric_definitions") or {}
    thresholded = bool(ev["thresholds_evaluated"])
    method = ev.get("multiple_comparisons") or "none"
    adj_name = _ADJUSTMENT_NAMES.get(method, method)
    conf = ev["confidence"]
    conf_txt = f"{conf * 100:g}%" if conf is not None else ""
    baseline = ev["baseline"]

    L: list[str] = [f"# {md(card['title'])}", ""]
    if card.get("description"):
        L += [md(card["description"]), ""]
    missing = card.get("not_provided") or []
    if missing:
        L += [
            "**Not provided by the model's authors:** "
            + ", ".join(_FIELD_TITLES[m] for m in missing)
            + ". Those parts of this card are empty; everything under Factors, Metrics, "
            "Evaluation data and Quantitative analyses was generated from the evaluation.",
            "",
        ]
    else:
        L += ["Every section was provided by the model's authors or generated from the "
              "evaluation.", ""]  # fmt: skip

    # 1. Model details
    L += ["## Model details", ""]
    _caller(L, sec, "model_details")
    models = "; ".join(
        md(m) if list(cols) == [m] else f"{md(m)} (" + ", ".join(md(c) for c in cols) + ")"
        for m, cols in data["models"].items()
    )
    L += [f"Models evaluated (score columns): {models}.", ""]
    if card.get("data_other"):
        o = card["data_other"]
        L += ["Second result: " + "; ".join(md(m) for m in o["models"]) + ".", ""]

    # 2. Intended use
    L += ["## Intended use", ""]
    _caller(L, sec, "intended_use", heading="Primary intended uses")
    _caller(L, sec, "intended_users", heading="Primary intended users")
    _caller(L, sec, "out_of_scope_uses", heading="Out-of-scope uses")

    # 3. Factors
    L += ["## Factors", ""]
    _caller(L, sec, "factors")
    L += [f"Evaluated slices: {', '.join(md(s) for s in ev['slice_specs']) or 'overall only'} "
          f"({ev['n_slices']:,} slices, {ev['n_withheld']:,} withheld below "
          f"{ev['min_slice_size']} rows).", ""]  # fmt: skip
    L += _slice_summary(card["slices"])

    # 4. Metrics
    L += ["## Metrics", ""]
    _caller(L, sec, "metrics")
    for m, d in defs.items():
        L.append(f"- **{md(d['name'])}** ({md(m)}): {md(d['definition'])}")
    if defs:
        L.append("")
    if ev["thresholds_evaluated"]:
        L.append("- Decision thresholds reported: "
                 + ", ".join(f"{t:g}" for t in ev["thresholds_reported"]) + " (evaluated: "
                 + ", ".join(f"{t:g}" for t in ev["thresholds_evaluated"]) + ")")  # fmt: skip
    if ev["ci_method"]:
        L.append(f"- Confidence intervals: {conf_txt} {md(ev['ci_method'])} "
                 f"({ev['n_replicates']} replicates); rates: {md(ev.get('rate_interval'))}; "
                 f"a rate with a denominator below {ev.get('min_denominator')} is withheld")  # fmt: skip
        per = "model, metric and threshold" if thresholded else "model and metric"
        L.append(f"- Significance of a gap: its {conf_txt} interval excludes 0; adjusted for "
                 f"multiple comparisons with {md(adj_name)} across all slices of each "
                 f"{per} (gaps without a test, such as withheld slices, are not counted)")  # fmt: skip
    else:
        L.append("- Confidence intervals: none (ci=None); no gap is tested")
    L.append(f"- Gaps are measured from the baseline slice {md(baseline)}")
    if ev.get("auc"):
        L.append(f"- Ranking metrics: {md(ev['auc'])}"
                 + (f" ({ev['auc_bins']} bins)" if ev["auc"] == "histogram" else ""))  # fmt: skip
    L.append("")

    # 5. Evaluation data
    L += ["## Evaluation data", ""]
    _caller(L, sec, "evaluation_data")
    for label, d in (("", data), ("Second result: ", card.get("data_other"))):
        if not d:
            continue
        L.append(
            f"- {label}Rows evaluated: {d['rows']:,}"
            + (f" ({d['dropped']:,} dropped as invalid)" if d["dropped"] else "")
            + f"; source: {md(d['source'] or 'not recorded')}; label column: {md(d['label'])}"
            + (f" (positive label {md(d['positive_label'])})" if d.get("positive_label") else "")
            + (f"; weight column: {md(d['weight'])}" if d.get("weight") else "")
            + ("; classes: " + ", ".join(md(c) for c in d["classes"]) if d.get("classes") else "")
        )
    L.append("")

    # 6. Training data
    L += ["## Training data", ""]
    _caller(L, sec, "training_data")

    # 7. Quantitative analyses
    L += ["## Quantitative analyses", ""]
    L += _headline_md(card, method)
    L += _overall_md(card, thresholded)
    L += _comparison_md(card, thresholded)
    L += _gaps_md(card, thresholded, conf_txt, adj_name)
    L += _slices_md(card, thresholded, conf_txt)

    # 8. Ethical considerations
    L += ["## Ethical considerations", ""]
    _caller(L, sec, "ethical_considerations")

    # 9. Caveats and recommendations
    L += ["## Caveats and recommendations", ""]
    _caller(L, sec, "caveats_and_recommendations")
    L += ["From the evaluation:", ""]
    L += [f"- {md(c)}" for c in card["caveats"]] + [""]
    return "\n".join(L)


def _slice_summary(slices: list[dict[str, Any]]) -> list[str]:
    by: dict[str, list[dict[str, Any]]] = {}
    for s in slices:
        by.setdefault(s["feature"], []).append(s)
    body = []
    for feature, ss in by.items():
        ok = [s["count"] for s in ss if not s["withheld"]]
        body.append([md(feature), f"{len(ss):,}", fmt_value(min(ok)) if ok else "–",
                     fmt_value(max(ok)) if ok else "–",
                     f"{sum(s['withheld'] for s in ss):,}"])  # fmt: skip
    out = _table(["Slice feature", "Slices", "Smallest", "Largest", "Withheld"], body,
                 {1, 2, 3, 4})  # fmt: skip
    return [*out, ""]


def _headline_md(card: dict[str, Any], method: str) -> list[str]:
    hl = card.get("headline")
    if not hl:
        return ["*No headline was given (headline=(metric, slice, reference_slice)).*", ""]
    name, a, b = md(hl["metric_name"]), md(hl["slice"]), md(hl["reference"])
    at = f" at threshold {hl['threshold']:g}" if hl["threshold"] is not None else ""
    L = ["### Headline", "", f"{name}{at}: {a} compared with {b}.", ""]
    body = []
    for m in hl["models"]:
        body.append([md(m["model"]), fmt_value(m["value"]) + _ci(m["lower"], m["upper"]),
                     fmt_value(m["reference_value"]) + _ci(m["reference_lower"], m["reference_upper"]),
                     _signed(m["gap"]) + _ci(m["gap_lower"], m["gap_upper"], signed=True),
                     _sig_words(m, method)])  # fmt: skip
    L += _table(["Model", a, b, f"Gap ({a} − {b})", "Significance"], body, {1, 2, 3})
    L.append("")
    sig = [md(m["model"]) for m in hl["models"] if m.get("significant_adjusted")]
    not_sig = [md(m["model"]) for m in hl["models"] if m.get("significant") is not None
               and not m.get("significant_adjusted")]  # fmt: skip
    if len(hl["models"]) > 1 and (sig or not_sig):
        L += ["In words: the gap is significant for " + (", ".join(sig) or "no model")
              + "; it is not significant for " + (", ".join(not_sig) or "any model") + ".", ""]  # fmt: skip
    for m in hl["models"]:
        if m.get("why_no_interval"):
            L.append(f"- {md(m['model'])}: no interval for the gap: {md(m['why_no_interval'])}.")
    if any(m.get("why_no_interval") for m in hl["models"]):
        L.append("")
    return L


def _overall_md(card: dict[str, Any], thresholded: bool) -> list[str]:
    rows = card.get("overall") or []
    if not rows:
        return []
    defs = card.get("metric_definitions") or {}
    L = ["### Overall, per model", ""]
    for (t,), trows in sorted(_group(rows, ("threshold",)).items(),
                              key=lambda kv: (kv[0][0] is not None, kv[0][0] or 0)):  # fmt: skip
        metrics = list(dict.fromkeys(r["metric"] for r in trows))
        cell = {(r["model"], r["class"], r["metric"]): r for r in trows}
        keys = list(dict.fromkeys((r["model"], r["class"]) for r in trows))
        body = []
        for model, cls in keys:
            line = [md(model) + (f", class {md(cls)}" if cls is not None else "")]
            for m in metrics:
                r = cell.get((model, cls, m))
                line.append("–" if r is None else fmt_value(r["value"]) + _ci(r["lower"], r["upper"]))
            body.append(line)
        if thresholded:
            L += [("Threshold-free:" if t is None else f"At threshold {t:g}:"), ""]
        header = ["Model"] + [md(defs.get(m, {}).get("name", m)) for m in metrics]
        L += [*_table(header, body, set(range(1, len(header)))), ""]
    return L


def _comparison_md(card: dict[str, Any], thresholded: bool) -> list[str]:
    comp = card.get("model_comparison")
    if not comp:
        return []
    defs = card.get("metric_definitions") or {}
    L = ["### Change between models", ""]
    if comp["paired"]:
        L += ["Change = model − reference model on the same rows, with its interval from the "
              "paired replicates.", ""]  # fmt: skip
    else:
        L += [f"Change = model − reference model, without an interval: "
              f"{md(comp['why_not_paired'])}", ""]  # fmt: skip

    def table(recs: list[dict[str, Any]]) -> list[str]:
        body = [[md(c["model"]) + " − " + md(c["reference"]),
                 md(defs.get(c["metric"], {}).get("name", c["metric"]))
                 + (f" @ {c['threshold']:g}" if thresholded and c["threshold"] is not None else ""),
                 md(c["slice"]), fmt_value(c["reference_value"]), fmt_value(c["value"]),
                 _signed(c["diff"]) + _ci(c["diff_lower"], c["diff_upper"], signed=True),
                 ("–" if c["significant"] is None else "yes" if c["significant_adjusted"]
                  else "no")]
                for c in recs]  # fmt: skip
        out = _table(["Models", "Metric", "Slice", "Reference", "Model", "Change",
                      "Significant (adjusted)"], body, {3, 4, 5})  # fmt: skip
        return [*out, ""]

    if comp["changes"]:
        L += table(comp["changes"])
    if comp["largest"]:
        L += ["Largest significant changes in other slices:", "", *table(comp["largest"])]
    return L


def _gaps_md(card: dict[str, Any], thresholded: bool, conf_txt: str, adj_name: str) -> list[str]:
    defs = card.get("metric_definitions") or {}
    baseline = card["evaluation"]["baseline"]
    tests = card.get("tests") or {}
    L = ["### Largest gaps", ""]
    if not card["evaluation"]["ci_method"]:
        return [*L, "No intervals were computed, so no gap is tested.", ""]
    L.append(
        f"Per metric, the largest differences from the baseline slice {md(baseline)} whose "
        f"{conf_txt} interval excludes 0 and that stay significant after the {md(adj_name)} "
        f"adjustment: {tests.get('significant_adjusted', 0):,} of {tests.get('tested', 0):,} "
        f"tested gaps ({tests.get('significant', 0):,} before the adjustment)."
    )
    L.append("")
    gaps = card["largest_gaps"]
    if not gaps:
        return [*L, "No metric differs significantly from the baseline in any slice.", ""]
    for (metric, t, cls), grows in _group(gaps, ("metric", "threshold", "class")).items():
        name = defs.get(metric, {}).get("name", metric)
        L += [f"#### {md(name)}{_thr_suffix(t, thresholded)}"
              + (f", class {md(cls)}" if cls is not None else ""), ""]  # fmt: skip
        grows = sorted(grows, key=lambda g: -abs(g["diff"]))[: int(card.get("top") or 5)]
        body = [
            [md(g["slice"]), md(g["model"]), f"{g['count']:,}",
             fmt_value(g["value"]) + _ci(g["lower"], g["upper"]),
             fmt_value(g["baseline_value"]),
             _signed(g["diff"]) + _ci(g["diff_lower"], g["diff_upper"], signed=True),
             _pct(g["diff_percent"]), _p(g["p_value_adjusted"])]
            for g in grows
        ]  # fmt: skip
        L += _table(["Slice", "Model", "Rows", "Value", "Baseline", "Difference",
                     "Difference %", "Adjusted p"], body, {2, 3, 4, 5, 6, 7})  # fmt: skip
        L.append("")
    return L


def _slices_md(card: dict[str, Any], thresholded: bool, conf_txt: str) -> list[str]:
    rows = card["metrics"]
    defs = card.get("metric_definitions") or {}
    slices = card["slices"]
    limit = int(card.get("max_rows") or 60)
    n_models = max(1, len(card.get("models") or []))
    L = ["### Metrics by slice", ""]
    if card["evaluation"]["ci_method"]:
        L += [f"Values with {conf_txt} confidence intervals. ✱ marks a gap from the baseline "
              f"slice {md(card['evaluation']['baseline'])} that is significant after the "
              "adjustment for multiple comparisons.", ""]  # fmt: skip
    if len(slices) * n_models > limit:
        named = {"overall", card["evaluation"]["baseline"]}
        if card.get("headline"):
            named |= {card["headline"]["slice"], card["headline"]["reference"]}
        by_size = sorted(card["largest_gaps"], key=lambda g: -abs(g["diff"]))
        for g in by_size:
            if (len(named) + 1) * n_models > limit:
                break
            named.add(g["slice"])
        slices = [s for s in slices if s["slice"] in named]
        L += [f"{len(slices):,} of {len(card['slices']):,} slices shown (overall, the baseline, "
              "the headline's and those with the largest gaps, up to "
              f"{limit} rows); every slice is in the JSON card (format=\"json\") and the HTML "
              "report.", ""]  # fmt: skip
    models = list(dict.fromkeys(r["model"] for r in rows))
    multi = len(models) > 1
    for (cls, t), trows in sorted(
        _group(rows, ("class", "threshold")).items(),
        key=lambda kv: (str(kv[0][0]), kv[0][1] is not None, kv[0][1] or 0),
    ):
        L += [f"#### {', '.join(md(m) for m in models)}"
              + (f", class {md(cls)}" if cls is not None else "")
              + _thr_suffix(t, thresholded), ""]  # fmt: skip
        metrics = list(dict.fromkeys(r["metric"] for r in trows))
        cell = {(r["model"], r["slice"], r["metric"]): r for r in trows}
        body = []
        for s in slices:
            for model in models:
                line = [md(s["slice"])] + ([md(model)] if multi else []) + [f"{s['count']:,}"]
                for m in metrics:
                    r = cell.get((model, s["slice"], m))
                    if r is None:
                        line.append("–")
                    elif r["withheld"] and not is_size(m):
                        line.append("withheld")
                    elif r["value"] is None:
                        line.append("– (" + md(r["note"]) + ")" if r["note"] else "–")
                    else:
                        line.append(fmt_value(r["value"]) + _ci(r["lower"], r["upper"])
                                    + (" ✱" if r["significant_adjusted"] else ""))  # fmt: skip
                body.append(line)
        header = (["Slice"] + (["Model"] if multi else []) + ["Rows"]
                  + [md(defs.get(m, {}).get("name", m)) for m in metrics])  # fmt: skip
        L += _table(header, body, set(range(2 if multi else 1, len(header))))
        L.append("")
    return L


def _group(
    rows: list[dict[str, Any]], keys: tuple[str, ...]
) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    out: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(tuple(r[k] for k in keys), []).append(r)
    return out


# ------------------------------------------------------------------------ Model Card Toolkit
def _as_list(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list):
        return [str(x) for x in v]
    return [str(v)]


def _as_text(v: Any) -> str:
    if isinstance(v, Mapping):
        return "\n".join(f"{k}: {', '.join(_as_list(x))}" for k, x in v.items())
    return "\n".join(_as_list(v))


def card_toolkit_json(card: dict[str, Any]) -> dict[str, Any]:
    """The card (from :func:`build_card`) as a document of Google's Model Card Toolkit
    schema v0.0.2 (``model_card_toolkit/schema/v0.0.2/model_card.schema.json``): model
    details, model parameters (evaluation and training data), quantitative analysis
    (each model's overall values, the headline and the largest gaps, with intervals) and
    considerations. Every value is a string, as the schema asks."""
    sec = card.get("sections") or {}
    details = sec.get("model_details")
    d = dict(details) if isinstance(details, Mapping) else {}
    md_out: dict[str, Any] = {"name": str(d.get("name") or card["title"])}
    overview = d.get("overview") or card.get("description")
    if not isinstance(details, Mapping) and details is not None:
        overview = "\n".join(filter(None, [overview, _as_text(details)]))
    if overview:
        md_out["overview"] = _as_text(overview)
    if d.get("documentation"):
        md_out["documentation"] = _as_text(d["documentation"])
    if d.get("owners"):
        md_out["owners"] = [{"name": o} for o in _as_list(d["owners"])]
    if d.get("version") or d.get("date"):
        md_out["version"] = {k: _as_text(d[k]) for k in ("version", "date") if d.get(k)}
        if "version" in md_out["version"]:
            md_out["version"]["name"] = md_out["version"].pop("version")
    if d.get("license"):
        md_out["licenses"] = [{"identifier": x} for x in _as_list(d["license"])]
    if d.get("references"):
        md_out["references"] = [{"reference": x} for x in _as_list(d["references"])]
    if d.get("citation"):
        md_out["citations"] = [{"citation": x} for x in _as_list(d["citation"])]
    params: dict[str, Any] = {}
    if d.get("architecture"):
        params["model_architecture"] = _as_text(d["architecture"])
    data = card["data"]
    eval_desc = (f"{data['rows']} rows from {data['source'] or 'an unrecorded source'}, "
                 f"label column {data['label']}; slices: "
                 + ", ".join(card["evaluation"]["slice_specs"]))  # fmt: skip
    if sec.get("evaluation_data"):
        eval_desc = _as_text(sec["evaluation_data"]) + "\n" + eval_desc
    params["data"] = [{"name": "evaluation data", "description": eval_desc}]
    if sec.get("training_data"):
        params["data"].append({"name": "training data",
                               "description": _as_text(sec["training_data"])})  # fmt: skip
    perf = []

    def metric(type_: str, value: Any, slice_: str, lo: Any, hi: Any) -> None:
        if value is None:
            return
        rec: dict[str, Any] = {"type": type_, "value": repr(float(value)), "slice": slice_}
        if lo is not None and hi is not None:
            rec["confidence_interval"] = {"lower_bound": repr(float(lo)),
                                          "upper_bound": repr(float(hi))}  # fmt: skip
        perf.append(rec)

    def label(r: Mapping[str, Any]) -> str:
        t = r.get("threshold")
        return (f"{metric_name(r['metric'])} ({r['model']}"
                + (f", threshold {t:g}" if t is not None else "") + ")")  # fmt: skip

    for r in card.get("overall") or []:
        metric(label(r), r["value"], "overall", r["lower"], r["upper"])
    hl = card.get("headline")
    if hl:
        for m in hl["models"]:
            r = {"metric": hl["metric"], "model": m["model"], "threshold": hl["threshold"]}
            metric(label(r), m["value"], hl["slice"], m["lower"], m["upper"])
            metric(label(r), m["reference_value"], hl["reference"], m["reference_lower"],
                   m["reference_upper"])  # fmt: skip
            metric("gap in " + label(r), m["gap"], f"{hl['slice']} minus {hl['reference']}",
                   m["gap_lower"], m["gap_upper"])  # fmt: skip
    for g in card["largest_gaps"]:
        metric("gap from " + card["evaluation"]["baseline"] + " in " + label(g), g["diff"],
               g["slice"], g["diff_lower"], g["diff_upper"])  # fmt: skip
    cons: dict[str, Any] = {}
    users = _as_list(sec.get("intended_users"))
    if users:
        cons["users"] = [{"description": u} for u in users]
    uses = _as_list(sec.get("intended_use"))
    if uses:
        cons["use_cases"] = [{"description": u} for u in uses]
    limits = [f"Out of scope: {u}" for u in _as_list(sec.get("out_of_scope_uses"))]
    limits += _as_list(sec.get("caveats_and_recommendations")) + list(card["caveats"])
    cons["limitations"] = [{"description": x} for x in limits]
    comp = card.get("model_comparison")
    if hl and comp:
        trade = []
        for m in hl["models"]:
            trade.append(f"{m['model']}: {hl['metric_name']} gap {_signed(m['gap'])}"
                         + _ci(m["gap_lower"], m["gap_upper"], signed=True))  # fmt: skip
        cons["tradeoffs"] = [{"description": "; ".join(trade)}]
    risks = _as_list(sec.get("ethical_considerations"))
    if risks:
        cons["ethical_considerations"] = [{"name": x} for x in risks]
    return {
        "schema_version": MCT_SCHEMA_VERSION,
        "model_details": md_out,
        "model_parameters": params,
        "quantitative_analysis": {"performance_metrics": perf},
        "considerations": cons,
    }
