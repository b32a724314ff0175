"""The Spark engine gives the local engine's result, however the data is partitioned."""

from __future__ import annotations

import inspect
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java", allow_module_level=True)

import assay
from assay.core.engine import LocalEngine
from assay.core.finalize import finalize
from assay.core.plan import Plan
from assay.engines.spark import _FAN_IN, SparkEngine, _tree_levels, evaluate_spark, spark_session
from assay.evaluation import ROW_CONTENT, EvalResult, EvalState

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")

N = 4000
KEYS = ["model", "class", "feature", "slice", "metric", "threshold"]
SLICES: list[Any] = ["sex", "race", ("sex", "race"), "region", "age"]


# ---------------------------------------------------------------------------- fixtures
# ``spark``: tests/engines/conftest.py


def _make_table(n: int = N, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s1 = np.clip(0.35 * y + rng.beta(2, 3, n), 0.0, 1.0)
    s2 = np.clip(0.25 * y + rng.beta(2, 2.5, n), 0.0, 1.0)
    s2[:50] = s1[:50]  # some identical scores across models
    sex = rng.choice(np.array(["F", "M", None], dtype=object), n, p=[0.48, 0.47, 0.05])
    race = rng.choice(["A", "B", "C", "D", "E"], n, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    k = np.where(rng.random(n) < 0.9, 0, rng.integers(1, 10, n))  # skew key: 90% zeros
    region = np.array([f"r{v}" for v in k], dtype=object)  # r1..r9 are rare
    age = rng.integers(1, 6, n).astype(object)
    age[rng.random(n) < 0.07] = None
    probs = rng.dirichlet([2, 2, 2], n)
    cls = np.array([rng.choice(3, p=p) for p in probs])
    return pa.table(
        {
            "id": np.arange(n, dtype=np.int64),
            "y": y.astype(np.int64),
            "s1": s1,
            "s2": s2,
            # dyadic weights: weighted counts are exact whatever the summation order
            "w": rng.integers(2, 9, n) / 4.0,
            "sex": pa.array(sex, pa.string()),
            "race": race,
            "region": region,
            "age": pa.array(list(age), pa.int64()),
            "k": k.astype(np.int64),
            "yes": np.where(y == 1, "yes", "no"),
            "cls": cls.astype(np.int64),
            "p0": probs[:, 0],
            "p1": probs[:, 1],
            "p2": probs[:, 2],
        }
    )


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return _make_table()


@pytest.fixture(scope="module")
def parquet(table: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spark") / "data.parquet"
    pq.write_table(table, path, row_group_size=1000)
    return path


@pytest.fixture(scope="module")
def df(spark: Any, parquet: Path) -> Any:
    return spark.read.parquet(str(parquet))


# --------------------------------------------------------------------------- helpers
PARTITIONINGS: dict[str, Callable[[Any], Any]] = {
    "1": lambda d: d.repartition(1),
    "3": lambda d: d.repartition(3),
    "17": lambda d: d.repartition(17),
    # hash partitioning on a key whose value 0 holds 90% of the rows
    "skewed": lambda d: d.repartition(5, "k"),
    # every race value in exactly one partition
    "by_race": lambda d: d.repartition(4, "race"),
    # three sex values (F, M, null) in eight partitions: at least five are empty
    "empty": lambda d: d.repartition(8, "sex"),
}


def _sizes(d: Any) -> list[int]:
    return list(d.rdd.glom().map(len).collect())


def assert_same(local: EvalResult, dist: EvalResult, *, exact_values: bool = True) -> None:
    """Identical counts and labels; every float equal within 1e-9 (relative)."""
    assert dist.n_rows == local.n_rows
    assert dist.n_dropped == local.n_dropped
    order = [(k, "ascending") for k in KEYS]
    a, b = local.to_arrow().sort_by(order), dist.to_arrow().sort_by(order)
    assert a.num_rows == b.num_rows
    assert a.schema == b.schema
    for name in a.column_names:
        x, z = a.column(name), b.column(name)
        if pa.types.is_floating(x.type):
            np.testing.assert_allclose(
                z.to_numpy(), x.to_numpy(), rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=name
            )
        else:
            assert x.equals(z), name
    # counting metrics are sums of whole numbers: exactly equal (unweighted data)
    counting = {"example_count"} | ({"tp", "fp", "tn", "fn"} if exact_values else set())
    mask = np.isin(a.column("metric").to_numpy(zero_copy_only=False), list(counting))
    assert np.array_equal(
        a.column("value").to_numpy()[mask], b.column("value").to_numpy()[mask], equal_nan=True
    )

    def info(r: EvalResult) -> list[tuple[Any, ...]]:
        return sorted((s.feature, s.slice, s.count, s.withheld, s.reason) for s in r.slices)

    assert info(dist) == info(local)
    wa = sorted((s.slice, s.weighted_count) for s in local.slices)
    wb = sorted((s.slice, s.weighted_count) for s in dist.slices)
    np.testing.assert_allclose([w for _, w in wb], [w for _, w in wa], rtol=1e-9)


def _both(parquet: Path, d: Any, **kw: Any) -> tuple[EvalResult, EvalResult]:
    local = assay.evaluate(str(parquet), row_key=kw.pop("row_key", ROW_CONTENT), **kw)
    dist = evaluate_spark(d, row_key=local.config["row_key"], **kw)
    return local, dist


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("layout", list(PARTITIONINGS))
def test_same_result_on_any_partitioning(
    layout: str, df: Any, parquet: Path, table: pa.Table
) -> None:
    d = PARTITIONINGS[layout](df)
    if layout in ("skewed", "empty"):
        sizes = _sizes(d)
        assert sum(sizes) == N
        assert max(sizes) >= 0.9 * N if layout == "skewed" else 0 in sizes
    if layout == "by_race":
        from pyspark.sql import functions as F

        pairs = d.select("race", F.spark_partition_id().alias("p")).distinct().collect()
        assert len(pairs) == len({r["race"] for r in pairs}) == 5
    local, dist = _both(parquet, d, label="y", scores=["s1", "s2"], slices=SLICES, auc_bins=512)
    assert_same(local, dist)
    # nulls are a slice of their own, named as such
    names = {s.slice for s in dist.slices}
    assert {"sex=null", "age=null", "sex=null, race=A"} <= names
    n_null = int(table.column("sex").null_count)
    assert dist.value("example_count", slice="sex=null").value == n_null
    # jackknife intervals exist and do not depend on the layout
    v = dist.value("roc_auc", slice="race=E", model="s1")
    assert v.lower < v.value < v.upper


@pytest.mark.parametrize("setting", ["10000", "300"])
def test_arrow_batch_size_is_restored(setting: str, spark: Any, df: Any, parquet: Path) -> None:
    # Spark's default batch size is raised while the job runs (an explicit one is kept);
    # either way the numbers are the local engine's and the setting is restored.
    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    before = spark.conf.get(key)
    spark.conf.set(key, setting)
    try:
        local, dist = _both(parquet, df.repartition(3), label="y", scores="s1",
                            slices=["race"], chunk_size=700)  # fmt: skip
        assert spark.conf.get(key) == setting
    finally:
        spark.conf.set(key, before)
    assert_same(local, dist)


def test_default_row_key_is_row_content(df: Any, parquet: Path) -> None:
    dist = evaluate_spark(df.repartition(3), label="y", scores="s1", slices="sex")
    assert dist.config["row_key"] == ROW_CONTENT
    local = assay.evaluate(str(parquet), label="y", scores="s1", slices="sex", row_key=ROW_CONTENT)
    assert_same(local, dist)


@pytest.mark.parametrize("layout", ["17", "skewed"])
def test_bootstrap_weighted(layout: str, df: Any, parquet: Path) -> None:
    local, dist = _both(
        parquet,
        PARTITIONINGS[layout](df),
        label="y",
        scores={"a": "s1", "b": "s2"},
        slices=["sex", "region"],
        weight="w",
        ci="bootstrap",
        n_replicates=40,
        seed=3,
        auc_bins=512,
    )
    assert_same(local, dist)
    assert dist.config["ci"] == {"method": "bootstrap", "n_replicates": 40}


def test_exact_auc_row_key_column_and_small_chunks(df: Any, parquet: Path) -> None:
    local, dist = _both(
        parquet,
        df.repartition(5),
        label="y",
        scores="s1",
        slices=["race", "age"],
        auc="exact",
        row_key="id",
        chunk_size=700,
        min_slice_size=300,
        baseline={"race": "A"},
    )
    assert_same(local, dist)
    assert dist.withheld_slices  # small slices are withheld alike


def test_multiclass_string_labels_and_dropped_rows(
    spark: Any, table: pa.Table, tmp_path: Path
) -> None:
    t = table.set_column(
        table.column_names.index("s1"),
        "s1",
        pa.array(np.where(np.arange(N) % 97 == 0, np.nan, table.column("s1").to_numpy())),
    )
    t = t.set_column(
        t.column_names.index("yes"),
        "yes",
        pa.array([None if i % 89 == 0 else v for i, v in enumerate(t.column("yes").to_pylist())]),
    )
    path = tmp_path / "dirty.parquet"
    pq.write_table(t, path)
    d = spark.read.parquet(str(path)).repartition(6)
    local, dist = _both(
        path, d, label="yes", positive_label="yes", scores="s1", slices="sex", on_invalid="drop"
    )
    assert_same(local, dist)
    assert dist.n_dropped > 0
    local, dist = _both(
        path, d, label="cls", classes=[0, 1, 2], scores=["p0", "p1", "p2"], slices="race",
        ci=None,
    )  # fmt: skip
    assert_same(local, dist)


def test_spark_ml_vector_and_decimal_scores(spark: Any, table: pa.Table) -> None:
    from pyspark.ml.linalg import Vectors
    from pyspark.sql import functions as F

    sub = table.slice(0, 600)
    probs = np.column_stack([sub.column(c).to_numpy() for c in ("p0", "p1", "p2")])
    rows = [
        (int(i), int(c), Vectors.dense(p.tolist()), r)
        for i, c, p, r in zip(
            sub.column("id").to_pylist(), sub.column("cls").to_pylist(), probs,
            sub.column("race").to_pylist(), strict=True,
        )
    ]  # fmt: skip
    d = spark.createDataFrame(rows, ["id", "cls", "probability", "race"]).repartition(3)
    local_table = pa.table(
        {
            "id": sub.column("id"),
            "cls": sub.column("cls"),
            "probability": pa.FixedSizeListArray.from_arrays(pa.array(probs.ravel()), 3),
            "race": sub.column("race"),
        }
    )
    kw: dict[str, Any] = dict(label="cls", classes=[0, 1, 2], scores="probability", slices="race")
    local = assay.evaluate(local_table, row_key="id", **kw)
    assert_same(local, evaluate_spark(d, row_key="id", **kw))

    dec = spark.createDataFrame(
        [(int(i), int(y), float(s)) for i, y, s in zip(
            sub.column("id").to_pylist(), sub.column("y").to_pylist(),
            np.round(sub.column("s1").to_numpy(), 4), strict=True)],
        ["id", "y", "s"],
    ).withColumn("s", F.col("s").cast("decimal(10,4)"))  # fmt: skip
    local_dec = pa.table(
        {
            "id": sub.column("id"),
            "y": sub.column("y"),
            "s": np.round(sub.column("s1").to_numpy(), 4),
        }
    )
    assert_same(
        assay.evaluate(local_dec, label="y", scores="s", row_key="id"),
        evaluate_spark(dec, label="y", scores="s", row_key="id"),
    )


def test_parquet_path_and_state(spark: Any, df: Any, parquet: Path, table: pa.Table) -> None:
    kw: dict[str, Any] = dict(label="y", scores="s1", slices="race")
    from_path = evaluate_spark(str(parquet), spark=spark, **kw)
    assert from_path.source.startswith("Parquet ")
    assert_same(evaluate_spark(df, **kw), from_path)
    # add the Spark rows into a state that already holds other rows (engines return states)
    cfg = Plan.build(_defaults(**kw, row_key=ROW_CONTENT), func="evaluate")
    first = table.slice(0, 1000)
    local_run = LocalEngine().run(cfg, first)
    assert isinstance(local_run.state, EvalState)
    rest = spark.createDataFrame(table.slice(1000).select(["y", "s1", "race"]))
    spark_run = SparkEngine(spark=spark).run(cfg, rest.repartition(4))
    merged = local_run.state.merge(spark_run.state)
    combined = finalize(cfg, merged, source="both", seen=local_run.seen + spark_run.seen)
    assert_same(assay.evaluate(table, row_key=ROW_CONTENT, **kw), combined)


def _defaults(**kw: Any) -> dict[str, Any]:
    sig = inspect.signature(assay.evaluate)
    out = {
        k: p.default
        for k, p in sig.parameters.items()
        if p.default is not inspect.Parameter.empty and k not in ("progress", "engine")
    }
    out.update(kw)
    return out


def test_errors_match_the_local_engine(spark: Any, df: Any, tmp_path: Path) -> None:
    # argument errors raise on the driver, before any job
    with pytest.raises(ValueError, match="'ci' parameter of evaluate"):
        evaluate_spark(df, label="y", scores="s1", ci="nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="score column 's9' is not in the data"):
        evaluate_spark(df, label="y", scores="s9")
    # in-memory data is sent to Spark, after the local engine's checks of its columns
    with pytest.raises(ValueError, match="score column 's1' is not in the data"):
        evaluate_spark({"y": [1]}, label="y", scores="s1")
    with pytest.raises(TypeError, match="'data' parameter of evaluate"):
        evaluate_spark([1, 2], label="y", scores="s1")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        evaluate_spark(str(tmp_path / "missing.parquet"), spark=spark, label="y", scores="s1")
    with pytest.raises(ValueError, match="Parquet paths only"):
        evaluate_spark(str(tmp_path / "x.csv"), spark=spark, label="y", scores="s1")
    # data errors raise the local engine's exception on the driver
    bad = df.withColumn("s1", df["s1"] * 3)
    with pytest.raises(ValueError, match="outside") as info:
        evaluate_spark(bad.repartition(3), label="y", scores="s1")
    assert any("Spark executor" in n for n in getattr(info.value, "__notes__", []))
    with pytest.raises(ValueError, match="at least one row"):
        evaluate_spark(df.limit(0), label="y", scores="s1")
    with pytest.raises(ValueError, match=r"All .* rows were dropped"):
        evaluate_spark(df.withColumn("s1", df["s1"] * float("nan")), label="y", scores="s1",
                       on_invalid="drop")  # fmt: skip


def test_label_values_checked_across_partitions(spark: Any) -> None:
    # each partition sees two label values; together there are three
    rows = [("a", 0.2, 0), ("b", 0.7, 0), ("a", 0.4, 1), ("c", 0.9, 1)]
    d = spark.createDataFrame(rows, ["lab", "s", "part"]).repartition(2, "part")
    assert sorted(len(p) for p in d.rdd.glom().collect()) in ([2, 2], [0, 4])
    with pytest.raises(ValueError, match="more than two values: a, b, c"):
        evaluate_spark(d, label="lab", positive_label="a", scores="s")
    local = pa.table({"lab": ["a", "b", "a", "c"], "s": [0.2, 0.7, 0.4, 0.9]})
    with pytest.raises(ValueError, match="more than two values: a, b, c"):
        assay.evaluate(local, label="lab", positive_label="a", scores="s")


def test_signature_matches_evaluate() -> None:
    local = inspect.signature(assay.evaluate).parameters
    spark_params = inspect.signature(evaluate_spark).parameters
    for name, p in local.items():
        if name in ("engine", "spark", "master"):  # how evaluate() picks and reaches Spark
            continue
        assert name in spark_params, name
        assert spark_params[name].default == p.default, name
        assert spark_params[name].kind == p.kind, name
    assert {"spark", "master"} <= set(spark_params)


def test_tree_levels() -> None:
    assert _tree_levels(1) == []
    assert _tree_levels(_FAN_IN) == []
    assert _tree_levels(17) == [3]
    assert _tree_levels(10_000) == [1250, 157, 20, 3]
    assert _tree_levels(None) == [_FAN_IN]


def test_spark_session_reuses_the_active_one(spark: Any) -> None:
    assert spark_session() is spark
    assert spark_session("local[2]") is spark
    with pytest.raises(ValueError, match="already running"):
        spark_session("spark://elsewhere:7077")


def test_parquet_read_by_arrow_tasks_equals_both_other_paths(
    spark: Any, table: pa.Table, parquet: Path, tmp_path: Path
) -> None:
    """``read="arrow"`` splits the row groups into Spark tasks that read with pyarrow: the
    same result as Spark's own reading and as the local engine, for a file and for a
    directory whose files differ (a column missing from one file reads as missing)."""
    kw: dict[str, Any] = dict(label="y", scores=["s1", "s2"], slices=["race", ("sex", "age")],
                              weight="w", row_key=ROW_CONTENT)  # fmt: skip
    local = assay.evaluate(str(parquet), **kw)
    arrow = assay.evaluate(str(parquet), engine=SparkEngine(spark=spark, read="arrow"), **kw)
    by_spark = assay.evaluate(str(parquet), engine=SparkEngine(spark=spark, read="spark"), **kw)
    assert "partition" in arrow.source
    assert_same(local, arrow)
    assert_same(by_spark, arrow)
    # the default on a local master is the pyarrow reading
    assert_same(local, assay.evaluate(str(parquet), engine=SparkEngine(spark=spark), **kw))

    d = tmp_path / "dir"
    d.mkdir()
    pq.write_table(table.slice(0, 1500), d / "a.parquet", row_group_size=400)
    pq.write_table(table.slice(1500).drop(["age"]), d / "b.parquet", row_group_size=700)
    local_dir = assay.evaluate(str(d), **kw)
    assert_same(local_dir, assay.evaluate(str(d), engine=SparkEngine(spark=spark, read="arrow"), **kw))
    # the local engine's messages for bad Parquet data
    with pytest.raises(ValueError, match="score column 's9' is not in the data"):
        assay.evaluate(str(d), label="y", scores="s9", engine=SparkEngine(spark=spark, read="arrow"))
    bad = tmp_path / "bad.parquet"
    pq.write_table(table.set_column(table.schema.get_field_index("s1"), "s1",
                                    pa.array(np.full(table.num_rows, 3.0))), bad)  # fmt: skip
    with pytest.raises(ValueError, match="outside") as info:
        assay.evaluate(str(bad), label="y", scores="s1", engine=SparkEngine(spark=spark, read="arrow"))
    assert any("Spark executor" in n for n in getattr(info.value, "__notes__", []))
    with pytest.raises(ValueError, match=r"The 'read' parameter of SparkEngine must be one of \['auto', 'spark', 'arrow'\]. Got 'jvm' instead."):
        SparkEngine(read="jvm")


def test_row_groups_split_into_contiguous_tasks() -> None:
    from assay.engines.spark import _split_row_groups

    groups = [("a", 0, 100), ("a", 1, 100), ("b", 0, 50), ("b", 1, 150), ("c", 0, 100)]
    tasks = _split_row_groups(groups, 2)
    assert tasks == [[("a", [0, 1]), ("b", [0])], [("b", [1]), ("c", [0])]]
    flat = [(f, i) for t in _split_row_groups(groups, 7) for f, rgs in t for i in rgs]
    assert flat == [(f, i) for f, i, _ in groups]  # every row group once, in order
    assert len(_split_row_groups(groups, 7)) <= 5 and _split_row_groups([], 3) == []
    # about equal rows per task
    rows = {(f, i): n for f, i, n in groups}
    sizes = [sum(rows[f, i] for f, rgs in t for i in rgs) for t in _split_row_groups(groups, 2)]
    assert sizes == [250, 250]


def test_dataframe_that_is_a_bare_parquet_scan_is_read_by_arrow_tasks(
    spark: Any, table: pa.Table, parquet: Path, tmp_path: Path
) -> None:
    """``spark.read.parquet(path)`` untransformed is read like the path (pyarrow tasks, the
    same numbers as Spark's reading and the local engine); a transformed DataFrame, a
    partitioned directory or a schema Spark chose differently stays with Spark."""
    from pyspark.sql import functions as F

    kw: dict[str, Any] = dict(label="y", scores=["s1", "s2"], slices=["race", ("sex", "age")],
                              weight="w", row_key=ROW_CONTENT)  # fmt: skip
    scan = spark.read.parquet(str(parquet))
    local = assay.evaluate(str(parquet), **kw)
    arrow = assay.evaluate(scan, engine=SparkEngine(spark=spark), **kw)
    by_spark = assay.evaluate(scan, engine=SparkEngine(spark=spark, read="spark"), **kw)
    assert arrow.source.startswith("Spark DataFrame (Parquet scan of 1 file)")
    assert by_spark.source.startswith("Spark DataFrame (")  # partitions of Spark's reading
    assert "Parquet scan" not in by_spark.source
    assert_same(local, arrow)
    assert_same(by_spark, arrow)
    # transformations: Spark reads (a filter changes the rows, so the arrow path would be wrong)
    kept = scan.filter(F.col("y") == 1)
    r = assay.evaluate(kept, engine=SparkEngine(spark=spark), **kw)
    assert "Parquet scan" not in r.source
    assert r.n_rows == int(np.sum(table.column("y").to_numpy() == 1))
    sel = assay.evaluate(scan.select("y", "s1", "s2", "race", "sex", "age", "w"),
                         engine=SparkEngine(spark=spark), **kw)  # fmt: skip
    assert "Parquet scan" not in sel.source
    assert_same(local, sel)
    # a hive-partitioned directory (partition column from the path): Spark reads
    part = tmp_path / "part"
    for race in ["A", "B"]:
        (part / f"grp={race}").mkdir(parents=True)
        pq.write_table(table.slice(0 if race == "A" else 1000, 1000), part / f"grp={race}" / "x.parquet")
    r = assay.evaluate(spark.read.parquet(str(part)), engine=SparkEngine(spark=spark),
                       **{**kw, "slices": ["grp"]})  # fmt: skip
    assert "Parquet scan" not in r.source and {"grp=A", "grp=B"} <= {s.slice for s in r.slices}
    # files that differ: with mergeSchema Spark has every column, so the arrow path applies
    d = tmp_path / "dir"
    d.mkdir()
    pq.write_table(table.slice(0, 1500), d / "a.parquet", row_group_size=400)
    pq.write_table(table.slice(1500).drop(["age"]), d / "b.parquet", row_group_size=700)
    merged = spark.read.option("mergeSchema", "true").parquet(str(d))
    r = assay.evaluate(merged, engine=SparkEngine(spark=spark), **kw)
    assert r.source.startswith("Spark DataFrame (Parquet scan of 2 files)")
    assert_same(assay.evaluate(str(d), **kw), r)


@pytest.mark.parametrize("ci", ["jackknife", "bootstrap"])
def test_in_memory_data_on_spark_equals_the_local_engine(spark: Any, table: pa.Table, ci: str) -> None:
    # No row_key: on Spark each row keeps its position as its key, as the local engine.
    kw: dict[str, Any] = dict(label="y", scores={"a": "s1", "b": "s2"}, slices=SLICES,
                              weight="w", ci=ci)  # fmt: skip
    for data in (table, table.to_pandas(), {c: table.column(c).to_numpy(zero_copy_only=False)
                                            for c in ("y", "s1", "s2", "w", "race", "region")}):  # fmt: skip
        k = dict(kw, slices=["race", "region"]) if isinstance(data, dict) else kw
        local = assay.evaluate(data, **k)
        dist = assay.evaluate(data, engine=spark, **k)
        assert_same(local, dist)
        assert dist.config["row_key"] is None and "partition" in dist.source


def test_in_memory_data_with_the_position_column_name_is_refused(spark: Any) -> None:
    from assay.engines.spark import MEMORY_ROW_KEY

    data = {"y": np.array([0, 1, 1]), "s": np.array([0.2, 0.7, 0.4]), MEMORY_ROW_KEY: np.arange(3)}
    with pytest.raises(ValueError, match=f"has a column named '{MEMORY_ROW_KEY}'"):
        assay.evaluate(data, label="y", scores="s", engine=spark)


@pytest.mark.parametrize("n_groups", [2, 3, 4, 8])
def test_each_arrow_task_gets_its_own_partition(spark: Any, n_groups: int) -> None:
    # A round-robin repartition of a few task rows could put two in one partition and leave
    # a core idle (seen: one task with all the row groups, the other with none).
    groups = [("f", i, 100) for i in range(n_groups)]
    for _ in range(5):
        df, n, _, _ = SparkEngine(spark=spark, read="arrow")._tasks(spark, pa.schema([]), groups, "x")
        assert n == min(n_groups, spark.sparkContext.defaultParallelism)
        assert _sizes(df) == [1] * n
