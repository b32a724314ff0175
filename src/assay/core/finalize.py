"""Turn a merged :class:`~assay.core.state.EvalState` into the result.

Each metric family computes its values on the full data and on every replicate
(jackknife leave-one-bucket-out sums or bootstrap resampled sums) in one vectorized pass;
this module, which knows no metric by name, adds what every metric gets from the
catalogue: the interval (clipped to the metric's range), withholding of small slices, and
the difference and ratio to the baseline slice with their intervals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from . import catalogue
from .layout import Block
from .plan import Plan
from .ranking import safe_div
from .replicates import Replication
from .result import COLUMNS, RESULT_SCHEMA, EvalResult, SliceInfo
from .slicing import format_value, slice_name
from .state import EvalState, StateView

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


def finalize(plan: Plan, state: EvalState, *, source: str, seen: int) -> EvalResult:
    """The :class:`EvalResult` of a merged state."""
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
    table, slices = assemble(state)
    return EvalResult(
        table,
        slices,
        config=plan.config(),
        n_rows=state.n_rows,
        n_dropped=state.n_dropped,
        source=source,
    )


def assemble(state: EvalState) -> tuple[pa.Table, list[SliceInfo]]:
    """Finalize ``state`` into the tidy metric table and the slice list.

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
    base_blocks = {bl.head: bl for bl in compute_blocks(base_view, bsi)}
    base_withheld = slices[slice_offsets[bsi] + bj].withheld
    batches: list[pa.RecordBatch] = []
    for si, order in enumerate(orders):
        if len(order) == 0:
            continue
        step = max(1, BLOCK_BYTES // max(1, _value_bytes(state, si)))
        for a in range(0, len(order), step):
            codes = order[a : a + step]
            blocks = compute_blocks(view.restrict(si, codes), si)
            infos = slices[slice_offsets[si] + a : slice_offsets[si] + a + len(codes)]
            counts = np.array([s.count for s in infos], dtype=np.int64)
            withheld = np.array([s.withheld for s in infos], dtype=bool)
            cols: dict[str, list[NDArray[Any]]] = {c: [] for c in COLUMNS}
            for bl in blocks:
                head = plan.heads[bl.head]
                base_block = base_blocks.get(bl.head)
                for name, arr in bl.values.items():
                    info = catalogue.metric(name)
                    if info is None:
                        raise RuntimeError(
                            f"Metric {name!r} is not in the metric catalogue; its family must "
                            "declare a MetricInfo for it."
                        )
                    base_arr = None
                    if base_block is not None and name in base_block.values:
                        base_arr = base_block.values[name][:, 0]
                    _emit(
                        cols, rep, plan.confidence, plan.task.name, head.model, head.cls,
                        infos, info, arr, thresholds, counts, withheld, bl.bounds.get(name),
                        base_arr, base_withheld,
                    )  # fmt: skip
            if cols["model"]:
                batches.append(_batch(cols))
    if not batches:
        return pa.Table.from_batches([], schema=RESULT_SCHEMA), slices
    return pa.Table.from_batches(batches, schema=RESULT_SCHEMA), slices


def _batch(cols: dict[str, list[NDArray[Any]]]) -> pa.RecordBatch:
    arrays = []
    for name, typ in COLUMNS.items():
        v = np.concatenate(cols[name])
        arrays.append(pa.array(v, type=typ, from_pandas=v.dtype == object))
    return pa.RecordBatch.from_arrays(arrays, schema=RESULT_SCHEMA)


def _emit(
    cols: dict[str, list[NDArray[Any]]],
    rep: Replication,
    confidence: float,
    task: str,
    model: str,
    cls: Any,
    infos: list[SliceInfo],
    info: catalogue.MetricInfo,
    arr: F64,
    thresholds: F64,
    counts: I64,
    withheld: NDArray[np.bool_],
    bound: F64 | None,
    base_arr: F64 | None,
    base_withheld: bool,
) -> None:
    v = len(infos)
    per_thr = info.per_threshold
    arr = arr if per_thr else arr[..., None]  # (R+1, V, T)
    t = arr.shape[-1]
    point = arr[0]
    reps = np.moveaxis(arr[1:], 0, -1)  # (V, T, R)
    if not info.interval or rep.n_replicates == 0:
        lower = np.full(point.shape, np.nan)
        upper = lower.copy()
    else:
        lower, upper = rep.interval(point, reps, confidence)
        lo, hi = info.bounds(task)
        if np.isfinite(lo) or np.isfinite(hi):
            lower = np.clip(lower, lo, hi)
            upper = np.clip(upper, lo, hi)
    hide = np.repeat(withheld[:, None], t, axis=1)
    if not info.size:
        point = np.where(hide, np.nan, point)
        lower = np.where(hide, np.nan, lower)
        upper = np.where(hide, np.nan, upper)
    nan = np.full(point.shape, np.nan)
    diff, dlo, dhi, ratio, rlo, rhi = nan, nan, nan, nan, nan, nan
    if base_arr is not None and not info.size and not base_withheld:
        base_arr = base_arr.reshape(base_arr.shape[0], 1, t)
        d = arr - base_arr
        r = safe_div(arr, np.broadcast_to(base_arr, arr.shape))
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
    cols["metric"].append(np.full(n, info.name, dtype=object))
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
