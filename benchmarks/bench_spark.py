"""Spark engine vs local engine: rows per second per core, and where Spark's time goes.

    python benchmarks/bench_spark.py                       # 1M and 4M rows, 3 repeats
    python benchmarks/bench_spark.py --rows 1e6 --repeat 1 # quick
    python benchmarks/bench_spark.py --rows 1e7 --json out.json

Synthetic data (label ``y``, ``score``, ``sex`` with 2% nulls, ``race`` with 5 values) is
written once per size to Parquet (row groups of 1M rows). Both engines evaluate the same
thing: slices ``sex``, ``race`` and ``sex x race``, 9 thresholds, jackknife intervals (20
buckets), 4096-bin histogram AUCs, ``row_key=ROW_CONTENT`` (the Spark default):

* local: ``assay.evaluate(path, row_key=ROW_CONTENT, ...)`` in this process (one core);
* spark: ``assay.evaluate(spark.read.parquet(path), engine=SparkEngine(spark, read="spark"),
  ...)`` on ``--master`` (``local[2]``): Spark reads and streams Arrow batches to Python,
  as for any DataFrame; after a warm-up evaluation that starts the Python workers;
* spark arrow: the path with ``SparkEngine(spark, read="arrow")`` (row groups read by
  pyarrow in Spark tasks);
* spark scan: the same untransformed ``spark.read.parquet(path)`` DataFrame with the default
  ``SparkEngine(spark)``, which recognises a bare Parquet scan and reads it like the path.

Runs alternate (local, spark, local, spark, ...) in one process and medians are reported,
so that the ratio is measured side by side on a shared machine. The ratio per core is
``(local rows/s / 1) / (spark rows/s / cores)``.

The breakdown of the Spark time (medians, same repeats):

* ``scan``: a ``mapInArrow`` over the same selected columns that only counts rows, with the
  Arrow batch size the engine uses: Spark's Parquet read and JVM-to-Arrow transfer;
* ``update``: the worker's work on one core (``ChunkReader.add`` into an ``EvalState`` for
  all rows, from batches already in Python), in core-seconds;
* ``serialize``: compacting, pickling and zstd-compressing one state, times the number of
  partitions (core-seconds), and its size;
* ``driver``: decompressing, unpickling and merging the partitions' states, and finalizing.

Only public names are used: ``assay.evaluate``, ``assay.engines.spark.SparkEngine``,
``assay.core.plan.Plan``, ``assay.core.reader.ChunkReader``, ``assay.core.state.EvalState``
and ``assay.core.finalize.finalize``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

EVAL_KW: dict[str, Any] = {
    "label": "y",
    "scores": "score",
    "slices": ["sex", "race", ("sex", "race")],
}
#: The Arrow batch size the engine uses when Spark's default is in place.
ARROW_BATCH = 100_000


# ------------------------------------------------------------------------------ data
def write_data(path: Path, n: int, seed: int = 0, chunk: int = 1_000_000) -> None:
    """``n`` synthetic rows in row groups of ``chunk`` rows (written chunk by chunk)."""
    rng = np.random.default_rng(seed)
    races = np.array(["White", "Black", "Hispanic", "Asian", "Other"], dtype=object)
    sexes = np.array(["Female", "Male", None], dtype=object)
    schema = pa.schema(
        [("y", pa.int64()), ("score", pa.float64()), ("sex", pa.string()), ("race", pa.string())]
    )
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, schema) as w:
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            race = races[rng.choice(5, m, p=[0.6, 0.15, 0.12, 0.08, 0.05])]
            sex = sexes[rng.choice(3, m, p=[0.49, 0.49, 0.02])]
            y = (rng.random(m) < 0.3).astype(np.int64)
            score = 1.0 / (1.0 + np.exp(-(rng.normal(0.0, 1.0, m) + 1.5 * y - 0.8)))
            w.write_table(
                pa.table(
                    {
                        "y": y,
                        "score": score,
                        "sex": pa.array(sex, pa.string()),
                        "race": pa.array(race, pa.string()),
                    },
                    schema=schema,
                ),
                row_group_size=chunk,
            )
    tmp.rename(path)


def data_file(data_dir: Path, n: int) -> Path:
    path = data_dir / f"bench_spark_{n}.parquet"
    if not path.exists():
        t = time.perf_counter()
        write_data(path, n)
        print(f"  wrote {path} ({n:,} rows) in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return path



# ---------------------------------------------------------------------------- timing
def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _count_rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    n = 0
    for b in batches:
        n += b.num_rows
    yield pa.RecordBatch.from_pylist([{"n": n}], schema=pa.schema([("n", pa.int64())]))


def _dumps(state: Any) -> bytes:
    """What the engine does with a partition's state: compact, pickle, zstd."""
    state.compact()
    raw = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    return bytes(pa.compress(raw, codec="zstd", asbytes=True)) + len(raw).to_bytes(8, "little")


def _loads(blob: bytes) -> Any:
    size = int.from_bytes(blob[-8:], "little")
    return pickle.loads(pa.decompress(blob[:-8], decompressed_size=size, codec="zstd",
                                      asbytes=True))  # fmt: skip


def worker_costs(path: Path, n_parts: int) -> dict[str, float]:
    """One core: update, serialization and driver merge+finalize of ``n_parts`` states."""
    from assay.core.finalize import finalize
    from assay.core.plan import ROW_CONTENT, Plan
    from assay.core.reader import ChunkReader
    from assay.core.state import EvalState

    plan = Plan.build({**EVAL_KW, "row_key": ROW_CONTENT}, func="evaluate")
    table = pq.read_table(path, columns=plan.needed_columns())
    rows = table.num_rows
    per = -(-rows // n_parts)
    parts = [table.slice(i * per, per) for i in range(n_parts)]
    states = []
    t_update = 0.0
    for part in parts:
        batches = part.to_batches(max_chunksize=plan.chunk_size)
        st = EvalState(plan)
        reader = ChunkReader(plan)
        t = time.perf_counter()
        for b in batches:
            reader.add(st, b)
        t_update += time.perf_counter() - t
        states.append(st)
    t_ser, blobs = timed(lambda: [_dumps(s) for s in states])

    def driver() -> Any:
        merged = None
        for blob in blobs:
            s = _loads(blob)
            merged = s if merged is None else merged.merge(s)
        return finalize(plan, merged, source="bench", seen=rows)

    t_driver, _ = timed(driver)
    return {
        "update_core_s": t_update,
        "update_rows_per_core_s": rows / t_update,
        "serialize_core_s": t_ser,
        "state_compressed_mb": statistics.mean(len(b) for b in blobs) / 2**20,
        "state_pickled_mb": len(pickle.dumps(states[0], protocol=5)) / 2**20,
        "driver_merge_finalize_s": t_driver,
    }


def spark_session(master: str, driver_memory: str) -> Any:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(master)
        .appName("assay-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", driver_memory)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def bench_size(spark: Any, path: Path, cores: int, repeat: int) -> dict[str, Any]:
    import assay
    from assay.core.plan import ROW_CONTENT
    from assay.engines.spark import SparkEngine

    rows = pq.ParquetFile(path).metadata.num_rows
    engine = SparkEngine(spark=spark, read="spark")
    df = spark.read.parquet(str(path))
    n_parts = df.rdd.getNumPartitions()
    cols = ["y", "score", "sex", "race"]
    assay.evaluate(df.limit(20_000), engine=engine, **EVAL_KW)  # warm-up: Python workers

    def scan() -> int:
        old = spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH))
        try:
            return sum(r[0] for r in df.select(*cols).mapInArrow(_count_rows, "n long").collect())
        finally:
            spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", old)

    runs: dict[str, list[float]] = {
        "local": [], "spark": [], "spark_arrow": [], "spark_scan": [], "scan": []
    }
    arrow_engine = SparkEngine(spark=spark, read="arrow")
    default_engine = SparkEngine(spark=spark)
    for _ in range(repeat):
        t, res = timed(lambda: assay.evaluate(str(path), row_key=ROW_CONTENT, **EVAL_KW))
        assert res.n_rows == rows
        runs["local"].append(t)
        t, res = timed(lambda: assay.evaluate(df, engine=engine, **EVAL_KW))
        assert res.n_rows == rows
        runs["spark"].append(t)
        t, res = timed(lambda: assay.evaluate(str(path), engine=arrow_engine, **EVAL_KW))
        assert res.n_rows == rows
        runs["spark_arrow"].append(t)
        t, res = timed(lambda: assay.evaluate(df, engine=default_engine, **EVAL_KW))
        assert res.n_rows == rows and "Parquet scan" in res.source
        runs["spark_scan"].append(t)
        t, n = timed(scan)
        assert n == rows
        runs["scan"].append(t)
    costs = [worker_costs(path, n_parts) for _ in range(repeat)]
    med = {k: statistics.median(v) for k, v in runs.items()}
    cost = {k: statistics.median(c[k] for c in costs) for k in costs[0]}
    local_rps, spark_rps = rows / med["local"], rows / med["spark"]
    return {
        "rows": rows,
        "partitions": n_parts,
        "cores": cores,
        "runs_s": runs,
        "median_s": med,
        "local_rows_per_s": local_rps,
        "spark_rows_per_s": spark_rps,
        "local_rows_per_s_per_core": local_rps,
        "spark_rows_per_s_per_core": spark_rps / cores,
        "ratio_per_core": local_rps / (spark_rps / cores),
        "spark_arrow_rows_per_s": rows / med["spark_arrow"],
        "ratio_per_core_arrow": local_rps / (rows / med["spark_arrow"] / cores),
        "ratio_per_core_scan": local_rps / (rows / med["spark_scan"] / cores),
        "arrow_tasks": min(cores, pq.ParquetFile(path).metadata.num_row_groups),
        "breakdown": cost,
    }


def _cores(master: str) -> int:
    inner = master[master.find("[") + 1 : master.find("]")] if "[" in master else "1"
    return os.cpu_count() or 1 if inner == "*" else int(inner.split(",")[0])


# ------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", default="1e6,4e6", help="comma-separated sizes")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="1g")
    ap.add_argument("--data-dir", default=None, help="where the Parquet files are kept")
    ap.add_argument("--repeat", type=int, default=3, help="alternating runs per engine")
    ap.add_argument("--json", default=None, help="write all measurements here")
    args = ap.parse_args(argv)

    sizes = sorted({int(float(s)) for s in args.rows.split(",") if s})
    data_dir = Path(args.data_dir or Path(tempfile.gettempdir()) / "assay-bench-spark")
    data_dir.mkdir(parents=True, exist_ok=True)
    cores = _cores(args.master)
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()}", file=sys.stderr)
    paths = {n: data_file(data_dir, n) for n in sizes}
    t, spark = timed(lambda: spark_session(args.master, args.driver_memory))
    print(f"Spark {spark.version} on {args.master}: session start {t:.1f} s", file=sys.stderr)
    results = []
    for n in sizes:
        r = bench_size(spark, paths[n], cores, args.repeat)
        results.append(r)
        print(json.dumps(r, indent=1), file=sys.stderr)
    spark.stop()

    print(f"\nmedians of {args.repeat} alternating runs, Spark {args.master} ({cores} cores)\n")
    print("| rows | partitions | local s | local rows/s | Spark s | Spark rows/s "
          "| local rows/s/core | Spark rows/s/core | ratio per core |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        m = r["median_s"]
        print(
            f"| {r['rows']:,} | {r['partitions']} | {m['local']:.2f} | "
            f"{r['local_rows_per_s']:,.0f} | {m['spark']:.2f} | {r['spark_rows_per_s']:,.0f} | "
            f"{r['local_rows_per_s_per_core']:,.0f} | {r['spark_rows_per_s_per_core']:,.0f} | "
            f"{r['ratio_per_core']:.2f} |"
        )
    print("\nRead by pyarrow in Spark tasks: the path (SparkEngine(read='arrow')) and the bare "
          "spark.read.parquet DataFrame (default SparkEngine), the default on a local master\n")
    print("| rows | tasks | local s | path s | path ratio per core | DataFrame scan s "
          "| DataFrame scan ratio per core |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        m = r["median_s"]
        print(
            f"| {r['rows']:,} | {r['arrow_tasks']} | {m['local']:.2f} | {m['spark_arrow']:.2f} | "
            f"{r['ratio_per_core_arrow']:.2f} | {m['spark_scan']:.2f} | "
            f"{r['ratio_per_core_scan']:.2f} |"
        )
    print("\nSpark time breakdown (medians; core-seconds are one core's work)\n")
    print("| rows | Spark wall s | scan+transfer only (wall, all cores) s | update core-s "
          "| update rows/s/core | serialize core-s (all states) | state MB zstd / pickled "
          "| driver merge+finalize s |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        b, m = r["breakdown"], r["median_s"]
        print(
            f"| {r['rows']:,} | {m['spark']:.2f} | {m['scan']:.2f} | {b['update_core_s']:.2f} | "
            f"{b['update_rows_per_core_s']:,.0f} | {b['serialize_core_s']:.2f} | "
            f"{b['state_compressed_mb']:.1f} / {b['state_pickled_mb']:.1f} | "
            f"{b['driver_merge_finalize_s']:.2f} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
