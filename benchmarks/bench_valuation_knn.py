"""Speed of exact KNN-Shapley (``assay.valuation.knn_shapley``) at 100,000 training x 10,000
validation rows, the issue's target (under a minute on 2 cores), and OpenDataVal 1.3.0's
KNNShapley on the same rows (``--odv-val`` validation rows of them, its time scaled to all:
both are linear in the validation rows).

The rows are synthetic (standard normal features, labels from a noisy linear rule): the cost
of the exact method depends on the numbers of rows and features only (one distance row and
one sort of the training rows per validation row), not on the values.

    .venv/bin/python benchmarks/bench_valuation_knn.py --n-train 100000 --n-val 10000 \
        --features 20 --n-jobs 2 --odv-val 500
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-train", type=int, default=100_000)
    ap.add_argument("--n-val", type=int, default=10_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--odv-val", type=int, default=0, help="validation rows for OpenDataVal (0: skip)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch

    from assay.valuation import knn_shapley

    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    w = rng.normal(size=args.features)
    xt = rng.normal(size=(args.n_train, args.features))
    xv = rng.normal(size=(args.n_val, args.features))
    yt = (xt @ w + rng.normal(size=args.n_train) > 0).astype(int)
    yv = (xv @ w + rng.normal(size=args.n_val) > 0).astype(int)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    v = knn_shapley(xt, yt, xv, yv, k=args.k, n_jobs=args.n_jobs, duplicates="allow", progress=True)
    t_ours, c_ours = time.perf_counter() - t0, time.process_time() - c0
    print(f"assay knn_shapley: {args.n_train} x {args.n_val} rows, {args.features} features, "
          f"k={args.k}, n_jobs={args.n_jobs}: {t_ours:.1f} s wall, {c_ours:.1f} s CPU "
          f"({1e3 * t_ours / args.n_val:.2f} ms per validation row); sum of values {v.sum():.6f}; "
          f"load average after: {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    if args.odv_val:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_valuation_odv import load_opendataval

        odv = load_opendataval()
        m = args.odv_val
        f32 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
        ev = odv["knn"].KNNShapley(k_neighbors=args.k, batch_size=4096,
                                   random_state=np.random.RandomState(args.seed))  # fmt: skip
        ev.input_data(f32(xt), f32(np.eye(2)[yt]), f32(xv[:m]), f32(np.eye(2)[yv[:m]]))
        t0 = time.perf_counter()
        ev.train_data_values()
        t_odv = time.perf_counter() - t0
        t1 = time.perf_counter()
        knn_shapley(xt, yt, xv[:m], yv[:m], k=args.k, n_jobs=args.n_jobs, duplicates="allow")
        t_ours_m = time.perf_counter() - t1
        print(f"OpenDataVal KNNShapley on {m} validation rows: {t_odv:.1f} s "
              f"({1e3 * t_odv / m:.2f} ms per validation row); assay on the same rows: "
              f"{t_ours_m:.1f} s; ratio {t_odv / t_ours_m:.1f}x", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
