"""Data valuation on Adult with 20% of the training labels flipped (the setting of Google's
DVRL corrupted-sample notebook): corrupted-sample discovery, point removal and robust
learning for every method of ``assay.valuation``, with run times.

Protocol (the notebook's, re-implemented): ``n_train`` rows drawn at random from
``adult.data``; ``n_val`` clean validation rows and the rest of ``adult.test`` as the test set;
the eight categorical columns one-hot encoded over train + test (missing values ``'?'`` as
their own category), every column min-max scaled over the three splits; ``noise`` of the
training rows get the other label. Valuation predictor: ``LogisticRegression`` (lbfgs) for
DVRL, as in the notebook, and ``LogisticRegression(solver="liblinear")`` (the same L2
logistic model, three times faster to fit here) for leave-one-out, TMC, Beta Shapley and
Banzhaf, which refit it thousands of times; evaluation model (robust learning and point removal): LightGBM's
``LGBMClassifier()`` with its defaults, as in the notebook (scikit-learn's
``HistGradientBoostingClassifier`` when LightGBM is not installed). Robust learning: the
evaluation model trained with the values as ``sample_weight`` (clipped at 0 and divided by
their mean: :func:`assay.valuation.robust_fit`), accuracy on the test set.

    ASSAY_DATA_HOME=/work/shared/data .venv/bin/python benchmarks/bench_valuation.py \
        --n-train 1000 --n-val 400 --seed 0 --budget 120 --json /tmp/valuation_1000.json

Prints a Markdown table (one row per method) and writes the results (values, curves,
times) to ``--json``; ``--html`` writes a report with one section per method.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread: a 1,000-row fit is 10x slower with more

import numpy as np  # noqa: E402

CATEGORICAL = ["workclass", "education", "marital_status", "occupation", "relationship",
               "race", "sex", "native_country"]  # fmt: skip
NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


def adult_noisy(n_train: int, n_val: int, noise: float, seed: int,
                data_home: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The notebook's splits: features, labels, the flipped rows and the column names."""
    import pandas as pd

    from assay.datasets import load_adult

    tr = load_adult(split="train", data_home=data_home, download=False).to_pandas()
    te = load_adult(split="test", data_home=data_home, download=False).to_pandas()
    df = pd.concat([tr, te], ignore_index=True)
    y_all = (df["income"].astype(str).str.strip().str.rstrip(".") == ">50K").to_numpy().astype(int)
    feats = df[NUMERIC].astype(float)
    cats = df[CATEGORICAL].astype(object).where(df[CATEGORICAL].notna(), "?")
    x_all = pd.concat([feats, pd.get_dummies(cats, columns=CATEGORICAL, dtype=float)], axis=1)
    rng = np.random.default_rng(seed)
    n_tr = len(tr)
    train_idx = rng.permutation(n_tr)[:n_train]
    if n_train > n_tr:
        raise ValueError(f"--n-train must be at most {n_tr}; got {n_train}")
    perm = rng.permutation(len(te)) + n_tr
    val_idx, test_idx = perm[:n_val], perm[n_val:]
    used = np.concatenate([train_idx, val_idx, test_idx])
    x_used = x_all.iloc[used].to_numpy()
    lo, hi = x_used.min(axis=0), x_used.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    x = (x_all.to_numpy() - lo) / span
    y_train = y_all[train_idx].copy()
    flipped = np.zeros(n_train, dtype=bool)
    flipped[rng.permutation(n_train)[: round(noise * n_train)]] = True
    y_train[flipped] = 1 - y_train[flipped]
    return {
        "x_train": x[train_idx], "y_train": y_train, "y_train_clean": y_all[train_idx],
        "x_val": x[val_idx], "y_val": y_all[val_idx], "x_test": x[test_idx],
        "y_test": y_all[test_idx], "flipped": flipped, "columns": [str(c) for c in x_all.columns],
    }  # fmt: skip


def eval_model(seed: int) -> tuple[Any, str]:
    try:
        import lightgbm

        return lightgbm.LGBMClassifier(n_jobs=1, verbose=-1, random_state=seed), "LGBMClassifier"
    except ImportError:  # pragma: no cover
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(random_state=seed), "HistGradientBoostingClassifier"


def make_methods(names: list[str], budget: float, seed: int, n: int, dvrl_iterations: int,
                 k: int) -> dict[str, Any]:  # fmt: skip
    from sklearn.linear_model import LogisticRegression

    from assay.valuation import BetaShapley, DataBanzhaf, KNNShapley, LeaveOneOut, TMCShapley

    lr = LogisticRegression(solver="liblinear")  # 3x faster than lbfgs here, same model class
    out: dict[str, Any] = {}
    for name in names:
        if name == "knn":
            out["KNN-Shapley"] = KNNShapley(k=k, duplicates="allow")
        elif name == "loo":
            out["Leave-one-out"] = LeaveOneOut(lr)
        elif name == "tmc":
            out["TMC-Shapley"] = TMCShapley(lr, n_samples=10_000, time_budget=budget,
                                            random_state=seed)  # fmt: skip
        elif name == "beta":
            out["Beta(16,1)-Shapley"] = BetaShapley(lr, n_samples=10_000, time_budget=budget,
                                                    random_state=seed)  # fmt: skip
        elif name == "banzhaf":
            out["Data Banzhaf"] = DataBanzhaf(lr, n_samples=100_000, time_budget=budget,
                                              random_state=seed)  # fmt: skip
        elif name == "dvrl":
            from assay.valuation.dvrl import DVRL

            out["DVRL"] = DVRL(LogisticRegression(max_iter=1000), n_iterations=dvrl_iterations,
                               batch_size=2000, random_state=seed)  # fmt: skip
        elif name == "dvrl-auc":
            from assay.valuation.dvrl import DVRL

            out["DVRL (AUC reward)"] = DVRL(LogisticRegression(max_iter=1000), metric="auc",
                                            n_iterations=dvrl_iterations, batch_size=2000,
                                            random_state=seed)  # fmt: skip
        else:
            raise SystemExit(f"unknown method {name!r}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-train", type=int, default=1000)
    ap.add_argument("--n-val", type=int, default=400)
    ap.add_argument("--noise", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", default="knn,loo,tmc,beta,banzhaf,dvrl")
    ap.add_argument("--budget", type=float, default=120.0,
                    help="seconds per sampling method (TMC, Beta, Banzhaf)")
    ap.add_argument("--dvrl-iterations", type=int, default=2000)
    ap.add_argument("--k", type=int, default=10, help="neighbours of KNN-Shapley")
    ap.add_argument("--no-removal", action="store_true", help="skip the point-removal curves")
    ap.add_argument("--json", default=None)
    ap.add_argument("--html", default=None)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from assay.valuation import (
        detection_scores,
        point_removal,
        robust_fit,
        valuation_result,
    )

    t0 = time.perf_counter()
    d = adult_noisy(args.n_train, args.n_val, args.noise, args.seed)
    print(f"data: {args.n_train} train ({d['flipped'].sum()} flipped), {args.n_val} val, "
          f"{len(d['y_test'])} test, {d['x_train'].shape[1]} features "
          f"({time.perf_counter() - t0:.1f} s)", flush=True)  # fmt: skip
    model, model_name = eval_model(args.seed)
    from sklearn.base import clone

    base_acc = clone(model).fit(d["x_train"], d["y_train"]).score(d["x_test"], d["y_test"])
    clean = ~d["flipped"]
    oracle_acc = clone(model).fit(d["x_train"][clean], d["y_train"][clean]).score(d["x_test"], d["y_test"])
    print(f"{model_name} on the noisy labels: {base_acc:.4f}; without the flipped rows: {oracle_acc:.4f}",
          flush=True)  # fmt: skip
    methods = make_methods(args.methods.split(","), args.budget, args.seed, args.n_train,
                           args.dvrl_iterations, args.k)  # fmt: skip
    rows, results, sections = [], {}, []
    for name, est in methods.items():
        t1, c1 = time.perf_counter(), time.process_time()
        est.fit(d["x_train"], d["y_train"], d["x_val"], d["y_val"])
        fit_time, fit_cpu = time.perf_counter() - t1, time.process_time() - c1
        v = est.values_
        det = detection_scores(v, d["flipped"])
        removal = None
        if not args.no_removal:
            removal = point_removal(model, d["x_train"], d["y_train"], d["x_test"], d["y_test"], v)
        robust = robust_fit(model, d["x_train"], d["y_train"], v).score(d["x_test"], d["y_test"])
        robust_raw = robust_fit(model, d["x_train"], d["y_train"], v, normalize=False).score(
            d["x_test"], d["y_test"])
        res = valuation_result(est, d["x_train"], d["y_train"], feature_names=d["columns"],
                               is_corrupted=d["flipped"], removal=removal)  # fmt: skip
        res.fit_time = fit_time
        dc = res.discovery
        assert dc is not None
        j20 = int(np.argmin(np.abs(dc.inspected - 0.2)))
        extra = getattr(est, "n_samples_", None) or getattr(est, "convergence_", {}).get("n_iterations")
        row = {
            "method": name, "fit_s": fit_time, "cpu_s": fit_cpu, "samples": extra, "f1": det["f1"], "auroc": det["auroc"],
            "found_at_20": float(dc.found[j20]), "robust_acc": robust, "robust_acc_raw": robust_raw,
        }  # fmt: skip
        if removal is not None:
            j = int(np.argmin(np.abs(removal.removed - 0.2)))
            row["removal_lowest_20"] = float(removal.scores["lowest"][j])
            row["removal_highest_20"] = float(removal.scores["highest"][j])
            row["removal_lowest_max"] = float(removal.scores["lowest"].max())
        rows.append(row)
        results[name] = res.to_dict()
        if args.html:
            sections.append(res.to_section())
        print(json.dumps({k: (round(x, 4) if isinstance(x, float) else x) for k, x in row.items()}),
              flush=True)  # fmt: skip
        if args.json:  # after every method, so a run stopped early keeps what it finished
            Path(args.json).write_text(json.dumps({
                "args": vars(args), "eval_model": model_name, "base_acc": base_acc,
                "oracle_acc": oracle_acc, "rows": rows, "results": results,
            }))  # fmt: skip

    print()
    print(f"Adult, {args.n_train} training rows ({args.noise:.0%} labels flipped), {args.n_val} "
          f"clean validation rows, {len(d['y_test'])} test rows, seed {args.seed}; evaluation "
          f"model {model_name}: {base_acc:.4f} on the noisy labels, {oracle_acc:.4f} without "
          "the flipped rows.")  # fmt: skip
    print()
    print("| method | fit time (s) | samples | noisy-label F1 | AUROC | found after inspecting 20% "
          "| accuracy, 20% lowest removed | 20% highest removed | robust learning (weighted) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['fit_s']:.1f} | {r['samples'] or ''} | {r['f1']:.3f} | "
              f"{r['auroc']:.3f} | {r['found_at_20']:.3f} | {r.get('removal_lowest_20', float('nan')):.4f} | "
              f"{r.get('removal_highest_20', float('nan')):.4f} | {r['robust_acc']:.4f} |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({
            "args": vars(args), "eval_model": model_name, "base_acc": base_acc,
            "oracle_acc": oracle_acc, "rows": rows, "results": results,
        }))  # fmt: skip
    if args.html:
        from assay.report.sections import render_sections

        render_sections(sections, args.html, title="Data valuation on Adult (20% labels flipped)")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
