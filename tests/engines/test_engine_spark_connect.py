"""The Spark engine on Spark Connect (no RDDs): same result as the local engine.

Skipped unless the Spark Connect client is installed (``pip install 'pyspark[connect]'``).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark")
pytest.importorskip("grpc")
pytest.importorskip("google.rpc")
pytest.importorskip("zstandard")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java", allow_module_level=True)

import assay
from assay.engines.spark import _num_partitions, evaluate_spark
from assay.evaluation import ROW_CONTENT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning"),
]


@pytest.fixture(scope="module")
def connect() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    old = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = SparkSession.builder.remote("local[2]").getOrCreate()
    yield session
    session.stop()
    if old is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = old


def test_connect_matches_local(connect: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 3000
    y = rng.integers(0, 2, n)
    table = pa.table(
        {
            "y": y,
            "s": np.clip(0.3 * y + rng.beta(2, 3, n), 0, 1),
            "g": pa.array(rng.choice(np.array(["a", "b", None], dtype=object), n), pa.string()),
        }
    )
    path = tmp_path / "d.parquet"
    pq.write_table(table, path)
    df = connect.read.parquet(str(path)).repartition(5)
    assert type(df).__module__.startswith("pyspark.sql.connect")
    assert _num_partitions(df) is None  # no RDDs: one fixed merge level
    kw: dict[str, Any] = dict(label="y", scores="s", slices="g", auc_bins=512)
    dist = evaluate_spark(df, **kw)
    local = assay.evaluate(table, row_key=ROW_CONTENT, **kw)
    order = [(k, "ascending") for k in ("model", "feature", "slice", "metric", "threshold")]
    a, b = local.to_arrow().sort_by(order), dist.to_arrow().sort_by(order)
    assert a.column("count").equals(b.column("count"))
    for c in ("value", "lower", "upper"):
        np.testing.assert_allclose(b[c].to_numpy(), a[c].to_numpy(), rtol=1e-9, equal_nan=True)
    with pytest.raises(ValueError, match="outside"):
        evaluate_spark(df.withColumn("s", df["s"] * 3), **kw)
