"""Peak memory of a sliced evaluation against the number of slice values.

A Parquet file of ``--rows`` rows is written chunk by chunk (bounded memory) with a binary
label ``y``, a continuous score ``score`` and a slice column ``group`` holding ``V``
distinct values (a zip-code-like integer, uniform), then
``assay.evaluate(path, label="y", scores="score", slices=["group"], ci="jackknife",
max_slices=V + 1, ...)`` runs in a fresh subprocess, which reports its wall time, peak
resident memory (``ru_maxrss``), the size of the merged state, and the size of the result
table. The peer is the same command on another checkout (``--peer-src``), e.g. the
version before the adaptive histograms, run side by side.

Usage::

    python benchmarks/bench_memory.py --values 1000,100000 --rows 10000000
    python benchmarks/bench_memory.py --values 1000 --rows 1000000 --thresholds 0.5
    python benchmarks/bench_memory.py --quick        # 1e6 rows, 1,000 and 10,000 values
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, rows: int, values: int, seed: int = 0, chunk: int = 1_000_000) -> None:
    schema = pa.schema([("y", pa.int8()), ("score", pa.float32()), ("group", pa.int32())])
    with pq.ParquetWriter(path, schema) as w:
        for i, start in enumerate(range(0, rows, chunk)):
            n = min(chunk, rows - start)
            rng = np.random.default_rng([seed, i])
            g = rng.integers(0, values, n).astype(np.int32)
            z = rng.normal(0.0, 1.0, n) + 0.3 * (g % 7 == 0)
            y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.int8)
            s = (1.0 / (1.0 + np.exp(-(z + rng.normal(0, 1.0, n))))).astype(np.float32)
            w.write_table(pa.table({"y": y, "score": s, "group": g}, schema=schema))


CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import assay
path, values, thresholds = sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
t = time.perf_counter()
kw = dict(label="y", scores="score", slices=["group"], ci="jackknife")
if thresholds is not None:
    kw["thresholds"] = thresholds
try:
    r = assay.evaluate(path, max_slices=values + 10, **kw)
except TypeError:  # a version without max_slices
    r = assay.evaluate(path, **kw)
wall = time.perf_counter() - t
print(json.dumps({
    "wall_s": wall,
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "table_mib": r.to_arrow().nbytes / 2**20,
    "table_rows": r.to_arrow().num_rows,
    "slices": len(r.slices),
}))
"""


def run(src: Path, path: Path, values: int, thresholds: list[float] | None) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(src), str(path), str(values), json.dumps(thresholds)],
        capture_output=True, text=True, check=False, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        return {"error": " | ".join(tail)}  # type: ignore[dict-item]
    out: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--values", default="1000,100000")
    ap.add_argument("--thresholds", default=None, help="comma-separated (default: evaluate's 9)")
    ap.add_argument("--peer-src", default=None, help="src/ folder of another checkout to compare")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rows = 1_000_000 if args.quick else args.rows
    values = [1000, 10000] if args.quick else [int(v) for v in args.values.split(",")]
    thresholds = None if args.thresholds is None else [float(t) for t in args.thresholds.split(",")]
    print(f"rows={rows:,} thresholds={thresholds or 'default (9)'} ci=jackknife(20)")
    print(f"{'values':>8} {'version':>8} {'wall s':>8} {'peak MiB':>9} {'table MiB':>9} {'table rows':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for v in values:
            path = Path(tmp) / f"d{v}.parquet"
            t = time.perf_counter()
            write(path, rows, v)
            print(f"# wrote {path.stat().st_size / 2**20:.0f} MiB in {time.perf_counter() - t:.1f} s",
                  file=sys.stderr)  # fmt: skip
            versions = [("this", ROOT / "src")]
            if args.peer_src:
                versions.append(("peer", Path(args.peer_src)))
            for name, src in versions:
                r = run(src, path, v, thresholds)
                if "error" in r:
                    print(f"{v:>8,} {name:>8}  failed: {r['error']}")
                    continue
                print(f"{v:>8,} {name:>8} {r['wall_s']:8.1f} {r['peak_mib']:9.0f} "
                      f"{r['table_mib']:9.0f} {int(r['table_rows']):11,}")  # fmt: skip
            path.unlink()
    print(f"# parent peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
