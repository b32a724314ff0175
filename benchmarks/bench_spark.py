"""Spark engine vs local engine: rows per second, driver memory as rows grow, scale-out.

    python benchmarks/bench_spark.py                 # 10M rows; memory at 1M, 3M, 10M
    python benchmarks/bench_spark.py --quick         # 1M rows; memory at 0.3M, 1M
    python benchmarks/bench_spark.py --json out.json

Synthetic data (label ``y``, ``score``, ``sex`` with 2% nulls, ``race`` with 5 values) is
written once per size to Parquet (row groups of 1M rows) and both engines read that file:
``assay.evaluate(path)`` streams it in one process; ``evaluate_spark(path)`` reads it
with ``spark.read.parquet`` on Spark ``local[2]``. Both evaluate the same thing: slices
``sex``, ``race`` and ``sex x race``, 9 thresholds, jackknife intervals (20 buckets),
4096-bin histogram AUCs, ``row_key=ROW_CONTENT`` (the Spark default).

Every measurement runs in a fresh subprocess, so that peak memory is its own:

* local engine: wall time and the process's peak resident memory (RSS, sampled);
* Spark: wall time of ``evaluate_spark`` after a warm-up evaluation (session start and
  Python worker start-up are reported separately), and, sampled every 50 ms while it
  runs: the Python driver process's RSS, the JVM's RSS and heap in use, and the largest
  Python worker's RSS. In ``local[N]`` mode the driver and the executors share one JVM,
  so the JVM numbers are an upper bound on the driver's; what only the driver holds is
  the few partial states it collects (their compressed and in-memory sizes are reported).

The scale-out section times, in this process and on one core, what one Spark task does
(``_partition_payload``: validate, hash, update, pickle and compress one partition's
state) and one merge, to estimate the time on a cluster from the per-partition cost.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
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


# -------------------------------------------------------------------------- sampling
def _rss(pid: int | str = "self") -> int:
    """Resident memory of a process in bytes (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        kids: list[int] = []
        try:
            threads = os.listdir(f"/proc/{p}/task")  # children hang off the thread that forked
        except OSError:
            threads = []
        for tid in threads:
            try:
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    kids += [int(k) for k in f.read().split()]
            except OSError:
                pass
        out += kids
        todo += kids
    return out


class Sampler:
    """Samples named gauges every ``interval`` seconds in a thread; keeps their maxima."""

    def __init__(self, gauges: dict[str, Callable[[], float]], interval: float = 0.05) -> None:
        self.gauges = gauges
        self.interval = interval
        self.peak = {k: 0.0 for k in gauges}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        for k, g in self.gauges.items():
            try:
                self.peak[k] = max(self.peak[k], float(g()))
            except Exception:
                pass

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


# --------------------------------------------------------------------------- workers
def worker_local(path: str) -> dict[str, Any]:
    import assay
    from assay.evaluation import ROW_CONTENT

    n = pq.ParquetFile(path).metadata.num_rows
    base = _rss()
    with Sampler({"rss": _rss}) as s:
        t = time.perf_counter()
        result = assay.evaluate(path, row_key=ROW_CONTENT, **EVAL_KW)
        wall = time.perf_counter() - t
    assert result.n_rows == n
    return {
        "engine": "local",
        "rows": n,
        "seconds": wall,
        "rows_per_s": n / wall,
        "rss_before_mb": base / 2**20,
        "rss_peak_mb": s.peak["rss"] / 2**20,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def worker_spark(path: str, master: str, driver_memory: str) -> dict[str, Any]:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    import assay.engines.spark as engine

    n = pq.ParquetFile(path).metadata.num_rows
    t = time.perf_counter()
    spark = (
        SparkSession.builder.master(master)
        .appName("assay-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", driver_memory)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - t

    # warm-up: starts the Python workers and the JIT (a real job runs that once too)
    t = time.perf_counter()
    engine.evaluate_spark(spark.read.parquet(path).limit(20_000), **EVAL_KW)
    warmup = time.perf_counter() - t

    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    jvm_pid = int(jvm.java.lang.ProcessHandle.current().pid())
    memory_bean = jvm.java.lang.management.ManagementFactory.getMemoryMXBean()
    jvm.java.lang.System.gc()

    received: list[tuple[int, int]] = []  # (compressed, pickled) bytes of collected states
    loads = engine._loads

    def counting_loads(blob: bytes) -> Any:
        part = loads(blob)
        received.append((len(blob), len(pickle.dumps(part, protocol=5))))
        return part

    engine._loads = counting_loads  # the driver's merge loop only (executors import afresh)

    def workers() -> list[int]:
        return [p for p in _descendants(jvm_pid) if p != os.getpid()]

    gauges: dict[str, Callable[[], float]] = {
        "driver_python_rss": _rss,
        "jvm_rss": lambda: _rss(jvm_pid),
        "jvm_heap_used": lambda: memory_bean.getHeapMemoryUsage().getUsed(),
        "worker_rss_max": lambda: max([_rss(p) for p in workers()] or [0]),
    }
    base = {k: g() for k, g in gauges.items()}
    df = spark.read.parquet(path)
    n_parts = df.rdd.getNumPartitions()
    with Sampler(gauges) as s:
        t = time.perf_counter()
        result = engine.evaluate_spark(df, **EVAL_KW)
        wall = time.perf_counter() - t
    assert result.n_rows == n
    heap_max = memory_bean.getHeapMemoryUsage().getMax()
    spark.stop()
    return {
        "engine": f"spark {master}",
        "rows": n,
        "partitions": n_parts,
        "seconds": wall,
        "rows_per_s": n / wall,
        "startup_s": startup,
        "warmup_s": warmup,
        "states_received": len(received),
        "states_compressed_mb": sum(c for c, _ in received) / 2**20,
        "state_pickled_mb": max([p for _, p in received] or [0]) / 2**20,
        "before_mb": {k: v / 2**20 for k, v in base.items()},
        "peak_mb": {k: v / 2**20 for k, v in s.peak.items()},
        "jvm_heap_max_mb": heap_max / 2**20,
    }


def run_worker(args: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--_worker", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-5000:])
        raise RuntimeError(f"worker {args} failed")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------------- scale-out
def per_partition_cost(path: Path, rows: int = 1_000_000) -> dict[str, Any]:
    """One core: rows/s of one Spark task's work, its fixed cost, and one merge."""
    import inspect

    import assay
    from assay.engines.spark import _loads, _merge_payloads, _partition_payload
    from assay.evaluation import ROW_CONTENT
    from assay.evaluation.evaluate import _Config

    sig = inspect.signature(assay.evaluate)
    kw = {
        k: p.default
        for k, p in sig.parameters.items()
        if p.default is not inspect.Parameter.empty and k not in ("progress", "state")
    }
    kw.update(EVAL_KW, row_key=ROW_CONTENT)
    cfg = _Config.build(**kw)
    table = pq.ParquetFile(str(path)).read_row_group(0).slice(0, rows)
    batches = table.to_batches(max_chunksize=10_000)  # Spark's Arrow batch size

    def task(bs: list[pa.RecordBatch]) -> tuple[float, bytes]:
        t = time.perf_counter()
        out = list(_partition_payload(cfg, bs))
        return time.perf_counter() - t, out[0].column(0)[0].as_py()

    task(batches[:2])  # warm-up
    big_s, blob = min((task(batches) for _ in range(2)), key=lambda x: x[0])
    small_s, small_blob = min((task(batches[:1]) for _ in range(3)), key=lambda x: x[0])
    merge_in = pa.RecordBatch.from_pylist(
        [{"payload": blob}] * 8, schema=pa.schema([("payload", pa.binary())])
    )
    t = time.perf_counter()
    list(_merge_payloads([merge_in]))
    merge8 = time.perf_counter() - t
    state = _loads(blob).state
    assert state is not None
    return {
        "rows": table.num_rows,
        "task_s": big_s,
        "task_rows_per_s": table.num_rows / big_s,
        "small_task_s": small_s,
        "merge_8_states_s": merge8,
        "state_compressed_mb": len(blob) / 2**20,
        "state_small_compressed_mb": len(small_blob) / 2**20,
        "state_pickled_mb": len(pickle.dumps(state, protocol=5)) / 2**20,
    }


# ------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--memory-sizes", default="1000000,3000000,10000000")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="1g")
    ap.add_argument("--data-dir", default=None, help="where the Parquet files are kept")
    ap.add_argument("--repeat", type=int, default=1, help="throughput runs per engine")
    ap.add_argument("--quick", action="store_true", help="1M rows; memory at 0.3M and 1M")
    ap.add_argument("--json", default=None, help="write all measurements here")
    ap.add_argument("--_worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._worker:
        kind, path, *rest = args._worker
        out = worker_local(path) if kind == "local" else worker_spark(path, *rest)
        print(json.dumps(out))
        return 0

    if args.quick:
        args.rows, args.memory_sizes = 1_000_000, "300000,1000000"
    sizes = sorted({int(float(s)) for s in args.memory_sizes.split(",") if s} | {args.rows})
    data_dir = Path(args.data_dir or Path(tempfile.gettempdir()) / "assay-bench-spark")
    data_dir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()}", file=sys.stderr)
    paths = {n: data_file(data_dir, n) for n in sizes}
    spark_args = [args.master, args.driver_memory]

    report: dict[str, Any] = {"rows": args.rows, "master": args.master, "runs": []}
    print(f"\nthroughput at {args.rows:,} rows (best of {args.repeat})", file=sys.stderr)
    best: dict[str, dict[str, Any]] = {}
    for _ in range(args.repeat):
        for kind in ("local", "spark"):
            r = run_worker([kind, str(paths[args.rows]), *spark_args])
            report["runs"].append(r)
            print(f"  {r['engine']:<16} {r['seconds']:7.1f} s  {r['rows_per_s']:>12,.0f} rows/s",
                  file=sys.stderr)  # fmt: skip
            if kind not in best or r["seconds"] < best[kind]["seconds"]:
                best[kind] = r

    print("\nmemory as rows grow", file=sys.stderr)
    memory: list[dict[str, Any]] = []
    for n in sizes:
        for kind in ("local", "spark"):
            if n == args.rows and kind in best:
                r = best[kind]
            else:
                r = run_worker([kind, str(paths[n]), *spark_args])
            memory.append(r)
    report["memory"] = memory
    print("\nscale-out: one Spark task's work on one core", file=sys.stderr)
    report["per_partition"] = per_partition_cost(paths[min(sizes)])
    print(json.dumps(report["per_partition"], indent=1), file=sys.stderr)

    print("\n| engine | rows | seconds | rows/s |\n|---|---:|---:|---:|")
    for kind in ("local", "spark"):
        r = best[kind]
        print(f"| {r['engine']} | {r['rows']:,} | {r['seconds']:.1f} | {r['rows_per_s']:,.0f} |")
    print(
        "\n| rows | local: process peak RSS | Spark: driver Python peak RSS | JVM peak RSS "
        "| JVM heap peak | largest Python worker | states to driver (compressed) | partitions |"
        "\n|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    for n in sizes:
        loc = next(r for r in memory if r["rows"] == n and r["engine"] == "local")
        sp = next(r for r in memory if r["rows"] == n and r["engine"] != "local")
        pk = sp["peak_mb"]
        print(
            f"| {n:,} | {loc['rss_peak_mb']:.0f} MB | {pk['driver_python_rss']:.0f} MB "
            f"| {pk['jvm_rss']:.0f} MB | {pk['jvm_heap_used']:.0f} MB "
            f"| {pk['worker_rss_max']:.0f} MB "
            f"| {sp['states_received']} ({sp['states_compressed_mb']:.1f} MB) | {sp['partitions']} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
