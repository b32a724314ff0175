"""Empirical coverage of the rate intervals by simulation (docs/evaluation.md).

For each true rate ``p`` and slice size ``n``, ``--sims`` slices of ``n`` rows are drawn in
one table (a row is "positive" with probability ``p``, so the positive rate at threshold
0.5 of each slice is a Binomial(n, p) / n proportion with known truth), evaluated once per
interval method with ``assay.evaluate(..., slices="sim", min_denominator=0)``, and the
share of slices whose 95 % interval contains ``p`` is printed. Coverage near 95 % is right;
much lower means the interval is too narrow (the replicate intervals near 0 and 1 and
for small slices), much higher means it is wasteful.

Usage::

    python benchmarks/bench_coverage.py                    # the table in docs/evaluation.md
    python benchmarks/bench_coverage.py --sims 200 --sizes 5,50,500
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import assay

METHODS = {
    "jackknife (replicate)": dict(ci="jackknife", rate_interval="replicate"),
    "bootstrap (replicate)": dict(ci="bootstrap", rate_interval="replicate"),
    "wilson": dict(ci="jackknife", rate_interval="wilson"),
    "jeffreys": dict(ci="jackknife", rate_interval="jeffreys"),
    "auto (default)": dict(ci="jackknife", rate_interval="auto"),
}


def coverage(n: int, p: float, sims: int, seed: int, **kw: object) -> float:
    rng = np.random.default_rng([seed, n, int(p * 1e6)])
    sim = np.repeat(np.arange(sims), n)
    pos = rng.random(sims * n) < p
    score = np.where(pos, 0.75, 0.25)
    y = rng.integers(0, 2, sims * n)
    r = assay.evaluate(
        {"y": y, "s": score, "sim": sim}, label="y", scores="s", slices="sim",
        thresholds=[0.5], min_denominator=0, max_slices=sims + 10, multiple_comparisons="none",
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    t = r.to_frame()
    t = t[(t.metric == "positive_rate") & (t.slice != "overall")]
    lo, hi = t["lower"].to_numpy(), t["upper"].to_numpy()
    ok = np.isfinite(lo) & np.isfinite(hi)
    covered = ok & (lo <= p + 1e-12) & (hi >= p - 1e-12)
    return float(covered.mean())  # an undefined interval counts as not covering


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=400)
    ap.add_argument("--sizes", default="5,20,100,1000,5000")
    ap.add_argument("--rates", default="0.01,0.05,0.2,0.5")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    rates = [float(x) for x in a.rates.split(",")]
    t0 = time.process_time()
    print(f"coverage of 95% intervals of a rate, {a.sims} simulated slices per cell, seed {a.seed}")
    print("| method | p | " + " | ".join(f"n={n:,}" for n in sizes) + " |")
    print("|---|---:|" + "---:|" * len(sizes))
    for name, kw in METHODS.items():
        for p in rates:
            cells = [coverage(n, p, a.sims, a.seed, **kw) for n in sizes]
            print(f"| {name} | {p:g} | " + " | ".join(f"{c:.3f}" for c in cells) + " |", flush=True)
    print(f"# CPU {time.process_time() - t0:.0f} s")


if __name__ == "__main__":
    main()
