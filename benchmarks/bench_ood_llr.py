"""Likelihood ratio (Ren et al. 2019) on Fashion-MNIST (in) against MNIST (OOD), on a budget.

One PixelCNN (:mod:`assay.ood.pixelcnn`) is trained on Fashion-MNIST training images; one
background PixelCNN per ``(mu, lambda)`` candidate on the same images perturbed at rate mu
(fresh draws each batch) with L2 weight lambda. The candidate is chosen by the LLR AUROC on
notMNIST (the paper's validation OOD set) against one half of the Fashion-MNIST test images;
the reported numbers are on MNIST against the other half (never tuned on the test pair).
The input-complexity correction of Serra et al. (2020) (deflate length as the background)
is scored with the same model. Metrics come from ``assay.ood.evaluate_detectors`` (the platform's ``task="ood"`` family,
bootstrap intervals).

Every model trains for at most ``--steps`` steps (the backgrounds ``--background-steps``,
default ``--steps``) and ``--model-seconds`` / ``--background-seconds`` of wall-clock time,
one torch thread, with resumable checkpoints in ``--out`` (rerunning the command continues
from them for another budget, or up to larger step counts; with
``--model-seconds 0 --background-seconds 0`` it only rescores the saved models). A step
budget makes a run independent of the machine's load; a time budget does not.

For every candidate the MNIST (test) AUROC is also recorded, as ``test_auroc`` in
``candidates``: reported only, never used to choose. ``result.json`` also holds the mean
per-pixel LLR of 500 images of each test set and a few single images with their per-pixel
LLR (``pixel_llr_examples``); ``benchmarks/bench_ood_llr_figure.py`` draws them.

Usage::

    ASSAY_DATA_HOME=../shared/data python benchmarks/bench_ood_llr.py            # the docs run
    python benchmarks/bench_ood_llr.py --model-seconds 1800 --background-seconds 900 \\
        --steps 20000 --channels 32 --layers 4                                    # longer
    python benchmarks/bench_ood_llr.py --gated --n-mix 1 --channels 16 --layers 5 --lr 1e-3 \
        --n-test 1000 --mu 0.1 0.2 0.3 --l2 0 0.1276 --steps 800 --background-steps 400 \
        --model-seconds 1200 --background-seconds 400 --out /tmp/ood_runs/gated/ck
        # the gated PixelCNN with one discretised logistic (docs/ood.md: stage 1 of 3)

``--gated`` selects the gated PixelCNN (no blind spot), ``--n-mix K`` a mixture of K
discretised logistics per pixel instead of the 256-way softmax. ``--l2`` is per pixel: the
paper's ``reg_weight`` (on the NLL of a whole image) divided by 784.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from assay import ood
from assay.datasets import load_fashion_mnist, load_mnist, load_notmnist
from assay.ood.pixelcnn import log_prob_pixels

METRICS = ("auroc", "aupr_in", "aupr_out", "fpr_at_80_tpr", "fpr_at_95_tpr")


def _subset(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return x[rng.permutation(x.shape[0])[:n]]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n-train", type=int, default=60000)
    p.add_argument("--n-test", type=int, default=2000, help="images per test/validation set")
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--first-kernel", type=int, default=7)
    p.add_argument(
        "--gated",
        action="store_true",
        help="gated PixelCNN (vertical + horizontal stacks, no blind spot)",
    )
    p.add_argument(
        "--n-mix",
        type=int,
        default=0,
        help="discretised logistic components per pixel (gated only; 0 = softmax)",
    )
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--background-steps", type=int, default=None)
    p.add_argument("--model-seconds", type=float, default=120.0)
    p.add_argument("--background-seconds", type=float, default=60.0)
    p.add_argument("--mu", type=float, nargs="+", default=[0.1, 0.2])
    p.add_argument("--l2", type=float, nargs="+", default=[1e-4])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("/tmp/assay_bench_ood_llr"))
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    a.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    prog = not a.no_progress

    fm_train = _subset(load_fashion_mnist(split="train").x, a.n_train, rng)
    fm_test = _subset(load_fashion_mnist(split="test").x, 2 * a.n_test, rng)
    fm_val, fm_test = fm_test[: a.n_test], fm_test[a.n_test :]
    mnist = _subset(load_mnist(split="test").x, a.n_test, rng)
    notmnist = _subset(load_notmnist(split="test").x, a.n_test, rng)
    ood.warn_if_same_set(notmnist, mnist)

    def new(seed: int) -> ood.PixelCNN:
        torch.manual_seed(seed)
        return ood.PixelCNN(256, a.channels, a.layers, a.first_kernel, gated=a.gated,
                            n_mix=a.n_mix)  # fmt: skip

    t0 = time.process_time()
    model = new(a.seed)
    log_m = ood.train_pixelcnn(
        model, fm_train, steps=a.steps, batch_size=a.batch_size, lr=a.lr, seed=a.seed,
        max_seconds=a.model_seconds, checkpoint=a.out / "model.pt", progress=prog, desc="model",
    )  # fmt: skip
    train_cpu = time.process_time() - t0  # this invocation's training CPU (not earlier runs')

    def loglik(m: ood.PixelCNN, x: np.ndarray) -> np.ndarray:
        return log_prob_pixels(m, x).reshape(x.shape[0], -1).sum(axis=1)

    lp = {k: loglik(model, v) for k, v in
          (("fm_val", fm_val), ("fm_test", fm_test), ("mnist", mnist), ("notmnist", notmnist))}  # fmt: skip
    candidates = []
    for i, (mu, lam) in enumerate((m, w) for m in a.mu for w in a.l2):
        bg = new(a.seed + 1 + i)
        t1 = time.process_time()
        log_b = ood.train_pixelcnn(
            bg, fm_train, steps=a.background_steps or a.steps, batch_size=a.batch_size, lr=a.lr, seed=a.seed + 1 + i,
            mutation_rate=mu, l2=lam, max_seconds=a.background_seconds,
            checkpoint=a.out / f"background_mu{mu}_l2{lam}.pt", progress=prog,
            desc=f"background mu={mu} l2={lam}",
        )  # fmt: skip
        train_cpu += time.process_time() - t1
        lb = {k: loglik(bg, v) for k, v in
              (("fm_val", fm_val), ("fm_test", fm_test), ("mnist", mnist), ("notmnist", notmnist))}  # fmt: skip
        val = ood.ood_metrics(-(lp["fm_val"] - lb["fm_val"]), -(lp["notmnist"] - lb["notmnist"]))
        # reported only, never used for the choice below
        test = ood.ood_metrics(-(lp["fm_test"] - lb["fm_test"]), -(lp["mnist"] - lb["mnist"]))
        candidates.append({
            "mu": mu, "l2": lam, "bg": bg, "lb": lb, "log": log_b, "val_auroc": val["auroc"],
            "test_auroc": test["auroc"], "test_aupr_in": test["aupr_in"],
            "test_fpr_at_80_tpr": test["fpr_at_80_tpr"],
            "bg_bits_per_dim": {k: float(-v.mean() / (784 * np.log(2))) for k, v in lb.items()}, "steps": log_b.steps[-1] if log_b.steps else 0,
            "train_seconds": log_b.seconds[-1] if log_b.seconds else 0.0,
        })  # fmt: skip
        print(f"mu={mu} l2={lam}: notMNIST LLR AUROC {val['auroc']:.3f}, MNIST (not used) "
              f"{test['auroc']:.3f} ({candidates[-1]['steps']} steps)")  # fmt: skip
    best = max(candidates, key=lambda c: c["val_auroc"])
    bg = best["bg"]
    llr_in = -(lp["fm_test"] - best["lb"]["fm_test"])
    llr_out = -(lp["mnist"] - best["lb"]["mnist"])
    # input complexity (Serra et al. 2020): -(log2 p(x) + deflate bits), no background model
    cx_in = -(lp["fm_test"] / np.log(2) + ood.compressed_bits(fm_test))
    cx_out = -(lp["mnist"] / np.log(2) + ood.compressed_bits(mnist))
    res = ood.evaluate_detectors(
        {"likelihood": -lp["fm_test"], "llr": llr_in, "complexity": cx_in},
        {"likelihood": -lp["mnist"], "llr": llr_out, "complexity": cx_out},
        out_name="MNIST", seed=a.seed,
    )  # fmt: skip
    heat_in = (log_prob_pixels(model, fm_test[:500]) - log_prob_pixels(bg, fm_test[:500])).mean(0)
    heat_out = (log_prob_pixels(model, mnist[:500]) - log_prob_pixels(bg, mnist[:500])).mean(0)
    examples = {}
    for k, v in (("fashion_mnist", fm_test[:4]), ("mnist", mnist[:4])):
        examples[k] = {
            "images": v.tolist(),
            "llr": (log_prob_pixels(model, v) - log_prob_pixels(bg, v)).tolist(),
        }
    cpu = time.process_time() - t0
    out = {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()},
        "chosen": {"mu": best["mu"], "l2": best["l2"], "val_auroc_notmnist": best["val_auroc"]},
        "candidates": [
            {
                k: c[k]
                for k in (
                    "mu",
                    "l2",
                    "val_auroc",
                    "test_auroc",
                    "test_aupr_in",
                    "test_fpr_at_80_tpr",
                    "bg_bits_per_dim",
                    "steps",
                    "train_seconds",
                )
            }
            for c in candidates
        ],
        "train_model": log_m.to_dict(),
        "train_background": best["log"].to_dict(),
        "bits_per_dim_test": {k: float(-v.mean() / (784 * np.log(2))) for k, v in lp.items()},
        "metrics": {
            d: {m: [res.value(m, d), *res.interval(m, d)] for m in METRICS} for d in res.detectors
        },
        "pixel_llr_mean": {"fashion_mnist": heat_in.tolist(), "mnist": heat_out.tolist()},
        "pixel_llr_examples": examples,
        "cpu_seconds": cpu,
        "train_cpu_seconds": train_cpu,
        "threads": a.threads,
        "cpu_count": os.cpu_count(),
    }
    (a.out / "result.json").write_text(json.dumps(out, indent=1))
    res.to_html(a.out / "report.html", title="Likelihood ratio: Fashion-MNIST vs MNIST")
    print(res.summary_frame().to_string(index=False))
    print(
        json.dumps(
            {k: out[k] for k in ("chosen", "candidates", "bits_per_dim_test", "cpu_seconds")}
        )
    )
    return out


if __name__ == "__main__":
    main()
