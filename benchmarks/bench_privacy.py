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


def have_diffprivlib() -> bool:
    try:
        _diffprivlib_kmeans()
    except ImportError:
        return False
    return True


def methods(X: np.ndarray, epsilon: float, radius: float) -> dict:
    out = {"k-means++ (non-private)": kmeanspp_method(X)}
    if have_diffprivlib():
        out["diffprivlib KMeans"] = diffprivlib_method(X, epsilon)
    else:
        print("diffprivlib is not installed: its column is skipped (pip install diffprivlib)")
    out["assay DPKMeans"] = dpkmeans_method(X, epsilon=epsilon, delta=DELTA, radius=radius)
    return out


def vary_k(out: Path, runs: int, synthetic_runs: int, datasets: list[str],
           mnist_steps: int = 2000, mnist_seed: int = 0, ks: list[int] | None = None) -> None:
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
        res = compare_clustering(X, y, ks, methods(X, EPSILON, radius),
                                 runs=synthetic_runs if ds == "synthetic" else runs,
                                 dataset=names[ds], progress=True)
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
    print(df.to_string(float_format=lambda v: f"{v:.4g}"))


def speed(n: int) -> None:
    X, _ = synthetic(n, 100, 64)
    t0, c0 = time.perf_counter(), time.process_time()
    km = DPKMeans(64, epsilon=EPSILON, delta=DELTA, radius=1.0, random_state=0).fit(X)
    print(f"DPKMeans k=64 on {n:,} x 100: wall {time.perf_counter() - t0:.1f} s, "
          f"cpu {time.process_time() - c0:.1f} s, coreset {km.coreset_points_.shape[0]} points, "
          f"threads OMP={os.environ.get('OMP_NUM_THREADS')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("figure", choices=["vary_k", "vary_eps", "speed"])
    ap.add_argument("--out", type=Path, default=Path("/tmp/privacy_bench"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--synthetic-runs", type=int, default=5)
    ap.add_argument("--datasets", nargs="+", default=["letter", "gas", "synthetic", "mnist"],
                    choices=["letter", "gas", "synthetic", "mnist"])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--mnist-steps", type=int, default=2000)
    ap.add_argument("--mnist-seed", type=int, default=0)
    ap.add_argument("--ks", type=int, nargs="+", default=KS,
                    help="values of k (vary_k); split a long run into pieces")
    a = ap.parse_args()
    if a.figure == "vary_k":
        vary_k(a.out, a.runs, a.synthetic_runs, a.datasets, a.mnist_steps, a.mnist_seed, a.ks)
    elif a.figure == "vary_eps":
        vary_eps(a.out, a.runs)
    else:
        speed(a.n)


if __name__ == "__main__":
    main()
