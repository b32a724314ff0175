"""Domain adaptation by data valuation (Yoon, Arik and Pfister 2020, section 5.3) on Adult,
with the domains built by a demographic split: the target domain is the women of
``adult.test``, the source domain men only (``--setting rest``, as the paper's
"train-on-rest") or men and women (``--setting all``, "train-on-all") of ``adult.data``.

``n_source`` source rows drawn at random from ``adult.data`` (of the setting's domain);
``n_val`` target-domain validation rows (women of ``adult.test``, the small clean set the
values are computed against) and the remaining women of ``adult.test`` as the target test
set. Features: the six numeric columns and the one-hot categorical columns (``sex``
included: constant within the ``rest`` source), min-max scaled over the rows used, as for
``bench_valuation.py``. Each valuer values the source rows against the target validation
set; the evaluation model (``HistGradientBoostingClassifier``) is trained on the source rows
unweighted and weighted by the values (:func:`assay.valuation.domain_adaptation`), and
scored (accuracy, and AUROC) on the target test set.

    ASSAY_DATA_HOME=/work/shared/data .venv/bin/python benchmarks/bench_valuation_domain.py \
        --setting rest --n-source 10000 --n-val 400 --seed 0 --methods knn,dvrl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_valuation import CATEGORICAL, NUMERIC  # noqa: E402


def adult_domains(setting: str, n_source: int, n_val: int, seed: int) -> dict[str, Any]:
    import pandas as pd

    from assay.datasets import load_adult

    tr = load_adult(split="train", download=False).to_pandas()
    te = load_adult(split="test", download=False).to_pandas()
    df = pd.concat([tr, te], ignore_index=True)
    y = df["label"].to_numpy().astype(int)
    cats = df[CATEGORICAL].astype(object).where(df[CATEGORICAL].notna(), "?")
    x_all = pd.concat([df[NUMERIC].astype(float),
                       pd.get_dummies(cats, columns=CATEGORICAL, dtype=float)], axis=1)  # fmt: skip
    female = (df["sex"].astype(str) == "Female").to_numpy()
    is_train = np.arange(len(df)) < len(tr)
    rng = np.random.default_rng(seed)
    tgt = rng.permutation(np.flatnonzero(~is_train & female))  # first: the same in both settings
    val, test = tgt[:n_val], tgt[n_val:]
    pool = np.flatnonzero(is_train & (~female if setting == "rest" else True))
    if n_source > pool.size:
        raise SystemExit(f"--n-source must be at most {pool.size} for --setting {setting}")
    src = rng.permutation(pool)[:n_source]
    used = np.concatenate([src, val, test])
    x = x_all.to_numpy()
    lo, hi = x[used].min(axis=0), x[used].max(axis=0)
    x = (x - lo) / np.where(hi > lo, hi - lo, 1.0)
    return {"x_source": x[src], "y_source": y[src], "x_val": x[val], "y_val": y[val],
            "x_test": x[test], "y_test": y[test], "source_female": female[src]}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--setting", choices=["rest", "all"], default="rest")
    ap.add_argument("--n-source", type=int, default=10_000)
    ap.add_argument("--n-val", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--methods", default="knn,dvrl")
    ap.add_argument("--dvrl-iterations", type=int, default=1000)
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import torch
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from assay.valuation import DataBanzhaf, KNNShapley, domain_adaptation, robust_fit

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    d = adult_domains(args.setting, args.n_source, args.n_val, args.seed)
    model = HistGradientBoostingClassifier(random_state=args.seed)
    xs, ys, xe, ye = d["x_source"], d["y_source"], d["x_test"], d["y_test"]
    print(f"source ({args.setting}): {len(ys)} rows ({d['source_female'].mean():.1%} women, "
          f"{ys.mean():.1%} >50K); target validation {len(d['y_val'])}, target test {len(ye)} "
          f"({ye.mean():.1%} >50K)", flush=True)  # fmt: skip
    only_val = clone(model).fit(d["x_val"], d["y_val"])
    both = clone(model).fit(np.vstack([xs, d["x_val"]]), np.concatenate([ys, d["y_val"]]))
    print(f"reference: trained on the {len(d['y_val'])} target validation rows only "
          f"{only_val.score(xe, ye):.4f}; on source + target validation {both.score(xe, ye):.4f}",
          flush=True)  # fmt: skip
    valuers: dict[str, Any] = {}
    for name in args.methods.split(","):
        if name == "knn":
            valuers["KNN-Shapley"] = KNNShapley(k=args.k, duplicates="allow")
        elif name == "dvrl":
            from assay.valuation.dvrl import DVRL

            valuers["DVRL"] = DVRL(LogisticRegression(max_iter=1000), n_iterations=args.dvrl_iterations,
                                   batch_size=2000, random_state=args.seed)  # fmt: skip
        elif name == "banzhaf":
            valuers["Data Banzhaf"] = DataBanzhaf(LogisticRegression(solver="liblinear"),
                                                  n_samples=100_000, time_budget=args.budget,
                                                  random_state=args.seed)  # fmt: skip
        else:
            raise SystemExit(f"unknown method {name!r}")
    rows = []
    for name, valuer in valuers.items():
        c1 = time.process_time()  # the valuation and the two model fits
        da = domain_adaptation(valuer, model, xs, ys, d["x_val"], d["y_val"], xe, ye)
        cpu = time.process_time() - c1
        base = clone(model).fit(xs, ys)
        adapted = robust_fit(model, xs, ys, da.values)
        row = {"method": name, "fit_s": da.fit_time, "cpu_s": cpu, "baseline_acc": da.baseline_score,
               "adapted_acc": da.adapted_score, "gain": da.gain,
               "baseline_auc": float(roc_auc_score(ye, base.predict_proba(xe)[:, 1])),
               "adapted_auc": float(roc_auc_score(ye, adapted.predict_proba(xe)[:, 1]))}  # fmt: skip
        if args.setting == "all":  # do the values favour the target group?
            v = da.values
            row["mean_value_women_minus_men"] = float(v[d["source_female"]].mean() - v[~d["source_female"]].mean())
        rows.append(row)
        print(json.dumps({k: (round(x, 4) if isinstance(x, float) else x) for k, x in row.items()}),
              flush=True)  # fmt: skip
    print()
    print("| valuer | valuation time (s) | CPU (s), valuation + 2 fits | target accuracy, unweighted | weighted by value | "
          "target AUROC, unweighted | weighted |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['fit_s']:.1f} | {r['cpu_s']:.1f} | {r['baseline_acc']:.4f} | "
              f"{r['adapted_acc']:.4f} | {r['baseline_auc']:.4f} | {r['adapted_auc']:.4f} |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
