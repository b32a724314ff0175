"""Training-step time with a MinDiff penalty versus the same step without it (CPU).

A small MLP (100 -> 64 -> 64 -> 1, ReLU) trained with Adam on binary cross-entropy; the
MinDiff batch is as large as the task batch (half sensitive, half not), both drawn by a
``MinDiffLoader``, and the model runs once on both (the default fused forward). Each repeat times ``--steps`` consecutive steps;
the plain and MinDiff repeats are interleaved so that both see the same machine load. The
table reports the median time per step over the repeats and the ratio of the medians.

The ``2x batch`` column is the floor that any MinDiff implementation pays here: the same
step with the model run on the task and MinDiff batches together but no MinDiff loss (the
MinDiff rows only get a sigmoid whose mean is added to the loss).

Usage::

    python benchmarks/bench_mindiff.py                 # full table
    python benchmarks/bench_mindiff.py --quick         # fewer repeats
    python benchmarks/bench_mindiff.py --losses mmd laplacian_mmd absolute_correlation
    python benchmarks/bench_mindiff.py --threads 1 --clock cpu   # on a busy machine
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from assay.fairness.remediation import (
    MinDiffBatch,
    MinDiffLoader,
    MinDiffModel,
    build_mindiff_sets,
    make_mlp,
    mindiff_train_step,
)

BATCH_SIZES = (32, 64, 128, 256, 512, 1024)
FEATURES = 100
HIDDEN = (64, 64)


def _bce(outputs: Tensor, targets: Tensor) -> Tensor:
    return nn.functional.binary_cross_entropy_with_logits(outputs[:, 0], targets)


def _data(batch: int, seed: int) -> tuple[Tensor, Tensor, MinDiffBatch]:
    """One batch as training gets it: from a MinDiffLoader over random data.

    The loader gathers the task rows and the MinDiff rows (half sensitive, half not) into
    one buffer, which the fused forward pass uses without copying.
    """
    g = torch.Generator().manual_seed(seed)
    n = 8 * batch
    x = torch.randn(n, FEATURES, generator=g)
    y = (torch.rand(n, generator=g) < 0.5).float()
    sensitive = torch.rand(n, generator=g) < 0.5
    sets = build_mindiff_sets((x, y), sensitive, label_value=None)
    loader = MinDiffLoader((x, y), sets, batch_size=batch, seed=seed)
    (xb, yb), md = next(iter(loader))
    return xb, yb, md


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = time.perf_counter


def _timer(step: Callable[[], object], steps: int) -> float:
    start = _clock()
    for _ in range(steps):
        step()
    return (_clock() - start) / steps


def bench(batch: int, losses: list[str], repeats: int, steps: int) -> dict[str, float]:
    x, y, md = _data(batch, seed=batch)

    plain_net = make_mlp(FEATURES, HIDDEN, seed=0)
    plain_opt = torch.optim.Adam(plain_net.parameters(), lr=1e-3)

    def plain_step() -> None:
        plain_opt.zero_grad(set_to_none=True)
        _bce(plain_net(x), y).backward()
        plain_opt.step()

    floor_net = make_mlp(FEATURES, HIDDEN, seed=0)
    floor_opt = torch.optim.Adam(floor_net.parameters(), lr=1e-3)
    both = torch.cat([x, md.inputs])

    def floor_step() -> None:
        floor_opt.zero_grad(set_to_none=True)
        out = floor_net(both)
        (_bce(out[:batch], y) + torch.sigmoid(out[batch:]).mean()).backward()
        floor_opt.step()

    runners: dict[str, Callable[[], object]] = {"plain": plain_step, "2x batch": floor_step}
    for name in losses:
        net = make_mlp(FEATURES, HIDDEN, seed=0)
        model = MinDiffModel(net, name, 1.0, predictions_transform=torch.sigmoid)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def md_step(model: MinDiffModel = model, opt: torch.optim.Optimizer = opt) -> None:
            mindiff_train_step(model, opt, _bce, ((x, y), md))

        runners[name] = md_step

    for run in runners.values():  # warm-up
        _timer(run, max(3, steps // 4))
    times: dict[str, list[float]] = {k: [] for k in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            times[name].append(_timer(run, steps))
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--steps", type=int, default=30, help="steps per timed repeat")
    parser.add_argument("--quick", action="store_true", help="5 repeats of 10 steps")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=list(BATCH_SIZES))
    parser.add_argument("--losses", nargs="+", default=["mmd"])
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall-clock time, or the process's CPU time (less sensitive to other load)",
    )
    args = parser.parse_args()
    global _clock
    _clock = CLOCKS[args.clock]
    if args.quick:
        args.repeats, args.steps = 5, 10

    torch.set_num_threads(args.threads)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} CPUs "
        f"(load average {load}), threads={torch.get_num_threads()}, "
        f"MLP {FEATURES}-{'-'.join(map(str, HIDDEN))}-1, Adam, MinDiff batch = task batch, "
        f"median of {args.repeats} x {args.steps} steps, {args.clock} clock"
    )
    head = f"| {'batch':>5} | {'plain ms':>8} | {'2x batch ms':>11} | {'ratio':>5} |"
    rule = f"| {'-' * 5} | {'-' * 8} | {'-' * 11} | {'-' * 5} |"
    for name in args.losses:
        head += f" {name + ' ms':>22} | {'ratio':>5} |"
        rule += f" {'-' * 22} | {'-' * 5} |"
    print(head)
    print(rule)
    for batch in args.batch_sizes:
        res = bench(batch, args.losses, args.repeats, args.steps)
        floor = res["2x batch"]
        row = f"| {batch:>5} | {res['plain'] * 1e3:>8.3f} | {floor * 1e3:>11.3f} |"
        row += f" {floor / res['plain']:>5.2f} |"
        for name in args.losses:
            row += f" {res[name] * 1e3:>22.3f} | {res[name] / res['plain']:>5.2f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
