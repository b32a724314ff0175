"""Spread over training seeds of the LeNet-5 rows, and the 10-member ensemble under shift,
from the models bench_uncertainty_mnist.py trained and cached (no training here).

    ASSAY_DATA_HOME=/work/shared/data .venv/bin/python benchmarks/bench_uncertainty_seeds.py \
        --dataset mnist --cache /tmp/unc/cache --out /tmp/unc/seeds_mnist.json

For each of the cached seeds 0..9 (5,000 steps of batch 256, Adam 1e-3, trained on the first
55,000 training images; see the training commands in docs/uncertainty.md): the deterministic
model, temperature scaling (fitted on the last 5,000 training images), MC dropout (10
samples); deep ensembles of 3 over the disjoint seed groups {0,1,2}, {3,4,5}, {6,7,8}; the
ensemble of all 10. Each on the 10,000 test images and, under shift, on the first
``--shift`` test images corrupted by the 7 corruptions at severities 1, 3, 5 (seed 0, the same
sets as bench_uncertainty_mnist.py), averaged over the 21 shifted sets. Prints, per method,
the mean and standard deviation over seeds (or seed groups) of accuracy, NLL, ECE (15 bins)
and Brier; the metrics are assay.uncertainty's functional forms.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_uncertainty_mnist import B, build, logits_of


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    out: np.ndarray = e / e.sum(1, keepdims=True)
    return out


def metrics(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    from assay import uncertainty as U

    return {"accuracy": U.accuracy(p, y), "nll": U.negative_log_likelihood(p, y),
            "ece": U.expected_calibration_error(p, y, 15), "brier": U.brier_score(p, y)}  # fmt: skip


def shift_mean(p: np.ndarray, y: np.ndarray, key: np.ndarray) -> dict[str, float]:
    """Metrics per shifted set, averaged over the sets (the clean rows excluded)."""
    per = [metrics(p[key == k], y[key == k]) for k in dict.fromkeys(key.tolist()) if k != "clean@0"]
    return {m: float(np.mean([d[m] for d in per])) for m in per[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist")
    ap.add_argument("--cache", required=True, help="the --cache folder of bench_uncertainty_mnist.py")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--shift", type=int, default=2000)
    ap.add_argument("--mc-samples", type=int, default=10)
    ap.add_argument("--mc-shift-seeds", type=int, default=3, help="seeds whose MC dropout is also run under shift")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import torch

    from assay import uncertainty as U
    from assay.datasets import load_fashion_mnist, load_mnist

    torch.set_num_threads(args.threads)
    c0, w0 = time.process_time(), time.perf_counter()
    load = load_mnist if args.dataset == "mnist" else load_fashion_mnist
    xtr, ytr = load(split="train")
    xte, yte = load(split="test")
    x = torch.tensor(xtr, dtype=torch.float32).reshape(-1, 784) / 255.0
    x_val, y_val = x[55000:], np.asarray(ytr[55000:])
    x_test, y_test = torch.tensor(xte, dtype=torch.float32).reshape(-1, 784) / 255.0, np.asarray(yte)
    xs, ys, kind, sev = U.corrupted_sets(xte[: args.shift], yte[: args.shift], severities=(1, 3, 5), seed=0)
    keep = kind != "clean"
    x_sh = torch.tensor(xs[keep], dtype=torch.float32).reshape(-1, 784) / 255.0
    y_sh = np.asarray(ys[keep])
    key = np.array([f"{k}@{v}" for k, v in zip(kind[keep].tolist(), sev[keep].tolist(), strict=True)])

    tag = "lenet5_steps5000_batch256_dropout0.1"
    if args.dataset != "mnist":
        tag = f"{args.dataset}_{tag}"
    clean: dict[str, list[dict[str, float]]] = {}
    shifted: dict[str, list[dict[str, float]]] = {}
    probs_test: list[np.ndarray] = []
    probs_sh: list[np.ndarray] = []
    temps: list[float] = []
    for s in range(args.seeds):
        path = os.path.join(args.cache, f"{tag}_seed{s}.pt")
        if not os.path.exists(path):
            raise SystemExit(f"{path} is missing: train it with bench_uncertainty_mnist.py --cache")
        model = build("lenet5", 0.1)
        model.load_state_dict(torch.load(path))
        z_val, z_test, z_sh = logits_of(model, x_val), logits_of(model, x_test), logits_of(model, x_sh)
        ts = U.TemperatureScaling().fit(z_val, y_val)
        temps.append(float(ts.temperature_))
        p_test, p_sh = softmax(z_test), softmax(z_sh)
        probs_test.append(p_test)
        probs_sh.append(p_sh)
        clean.setdefault("deterministic", []).append(metrics(p_test, y_test))
        clean.setdefault("temperature scaling", []).append(metrics(ts.transform(z_test), y_test))
        shifted.setdefault("deterministic", []).append(shift_mean(p_sh, y_sh, key))
        shifted.setdefault("temperature scaling", []).append(shift_mean(ts.transform(z_sh), y_sh, key))
        mc = U.MCDropout(model, args.mc_samples, seed=s)
        mc_name = f"MC dropout ({args.mc_samples})"
        clean.setdefault(mc_name, []).append(metrics(mc.predict_proba(x_test, batch_size=B), y_test))
        if s < args.mc_shift_seeds:
            shifted.setdefault(mc_name, []).append(shift_mean(mc.predict_proba(x_sh, batch_size=B), y_sh, key))
        print(f"seed {s}: deterministic accuracy {clean['deterministic'][-1]['accuracy']:.4f}, "
              f"T = {ts.temperature_:.3f} ({time.process_time() - c0:.0f} s CPU)", flush=True)  # fmt: skip
    for g in range(args.seeds // 3):
        members = range(3 * g, 3 * g + 3)
        clean.setdefault("ensemble (3)", []).append(metrics(np.mean([probs_test[m] for m in members], 0), y_test))
        shifted.setdefault("ensemble (3)", []).append(
            shift_mean(np.mean([probs_sh[m] for m in members], 0), y_sh, key))  # fmt: skip
    clean[f"ensemble ({args.seeds})"] = [metrics(np.mean(probs_test, 0), y_test)]
    shifted[f"ensemble ({args.seeds})"] = [shift_mean(np.mean(probs_sh, 0), y_sh, key)]

    def summary(rows: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, per in rows.items():
            out[name] = {"runs": len(per)}
            for m in per[0]:
                v = np.array([d[m] for d in per])
                out[name][m] = {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else None,
                                "min": float(v.min()), "max": float(v.max()), "values": v.tolist()}  # fmt: skip
        return out

    res = {"clean": summary(clean), "shift": summary(shifted)}
    for part, title in (("clean", "clean test (10,000)"), ("shift", f"shift: mean over 21 sets of {args.shift}")):
        print(f"\n{args.dataset}, {title}: mean ± sd over seeds (runs)")
        print("| method | runs | accuracy | NLL | ECE | Brier |")
        print("|---|---|---|---|---|---|")
        for name, d in res[part].items():
            cells = []
            for m in ("accuracy", "nll", "ece", "brier"):
                sd = d[m]["sd"]
                cells.append(f"{d[m]['mean']:.4f}" + (f" ± {sd:.4f}" if sd is not None else ""))
            print(f"| {name} | {d['runs']} | " + " | ".join(cells) + " |")
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    print(f"temperatures: {np.round(temps, 3).tolist()}; {cpu:.0f} s CPU, {wall:.0f} s wall")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"settings": vars(args), "temperatures": temps, "cpu_s": cpu, "wall_s": wall, **res}, f,
                      indent=1)  # fmt: skip


if __name__ == "__main__":
    main()
