"""DPKMeans against Google's own reference code on the same data (docs/privacy.md).

The reference (``google/differential-privacy``, ``learning/clustering``) is not on the
package index and is not vendored here: pass the path of a checkout's ``learning`` folder
(the one that holds ``clustering/``)::

    git clone https://github.com/google/differential-privacy /tmp/gdp   # or any checkout
    ASSAY_DATA_HOME=/work/shared/data OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        .venv/bin/python benchmarks/bench_privacy_reference.py --reference /tmp/gdp/learning \\
        --datasets letter gas --out /tmp/privacy_reference

It runs the reference's ``clustering_algorithm.private_lsh_clustering(k, Data(X, radius),
DifferentialPrivacyParam(1.0, 1e-6))`` with its defaults (mechanism calibration, max depth
20, the default tree heuristic), 20 runs per k with ``np.random.seed(run)`` (the reference
draws from NumPy's global random state), on the same centered data and radius (the largest
norm) as ``bench_privacy.py vary_k``, and measures the same normalized loss. Needs
``absl-py`` (a dependency of ``dp-accounting``). Writes ``reference.json`` (one record per
run) under ``--out``; with ``--ours`` (a ``records.json`` of ``bench_privacy.py vary_k``) it
prints both side by side with a two-sided Mann-Whitney U test per k.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_privacy as bp
from assay.privacy import kmeans_loss


def run_reference(reference: Path, datasets: list[str], runs: int, ks: list[int]
                  ) -> list[dict[str, Any]]:
    sys.path.insert(0, str(reference))
    from absl import logging

    logging.set_verbosity(logging.ERROR)
    from clustering import clustering_algorithm, clustering_params

    loaders = {"letter": bp.letter, "gas": bp.gas, "synthetic": bp.synthetic}
    out: list[dict[str, Any]] = []
    for ds in datasets:
        X, _ = loaders[ds]()
        radius = float(np.linalg.norm(X, axis=1).max())
        data = clustering_params.Data(X, radius)
        priv = clustering_params.DifferentialPrivacyParam(bp.EPSILON, bp.DELTA)
        for k in ks:
            for run in range(runs):
                np.random.seed(run)  # noqa: NPY002 (the reference uses the global state)
                t0 = time.process_time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = clustering_algorithm.private_lsh_clustering(k, data, priv)
                out.append({"dataset": bp.DATASET_NAMES[ds], "method": "reference code",
                            "k": k, "run": run, "loss": kmeans_loss(X, res.centers),
                            "cpu_s": time.process_time() - t0})
            ls = [o["loss"] for o in out if o["k"] == k and o["dataset"] == bp.DATASET_NAMES[ds]]
            print(f"{ds} k={k}: mean {np.mean(ls):.4g} [{np.percentile(ls, 25):.4g}, "
                  f"{np.percentile(ls, 75):.4g}]", flush=True)
    return out


def compare(ref: list[dict[str, Any]], ours_path: Path) -> None:
    from scipy import stats

    ours = bp.ClusteringComparison.from_json(ours_path.read_text()).records
    for ds in sorted({r["dataset"] for r in ref}):
        print(f"\n{ds}: k | reference mean [25-75] | DPKMeans mean [25-75] | Mann-Whitney p")
        for k in sorted({r["k"] for r in ref if r["dataset"] == ds}):
            a = np.array([r["loss"] for r in ref if r["dataset"] == ds and r["k"] == k])
            b = np.array([r["loss"] for r in ours if r["dataset"] == ds and r["k"] == k
                          and r["method"] == "assay DPKMeans"])
            if b.size == 0:
                continue
            p = stats.mannwhitneyu(a, b, alternative="two-sided").pvalue
            print(f"{k} | {a.mean():.4g} [{np.percentile(a, 25):.4g}, {np.percentile(a, 75):.4g}]"
                  f" | {b.mean():.4g} [{np.percentile(b, 25):.4g}, {np.percentile(b, 75):.4g}]"
                  f" | {p:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", type=Path, required=True,
                    help="the 'learning' folder of a google/differential-privacy checkout")
    ap.add_argument("--datasets", nargs="+", default=["letter", "gas"],
                    choices=["letter", "gas", "synthetic"])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--ks", type=int, nargs="+", default=bp.KS)
    ap.add_argument("--out", type=Path, default=Path("/tmp/privacy_reference"))
    ap.add_argument("--ours", type=Path, default=None,
                    help="records.json of bench_privacy.py vary_k on the same data sets")
    a = ap.parse_args()
    if not (a.reference / "clustering" / "clustering_algorithm.py").exists():
        raise SystemExit(f"--reference {a.reference}: no clustering/clustering_algorithm.py "
                         "there (pass the 'learning' folder of the checkout)")
    ref = run_reference(a.reference, a.datasets, a.runs, a.ks)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "reference.json").write_text(json.dumps(ref, indent=1))
    if a.ours is not None:
        compare(ref, a.ours)


if __name__ == "__main__":
    main()
