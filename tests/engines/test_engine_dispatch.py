"""assay.evaluate dispatches Spark DataFrames and engine="spark" to the Spark engine."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import assay

pyspark = pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover
    pytest.skip("Java is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def spark():
    from assay.engines.spark import spark_session

    return spark_session("local[2]")


def test_spark_dataframe_and_parquet_path_go_to_the_spark_engine(spark, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    n = 3000
    d = {"y": rng.integers(0, 2, n), "s": np.round(rng.random(n), 3), "g": rng.choice(["a", "b"], n)}
    kw = dict(label="y", scores="s", slices="g", thresholds=[0.5], row_key=assay.evaluation.ROW_CONTENT)
    local = assay.evaluate(d, **kw)
    df = spark.createDataFrame(pa.table(d).to_pandas()).repartition(3)
    on_spark = assay.evaluate(df, **kw)
    pq.write_table(pa.table(d), tmp_path / "d.parquet")
    from_path = assay.evaluate(str(tmp_path / "d.parquet"), engine=spark, **kw)
    for res in (on_spark, from_path):
        for metric, t in [("fpr", 0.5), ("tp", 0.5), ("roc_auc", None)]:
            a = local.value(metric, slice="g=a", threshold=t)
            b = res.value(metric, slice="g=a", threshold=t)
            assert b.value == pytest.approx(a.value, rel=1e-12)
            assert b.upper == pytest.approx(a.upper, rel=1e-9)


def test_unknown_engine_is_rejected():
    with pytest.raises(ValueError, match=re.escape("The 'engine' parameter of evaluate must be one of {'local', 'spark'}. Got 'beam' instead.")):
        assay.evaluate({"y": [0, 1], "s": [0.1, 0.9]}, label="y", scores="s", engine="beam")


def test_cli_engine_spark(spark, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from assay.cli import main

    rng = np.random.default_rng(1)
    n = 2000
    t = pa.table({"y": rng.integers(0, 2, n), "s": np.round(rng.random(n), 3), "g": rng.choice(["a", "b"], n)})
    pq.write_table(t, tmp_path / "d.parquet")
    out = tmp_path / "r.json"
    code = main(["evaluate", str(tmp_path / "d.parquet"), "--label", "y", "--score", "s", "--slice", "g",
                 "--thresholds", "0.5", "--engine", "spark", "--out", str(out)])  # fmt: skip
    assert code == 0
    assert "g=a" in capsys.readouterr().out
    res = assay.EvalResult.from_json(out)
    ref = assay.evaluate(t, label="y", scores="s", slices="g", thresholds=[0.5], row_key=assay.evaluation.ROW_CONTENT)
    assert res.config["row_key"] == assay.evaluation.ROW_CONTENT
    for sl in ["overall", "g=a", "g=b"]:
        assert res.value("fpr", slice=sl, threshold=0.5).value == pytest.approx(ref.value("fpr", slice=sl, threshold=0.5).value, rel=1e-12)
        assert res.value("fpr", slice=sl, threshold=0.5).upper == pytest.approx(ref.value("fpr", slice=sl, threshold=0.5).upper, rel=1e-9)
