"""Data valuation on UCI BlogFeedback, as regression (exact KNN-Shapley for regression) and in
the DVRL paper's binary setting (Google's ``dvrl/data_loading.py``: label ``comments > 0``).

Protocol: ``n_train`` rows drawn at random from ``blogData_train.csv`` (posts of 2010-2011);
``n_val`` clean validation rows and the rest of the 60 daily test files (February-March 2012)
as the test set, as in Google's loader; the 280 features min-max scaled over the three
splits.

- ``--task regression``: the target is ``log1p(comments in the next 24 h)``; ``noise`` of the
  training targets are replaced by values drawn uniformly over the range of the training
  targets (the regression analogue of flipped labels). Methods: exact KNN-Shapley for
  regression (:func:`assay.valuation.knn_shapley_regression`) and, with ``--methods``, Data
  Banzhaf / TMC-Shapley over ``Ridge`` (R^2 utility) within ``--budget`` seconds and DVRL with
  ``Ridge`` as predictor (reward: negated validation MSE).
  Evaluation model: ``HistGradientBoostingRegressor``; score: R^2 on the test set.
- ``--task binary``: label ``comments > 0``, ``noise`` of the training labels flipped;
  KNN-Shapley and DVRL (logistic regression predictor, as for Adult); evaluation model
  ``HistGradientBoostingClassifier``; score: accuracy.

    ASSAY_DATA_HOME=/work/shared/data .venv/bin/python benchmarks/bench_valuation_blog.py \
        --task regression --n-train 10000 --n-val 400 --seed 0 --methods knn,banzhaf
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402


def blog_data(task: str, n_train: int, n_val: int, noise: float, seed: int) -> dict[str, Any]:
    from assay.datasets import load_blog_feedback

    tr = load_blog_feedback("train")
    te = load_blog_feedback("test")
    feats = [c for c in tr.column_names if c not in ("target", "basetime_weekday",
                                                     "published_weekday")]  # fmt: skip
    x_tr = np.column_stack([tr.column(c).to_numpy() for c in feats])
    x_te = np.column_stack([te.column(c).to_numpy() for c in feats])
    t_tr, t_te = tr.column("target").to_numpy(), te.column("target").to_numpy()
    rng = np.random.default_rng(seed)
    tr_idx = rng.permutation(len(t_tr))[:n_train]
    perm = rng.permutation(len(t_te))
    val_idx, test_idx = perm[:n_val], perm[n_val:]
    x = np.vstack([x_tr[tr_idx], x_te[val_idx], x_te[test_idx]])
    lo, hi = x.min(axis=0), x.max(axis=0)
    x = (x - lo) / np.where(hi > lo, hi - lo, 1.0)
    xt, xv, xs = x[:n_train], x[n_train:n_train + n_val], x[n_train + n_val:]
    if task == "regression":
        f = np.log1p
        yt, yv, ys = f(t_tr[tr_idx]), f(t_te[val_idx]), f(t_te[test_idx])
    else:
        yt = (t_tr[tr_idx] > 0).astype(int)
        yv, ys = (t_te[val_idx] > 0).astype(int), (t_te[test_idx] > 0).astype(int)
    corrupted = np.zeros(n_train, dtype=bool)
    corrupted[rng.permutation(n_train)[: round(noise * n_train)]] = True
    y_clean = yt.copy()
    if task == "regression":
        yt = yt.copy()
        yt[corrupted] = rng.uniform(yt.min(), yt.max(), size=int(corrupted.sum()))
    else:
        yt = yt.copy()
        yt[corrupted] = 1 - yt[corrupted]
    return {"x_train": xt, "y_train": yt, "y_train_clean": y_clean, "x_val": xv, "y_val": yv,
            "x_test": xs, "y_test": ys, "corrupted": corrupted, "columns": feats}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", choices=["regression", "binary"], default="regression")
    ap.add_argument("--n-train", type=int, default=10_000)
    ap.add_argument("--n-val", type=int, default=400)
    ap.add_argument("--noise", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--methods", default="knn")
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--dvrl-iterations", type=int, default=1000)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import torch
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge

    from assay.valuation import (
        DataBanzhaf,
        KNNRegressionShapley,
        KNNShapley,
        TMCShapley,
        detection_scores,
        discovery_curve,
        point_removal,
        robust_fit,
    )

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    d = blog_data(args.task, args.n_train, args.n_val, args.noise, args.seed)
    reg = args.task == "regression"
    print(f"data ({args.task}): {args.n_train} train ({d['corrupted'].sum()} corrupted), "
          f"{args.n_val} val, {len(d['y_test'])} test, {d['x_train'].shape[1]} features "
          f"({time.perf_counter() - t0:.1f} s)", flush=True)  # fmt: skip
    model: Any = (HistGradientBoostingRegressor(random_state=args.seed) if reg
                  else HistGradientBoostingClassifier(random_state=args.seed))  # fmt: skip
    metric = "R^2" if reg else "accuracy"
    base = clone(model).fit(d["x_train"], d["y_train"]).score(d["x_test"], d["y_test"])
    clean = ~d["corrupted"]
    oracle = clone(model).fit(d["x_train"][clean], d["y_train"][clean]).score(d["x_test"], d["y_test"])
    print(f"{type(model).__name__} test {metric}: {base:.4f} on the corrupted targets, "
          f"{oracle:.4f} without the corrupted rows", flush=True)  # fmt: skip
    methods: dict[str, Any] = {}
    for name in args.methods.split(","):
        if name == "knn":
            methods["KNN-Shapley" + (" (regression)" if reg else "")] = (
                KNNRegressionShapley(k=args.k, duplicates="allow") if reg
                else KNNShapley(k=args.k, duplicates="allow"))  # fmt: skip
        elif name == "banzhaf":
            est = Ridge(alpha=1.0) if reg else LogisticRegression(solver="liblinear")
            methods["Data Banzhaf"] = DataBanzhaf(est, n_samples=100_000, time_budget=args.budget,
                                                  random_state=args.seed)  # fmt: skip
        elif name == "tmc":
            est = Ridge(alpha=1.0) if reg else LogisticRegression(solver="liblinear")
            methods["TMC-Shapley"] = TMCShapley(est, n_samples=10_000, time_budget=args.budget,
                                                random_state=args.seed)  # fmt: skip
        elif name == "dvrl":
            from assay.valuation.dvrl import DVRL

            pred = Ridge(alpha=1.0) if reg else LogisticRegression(max_iter=1000)
            methods["DVRL"] = DVRL(pred, n_iterations=args.dvrl_iterations,
                                   batch_size=2000, random_state=args.seed)  # fmt: skip
        else:
            raise SystemExit(f"unknown method {name!r} for --task {args.task}")
    rows = []
    for name, est in methods.items():
        t1, c1 = time.perf_counter(), time.process_time()
        est.fit(d["x_train"], d["y_train"], d["x_val"], d["y_val"])
        fit_s, cpu_s = time.perf_counter() - t1, time.process_time() - c1
        v = est.values_
        det = detection_scores(v, d["corrupted"])
        dc = discovery_curve(v, d["corrupted"])
        rem = point_removal(model, d["x_train"], d["y_train"], d["x_test"], d["y_test"], v)
        j = int(np.argmin(np.abs(rem.removed - 0.2)))
        robust = robust_fit(model, d["x_train"], d["y_train"], v).score(d["x_test"], d["y_test"])
        row = {"method": name, "fit_s": fit_s, "cpu_s": cpu_s, "f1": det["f1"],
               "auroc": det["auroc"], "found_at_20": float(dc.found[int(np.argmin(np.abs(dc.inspected - 0.2)))]),
               "lowest_20": float(rem.scores["lowest"][j]), "highest_20": float(rem.scores["highest"][j]),
               "lowest_curve": rem.scores["lowest"].tolist(), "highest_curve": rem.scores["highest"].tolist(),
               "robust": robust,
               "samples": getattr(est, "n_samples_", None)}  # fmt: skip
        rows.append(row)
        print(json.dumps({k: (round(x, 4) if isinstance(x, float) else x) for k, x in row.items()
                          if not k.endswith("_curve")}), flush=True)  # fmt: skip
    print()
    print(f"BlogFeedback ({args.task}), {args.n_train} training rows ({args.noise:.0%} corrupted), "
          f"{args.n_val} validation, {len(d['y_test'])} test, seed {args.seed}; "
          f"{type(model).__name__} test {metric} {base:.4f} (corrupted), {oracle:.4f} (corrupted rows removed)")  # fmt: skip
    print()
    print(f"| method | fit time (s) | CPU (s) | F1 | AUROC | {metric}, 20% lowest removed | "
          f"20% highest removed | weighted by value |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['fit_s']:.1f} | {r['cpu_s']:.1f} | {r['f1']:.3f} | {r['auroc']:.3f} | "
              f"{r['lowest_20']:.4f} | {r['highest_20']:.4f} | {r['robust']:.4f} |")  # fmt: skip
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "base": base, "oracle": oracle, "rows": rows,
                       "removed": rem.removed.tolist()}, fh)  # fmt: skip
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
