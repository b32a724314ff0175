"""Underspecification on tabular data (docs/robustness.md): Adult and COMPAS over seeds.

One pipeline per data set: one-hot encoded categories and standardized numbers, a small
scikit-learn MLP (``MLPClassifier``, one hidden layer) whose ``random_state`` is the seed
(it sets the initial weights and the mini-batch order; the data and its split are fixed).
Each seed's model is stress-tested with :func:`assay.robustness.stress_test`:

- subgroup slices of the test set by sex and race (``groups=``);
- counterfactual pairs: the test set with the sex attribute swapped (Male <-> Female), and
  for COMPAS also with race swapped (African-American <-> Caucasian, those rows only).

Overall (iid) accuracy across seeds is compared with the subgroup error rates' spread.

Usage (single process; checkpoints make an interrupted run resume)::

    ASSAY_DATA_HOME=/work/shared/data python benchmarks/bench_robustness_tabular.py \
        --dataset adult --seeds 20 --checkpoint-dir /tmp/robustness_adult --out /tmp/robustness
    ASSAY_DATA_HOME=/work/shared/data python benchmarks/bench_robustness_tabular.py \
        --dataset compas --seeds 20 --checkpoint-dir /tmp/robustness_compas --out /tmp/robustness
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay.datasets import load_adult, load_compas
from assay.robustness import CounterfactualPairs, StressSet, stress_test

ADULT_CAT = ["workclass", "education", "marital_status", "occupation", "relationship", "race", "sex", "native_country"]
ADULT_NUM = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
COMPAS_CAT = ["sex", "age_cat", "race", "c_charge_degree"]
COMPAS_NUM = ["age", "priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count"]


class Encoder:
    """One-hot categories (the training set's levels; missing and unseen levels all zero)
    and numbers standardized with the training set's mean and sd (``log1p`` first for
    capital gain and loss)."""

    def __init__(self, cat: list[str], num: list[str]) -> None:
        self.cat, self.num = cat, num

    def fit(self, df: pd.DataFrame) -> Encoder:
        self.levels_ = {c: sorted(df[c].dropna().unique().tolist()) for c in self.cat}
        x = self._num(df)
        self.mean_, self.sd_ = x.mean(axis=0), x.std(axis=0) + 1e-12
        return self

    def _num(self, df: pd.DataFrame) -> np.ndarray:
        cols = [np.log1p(df[c].to_numpy(float)) if c.startswith("capital") else df[c].to_numpy(float) for c in self.num]
        return np.stack(cols, axis=1)

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        parts = [(self._num(df) - self.mean_) / self.sd_]
        for c in self.cat:
            v = df[c].to_numpy(object)
            parts.append(np.stack([(v == lv).astype(float) for lv in self.levels_[c]], axis=1))
        return np.concatenate(parts, axis=1).astype(np.float32)


def swap(df: pd.DataFrame, col: str, a: str, b: str) -> pd.DataFrame:
    out = df.copy()
    v = df[col]
    out[col] = np.where(v == a, b, np.where(v == b, a, v))
    return out


def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str], str]:
    if name == "adult":
        tr = load_adult(split="train", download=False).to_pandas()
        te = load_adult(split="test", download=False).to_pandas()
        return tr, te, ADULT_CAT, ADULT_NUM, "label"
    df = load_compas(download=False).to_pandas()
    rng = np.random.default_rng(2022)  # fixed split, the same for every model seed
    test = rng.random(len(df)) < 0.3
    return df[~test].reset_index(drop=True), df[test].reset_index(drop=True), COMPAS_CAT, COMPAS_NUM, "two_year_recid"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", choices=["adult", "compas"], default="compas")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--checkpoint-dir", default=None)
    ap.add_argument("--out", default=None, help="folder for the JSON and HTML of the result")
    args = ap.parse_args()
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    tr, te, cat, num, label = load(args.dataset)
    enc = Encoder(cat, num).fit(tr)
    Xtr, ytr = enc.transform(tr), tr[label].to_numpy(int)
    Xte, yte = enc.transform(te), te[label].to_numpy(int)

    def train(seed: int) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return MLPClassifier(hidden_layer_sizes=(args.hidden,), max_iter=args.epochs, batch_size=256,
                                 random_state=seed).fit(Xtr, ytr)  # fmt: skip

    groups = {"sex": te["sex"].to_numpy(object), "race": te["race"].to_numpy(object)}
    iid = StressSet("test", Xte, yte, groups=groups, min_group_size=100)
    stress: list[Any] = [CounterfactualPairs("sex_swapped", Xte, enc.transform(swap(te, "sex", "Male", "Female")))]
    if args.dataset == "compas":
        sel = te["race"].isin(["African-American", "Caucasian"]).to_numpy()
        sub = te[sel]
        stress.append(CounterfactualPairs("race_swapped", enc.transform(sub),
                                          enc.transform(swap(sub, "race", "African-American", "Caucasian"))))  # fmt: skip
    t0, c0 = time.perf_counter(), time.process_time()
    res = stress_test(iid, stress, train=train, seeds=range(args.seeds), checkpoint_dir=args.checkpoint_dir,
                      progress=True)  # fmt: skip
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    df = res.to_frame()
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    cols = ["test", "metric", "rows", "mean", "sd", "min", "max", "sd_ratio", "spearman_iid",
            "discordant_pairs", "excess_ratio", "p_value", "p_adjusted", "verdict"]  # fmt: skip
    show = df[df.metric.isin(["accuracy", "fpr", "fnr", "counterfactual_change", "counterfactual_flip_rate"])]
    print(show[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    secs = res.config["seconds"]
    print(f"\n{args.dataset}: {len(res.seeds)} seeds, train+predict {np.mean(list(secs.values())):.1f} s per seed "
          f"(checkpointed seeds: {len(res.config['resumed'])}), whole run wall {wall:.0f} s, CPU {cpu:.0f} s")  # fmt: skip
    print("verdicts:", res.verdicts)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        res.to_json(out / f"robustness_{args.dataset}.json")
        res.to_html(out / f"robustness_{args.dataset}.html", title=f"Underspecification: {args.dataset}")


if __name__ == "__main__":
    main()
