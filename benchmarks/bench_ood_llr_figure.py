"""Draw the per-pixel log-likelihood-ratio heat map (Ren et al. 2019, Figure 1c-d style)
from the ``result.json`` of ``benchmarks/bench_ood_llr.py``.

Top row: the mean per-pixel LLR, log p_model - log p_background (nats), of 500 Fashion-MNIST
test images (in-distribution) and of 500 MNIST test images (OOD), on one colour scale. Lower
rows: single images and their per-pixel LLR. Red = the model explains the pixel better than
the background (evidence for in-distribution), blue = the background explains it better.

With ``--curve``, the positional ``result`` may be repeated (one ``result.json`` per run of
a resumed grid, copied aside after each run) and the figure is instead the LLR AUROC of every
``(mu, lambda)`` candidate against training time: on notMNIST (validation, used to choose)
and on MNIST (test, reported only), the chosen candidate of each run marked.

Usage::

    python benchmarks/bench_ood_llr_figure.py /tmp/assay_bench_ood_llr/result.json \\
        docs/img/ood_pixel_llr.png
    python benchmarks/bench_ood_llr_figure.py --curve run1.json run2.json run3.json \\
        docs/img/ood_llr_curve.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import TwoSlopeNorm


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("result", type=Path, nargs="+")
    p.add_argument("png", type=Path)
    p.add_argument("--examples", type=int, default=3)
    p.add_argument("--curve", action="store_true")
    a = p.parse_args(argv)
    if a.curve:
        curve([json.loads(r.read_text()) for r in a.result], a.png)
        return
    res = json.loads(a.result[0].read_text())
    mean = {k: np.asarray(v) for k, v in res["pixel_llr_mean"].items()}
    ex = res.get("pixel_llr_examples", {})
    sets = (("fashion_mnist", "Fashion-MNIST (in)"), ("mnist", "MNIST (OOD)"))
    n_ex = min([a.examples] + [len(ex[k]["images"]) for k, _ in sets if k in ex]) if ex else 0
    rows = 1 + n_ex
    fig, axes = plt.subplots(rows, 4, figsize=(8.4, 2.25 * rows), squeeze=False)
    # robust colour scales (99th percentile of |LLR|): the first pixels, which have no
    # context, would otherwise set the scale; values beyond it are drawn saturated
    lim = max(float(np.percentile(np.abs(m), 99)) for m in mean.values())
    norm = TwoSlopeNorm(vmin=-lim, vcenter=0.0, vmax=lim)
    chosen = res.get("chosen", {})
    for j, (key, title) in enumerate(sets):
        ax = axes[0, 2 * j]
        im = ax.imshow(mean[key], cmap="RdBu_r", norm=norm)
        ax.set_title(f"{title}\nmean LLR per pixel\nsum {mean[key].sum():+.1f} nats", fontsize=8)
        centre = mean[key][7:21, 7:21].sum()
        axes[0, 2 * j + 1].axis("off")
        axes[0, 2 * j + 1].text(
            0.0, 0.5,
            f"central 14x14: {centre:+.1f}\nrest: {mean[key].sum() - centre:+.1f} nats",
            fontsize=8, va="center",
        )  # fmt: skip
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, extend="both")
        for i in range(n_ex):
            img = np.asarray(ex[key]["images"][i])
            llr = np.asarray(ex[key]["llr"][i])
            axes[1 + i, 2 * j].imshow(img, cmap="gray", vmin=0, vmax=255)
            axes[1 + i, 2 * j].set_title(f"{title.split()[0]} image", fontsize=8)
            lim_i = float(np.percentile(np.abs(llr), 99)) or 1.0
            im_i = axes[1 + i, 2 * j + 1].imshow(
                llr, cmap="RdBu_r", norm=TwoSlopeNorm(vmin=-lim_i, vcenter=0.0, vmax=lim_i)
            )
            axes[1 + i, 2 * j + 1].set_title(f"LLR, sum {llr.sum():+.0f} nats", fontsize=8)
            fig.colorbar(im_i, ax=axes[1 + i, 2 * j + 1], fraction=0.046, pad=0.04, extend="both")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    args = res.get("args", {})
    steps_m = (res.get("train_model", {}).get("steps") or [0])[-1]
    steps_b = (res.get("train_background", {}).get("steps") or [0])[-1]
    auroc = res.get("metrics", {}).get("llr", {}).get("auroc", [float("nan")])[0]
    kind = "gated PixelCNN" if args.get("gated") else "PixelCNN"
    if args.get("n_mix"):
        kind += f", {args['n_mix']} logistic"
    fig.suptitle(
        f"Per-pixel log p_model - log p_background, nats\n({kind} {args.get('channels')} ch, "
        f"{args.get('layers')} layers, {steps_m} steps; background mu={chosen.get('mu')}, "
        f"l2={chosen.get('l2')}, {steps_b} steps; seed {args.get('seed')}; "
        f"LLR AUROC {auroc:.3f})",
        fontsize=8,
    )
    fig.tight_layout()
    a.png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.png, dpi=110)
    print(f"wrote {a.png}")


def curve(runs: list[dict], png: Path) -> None:
    """LLR AUROC of every candidate against the pair's training time (model + background)."""
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.4), sharey=True)
    series: dict[tuple[float, float], list[tuple[float, float, float, int]]] = {}
    chosen_pts = []
    for r in runs:
        t_model = (r["train_model"].get("seconds") or [0.0])[-1]
        steps_model = (r["train_model"].get("steps") or [0])[-1]
        for c in r["candidates"]:
            t = t_model + c.get("train_seconds", 0.0)
            series.setdefault((c["mu"], c["l2"]), []).append(
                (t, c["val_auroc"], c.get("test_auroc", float("nan")), steps_model)
            )
            if c["mu"] == r["chosen"]["mu"] and c["l2"] == r["chosen"]["l2"]:
                chosen_pts.append((t, c["val_auroc"], c.get("test_auroc", float("nan"))))
    for (mu, l2), pts in sorted(series.items()):
        pts.sort()
        t = [q[0] for q in pts]
        axes[0].plot(t, [q[1] for q in pts], "o-", label=f"mu={mu:g}, l2={l2:g}")
        axes[1].plot(t, [q[2] for q in pts], "o-", label=f"mu={mu:g}, l2={l2:g}")
    axes[0].plot([q[0] for q in chosen_pts], [q[1] for q in chosen_pts], "k*", ms=15, mfc="none",
                 label="chosen on notMNIST")  # fmt: skip
    axes[1].plot([q[0] for q in chosen_pts], [q[2] for q in chosen_pts], "k*", ms=15, mfc="none",
                 label="chosen on notMNIST")  # fmt: skip
    axes[0].set_title("validation: Fashion-MNIST vs notMNIST (chooses)", fontsize=9)
    axes[1].set_title("test: Fashion-MNIST vs MNIST (reported only)", fontsize=9)
    for ax in axes:
        ax.axhline(0.5, color="grey", lw=0.5, ls=":")
        ax.axhline(0.98, color="grey", lw=0.5, ls="--")
        ax.set_xlabel("model + background training, s (wall, 1 thread)")
        ax.set_ylim(0.0, 1.0)
    axes[0].set_ylabel("LLR AUROC")
    axes[1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
