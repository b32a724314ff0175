"""Underspecification on images (docs/robustness.md): a small CNN on Fashion-MNIST over seeds,
stress-tested on corruptions, as the ImageNet-C study of D'Amour et al. (2022) at toy scale.

The pipeline: a fixed subset of the training images (``--train`` images, the same for every
seed), a two-convolution CNN trained with Adam for ``--epochs`` epochs; the seed sets the
initial weights and the mini-batch order (``--vary init`` / ``--vary order``: only one of
them, the other fixed at seed 0, via :func:`assay.robustness.seed_streams`). Stress sets: the first ``--test`` test images
under every corruption of :func:`assay.uncertainty.corrupt` at the severities given
(corruption seeds fixed, so every model sees the same corrupted images). Printed: iid and
per-corruption accuracy across seeds, the spread ratio, the verdicts and the Spearman
matrix of seed rankings between corruptions.

Usage (one thread; checkpoints make an interrupted run resume)::

    ASSAY_DATA_HOME=/work/shared/data python benchmarks/bench_robustness_fashion.py \
        --seeds 10 --checkpoint-dir /tmp/robustness_fashion --out /tmp/robustness
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay.datasets import load_fashion_mnist
from assay.robustness import StressSet, seed_streams, stress_test
from assay.uncertainty import corrupt


def make_cnn(torch: Any) -> Any:
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 64), nn.ReLU(), nn.Linear(64, 10),
    )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--train", type=int, default=12000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--severities", default="2,4")
    ap.add_argument("--kinds", default="rotation,translation,shot_noise,gaussian_blur,contrast,pixelate,jpeg")
    ap.add_argument("--vary", default="all", choices=["all", "init", "order"],
                    help="what the seed changes: both (default), the initial weights only, or the batch order only")
    ap.add_argument("--checkpoint-dir", default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    xtr, ytr = load_fashion_mnist(split="train", download=False)
    xte, yte = load_fashion_mnist(split="test", download=False)
    pick = np.random.default_rng(0).permutation(len(ytr))[: args.train]  # fixed for every seed
    Xtr = torch.tensor(xtr[pick], dtype=torch.float32).unsqueeze(1) / 255.0
    Ytr = torch.tensor(ytr[pick], dtype=torch.long)
    Xte, Yte = xte[: args.test], yte[: args.test]

    def train(seed: int) -> Any:
        s = seed_streams(seed, vary=args.vary)  # "all": both streams get the seed
        torch.manual_seed(s["init"])
        net = make_cnn(torch)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(s["order"])
        for _ in range(args.epochs):
            order = torch.randperm(len(Ytr), generator=gen)
            for i in range(0, len(order), 128):
                b = order[i : i + 128]
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(Xtr[b]), Ytr[b]).backward()
                opt.step()
        return net.eval()

    def predict(net: Any, X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = torch.tensor(np.asarray(X), dtype=torch.float32).unsqueeze(1) / 255.0
            return torch.cat([torch.softmax(net(x[i : i + 1000]), 1) for i in range(0, len(x), 1000)]).numpy()

    kinds = args.kinds.split(",")
    sevs = [int(s) for s in args.severities.split(",")]
    stress = [StressSet(f"{k}-{s}", corrupt(Xte, k, s, seed=100 * i + s), Yte, kind="corruption")
              for i, k in enumerate(kinds) for s in sevs]  # fmt: skip
    t0, c0 = time.perf_counter(), time.process_time()
    res = stress_test(StressSet("clean", Xte, Yte), stress, train=train, seeds=range(args.seeds), predict=predict,
                      task="multiclass", checkpoint_dir=args.checkpoint_dir, progress=True)  # fmt: skip
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    pd.set_option("display.width", 250)
    df = res.to_frame()
    acc = df[df.metric == "top_label_accuracy"]
    cols = ["test", "mean", "sd", "min", "max", "sd_ratio", "spearman_iid", "discordant_pairs", "excess_ratio",
            "p_adjusted", "verdict"]  # fmt: skip
    print(acc[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    rc = res.rank_correlation_frame("top_label_accuracy")
    print("\nSpearman correlation of seed rankings (accuracy):")
    print(rc.round(2).to_string())
    off = rc.to_numpy()[np.triu_indices(len(rc), 1)]
    print(f"off-diagonal: median {np.nanmedian(off):.2f}, range [{np.nanmin(off):.2f}, {np.nanmax(off):.2f}]")
    secs = res.config["seconds"]
    print(f"\n{len(res.seeds)} seeds, train+predict {np.mean(list(secs.values())):.1f} s per seed "
          f"(checkpointed: {len(res.config['resumed'])}), whole run wall {wall:.0f} s, CPU {cpu:.0f} s")  # fmt: skip
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        res.to_json(out / "robustness_fashion.json")
        res.to_html(out / "robustness_fashion.html", title="Underspecification: Fashion-MNIST CNN")


if __name__ == "__main__":
    main()
