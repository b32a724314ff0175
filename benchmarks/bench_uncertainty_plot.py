"""Plot the shift table of bench_uncertainty_mnist.py: accuracy, NLL and top-label ECE
against corruption severity, per method, each point the mean over the corruption kinds
(with the range over kinds as a band), as in Ovadia et al. (2019)'s summary figures.

    .venv/bin/python benchmarks/bench_uncertainty_plot.py /tmp/unc/lenet5.json \
        docs/img/uncertainty_mnist_shift.png
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json_in")
    ap.add_argument("png_out")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(args.json_in) as f:
        doc = json.load(f)
    shift, arch = doc["shift"], {"lenet5": "LeNet-5", "mlp": "MLP"}.get(doc["settings"]["arch"], "?")
    # shift[f"{kind}@{severity}"][method] = [[acc, lo, hi], [nll, lo, hi], [ece, lo, hi]]
    by: dict[str, dict[int, list[list[float]]]] = defaultdict(lambda: defaultdict(list))
    for key, per_method in shift.items():
        sev = int(key.split("@")[1])
        for method, vals in per_method.items():
            by[method][sev].append([v[0] for v in vals])
    names = ("accuracy", "NLL (nats)", "top-label ECE (15 bins)")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for method, per_sev in by.items():
        sevs = sorted(per_sev)
        arr = [np.array(per_sev[s]) for s in sevs]  # (kinds, 3) per severity
        for j, ax in enumerate(axes):
            mean = [a[:, j].mean() for a in arr]
            lo, hi = [a[:, j].min() for a in arr], [a[:, j].max() for a in arr]
            (line,) = ax.plot(sevs, mean, marker="o", label=method)
            ax.fill_between(sevs, lo, hi, color=line.get_color(), alpha=0.08)
    for ax, name in zip(axes, names, strict=True):
        ax.set_xlabel("severity (0 = clean)")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    kinds = len({k.split("@")[0] for k in shift} - {"clean"})
    fig.suptitle(f"MNIST {arch} under corruption: mean over {kinds} kinds (band: range over kinds)", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.png_out, dpi=110)


if __name__ == "__main__":
    main()
