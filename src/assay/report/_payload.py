"""The JSON payload the HTML report embeds: metric values per result, slices and a sample;
what each metric and plot is comes from the catalogue (:mod:`assay.report._catalog`)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from ..core.catalogue import PlotInfo
from ..core.result import EvalResult
from ..core.slicing import slice_value_text
from ..io.tables import open_source
from ._catalog import (
    groups,
    metric_entry,
    plot_css_class,
    plot_page_id,
    plots_for,
    result_metrics,
    task,
    threshold_free_metrics,
)

__all__ = [
    "compact",
    "group_catalog",
    "metric_catalog",
    "num",
    "plot_catalog",
    "result_classes",
    "result_payload",
    "sample_payload",
    "script_json",
    "threshold_free_metrics",
]

#: Columns of the tidy table carried per (model, class, metric, threshold), aligned with
#: the result's slices; short keys keep the page small.
_FIELDS = {
    "value": "v",
    "lower": "lo",
    "upper": "hi",
    "diff": "d",
    "diff_lower": "dlo",
    "diff_upper": "dhi",
    "max_error": "me",
}


def num(x: Any) -> float | int | None:
    """A JSON-safe number: ``None`` for missing or non-finite, 7 significant digits."""
    if x is None:
        return None
    f = float(x)
    if not math.isfinite(f):
        return None
    if f.is_integer() and abs(f) < 1e15:
        return int(f)
    return float(f"{f:.7g}")


def result_classes(result: EvalResult) -> list[str | None]:
    """Classes in the result's table (``[None]`` for a binary result)."""
    return list(dict.fromkeys(result.to_arrow().column("class").to_pylist()))


def compact(fields: dict[str, np.ndarray[Any, Any]]) -> dict[str, Any]:
    """Arrays of numbers as integers at one decimal scale: ``{"q": q, name: [round(x *
    10**q) or None, ...]}``; ``q`` is one decimal more than the page shows for the
    entry's smallest non-zero value (4 below 10) and is 0 when all values are integers."""
    arrs = {k: np.asarray(v, dtype=np.float64) for k, v in fields.items()}
    finite = np.concatenate([a[np.isfinite(a)] for a in arrs.values()] or [np.zeros(0)])
    q = 0
    if finite.size and not np.all(finite == np.round(finite)):
        nz = np.abs(finite[finite != 0])
        low = float(np.min(nz)) if nz.size else 0.0
        # one decimal more than the page shows for the smallest value (3 below 10, 2
        # below 100, 1 below 1,000, none above)
        q = 4 if low < 10 else 3 if low < 100 else 2 if low < 1000 else 1
    scale = 10.0**q
    out: dict[str, Any] = {"q": q}
    for k, a in arrs.items():
        ok = np.isfinite(a)
        ints = np.where(ok, np.round(np.where(ok, a, 0) * scale), 0).astype(np.int64).tolist()
        out[k] = [v if o else None for v, o in zip(ints, ok.tolist(), strict=True)]
    return out


def _codes(col: Any, index: dict[Any, int]) -> np.ndarray[Any, Any]:
    return np.array([index[v] for v in col], dtype=np.int64)


def result_payload(
    result: EvalResult,
    name: str,
    *,
    replicate_values: int = 0,
    priority: Sequence[str] = (),
    threshold: float | None = None,
) -> dict[str, Any]:
    """Everything the page needs from one result, values aligned with ``result.slices``:
    ``values[model][class][metric]`` is one entry per threshold (one for threshold-free
    metrics) of arrays over the slices: ``v``, ``lo``, ``hi`` (integers at the scale ``10**q`` of the entry's ``q``: value and interval), ``dlo``,
    ``dhi`` (interval of the difference from the configured baseline), ``me`` (largest
    error, when any), ``sig`` and ``sa`` (unadjusted and adjusted significance, 0/1) and
    ``nt`` (index into ``notes``: why a value is withheld, undefined or not tested; -1
    for none; only when any).

    With ``replicate_values > 0`` and replicates in memory, entries also carry the
    replicates (``rp``: per slice ``R`` integers, replicate minus value at the scale
    ``10**rq``; ``sc``: 1 where the value's interval is a score interval, Wilson or
    Jeffreys) so the page can test differences from any baseline: entries of the metrics
    in ``priority`` first (at ``threshold`` first, then the other thresholds), then the
    rest, until ``replicate_values`` numbers are shipped. ``replicates`` says what was
    shipped (``tcrit``: t critical values by degrees of freedom, ``z``) or why not."""
    tbl = result.to_arrow()
    n_slices = len(result.slices)
    sidx = {s.slice: i for i, s in enumerate(result.slices)}
    thresholds = [float(t) for t in result.thresholds]
    tidx = {round(t, 9): i for i, t in enumerate(thresholds)}
    free = set(threshold_free_metrics(result))
    n = tbl.num_rows
    models = tbl.column("model").to_pylist()
    classes_col = ["" if c is None else str(c) for c in tbl.column("class").to_pylist()]
    metrics_col = tbl.column("metric").to_pylist()
    thr = tbl.column("threshold").to_numpy(zero_copy_only=False).astype(np.float64)
    keys = list(zip(models, classes_col, metrics_col, strict=True))
    block_keys = list(dict.fromkeys(keys))
    bidx = {k: i for i, k in enumerate(block_keys)}
    bcode = _codes(keys, bidx)
    is_free = np.array([m in free for m in metrics_col], dtype=bool)
    tcode = np.zeros(n, dtype=np.int64)
    for i in np.flatnonzero(~is_free).tolist():
        tcode[i] = tidx[round(float(thr[i]), 9)]
    k_thr = max(len(thresholds), 1)
    scode = _codes(tbl.column("slice").to_pylist(), sidx)
    flat = (bcode * k_thr + tcode) * n_slices + scode
    size = len(block_keys) * k_thr * n_slices

    def grid(col: str, fill: float = np.nan) -> np.ndarray[Any, Any]:
        g = np.full(size, fill, dtype=np.float64)
        g[flat] = tbl.column(col).to_numpy(zero_copy_only=False).astype(np.float64)
        return g.reshape(len(block_keys), k_thr, n_slices)

    fields = {short: grid(long) for long, short in _FIELDS.items() if short != "d"}
    sig = grid("significant", 0).astype(np.int64)
    sig_adj = grid("significant_adjusted", 0).astype(np.int64)
    notes_col = tbl.column("note").to_pylist()
    notes = list(dict.fromkeys(x for x in notes_col if x))
    nidx = {x: i for i, x in enumerate(notes)}
    ng = np.full(size, -1, dtype=np.int64)
    ng[flat] = [nidx[x] if x else -1 for x in notes_col]
    ngrid = ng.reshape(len(block_keys), k_thr, n_slices)
    values: dict[str, dict[str, dict[str, list[dict[str, list[Any]]]]]] = {}
    shipped: dict[tuple[int, int], dict[str, Any]] = {}
    rep_info = _replicate_info(result, replicate_values)
    if rep_info.get("shipped") is not None and result.replicates is not None:
        inv = np.full(size, -1, dtype=np.int64)
        inv[flat] = np.arange(n)
        interval = tbl.column("interval").to_pylist()
        method = rep_info["method"]
        order = _replicate_order(block_keys, free, thresholds, priority, threshold, fields)
        n_rep = int(result.replicates.shape[1])
        left = replicate_values
        for b, t in order:
            if left < n_slices * n_rep:
                break
            rows_i = inv[(b * k_thr + t) * n_slices + np.arange(n_slices)]
            shipped[(b, t)] = _replicate_entry(
                result.replicates, rows_i, fields["v"][b, t], interval, method
            )
            left -= n_slices * n_rep
        rep_info["shipped"] = len(shipped)
        rep_info["entries"] = len(order)
    for b, (model, cls, metric) in enumerate(block_keys):
        k = 1 if metric in free else len(thresholds)
        entries = []
        for t in range(k):
            rows = {
                short: arr[b, t]
                for short, arr in fields.items()
                if short != "me" or np.isfinite(arr[b, t]).any()
            }
            e: dict[str, Any] = compact(rows)
            e["sig"] = sig[b, t].tolist()
            e["sa"] = sig_adj[b, t].tolist()
            if (ngrid[b, t] >= 0).any():
                e["nt"] = ngrid[b, t].tolist()
            if (b, t) in shipped:
                e.update(shipped[(b, t)])
            entries.append(e)
        values.setdefault(str(model), {}).setdefault(cls, {})[str(metric)] = entries
    cfg = result.config
    ci = cfg.get("ci") or {}
    score_map = cfg.get("scores")
    classes = result_classes(result)
    return {
        "name": name,
        "task": task(result),
        "source": str(result.source),
        "rows": int(result.n_rows),
        "dropped": int(result.n_dropped),
        "label": _str(cfg.get("label")),
        "weight": _str(cfg.get("weight")),
        "baseline": str(cfg.get("baseline", "overall")),
        "confidence": num(cfg.get("confidence")),
        "ci": {
            "method": None if ci.get("method") in (None, "none") else _str(ci.get("method")),
            "replicates": num(ci.get("n_replicates")),
        },
        "minSliceSize": num(cfg.get("min_slice_size")),
        "minDenominator": num(cfg.get("min_denominator")),
        "adjustment": str(cfg.get("multiple_comparisons") or "none"),
        "notes": notes,
        "auc": _str(cfg.get("auc")),
        "aucBins": num(cfg.get("auc_bins")),
        "models": [str(m) for m in result.models],
        "scoreColumns": {
            str(m): [cols] if isinstance(cols, str) else [str(c) for c in cols]
            for m, cols in (score_map.items() if isinstance(score_map, dict) else [])
        },
        "classes": ["" if c is None else str(c) for c in classes],
        "thresholds": [num(t) for t in thresholds],
        "metrics": result_metrics(result),
        "thresholdFree": sorted(free),
        "slices": [
            {
                "feature": s.feature,
                "name": s.slice,
                "count": int(s.count),
                "weighted": num(s.weighted_count),
                "withheld": bool(s.withheld),
                "reason": s.reason,
                "key": [[str(c), slice_value_text(v)] for c, v in s.key.items()],
            }
            for s in result.slices
        ],
        "values": values,
        "replicates": rep_info,
    }


def _replicate_info(result: EvalResult, budget: int) -> dict[str, Any]:
    """What the page gets to recompute significance against another baseline: ``method``,
    ``tcrit`` (t critical values at the confidence, index = degrees of freedom), ``z``;
    ``shipped`` is ``None`` with ``why`` when no replicates can be shipped."""
    from ..core.stats import norm_ppf, t_ppf

    ci = result.config.get("ci") or {}
    method = ci.get("method")
    out: dict[str, Any] = {"method": _str(method), "shipped": None, "why": None}
    if method in (None, "none") or not ci.get("n_replicates"):
        out["why"] = "the evaluation has no replicates (ci=None)"
        return out
    if budget <= 0:
        out["why"] = "replicates were not shipped (render_html(..., replicate_values=0))"
        return out
    if result.replicates is None:
        out["why"] = result.replicates_dropped or (
            "the result holds no replicate values (a result read from JSON does not carry "
            "them; render the report from the evaluate() result in the same process)"
        )
        return out
    conf = float(result.config.get("confidence", 0.95))
    q = (1.0 + conf) / 2.0
    n_rep = int(result.replicates.shape[1])
    out["tcrit"] = [None] + [float(f"{t_ppf(q, d):.10g}") for d in range(1, n_rep)]
    out["z"] = float(f"{norm_ppf(q):.10g}")
    out["shipped"] = 0
    out["budget"] = int(budget)
    out["n"] = n_rep
    return out


def _replicate_order(
    block_keys: Sequence[tuple[Any, str, Any]],
    free: set[str],
    thresholds: Sequence[float],
    priority: Sequence[str],
    threshold: float | None,
    fields: dict[str, np.ndarray[Any, Any]],
) -> list[tuple[int, int]]:
    """Entries (block, threshold index) that have a tested difference, most wanted first."""
    t0 = 0
    if threshold is not None:
        near = [abs(t - threshold) for t in thresholds]
        t0 = int(np.argmin(near)) if near else 0
    rank = {m: i for i, m in enumerate(priority)}
    out = []
    for b, (_model, _cls, metric) in enumerate(block_keys):
        ts = [0] if metric in free else list(range(len(thresholds)))
        for t in ts:
            if not np.isfinite(fields["dlo"][b, t]).any():
                continue
            out.append(
                (rank.get(str(metric), len(rank)), 0 if (metric in free or t == t0) else 1, b, t)
            )
    out.sort(key=lambda x: (x[0], x[1], x[2], x[3]))
    return [(b, t) for _, _, b, t in out]


def _replicate_entry(
    reps: np.ndarray[Any, Any],
    rows: np.ndarray[Any, Any],
    values: np.ndarray[Any, Any],
    interval: Sequence[Any],
    method: str,
) -> dict[str, Any]:
    """One entry's replicates as integer deltas from the values (``rp``, scale ``10**rq``,
    about four significant digits of the largest delta) and score-interval flags (``sc``)."""
    n_rep = reps.shape[1]
    got = np.full((rows.size, n_rep), np.nan)
    ok = rows >= 0
    got[ok] = reps[rows[ok]].astype(np.float64)
    delta = got - values[:, None]
    finite = np.isfinite(delta)
    top = float(np.max(np.abs(delta[finite]))) if finite.any() else 0.0
    rq = 6 if top == 0 else int(min(12, max(0, 4 - math.floor(math.log10(top)))))
    ints = np.where(finite, np.round(np.where(finite, delta, 0) * 10.0**rq), 0).astype(np.int64)
    flat_ok = finite.ravel().tolist()
    rp = [v if o else None for v, o in zip(ints.ravel().tolist(), flat_ok, strict=True)]
    sc = [1 if i >= 0 and interval[i] not in (None, method) else 0 for i in rows.tolist()]
    return {"rp": rp, "rq": rq, "sc": sc}


def _str(x: Any) -> str | None:
    return None if x is None else str(x)


def metric_catalog(
    metrics: Sequence[str], threshold_free: Sequence[str] = (), task: str = "classification"
) -> dict[str, dict[str, Any]]:
    """What the page needs to know of each metric, from the catalogue: display ``name``,
    definition (``help``), ``group``, ``perThreshold``, ``better`` (and ``target``),
    ``gap``, the range for ``task`` (``lower``, ``upper``), ``size``, ``default`` and
    ``family``. A metric the catalogue does not know gets its id as its name and is per
    threshold unless listed in ``threshold_free``."""
    return {m: metric_entry(m, threshold_free, task) for m in metrics}


def plot_catalog(metrics: Sequence[str]) -> list[dict[str, Any]]:
    """The catalogue's plots whose x and y metrics are among ``metrics``, for the page:
    ``id`` (the page id, e.g. ``__calibration__``), ``plot`` (the catalogue id), ``title``,
    ``help``, ``x``, ``y``, ``xLabel``, ``yLabel``, ``table`` (the metrics tabulated under
    it, those present), ``diagonal`` (legend of the y = x line, or ``None``), ``default``
    and ``card`` (CSS class of its card)."""
    have = set(metrics)
    return [_plot_entry(p, have) for p in plots_for(metrics)]


def _plot_entry(p: PlotInfo, have: set[str]) -> dict[str, Any]:
    return {
        "id": plot_page_id(p), "plot": p.id, "title": p.title, "help": p.help,
        "x": p.x, "y": p.y, "xLabel": p.x_label, "yLabel": p.y_label,
        "table": [m for m in p.table if m in have], "diagonal": p.diagonal,
        "default": p.default, "card": plot_css_class(p),
    }  # fmt: skip


def group_catalog(
    metrics: Sequence[str], plots: Sequence[dict[str, Any]], task: str | None = None
) -> list[dict[str, Any]]:
    """The metric controls: per catalogue group (see :func:`assay.report._catalog.groups`),
    its ``title``, its ``metrics`` and its ``plots`` (page ids; a plot sits in the group of
    its y metric)."""
    grouped = groups(metrics, task)
    where = {m: k for k, (_, ms) in enumerate(grouped) for m in ms}
    in_group: list[list[str]] = [[] for _ in grouped]
    for p in plots:
        in_group[where[p["y"]]].append(p["id"])
    return [
        {"title": g, "metrics": ms, "plots": ps}
        for (g, ms), ps in zip(grouped, in_group, strict=True)
    ]


# ------------------------------------------------------------------------ sample rows
def sample_payload(
    sample: Any,
    results: Sequence[EvalResult],
    *,
    rows_per_slice: int = 20,
    seed: int = 0,
    feature_columns: int = 5,
    threshold: float | None = None,
) -> dict[str, Any]:
    """Up to ``rows_per_slice`` rows of ``sample`` per slice, chosen with a fixed seed.

    The sample needs the slice columns, the label and the score columns; columns it lacks
    are left out (a slice whose columns are missing gets no rows, and says why). Besides
    those, the first ``feature_columns`` other columns of the sample (the user's features,
    in the sample's order) are kept. With a binary label and a ``threshold``, rows are
    drawn stratified by outcome of the first model at that threshold (TP, FP, TN, FN: as
    many of each as the slice has, up to an equal share), so every outcome the slice has
    shows up in the drill-down; ``strata`` gives the rows' outcome codes.
    """
    if rows_per_slice < 1:
        raise ValueError(
            f"The 'sample_rows' parameter of render_html must be an int >= 1. "
            f"Got {rows_per_slice!r} instead."
        )
    if (
        isinstance(feature_columns, bool)
        or not isinstance(feature_columns, int)
        or (feature_columns < 0)
    ):
        raise ValueError(
            f"The 'sample_columns' parameter of render_html must be an int >= 0. "
            f"Got {feature_columns!r} instead."
        )
    source = open_source(sample, func="render_html")
    slice_cols: list[str] = []
    others: list[str] = []
    label_col: str | None = None
    score_cols: list[str] = []
    for r in results:
        for s in r.slices:
            slice_cols.extend(s.key)
        cfg = r.config
        others.append(str(cfg.get("label")))
        label_col = label_col or str(cfg.get("label"))
        scores = cfg.get("scores") or {}
        for cols in scores.values() if isinstance(scores, dict) else [scores]:
            got = [cols] if isinstance(cols, str) else [str(c) for c in cols]
            others.extend(got)
            score_cols.extend(got)
        if cfg.get("weight"):
            others.append(str(cfg["weight"]))
    wanted = list(dict.fromkeys(slice_cols + others))
    present = [c for c in wanted if c in source.columns]
    extra = [c for c in source.columns if c not in wanted][:feature_columns]
    present = present + extra
    batches = list(source.batches(present, 1 << 20))
    table = (
        pa.Table.from_batches(batches)
        if batches
        else pa.table({c: pa.array([], type=pa.null()) for c in present})
    )
    n = table.num_rows
    formatted: dict[str, np.ndarray[Any, Any]] = {}
    for c in dict.fromkeys(slice_cols):
        if c in table.column_names:
            formatted[c] = np.array(
                [slice_value_text(v) for v in table.column(c).to_pylist()], dtype=object
            )
    strata = _strata(table, label_col, score_cols, threshold)
    by_slice: dict[str, dict[str, Any]] = {}
    chosen: set[int] = set()
    picks: dict[str, np.ndarray[Any, Any]] = {}
    seen: set[str] = set()
    for r in results:
        for s in r.slices:
            if s.slice in seen:
                continue
            seen.add(s.slice)
            missing = [c for c in s.key if c not in formatted]
            if missing:
                by_slice[s.slice] = {
                    "rows": [],
                    "matched": None,
                    "missing": missing,
                }
                continue
            mask = np.ones(n, dtype=bool)
            for c, v in s.key.items():
                mask &= formatted[c] == slice_value_text(v)
            idx = np.flatnonzero(mask)
            if idx.size > rows_per_slice:
                idx = _stratified(idx, strata, rows_per_slice, seed)
            picks[s.slice] = idx
            chosen.update(int(i) for i in idx)
            by_slice[s.slice] = {"rows": [], "matched": int(mask.sum()), "missing": []}
    order = sorted(chosen)
    pos = {i: k for k, i in enumerate(order)}
    rows = (
        [[_cell(v) for v in row.values()] for row in table.take(order).to_pylist()] if order else []
    )
    for name, idx in picks.items():
        by_slice[name]["rows"] = [pos[int(i)] for i in idx]
    return {
        "columns": present,
        "features": extra,
        "label": label_col if label_col in present else None,
        "rows": rows,
        "bySlice": by_slice,
        "total": n,
        "perSlice": rows_per_slice,
        "stratified": None if strata is None else threshold,
    }


def _strata(
    table: pa.Table, label: str | None, scores: Sequence[str], threshold: float | None
) -> np.ndarray[Any, Any] | None:
    """Outcome codes 0..3 (TP, FP, TN, FN) of the first score column at ``threshold`` (a
    row is positive when its score is above it), or ``None`` when the label is not binary
    0/1 or a column is missing."""
    if threshold is None or label is None or not scores:
        return None
    if label not in table.column_names or scores[0] not in table.column_names:
        return None
    try:
        y = np.asarray(table.column(label).to_numpy(zero_copy_only=False), dtype=np.float64)
        sc = np.asarray(table.column(scores[0]).to_numpy(zero_copy_only=False), dtype=np.float64)
    except (TypeError, ValueError, pa.ArrowInvalid):
        return None
    if y.size and not np.all(np.isin(y[np.isfinite(y)], (0.0, 1.0))):
        return None
    pred = sc > threshold
    pos = y == 1
    return np.where(pos & pred, 0, np.where(~pos & pred, 1, np.where(~pos & ~pred, 2, 3)))


def _stratified(
    idx: np.ndarray[Any, Any], strata: np.ndarray[Any, Any] | None, k: int, seed: int
) -> np.ndarray[Any, Any]:
    """``k`` of ``idx`` drawn with ``seed``: at random, or with ``strata`` an equal share
    per stratum (a stratum with fewer rows gives its spare share to the others), in
    sample order."""
    rng = np.random.default_rng(seed)
    if strata is None:
        return np.sort(rng.choice(idx, size=k, replace=False))
    groups = [idx[strata[idx] == g] for g in range(4)]
    take = [0, 0, 0, 0]
    left = k
    while left > 0:
        open_ = [g for g in range(4) if take[g] < groups[g].size]
        if not open_:
            break
        share = max(left // len(open_), 1)
        for g in open_:
            add = min(share, groups[g].size - take[g], left)
            take[g] += add
            left -= add
            if left == 0:
                break
    out = [rng.choice(groups[g], size=take[g], replace=False) for g in range(4) if take[g]]
    return np.sort(np.concatenate(out))


def _cell(v: Any) -> Any:
    if v is None or isinstance(v, bool | str):
        return v
    if isinstance(v, int | float | np.number):
        return num(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(str(_cell(x)) for x in v) + "]"
    return str(v)


# ------------------------------------------------------------------------ embedding
def script_json(obj: Any) -> str:
    """JSON safe to place inside ``<script type="application/json">``.

    ``<``, ``>``, ``&`` and the line separators U+2028/U+2029 are written as ``\\uXXXX``
    escapes, so no data can close the script element or start markup.
    """
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def changes_payload(table: pa.Table, result: EvalResult) -> dict[str, Any]:
    """The paired model comparison (``EvalResult.comparison_arrow()``) for the page,
    aligned with ``result.slices`` and ``result.thresholds`` like ``values``:
    ``{"reference": model, "values": {model: {class: {metric: [entry per threshold]}}}}``,
    an entry holding ``v`` (change ``value - reference_value``), ``lo``, ``hi`` (its
    interval from the paired replicates) at the scale ``10**q``, and ``sig`` / ``sa``
    (unadjusted and adjusted significance of the change, 0/1)."""
    out: dict[str, Any] = {"reference": None, "values": {}}
    if table.num_rows == 0:
        return out
    cols = table.to_pydict()
    sidx = {s.slice: i for i, s in enumerate(result.slices)}
    thresholds = [round(float(t), 9) for t in result.thresholds]
    tidx = {t: i for i, t in enumerate(thresholds)}
    n = len(result.slices)
    grids: dict[tuple[str, str, str], dict[str, Any]] = {}
    for i in range(table.num_rows):
        th = cols["threshold"][i]
        free = th is None or (isinstance(th, float) and math.isnan(th))
        t = 0 if free else tidx.get(round(float(th), 9))
        j = sidx.get(cols["slice"][i])
        if t is None or j is None:
            continue
        cls = "" if cols["class"][i] is None else str(cols["class"][i])
        key = (str(cols["model"][i]), cls, str(cols["metric"][i]))
        k = 1 if free else len(thresholds)
        g = grids.get(key)
        if g is None:
            g = grids[key] = {
                f: np.full((k, n), np.nan) for f in ("v", "lo", "hi")
            } | {"sig": np.zeros((k, n), np.int64), "sa": np.zeros((k, n), np.int64)}
        for f, c in (("v", "diff"), ("lo", "diff_lower"), ("hi", "diff_upper")):
            x = cols[c][i]
            g[f][t, j] = np.nan if x is None else float(x)
        g["sig"][t, j] = int(bool(cols["significant"][i]))
        g["sa"][t, j] = int(bool(cols["significant_adjusted"][i]))
        out["reference"] = str(cols["reference"][i])
    for (model, cls, metric), g in grids.items():
        entries = []
        for t in range(g["v"].shape[0]):
            e = compact({f: g[f][t] for f in ("v", "lo", "hi")})
            e["sig"], e["sa"] = g["sig"][t].tolist(), g["sa"][t].tolist()
            entries.append(e)
        out["values"].setdefault(model, {}).setdefault(cls, {})[metric] = entries
    return out
