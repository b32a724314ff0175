"""Turn a merged :class:`~assay.core.state.EvalState` into the result.

Each metric family computes its values on the full data and on every replicate
(jackknife leave-one-bucket-out sums or bootstrap resampled sums) in one vectorized pass;
this module, which knows no metric by name, adds what every metric gets from the
catalogue: the interval (clipped to the metric's range), withholding of small slices, and
the difference and ratio to the baseline slice with their intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from . import catalogue
from .layout import Block
from .plan import Plan
from .ranking import safe_div
from .result import (
    COLUMNS,
    COMPARISON_COLUMNS,
    COMPARISON_SCHEMA,
    RESULT_SCHEMA,
    EvalResult,
    SliceInfo,
    add_adjusted,
)
from .slicing import format_value, slice_name
from .spill import BatchSink
from .state import EvalState, StateView
from .stats import (
    jeffreys_interval,
    mover_difference,
    mover_ratio,
    norm_ppf,
    norm_sf_array,
    wilson_interval,
)

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]



def _sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, type(v).__name__, v if v is not None else 0) for v in key)


def slice_orders(state: EvalState) -> list[I64]:
    """Display order of slice values for each spec (sorted by value, nulls last)."""
    out: list[I64] = []
    for t in state.tables:
        keys = t.keys
        out.append(
            np.asarray(sorted(range(t.size), key=lambda i: _sort_key(keys[i])), dtype=np.int64)
        )
    return out


def build_slices(state: EvalState, orders: list[I64], min_slice_size: int) -> list[SliceInfo]:
    out = []
    rep = state.plan.replication
    for table, order in zip(state.tables, orders, strict=True):
        spec = table.spec
        n_point, _ = rep.expand(table.view("n"))
        w_point, _ = rep.expand(table.view("wsum"))
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


#: Working memory of one block of slice values in the finalize (large specs are
#: finalized in blocks, so memory stays bounded whatever the number of slice values).
BLOCK_BYTES = 64 << 20


def _value_bytes(state: EvalState, spec: int) -> int:
    """Rough finalize working memory per slice value of ``spec``."""
    plan = state.plan
    table = state.tables[spec]
    reps = plan.replication.n_replicates + 1
    cells = sum(table.inner_size.values())
    out_cells = 64 * len(plan.heads) * (len(plan.thresholds) + 1)
    return 8 * reps * (cells + out_cells)


def compute_blocks(view: StateView, spec: int) -> list[Block]:
    """Every family's metric values for the slice values ``view.order(spec)``: one block
    per head, metrics in family order."""
    merged: dict[int, Block] = {}
    for fam in view.plan.families:
        for bl in fam.finalize(view, spec):
            if bl.head not in merged:
                merged[bl.head] = Block(bl.head, spec)
            merged[bl.head].values.update(bl.values)
            merged[bl.head].bounds.update(bl.bounds)
    return [merged[h] for h in sorted(merged)]


def finalize(
    plan: Plan, state: EvalState, *, source: str, seen: int, release: bool = False
) -> EvalResult:
    """The :class:`EvalResult` of a merged state. ``release=True`` frees the state's
    per-slice arrays once every block is finalized (the state is unusable afterwards), so
    the state and the whole result table are not held at once."""
    if seen == 0:
        raise ValueError(
            f"The 'data' parameter of {plan.func} must hold at least one row. Got 0."
        )
    if state.n_rows == 0:
        raise ValueError(
            f"All {seen} rows were dropped as invalid (on_invalid='drop'); nothing to evaluate."
        )
    total = float(state.tables[0].view("wsum")[0].sum())
    if total <= 0.0:
        raise ValueError(
            f"The 'weight' column of {plan.func} sums to 0 over the {state.n_rows} evaluated "
            "rows: every metric would be 0/0. Give some rows a positive weight."
        )
    table, slices, comparisons, reps = assemble(state, release=release)
    result = EvalResult(
        table,
        slices,
        config=plan.config(),
        n_rows=state.n_rows,
        n_dropped=state.n_dropped,
        source=source,
        comparisons=comparisons,
        replicates=reps,
    )
    if reps is None and plan.replication.n_replicates:
        result.replicates_dropped = (
            "a result was evaluated with keep_replicates=False"
            if plan.keep_replicates is False
            else f"a result did not keep its replicate values (keep_replicates='auto' keeps "
            f"at most {REPLICATE_BUDGET:,} values); evaluate both with keep_replicates=True"
        )
    return result


def assemble(
    state: EvalState, *, release: bool = False
) -> tuple[pa.Table, list[SliceInfo], pa.Table, NDArray[np.float32] | None]:
    """Finalize ``state`` into the tidy metric table, the slice list, the paired model
    comparisons and the replicate values of each row of the table (``None`` without
    replicates).

    Specs are finalized in blocks of at most :data:`BLOCK_BYTES` of working memory, and
    each block becomes Arrow record batches at once.
    """
    plan = state.plan
    rep = plan.replication
    orders = slice_orders(state)
    slices = build_slices(state, orders, plan.min_slice_size)
    thresholds = np.asarray(plan.thresholds, dtype=np.float64)
    baseline = plan.baseline
    view = StateView(state, orders)

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
            f"The 'baseline' parameter of {plan.func} must name an evaluated slice "
            f"(one of {names[:10]}{'...' if len(names) > 10 else ''}). Got {baseline!r} instead."
        )
    slice_offsets = np.cumsum([0] + [len(o) for o in orders])
    bsi, bj = base_pos
    base_view = view.restrict(bsi, orders[bsi][bj : bj + 1])
    base_info = slices[slice_offsets[bsi] + bj]
    base_withheld = base_info.withheld
    base_cells: dict[int, dict[str, Cells]] = {}
    for bl in compute_blocks(base_view, bsi):
        base_cells[bl.head] = {
            name: cells(plan, _info(name), arr, bl.values, np.array([base_withheld]))
            for name, arr in bl.values.items()
        }
    batches = BatchSink(RESULT_SCHEMA, plan.spill)
    comp_batches = BatchSink(COMPARISON_SCHEMA, plan.spill)
    total_values = max(1, sum(len(o) for o in orders))
    done_values = 0
    rep_parts: list[NDArray[np.float32]] = []
    keep, kept = plan.keep_replicates is not False, 0
    families: dict[tuple[int, str], int] = {}
    n_thr = max(1, len(thresholds))
    group_parts: list[NDArray[np.int64]] = []
    for si, order in enumerate(orders):
        if len(order) == 0:
            continue
        step = max(1, BLOCK_BYTES // max(1, _value_bytes(state, si)))
        for a in range(0, len(order), step):
            codes = order[a : a + step]
            done_values += len(codes)
            blocks = compute_blocks(view.restrict(si, codes), si)
            infos = slices[slice_offsets[si] + a : slice_offsets[si] + a + len(codes)]
            counts = np.array([s.count for s in infos], dtype=np.int64)
            withheld = np.array([s.withheld for s in infos], dtype=bool)
            cols: dict[str, list[NDArray[Any]]] = {c: [] for c in COLUMNS}
            ccols: dict[str, list[NDArray[Any]]] = {c: [] for c in COMPARISON_COLUMNS}
            by_head: dict[int, dict[str, Cells]] = {}
            for bl in blocks:
                head = plan.heads[bl.head]
                base = base_cells.get(bl.head, {})
                by_head[bl.head] = {}
                for name, arr in bl.values.items():
                    info = _info(name)
                    c = cells(plan, info, arr, bl.values, withheld)
                    by_head[bl.head][name] = c
                    _emit(
                        cols, plan, head.model, head.cls, infos, info, c, thresholds, counts,
                        withheld, bl.bounds.get(name), base.get(name), base_withheld,
                    )  # fmt: skip
                    # the family of the multiple-comparison adjustment: head x metric x
                    # threshold, the same over slice specs
                    fam = families.setdefault((bl.head, name), len(families)) * n_thr
                    t_idx = np.arange(n_thr) if info.per_threshold else np.zeros(1, np.int64)
                    group_parts.append(np.tile(fam + t_idx, len(codes)))
                    if rep.n_replicates and keep:
                        r = np.where(c.hide[..., None], np.nan, c.reps)
                        rep_parts.append(r.reshape(-1, r.shape[-1]).astype(np.float32))
                        kept += rep_parts[-1].size
                        if plan.keep_replicates == "auto" and kept > REPLICATE_BUDGET:
                            keep, rep_parts = False, []
            for i, j in plan.pairs:
                if i in by_head and j in by_head:
                    _emit_pair(ccols, plan, infos, thresholds, by_head[i], by_head[j], i, j)
            done = done_values / total_values
            if cols["model"]:
                batches.add(_batch(cols, COLUMNS, RESULT_SCHEMA), done)
            if ccols["model"]:
                comp_batches.add(_batch(ccols, COMPARISON_COLUMNS, COMPARISON_SCHEMA), done)
    if release:  # the per-slice state is no longer needed: free it before the rest
        del view, base_view
        state.tables = []
        state.rows = {}
    table = batches.table()
    comps = comp_batches.table()
    groups = np.concatenate(group_parts) if group_parts else np.zeros(0, np.int64)
    del group_parts
    table = add_adjusted(table, plan.multiple_comparisons, plan.confidence, groups)
    comps = add_adjusted(comps, plan.multiple_comparisons, plan.confidence)
    reps = np.concatenate(rep_parts) if keep and rep_parts else None
    return table, slices, comps, reps


#: Most replicate values a result keeps with ``keep_replicates="auto"`` (float32: 64 MB).
REPLICATE_BUDGET = 16_000_000


def _info(name: str) -> catalogue.MetricInfo:
    info = catalogue.metric(name)
    if info is None:
        raise RuntimeError(
            f"Metric {name!r} is not in the metric catalogue; its family must "
            "declare a MetricInfo for it."
        )
    return info


def _batch(
    cols: dict[str, list[NDArray[Any]]], columns: dict[str, pa.DataType], schema: pa.Schema
) -> pa.RecordBatch:
    arrays = []
    for name, typ in columns.items():
        v = np.concatenate(cols[name])
        arrays.append(pa.array(v, type=typ, from_pandas=v.dtype == object))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


#: Below this many successes or failures (``min(k, n - k)``), ``rate_interval="auto"``
#: gives a rate the Wilson score interval instead of the replicate interval (the normal
#: approximation behind the replicate t interval fails near 0 and 1; see the coverage
#: table in docs/evaluation.md).
SCORE_BELOW = 10


@dataclass
class Cells:
    """One metric of a block of slice values, every threshold: the values, intervals and
    what became of them (shapes ``(V, T)``; ``arr`` ``(R+1, V, T)``)."""

    arr: F64
    point: F64  # unmasked point estimates
    lower: F64
    upper: F64
    method: NDArray[Any]  # interval method per cell (object: str or None)
    score: NDArray[np.bool_]  # interval from a binomial score method
    degenerate: NDArray[np.bool_]  # no usable (positive-width) interval
    hide: NDArray[np.bool_]  # withheld (slice too small, or denominator too small)
    note: NDArray[Any]  # why withheld / undefined / not tested (object: str or None)
    den: F64  # denominator of a rate (NaN for other metrics)

    @property
    def reps(self) -> F64:
        return np.moveaxis(self.arr[1:], 0, -1)


def cells(
    plan: Plan,
    info: catalogue.MetricInfo,
    arr: F64,
    values: dict[str, F64],
    withheld: NDArray[np.bool_],
) -> Cells:
    """Point, interval and withholding of one metric (see :class:`Cells`)."""
    rep = plan.replication
    conf = plan.confidence
    arr = arr if info.per_threshold else arr[..., None]
    point = arr[0]
    shape = point.shape
    reps = np.moveaxis(arr[1:], 0, -1)
    method = np.full(shape, None, dtype=object)
    note = np.full(shape, None, dtype=object)
    den = np.full(shape, np.nan)
    has_ci = info.interval and rep.n_replicates > 0
    if has_ci:
        lower, upper = rep.interval(point, reps, conf)
        method[:] = rep.name
        with np.errstate(invalid="ignore"):
            degenerate = ~(upper - lower > 0)
    else:
        lower, upper = np.full(shape, np.nan), np.full(shape, np.nan)
        degenerate = np.ones(shape, dtype=bool)
    score = np.zeros(shape, dtype=bool)
    hide = np.repeat(withheld[:, None], shape[1], axis=1)
    if info.proportion and all(d in values for d in info.denominator):
        d_arr = np.sum([values[d] for d in info.denominator], axis=0)
        d0 = np.asarray(d_arr[0], dtype=np.float64)
        den = d0 if info.per_threshold else d0[..., None]
        with np.errstate(invalid="ignore"):
            k = point * den
            if has_ci and plan.rate_interval != "replicate":
                if plan.rate_interval == "auto":
                    score = (np.minimum(k, den - k) < SCORE_BELOW) | degenerate
                else:
                    score = np.ones(shape, dtype=bool)
                score &= (den > 0) & np.isfinite(point)
                if score.any():
                    jeff = plan.rate_interval == "jeffreys"
                    fn = jeffreys_interval if jeff else wilson_interval
                    slo, shi = fn(k, den, conf)
                    lower = np.where(score, slo, lower)
                    upper = np.where(score, shi, upper)
                    method = np.where(score, "jeffreys" if jeff else "wilson", method)
                    degenerate = np.where(score, ~(upper - lower > 0), degenerate)
        small = (den < plan.min_denominator) & ~hide
        if small.any():
            # one string per distinct denominator, shared by its cells (no loop over cells)
            uniq, inv = np.unique(den[small], return_inverse=True)
            label = info.denominator_label or "in the denominator"
            texts = np.array(
                [f"withheld: {u:g} {label}, fewer than min_denominator={plan.min_denominator}"
                 for u in uniq], dtype=object,
            )  # fmt: skip
            note[small] = texts[inv.reshape(-1)]
        hide = hide | small
    with np.errstate(invalid="ignore"):
        undefined = ~np.isfinite(point) & ~hide
    if undefined.any():
        no_den = undefined & (den == 0) if info.proportion else np.zeros(shape, dtype=bool)
        note[undefined & ~no_den] = "undefined (0/0)"
        note[no_den] = f"undefined: no {info.denominator_label}"
    if has_ci:
        flat = degenerate & ~hide & ~undefined
        note[flat] = "zero-width interval (the replicates do not vary): not tested"
    lo, hi = info.bounds(plan.task.name)
    if np.isfinite(lo) or np.isfinite(hi):
        lower = np.clip(lower, lo, hi)
        upper = np.clip(upper, lo, hi)
    note[withheld, :] = "withheld: slice too small (see the slice's reason)"
    if info.size:
        hide = np.zeros(shape, dtype=bool)
    return Cells(arr, point, lower, upper, method, score, degenerate, hide, note, den)


def _emit(
    cols: dict[str, list[NDArray[Any]]],
    plan: Plan,
    model: str,
    cls: Any,
    infos: list[SliceInfo],
    info: catalogue.MetricInfo,
    c: Cells,
    thresholds: F64,
    counts: I64,
    withheld: NDArray[np.bool_],
    bound: F64 | None,
    base: Cells | None,
    base_withheld: bool,
) -> None:
    rep = plan.replication
    conf = plan.confidence
    v = len(infos)
    per_thr = info.per_threshold
    t = c.point.shape[-1]
    hide = c.hide
    point = np.where(hide, np.nan, c.point)
    lower = np.where(hide, np.nan, c.lower)
    upper = np.where(hide, np.nan, c.upper)
    nan = np.full(point.shape, np.nan)
    diff, dlo, dhi, ratio, rlo, rhi, pval = nan, nan, nan, nan, nan, nan, nan
    significant = np.zeros(point.shape, dtype=bool)
    if base is not None and not info.size and not base_withheld:
        bhide = base.hide  # (1, T)
        d = c.arr - base.arr
        r = safe_div(c.arr, np.broadcast_to(base.arr, c.arr.shape))
        diff, ratio = d[0], r[0]
        lo_b, hi_b = info.bounds(plan.task.name)
        if rep.n_replicates and info.interval:
            dreps = np.moveaxis(d[1:], 0, -1)
            dlo, dhi = rep.interval(diff, dreps, conf)
            pval = rep.p_value(diff, dreps)
            rlo, rhi = rep.interval(ratio, np.moveaxis(r[1:], 0, -1), conf)
            mover = c.score | base.score
            if mover.any():
                args = (c.point, c.lower, c.upper, base.point, base.lower, base.upper)
                mlo, mhi = mover_difference(*args)
                dlo, dhi = np.where(mover, mlo, dlo), np.where(mover, mhi, dhi)
                z = norm_ppf((1.0 + conf) / 2.0)
                with np.errstate(invalid="ignore", divide="ignore"):
                    se = np.where(diff > 0, diff - mlo, mhi - diff) / z
                    pm = np.where(diff == 0, 1.0, 2.0 * norm_sf_array(np.abs(diff) / se))
                pval = np.where(mover, np.minimum(pm, 1.0), pval)
                if lo_b >= 0:
                    qlo, qhi = mover_ratio(*args)
                    rlo, rhi = np.where(mover, qlo, rlo), np.where(mover, qhi, rhi)
            if np.isfinite(lo_b) and np.isfinite(hi_b):
                dlo = np.clip(dlo, lo_b - hi_b, hi_b - lo_b)
                dhi = np.clip(dhi, lo_b - hi_b, hi_b - lo_b)
            if lo_b >= 0:
                rlo = np.maximum(rlo, 0.0)
                rhi = np.maximum(rhi, 0.0)
            with np.errstate(invalid="ignore"):
                valid = (
                    (dhi - dlo > 0) & ~c.degenerate & ~base.degenerate & ~hide & ~bhide
                    & np.isfinite(dlo) & np.isfinite(dhi)
                )  # fmt: skip
                significant = valid & ((dlo > 0) | (dhi < 0))
            pval = np.where(valid, pval, np.nan)
        out_hide = hide | bhide
        diff, ratio = np.where(out_hide, np.nan, diff), np.where(out_hide, np.nan, ratio)
        dlo, dhi = np.where(out_hide, np.nan, dlo), np.where(out_hide, np.nan, dhi)
        rlo, rhi = np.where(out_hide, np.nan, rlo), np.where(out_hide, np.nan, rhi)
        pval = np.where(out_hide, np.nan, pval)
    n = v * t
    cols["model"].append(np.full(n, model, dtype=object))
    cols["class"].append(np.full(n, None if cls is None else format_value(cls), dtype=object))
    cols["feature"].append(np.repeat(np.array([s.feature for s in infos], dtype=object), t))
    cols["slice"].append(np.repeat(np.array([s.slice for s in infos], dtype=object), t))
    cols["metric"].append(np.full(n, info.name, dtype=object))
    thr = np.tile(thresholds, v) if per_thr else np.full(n, np.nan)
    cols["threshold"].append(thr)
    cols["value"].append(point.ravel())
    cols["lower"].append(np.asarray(lower).ravel())
    cols["upper"].append(np.asarray(upper).ravel())
    cols["count"].append(np.repeat(counts, t))
    cols["withheld"].append(hide.ravel() if not info.size else np.repeat(withheld, t))
    mx = np.full(v, np.nan) if bound is None else np.where(withheld, np.nan, bound)
    mx = np.asarray(mx, dtype=np.float64).reshape(v, -1)
    mx = np.where(hide, np.nan, np.broadcast_to(mx, (v, t)))
    cols["max_error"].append(mx.ravel())
    cols["diff"].append(np.asarray(diff).ravel())
    cols["diff_lower"].append(np.asarray(dlo).ravel())
    cols["diff_upper"].append(np.asarray(dhi).ravel())
    cols["ratio"].append(np.asarray(ratio).ravel())
    cols["ratio_lower"].append(np.asarray(rlo).ravel())
    cols["ratio_upper"].append(np.asarray(rhi).ravel())
    cols["significant"].append(np.asarray(significant).ravel())
    cols["denominator"].append(np.where(hide & ~np.isfinite(c.den), np.nan, c.den).ravel())
    method = c.method.copy()
    method[hide] = None
    cols["interval"].append(method.ravel())
    cols["p_value"].append(np.asarray(pval, dtype=np.float64).ravel())
    cols["p_value_adjusted"].append(np.full(n, np.nan))
    cols["significant_adjusted"].append(np.zeros(n, dtype=bool))
    cols["note"].append(c.note.ravel())


def _emit_pair(
    cols: dict[str, list[NDArray[Any]]],
    plan: Plan,
    infos: list[SliceInfo],
    thresholds: F64,
    ref: dict[str, Cells],
    other: dict[str, Cells],
    i: int,
    j: int,
) -> None:
    """The change from head ``i`` (the first model) to head ``j`` per slice and metric,
    with its interval from the paired replicates (both models read the same rows, so
    replicate ``b`` of each leaves out the same bucket or resamples the same rows)."""
    rep = plan.replication
    hi_, hj = plan.heads[i], plan.heads[j]
    v = len(infos)
    for name, cj in other.items():
        ci_ = ref.get(name)
        info = _info(name)
        if ci_ is None or info.size or info.gap == "none":
            continue
        t = cj.point.shape[-1]
        hide = ci_.hide | cj.hide
        d = cj.arr - ci_.arr
        diff = d[0]
        nan = np.full(diff.shape, np.nan)
        dlo, dhi, pval = nan, nan, nan
        significant = np.zeros(diff.shape, dtype=bool)
        if rep.n_replicates and info.interval:
            dreps = np.moveaxis(d[1:], 0, -1)
            dlo, dhi = rep.interval(diff, dreps, plan.confidence)
            pval = rep.p_value(diff, dreps)
            lo_b, hi_b = info.bounds(plan.task.name)
            if np.isfinite(lo_b) and np.isfinite(hi_b):
                dlo = np.clip(dlo, lo_b - hi_b, hi_b - lo_b)
                dhi = np.clip(dhi, lo_b - hi_b, hi_b - lo_b)
            with np.errstate(invalid="ignore"):
                valid = (dhi - dlo > 0) & ~hide & np.isfinite(dlo) & np.isfinite(dhi)
                significant = valid & ((dlo > 0) | (dhi < 0))
            pval = np.where(valid, pval, np.nan)
        n = v * t

        def mask(a: F64, hide: NDArray[np.bool_] = hide) -> F64:
            return np.where(hide, np.nan, a).ravel()

        cols["model"].append(np.full(n, hj.model, dtype=object))
        cols["reference"].append(np.full(n, hi_.model, dtype=object))
        cls = None if hj.cls is None else format_value(hj.cls)
        cols["class"].append(np.full(n, cls, dtype=object))
        cols["feature"].append(np.repeat(np.array([s.feature for s in infos], dtype=object), t))
        cols["slice"].append(np.repeat(np.array([s.slice for s in infos], dtype=object), t))
        cols["metric"].append(np.full(n, name, dtype=object))
        thr = np.tile(thresholds, v) if info.per_threshold else np.full(n, np.nan)
        cols["threshold"].append(thr)
        cols["value"].append(mask(cj.point))
        cols["reference_value"].append(mask(ci_.point))
        cols["diff"].append(mask(diff))
        cols["diff_lower"].append(mask(dlo))
        cols["diff_upper"].append(mask(dhi))
        cols["p_value"].append(mask(pval))
        cols["significant"].append(np.asarray(significant).ravel())
        cols["p_value_adjusted"].append(np.full(n, np.nan))
        cols["significant_adjusted"].append(np.zeros(n, dtype=bool))
