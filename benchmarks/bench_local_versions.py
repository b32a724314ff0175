"""Local-engine time of this checkout against another one (``--peer-src``), side by side.

Writes a Parquet table of ``--rows`` rows (binary label, ``--models`` score columns, slice
columns sex (2), race (5), age (3)), then alternately runs ``assay.evaluate`` on it with
slices ``sex, race, age, (sex, race)`` and jackknife intervals in a fresh process of each
version (best of 3 after a warm-up, 5 rounds) and prints the medians and their ratio.

Usage::

    git worktree add /tmp/old 177ad83     # the version before the platform refactor
    python benchmarks/bench_local_versions.py --peer-src /tmp/old/src --rows 1000000 --models 1
"""

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ap = argparse.ArgumentParser()
ap.add_argument("--rows", type=int, default=1_000_000)
ap.add_argument("--models", type=int, default=1)
ap.add_argument("--peer-src", required=True)
ap.add_argument("--rounds", type=int, default=5)
args = ap.parse_args()
n, models = args.rows, args.models
THIS = str(Path(__file__).resolve().parents[1] / "src")
rng = np.random.default_rng(0)
z = rng.normal(size=n)
d = {
    "y": (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int8),
    "sex": rng.choice(["F", "M"], n),
    "race": rng.choice(list("abcde"), n),
    "age": rng.choice(["y", "m", "o"], n),
}
for m in range(models):
    d[f"s{m}"] = 1 / (1 + np.exp(-(z + rng.normal(size=n))))
PATH = f"/tmp/assay_bench_local_{os.getpid()}.parquet"
pd.DataFrame(d).to_parquet(PATH)
child = r"""
import sys, time; sys.path.insert(0, sys.argv[1]); import assay, pyarrow.parquet as pq
t = pq.read_table(sys.argv[3]); m = int(sys.argv[2])
sc = [f"s{i}" for i in range(m)]
kw = dict(label="y", scores=sc if m > 1 else sc[0], slices=["sex", "race", "age", ("sex", "race")], ci="jackknife")
assay.evaluate(t, **kw); best = []
for _ in range(3):
    a = time.perf_counter(); assay.evaluate(t, **kw); best.append(time.perf_counter() - a)
print(min(best))
"""
res = {"old": [], "new": []}
for _ in range(args.rounds):
    for name, src in (("old", args.peer_src), ("new", THIS)):
        out = subprocess.run(
            [sys.executable, "-c", child, src, str(models), PATH],
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        res[name].append(
            float(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else float("nan")
        )
        if out.returncode:
            print(out.stderr[-500:])
mo, mn = statistics.median(res["old"]), statistics.median(res["new"])
os.unlink(PATH)
print(
    f"rows={n} models={models} old median {mo:.3f}s new median {mn:.3f}s ratio new/old {mn / mo:.3f}"
)
