"""DP k-means figures of docs/privacy.md (issue 16).

    ASSAY_DATA_HOME=/work/shared/data OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
        .venv/bin/python benchmarks/bench_privacy.py vary_k  --out /tmp/privacy_vary_k
    ... bench_privacy.py vary_k --datasets mnist --out /tmp/privacy_mnist   # 376 s CPU
    ... bench_privacy.py vary_k --datasets synthetic --synthetic-runs 20 --out /tmp/privacy_syn20
    ... bench_privacy.py vary_eps --out /tmp/privacy_vary_eps
    ... bench_privacy.py speed

``vary_k``: normalized k-means loss (mean squared distance to the nearest center) and
cluster-label accuracy against k in {2, 4, ..., 64} at epsilon = 1, delta = 1e-6, for
scikit-learn's k-means++ (non-private), diffprivlib's KMeans and assay's DPKMeans, on

* ``synthetic``: SYNTHETIC data, the reference's generator re-implemented (100,000 points in
  100 dimensions from 64 Gaussians, per-dimension standard deviation 1/(8 sqrt(100)) =
  0.0125, centers uniform in the ball of radius 0.875, points projected onto the unit ball);
* ``letter``: UCI Letter Recognition (20,000 x 16, 26 letters), centered;
* ``gas``: UCI Gas Turbine CO and NOx (36,733 x 11, no class label: loss only), centered;
* ``mnist``: MNIST embeddings (real images, learned features): a LeNet-style CNN (conv 6 and
  16 filters of 5x5, max pooling, dense 120 and 40, ReLU) trained on the 60,000 MNIST
  training images (Adam 1e-3, batch 128, ``--mnist-steps`` steps, seed ``--mnist-seed``,
  one thread); its 40-dimensional penultimate activations of the same 60,000 images are the
  points, centered. Cached in ``--out``/mnist_embeddings.npz (reused when present).

As in the reference benchmark, the radius (DPKMeans) and the per-feature bounds
(diffprivlib) are computed exactly from the data, non-privately, the same way for both.
Seeds: run ``r`` uses seed ``r`` for every method; the synthetic data uses seed 0.
Writes ``summary.csv``, ``records.json`` and ``report.html`` under ``--out``.

diffprivlib 0.6.6 fails to import with scikit-learn 1.9 (``DOUBLE``/``DTYPE`` missing from
``sklearn.tree._tree``, used only by its random forest); the two names are defined before
the import (see ``_diffprivlib_kmeans``).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from assay._util.progress import Progress
from assay.datasets import get_data_home
from assay.privacy import DPKMeans, compare_clustering, dpkmeans_method, kmeanspp_method
from assay.privacy.result import ClusteringComparison

KS = [2, 4, 8, 16, 32, 64]
EPSILON, DELTA = 1.0, 1e-6


def synthetic(n: int = 100_000, dim: int = 100, k: int = 64, seed: int = 0
              ) -> tuple[np.ndarray, np.ndarray]:
    """The reference's synthetic mixture (cluster_ratio 8, radius 1), re-implemented."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(k, dim))
    c *= (0.875 * rng.uniform(size=k) ** (1 / dim) / np.linalg.norm(c, axis=1))[:, None]
    labels = np.repeat(np.arange(k), n // k)
    labels = np.r_[labels, np.full(n - labels.size, k - 1)]
    X = c[labels] + rng.normal(0.0, 1.0 / (8 * np.sqrt(dim)), size=(n, dim))
    X *= (1.0 / np.maximum(np.linalg.norm(X, axis=1), 1.0))[:, None]
    return X, labels


def letter() -> tuple[np.ndarray, np.ndarray]:
    path = get_data_home() / "letter_recognition" / "letter-recognition.data"
    raw = np.loadtxt(path, delimiter=",", dtype=str)
    X = raw[:, 1:].astype(np.float64)
    return X - X.mean(axis=0), raw[:, 0]


def gas() -> tuple[np.ndarray, None]:
    folder = get_data_home() / "gas_turbine"
    X = np.vstack([np.loadtxt(folder / f"gt_{y}.csv", delimiter=",", skiprows=1)
                   for y in range(2011, 2016)])
    return X - X.mean(axis=0), None


def lenet40() -> Any:
    """LeNet-style CNN whose penultimate layer (after ReLU) has 40 units."""
    from torch import nn

    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 40), nn.ReLU(), nn.Linear(40, 10),
    )  # fmt: skip


def mnist_embeddings(cache: Path, steps: int = 2000, seed: int = 0, batch: int = 128
                     ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """40-dimensional penultimate features of the MNIST training images (see module doc)."""
    if cache.exists():
        z = np.load(cache)
        return z["X"], z["y"], {k: float(z[k]) for k in ("test_accuracy", "train_cpu_s", "steps")}
    import torch

    from assay.datasets import load_mnist

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    xtr, ytr = load_mnist(split="train")
    xte, yte = load_mnist(split="test")
    to_t = lambda a: torch.from_numpy(a.reshape(len(a), -1).astype(np.float32) / 255.0)  # noqa: E731
    Xtr, Xte, Ytr = to_t(xtr), to_t(xte), torch.from_numpy(ytr.astype(np.int64))
    model = lenet40()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    c0 = time.process_time()
    model.train()
    with Progress(steps, desc="LeNet-40 on MNIST", unit="steps") as bar:
        for _ in range(steps):
            idx = torch.randint(0, Xtr.shape[0], (batch,), generator=g)
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(Xtr[idx]), Ytr[idx]).backward()
            opt.step()
            bar.update(1)
    train_cpu = time.process_time() - c0
    model.eval()
    body = model[:-1]  # everything up to the 40-unit ReLU
    with torch.no_grad():
        feats = torch.cat([body(Xtr[i:i + 5000]) for i in range(0, len(Xtr), 5000)])
        pred = torch.cat([model(Xte[i:i + 5000]).argmax(1) for i in range(0, len(Xte), 5000)])
    info = {"test_accuracy": float((pred.numpy() == yte).mean()), "train_cpu_s": train_cpu,
            "steps": float(steps)}
    X = feats.double().numpy()
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, X=X, y=ytr, test_accuracy=info["test_accuracy"],
             train_cpu_s=info["train_cpu_s"], steps=info["steps"])
    return X, np.asarray(ytr), info


def _diffprivlib_kmeans() -> type:
    import sklearn.tree._tree as tree_mod

    for name, value in (("DOUBLE", np.float64), ("DTYPE", np.float32)):
        if not hasattr(tree_mod, name):
            setattr(tree_mod, name, value)
    from diffprivlib.models import KMeans

    return KMeans


def diffprivlib_method(X: np.ndarray, epsilon: float) -> Any:
    KMeans = _diffprivlib_kmeans()
    bounds = (X.min(axis=0), X.max(axis=0))  # exact, non-private (as the reference did)

    def run(k: int, seed: int) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(KMeans(k, epsilon=epsilon, bounds=bounds, random_state=seed)
                              .fit(X).cluster_centers_)

    return run


def diffprivlib_inf_method(X: np.ndarray, epsilon: float) -> Any:
    """diffprivlib with the reference benchmark's bounds: the largest absolute coordinate
    (infinity norm) as the same symmetric bound on every feature."""
    KMeans = _diffprivlib_kmeans()
    m = float(np.abs(X).max())
    bounds = (np.full(X.shape[1], -m), np.full(X.shape[1], m))

    def run(k: int, seed: int) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(KMeans(k, epsilon=epsilon, bounds=bounds, random_state=seed)
                              .fit(X).cluster_centers_)

    return run


def have_diffprivlib() -> bool:
    try:
        _diffprivlib_kmeans()
    except ImportError:
        return False
    return True


SPLIT_NAME = "assay DPKMeans, 0.8/0.2 split"
DPL_INF_NAME = "diffprivlib KMeans, infinity-norm bounds"


def methods(X: np.ndarray, epsilon: float, radius: float,
            only: list[str] | None = None) -> dict:
    """The compared methods; ``only``: a subset of ``kmeans``, ``diffprivlib``, ``dpkmeans``,
    ``split`` (DPKMeans with the reference's older fixed budget split 0.8 / 0.2), ``dplinf``
    (diffprivlib with the reference's symmetric infinity-norm bounds)."""
    only = ["kmeans", "diffprivlib", "dpkmeans"] if only is None else only
    out: dict[str, Any] = {}
    if "kmeans" in only:
        out["k-means++ (non-private)"] = kmeanspp_method(X)
    if "diffprivlib" in only:
        if have_diffprivlib():
            out["diffprivlib KMeans"] = diffprivlib_method(X, epsilon)
        else:
            print("diffprivlib is not installed: its column is skipped (pip install diffprivlib)")
    if "dplinf" in only and have_diffprivlib():
        out[DPL_INF_NAME] = diffprivlib_inf_method(X, epsilon)
    if "dpkmeans" in only:
        out["assay DPKMeans"] = dpkmeans_method(X, epsilon=epsilon, delta=DELTA, radius=radius)
    if "split" in only:
        out[SPLIT_NAME] = dpkmeans_method(X, epsilon=epsilon, delta=DELTA, radius=radius,
                                          budget_split=0.8)
    return out


def vary_k(out: Path, runs: int, synthetic_runs: int, datasets: list[str],
           mnist_steps: int = 2000, mnist_seed: int = 0, ks: list[int] | None = None,
           only: list[str] | None = None, first_run: int = 0) -> None:
    ks = KS if ks is None else ks
    extra: dict[str, Any] = {}

    def mnist() -> tuple[np.ndarray, np.ndarray]:
        X, y, info = mnist_embeddings(out / "mnist_embeddings.npz", mnist_steps, mnist_seed)
        extra["mnist_cnn"] = info
        print(f"MNIST CNN: {info}")
        return X - X.mean(axis=0), y

    loaders = {"synthetic": synthetic, "letter": letter, "gas": gas, "mnist": mnist}
    names = {"synthetic": "Synthetic (64 Gaussians, generated)", "letter": "UCI Letter",
             "gas": "UCI Gas Turbine", "mnist": "MNIST LeNet-40 embeddings"}
    records, cpu = [], {}
    for ds in datasets:
        X, y = loaders[ds]()
        radius = float(np.linalg.norm(X, axis=1).max())
        t0 = time.process_time()
        res = compare_clustering(X, y, ks, methods(X, EPSILON, radius, only),
                                 runs=synthetic_runs if ds == "synthetic" else runs,
                                 seed=first_run, dataset=names[ds], progress=True)
        for rec in res.records:  # run r used seed first_run + r: number it by its seed
            rec["run"] += first_run
        cpu[ds] = time.process_time() - t0
        records += res.records
        print(f"\n{ds}: n={len(X)}, d={X.shape[1]}, radius={radius:.4g}, cpu {cpu[ds]:.0f} s")
    km = DPKMeans(2, epsilon=EPSILON, delta=DELTA, radius=1.0, random_state=0)
    km.fit(synthetic(2000, 5, 4)[0])
    res = ClusteringComparison(records, {
        "epsilon": EPSILON, "delta": DELTA, "runs": runs, "synthetic_runs": synthetic_runs,
        "ks": ks, "cpu_s": {k: round(v, 1) for k, v in cpu.items()},
        "budget": km.accounting_table(),
        "bounds": "radius and diffprivlib bounds computed exactly from the data (non-private)",
        **extra,
    })
    out.mkdir(parents=True, exist_ok=True)
    res.summary().to_csv(out / "summary.csv", index=False)
    res.to_json(out / "records.json")
    res.to_html(out / "report.html")
    with_pd = res.summary()
    print(with_pd.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def vary_eps(out: Path, runs: int) -> None:
    X, y = synthetic()
    recs = []
    for eps in (0.1, 0.3, 1.0, 3.0, 10.0):
        m = {"assay DPKMeans": dpkmeans_method(X, epsilon=eps, delta=DELTA, radius=1.0)}
        res = compare_clustering(X, y, [64], m, runs=runs, dataset=f"epsilon={eps}")
        recs += [dict(r, epsilon=eps) for r in res.records]
    import pandas as pd

    df = pd.DataFrame(recs).groupby("epsilon").agg(
        loss_mean=("loss", "mean"), loss_q25=("loss", lambda s: s.quantile(0.25)),
        loss_q75=("loss", lambda s: s.quantile(0.75)), accuracy_mean=("accuracy", "mean"),
        cpu_s=("cpu_s", "sum"))
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "vary_eps.csv")
    import json

    (out / "vary_eps.json").write_text(json.dumps({"delta": DELTA, "k": 64, "runs": runs,
                                                   "records": recs}, indent=1))
    print(df.to_string(float_format=lambda v: f"{v:.4g}"))


def speed(n: int) -> None:
    X, _ = synthetic(n, 100, 64)
    t0, c0 = time.perf_counter(), time.process_time()
    km = DPKMeans(64, epsilon=EPSILON, delta=DELTA, radius=1.0, random_state=0).fit(X)
    print(f"DPKMeans k=64 on {n:,} x 100: wall {time.perf_counter() - t0:.1f} s, "
          f"cpu {time.process_time() - c0:.1f} s, coreset {km.coreset_points_.shape[0]} points, "
          f"threads OMP={os.environ.get('OMP_NUM_THREADS')}")


#: The reference README's plots read off by eye (about +-2% of the axis; MNIST by pixel
#: positions, about +-1%), k = 2, 4, ..., 64: normalized k-means loss at epsilon = 1,
#: delta = 1e-6 (diffprivlib 0.5 there). Not our measurements.
PUBLISHED: dict[str, dict[str, list[float]]] = {
    "synthetic": {
        "k-means++": [0.73, 0.69, 0.62, 0.51, 0.32, 0.015],
        "diffprivlib": [0.75, 0.75, 0.75, 0.75, 0.75, 0.75],
        "LSH coreset": [0.73, 0.70, 0.65, 0.56, 0.38, 0.07],
        "dp-clustering-icml17": [0.734, 0.700, 0.649, 0.566, 0.494, 0.431],
    },
    "letter": {
        "k-means++": [69, 58, 46.5, 36.5, 28.5, 21.5],
        "diffprivlib": [74, 66.5, 62, 59.5, 58, 58],
        "LSH coreset": [71, 63, 56, 52.5, 47, 46],
        "dp-clustering-icml17": [69.5, 60.3, 52.1, 47.7, 45.5, 43.7],
    },
    "gas": {
        "k-means++": [670, 410, 265, 180, 130, 95],
        "diffprivlib": [830, 730, 600, 490, 440, 430],
        "LSH coreset": [690, 460, 380, 340, 325, 315],
        "dp-clustering-icml17": [945, 747, 626, 600, 611, 626],
    },
    "mnist": {
        "k-means++": [131, 92, 46, 24, 18, 15],
        "diffprivlib": [154, 148, 146, 139, 135, 128],
        "LSH coreset": [133, 97, 53, 35, 34, 35],
        "dp-clustering-icml17": [138, 109, 86, 60, 41, 41],
    },
}
DATASET_NAMES = {"synthetic": "Synthetic (64 Gaussians, generated)", "letter": "UCI Letter",
                 "gas": "UCI Gas Turbine", "mnist": "MNIST LeNet-40 embeddings"}
_STYLE: dict[str, tuple[str, str | None]] = {  # ours: solid with the 25-75 band; published: dashed, hollow markers
    "k-means++ (non-private)": ("tab:gray", "k-means++"),
    "diffprivlib KMeans": ("tab:orange", "diffprivlib"),
    "assay DPKMeans": ("tab:blue", "LSH coreset"),
    SPLIT_NAME: ("tab:purple", None),
    DPL_INF_NAME: ("tab:brown", None),
    "reference code": ("black", None),  # Google's code run here (bench_privacy_reference.py)
}
_LABEL = {"reference code": "Google's reference code, run here"}


def _load_records(paths: list[Path]) -> Any:
    import json

    import pandas as pd

    recs: list[dict[str, Any]] = []
    for p in paths:
        text = p.read_text()
        if text.lstrip().startswith("["):  # reference.json of bench_privacy_reference.py
            recs += [dict(r, accuracy=float("nan")) for r in json.loads(text)]
        else:
            recs += ClusteringComparison.from_json(text).records
    df = pd.DataFrame(recs)
    return df.drop_duplicates(["dataset", "method", "k", "run"], keep="last")


def _band(ax: Any, df: Any, col: str, color: str, label: str) -> None:
    g = df.groupby("k")[col]
    ks = np.array(sorted(df["k"].unique()))
    ax.plot(ks, g.mean().loc[ks], "-o", color=color, ms=4, label=label)
    ax.fill_between(ks, g.quantile(0.25).loc[ks], g.quantile(0.75).loc[ks], color=color,
                    alpha=0.25, lw=0)


def plot_vary_k(records: list[Path], out: Path) -> list[Path]:
    """One figure per data set: loss (and, with labels, accuracy) against k; ours as mean
    with the 25-75th percentile band, the published curves dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = _load_records(records)
    written = []
    for key, name in DATASET_NAMES.items():
        d = df[df["dataset"] == name]
        if d.empty:
            continue
        has_acc = bool(d["accuracy"].notna().any())
        panels = ["loss"] + (["ratio"] if key == "mnist" else []) + (["accuracy"] if has_acc
                                                                     else [])
        fig, axes = plt.subplots(1, len(panels), figsize=(6.0 * len(panels), 5.6), squeeze=False)
        base = d[d["method"] == "k-means++ (non-private)"].groupby("k")["loss"].mean()
        main = d[d["method"].isin(["k-means++ (non-private)", "diffprivlib KMeans",
                                   "assay DPKMeans"])]
        runs = int((main if not main.empty else d).groupby(["method", "k"])["run"].count().min())
        for ax, panel in zip(axes[0], panels, strict=True):
            for method, (color, pub_name) in _STYLE.items():
                m = d[d["method"] == method]
                if m.empty:
                    continue
                if panel == "ratio":
                    m = m.assign(ratio=m["loss"] / m["k"].map(base))
                col = panel if panel != "loss" else "loss"
                if m[col].isna().all():
                    continue
                label = _LABEL.get(method, f"{method}, ours")
                n_m = int(m.groupby("k")["run"].count().min())
                _band(ax, m, col, color, label + (f" ({n_m} runs)" if n_m != runs else ""))
                if pub_name is not None and panel in ("loss", "ratio") and not (
                        panel == "loss" and key == "mnist"):
                    pub = np.array(PUBLISHED[key][pub_name], dtype=float)
                    if panel == "ratio":
                        pub = pub / np.array(PUBLISHED[key]["k-means++"])
                    ax.plot(KS, pub, "--", marker="s", mfc="none", color=color, ms=5,
                            label=f"{pub_name}, published")
            if panel in ("loss", "ratio") and not (panel == "loss" and key == "mnist"):
                pub = np.array(PUBLISHED[key]["dp-clustering-icml17"], dtype=float)
                if panel == "ratio":
                    pub = pub / np.array(PUBLISHED[key]["k-means++"])
                ax.plot(KS, pub, ":", marker="^", mfc="none", color="tab:green", ms=5,
                        label="dp-clustering-icml17, published (not run)")
            ax.set_xscale("log", base=2)
            ax.set_xticks(KS, [str(k) for k in KS])
            ax.set_xlabel("k")
            ax.set_ylabel({"loss": "normalized k-means loss",
                           "ratio": "loss / k-means++ loss (same source)",
                           "accuracy": "cluster label accuracy"}[panel])
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
        fig.suptitle(f"{name}: epsilon = 1, delta = 1e-6, {runs} runs per point\n"
                     "ours: line = mean, band = 25th-75th percentile; published: dashed",
                     fontsize=9)
        fig.tight_layout()
        path = out / f"privacy_vary_k_{key}.png"
        out.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def plot_vary_eps(eps_json: Path, records: list[Path], out: Path) -> Path:
    """Loss and accuracy against epsilon (synthetic, k = 64); k-means++ at k = 64 from the
    vary_k records as the non-private floor."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    d = pd.DataFrame(json.loads(eps_json.read_text())["records"])
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 4.0))
    base = None
    if records:
        df = _load_records(records)
        b = df[(df["dataset"] == DATASET_NAMES["synthetic"]) & (df["k"] == 64)
               & (df["method"] == "k-means++ (non-private)")]
        if not b.empty:
            base = b
    for ax, col in zip(axes, ["loss", "accuracy"], strict=True):
        g = d.groupby("epsilon")[col]
        e = np.array(sorted(d["epsilon"].unique()))
        ax.plot(e, g.mean().loc[e], "-o", color="tab:blue", ms=4, label="assay DPKMeans, ours")
        ax.fill_between(e, g.quantile(0.25).loc[e], g.quantile(0.75).loc[e], color="tab:blue",
                        alpha=0.25, lw=0)
        if base is not None:
            ax.axhline(base[col].mean(), color="tab:gray", ls="--",
                       label="k-means++ (non-private), ours")
        ax.set_xscale("log")
        ax.set_xlabel("epsilon (delta = 1e-6)")
        ax.set_ylabel({"loss": "normalized k-means loss", "accuracy": "cluster label accuracy"}
                      [col])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    runs = int(d.groupby("epsilon")["run"].count().min())
    fig.suptitle(f"Synthetic (64 Gaussians), k = 64: {runs} runs per epsilon\n"
                 "line = mean, band = 25th-75th percentile", fontsize=9)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "privacy_vary_eps.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("figure", choices=["vary_k", "vary_eps", "speed", "plot"])
    ap.add_argument("--out", type=Path, default=Path("/tmp/privacy_bench"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--synthetic-runs", type=int, default=5)
    ap.add_argument("--datasets", nargs="+", default=["letter", "gas", "synthetic", "mnist"],
                    choices=["letter", "gas", "synthetic", "mnist"])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--mnist-steps", type=int, default=2000)
    ap.add_argument("--mnist-seed", type=int, default=0)
    ap.add_argument("--records", type=Path, nargs="*", default=[],
                    help="plot: records.json files written by vary_k")
    ap.add_argument("--eps-json", type=Path, default=None,
                    help="plot: vary_eps.json written by vary_eps")
    ap.add_argument("--methods", nargs="+", default=None,
                    choices=["kmeans", "diffprivlib", "dpkmeans", "split", "dplinf"],
                    help="vary_k: run only these (default: kmeans diffprivlib dpkmeans)")
    ap.add_argument("--first-run", type=int, default=0,
                    help="vary_k: runs use seeds first_run, first_run + 1, ...; split a long "
                    "run into pieces and pass all records.json files to plot")
    ap.add_argument("--ks", type=int, nargs="+", default=KS,
                    help="values of k (vary_k); split a long run into pieces")
    a = ap.parse_args()
    if a.figure == "vary_k":
        vary_k(a.out, a.runs, a.synthetic_runs, a.datasets, a.mnist_steps, a.mnist_seed, a.ks,
               a.methods, a.first_run)
    elif a.figure == "vary_eps":
        vary_eps(a.out, a.runs)
    elif a.figure == "plot":
        for p in plot_vary_k(a.records, a.out):
            print(p)
        if a.eps_json is not None:
            print(plot_vary_eps(a.eps_json, a.records, a.out))
    else:
        speed(a.n)


if __name__ == "__main__":
    main()
