"""SliceHistogram and ranking_metrics against dense references."""

from __future__ import annotations

import itertools
import pickle
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from assay.core import ranking as RK
from assay.core.histogram import SliceHistogram, ranking_metrics
from assay.core.replicates import (
    Jackknife,
    NoReplicates,
    PoissonBootstrap,
    Replication,
    row_hashes,
)
from assay.evaluation import metrics as M

F64 = NDArray[np.float64]

REPS: list[Replication] = [NoReplicates(), Jackknife(20), PoissonBootstrap(30)]
REP_IDS = ["none", "jackknife", "bootstrap"]

# Small pages and buffers so that tests exercise consolidation, splitting and promotion.
SMALL = {"page_bytes": 4096, "min_pending": 64, "early_promote": None}


def _rows(rep: Replication, start: int, n: int, seed: int = 3) -> Any:
    return rep.row_data(row_hashes(np.arange(start, start + n), seed))


def _subset(rows: Any, idx: NDArray[np.int64]) -> Any:
    if rows is None:
        return None
    return type(rows)(**{k: v[idx] for k, v in vars(rows).items()})


class Data:
    """Random rows: slice codes (skewed sizes), cells, weights, row data."""

    def __init__(
        self,
        rep: Replication,
        n: int,
        n_slices: int,
        n_cells: int,
        seed: int,
        weighted: bool = True,
        start: int = 0,
        skew: float = 0.15,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.slices = np.minimum(rng.geometric(skew, n) - 1, n_slices - 1).astype(np.int64)
        self.cells = rng.integers(0, n_cells, n).astype(np.int64)
        self.w = rng.random(n) * 3 if weighted else np.ones(n)
        self.rows = _rows(rep, start, n)
        self.n = n

    def part(self, a: int, b: int) -> tuple[NDArray[np.int64], NDArray[np.int64], F64, Any]:
        idx = np.arange(a, b)
        return self.slices[idx], self.cells[idx], self.w[idx], _subset(self.rows, idx)


def _reference(rep: Replication, n_slices: int, n_cells: int, *parts: Any) -> F64:
    out = np.zeros((n_slices, n_cells, rep.n_state))
    for s, c, w, rows in parts:
        rep.accumulate(out.reshape(-1, rep.n_state), s * n_cells + c, w, rows)
    return out


def _close(a: F64, b: F64) -> None:
    """Equal up to summation order; exact zeros stay exact zeros (and only those)."""
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert np.array_equal(a == 0, b == 0)


def _same(a: F64, b: F64) -> None:
    """Bit for bit: the same rows added in the same chunks and merge order."""
    np.testing.assert_array_equal(a, b)
    assert not np.signbit(a).any()


# ---------------------------------------------------------------------- accumulation
@pytest.mark.parametrize("rep", REPS, ids=REP_IDS)
@pytest.mark.parametrize(
    "kwargs", [{}, SMALL, {"start_dense": True}], ids=["default", "small", "dense"]
)
def test_add_matches_dense_accumulate(rep: Replication, kwargs: dict[str, Any]) -> None:
    v, nc = 40, 32
    data = Data(rep, 20_000, v, nc, seed=1)
    h = SliceHistogram(nc, rep, **kwargs)
    chunks = [0, 1, 7, 500, 3000, 11_000, 20_000]
    parts = [data.part(a, b) for a, b in itertools.pairwise(chunks)]
    for p in parts:
        h.add(*p)
    _same(h.dense(np.arange(v)), _reference(rep, v, nc, *parts))
    if kwargs.get("start_dense"):
        assert h.n_dense == len(np.unique(data.slices))
    elif kwargs is SMALL:
        assert 0 < h.n_dense < v  # big slices promoted, small ones stay sparse


@pytest.mark.parametrize("rep", REPS, ids=REP_IDS)
def test_chunking_invariance(rep: Replication) -> None:
    v, nc = 30, 16
    data = Data(rep, 6000, v, nc, seed=2)
    one = SliceHistogram(nc, rep)
    one.add(*data.part(0, data.n))
    many = SliceHistogram(nc, rep, **SMALL)
    bounds = np.unique(np.random.default_rng(5).integers(0, data.n, 40))
    edges = [0, *bounds.tolist(), data.n]
    for a, b in itertools.pairwise(edges):
        many.add(*data.part(a, b))
    _close(many.dense(np.arange(v)), one.dense(np.arange(v)))


@pytest.mark.parametrize("rep", REPS, ids=REP_IDS)
def test_promotion_midway(rep: Replication) -> None:
    """Slice 0 starts tiny (sparse), then receives many rows and becomes dense."""
    nc = 64
    h = SliceHistogram(nc, rep, min_pending=16)
    rng = np.random.default_rng(0)
    parts = []
    start = 0
    for n, s_hi in [(5, 3), (10, 3), (2000, 1), (3000, 3), (7, 2)]:
        s = rng.integers(0, s_hi, n)
        c = rng.integers(0, nc, n)
        w = rng.random(n)
        rows = _rows(rep, start, n)
        start += n
        parts.append((s, c, w, rows))
        was_dense = h.is_dense(np.array([0]))[0]
        h.add(s, c, w, rows)
        if n == 2000:
            assert not was_dense
            assert h.is_dense(np.array([0]))[0]
    _same(h.dense(np.arange(3)), _reference(rep, 3, nc, *parts))


@pytest.mark.parametrize("rep", REPS, ids=REP_IDS)
def test_merge_with_remap_equals_single(rep: Replication) -> None:
    v, nc = 25, 16
    a = Data(rep, 5000, v, nc, seed=3)
    b = Data(rep, 4000, v, nc, seed=4, start=10_000, skew=0.3)
    # other's local codes -> our codes (a permutation plus fresh codes beyond ours)
    remap = np.random.default_rng(1).permutation(v + 10)[:v].astype(np.int64)
    ha = SliceHistogram(nc, rep, **SMALL)
    ha.add(*a.part(0, a.n))
    hb = SliceHistogram(nc, rep, **SMALL)
    hb.add(*b.part(0, 1000))
    hb.add(*b.part(1000, b.n))
    ha.merge(hb, remap)
    n_all = int(max(remap.max() + 1, v))
    single = SliceHistogram(nc, rep)
    single.add(*a.part(0, a.n))
    bs, bc, bw, br = b.part(0, b.n)
    single.add(remap[bs], bc, bw, br)
    ref = _reference(rep, n_all, nc, a.part(0, a.n), (remap[bs], bc, bw, br))
    _close(ha.dense(np.arange(n_all)), ref)
    _same(single.dense(np.arange(n_all)), ref)
    assert ha.n_slices == n_all
    # the dense state's merge: mine[remap] += theirs
    mine = _reference(rep, n_all, nc, a.part(0, a.n))
    mine[remap] += _reference(rep, v, nc, b.part(0, 1000), b.part(1000, b.n))
    _same(ha.dense(np.arange(n_all)), mine)


@pytest.mark.parametrize("rep", REPS, ids=REP_IDS)
def test_merge_tree_any_partition(rep: Replication) -> None:
    """States built on partitions, merged in a tree, equal the whole (as Spark would do)."""
    v, nc = 60, 8
    data = Data(rep, 8000, v, nc, seed=6, skew=0.05)
    rng = np.random.default_rng(2)
    part_of = rng.integers(0, 5, data.n)
    hs = []
    dense_root = np.zeros((v, nc, rep.n_state))
    for p in range(5):
        idx = np.flatnonzero(part_of == p)
        s, c, w, rows = data.slices[idx], data.cells[idx], data.w[idx], _subset(data.rows, idx)
        # local codes as each executor would assign them (order of first appearance)
        _, first = np.unique(s, return_index=True)
        glob = s[np.sort(first)]
        local = np.empty(v, dtype=np.int64)
        local[glob] = np.arange(glob.size)
        h = SliceHistogram(nc, rep, **SMALL)
        h.add(local[s], c, w, rows)
        h.compact()
        hs.append((pickle.loads(pickle.dumps(h)), glob))
        dense_root[glob] += _reference(rep, glob.size, nc, (local[s], c, w, rows))
    root = SliceHistogram(nc, rep)
    for h, glob in hs:
        root.merge(h, glob)
    _close(root.dense(np.arange(v)), _reference(rep, v, nc, data.part(0, data.n)))
    _same(root.dense(np.arange(v)), dense_root)


@pytest.mark.parametrize("rep", REPS, ids=REP_IDS)
def test_merge_dense_into_sparse_and_back(rep: Replication) -> None:
    nc = 32
    big = Data(rep, 5000, 1, nc, seed=7)
    small = Data(rep, 20, 1, nc, seed=8, start=50_000)
    h_big = SliceHistogram(nc, rep, start_dense=True)
    h_big.add(*big.part(0, big.n))
    h_small = SliceHistogram(nc, rep)
    h_small.add(*small.part(0, small.n))
    ref = _reference(rep, 1, nc, big.part(0, big.n), small.part(0, small.n))
    x = pickle.loads(pickle.dumps(h_small))
    x.merge(h_big, np.array([0]))
    assert x.is_dense(np.array([0]))[0]
    _close(x.dense(np.array([0])), ref)
    _same(x.dense(np.array([0])), h_small.dense(np.array([0])) + h_big.dense(np.array([0])))
    y = pickle.loads(pickle.dumps(h_big))
    y.merge(h_small, np.array([0]))
    _close(y.dense(np.array([0])), ref)
    _same(y.dense(np.array([0])), h_big.dense(np.array([0])) + h_small.dense(np.array([0])))


def test_merge_non_injective_remap() -> None:
    rep = Jackknife(5)
    nc = 8
    data = Data(rep, 3000, 6, nc, seed=9)
    h = SliceHistogram(nc, rep, **SMALL)
    h.add(*data.part(0, data.n))
    remap = np.array([0, 0, 1, 1, 2, 0])
    root = SliceHistogram(nc, rep)
    root.merge(h, remap)
    s, c, w, rows = data.part(0, data.n)
    _close(root.dense(np.arange(3)), _reference(rep, 3, nc, (remap[s], c, w, rows)))


@pytest.mark.parametrize("rep", REPS, ids=REP_IDS)
def test_empty_and_unseen_slices(rep: Replication) -> None:
    nc = 8
    h = SliceHistogram(nc, rep)
    assert h.dense(np.array([0, 3])).shape == (2, nc, rep.n_state)
    assert not h.dense(np.array([0, 3])).any()
    h.add(np.array([4]), np.array([2]), np.array([1.5]), _rows(rep, 0, 1))
    h.add(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), _rows(rep, 0, 0))
    d = h.dense(np.array([0, 4, 9, 4]))
    assert not d[0].any() and not d[2].any()
    np.testing.assert_array_equal(d[1], d[3])
    assert d[1].sum() > 0 and np.count_nonzero(d[1, 2]) >= 1
    assert h.n_slices == 5


@pytest.mark.parametrize("rep", REPS, ids=REP_IDS)
def test_zero_weights_stay_zero(rep: Replication) -> None:
    nc = 16
    data = Data(rep, 3000, 20, nc, seed=10)
    w = data.w.copy()
    w[data.cells % 3 == 0] = 0.0
    h = SliceHistogram(nc, rep, **SMALL)
    h.add(data.slices, data.cells, w, data.rows)
    ref = _reference(rep, 20, nc, (data.slices, data.cells, w, data.rows))
    d = h.dense(np.arange(20))
    _close(d, ref)
    assert not d[:, ::3].any()
    assert not np.signbit(d).any()


@pytest.mark.parametrize("rep", REPS, ids=REP_IDS)
def test_pickle_round_trip_and_cell_totals(rep: Replication) -> None:
    nc = 16
    data = Data(rep, 4000, 30, nc, seed=11)
    h = SliceHistogram(nc, rep, **SMALL)
    h.add(*data.part(0, 2500))
    before = h.dense(np.arange(30))
    h.add(*data.part(2500, data.n))  # leaves pending runs
    g = pickle.loads(pickle.dumps(h))
    ref = _reference(rep, 30, nc, data.part(0, data.n))
    _close(g.dense(np.arange(30)), ref)
    _close(h.dense(np.arange(30)), ref)
    _close(g.cell_totals(), ref.sum(axis=0))
    # the copy is independent
    g.add(*data.part(0, 100))
    _close(h.dense(np.arange(30)), ref)
    assert before.shape == ref.shape


def test_compact_drops_capacity() -> None:
    rep = Jackknife(4)
    nc = 16
    h = SliceHistogram(nc, rep, start_dense=True)
    for i in range(5):
        h.add(np.array([i]), np.array([0]), np.array([1.0]), _rows(rep, i, 1))
    assert h._dense.shape[0] >= 5
    h.compact()
    assert h._dense.shape[0] == 5
    assert h.nbytes < 5 * nc * 4 * 8 + 4096


# ---------------------------------------------------------------------- memory
def test_nbytes_many_tiny_slices() -> None:
    """100k slices of 10 rows each, jackknife, 4096 bins: about 16 bytes per row."""
    rep = Jackknife(20)
    nb = 4096
    n_slices, n = 100_000, 1_000_000
    rng = np.random.default_rng(0)
    h = SliceHistogram(2 * nb, rep)
    chunk = 262_144
    for a in range(0, n, chunk):
        m = min(chunk, n - a)
        s = rng.integers(0, n_slices, m)
        c = rng.integers(0, 2 * nb, m)
        h.add(s, c, np.ones(m), _rows(rep, a, m))
    h.compact()
    dense_bytes = n_slices * 2 * nb * rep.n_state * 8
    assert h.n_dense == 0
    assert h.nbytes < 20 * n + 8 * n_slices + (1 << 20)
    assert h.nbytes < dense_bytes / 1000


def test_nbytes_never_exceeds_dense() -> None:
    """Slices of every size: never more than the dense layout (plus small overhead)."""
    for rep in REPS:
        nb = 256
        v = 200
        rng = np.random.default_rng(1)
        h = SliceHistogram(2 * nb, rep)
        n = 400_000
        s = np.minimum(rng.geometric(0.02, n) - 1, v - 1)
        c = rng.integers(0, 2 * nb, n)
        for a in range(0, n, 50_000):
            h.add(s[a : a + 50_000], c[a : a + 50_000], np.ones(min(50_000, n - a)),
                  _rows(rep, a, min(50_000, n - a)))  # fmt: skip
        h.compact()
        dense_bytes = v * 2 * nb * rep.n_state * 8
        assert h.nbytes <= dense_bytes, rep.name
        assert 0 < h.n_dense < v, rep.name


# ---------------------------------------------------------------------- ranking metrics
def _stack(rep: Replication, a: F64) -> F64:
    point, reps = rep.expand(a)
    return np.concatenate([point[None], np.moveaxis(reps, -1, 0)], axis=0)


def _reference_metrics(
    rep: Replication, dense: F64, n_bins: int, mixed: NDArray[np.bool_], overall: F64 | None
) -> tuple[dict[str, F64], dict[str, F64]]:
    """compute_blocks' histogram branch (finalize.py), on a dense (V, 2*NB, Rs) array."""
    v = dense.shape[0]
    hist = _stack(rep, dense.reshape(v, 2, n_bins, rep.n_state))  # (R+1, V, 2, NB)
    pos, neg = hist[:, :, 1, :], hist[:, :, 0, :]
    vals: dict[str, F64] = {}
    bounds: dict[str, F64] = {}
    vals["roc_auc"] = M.roc_auc_from_counts(pos, neg)
    vals["pr_auc"] = M.average_precision_from_counts(pos, neg)
    bounds["roc_auc"] = M.roc_auc_error_bound(pos[0], neg[0], mixed)
    bounds["pr_auc"] = M.average_precision_error_bound(pos[0], neg[0], mixed)
    if overall is not None:
        allh = _stack(rep, overall.reshape(1, 2, n_bins, rep.n_state))
        bg_pos = allh[:, :, 1, :] - pos
        bg_neg = allh[:, :, 0, :] - neg
        np.maximum(bg_pos, 0.0, out=bg_pos)
        np.maximum(bg_neg, 0.0, out=bg_neg)
        vals["subgroup_auc"] = vals["roc_auc"]
        bounds["subgroup_auc"] = bounds["roc_auc"]
        vals["bpsn_auc"] = M.roc_auc_from_counts(bg_pos, neg)
        vals["bnsp_auc"] = M.roc_auc_from_counts(pos, bg_neg)
        bounds["bpsn_auc"] = M.roc_auc_error_bound(bg_pos[0], neg[0], mixed)
        bounds["bnsp_auc"] = M.roc_auc_error_bound(pos[0], bg_neg[0], mixed)
    return vals, bounds


def _background(rep: Replication, overall: F64, n_bins: int) -> tuple[F64, F64]:
    allh = _stack(rep, overall.reshape(1, 2, n_bins, rep.n_state))
    return allh[:, 0, 1, :], allh[:, 0, 0, :]


def _check_metrics(
    got: tuple[dict[str, F64], dict[str, F64]], want: tuple[dict[str, F64], dict[str, F64]]
) -> None:
    gv, gb = got
    wv, wb = want
    assert list(gv) == list(wv)
    assert list(gb) == list(wb)
    for m in wv:
        assert gv[m].shape == wv[m].shape, m
        np.testing.assert_allclose(gv[m], wv[m], rtol=1e-12, atol=1e-14, err_msg=m)
        np.testing.assert_allclose(gb[m], wb[m], rtol=1e-12, atol=1e-14, err_msg=m)
        assert np.array_equal(np.isnan(gv[m]), np.isnan(wv[m])), m


def _sliced_rows(
    rep: Replication, n: int, n_slices: int, n_bins: int, seed: int, weighted: bool = True
) -> tuple[NDArray[np.int64], NDArray[np.int64], F64, Any]:
    """Rows of a scored model: scores depend on the label, slices of skewed sizes."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    score = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0.0, 1.0)
    b = np.minimum((score * n_bins).astype(np.int64), n_bins - 1)
    s = np.minimum(rng.geometric(0.08, n) - 1, n_slices - 1).astype(np.int64)
    w = rng.random(n) * 2 if weighted else np.ones(n)
    return s, y * n_bins + b, w, _rows(rep, 0, n, seed)


@pytest.mark.parametrize("rep", REPS, ids=REP_IDS)
@pytest.mark.parametrize("block", [64 << 20, 1])
def test_ranking_metrics_match_reference(rep: Replication, block: int) -> None:
    n_bins, v = 128, 70
    s, cells, w, rows = _sliced_rows(rep, 30_000, v, n_bins, seed=1)
    rng = np.random.default_rng(3)
    # an only-positive slice, an only-negative slice, and empty ones
    s = s.copy()
    s[(s == 5) & (cells < n_bins)] = v  # only negatives
    s[(s == 6) & (cells >= n_bins)] = v + 1  # only positives
    h = SliceHistogram(2 * n_bins, rep, **SMALL)
    parts = []
    for a in range(0, s.size, 7000):
        idx = np.arange(a, min(a + 7000, s.size))
        h.add(s[idx], cells[idx], w[idx], _subset(rows, idx))
        parts.append((np.zeros(idx.size, dtype=np.int64), cells[idx], w[idx], _subset(rows, idx)))
    assert 0 < h.n_dense < v
    overall = _reference(rep, 1, 2 * n_bins, *parts)[0]
    mixed = rng.random(n_bins) < 0.5
    order = np.array([*rng.permutation(v + 2), v + 3, 2], dtype=np.int64)  # unseen, repeat
    dense = h.dense(order)
    want = _reference_metrics(rep, dense, n_bins, mixed, overall)
    got = ranking_metrics(h, order, n_bins, rep, mixed, _background(rep, overall, n_bins),
                          max_block_bytes=block)  # fmt: skip
    _check_metrics(got, want)
    # only-one-label and empty slices give NaN as in the dense path
    vals = got[0]
    j_neg, j_pos, j_none = (int(np.flatnonzero(order == c)[0]) for c in (v, v + 1, v + 3))
    assert np.isnan(vals["roc_auc"][:, [j_neg, j_pos, j_none]]).all()
    assert np.isnan(vals["pr_auc"][:, [j_neg, j_none]]).all()
    assert np.isnan(vals["bnsp_auc"][0, j_neg]) and np.isfinite(vals["bpsn_auc"][0, j_neg])
    assert np.isnan(vals["bpsn_auc"][0, j_pos]) and np.isfinite(vals["bnsp_auc"][0, j_pos])
    assert (
        np.isnan(vals["bpsn_auc"][:, j_none]).all() and np.isnan(vals["bnsp_auc"][:, j_none]).all()
    )
    # without background: ROC/PR only
    got2 = ranking_metrics(h, order, n_bins, rep, mixed, None)
    want2 = _reference_metrics(rep, dense, n_bins, mixed, None)
    _check_metrics(got2, want2)


@pytest.mark.parametrize("rep", REPS, ids=REP_IDS)
def test_ranking_metrics_overall_slice(rep: Replication) -> None:
    """The overall spec: one dense slice, background empty (BPSN/BNSP NaN)."""
    n_bins = 64
    s, cells, w, rows = _sliced_rows(rep, 5000, 1, n_bins, seed=2)
    h = SliceHistogram(2 * n_bins, rep, start_dense=True)
    h.add(np.zeros_like(s), cells, w, rows)
    tot = h.cell_totals()
    mixed = np.ones(n_bins, dtype=bool)
    want = _reference_metrics(rep, h.dense(np.array([0])), n_bins, mixed, tot)
    got = ranking_metrics(h, np.array([0]), n_bins, rep, mixed, _background(rep, tot, n_bins))
    _check_metrics(got, want)
    assert np.isnan(got[0]["bpsn_auc"]).all() and np.isnan(got[0]["bnsp_auc"]).all()


def test_ranking_metrics_integer_weights_exact() -> None:
    """Integer weights: every sum is exact, so the values agree to the last bits."""
    rep = Jackknife(10)
    n_bins = 256
    s, cells, _, rows = _sliced_rows(rep, 20_000, 300, n_bins, seed=4)
    w = np.ones(s.size)
    h = SliceHistogram(2 * n_bins, rep)
    h.add(s, cells, w, rows)
    overall = _reference(rep, 1, 2 * n_bins, (np.zeros_like(s), cells, w, rows))[0]
    order = np.arange(300)
    mixed = np.zeros(n_bins, dtype=bool)
    mixed[::2] = True
    want = _reference_metrics(rep, h.dense(order), n_bins, mixed, overall)
    got = ranking_metrics(h, order, n_bins, rep, mixed, _background(rep, overall, n_bins))
    _check_metrics(got, want)
    for m in want[0]:
        np.testing.assert_allclose(got[0][m], want[0][m], rtol=1e-14, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(
    rep_i=st.integers(0, 2),
    n=st.integers(0, 400),
    n_slices=st.integers(1, 12),
    n_bins=st.integers(1, 24),
    seed=st.integers(0, 2**31),
    chunk=st.integers(1, 500),
    dense_first=st.booleans(),
)
def test_hypothesis_against_dense(
    rep_i: int, n: int, n_slices: int, n_bins: int, seed: int, chunk: int, dense_first: bool
) -> None:
    rep = [NoReplicates(), Jackknife(3), PoissonBootstrap(4)][rep_i]
    rng = np.random.default_rng(seed)
    s = rng.integers(0, n_slices, n)
    cells = rng.integers(0, 2 * n_bins, n)
    w = np.where(rng.random(n) < 0.2, 0.0, rng.random(n))
    rows = _rows(rep, 0, n, seed % 1000)
    h = SliceHistogram(2 * n_bins, rep, start_dense=dense_first, page_bytes=256, min_pending=4)
    parts = []
    for a in range(0, n, chunk):
        idx = np.arange(a, min(a + chunk, n))
        h.add(s[idx], cells[idx], w[idx], _subset(rows, idx))
        parts.append((s[idx], cells[idx], w[idx], _subset(rows, idx)))
    ref = _reference(rep, n_slices, 2 * n_bins, *parts)
    order = np.arange(n_slices)
    _same(h.dense(order), ref)
    # the overall slice, accumulated from the same chunks (as the evaluation state does)
    overall = _reference(rep, 1, 2 * n_bins, *[(0 * p[0], *p[1:]) for p in parts])[0]
    mixed = rng.random(n_bins) < 0.5
    want = _reference_metrics(rep, ref, n_bins, mixed, overall)
    got = ranking_metrics(h, order, n_bins, rep, mixed, _background(rep, overall, n_bins),
                          max_block_bytes=int(rng.integers(1, 1 << 16)))  # fmt: skip
    _check_metrics(got, want)


# ---------------------------------------------------------------------- pure functions
def test_ranking_module_matches_metrics() -> None:
    rng = np.random.default_rng(0)
    pos = rng.random((3, 5, 40)) * (rng.random((3, 5, 40)) < 0.5)
    neg = rng.random((3, 5, 40)) * (rng.random((3, 5, 40)) < 0.5)
    mixed = rng.random(40) < 0.5
    for f, g in [
        (RK.roc_auc_from_counts, M.roc_auc_from_counts),
        (RK.average_precision_from_counts, M.average_precision_from_counts),
    ]:
        np.testing.assert_array_equal(f(pos, neg), g(pos, neg))
    for f2, g2 in [
        (RK.roc_auc_error_bound, M.roc_auc_error_bound),
        (RK.average_precision_error_bound, M.average_precision_error_bound),
    ]:
        np.testing.assert_array_equal(f2(pos[0], neg[0], mixed), g2(pos[0], neg[0], mixed))
    np.testing.assert_array_equal(RK.safe_div(pos, neg), M.safe_div(pos, neg))


def test_level_metrics_equal_full_computation() -> None:
    """Metrics from occupied levels plus background gaps equal the full-level ones."""
    rng = np.random.default_rng(1)
    nb, r = 50, 3
    occ = np.sort(rng.choice(nb, 7, replace=False))
    pos = np.zeros((r, nb))
    neg = np.zeros((r, nb))
    pos[:, occ] = rng.random((r, 7)) * (rng.random(7) < 0.8)
    neg[:, occ] = rng.random((r, 7)) * (rng.random(7) < 0.7)
    bgp = rng.random((r, nb)) * (rng.random(nb) < 0.6)
    bgn = rng.random((r, nb)) * (rng.random(nb) < 0.6)
    mixed = rng.random(nb) < 0.5
    cp = np.concatenate((np.zeros((r, 1)), np.cumsum(bgp, axis=1)), axis=1)
    cn = np.concatenate((np.zeros((r, 1)), np.cumsum(bgn, axis=1)), axis=1)
    lo, hi = occ + 1, np.append(occ[1:], nb)
    # levels first: (K, 1 slice, R)
    lv = lambda a: a.T[:, None, :]  # noqa: E731
    vals, bounds = RK.level_metrics(
        lv(pos[:, occ]),
        lv(neg[:, occ]),
        mixed[occ][:, None],
        (
            lv(bgp[:, occ]), lv(cp[:, hi] - cp[:, lo]), cp[:, occ[0]][None],
            lv(bgn[:, occ]), lv(cn[:, hi] - cn[:, lo]), cn[:, occ[0]][None],
        ),
    )  # fmt: skip
    want = {
        "roc_auc": (M.roc_auc_from_counts(pos, neg), M.roc_auc_error_bound(pos[0], neg[0], mixed)),
        "pr_auc": (
            M.average_precision_from_counts(pos, neg),
            M.average_precision_error_bound(pos[0], neg[0], mixed),
        ),
        "bpsn_auc": (M.roc_auc_from_counts(bgp, neg), M.roc_auc_error_bound(bgp[0], neg[0], mixed)),
        "bnsp_auc": (M.roc_auc_from_counts(pos, bgn), M.roc_auc_error_bound(pos[0], bgn[0], mixed)),
    }
    assert list(vals) == list(want)
    for m, (v, b) in want.items():
        np.testing.assert_allclose(vals[m][0], v, rtol=1e-13, err_msg=m)
        np.testing.assert_allclose(bounds[m][0], b, rtol=1e-13, err_msg=m)


def test_cumsum_levels_bit_identical() -> None:
    rng = np.random.default_rng(2)
    for shape in [(1, 3), (7, 2), (40, 30, 21), (5, 300)]:
        a = rng.random(shape) * 10.0 ** rng.integers(-5, 5, shape)
        np.testing.assert_array_equal(RK.cumsum_levels(a), np.cumsum(a, axis=0))
        np.testing.assert_array_equal(RK.cumsum_levels(a, reverse=True), np.cumsum(a[::-1], axis=0))


def test_input_checks() -> None:
    rep = Jackknife(3)
    h = SliceHistogram(8, rep)
    with pytest.raises(ValueError):
        h.add(np.array([-1]), np.array([0]), np.array([1.0]), _rows(rep, 0, 1))
    with pytest.raises(ValueError):
        h.add(np.array([0, 1]), np.array([0]), np.array([1.0]), _rows(rep, 0, 2))
    with pytest.raises(ValueError):
        h.merge(SliceHistogram(16, rep), np.array([0]))
    with pytest.raises(ValueError):
        h.merge(SliceHistogram(8, PoissonBootstrap(2)), np.array([0]))
    with pytest.raises(ValueError):
        ranking_metrics(h, np.array([0]), 3, rep, np.zeros(3, dtype=bool), None)


@pytest.mark.parametrize("rep", REPS, ids=REP_IDS)
def test_early_promotion_keeps_the_numbers(rep: Replication) -> None:
    v, nc = 40, 32
    data = Data(rep, 20_000, v, nc, seed=1)
    chunks = [0, 1, 7, 500, 3000, 11_000, 20_000]
    parts = [data.part(a, b) for a, b in itertools.pairwise(chunks)]
    early = SliceHistogram(nc, rep)
    late = SliceHistogram(nc, rep, early_promote=None)
    for p in parts:
        early.add(*p)
        late.add(*p)
    _same(early.dense(np.arange(v)), _reference(rep, v, nc, *parts))
    _same(early.dense(np.arange(v)), late.dense(np.arange(v)))
    assert early.n_dense >= late.n_dense
