"""Underspecification of a toxicity classifier (docs/robustness.md), after the
identity-term study of D'Amour et al. (2022), at the scale of the data available offline.

Data (``$ASSAY_DATA_HOME/wiki_toxicity``, the Conversation AI unintended-bias evaluation
sets; there is no training corpus with identity columns here):

- ``toxicity_nonfuzzed_testset.csv``: 1,492 real Wikipedia Talk comments labelled toxic or
  not. A fixed 60 / 40 split (by a seeded permutation) gives the TRAINING set (about 900
  comments) and the iid test set;
- ``toxicity_fuzzed_testset.csv``: the same comments with identity terms swapped; the test
  comments whose text differs after the swap form the counterfactual pairs;
- ``bias_madlibs_77k.csv``: template sentences with identity terms, ``BAD`` / ``NOT_BAD``;
  a fixed random sample of ``--madlibs`` rows is a stress set whose subgroups are the
  identity term found in the sentence (matched against :data:`IDENTITY_TERMS`, longest
  first; sentences with none or with two are left out).

The pipeline: hashed word unigrams and bigrams (``HashingVectorizer``, 2^15 features, l2
norm; no fitted vocabulary), then ``MLPClassifier(hidden_layer_sizes=(16,))`` with
``random_state=seed``. Printed: iid metrics across seeds, the per-identity false positive
rate on the non-toxic template sentences and its spread, and the per-seed change of the
toxicity score when identity terms are swapped.

Usage::

    ASSAY_DATA_HOME=/work/shared/data python benchmarks/bench_robustness_toxicity.py \
        --seeds 10 --checkpoint-dir /tmp/robustness_toxicity --out /tmp/robustness
"""

from __future__ import annotations

import argparse
import os
import re
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay.robustness import CounterfactualPairs, StressSet, stress_test

#: Identity terms matched in the template sentences (whole words, longest first).
IDENTITY_TERMS = (
    "african american", "middle eastern", "middle aged", "lesbian", "gay", "bisexual", "transgender",
    "trans", "queer", "lgbt", "lgbtq", "homosexual", "straight", "heterosexual", "male", "female",
    "nonbinary", "african", "black", "white", "european", "hispanic", "latino", "latina", "latinx",
    "mexican", "canadian", "american", "asian", "indian", "chinese", "japanese", "christian",
    "buddhist", "catholic", "protestant", "sikh", "jewish", "muslim", "older", "younger", "young",
    "old", "teenage", "millenial", "elderly", "blind", "deaf", "paralyzed",
)  # fmt: skip


def identity_of(texts: pd.Series) -> np.ndarray:
    terms = sorted(IDENTITY_TERMS, key=len, reverse=True)
    pat = re.compile(r"\b(" + "|".join(re.escape(t) for t in terms) + r")\b")
    out = []
    for t in texts.str.lower():
        found = set(pat.findall(t))
        out.append(next(iter(found)) if len(found) == 1 else None)
    return np.array(out, dtype=object)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--madlibs", type=int, default=20000)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--checkpoint-dir", default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.neural_network import MLPClassifier

    home = Path(os.environ.get("ASSAY_DATA_HOME", "~/assay_data")).expanduser() / "wiki_toxicity"
    real = pd.read_csv(home / "toxicity_nonfuzzed_testset.csv")
    fuzz = pd.read_csv(home / "toxicity_fuzzed_testset.csv")
    if not (real.rev_id.to_numpy() == fuzz.rev_id.to_numpy()).all():
        raise ValueError("the fuzzed and non-fuzzed files are not in the same rev_id order")
    mad = pd.read_csv(home / "bias_madlibs_77k.csv")
    perm = np.random.default_rng(2022).permutation(len(real))
    tr, te = perm[: int(0.6 * len(real))], perm[int(0.6 * len(real)) :]
    vec = HashingVectorizer(n_features=2**15, ngram_range=(1, 2), alternate_sign=False, norm="l2")
    Xtr, ytr = vec.transform(real.comment.iloc[tr]), real.toxic.iloc[tr].to_numpy(int)
    Xte, yte = vec.transform(real.comment.iloc[te]), real.toxic.iloc[te].to_numpy(int)
    changed = (real.comment.iloc[te].to_numpy() != fuzz.comment.iloc[te].to_numpy())
    Xo, Xf = vec.transform(real.comment.iloc[te][changed]), vec.transform(fuzz.comment.iloc[te][changed])
    ms = mad.sample(n=min(args.madlibs, len(mad)), random_state=0)
    ident = identity_of(ms.Text)
    keep = ident != None  # noqa: E711  (object array)
    ms, ident = ms[keep], ident[keep]
    Xm, ym = vec.transform(ms.Text), (ms.Label == "BAD").to_numpy(int)
    print(f"train {len(tr)} comments ({ytr.mean():.1%} toxic), test {len(te)}, counterfactual pairs "
          f"{changed.sum()}, template sentences {len(ms)} with {len(set(ident))} identity terms")  # fmt: skip

    def train(seed: int) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return MLPClassifier(hidden_layer_sizes=(args.hidden,), max_iter=60, random_state=seed).fit(Xtr, ytr)

    iid = StressSet("comments", Xte, yte)
    stress = [StressSet("templates", Xm, ym, kind="shift", groups={"identity": ident}, min_group_size=100),
              CounterfactualPairs("identity_swapped", Xo, Xf)]  # fmt: skip
    t0, c0 = time.perf_counter(), time.process_time()
    res = stress_test(iid, stress, train=train, seeds=range(args.seeds), checkpoint_dir=args.checkpoint_dir,
                      progress=True)  # fmt: skip
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    df = res.to_frame()
    pd.set_option("display.width", 250)
    fmt = {"float_format": lambda v: f"{v:.4g}", "index": False}
    cols = ["test", "metric", "rows", "mean", "sd", "min", "max", "sd_ratio", "excess_ratio", "p_adjusted", "verdict"]
    print(df[df.test.isin(["comments", "templates", "identity_swapped"])
             & df.metric.isin(["accuracy", "fpr", "fnr", "roc_auc", "counterfactual_change",
                               "counterfactual_flip_rate"])][cols].to_string(**fmt))  # fmt: skip
    fpr = df[(df.kind == "subgroup") & (df.metric == "fpr")].sort_values("sd", ascending=False)
    print("\nper-identity false positive rate on the non-toxic template sentences (across seeds):")
    print(fpr[cols].to_string(**fmt))
    print(f"identities underspecified on FPR: {(fpr.verdict == 'underspecified').sum()} of {len(fpr)}; "
          f"median sd {fpr['sd'].median():.4f}, median range {fpr['range'].median():.4f}")  # fmt: skip
    secs = res.config["seconds"]
    print(f"\n{len(res.seeds)} seeds, train+predict {np.mean(list(secs.values())):.1f} s per seed "
          f"(checkpointed: {len(res.config['resumed'])}), whole run wall {wall:.0f} s, CPU {cpu:.0f} s")  # fmt: skip
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        res.to_json(out / "robustness_toxicity.json")
        res.to_html(out / "robustness_toxicity.html", title="Underspecification: toxicity classifier")


if __name__ == "__main__":
    main()
