"""The mergeable evaluation state.

One :class:`EvalState` summarizes any number of rows. It is built per chunk with
:meth:`EvalState.update` and combined with :meth:`EvalState.merge`; the result does not
depend on how rows were chunked, ordered or partitioned (up to floating-point summation
order). Everything an :class:`~assay.evaluation.result.EvalResult` reports is computed
from it by :func:`~assay.evaluation.finalize.finalize`.

For every slice spec, each observed slice value ``v`` owns (``Rs`` = replicate slots of the
resampling scheme, see :mod:`.replicates`; ``K`` thresholds; ``NB`` histogram bins;
``NC`` calibration bins):

=========  ========================  =====================================================
array      shape                     content
=========  ========================  =====================================================
``n``      ``(V, Rs)``               number of rows
``thr``    ``(V, 2, K+1, Rs)``       weight per label and threshold interval (exact counts)
``hist``   ``(V, 2, NB, Rs)``        weight per label and score bin (threshold-free metrics)
``cal``    ``(V, 3, NC, Rs)``        per calibration bin: sum w, sum w*score, sum w*label
``flip``   ``(V, K+1, K+1, Rs)``     weight per pair of threshold intervals of two models
=========  ========================  =====================================================

``thr``, ``hist``, ``cal`` exist per scored head (model, class), ``flip`` per model pair.
In ``auc="exact"`` mode the histogram is replaced by the rows themselves (score, label,
weight, row hash), which makes threshold-free metrics exact at O(rows) memory.
Per head, the minimum and maximum score seen in each histogram bin are kept too, which
tells whether the histogram AUC is exact and bounds its error otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from ..core.replicates import Replication
from ..core.slicing import SliceSpec

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class Head:
    """One scored output: a model's score column, or one class of a multi-class model."""

    model: str
    cls: Any = None

    @property
    def label(self) -> str:
        return self.model if self.cls is None else f"{self.model}[{self.cls}]"


@dataclass(frozen=True)
class StateConfig:
    """Everything that fixes the layout of the state; two states merge only if equal."""

    heads: tuple[Head, ...]
    specs: tuple[SliceSpec, ...]
    thresholds: tuple[float, ...]
    n_bins: int
    n_cal_bins: int
    auc_mode: str
    replication: Replication = field(compare=False)
    pairs: tuple[tuple[int, int], ...] = ()

    @property
    def rep_key(self) -> tuple[str, int]:
        return (self.replication.name, self.replication.n_state)


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

    def __init__(self, spec: SliceSpec, inner: dict[str, tuple[int, ...]], n_state: int) -> None:
        self.spec = spec
        self.keys: list[tuple[Any, ...]] = []
        self.index: dict[tuple[Any, ...], int] = {}
        self.inner = inner
        self.n_state = n_state
        self.capacity = 0
        self.arrays: dict[str, F64] = {}
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

    def flat(self, name: str) -> F64:
        """The array ``name`` viewed as ``(capacity * prod(inner), n_state)``."""
        return self.arrays[name].reshape(-1, self.n_state)

    def view(self, name: str) -> F64:
        """The array ``name`` restricted to the observed slice values."""
        return self.arrays[name][: self.size]


class EvalState:
    """Mergeable summary of scored rows for sliced evaluation."""

    def __init__(self, config: StateConfig) -> None:
        self.config = config
        k1 = len(config.thresholds) + 1
        inner: dict[str, tuple[int, ...]] = {"n": ()}
        for h in range(len(config.heads)):
            inner[f"thr{h}"] = (2, k1)
            inner[f"cal{h}"] = (3, config.n_cal_bins)
            if config.auc_mode == "histogram":
                inner[f"hist{h}"] = (2, config.n_bins)
        for p in range(len(config.pairs)):
            inner[f"flip{p}"] = (k1, k1)
        n_state = config.replication.n_state
        self.tables = [SpecTable(spec, inner, n_state) for spec in config.specs]
        self.encoders: dict[str, ColumnEncoder] = {}
        nh = len(config.heads)
        self.bin_min = np.full((nh, config.n_bins), np.inf)
        self.bin_max = np.full((nh, config.n_bins), -np.inf)
        self.n_rows = 0
        self.n_dropped = 0
        # exact mode: the rows themselves
        self.rows: dict[str, list[NDArray[Any]]] = {}
        self._thresholds = np.asarray(config.thresholds, dtype=np.float64)

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
        return mapping[inverse]

    def update(
        self,
        *,
        y: list[NDArray[np.int8]],
        s: list[F64],
        w: F64,
        hashes: NDArray[np.uint64],
        slice_columns: dict[str, pa.Array],
    ) -> None:
        """Add one chunk of valid rows.

        ``y[h]`` / ``s[h]`` are the binary labels and probability scores of head ``h``,
        ``w`` the row weights, ``hashes`` the seeded row hashes that fix each row's
        replicate assignment, ``slice_columns`` the raw slice feature columns.
        """
        cfg = self.config
        n = w.shape[0]
        if n == 0:
            return
        rep = cfg.replication
        rows = rep.row_data(hashes)
        col_codes: dict[str, I64] = {}
        for name, arr in slice_columns.items():
            enc = self.encoders.setdefault(name, ColumnEncoder())
            col_codes[name] = enc.encode(arr)
        k1 = len(cfg.thresholds) + 1
        nb, nc = cfg.n_bins, cfg.n_cal_bins
        tbins = [np.searchsorted(self._thresholds, sh, side="left") for sh in s]
        hbins = [np.minimum((sh * nb).astype(np.int64), nb - 1) for sh in s]
        cbins = [np.minimum((sh * nc).astype(np.int64), nc - 1) for sh in s]
        if cfg.auc_mode == "histogram":
            for h, (hb, sh) in enumerate(zip(hbins, s, strict=True)):
                np.minimum.at(self.bin_min[h], hb, sh)
                np.maximum.at(self.bin_max[h], hb, sh)
        ones = np.ones(n)
        ws = [w * sh for sh in s]
        wy = [w * yh for yh in y]
        spec_codes: list[I64] = []
        for table in self.tables:
            codes = self._spec_codes(table, [col_codes[c] for c in table.spec.columns], n)
            spec_codes.append(codes)
            keep = codes >= 0
            allk = bool(keep.all())

            def sel(a: NDArray[Any], keep: NDArray[np.bool_] = keep, allk: bool = allk) -> Any:
                return a if allk else a[keep]

            c = sel(codes)
            if c.size == 0:
                continue
            r = rows if allk else _subset_rows(rows, keep)
            wk = sel(w)
            rep.accumulate(table.flat("n"), c, sel(ones), r)
            for h in range(len(cfg.heads)):
                yk = sel(y[h]).astype(np.int64)
                tb = sel(tbins[h])
                rep.accumulate(table.flat(f"thr{h}"), (c * 2 + yk) * k1 + tb, wk, r)
                if cfg.auc_mode == "histogram":
                    rep.accumulate(table.flat(f"hist{h}"), (c * 2 + yk) * nb + sel(hbins[h]), wk, r)
                cb = sel(cbins[h])
                cal = table.flat(f"cal{h}")
                base = c * 3 * nc + cb
                rep.accumulate(cal, base, wk, r)
                rep.accumulate(cal, base + nc, sel(ws[h]), r)
                rep.accumulate(cal, base + 2 * nc, sel(wy[h]), r)
            for p, (a, b) in enumerate(cfg.pairs):
                key = (c * k1 + sel(tbins[a])) * k1 + sel(tbins[b])
                rep.accumulate(table.flat(f"flip{p}"), key, wk, r)
        if cfg.auc_mode == "exact":
            self._append_rows(y, s, w, hashes, spec_codes)
        self.n_rows += n

    def _append_rows(
        self,
        y: list[NDArray[np.int8]],
        s: list[F64],
        w: F64,
        hashes: NDArray[np.uint64],
        spec_codes: list[I64],
    ) -> None:
        self.rows.setdefault("w", []).append(w)
        self.rows.setdefault("hash", []).append(hashes)
        for h in range(len(self.config.heads)):
            self.rows.setdefault(f"y{h}", []).append(y[h])
            self.rows.setdefault(f"s{h}", []).append(s[h])
        for i, codes in enumerate(spec_codes):
            self.rows.setdefault(f"code{i}", []).append(codes.astype(np.int32))

    def exact_rows(self) -> dict[str, NDArray[Any]]:
        """The stored rows (exact mode), concatenated."""
        out = {k: np.concatenate(v) for k, v in self.rows.items()}
        self.rows = {k: [v] for k, v in out.items()}
        return out

    def compact(self) -> EvalState:
        """Drop unused capacity of every slice table, in place; returns ``self``."""
        for table in self.tables:
            table.compact()
        return self

    # ------------------------------------------------------------------ merge
    def merge(self, other: EvalState) -> EvalState:
        """Add ``other`` into this state (in place) and return ``self``."""
        if other.config != self.config or other.config.rep_key != self.config.rep_key:
            raise ValueError("Cannot merge evaluation states built with different settings.")
        remaps: list[I64] = []
        for mine, theirs in zip(self.tables, other.tables, strict=True):
            remap = np.array([mine.code(k) for k in theirs.keys], dtype=np.int64)
            remaps.append(remap)
            for name in mine.arrays:
                mine.arrays[name][remap] += theirs.view(name)
        np.minimum(self.bin_min, other.bin_min, out=self.bin_min)
        np.maximum(self.bin_max, other.bin_max, out=self.bin_max)
        self.n_rows += other.n_rows
        self.n_dropped += other.n_dropped
        if other.rows:
            theirs_rows = other.exact_rows()
            for k, v in theirs_rows.items():
                if k.startswith("code"):
                    remap = remaps[int(k[4:])]
                    v = np.where(v >= 0, remap[np.maximum(v, 0)], -1).astype(np.int32)
                self.rows.setdefault(k, []).append(v)
        return self


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
