"""Large result tables spilled to a memory-mapped Arrow file: the same table, comparisons,
lookups and JSON as in memory, numbers checked against a direct computation, the file in
the configured folder and gone afterwards, the auto rule, and the errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import assay
from assay.core import result as result_mod
from assay.core.spill import TMPDIR_ENV, BatchSink


def _data(seed=0, n=4000):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    a = np.round(rng.beta(2 + y, 3 - y), 3)
    b = np.clip(a + rng.normal(0.03, 0.1, n), 0, 1)
    g = rng.integers(0, 60, n).astype(str)  # 60 slice values: several blocks and batches
    h = rng.choice(["p", "q", "r"], n)
    return {"y": y, "a": a, "b": b, "g": g, "h": h}


KW = dict(label="y", scores=["a", "b"], slices=["g", "h"], thresholds=[0.3, 0.5], seed=1)


def test_spilled_result_equals_in_memory(tmp_path, monkeypatch):
    monkeypatch.setenv(TMPDIR_ENV, str(tmp_path))
    d = _data()
    mem = assay.evaluate(d, spill=False, **KW)
    disk = assay.evaluate(d, spill=True, **KW)
    pd.testing.assert_frame_equal(disk.to_frame(), mem.to_frame())  # NaN equal to NaN
    pd.testing.assert_frame_equal(disk.model_comparison(), mem.model_comparison())
    assert disk.to_arrow().num_rows > 1000
    assert disk.to_json() == mem.to_json()
    assert disk.metrics == mem.metrics
    assert list(tmp_path.iterdir()) == []  # unlinked once mapped
    # one number against a direct computation on the rows
    y, a, g = d["y"], d["a"], d["g"]
    m = (g == "7") & (y == 0)
    fpr = np.sum(a[m] > 0.5) / m.sum()
    v = disk.value("fpr", slice="g=7", threshold=0.5, model="a")
    assert v.value == pytest.approx(fpr, abs=1e-12)


def test_sink_writes_to_the_configured_folder_and_removes_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv(TMPDIR_ENV, str(tmp_path / "spill"))
    schema = pa.schema([("x", pa.float64()), ("s", result_mod.LABEL)])
    sink = BatchSink(schema, True)
    parts = []
    for i in range(3):
        x = np.arange(5, dtype=float) + 10 * i
        s = pa.array(np.array([f"v{i}{j}" for j in range(5)], dtype=object), type=result_mod.LABEL)
        sink.add(pa.RecordBatch.from_arrays([pa.array(x), s], schema=schema))
        parts.append((x, [f"v{i}{j}" for j in range(5)]))
    assert sink.spilled
    files = list((tmp_path / "spill").iterdir())
    assert len(files) == 1 and files[0].name.startswith("assay-result-")
    t = sink.table()
    assert list((tmp_path / "spill").iterdir()) == []
    assert t.column("x").to_pylist() == [v for x, _ in parts for v in x.tolist()]
    assert t.column("s").cast(pa.string()).to_pylist() == [v for _, s in parts for v in s]


def test_auto_spills_when_the_projected_table_exceeds_the_budget(tmp_path, monkeypatch):
    monkeypatch.setenv(TMPDIR_ENV, str(tmp_path))
    schema = pa.schema([("x", pa.float64())])
    batch = pa.RecordBatch.from_arrays([pa.array(np.zeros(100))], schema=schema)  # 800 bytes
    early = BatchSink(schema, "auto", budget=1000)
    early.add(batch, done=0.5)  # projected 1,600 bytes
    assert early.spilled
    whole = BatchSink(schema, "auto", budget=1000)
    whole.add(batch, done=1.0)  # 800 bytes, all of it
    assert not whole.spilled
    never = BatchSink(schema, False, budget=1)
    never.add(batch, done=0.01)
    assert not never.spilled
    assert early.table().num_rows == whole.table().num_rows == never.table().num_rows == 100


def test_value_lookup_without_the_index_matches_the_index(monkeypatch):
    r = assay.evaluate(_data(n=1500), **KW)
    t = r.to_arrow()
    keys = list(zip(*(t.column(c).to_pylist() for c in
                      ("model", "slice", "metric", "threshold")), strict=True))  # fmt: skip
    picks = [keys[i] for i in np.random.default_rng(0).choice(len(keys), 40, replace=False)]

    def look(res):
        out = []
        for m, s, me, th in picks:
            th = None if th is None or np.isnan(th) else th
            out.append(res.value(me, slice=s, threshold=th, model=m))
        return out

    indexed = look(r)
    monkeypatch.setattr(result_mod, "INDEX_ROWS", 0)
    scanned = look(assay.evaluate(_data(n=1500), spill=True, **KW))
    for u, v in zip(indexed, scanned, strict=True):
        assert repr(u) == repr(v)
    with pytest.raises(ValueError, match=r"No value for metric .fpr. at threshold 0\.7"):
        r2 = assay.evaluate(_data(n=1500), **KW)
        r2.value("fpr", slice="h=p", threshold=0.7)


def test_spill_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"The 'spill' parameter of evaluate must be True, "
                                         r"False or 'auto'\. Got 'yes'"):  # fmt: skip
        assay.evaluate(_data(n=200), spill="yes", **KW)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(TMPDIR_ENV, str(blocker))
    with pytest.raises(OSError, match=f"Set {TMPDIR_ENV} to a writable folder with room, or "
                                      "pass spill=False"):  # fmt: skip
        assay.evaluate(_data(n=200), spill=True, **KW)
