"""Property tests: chunking, row order and integer weights do not change results."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import assay
from assay.evaluation import ROW_CONTENT

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def tables(draw):
    n = draw(st.integers(1, 120))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    levels = draw(st.sampled_from([3, 10, 10_000]))
    s = np.round(rng.random(n) * levels) / levels
    g = rng.choice(["a", "b", "c"], n)
    h = rng.choice([1, 2], n)
    return {"y": y, "s": s, "g": g, "h": h}


def table_of(res):
    t = res.to_arrow().sort_by([("model", "ascending"), ("slice", "ascending"), ("metric", "ascending"), ("threshold", "ascending")])
    return t


def assert_same(a, b, columns=("value", "lower", "upper"), rtol=1e-9):
    ta, tb = table_of(a), table_of(b)
    assert ta.column("slice").to_pylist() == tb.column("slice").to_pylist()
    assert ta.column("metric").to_pylist() == tb.column("metric").to_pylist()
    for c in columns:
        np.testing.assert_allclose(
            np.asarray(ta.column(c).to_numpy(zero_copy_only=False), dtype=float),
            np.asarray(tb.column(c).to_numpy(zero_copy_only=False), dtype=float),
            rtol=rtol, atol=1e-12, equal_nan=True, err_msg=c,
        )  # fmt: skip


KW = dict(label="y", scores="s", slices=["g", ("g", "h")], thresholds=[0.2, 0.5, 0.8])


@SETTINGS
@given(tables(), st.integers(1, 50), st.sampled_from(["jackknife", "bootstrap"]))
def test_chunked_evaluation_equals_whole(d, chunk, ci):
    whole = assay.evaluate(d, ci=ci, n_replicates=10, **KW)
    chunked = assay.evaluate(d, ci=ci, n_replicates=10, chunk_size=chunk, **KW)
    assert_same(whole, chunked)


@SETTINGS
@given(tables(), st.integers(0, 2**31 - 1))
def test_row_order_does_not_matter(d, seed):
    perm = np.random.default_rng(seed).permutation(len(d["y"]))
    shuffled = {k: v[perm] for k, v in d.items()}
    # Point estimates never depend on order; with content keys the intervals do not either.
    assert_same(assay.evaluate(d, ci=None, **KW), assay.evaluate(shuffled, ci=None, **KW), columns=("value",))
    a = assay.evaluate(d, row_key=ROW_CONTENT, **KW)
    b = assay.evaluate(shuffled, row_key=ROW_CONTENT, chunk_size=7, **KW)
    assert_same(a, b)


@SETTINGS
@given(tables(), st.integers(0, 2**31 - 1))
def test_integer_weight_k_equals_k_copies(d, seed):
    k = np.random.default_rng(seed).integers(0, 4, len(d["y"]))
    if k.sum() == 0:
        k[0] = 1
    weighted = dict(d, w=k.astype(float))
    copies = {c: np.repeat(v, k) for c, v in d.items()}
    a = assay.evaluate(weighted, weight="w", ci=None, auc="exact", **KW)
    b = assay.evaluate(copies, ci=None, auc="exact", **KW)
    ta, tb = table_of(a), table_of(b)
    # example_count counts rows (weighted rows vs copies differ); everything else agrees.
    keep_a = np.array([m != "example_count" for m in ta.column("metric").to_pylist()])
    # slices whose copies vanished (weight 0 everywhere) exist only in the weighted table
    sa = set(zip(ta.column("slice").to_pylist(), ta.column("metric").to_pylist(), ta.column("threshold").to_pylist(), strict=True))
    rows_b = {(s, m, t): v for s, m, t, v in zip(tb.column("slice").to_pylist(), tb.column("metric").to_pylist(), tb.column("threshold").to_pylist(), tb.column("value").to_pylist(), strict=True)}
    for i, (s, m, t, v) in enumerate(zip(ta.column("slice").to_pylist(), ta.column("metric").to_pylist(), ta.column("threshold").to_pylist(), ta.column("value").to_pylist(), strict=True)):
        if not keep_a[i] or (s, m, t) not in rows_b:
            continue
        ref = rows_b[(s, m, t)]
        if v is None or ref is None or (isinstance(ref, float) and np.isnan(ref)):
            assert (v is None or np.isnan(v)) == (ref is None or np.isnan(ref)), (s, m, t)
            continue
        assert v == pytest.approx(ref, rel=1e-9, abs=1e-12), (s, m, t)
    assert sa  # compared something


@SETTINGS
@given(tables(), st.integers(1, 40))
def test_merging_states_equals_one_pass(d, split):
    from assay.core.finalize import finalize
    from assay.core.plan import Plan
    from assay.core.reader import ChunkReader
    from assay.core.state import EvalState

    cfg = Plan.build(dict(label="y", scores="s", slices=["g", ("g", "h")], thresholds=[0.5],
                          row_key=ROW_CONTENT, chunk_size=1000), func="evaluate")  # fmt: skip
    t = pa.table(d)
    split = min(split, t.num_rows)
    parts = [t.slice(0, split), t.slice(split)]
    states = []
    for part in reversed(parts):  # merge in the other order on purpose
        st_ = EvalState(cfg)
        reader = ChunkReader(cfg)
        for b in part.to_batches():
            reader.add(st_, b)
        states.append(st_)
    merged = states[0].merge(states[1])
    res = finalize(cfg, merged, source="merged", seen=t.num_rows)
    ref = assay.evaluate(d, label="y", scores="s", slices=["g", ("g", "h")], thresholds=[0.5], row_key=ROW_CONTENT)
    assert_same(res, ref)


def test_content_keys_work_for_list_valued_score_columns():
    rng = np.random.default_rng(0)
    n = 300
    p = rng.dirichlet([1, 1, 1], n)
    label = rng.choice(["a", "b", "c"], n)
    d = {"label": label, "p": p}
    kw = dict(label="label", scores={"m": "p"}, classes=["a", "b", "c"], row_key=ROW_CONTENT, thresholds=[0.5])
    a = assay.evaluate(d, **kw)
    perm = rng.permutation(n)
    b = assay.evaluate({"label": label[perm], "p": p[perm]}, chunk_size=37, **kw)
    assert_same(a, b)


def test_zero_counts_are_exactly_zero_with_fractional_weights():
    rng = np.random.default_rng(1)
    n = 500
    d = {"y": np.ones(n, int), "s": rng.uniform(0.6, 1.0, n), "w": rng.uniform(0.1, 1.7, n), "g": rng.choice(["a", "b"], n)}
    r = assay.evaluate(d, label="y", scores="s", weight="w", slices="g", thresholds=[0.5])
    for sl in ["overall", "g=a", "g=b"]:
        v = r.value("fn", slice=sl, threshold=0.5)
        assert v.value == 0.0 and v.lower == 0.0 and v.upper == 0.0
        assert r.value("fnr", slice=sl, threshold=0.5).value == 0.0
