"""Turn an :class:`~assay.evaluation.state.EvalState` into tidy metric rows.

Every metric is computed on the full data and on each replicate (jackknife leave-one-
bucket-out sums or bootstrap resampled sums) in one vectorized pass, so intervals cost a
constant factor, never a second pass over the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import metrics as M
from ..core.replicates import Replication
from ..core.slicing import SliceSpec, format_value, slice_name
from .state import EvalState

F64 = NDArray[np.float64]

THRESHOLD_FREE = (
    "roc_auc",
    "pr_auc",
    "subgroup_auc",
    "bpsn_auc",
    "bnsp_auc",
    "mean_score",
    "mean_label",
    "calibration",
    "ece",
    "weighted_example_count",
)
FLIP_METRICS = ("flip_rate", "flip_rate_pos_to_neg", "flip_rate_neg_to_pos")
NO_INTERVAL = {"example_count"}
#: Metrics confined to [0, 1]; their interval ends are clipped to that range.
UNIT_INTERVAL = {
    "fpr", "fnr", "tpr", "tnr", "positive_rate", "negative_rate", "fdr",
    "false_omission_rate", "precision", "recall", "accuracy", "roc_auc", "pr_auc",
    "subgroup_auc", "bpsn_auc", "bnsp_auc", "mean_score", "mean_label", "ece", *FLIP_METRICS,
}  # fmt: skip


@dataclass
class SliceInfo:
    """One slice: its feature (spec), display name, values, size and withheld status."""

    feature: str
    slice: str
    key: dict[str, Any]
    count: int
    weighted_count: float
    withheld: bool
    reason: str | None


@dataclass
class Block:
    """Metric values for one head and one spec: arrays with replicate axis first."""

    head: int
    spec: int
    values: dict[str, F64]  # metric -> (R+1, V) or (R+1, V, K)
    bounds: dict[str, F64]  # metric -> (V,) AUC error bound


def _stack(rep: Replication, a: F64) -> F64:
    """State array ``(V, ..., Rs)`` -> ``(R+1, V, ...)``: point first, then replicates."""
    point, reps = rep.expand(a)
    return np.concatenate([point[None], np.moveaxis(reps, -1, 0)], axis=0)


def _sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(
        (v is None, type(v).__name__, v if v is not None else 0) for v in key
    )


def _auc_block(pos: F64, neg: F64) -> tuple[F64, F64]:
    return M.roc_auc_from_counts(pos, neg), M.average_precision_from_counts(pos, neg)


def _exact_counts(
    rep: Replication, scores: F64, y: NDArray[Any], w: F64, hashes: NDArray[np.uint64]
) -> tuple[F64, F64]:
    """Label weights per distinct score, ascending: ``(R+1, G)`` positives and negatives."""
    if scores.size == 0:
        z = np.zeros((rep.n_replicates + 1, 1))
        return z, z.copy()
    uniq, g = np.unique(scores, return_inverse=True)
    out = np.zeros((uniq.size * 2, rep.n_state))
    rep.accumulate(out, g.astype(np.int64) * 2 + y.astype(np.int64), w, rep.row_data(hashes))
    st = _stack(rep, out.reshape(uniq.size, 2, rep.n_state))  # (R+1, G, 2)
    return st[..., 1], st[..., 0]


def compute_blocks(state: EvalState, orders: list[list[int]]) -> list[Block]:
    """Metric arrays for every (head, spec), slice values in ``orders[spec]`` order."""
    cfg = state.config
    rep = cfg.replication
    thresholds = np.asarray(cfg.thresholds)
    k = thresholds.size
    blocks: list[Block] = []
    exact = cfg.auc_mode == "exact"
    rows = state.exact_rows() if exact else {}
    overall_hist: list[F64] = []
    for si, table in enumerate(state.tables):
        order = np.asarray(orders[si], dtype=np.int64)
        n_st = _stack(rep, table.view("n")[order])  # (R+1, V)
        for h in range(len(cfg.heads)):
            vals: dict[str, F64] = {"example_count": n_st}
            bounds: dict[str, F64] = {}
            thr = _stack(rep, table.view(f"thr{h}")[order])  # (R+1, V, 2, K+1)
            conf = M.confusion_at_thresholds(thr[:, :, 1, :], thr[:, :, 0, :])
            vals.update(M.threshold_metrics(conf["tp"], conf["fp"], conf["tn"], conf["fn"]))
            cal = _stack(rep, table.view(f"cal{h}")[order])  # (R+1, V, 3, NC)
            wsum, ssum, ysum = cal[:, :, 0, :], cal[:, :, 1, :], cal[:, :, 2, :]
            wt = wsum.sum(axis=-1)
            vals["weighted_example_count"] = wt
            vals["mean_score"] = M.safe_div(ssum.sum(axis=-1), wt)
            vals["mean_label"] = M.safe_div(ysum.sum(axis=-1), wt)
            vals["calibration"] = M.safe_div(ssum.sum(axis=-1), ysum.sum(axis=-1))
            vals["ece"] = M.expected_calibration_error(wsum, ssum, ysum)
            if exact:
                _exact_threshold_free(state, rows, rep, si, h, order, vals, bounds)
            else:
                hist = _stack(rep, table.view(f"hist{h}")[order])  # (R+1, V, 2, NB)
                pos, neg = hist[:, :, 1, :], hist[:, :, 0, :]
                if si == 0:
                    overall_hist.append(hist)
                vals["roc_auc"], vals["pr_auc"] = _auc_block(pos, neg)
                mixed = state.bin_max[h] > state.bin_min[h]
                bounds["roc_auc"] = M.roc_auc_error_bound(pos[0], neg[0], mixed)
                bounds["pr_auc"] = M.average_precision_error_bound(pos[0], neg[0], mixed)
                if table.spec.columns:
                    allh = overall_hist[h]
                    bg_pos = allh[:, :, 1, :] - pos
                    bg_neg = allh[:, :, 0, :] - neg
                    np.maximum(bg_pos, 0.0, out=bg_pos)  # clamp float cancellation
                    np.maximum(bg_neg, 0.0, out=bg_neg)
                    vals["subgroup_auc"] = vals["roc_auc"]
                    bounds["subgroup_auc"] = bounds["roc_auc"]
                    vals["bpsn_auc"] = M.roc_auc_from_counts(bg_pos, neg)
                    vals["bnsp_auc"] = M.roc_auc_from_counts(pos, bg_neg)
                    bounds["bpsn_auc"] = M.roc_auc_error_bound(bg_pos[0], neg[0], mixed)
                    bounds["bnsp_auc"] = M.roc_auc_error_bound(pos[0], bg_neg[0], mixed)
            blocks.append(Block(h, si, vals, bounds))
        for p, (_a, b) in enumerate(cfg.pairs):
            fl = _stack(rep, table.view(f"flip{p}")[order])  # (R+1, V, K+1, K+1)
            tot = fl.sum(axis=(-1, -2))
            p2n = np.empty((*tot.shape, k))
            n2p = np.empty((*tot.shape, k))
            idx = np.arange(k + 1)
            for j in range(k):
                hi = idx > j
                p2n[..., j] = fl[..., hi, :][..., ~hi].sum(axis=(-1, -2))
                n2p[..., j] = fl[..., ~hi, :][..., hi].sum(axis=(-1, -2))
            flips = {
                "flip_rate": M.safe_div(p2n + n2p, tot[..., None]),
                "flip_rate_pos_to_neg": M.safe_div(p2n, tot[..., None]),
                "flip_rate_neg_to_pos": M.safe_div(n2p, tot[..., None]),
            }
            target = next(bl for bl in blocks if bl.head == b and bl.spec == si)
            target.values.update(flips)
    return blocks


def _exact_threshold_free(
    state: EvalState,
    rows: dict[str, NDArray[Any]],
    rep: Replication,
    si: int,
    h: int,
    order: NDArray[np.int64],
    vals: dict[str, F64],
    bounds: dict[str, F64],
) -> None:
    spec_is_overall = not state.tables[si].spec.columns
    codes = rows.get(f"code{si}", np.zeros(0, dtype=np.int32))
    s, y, w, hsh = rows.get(f"s{h}"), rows.get(f"y{h}"), rows.get("w"), rows.get("hash")
    n_rep = rep.n_replicates + 1
    names = ["roc_auc", "pr_auc"] + ([] if spec_is_overall else ["bpsn_auc", "bnsp_auc"])
    out = {m: np.full((n_rep, order.size), np.nan) for m in names}
    if s is not None and w is not None and hsh is not None and y is not None:
        for j, v in enumerate(order):
            m = codes == v
            pos, neg = _exact_counts(rep, s[m], y[m], w[m], hsh[m])
            out["roc_auc"][:, j], out["pr_auc"][:, j] = _auc_block(pos, neg)
            if not spec_is_overall:
                # BPSN: subgroup negatives vs background positives; BNSP the reverse.
                bg = ~m
                sel_n = m & (y == 0)
                sel_p = bg & (y == 1)
                sel = sel_n | sel_p
                pos_b, neg_b = _exact_counts(rep, s[sel], y[sel], w[sel], hsh[sel])
                out["bpsn_auc"][:, j] = M.roc_auc_from_counts(pos_b, neg_b)
                sel = (m & (y == 1)) | (bg & (y == 0))
                pos_b, neg_b = _exact_counts(rep, s[sel], y[sel], w[sel], hsh[sel])
                out["bnsp_auc"][:, j] = M.roc_auc_from_counts(pos_b, neg_b)
    vals.update(out)
    for mname in names:
        bounds[mname] = np.zeros(order.size)
    if not spec_is_overall:
        vals["subgroup_auc"] = vals["roc_auc"]
        bounds["subgroup_auc"] = bounds["roc_auc"]


def slice_orders(state: EvalState) -> list[list[int]]:
    """Display order of slice values for each spec (sorted by value, nulls last)."""
    out: list[list[int]] = []
    for t in state.tables:
        keys = t.keys
        out.append(sorted(range(t.size), key=lambda i: _sort_key(keys[i])))
    return out


def build_slices(
    state: EvalState, orders: list[list[int]], min_slice_size: int
) -> list[SliceInfo]:
    out = []
    rep = state.config.replication
    for table, order in zip(state.tables, orders, strict=True):
        spec: SliceSpec = table.spec
        n_point, _ = rep.expand(table.view("n"))
        cal0 = table.view("cal0")[:, 0].sum(axis=1)  # (V, Rs): total weight
        w_point, _ = rep.expand(cal0)
        for i in order:
            count = round(float(n_point[i]))
            withheld = count < min_slice_size
            reason = None
            if count == 0:
                reason = "no rows"
            elif withheld:
                reason = f"fewer than min_slice_size={min_slice_size} rows"
            out.append(
                SliceInfo(
                    feature=spec.name,
                    slice=slice_name(spec, table.keys[i]),
                    key={c: v for c, v in zip(spec.columns, table.keys[i], strict=True)},
                    count=count,
                    weighted_count=float(w_point[i]),
                    withheld=withheld,
                    reason=reason,
                )
            )
    return out


def assemble(
    state: EvalState,
    *,
    min_slice_size: int,
    confidence: float,
    baseline: str,
) -> tuple[dict[str, NDArray[Any]], list[SliceInfo]]:
    """Finalize ``state`` into columns of the tidy metric table and the slice list."""
    cfg = state.config
    rep = cfg.replication
    orders = slice_orders(state)
    slices = build_slices(state, orders, min_slice_size)
    blocks = compute_blocks(state, orders)
    thresholds = np.asarray(cfg.thresholds)
    k = thresholds.size

    # Locate the baseline slice.
    base_pos: tuple[int, int] | None = None
    offset = 0
    for si, order in enumerate(orders):
        for j in range(len(order)):
            if slices[offset + j].slice == baseline:
                base_pos = (si, j)
        offset += len(order)
    if base_pos is None:
        names = sorted({s.slice for s in slices})
        raise ValueError(
            f"The 'baseline' parameter of evaluate must name an evaluated slice "
            f"(one of {names[:10]}{'...' if len(names) > 10 else ''}). Got {baseline!r} instead."
        )
    slice_offsets = np.cumsum([0] + [len(o) for o in orders])
    cols: dict[str, list[NDArray[Any]]] = {
        c: []
        for c in (
            "model", "class", "feature", "slice", "metric", "threshold", "value", "lower",
            "upper", "count", "withheld", "max_error", "diff", "diff_lower", "diff_upper",
            "ratio", "ratio_lower", "ratio_upper", "significant",
        )
    }  # fmt: skip
    base_blocks = {bl.head: bl for bl in blocks if bl.spec == base_pos[0]}
    for bl in blocks:
        head = cfg.heads[bl.head]
        v = len(orders[bl.spec])
        if v == 0:
            continue
        infos = slices[slice_offsets[bl.spec] : slice_offsets[bl.spec + 1]]
        counts = np.array([s.count for s in infos])
        withheld = np.array([s.withheld for s in infos])
        base_withheld = slices[slice_offsets[base_pos[0]] + base_pos[1]].withheld
        for name, arr in bl.values.items():
            per_thr = arr.ndim == 3
            base_arr = base_blocks[bl.head].values.get(name)
            if base_arr is not None:
                base_arr = base_arr[:, base_pos[1]]
            _emit(
                cols, rep, confidence, head.model, head.cls, infos, name, arr, per_thr,
                thresholds, k, counts, withheld, bl.bounds.get(name), base_arr,
                base_withheld,
            )  # fmt: skip
    table = {c: np.concatenate(v) if v else np.array([]) for c, v in cols.items()}
    return table, slices


def _emit(
    cols: dict[str, list[NDArray[Any]]],
    rep: Replication,
    confidence: float,
    model: str,
    cls: Any,
    infos: list[SliceInfo],
    name: str,
    arr: F64,
    per_thr: bool,
    thresholds: F64,
    k: int,
    counts: NDArray[np.int64],
    withheld: NDArray[np.bool_],
    bound: F64 | None,
    base_arr: F64 | None,
    base_withheld: bool,
) -> None:
    v = len(infos)
    arr = arr if per_thr else arr[..., None]  # (R+1, V, T)
    t = arr.shape[-1]
    point = arr[0]
    reps = np.moveaxis(arr[1:], 0, -1)  # (V, T, R)
    if name in NO_INTERVAL or rep.n_replicates == 0:
        lower = np.full(point.shape, np.nan)
        upper = lower.copy()
    else:
        lower, upper = rep.interval(point, reps, confidence)
        if name in UNIT_INTERVAL:
            lower, upper = np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)
        elif name in ("tp", "fp", "tn", "fn", "weighted_example_count"):
            lower = np.maximum(lower, 0.0)
    hide = np.repeat(withheld[:, None], t, axis=1)
    if name != "example_count":
        point = np.where(hide, np.nan, point)
        lower = np.where(hide, np.nan, lower)
        upper = np.where(hide, np.nan, upper)
    nan = np.full(point.shape, np.nan)
    diff, dlo, dhi, ratio, rlo, rhi = nan, nan, nan, nan, nan, nan
    if base_arr is not None and name != "example_count" and not base_withheld:
        base_arr = base_arr.reshape(base_arr.shape[0], 1, t)
        d = arr - base_arr
        r = M.safe_div(arr, np.broadcast_to(base_arr, arr.shape))
        diff = np.where(hide, np.nan, d[0])
        ratio = np.where(hide, np.nan, r[0])
        if rep.n_replicates:
            dlo, dhi = rep.interval(d[0], np.moveaxis(d[1:], 0, -1), confidence)
            rlo, rhi = rep.interval(r[0], np.moveaxis(r[1:], 0, -1), confidence)
            dlo, dhi = np.where(hide, np.nan, dlo), np.where(hide, np.nan, dhi)
            rlo, rhi = np.where(hide, np.nan, rlo), np.where(hide, np.nan, rhi)
    with np.errstate(invalid="ignore"):
        significant = (dlo > 0) | (dhi < 0)
    n = v * t
    cols["model"].append(np.full(n, model, dtype=object))
    cols["class"].append(np.full(n, None if cls is None else format_value(cls), dtype=object))
    cols["feature"].append(np.repeat(np.array([s.feature for s in infos], dtype=object), t))
    cols["slice"].append(np.repeat(np.array([s.slice for s in infos], dtype=object), t))
    cols["metric"].append(np.full(n, name, dtype=object))
    thr = np.tile(thresholds, v) if per_thr else np.full(n, np.nan)
    cols["threshold"].append(thr)
    cols["value"].append(point.ravel())
    cols["lower"].append(np.asarray(lower).ravel())
    cols["upper"].append(np.asarray(upper).ravel())
    cols["count"].append(np.repeat(counts, t))
    cols["withheld"].append(np.repeat(withheld, t))
    mx = np.full(n, np.nan) if bound is None else np.where(withheld, np.nan, bound)
    cols["max_error"].append(np.asarray(mx, dtype=np.float64).ravel())
    cols["diff"].append(np.asarray(diff).ravel())
    cols["diff_lower"].append(np.asarray(dlo).ravel())
    cols["diff_upper"].append(np.asarray(dhi).ravel())
    cols["ratio"].append(np.asarray(ratio).ravel())
    cols["ratio_lower"].append(np.asarray(rlo).ravel())
    cols["ratio_upper"].append(np.asarray(rhi).ravel())
    cols["significant"].append(np.asarray(significant).ravel())
