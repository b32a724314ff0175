"""Adaptive, mergeable per-slice histograms with a replicate axis.

A :class:`SliceHistogram` holds what a dense array ``(V, n_cells, n_state)`` would hold,
the weight per slice value, cell and replicate slot (see :mod:`.replicates`), but costs
``O(min(rows, n_cells) * n_state)`` per slice instead of ``O(n_cells * n_state)``: a slice
column with 100,000 values of 100 rows each needs about 16 bytes per row (jackknife), not
1.3 MB per value.

Storage layout
--------------
Every slice code ``s`` (``0 <= s < n_slices``, dense small ints assigned by the caller) is
stored in one of two forms:

* **dense**: the row ``_dense[_dense_of[s]]`` of shape ``(n_cells, n_state)``, added to with
  ``np.bincount`` like the dense state;
* **sparse**: entries ``(key, value)`` with sorted unique keys. The unit of an entry depends
  on how the replication scheme spreads a row over the replicate axis:

  - *slot mode* (:class:`~.replicates.NoReplicates`, :class:`~.replicates.Jackknife`: a
    row adds to exactly one slot): ``key = (s * n_cells + cell) * n_state + slot`` and a
    scalar value (``vals`` has shape ``(E,)``), 16 bytes per entry;
  - *vector mode* (:class:`~.replicates.PoissonBootstrap` and any other scheme: a row adds
    to every slot): ``key = s * n_cells + cell`` and a value row (``vals`` ``(E, n_state)``).

  Sparse entries live in *pages*, each holding the slices of one contiguous code range
  ``[lo, next page's lo)``: the consolidated sorted unique entries plus pending *runs* (one
  per :meth:`~SliceHistogram.add` call, each already reduced to sorted unique keys). A page
  is consolidated (runs merged by a stable sort and summed, exact zeros dropped) when its
  pending entries reach its consolidated ones, and split when it exceeds ``page_bytes``, so
  the transient memory of a consolidation is bounded by the page size, not the whole
  histogram.

A sparse slice is *promoted* to dense as soon as its entries would take more than
``promote_ratio`` (default 1/2) of a dense row: checked for each run (a slice that receives
many distinct cells in one call, e.g. the overall slice, is dense after its first chunk) and
at each consolidation. With ``dense=True`` every slice is dense from its first row
(use it for the overall slice: no lookup per row then). A slice with ``r`` rows thus costs
at most ``min(16 r, n_cells * n_state * 8)`` bytes in slot mode and
``min(r, n_cells) * (n_state + 1) * 8`` bytes in vector mode, plus pending runs (at most
the consolidated size, before :meth:`~SliceHistogram.compact`) and the doubling capacity of
the dense block.

Numbers
-------
The sums are *bit-identical* to those of ``replication.accumulate`` on the dense array
given the same chunks (and ``mine[remap] += theirs`` for merges): within an ``add`` call
equal keys are summed in row order (as ``np.bincount``; the bootstrap uses the same stable
sort and ``reduceat`` as :meth:`~.replicates.PoissonBootstrap.accumulate`), and across
calls the per-call sums are added in arrival order (stable merges; a promoted slice gets
its consolidated sums first, then its pending runs in order). So a slice holding all the
rows of a bin cancels exactly against the overall histogram, as in the dense state. Cells
that receive no weight (or only exact zeros) stay exact zeros.

:func:`ranking_metrics` computes the ROC / PR AUCs and the bias AUCs of every slice from
this storage in bounded working memory, never expanding a sparse slice to all bins.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import ranking as RK
from .replicates import Jackknife, PoissonBootstrap, Replication

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

__all__ = ["SliceHistogram", "ranking_metrics"]


class _Page:
    """Sparse entries of the slices ``lo <= s < next page's lo``.

    ``keys`` / ``vals`` are the consolidated entries (sorted unique keys, no exact zeros);
    ``pend_keys`` / ``pend_vals`` the runs added since (each sorted unique, but they may
    repeat keys of each other and of ``keys``); ``dirty`` says that a slice with entries
    here has become dense since the last consolidation.
    """

    def __init__(self, lo: int, keys: I64, vals: F64) -> None:
        self.lo = lo
        self.keys = keys
        self.vals = vals
        self.pend_keys: list[I64] = []
        self.pend_vals: list[F64] = []
        self.pend_n = 0
        self.dirty = False

    @property
    def nbytes(self) -> int:
        n = self.keys.nbytes + self.vals.nbytes
        n += sum(a.nbytes for a in self.pend_keys) + sum(a.nbytes for a in self.pend_vals)
        return int(n)


def _segment_starts(sorted_ids: I64) -> I64:
    """Start positions of the runs of equal values in a sorted array (empty for empty)."""
    if sorted_ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(sorted_ids[1:] != sorted_ids[:-1]) + 1
    return np.concatenate((np.zeros(1, dtype=np.int64), change.astype(np.int64)))


def _unique(a: I64) -> I64:
    """Sorted unique values (``np.unique`` by a value sort, faster than its hash path)."""
    s = np.sort(a)
    out: I64 = s[_segment_starts(s)]
    return out


def _ranges(starts: I64, ends: I64) -> I64:
    """Concatenation of ``arange(starts[i], ends[i])``."""
    lens = ends - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lens) - lens
    return np.arange(total, dtype=np.int64) + np.repeat(starts - offsets, lens)


def _sort_keys(keys: I64, runs: bool = False) -> tuple[I64, I64]:
    """Stable sort: the permutation and the sorted keys (equal keys keep array order).

    Packs ``(key - min) << b | position`` into one int64 and sorts values, several times
    faster than ``np.argsort``; ``runs`` says the input is a concatenation of sorted runs
    (a stable value sort exploits them). Falls back to a stable argsort when the key range
    does not fit.
    """
    n = keys.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), keys
    lo = int(keys.min())
    bits = max(1, (n - 1).bit_length())
    if int(keys.max()) - lo < (1 << (62 - bits)):
        comp = keys - lo
        comp <<= bits
        comp |= np.arange(n, dtype=np.int64)
        comp.sort(kind="stable" if runs else "quicksort")
        perm = comp & ((1 << bits) - 1)
        comp >>= bits
        comp += lo
        return perm, comp
    perm = np.argsort(keys, kind="stable")
    return perm, keys[perm]


def _take_rows(rows: Any, idx: I64) -> Any:
    """The replicate row data of the rows ``idx`` (``rows`` as from ``row_data``)."""
    if rows is None:
        return None
    return type(rows)(**{k: v[idx] for k, v in vars(rows).items()})


def _bincount(idx: I64, w: F64, n: int) -> F64:
    out: F64 = np.bincount(idx, weights=w, minlength=n).astype(np.float64, copy=False)
    return out


def _reduceat_rows(full: F64, starts: I64) -> F64:
    """``np.add.reduceat(full, starts, axis=0)``, bit for bit, faster when most segments
    hold one row (``reduceat`` costs much per segment): those are copied, and only the
    longer segments are reduced (each segment's sum does not depend on the others)."""
    n = full.shape[0]
    lens = np.diff(np.append(starts, n))
    multi = lens > 1
    n_multi_rows = int(lens[multi].sum())
    if n_multi_rows > n // 2:
        red: F64 = np.add.reduceat(full, starts, axis=0)
        return red
    out: F64 = full[starts]
    if n_multi_rows:
        sub = full[_ranges(starts[multi], starts[multi] + lens[multi])]
        sub_starts = np.cumsum(lens[multi]) - lens[multi]
        out[multi] = np.add.reduceat(sub, sub_starts, axis=0)
    return out


def _sum_sorted(keys: I64, vals: F64) -> tuple[I64, F64]:
    """Unique keys and per-key sums of ``vals`` (rows), for sorted ``keys``.

    Equal keys are added one after the other in array order, starting from the first, as
    ``np.bincount`` and the dense state's running ``+=`` do (``np.add.reduceat`` does not
    add sequentially), so the same values in the same order give bit-identical sums. Only
    the duplicate positions are touched.
    """
    n = keys.size
    if n < 2:
        return keys, vals
    same = keys[1:] == keys[:-1]
    cont = np.flatnonzero(same) + 1  # positions that continue a run of equal keys
    if cont.size == 0:
        return keys, vals
    first = np.ones(n, dtype=bool)
    first[cont] = False
    starts = np.flatnonzero(first)
    out = vals[starts]
    head = np.searchsorted(starts, cont, side="right") - 1  # output row of each continuation
    rank = cont - starts[head]
    if int(rank.max()) == 1:
        out[head] += vals[cont]
    else:
        by_rank = np.argsort(rank, kind="stable")
        edges = np.searchsorted(rank[by_rank], np.arange(1, int(rank.max()) + 2))
        for a, b in itertools.pairwise(edges.tolist()):
            sel = by_rank[a:b]
            out[head[sel]] += vals[cont[sel]]
    return keys[starts], out


class SliceHistogram:
    """Weight per (slice value, cell) with a trailing replicate axis, stored per slice either
    sparsely (few rows) or densely (many rows); mergeable by addition and picklable.

    Logically a dense array ``(n_slices, n_cells, n_state)`` of zeros that grows as slice
    codes appear; see the module docstring for the storage layout.

    Parameters
    ----------
    n_cells:
        Cells per slice (e.g. ``2 * n_bins``: ``cell = label * n_bins + bin``).
    replication:
        The resampling scheme (fixes ``n_state`` and how a row spreads over the slots).
    dense:
        Store every slice densely from its first row (for the overall slice, whose one
        value receives every row). ``start_dense`` is an alias.
    promote_ratio:
        A sparse slice becomes dense when its entries take more than this fraction of the
        bytes of a dense row.
    page_bytes:
        Target size of a page of sparse entries (bounds the transient memory of a
        consolidation).
    min_pending:
        Pending entries a page may collect before it is consolidated, at least.
    early_promote:
        A slice that receives at least this fraction of the promotion threshold (in entries)
        as rows in one :meth:`add` is made dense before the add, sparing the sort of its
        rows (``None``: only the entry count promotes).
    """

    def __init__(
        self,
        n_cells: int,
        replication: Replication,
        *,
        dense: bool = False,
        start_dense: bool = False,
        promote_ratio: float = 0.5,
        page_bytes: int = 16 << 20,
        min_pending: int = 1 << 16,
        early_promote: float | None = 0.25,
    ) -> None:
        if n_cells < 1:
            raise ValueError(f"n_cells must be positive, got {n_cells}.")
        self.n_cells = int(n_cells)
        self.replication = replication
        self.n_state = int(replication.n_state)
        self.start_dense = bool(dense or start_dense)
        acc = type(replication).accumulate
        if acc is Jackknife.accumulate:
            self._mode = "jack"
        elif acc is Replication.accumulate:
            self._mode = "single"
        elif acc is PoissonBootstrap.accumulate:
            self._mode = "boot"
        else:
            self._mode = "generic"
        self._slot = self._mode in ("jack", "single")
        ns = self.n_state
        # Key range per slice; value width of an entry.
        self._stride = self.n_cells * ns if self._slot else self.n_cells
        width = 1 if self._slot else ns
        entry_bytes = 8 * (1 + width)
        dense_row_bytes = 8 * self.n_cells * ns
        self._thresh = max(1, int(promote_ratio * dense_row_bytes / entry_bytes))
        self._page_max = max(4 * self._thresh, int(page_bytes) // entry_bytes, 16)
        self._min_pending = max(1, int(min_pending))
        self._early = None if early_promote is None else max(1, int(early_promote * self._thresh))
        self.n_slices = 0
        self._dense_of = np.zeros(0, dtype=np.int64)
        self._dense = np.zeros((0, self.n_cells, ns))
        self._n_dense = 0
        self._identity = True  # dense row of slice s is row s (for s < _n_dense)
        self._pages: list[_Page] = [_Page(0, *self._empty_entries())]
        self._page_lo = np.zeros(1, dtype=np.int64)
        # _sparse_index per n_bins, valid until the next add / merge (finalize asks for it
        # once per block of slices)
        self._index_cache: dict[int, tuple[I64, I64, I64, I64]] = {}

    # ------------------------------------------------------------------ helpers
    def _empty_entries(self) -> tuple[I64, F64]:
        vals = np.zeros(0) if self._slot else np.zeros((0, self.n_state))
        return np.zeros(0, dtype=np.int64), vals

    def _grow_slices(self, n: int) -> None:
        if n > self._dense_of.size:
            cap = max(n, 2 * self._dense_of.size, 4)
            extra = np.full(cap - self._dense_of.size, -1, dtype=np.int64)
            self._dense_of = np.concatenate((self._dense_of, extra))
        self.n_slices = max(self.n_slices, n)

    def _promote(self, slices: I64) -> None:
        """Make the given slices dense, moving their sparse entries into the new rows.

        The page's consolidated sums are added first, then its pending runs in the order
        they arrived, so the row holds the same running sums as a dense state would. The
        moved entries stay behind as stale copies until the page is next consolidated
        (which drops entries of dense slices), so readers flush first.
        """
        s = np.unique(slices)
        s = s[self._dense_of[s] < 0]
        if s.size == 0:
            return
        need = self._n_dense + s.size
        cap = self._dense.shape[0]
        if need > cap:
            new = np.zeros((max(need, 2 * cap), self.n_cells, self.n_state))
            new[: self._n_dense] = self._dense[: self._n_dense]
            self._dense = new
        new_rows = np.arange(self._n_dense, need, dtype=np.int64)
        self._identity = self._identity and bool(np.array_equal(s, new_rows))
        self._dense_of[s] = new_rows
        self._n_dense = need
        pages = np.searchsorted(self._page_lo, s, side="right") - 1
        for p in np.unique(pages).tolist():
            page = self._pages[p]
            if page.keys.size == 0 and page.pend_n == 0:
                continue
            lo = s[pages == p] * self._stride
            hi = lo + self._stride
            runs = zip(page.pend_keys, page.pend_vals, strict=True)
            for keys, vals in [(page.keys, page.vals), *runs]:
                idx = _ranges(np.searchsorted(keys, lo), np.searchsorted(keys, hi))
                if idx.size:
                    page.dirty = True
                    self._scatter_entries(keys[idx], vals[idx])

    def _slots(self, rows: Any) -> I64 | None:
        if self._mode == "jack":
            b: I64 = rows.bucket
            return b
        return None

    def _scatter_entries(self, keys: I64, vals: F64) -> None:
        """Add sparse entries (full keys, unique) of dense slices into their dense rows."""
        if keys.size == 0:
            return
        drow = self._dense_of[keys // self._stride]
        local = keys % self._stride
        if self._slot:
            self._dense.reshape(-1)[drow * self._stride + local] += vals
        else:
            self._dense.reshape(-1, self.n_state)[drow * self.n_cells + local] += vals

    def _reduce(self, key: I64, w: F64, rows: Any) -> tuple[I64, F64]:
        """Sorted unique keys and the summed entry values of one batch of rows.

        The sums are those ``replication.accumulate`` forms for the batch (bit for bit):
        sequential in row order for one slot per row; for the bootstrap the same stable
        sort and ``reduceat`` as :meth:`PoissonBootstrap.accumulate`.
        """
        if self._mode == "generic":
            uk, inv = np.unique(key, return_inverse=True)
            uv = np.zeros((uk.size, self.n_state))
            self.replication.accumulate(uv, inv.reshape(-1).astype(np.int64), w, rows)
            return uk.astype(np.int64, copy=False), uv
        order, sk = _sort_keys(key)
        if self._mode == "boot":
            starts = _segment_starts(sk)
            ws = w[order]
            full = np.empty((key.size, self.n_state))
            full[:, 0] = ws
            np.multiply(rows.mult[order], ws[:, None], out=full[:, 1:])
            return sk[starts], _reduceat_rows(full, starts)
        uk, uv = _sum_sorted(sk, w[order])  # ties in row order: as bincount
        uv += 0.0  # as bincount, which starts from 0.0: no negative zeros
        return uk, uv

    # ------------------------------------------------------------------ add
    def add(self, slices: I64, cells: I64, w: F64, rows: Any) -> None:
        """Add the rows' weights ``w`` at (``slices``, ``cells``), spread over the slots.

        Same effect as ``replication.accumulate(dense.reshape(-1, n_state),
        slices * n_cells + cells, w, rows)`` on the logical dense array. ``rows`` is
        ``replication.row_data(hashes)`` for exactly these rows. ``cells`` and ``w`` may
        be scalars.
        """
        self._index_cache.clear()
        slices = np.asarray(slices, dtype=np.int64).reshape(-1)
        n = slices.shape[0]
        cells = np.asarray(cells, dtype=np.int64)
        w = np.asarray(w, dtype=np.float64)
        if cells.ndim == 0:
            cells = np.full(n, int(cells), dtype=np.int64)
        if w.ndim == 0:
            w = np.full(n, float(w))
        if cells.shape != (n,) or w.shape != (n,):
            raise ValueError("slices, cells and w must have the same length.")
        if n == 0:
            return
        if int(slices.min()) < 0:
            raise ValueError("Slice codes must be non-negative.")
        self._grow_slices(int(slices.max()) + 1)
        if self.start_dense and self._n_dense < self.n_slices:
            self._promote(slices[self._dense_of[slices] < 0])
        if self._identity and self._n_dense == self.n_slices:
            # every slice dense, slice s in dense row s: no lookup (e.g. the overall slice)
            self._add_dense(slices, cells, w, rows)
            return
        d = self._dense_of[slices]
        dm = d >= 0
        n_dense = int(np.count_nonzero(dm))
        early = self._early
        if early is not None and n - n_dense >= early:
            # A slice receiving a quarter of the promotion threshold in rows in one call is
            # made dense first (its dense row costs at most 8 times what its entries could,
            # 128 bytes per row), which spares sorting its rows; the sums are the same.
            counts = np.bincount(slices[~dm], minlength=self.n_slices)
            big = np.flatnonzero(counts >= early)
            if big.size:
                self._promote(big)
                d = self._dense_of[slices]
                dm = d >= 0
                n_dense = int(np.count_nonzero(dm))
        if n_dense == n:
            self._add_dense(d, cells, w, rows)
            return
        if n_dense:
            idx = np.flatnonzero(dm)
            self._add_dense(d[idx], cells[idx], w[idx], _take_rows(rows, idx))
            idx = np.flatnonzero(~dm)
            slices, cells, w, rows = slices[idx], cells[idx], w[idx], _take_rows(rows, idx)
        self._add_sparse(slices, cells, w, rows)

    def _add_dense(self, d: I64, cells: I64, w: F64, rows: Any) -> None:
        one = self._n_dense == 1  # then d == 0
        if self._slot:
            flat = cells * self.n_state if self.n_state > 1 else cells.copy()
            slot = self._slots(rows)
            if slot is not None:
                flat += slot
            if not one:
                flat += d * self._stride
            view = self._dense.reshape(-1)
            lo, hi = int(flat.min()), int(flat.max())
            span = hi - lo + 1
            if span <= 4 * flat.size + 65_536:
                view[lo : hi + 1] += _bincount(flat - lo, w, span)
            else:
                uk, uv = self._reduce(flat, w, rows)
                view[uk] += uv
            return
        flat = cells.copy() if one else d * self.n_cells + cells
        if self._mode == "boot":
            uk, uv = self._reduce(flat, w, rows)
            self._dense.reshape(-1, self.n_state)[uk] += uv
        else:
            self.replication.accumulate(self._dense.reshape(-1, self.n_state), flat, w, rows)

    def _add_sparse(self, slices: I64, cells: I64, w: F64, rows: Any) -> None:
        key = slices * self.n_cells + cells
        if self._slot:
            slot = self._slots(rows)
            if slot is not None:
                key = key * self.n_state + slot
        uk, uv = self._reduce(key, w, rows)
        self._insert_run(uk, uv)

    def _insert_run(self, keys: I64, vals: F64) -> None:
        """Add a run of sparse entries (sorted unique keys) after everything added so far."""
        if keys.size == 0:
            return
        sl = keys // self._stride
        starts = _segment_starts(sl)
        counts = np.diff(np.append(starts, keys.size))
        big = counts > self._thresh
        if big.any():
            self._promote(sl[starts[big]])
        to_dense = self._dense_of[sl] >= 0
        if to_dense.any():
            self._scatter_entries(keys[to_dense], vals[to_dense])
            keep = ~to_dense
            keys, vals = keys[keep], vals[keep]
            if keys.size == 0:
                return
        cuts = np.searchsorted(keys, self._page_lo[1:] * self._stride)
        bounds = np.concatenate(([0], cuts, [keys.size]))
        todo: list[int] = []
        for p in np.flatnonzero(bounds[1:] > bounds[:-1]).tolist():
            a, b = int(bounds[p]), int(bounds[p + 1])
            page = self._pages[p]
            whole = a == 0 and b == keys.size
            page.pend_keys.append(keys if whole else keys[a:b].copy())
            page.pend_vals.append(vals if whole else vals[a:b].copy())
            page.pend_n += b - a
            if page.pend_n >= max(page.keys.size, self._min_pending):
                todo.append(p)
        for pi in reversed(todo):
            self._consolidate(pi)

    # ------------------------------------------------------------------ consolidation
    def _consolidate(self, pi: int) -> None:
        """Merge a page's pending runs into its entries; promote and drop dense slices."""
        page = self._pages[pi]
        if page.pend_n:
            parts_k = [page.keys, *page.pend_keys]
            parts_v = [page.vals, *page.pend_vals]
            keys = np.concatenate(parts_k)
            vals = np.concatenate(parts_v)
            page.pend_keys, page.pend_vals, page.pend_n = [], [], 0
            del parts_k, parts_v
            # by key, then by arrival (consolidated sums first, then the runs in order)
            order, keys = _sort_keys(keys, runs=True)
            vals = vals[order]
            del order
            keys, vals = _sum_sorted(keys, vals)
            nz = vals != 0 if self._slot else (vals != 0).any(axis=1)
            if not nz.all():
                keys, vals = keys[nz], vals[nz]
            page.keys, page.vals = keys, vals
        if page.keys.size:
            sl = page.keys // self._stride
            isd = self._dense_of[sl] >= 0  # stale copies of entries already moved
            starts = _segment_starts(sl)
            counts = np.diff(np.append(starts, sl.size))
            big = (counts > self._thresh) & ~isd[starts]
            if big.any():
                self._promote(sl[starts[big]])
                isd = self._dense_of[sl] >= 0
            if isd.any():
                keep = ~isd
                page.keys, page.vals = page.keys[keep], page.vals[keep]
        page.dirty = False
        if page.keys.size > self._page_max:
            self._split(pi)

    def _split(self, pi: int) -> None:
        page = self._pages[pi]
        keys, vals = page.keys, page.vals
        sl = keys // self._stride
        n_parts = -(-keys.size // max(self._page_max // 2, 1))
        targets = sl[(np.arange(1, n_parts) * keys.size) // n_parts]
        bounds = np.unique(targets)
        bounds = bounds[bounds > page.lo]
        if bounds.size == 0:
            return
        cuts = np.concatenate(([0], np.searchsorted(sl, bounds), [keys.size]))
        los = [page.lo, *(int(b) for b in bounds)]
        new = [
            _Page(lo, keys[a:b].copy(), vals[a:b].copy())
            for lo, a, b in zip(los, cuts[:-1], cuts[1:], strict=True)
        ]
        self._pages[pi : pi + 1] = new
        self._page_lo = np.array([p.lo for p in self._pages], dtype=np.int64)

    def _flush(self) -> None:
        """Consolidate every page (pending runs merged, stale entries of dense slices dropped)."""
        for pi in range(len(self._pages) - 1, -1, -1):
            page = self._pages[pi]
            if page.pend_n or page.dirty:
                self._consolidate(pi)

    # ------------------------------------------------------------------ merge & co
    def merge(self, other: SliceHistogram, remap: I64) -> None:
        """Add ``other``'s slice ``i`` into this histogram's slice ``remap[i]``.

        ``remap`` may name slice codes not seen yet (they are created). Slices that are
        dense in ``other`` become dense here too. The sums are ours plus theirs, as the
        dense state's ``mine[remap] += theirs``.
        """
        if other.n_cells != self.n_cells or other.n_state != self.n_state:
            raise ValueError("Cannot merge histograms with different layouts.")
        if other._mode != self._mode:
            raise ValueError("Cannot merge histograms built with different replication schemes.")
        self._index_cache.clear()
        remap = np.asarray(remap, dtype=np.int64).reshape(-1)
        if other.n_slices == 0:
            return
        if remap.size < other.n_slices:
            raise ValueError(
                f"remap has {remap.size} entries, the other histogram {other.n_slices} slices."
            )
        remap = remap[: other.n_slices]
        if int(remap.min()) < 0:
            raise ValueError("remap must hold non-negative slice codes.")
        other._flush()
        self._grow_slices(int(remap.max()) + 1)
        injective = np.unique(remap).size == remap.size
        od = other._dense_of[: other.n_slices]
        src = np.flatnonzero(od >= 0)
        if src.size:
            tgt = remap[src]
            self._promote(tgt)
            rows_t, rows_s = self._dense_of[tgt], od[src]
            if injective:
                step = max(1, (32 << 20) // max(other._dense[0].nbytes, 1))
                for a in range(0, src.size, step):
                    self._dense[rows_t[a : a + step]] += other._dense[rows_s[a : a + step]]
            else:
                for t, s in zip(rows_t.tolist(), rows_s.tolist(), strict=True):
                    self._dense[t] += other._dense[s]
        stride = self._stride
        for page in other._pages:
            if page.keys.size == 0:
                continue
            sl = page.keys // stride
            keys = page.keys + (remap[sl] - sl) * stride
            order, keys = _sort_keys(keys)
            vals = page.vals[order]
            if not injective:
                keys, vals = _sum_sorted(keys, vals)
            self._insert_run(keys, vals)

    def compact(self) -> None:
        """Consolidate all pending entries and drop spare capacity (e.g. before pickling)."""
        self._flush()
        if self._dense.shape[0] > self._n_dense:
            self._dense = self._dense[: self._n_dense].copy()
        if self._dense_of.size > self.n_slices:
            self._dense_of = self._dense_of[: self.n_slices].copy()

    def __getstate__(self) -> dict[str, Any]:
        self.compact()
        out = self.__dict__.copy()
        out["_index_cache"] = {}
        return out

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("_index_cache", {})
        self.__dict__.update(state)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (dense block with its capacity, sparse pages, index)."""
        n = self._dense.nbytes + self._dense_of.nbytes + self._page_lo.nbytes
        return int(n + sum(p.nbytes for p in self._pages))

    @property
    def n_dense(self) -> int:
        """Number of slices stored densely."""
        return self._n_dense

    def is_dense(self, slices: I64) -> NDArray[np.bool_]:
        """Whether each slice code is stored densely (codes never seen: False)."""
        s = np.asarray(slices, dtype=np.int64)
        out = np.zeros(s.shape, dtype=bool)
        ok = (s >= 0) & (s < self.n_slices)
        out[ok] = self._dense_of[s[ok]] >= 0
        return out

    def _decode(self, keys: I64) -> tuple[I64, I64, I64 | None]:
        """Slice, cell and slot (slot mode) of full keys."""
        sl = keys // self._stride
        local = keys % self._stride
        if self._slot:
            return sl, local // self.n_state, local % self.n_state
        return sl, local, None

    def dense(self, order: I64) -> F64:
        """Dense copy ``(len(order), n_cells, n_state)`` of the slices in ``order``.

        Codes never seen (or out of range) give zeros.
        """
        self._flush()
        order = np.asarray(order, dtype=np.int64).reshape(-1)
        uniq, inv = np.unique(order, return_inverse=True)
        out = np.zeros((uniq.size, self.n_cells, self.n_state))
        ok = (uniq >= 0) & (uniq < self.n_slices)
        d = np.full(uniq.size, -1, dtype=np.int64)
        d[ok] = self._dense_of[uniq[ok]]
        dm = d >= 0
        out[dm] = self._dense[d[dm]]
        pos_of = np.full(self.n_slices, -1, dtype=np.int64)
        sp = ok & ~dm
        pos_of[uniq[sp]] = np.flatnonzero(sp)
        flat = out.reshape(uniq.size, -1)
        for page in self._pages:
            if page.keys.size == 0:
                continue
            sl = page.keys // self._stride
            p = pos_of[sl]
            m = p >= 0
            if not m.any():
                continue
            local = page.keys[m] % self._stride
            if self._slot:
                flat[p[m], local] = page.vals[m]
            else:
                out[p[m], local] = page.vals[m]
        result: F64 = out[inv.reshape(-1)]
        return result

    def cell_totals(self) -> F64:
        """Sum over all slices: ``(n_cells, n_state)``."""
        self._flush()
        tot = self._dense[: self._n_dense].sum(axis=0)
        flat = tot.reshape(-1) if self._slot else tot
        for page in self._pages:
            if page.keys.size:
                np.add.at(flat, page.keys % self._stride, page.vals)
        return tot

    # ------------------------------------------------------------------ ranking support
    def _sparse_index(self, n_bins: int) -> tuple[I64, I64, I64, I64]:
        """Per slice code: page, first and end entry, and number of occupied score bins.

        Bins are ``cell % n_bins`` (cells ``label * n_bins + bin``); page ``-1`` for slices
        without sparse entries. Cached until the next :meth:`add` or :meth:`merge`; call
        :meth:`_flush` first.
        """
        cached = self._index_cache.get(n_bins)
        if cached is not None and cached[0].size == self.n_slices:
            return cached
        v = self.n_slices
        page_of = np.full(v, -1, dtype=np.int64)
        start = np.zeros(v, dtype=np.int64)
        end = np.zeros(v, dtype=np.int64)
        k = np.zeros(v, dtype=np.int64)
        for pi, page in enumerate(self._pages):
            keys = page.keys
            if keys.size == 0:
                continue
            sl = keys // self._stride
            st = _segment_starts(sl)
            us = sl[st]
            page_of[us] = pi
            start[us] = st
            end[us] = np.append(st[1:], keys.size)
            cellkey = keys // self.n_state if self._slot else keys  # s * n_cells + cell
            cellkey = cellkey[_segment_starts(cellkey)]
            sb = (cellkey // self.n_cells) * n_bins + (cellkey % self.n_cells) % n_bins
            ub = _unique(sb)
            s_of = ub // n_bins
            st2 = _segment_starts(s_of)
            k[s_of[st2]] = np.diff(np.append(st2, ub.size))
        self._index_cache[n_bins] = (page_of, start, end, k)
        return page_of, start, end, k

    def _gather(
        self,
        slices: I64,
        width: int,
        full: bool,
        n_bins: int,
        index: tuple[I64, I64, I64, I64],
    ) -> tuple[F64, I64 | None]:
        """Compressed counts of a block of slices, levels first.

        Returns ``C`` of shape ``(2, width, nb, n_state)`` (label, level, slice, slot) and
        the occupied bin of each level ``(width, nb)`` (``n_bins`` for padding). With
        ``full`` the levels are all the bins (``width == n_bins``) and no bins are returned.
        """
        nb = slices.size
        ns = self.n_state
        c = np.zeros((2, width, nb, ns))
        occ = None if full else np.full((width, nb), n_bins, dtype=np.int64)
        ok = (slices >= 0) & (slices < self.n_slices)
        d = np.full(nb, -1, dtype=np.int64)
        d[ok] = self._dense_of[slices[ok]]
        dm = np.flatnonzero(d >= 0)
        if dm.size:
            if not full:
                raise ValueError("dense slices are computed on all levels")
            rows = self._dense[d[dm]].reshape(dm.size, 2, n_bins, ns)
            c[:, :, dm] = np.moveaxis(rows, 0, 2)
        page_of, start, end, _ = index
        p = np.full(nb, -1, dtype=np.int64)
        p[ok] = page_of[slices[ok]]
        keys_l: list[I64] = []
        vals_l: list[F64] = []
        li_l: list[I64] = []
        for pg in np.unique(p[p >= 0]):
            sel = np.flatnonzero(p == pg)
            s = slices[sel]
            a, b = start[s], end[s]
            idx = _ranges(a, b)
            page = self._pages[int(pg)]
            keys_l.append(page.keys[idx])
            vals_l.append(page.vals[idx])
            li_l.append(np.repeat(sel, b - a))
        if not keys_l:
            return c, occ
        keys = np.concatenate(keys_l)
        vals = np.concatenate(vals_l)
        li = np.concatenate(li_l)
        _, cell, slot = self._decode(keys)
        lab = cell // n_bins
        b = cell % n_bins
        if full:
            rank = b
        else:
            assert occ is not None
            pair = li * n_bins + b
            u = _unique(pair)
            first = np.searchsorted(u, li * n_bins)
            rank = np.searchsorted(u, pair) - first
            ul = u // n_bins
            occ[np.arange(u.size) - np.searchsorted(u, ul * n_bins), ul] = u % n_bins
        if slot is not None:
            c[lab, rank, li, slot] = vals
        else:
            c[lab, rank, li] = vals
        return c, occ


_LADDER_RATIO = 1.25


def _width_ladder(n_bins: int) -> I64:
    """Level counts that compressed slices are padded to (geometric, ratio 1.25)."""
    out = [1]
    while out[-1] < n_bins:
        out.append(max(out[-1] + 1, int(np.ceil(out[-1] * _LADDER_RATIO))))
    out[-1] = min(out[-1], n_bins)
    return np.array(out, dtype=np.int64)


def ranking_metrics(
    hist: SliceHistogram,
    order: I64,
    n_bins: int,
    replication: Replication,
    mixed: NDArray[np.bool_],
    background: tuple[F64, F64] | None,
    max_block_bytes: int = 64 << 20,
) -> tuple[dict[str, F64], dict[str, F64]]:
    """ROC / PR AUC (and the bias AUCs) of the slices in ``order`` from a histogram.

    ``hist`` has ``n_cells == 2 * n_bins`` (``cell = label * n_bins + bin``). Returns
    ``values`` (metric -> ``(R+1, len(order))``, point first, then replicates, as
    ``replication.expand`` gives them) and ``bounds`` (metric -> ``(len(order),)``, the AUC
    error bounds with ``mixed`` marking the bins that hold several distinct scores):
    ``roc_auc`` and ``pr_auc``; with ``background`` (the overall positive and negative
    histograms, each ``(R+1, n_bins)``) also ``subgroup_auc`` (the ROC AUC), ``bpsn_auc``
    and ``bnsp_auc`` against the background = overall minus the slice, clamped at 0.

    Slices are processed in blocks of similar size with working memory of about
    ``max_block_bytes`` plus ``O(n_bins * (R+1))``. A sparse slice with ``k`` occupied bins
    is computed on its ``k`` levels only: the background enters through the overall
    cumulative sums gathered at those levels (the background between two occupied levels
    is the overall weight there, as the slice has none), so it costs ``O(k * (R+1))``.
    """
    if hist.n_cells != 2 * n_bins:
        raise ValueError(f"The histogram has {hist.n_cells} cells, expected 2 * {n_bins}.")
    hist._flush()
    order = np.asarray(order, dtype=np.int64).reshape(-1)
    mixed = np.asarray(mixed, dtype=bool)
    r1 = replication.n_replicates + 1
    ns = hist.n_state
    v = order.size
    names = ["roc_auc", "pr_auc"] + (["bpsn_auc", "bnsp_auc"] if background is not None else [])
    values = {m: np.full((r1, v), np.nan) for m in names}
    bounds = {m: np.full(v, np.nan) for m in names}
    index = hist._sparse_index(n_bins)
    ok = (order >= 0) & (order < hist.n_slices)
    is_dense = np.zeros(v, dtype=bool)
    is_dense[ok] = hist._dense_of[order[ok]] >= 0
    k = np.zeros(v, dtype=np.int64)
    k[ok] = index[3][order[ok]]
    full = is_dense | (2 * k > n_bins)
    ladder = _width_ladder(n_bins)
    width = np.where(full, n_bins, ladder[np.minimum(np.searchsorted(ladder, k), ladder.size - 1)])
    mixed_ext = np.append(mixed, False)
    prep = None
    if background is not None:
        all_pos = np.asarray(background[0], dtype=np.float64)
        all_neg = np.asarray(background[1], dtype=np.float64)
        zero = np.zeros((1, r1))
        # levels first (bins, R+1), with a zero sentinel bin at n_bins (padding levels);
        # cum_*[b] = overall weight in the bins below b
        prep = (
            np.concatenate((all_pos.T, zero)),
            np.concatenate((all_neg.T, zero)),
            np.concatenate((zero, np.cumsum(all_pos.T, axis=0))),
            np.concatenate((zero, np.cumsum(all_neg.T, axis=0))),
        )
    groups: dict[tuple[int, bool], list[int]] = {}
    for i, (wd, fl) in enumerate(zip(width.tolist(), full.tolist(), strict=True)):
        groups.setdefault((wd, fl), []).append(i)
    for (wd, fl), members in sorted(groups.items()):
        pos_idx = np.asarray(members, dtype=np.int64)
        per_slice = 8 * wd * (2 * ns + 24 * r1)
        step = max(1, int(max_block_bytes) // per_slice)
        for a in range(0, pos_idx.size, step):
            blk = pos_idx[a : a + step]
            c, occ = hist._gather(order[blk], wd, fl, n_bins, index)
            point, reps = replication.expand(c)
            st = np.concatenate([point[..., None], reps], axis=-1)  # (2, width, nb, R+1)
            del c, point, reps
            neg, pos = st[0], st[1]
            bg: tuple[F64, F64 | None, F64 | None, F64, F64 | None, F64 | None] | None = None
            if prep is not None:
                pos_ext, neg_ext, cum_pos, cum_neg = prep
                if occ is None:
                    bg_pos = pos_ext[:n_bins, None, :] - pos
                    bg_neg = neg_ext[:n_bins, None, :] - neg
                    np.maximum(bg_pos, 0.0, out=bg_pos)  # clamp float cancellation
                    np.maximum(bg_neg, 0.0, out=bg_neg)
                    bg = (bg_pos, None, None, bg_neg, None, None)
                else:
                    bg_pos = np.take(pos_ext, occ, axis=0)
                    bg_pos -= pos
                    bg_neg = np.take(neg_ext, occ, axis=0)
                    bg_neg -= neg
                    np.maximum(bg_pos, 0.0, out=bg_pos)
                    np.maximum(bg_neg, 0.0, out=bg_neg)
                    lo = np.minimum(occ + 1, n_bins)
                    hi = np.concatenate((occ[1:], np.full((1, occ.shape[1]), n_bins)), axis=0)
                    gaps_pos = np.take(cum_pos, hi, axis=0)
                    gaps_pos -= np.take(cum_pos, lo, axis=0)
                    gaps_neg = np.take(cum_neg, hi, axis=0)
                    gaps_neg -= np.take(cum_neg, lo, axis=0)
                    bg = (bg_pos, gaps_pos, cum_pos[occ[0]], bg_neg, gaps_neg, cum_neg[occ[0]])
            mx = mixed[:, None] if occ is None else mixed_ext[occ]
            vals_b, bounds_b = RK.level_metrics(pos, neg, mx, bg)
            for m, arr in vals_b.items():
                values[m][:, blk] = arr.T
                bounds[m][blk] = bounds_b[m]
    out_v: dict[str, F64] = {"roc_auc": values["roc_auc"], "pr_auc": values["pr_auc"]}
    out_b: dict[str, F64] = {"roc_auc": bounds["roc_auc"], "pr_auc": bounds["pr_auc"]}
    if background is not None:
        out_v["subgroup_auc"] = out_v["roc_auc"]
        out_b["subgroup_auc"] = out_b["roc_auc"]
        for m in ("bpsn_auc", "bnsp_auc"):
            out_v[m] = values[m]
            out_b[m] = bounds[m]
    return out_v, out_b
