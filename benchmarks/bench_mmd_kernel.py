"""The MMD penalty alone (forward + backward) at large MinDiff batches: compiled kernel vs PyTorch.

Times ``mmd_loss(p, s).backward()`` for one prediction column (Gaussian kernel, float32) with
the compiled kernel (``assay/_native/_pairwise.c``: one pass over the upper triangle, O(N)
memory) and with the PyTorch path (dense up to 2^22 kernel entries, chunked beyond, closed-form
backward), side by side in one run, and prints the median times and their ratio.

Usage::

    python benchmarks/bench_mmd_kernel.py
    python benchmarks/bench_mmd_kernel.py --sizes 256 1024 4096 16384 --threads 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from assay import _native
from assay.fairness.remediation import mmd_loss


def _time(p: torch.Tensor, s: torch.Tensor, compiled: bool, repeats: int) -> float:
    times = []
    with _native.use_native(compiled):
        for _ in range(repeats + 1):  # the first run warms up
            x = p.clone().requires_grad_(True)
            start = time.perf_counter()
            mmd_loss(x, s).backward()
            times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 4096, 16384])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if not _native.available():
        raise SystemExit(f"compiled kernels not available: {_native.build_error()}")
    torch.set_num_threads(args.threads)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"torch {torch.__version__}, {os.cpu_count()} CPUs (load average {load}), "
        f"threads={torch.get_num_threads()}, Gaussian MMD, float32, forward + backward, "
        f"median of {args.repeats}"
    )
    print(f"| {'N':>6} | {'compiled ms':>11} | {'PyTorch ms':>10} | {'speed-up':>8} |")
    print(f"| {'-' * 6} | {'-' * 11} | {'-' * 10} | {'-' * 8} |")
    for n in args.sizes:
        g = torch.Generator().manual_seed(n)
        p = torch.rand(n, 1, generator=g)
        s = (torch.rand(n, generator=g) < 0.5).float()
        repeats = args.repeats if n <= 4096 else max(2, args.repeats // 3)
        fast = _time(p, s, True, repeats)
        slow = _time(p, s, False, repeats)
        print(f"| {n:>6} | {fast * 1e3:>11.2f} | {slow * 1e3:>10.2f} | {slow / fast:>7.1f}x |")


if __name__ == "__main__":
    main()
