"""Ablation for the Fashion-MNIST gap to Uncertainty Baselines: their released LeNet-5 code and
schedule against ours, one change at a time.

    ASSAY_DATA_HOME=/work/shared/data .venv/bin/python benchmarks/bench_uncertainty_ub_arch.py \
        --dataset fashion_mnist --arch ub --seed 0 --checkpoint /tmp/unc/ub_arch --out /tmp/unc/ub_fm.json

Uncertainty Baselines' ``baselines/mnist/deterministic.py`` (read 2026-12-04) differs from the
LeNet-5 of bench_uncertainty_mnist.py in:

* the model: conv 6 -> max-pool -> conv 16 -> max-pool -> **conv 120** -> dense 84 -> logits,
  every convolution 5x5 with ``padding='SAME'`` (so the third convolution runs on 7x7 maps
  and the dense layer sees 7 x 7 x 120 = 5,880 inputs: about 545,000 parameters, although
  its README's table says 60K, the count of the classic LeNet-5 with valid padding); no
  dropout; Keras' default initialisation (Glorot-uniform kernels, zero biases);
* the data: the first **50,000** training images (ours: 55,000, the last 5,000 held out for
  temperature scaling);
* the schedule: ``epochs = 256 * 5000 // 50000 = 25`` full shuffled passes of batch 256
  (4,900 steps) rather than 5,000 batches drawn with replacement. Adam 1e-3 in both.

``--arch ub`` trains their model with their data and schedule; ``--arch ours`` trains
bench_uncertainty_mnist.py's LeNet-5 (dropout 0.1) with *their* data and schedule, which
separates the model's effect from the schedule's. Test accuracy, NLL, ECE (15 bins) and Brier
on the 10,000 test images. ``--checkpoint DIR`` saves the model and optimiser after every
epoch and resumes from there; ``--save-probs FILE.npy`` keeps the test probabilities for
bench_uncertainty_ub_ensemble.py.
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
from bench_uncertainty_mnist import build, logits_of


def ub_lenet5() -> Any:
    """The model of Uncertainty Baselines' baselines/mnist/deterministic.py, in PyTorch."""
    from torch import nn

    model = nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 6, 5, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 120, 5, padding="same"), nn.ReLU(), nn.Flatten(),
        nn.Linear(7 * 7 * 120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip
    for m in model.modules():  # Keras defaults
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="fashion_mnist")
    ap.add_argument("--arch", choices=["ub", "ours"], default="ub")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=25, help="UB: 256 * 5000 // 50000")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--save-probs", default=None, help="write the test-set probabilities (.npy) here")
    args = ap.parse_args()

    import torch

    from assay import uncertainty as U
    from assay.datasets import load_fashion_mnist, load_mnist

    torch.set_num_threads(args.threads)
    load = load_mnist if args.dataset == "mnist" else load_fashion_mnist
    xtr, ytr = load(split="train")
    xte, yte = load(split="test")
    x = torch.tensor(xtr[:50000], dtype=torch.float32).reshape(-1, 784) / 255.0
    y = torch.tensor(ytr[:50000])
    x_test = torch.tensor(xte, dtype=torch.float32).reshape(-1, 784) / 255.0
    torch.manual_seed(args.seed)
    model = ub_lenet5() if args.arch == "ub" else build("lenet5", 0.1)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(args.seed)
    start, cpu_done = 0, 0.0
    ck = os.path.join(args.checkpoint, f"{args.dataset}_{args.arch}_seed{args.seed}.pt") if args.checkpoint else None
    if ck and os.path.exists(ck):
        st = torch.load(ck)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        g.set_state(st["gen"])
        start, cpu_done = st["epoch"], st["cpu_s"]
        print(f"resumed after epoch {start} ({cpu_done:.0f} s CPU)", flush=True)
    for epoch in range(start, args.epochs):
        c0 = time.process_time()
        model.train()
        perm = torch.randperm(x.shape[0], generator=g)
        for i in range(0, x.shape[0], 256):
            idx = perm[i : i + 256]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        cpu_done += time.process_time() - c0
        if ck:
            os.makedirs(os.path.dirname(ck), exist_ok=True)
            tmp = ck + ".tmp"
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": g.get_state(),
                        "epoch": epoch + 1, "cpu_s": cpu_done}, tmp)  # fmt: skip
            os.replace(tmp, ck)
        print(f"epoch {epoch + 1}/{args.epochs}: {cpu_done:.0f} s CPU", flush=True)
    z = logits_of(model, x_test)
    e = np.exp(z - z.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    yt = np.asarray(yte)
    if args.save_probs:
        os.makedirs(os.path.dirname(os.path.abspath(args.save_probs)), exist_ok=True)
        tmp_p = args.save_probs + ".tmp.npy"
        np.save(tmp_p, p.astype(np.float32))
        os.replace(tmp_p, args.save_probs)
    res = {"dataset": args.dataset, "arch": args.arch, "seed": args.seed, "parameters": n_params,
           "epochs": args.epochs, "train_cpu_s": cpu_done, "accuracy": U.accuracy(p, yt),
           "nll": U.negative_log_likelihood(p, yt), "ece": U.expected_calibration_error(p, yt, 15),
           "brier": U.brier_score(p, yt)}  # fmt: skip
    print(json.dumps(res))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
