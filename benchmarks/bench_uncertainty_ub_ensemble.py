"""The deep ensemble of Uncertainty Baselines' LeNet-5 on Fashion-MNIST, against their table.

Train the members with bench_uncertainty_ub_arch.py (one seed each, ``--save-probs``), then
average their test probabilities here:

    for s in 0 1 2 3 4 5 6 7 8 9; do
      ASSAY_DATA_HOME=/work/shared/data .venv/bin/python benchmarks/bench_uncertainty_ub_arch.py \\
          --dataset fashion_mnist --arch ub --seed $s --checkpoint /tmp/unc/ub_arch \\
          --save-probs /tmp/unc/probs/fm_ub_seed$s.npy
    done
    ASSAY_DATA_HOME=/work/shared/data .venv/bin/python benchmarks/bench_uncertainty_ub_ensemble.py \\
        --probs /tmp/unc/probs/fm_ub_seed{0..9}.npy

Prints the members (mean and standard deviation over seeds), the ensembles of the first
1, 2, 3, 5 and all members (as Uncertainty Baselines' ``ensemble.py`` does: the mean of the
members' probabilities), and their published rows: deterministic 91.0% / NLL 0.321, ensemble
of 10 93.2% / NLL 0.200 / ECE 0.010. ECE uses 15 equal-width bins on the top-class
probability, as theirs does.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

PUBLISHED = {"deterministic": (0.910, 0.321, None), "ensemble (10)": (0.932, 0.200, 0.010)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--probs", nargs="+", required=True, help="one .npy of test probabilities a member")
    ap.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="fashion_mnist")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from assay import uncertainty as U
    from assay.datasets import load_fashion_mnist, load_mnist

    load = load_mnist if args.dataset == "mnist" else load_fashion_mnist
    _, y = load(split="test")
    y = np.asarray(y)
    members = [np.load(f).astype(np.float64) for f in args.probs]
    for f, p in zip(args.probs, members, strict=True):
        if p.shape != (y.shape[0], 10):
            raise ValueError(f"--probs: expected an array of shape ({y.shape[0]}, 10) in {f}, got {p.shape}")

    def metrics(p: np.ndarray) -> dict[str, float]:
        p = p / p.sum(1, keepdims=True)  # float32 files: renormalise to the float64 tolerance
        return {"accuracy": U.accuracy(p, y), "nll": U.negative_log_likelihood(p, y),
                "ece": U.expected_calibration_error(p, y, 15), "brier": U.brier_score(p, y)}  # fmt: skip

    rows: dict[str, dict[str, float]] = {}
    each = [metrics(p) for p in members]
    for k in ("accuracy", "nll", "ece", "brier"):
        v = np.array([m[k] for m in each])
        rows.setdefault("member", {})[k] = float(v.mean())
        rows["member"][k + "_sd"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
    for m in sorted({1, 2, 3, 5, len(members)}):
        if m <= len(members):
            rows[f"ensemble ({m})"] = metrics(np.mean(members[:m], 0))
    print(f"{'row':<16} {'accuracy':>9} {'NLL':>7} {'ECE':>7} {'Brier':>7}   published (acc / NLL / ECE)")
    for name, r in rows.items():
        sd = f" +- {r['accuracy_sd'] * 100:.2f}" if "accuracy_sd" in r else ""
        pub = PUBLISHED.get("deterministic" if name == "member" else name)
        ptxt = "" if pub is None else " / ".join("-" if v is None else f"{v:.3f}" for v in pub)
        print(f"{name:<16} {r['accuracy'] * 100:8.2f}% {r['nll']:7.4f} {r['ece']:7.4f} {r['brier']:7.4f}   {ptxt}{sd}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"members": len(members), "rows": rows, "published": PUBLISHED}, fh, indent=1)


if __name__ == "__main__":
    main()
