"""Streaming evaluation: ``assay.evaluate`` on a Parquet file of up to 100 million rows.

For each size a Parquet file is written chunk by chunk with ``pyarrow.parquet.ParquetWriter``
(bounded memory; row groups of ~1M rows) with the columns

* ``y``: int8 0/1 label,
* ``score``: float32 probability (continuous),
* ``sex``: dictionary-encoded string, 2 values,
* ``race``: dictionary-encoded string, 5 values,

then ``assay.evaluate(path, label="y", scores="score", slices=["sex", "race", ("sex", "race")],
ci="jackknife")`` runs in a fresh subprocess, which reports its wall time, CPU time and
peak resident memory (``ru_maxrss`` of that child from ``os.wait4``, cross-checked with
``VmHWM`` from ``/proc/self/status``). The file is deleted afterwards unless ``--keep``.

The evaluation engine is single-threaded (NumPy); Arrow's Parquet decoder may use a
second thread, which is why CPU seconds are reported next to wall seconds.

Usage::

    python benchmarks/bench_stream.py                          # 1M, 10M and 100M rows
    python benchmarks/bench_stream.py --quick                  # smoke run: 200k and 1M rows
    python benchmarks/bench_stream.py --sizes 100000000 --dir /data --keep
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SLICES: list[Any] = ["sex", "race", ("sex", "race")]
# what evaluate() runs on: a modified file here marks the commit '+dirty'
ENGINE_PATHS = ["src/assay/evaluation", "src/assay/io", "src/assay/_util"]
SEXES = ["F", "M"]
RACES = ["A", "B", "C", "D", "E"]
RACE_CDF = np.cumsum([0.40, 0.25, 0.15, 0.12, 0.08])
BYTES_PER_ROW_ESTIMATE = 6.5  # observed ~5.2 B/row with snappy; kept pessimistic


# --------------------------------------------------------------------------- writing
def make_chunk(n: int, seed: int, chunk_index: int) -> pa.Table:
    """``n`` synthetic rows; chunk ``i`` depends only on (seed, i)."""
    rng = np.random.default_rng([seed, chunk_index])
    sex_i = rng.integers(0, 2, n).astype(np.int8)
    race_i = np.minimum(np.searchsorted(RACE_CDF, rng.random(n)), len(RACES) - 1).astype(np.int8)
    base = -0.4 + 0.3 * sex_i - 0.15 * race_i
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-base))).astype(np.int8)
    signal = 1.6 - 0.2 * race_i + 0.2 * sex_i
    logit = base + signal * (2.0 * y - 1.0) + rng.normal(0.0, 1.4, n)
    score = (1.0 / (1.0 + np.exp(-logit))).astype(np.float32)
    return pa.table(
        {
            "y": pa.array(y),
            "score": pa.array(score),
            "sex": pa.DictionaryArray.from_arrays(pa.array(sex_i), pa.array(SEXES)),
            "race": pa.DictionaryArray.from_arrays(pa.array(race_i), pa.array(RACES)),
        }
    )


def write_parquet(path: Path, n_rows: int, row_group: int, seed: int) -> dict[str, Any]:
    """Write ``n_rows`` rows, one row group at a time; returns timing and size."""
    t0 = time.perf_counter()
    schema = make_chunk(1, seed, 0).schema
    with pq.ParquetWriter(str(path), schema, compression="snappy") as writer:
        done = 0
        i = 0
        while done < n_rows:
            m = min(row_group, n_rows - done)
            writer.write_table(make_chunk(m, seed, i), row_group_size=row_group)
            done += m
            i += 1
    md = pq.ParquetFile(str(path)).metadata
    return {
        "write_s": time.perf_counter() - t0,
        "file_bytes": path.stat().st_size,
        "row_groups": md.num_row_groups,
        "rows": md.num_rows,
    }


# --------------------------------------------------------------------------- worker
def _proc_status() -> dict[str, int]:
    """VmRSS / VmHWM of this process in bytes (Linux); empty elsewhere."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, val = line.split(":", 1)
                    out[key] = int(val.split()[0]) * 1024
    except OSError:
        pass
    return out


def worker(args: argparse.Namespace) -> int:
    """Run one evaluation and print a JSON line of measurements on stdout."""
    import assay

    baseline = _proc_status().get("VmRSS", 0)
    kw: dict[str, Any] = {
        "label": "y",
        "scores": "score",
        "slices": SLICES,
        "ci": None if args.ci == "none" else args.ci,
        "chunk_size": args.chunk_size,
    }
    prof = None
    if args.profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    c0, t0 = time.process_time(), time.perf_counter()
    r = assay.evaluate(args.worker, **kw)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if prof is not None:
        import pstats

        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    status = _proc_status()
    out: dict[str, Any] = {
        "wall_s": wall,
        "cpu_s": cpu,
        "rows_evaluated": r.n_rows,
        "baseline_rss_bytes": baseline,
        "vmhwm_bytes": status.get("VmHWM"),
        "arrow_pool_peak_bytes": pa.default_memory_pool().max_memory(),
        "overall_fpr_0.5": r.value("fpr", slice="overall", threshold=0.5).value,
        "overall_roc_auc": r.value("roc_auc", slice="overall").value,
        "auc_max_error": float(np.nanmax(r.to_frame()["max_error"].to_numpy(dtype=float))),
        "metric_rows": len(r.to_frame()),
    }
    if args.verify:
        # Same numbers when the whole file is evaluated in memory in one go.
        table = pq.read_table(args.worker)
        ref = assay.evaluate(table, **{**kw, "chunk_size": max(1, table.num_rows)})
        a, b = r.to_frame(), ref.to_frame()
        cols = ["value", "lower", "upper"]
        diff = np.nanmax(np.abs(a[cols].to_numpy(dtype=float) - b[cols].to_numpy(dtype=float)))
        out["max_abs_diff_vs_in_memory"] = float(diff)
    print(json.dumps(out))
    return 0


def run_worker(path: Path, args: argparse.Namespace, verify: bool) -> dict[str, Any]:
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        str(path),
        "--ci",
        args.ci,
        "--chunk-size",
        str(args.chunk_size),
    ]
    if verify:
        cmd.append("--verify")
    if args.profile:
        cmd.append("--profile")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    # os.wait4 gives this child's own rusage (RUSAGE_CHILDREN would mix all children).
    stdout = proc.stdout.read() if proc.stdout is not None else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed with exit code {proc.returncode}")
    res = json.loads(stdout.strip().splitlines()[-1])
    if verify:
        # the peak then includes the in-memory reference evaluation: keep only VmHWM
        res["maxrss_bytes"] = None
    else:
        res["maxrss_bytes"] = usage.ru_maxrss * 1024  # kilobytes on Linux
    res["child_user_s"] = usage.ru_utime
    res["child_sys_s"] = usage.ru_stime
    res["process_s"] = elapsed
    return res


# --------------------------------------------------------------------------- report
def _git_commit() -> str:
    """Short commit of the checkout the benchmark runs from ('+dirty' if modified)."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        sha = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--", *ENGINE_PATHS],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def versions() -> dict[str, str]:
    import assay

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "assay": assay.__version__,
        "assay_commit": _git_commit(),
        "numpy": np.__version__,
        "pyarrow": pa.__version__,
        "cpu": cpu,
        "cores": str(os.cpu_count()),
    }


def log(msg: str) -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"[{time.strftime('%H:%M:%S')} load {load}] {msg}", file=sys.stderr, flush=True)


def mib(b: float | None) -> str:
    return "-" if b is None else f"{b / 2**20:,.0f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000000,10000000,100000000", help="row counts")
    p.add_argument("--quick", action="store_true", help="smoke run: 200k and 1M rows")
    p.add_argument("--dir", default=None, help="where to write the files (default: $TMPDIR)")
    p.add_argument("--keep", action="store_true", help="do not delete the Parquet files")
    p.add_argument("--row-group", type=int, default=1 << 20, help="rows per row group")
    p.add_argument("--chunk-size", type=int, default=262_144, help="evaluate's chunk_size")
    p.add_argument("--ci", default="jackknife", choices=["jackknife", "bootstrap", "none"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-verify", action="store_true", help="skip the in-memory cross-check")
    p.add_argument("--profile", action="store_true", help="cProfile each evaluation (stderr)")
    p.add_argument("--json", help="write all measurements to this JSON file")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--verify", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    if args.quick:
        args.sizes = "200000,1000000"
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    info = versions()
    log("versions: " + ", ".join(f"{k} {v}" for k, v in info.items()))

    folder = Path(args.dir or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    need = BYTES_PER_ROW_ESTIMATE * max(sizes) * 1.2
    free = shutil.disk_usage(folder).free
    log(f"{folder}: {free / 2**30:.1f} GiB free, largest file needs ~{need / 2**30:.2f} GiB")
    if free < need:
        print(f"Not enough disk space in {folder}: pass --dir or smaller --sizes.")
        return 2

    results = []
    for i, n in enumerate(sizes):
        path = folder / f"assay_bench_stream_{n}.parquet"
        try:
            log(f"n={n:,}: writing {path}")
            w = write_parquet(path, n, args.row_group, args.seed)
            log(f"n={n:,}: wrote {w['file_bytes'] / 2**20:,.0f} MiB in {w['write_s']:.1f} s")
            log(f"n={n:,}: evaluating in a subprocess (ci={args.ci})")
            e = run_worker(path, args, verify=False)
            log(f"n={n:,}: {e}")
            if i == 0 and not args.no_verify:
                log(f"n={n:,}: cross-check against an in-memory evaluation of the same file")
                v = run_worker(path, args, verify=True)
                e["max_abs_diff_vs_in_memory"] = v["max_abs_diff_vs_in_memory"]
                log(f"n={n:,}: max |streamed - in memory| = {v['max_abs_diff_vs_in_memory']:g}")
        finally:
            if not args.keep and path.exists():
                path.unlink()
        if e["rows_evaluated"] != n:
            raise AssertionError(f"evaluated {e['rows_evaluated']} rows, expected {n}")
        results.append({"rows": n, **w, **e})

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print()
    print(
        f"machine: {info['cpu']}, {info['cores']} cores; python {info['python']}, "
        f"assay {info['assay']} ({info['assay_commit']}), numpy {info['numpy']}, pyarrow {info['pyarrow']}"
    )
    print(
        f"evaluate(path, slices sex, race, sex x race; 9 thresholds; ci={args.ci}, "
        f"chunk_size={args.chunk_size:,}); Parquet row groups of {args.row_group:,} rows, "
        f"snappy; y int8, score float32, sex/race dictionary strings"
    )
    print()
    print(
        "| rows | file MiB | write s | evaluate wall s | evaluate CPU s | rows/s (wall) "
        "| rows per CPU-second | peak RSS MiB | RSS after imports MiB | Arrow pool peak MiB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['rows']:,} | {r['file_bytes'] / 2**20:,.0f} | {r['write_s']:.1f} "
            f"| {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['rows'] / r['wall_s']:,.0f} "
            f"| {r['rows'] / r['cpu_s']:,.0f} | {mib(r['maxrss_bytes'])} "
            f"| {mib(r['baseline_rss_bytes'])} | {mib(r['arrow_pool_peak_bytes'])} |"
        )
    print()
    print(
        "Peak RSS is ru_maxrss of the evaluating child process (os.wait4; the whole process: "
        "interpreter, NumPy, pyarrow and assay included); VmHWM from /proc agrees: "
        + ", ".join(f"{r['rows']:,}: {mib(r['vmhwm_bytes'])} MiB" for r in results)
        + ". Arrow pool peak is the most memory Arrow's allocator held at once (Parquet "
        "reading)."
    )
    print(
        "Evaluate wall / CPU s time the evaluate() call only (CPU = process time, all "
        "threads); the engine is single-threaded, so rows per CPU-second is the throughput "
        "per core. Child process totals including start-up and imports (user + sys s): "
        + ", ".join(f"{r['rows']:,}: {r['child_user_s'] + r['child_sys_s']:.1f}" for r in results)
    )
    print(f"Writer (this process) peak RSS: {mib(own)} MiB")
    for r in results:
        extra = ""
        if "max_abs_diff_vs_in_memory" in r:
            extra = f", max |streamed - in-memory| {r['max_abs_diff_vs_in_memory']:g}"
        print(
            f"  {r['rows']:,} rows: overall FPR@0.5 {r['overall_fpr_0.5']:.6f}, ROC AUC "
            f"{r['overall_roc_auc']:.6f} (histogram max_error <= {r['auc_max_error']:.2g}), "
            f"{r['metric_rows']} metric rows{extra}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"versions": info, "args": vars(args), "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
