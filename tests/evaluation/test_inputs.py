"""Every accepted input format gives the same result; files are streamed."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import assay

KW = dict(label="y", scores="s", slices=["g", ("g", "h")], thresholds=[0.3, 0.7], weight="w")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 5000
    return {
        "y": rng.integers(0, 2, n),
        "s": np.round(rng.random(n), 4),
        "g": rng.choice(["a", "b", "c"], n),
        "h": rng.choice(["x", "y"], n),
        "w": rng.uniform(0.5, 2, n),
    }


def values(res):
    t = res.to_arrow().sort_by([("slice", "ascending"), ("metric", "ascending"), ("threshold", "ascending")])
    return t.column("slice").to_pylist(), np.asarray(t.column("value").to_numpy(zero_copy_only=False), float), np.asarray(t.column("upper").to_numpy(zero_copy_only=False), float)


def assert_equal(a, b):
    sa, va, ua = values(a)
    sb, vb, ub = values(b)
    assert sa == sb
    np.testing.assert_allclose(va, vb, rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(ua, ub, rtol=1e-10, equal_nan=True)


def test_all_formats_agree(data, tmp_path):
    import pandas as pd
    import polars as pl

    ref = assay.evaluate(data, **KW)
    table = pa.table(data)
    assert_equal(ref, assay.evaluate(table, **KW))
    assert_equal(ref, assay.evaluate(table.to_batches()[0], **KW))
    assert_equal(ref, assay.evaluate(pd.DataFrame(data), **KW))
    assert_equal(ref, assay.evaluate(pl.DataFrame(data), **KW))
    df = pd.DataFrame(data).astype({"g": "category"})
    assert_equal(ref, assay.evaluate(df, **KW))
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=700)
    assert_equal(ref, assay.evaluate(tmp_path / "d.parquet", chunk_size=333, **KW))
    assert_equal(ref, assay.evaluate(str(tmp_path / "d.parquet"), **KW))
    (tmp_path / "dir").mkdir()
    pq.write_table(table.slice(0, 2000), tmp_path / "dir" / "a.parquet")
    pq.write_table(table.slice(2000), tmp_path / "dir" / "b.parquet")
    assert_equal(ref, assay.evaluate(tmp_path / "dir", **KW))
    pacsv.write_csv(table, tmp_path / "d.csv")
    assert_equal(ref, assay.evaluate(tmp_path / "d.csv", chunk_size=999, **KW))


def test_csv_numeric_slice_column_and_null_slice_values(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("y,s,age\n1,0.9,30\n0,0.2,30\n1,0.6,\n0,0.4,41\n")
    r = assay.evaluate(path, label="y", scores="s", slices="age", thresholds=[0.5], ci=None)
    names = [s.slice for s in r.slices]
    assert names == ["overall", "age=30", "age=41", "age=null"]
    assert r.value("tp", slice="age=null", threshold=0.5).value == 1
    # Nulls in an Arrow slice column form their own slice too.
    t = pa.table({"y": [1, 0, 1], "s": [0.9, 0.1, 0.2], "g": ["a", None, None]})
    r = assay.evaluate(t, label="y", scores="s", slices="g", thresholds=[0.5], ci=None)
    assert r.value("example_count", slice="g=null").value == 2


def test_boolean_and_string_labels():
    y = np.array([True, False, True, False])
    s = np.array([0.9, 0.2, 0.4, 0.6])
    a = assay.evaluate({"y": y, "s": s}, label="y", scores="s", thresholds=[0.5], ci=None)
    b = assay.evaluate({"y": np.where(y, ">50K", "<=50K"), "s": s}, label="y", scores="s",
                       positive_label=">50K", thresholds=[0.5], ci=None)  # fmt: skip
    for m in ["tp", "fp", "tn", "fn"]:
        assert a.value(m, threshold=0.5).value == b.value(m, threshold=0.5).value
    assert a.value("tp", threshold=0.5).value == 1


def test_drop_invalid_rows_reports_count():
    y = np.array([1, 0, 1, 0, 1, 0], dtype=float)
    s = np.array([0.9, np.nan, 0.4, np.inf, 0.6, 0.1])
    y[4] = np.nan
    r = assay.evaluate({"y": y, "s": s}, label="y", scores="s", thresholds=[0.5], on_invalid="drop", ci=None)
    assert r.n_dropped == 3 and r.n_rows == 3
    assert r.value("example_count").value == 3
    assert r.value("tp", threshold=0.5).value == 1 and r.value("tn", threshold=0.5).value == 1


def test_progress_bar_writes_to_stderr(data, capsys):
    assay.evaluate(data, progress=True, chunk_size=1000, **KW)
    err = capsys.readouterr().err
    # stderr is not a terminal under pytest: plain lines, the last one the summary.
    assert "\r" not in err and err.splitlines()[-1].startswith("evaluate: 5,000/5,000 rows in ")
    assay.evaluate(data, chunk_size=1000, **KW)
    assert capsys.readouterr().err == ""
