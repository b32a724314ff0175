"""Figures for docs/valuation.md from the JSON files of the valuation benchmarks: the
corrupted-sample discovery curves and the point-removal curves (the DVRL paper's plots).

    .venv/bin/python benchmarks/bench_valuation_plot.py --adult /tmp/valuation_10000.json \
        --blog /tmp/blog_regression.json --blog /tmp/blog_regression_dvrl.json --out docs/img
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _adult(path: str, out: Path) -> None:
    import matplotlib.pyplot as plt

    data = json.loads(Path(path).read_text())
    n = data["args"]["n_train"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    drawn_optimal = False
    for name, res in data["results"].items():
        dc = res.get("discovery")
        if dc:
            ax1.plot(dc["inspected"], dc["found"], marker="o", ms=3, label=name)
            if not drawn_optimal:
                ax1.plot(dc["inspected"], dc["optimal"], "k--", lw=1, label="optimal")
                ax1.plot(dc["inspected"], dc["random"], "k:", lw=1, label="random")
                drawn_optimal = True
        rc = res.get("removal")
        if rc:
            line = ax2.plot(rc["removed"], rc["scores"]["lowest"], marker="o", ms=3,
                            label=f"{name}: lowest first")[0]  # fmt: skip
            ax2.plot(rc["removed"], rc["scores"]["highest"], marker="x", ms=3, ls="--",
                     color=line.get_color(), label=f"{name}: highest first")  # fmt: skip
    ax1.set(xlabel="fraction of training rows inspected (lowest value first)",
            ylabel="fraction of flipped labels found",
            title=f"Adult, {n} rows, 20% flipped: discovery")  # fmt: skip
    ax2.set(xlabel="fraction of training rows removed", ylabel=f"test accuracy ({data['eval_model']})",
            title="point removal")  # fmt: skip
    ax1.legend(fontsize=7)
    ax2.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(out / f"valuation_adult_{n}.png", dpi=110)
    plt.close(fig)


def _blog(paths: list[str], out: Path) -> None:
    """One figure per task; the rows of several runs of the same task drawn together."""
    import matplotlib.pyplot as plt

    runs = [json.loads(Path(p).read_text()) for p in paths]
    for task in sorted({r["args"]["task"] for r in runs}):
        same = [r for r in runs if r["args"]["task"] == task]
        data: dict[str, Any] = dict(same[0], rows=[row for r in same for row in r["rows"]])
        _blog_one(data, out, plt)


def _blog_one(data: dict[str, Any], out: Path, plt: Any) -> None:
    removed = data["removed"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in data["rows"]:
        line = ax.plot(removed, r["lowest_curve"], marker="o", ms=3, label=f"{r['method']}: lowest first")[0]
        ax.plot(removed, r["highest_curve"], marker="x", ms=3, ls="--", color=line.get_color(),
                label=f"{r['method']}: highest first")  # fmt: skip
    task = data["args"]["task"]
    ax.set(xlabel="fraction of training rows removed",
           ylabel="test R^2" if task == "regression" else "test accuracy",
           title=f"BlogFeedback ({task}), {data['args']['n_train']} rows, 20% corrupted")  # fmt: skip
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / f"valuation_blog_{task}.png", dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--adult", default=None)
    ap.add_argument("--blog", action="append", default=[])
    ap.add_argument("--out", default="docs/img")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.adult:
        _adult(args.adult, out)
    if args.blog:
        _blog(args.blog, out)


if __name__ == "__main__":
    main()
