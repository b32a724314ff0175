"""The mergeable evaluation state, generic over metric families.

One :class:`EvalState` summarizes any number of rows. It is built per chunk with
:meth:`EvalState.update` and combined with :meth:`EvalState.merge`; the result does not
depend on how rows were chunked, ordered or partitioned (up to floating-point summation
order). The state knows no metric: its arrays are declared by the plan's metric families
(:mod:`assay.core.family`), and each merges by its declared reduction:

==================  ============================================  ==================
kind                storage                                       merge
==================  ============================================  ==================
``SliceArray``      per slice spec, ``(V, *shape, Rs)``           sum
``SliceArray``      ``storage="histogram"``: a SliceHistogram     sum
``GlobalArray``     ``shape``                                     sum / min / max
``RowArray``        the rows themselves                           concatenation
==================  ============================================  ==================

``V`` is the number of slice values seen for the spec and ``Rs`` the replicate slots of
the resampling scheme (:mod:`assay.core.replicates`). The core keeps two slice arrays of
its own: ``n`` (rows) and ``wsum`` (weight) per slice value.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from .layout import GlobalArray, RowArray, SliceArray
from .replicates import Replication
from .slicing import SliceSpec

if TYPE_CHECKING:
    from .histogram import SliceHistogram
    from .plan import Plan

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Core slice arrays (not owned by a family).
CORE_ARRAYS = (SliceArray("n", ()), SliceArray("wsum", ()))


def _normalize(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


class ColumnEncoder:
    """Maps a column's values to dense integer codes that stay stable across chunks."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.index: dict[Any, int] = {}

    def code(self, v: Any) -> int:
        v = _normalize(v)
        c = self.index.get(v)
        if c is None:
            c = len(self.values)
            self.index[v] = c
            self.values.append(v)
        return c

    def encode(self, arr: pa.Array | pa.ChunkedArray) -> I64:
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if pa.types.is_dictionary(arr.type):
            indices, dictionary = arr.indices, arr.dictionary
        else:
            enc = pc.dictionary_encode(arr)
            indices, dictionary = enc.indices, enc.dictionary
        local = [self.code(v) for v in dictionary.to_pylist()]
        if arr.null_count:
            local.append(self.code(None))
            idx = indices.fill_null(len(local) - 1)
        else:
            idx = indices
        lookup = np.asarray(local, dtype=np.int64)
        return lookup[np.asarray(idx.to_numpy(zero_copy_only=False), dtype=np.int64)]


class SpecTable:
    """The slice values seen for one spec, and their state arrays."""

    def __init__(
        self,
        spec: SliceSpec,
        inner: dict[str, tuple[int, ...]],
        hists: dict[str, int],
        replication: Replication,
    ) -> None:
        self.spec = spec
        self.keys: list[tuple[Any, ...]] = []
        self.index: dict[tuple[Any, ...], int] = {}
        self.inner = inner
        self.inner_size = {k: int(np.prod(v, dtype=np.int64)) for k, v in inner.items()}
        self.n_state = replication.n_state
        self.capacity = 0
        self.arrays: dict[str, F64] = {}
        self.hists: dict[str, SliceHistogram] = {}
        if hists:
            from .histogram import SliceHistogram

            self.hists = {
                name: SliceHistogram(cells, replication, dense=not spec.columns)
                for name, cells in hists.items()
            }
        self._grow(4 if spec.columns else 1)
        for key in spec.explicit_keys():
            self.code(key)
        if not spec.columns:
            self.code(())

    @property
    def size(self) -> int:
        return len(self.keys)

    def code(self, key: tuple[Any, ...]) -> int:
        c = self.index.get(key)
        if c is None:
            c = len(self.keys)
            self.index[key] = c
            self.keys.append(key)
            if c >= self.capacity:
                self._grow(max(2 * self.capacity, c + 1, 4))
        return c

    def _grow(self, capacity: int) -> None:
        for name, shape in self.inner.items():
            new = np.zeros((capacity, *shape, self.n_state))
            old = self.arrays.get(name)
            if old is not None:
                new[: old.shape[0]] = old
            self.arrays[name] = new
        self.capacity = capacity

    def compact(self) -> None:
        """Drop unused capacity (arrays grow by doubling), e.g. before sending the state."""
        if self.capacity > self.size:
            self.arrays = {k: v[: self.size].copy() for k, v in self.arrays.items()}
            self.capacity = self.size
        for h in self.hists.values():
            h.compact()

    def flat(self, name: str) -> F64:
        """The array ``name`` viewed as ``(capacity * prod(inner), n_state)``."""
        return self.arrays[name].reshape(-1, self.n_state)

    def view(self, name: str) -> F64:
        """The array ``name`` restricted to the observed slice values."""
        return self.arrays[name][: self.size]

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays.values()) + sum(
            h.nbytes for h in self.hists.values()
        )


class TableChunk:
    """The rows of one chunk that fall in a spec's kept slice values."""

    def __init__(
        self, table: SpecTable, codes: I64, replication: Replication, rows: Any, w: F64
    ) -> None:
        self.table = table
        keep = codes >= 0
        self.all = bool(keep.all())
        self.keep = keep
        self.codes = codes if self.all else codes[keep]
        self.rep = replication
        self.rows = rows if self.all else _subset_rows(rows, keep)
        self.w = self.sel(w)

    @property
    def size(self) -> int:
        return int(self.codes.size)

    def sel(self, a: NDArray[Any]) -> Any:
        """``a`` (one entry per row of the chunk) restricted to this spec's rows."""
        return a if self.all else a[self.keep]

    def add(self, name: str, inner_key: I64 | int, values: F64) -> None:
        """Add ``values`` at ``[slice, inner_key]`` of slice array ``name`` (already
        restricted to this spec's rows; ``inner_key`` is the flat index within one slice
        value's block, e.g. ``label * n_bins + bin``)."""
        t = self.table
        hist = t.hists.get(name)
        if hist is not None:
            hist.add(self.codes, np.asarray(inner_key, dtype=np.int64), values, self.rows)
            return
        size = t.inner_size[name]
        key = self.codes * size + inner_key if size != 1 else self.codes
        self.rep.accumulate(t.flat(name), np.asarray(key, dtype=np.int64), values, self.rows)


class Chunk:
    """One chunk of valid rows, as the families see it in :meth:`MetricFamily.update`.

    ``y[h]`` / ``s[h]``: labels and scores of head ``h`` (binary labels as int8 0/1,
    probabilities; or numbers for numeric tasks); ``w``: weights; ``tables[i]``: the rows
    of spec ``i`` with their slice codes (:class:`TableChunk`); ``globals``: the state's
    global arrays, updated in place; :meth:`append` adds to a row array.
    """

    def __init__(
        self,
        state: EvalState,
        y: list[NDArray[Any]],
        s: list[F64],
        w: F64,
        hashes: NDArray[np.uint64],
        tables: list[TableChunk],
    ) -> None:
        self.y = y
        self.s = s
        self.w = w
        self.hashes = hashes
        self.n = int(w.shape[0])
        self.tables = tables
        self.globals = state.globals
        #: Values computed once per chunk and shared between families (e.g. the threshold
        #: interval of every score), by name.
        self.cache: dict[str, Any] = {}
        self._state = state

    def append(self, name: str, values: NDArray[Any]) -> None:
        """Keep ``values`` (one per row of the chunk) in row array ``name``."""
        self._state.rows.setdefault(name, []).append(np.asarray(values))


class EvalState:
    """Mergeable summary of scored rows; its layout comes from the plan's families."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        rep = plan.replication
        inner: dict[str, tuple[int, ...]] = {}
        hists: dict[str, int] = {}
        self.globals: dict[str, F64] = {}
        self._reduce: dict[str, str] = {}
        self.row_arrays: list[RowArray] = []
        owners: dict[str, str] = {}
        layouts = [("core", list(CORE_ARRAYS))] + [(f.name, f.layout()) for f in plan.families]
        for owner, layout in layouts:
            for a in layout:
                if a.name in owners:
                    raise ValueError(
                        f"State array {a.name!r} of family {owner!r} is already declared by "
                        f"{owners[a.name]!r}."
                    )
                owners[a.name] = owner
                if isinstance(a, SliceArray):
                    if a.storage == "histogram":
                        if len(a.shape) != 1:
                            raise ValueError(f"Histogram array {a.name!r} must be 1-D.")
                        hists[a.name] = a.shape[0]
                    else:
                        inner[a.name] = a.shape
                elif isinstance(a, GlobalArray):
                    self.globals[a.name] = np.full(a.shape, a.fill)
                    self._reduce[a.name] = a.reduce
                else:
                    self.row_arrays.append(a)
        self.tables = [SpecTable(spec, inner, hists, rep) for spec in plan.specs]
        self.encoders: dict[str, ColumnEncoder] = {}
        self.n_rows = 0
        self.n_dropped = 0
        self.rows: dict[str, list[NDArray[Any]]] = {}

    @property
    def layout_key(self) -> tuple[Any, ...]:
        return self.plan.state_key

    # ------------------------------------------------------------------ update
    def _spec_codes(self, table: SpecTable, col_codes: list[I64], n: int) -> I64:
        if not table.spec.columns:
            return np.zeros(n, dtype=np.int64)
        dims = tuple(int(c.max()) + 1 if c.size else 1 for c in col_codes)
        combined = col_codes[0] if len(col_codes) == 1 else np.ravel_multi_index(tuple(col_codes), dims)
        uniq, inverse = _small_unique(combined, int(np.prod(dims)))
        combos = [tuple(int(x) for x in t) for t in zip(*np.unravel_index(uniq, dims), strict=True)]
        encs = [self.encoders[c] for c in table.spec.columns]
        mapping = np.empty(len(combos), dtype=np.int64)
        for i, combo in enumerate(combos):
            key = tuple(e.values[c] for e, c in zip(encs, combo, strict=True))
            mapping[i] = table.code(key) if table.spec.allows(key) else -1
        out: I64 = mapping[inverse]
        return out

    def update(
        self,
        *,
        y: list[NDArray[Any]],
        s: list[F64],
        w: F64,
        hashes: NDArray[np.uint64],
        slice_columns: dict[str, pa.Array],
    ) -> None:
        """Add one chunk of valid rows.

        ``y[h]`` / ``s[h]`` are the labels and scores of head ``h``, ``w`` the row weights,
        ``hashes`` the seeded row hashes that fix each row's replicate assignment,
        ``slice_columns`` the raw slice feature columns.
        """
        n = w.shape[0]
        if n == 0:
            return
        rep = self.plan.replication
        rows = rep.row_data(hashes)
        col_codes: dict[str, I64] = {}
        for name, arr in slice_columns.items():
            enc = self.encoders.setdefault(name, ColumnEncoder())
            col_codes[name] = enc.encode(arr)
        tables: list[TableChunk] = []
        ones = np.ones(n)
        for table in self.tables:
            codes = self._spec_codes(table, [col_codes[c] for c in table.spec.columns], n)
            self.check_slice_count()
            tc = TableChunk(table, codes, rep, rows, w)
            tables.append(tc)
            if tc.size:
                tc.add("n", 0, tc.sel(ones))
                tc.add("wsum", 0, tc.w)
        if self.row_arrays:
            self.rows.setdefault("w", []).append(w)
            self.rows.setdefault("hash", []).append(hashes)
            for i, tc in enumerate(tables):
                full = np.full(n, -1, dtype=np.int32)
                full[tc.keep] = tc.codes
                self.rows.setdefault(f"code{i}", []).append(full)
        chunk = Chunk(self, y, s, w, hashes, tables)
        for fam in self.plan.families:
            fam.update(chunk)
        self.n_rows += n

    def check_slice_count(self) -> None:
        """Raise when the slices outnumber the plan's ``max_slices``."""
        limit = self.plan.max_slices
        total = sum(t.size for t in self.tables)
        if total <= limit:
            return
        worst = max(self.tables, key=lambda t: t.size)
        raise ValueError(
            f"The evaluation has more than max_slices={limit:,} slices ({total:,} so far; "
            f"{worst.spec.name!r} alone has {worst.size:,} values). Group the values of a "
            "high-cardinality column first: assay.bins(values, n_bins) bins a numeric "
            "column into quantile bins (assay.bins(values, edges=[...]) into fixed ones), "
            "or slice on fewer columns; or raise the limit with max_slices=..."
        )

    def exact_rows(self) -> dict[str, NDArray[Any]]:
        """The stored rows, concatenated."""
        out = {k: v[0] if len(v) == 1 else np.concatenate(v) for k, v in self.rows.items()}
        self.rows = {k: [v] for k, v in out.items()}
        return out

    def compact(self) -> EvalState:
        """Drop unused capacity of every slice table, in place; returns ``self``."""
        for table in self.tables:
            table.compact()
        if self.rows:
            self.exact_rows()
        return self

    @property
    def nbytes(self) -> int:
        """Memory held by the state's arrays."""
        total = sum(t.nbytes for t in self.tables)
        total += sum(a.nbytes for a in self.globals.values())
        total += sum(a.nbytes for v in self.rows.values() for a in v)
        return total

    # ------------------------------------------------------------------ merge
    def merge(self, other: EvalState) -> EvalState:
        """Add ``other`` into this state (in place) and return ``self``."""
        if other.layout_key != self.layout_key:
            raise ValueError("Cannot merge evaluation states built with different settings.")
        remaps: list[I64] = []
        for mine, theirs in zip(self.tables, other.tables, strict=True):
            remap = np.array([mine.code(k) for k in theirs.keys], dtype=np.int64)
            remaps.append(remap)
            for name in mine.arrays:
                mine.arrays[name][remap] += theirs.view(name)
            for name, hist in mine.hists.items():
                hist.merge(theirs.hists[name], remap)
        for name, arr in self.globals.items():
            red = self._reduce[name]
            if red == "sum":
                arr += other.globals[name]
            elif red == "min":
                np.minimum(arr, other.globals[name], out=arr)
            else:
                np.maximum(arr, other.globals[name], out=arr)
        self.n_rows += other.n_rows
        self.n_dropped += other.n_dropped
        self.check_slice_count()
        if other.rows:
            theirs_rows = other.exact_rows()
            for k, v in theirs_rows.items():
                if k.startswith("code"):
                    remap = remaps[int(k[4:])]
                    v = np.where(v >= 0, remap[np.maximum(v, 0)], -1).astype(np.int32)
                self.rows.setdefault(k, []).append(v)
        return self


class StateView:
    """Read access to a merged state for :meth:`MetricFamily.finalize`.

    Slice values of spec ``i`` are presented in ``order(i)`` (display) order; while a
    block of one spec's values is finalized, ``order`` of that spec is the block.
    """

    def __init__(
        self, state: EvalState, orders: list[I64], block: tuple[int, I64] | None = None
    ) -> None:
        self.state = state
        self.plan = state.plan
        self.replication = state.plan.replication
        self.orders = orders
        self.block = block

    @property
    def n_specs(self) -> int:
        return len(self.state.tables)

    def order(self, spec: int) -> I64:
        """Slice codes of ``spec`` being finalized, in display order."""
        if self.block is not None and self.block[0] == spec:
            return self.block[1]
        return self.orders[spec]

    def restrict(self, spec: int, codes: I64) -> StateView:
        """A view whose ``order(spec)`` is ``codes``."""
        return StateView(self.state, self.orders, (spec, codes))

    def table(self, spec: int) -> SpecTable:
        return self.state.tables[spec]

    def stack(self, spec: int, name: str) -> F64:
        """Slice array ``name`` of ``spec`` as ``(R+1, V, *shape)``: point, then replicates."""
        table = self.state.tables[spec]
        order = self.order(spec)
        hist = table.hists.get(name)
        if hist is not None:
            return stack_replicates(self.replication, hist.dense(order))
        return stack_replicates(self.replication, table.view(name)[order])

    def histogram(self, spec: int, name: str) -> SliceHistogram:
        return self.state.tables[spec].hists[name]

    @property
    def globals(self) -> dict[str, F64]:
        return self.state.globals

    def rows(self) -> dict[str, NDArray[Any]]:
        """The row arrays, concatenated (empty when no family keeps rows)."""
        return self.state.exact_rows() if self.state.rows else {}


def stack_replicates(rep: Replication, a: F64) -> F64:
    """State array ``(V, ..., Rs)`` -> ``(R+1, V, ...)``: point first, then replicates."""
    point, reps = rep.expand(a)
    return np.concatenate([point[None], np.moveaxis(reps, -1, 0)], axis=0)


def _small_unique(x: I64, size: int) -> tuple[I64, I64]:
    """``np.unique(x, return_inverse=True)`` for non-negative ints below ``size``.

    Uses a counting pass instead of a sort when the range is small (slice codes).
    """
    if size > 4 * x.size + 65_536:
        uniq, inverse = np.unique(x, return_inverse=True)
        return uniq, inverse.reshape(-1)
    present = np.bincount(x, minlength=size) > 0
    uniq = np.flatnonzero(present)
    lookup = np.zeros(size, dtype=np.int64)
    lookup[uniq] = np.arange(uniq.size)
    return uniq, lookup[x]


def _subset_rows(rows: Any, keep: NDArray[np.bool_]) -> Any:
    if rows is None:
        return None
    fields = {k: v[keep] for k, v in vars(rows).items()}
    return type(rows)(**fields)
