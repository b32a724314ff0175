"""Training speed of the uncertainty benchmarks' models against the torch thread count, to pick
the fastest on the machine at hand (on a busy 2-core machine one thread has been many times
faster than two).

    .venv/bin/python benchmarks/bench_uncertainty_threads.py --threads 1 2 --steps 100 --rounds 3

For each model (the LeNet-5 of bench_uncertainty_mnist.py, the SNGP variant of its body, and
Uncertainty Baselines' conv-120 LeNet-5 of bench_uncertainty_ub_arch.py), ``--steps`` Adam
steps of batch 256 on random inputs, per thread count, alternated over ``--rounds`` rounds;
prints the median wall seconds per step and the ratio to one thread, with the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_uncertainty_mnist import build
from bench_uncertainty_ub_arch import ub_lenet5


def sngp() -> Any:
    import torch

    from assay import uncertainty as U

    full = build("lenet5", 0.1)
    body = torch.nn.Sequential(*list(full)[:-1])
    return U.SNGPClassifier(body, full[-1].in_features, 10, num_features=1024, seed=0)


def step_time(make: Any, threads: int, steps: int) -> float:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.rand(256, 784), torch.randint(0, 10, (256,))
    model.train()
    for i in range(steps + 5):  # 5 warm-up steps
        if i == 5:
            t0 = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return (time.perf_counter() - t0) / steps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    models = {"LeNet-5": lambda: build("lenet5", 0.1), "SNGP LeNet-5": sngp, "UB conv-120 LeNet-5": ub_lenet5}
    times: dict[tuple[str, int], list[float]] = {}
    load0 = os.getloadavg()[0]
    for _ in range(args.rounds):
        for name, make in models.items():
            for t in args.threads:
                times.setdefault((name, t), []).append(step_time(make, t, args.steps))
    print(f"load average {load0:.1f} -> {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs; median of {args.rounds}")
    print("| model | threads | s / step | vs 1 thread |")
    print("|---|---|---|---|")
    for name in models:
        base = float(np.median(times[(name, args.threads[0])]))
        for t in args.threads:
            m = float(np.median(times[(name, t)]))
            print(f"| {name} | {t} | {m:.4f} | {base / m:.2f}x |")


if __name__ == "__main__":
    main()
