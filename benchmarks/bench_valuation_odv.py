"""assay.valuation next to OpenDataVal 1.3.0 on the same Adult data (20% labels flipped, the
DVRL notebook's splits, see bench_valuation.py): per method, the Spearman correlation of the
values the two libraries assign, each one's noisy-label detection F1 (flag as many
lowest-valued rows as are flipped) and AUROC, and the run time of each with the same budget
(the same number of permutations, subsets or iterations; KNN-Shapley and leave-one-out are
deterministic).

OpenDataVal's package ``__init__`` files import every evaluator, model and data set it has
(torchvision, transformers, geomloss, requests...), which do not install beside the local
torch; its evaluators themselves need only torch, NumPy, scikit-learn and tqdm. So this script
registers OpenDataVal's packages without running their ``__init__`` and imports the modules
of the evaluators compared (``dataval/knnshap``, ``dataval/margcontrib``, ``dataval/dvrl``)
and their base classes (``dataval/api.py``, ``model/api.py``) from the installed files:
OpenDataVal's own code runs. Its predictor is ``ClassifierSkLearnWrapper`` around the same
scikit-learn ``LogisticRegression``; labels are one-hot as it expects; its utility is the
validation accuracy, as ours.

    pip install --no-deps opendataval==1.3.0   # beside the project's .venv
    ASSAY_DATA_HOME=/work/shared/data .venv/bin/python benchmarks/bench_valuation_odv.py \
        --n-train 1000 --seed 0 --json /tmp/valuation_odv.json
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
import time
import types
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_valuation import adult_noisy  # noqa: E402


def load_opendataval() -> dict[str, Any]:
    """OpenDataVal's evaluator modules, imported from the installed package files."""
    spec = importlib.util.find_spec("opendataval")
    if spec is None or spec.origin is None:
        raise SystemExit("opendataval is not installed (pip install --no-deps opendataval==1.3.0)")
    root = Path(spec.origin).parent
    for name, sub in [("opendataval", ""), ("opendataval.dataloader", "dataloader"),
                      ("opendataval.model", "model"), ("opendataval.dataval", "dataval"),
                      ("opendataval.dataval.margcontrib", "dataval/margcontrib"),
                      ("opendataval.dataval.dvrl", "dataval/dvrl"),
                      ("opendataval.dataval.knnshap", "dataval/knnshap")]:  # fmt: skip
        mod = types.ModuleType(name)
        mod.__path__ = [str(root / sub)]
        sys.modules[name] = mod

    class DataFetcher:  # only named in annotations of the evaluators compared
        pass

    sys.modules["opendataval.dataloader"].DataFetcher = DataFetcher  # type: ignore[attr-defined]
    util = importlib.import_module("opendataval.dataloader.util")
    sys.modules["opendataval.dataloader"].CatDataset = util.CatDataset  # type: ignore[attr-defined]
    model_api = importlib.import_module("opendataval.model.api")
    sys.modules["opendataval.model"].Model = model_api.Model  # type: ignore[attr-defined]
    out = {"model_api": model_api, "metrics": importlib.import_module("opendataval.metrics")}
    for key, mod in [("knn", "dataval.knnshap.knnshap"), ("loo", "dataval.margcontrib.loo"),
                     ("sampler", "dataval.margcontrib.sampler"),
                     ("datashap", "dataval.margcontrib.datashap"),
                     ("betashap", "dataval.margcontrib.betashap"),
                     ("banzhaf", "dataval.margcontrib.banzhaf"), ("dvrl", "dataval.dvrl.dvrl")]:  # fmt: skip
        out[key] = importlib.import_module(f"opendataval.{mod}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-train", type=int, default=1000)
    ap.add_argument("--n-val", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", default="knn,loo,tmc,beta,banzhaf,dvrl")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--permutations", type=int, default=20, help="TMC and Beta Shapley")
    ap.add_argument("--subsets", type=int, default=2000, help="Data Banzhaf")
    ap.add_argument("--dvrl-iterations", type=int, default=1000)
    ap.add_argument("--json", default=None)
    ap.add_argument("--sklearn-path", action="store_true",
                    help="also run ours with fast_refit=False (scikit-learn's fits): its time "
                         "and the Spearman correlation / share of equal values of the two")  # fmt: skip
    args = ap.parse_args()

    import torch
    from scipy.stats import spearmanr
    from sklearn.linear_model import LogisticRegression

    from assay.valuation import (
        BetaShapley,
        DataBanzhaf,
        KNNShapley,
        LeaveOneOut,
        TMCShapley,
        detection_scores,
    )
    from assay.valuation.dvrl import DVRL

    torch.set_num_threads(1)
    odv = load_opendataval()
    d = adult_noisy(args.n_train, args.n_val, 0.2, args.seed)
    xt, yt, xv, yv = d["x_train"], d["y_train"], d["x_val"], d["y_val"]
    f32 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
    onehot = lambda y: f32(np.eye(2)[y])  # noqa: E731
    t_xt, t_yt, t_xv, t_yv = f32(xt), onehot(yt), f32(xv), onehot(yv)
    lr_fast = LogisticRegression(solver="liblinear")
    lr_dvrl = LogisticRegression(max_iter=1000)

    # count OpenDataVal's predictor fits (its samplers truncate at random points, so the
    # same number of permutations is not the same number of fits)
    wrapper = odv["model_api"].ClassifierSkLearnWrapper
    odv_fits = {"n": 0}
    wrapper_fit = wrapper.fit

    def counting_fit(self: Any, *a: Any, **k: Any) -> Any:
        odv_fits["n"] += 1
        return wrapper_fit(self, *a, **k)

    wrapper.fit = counting_fit

    def odv_model(est: Any) -> Any:  # the wrapper takes the class and its parameters
        return odv["model_api"].ClassifierSkLearnWrapper(type(est), 2, **est.get_params())

    cpu: dict[str, float] = {}  # CPU seconds of the last run of each side

    def run_odv(ev: Any, est: Any | None) -> tuple[np.ndarray, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        ev.input_data(t_xt, t_yt, t_xv, t_yv)
        if est is not None:
            ev.input_model(odv_model(est)).input_metric(odv["metrics"].accuracy)
        ev.train_data_values()
        out = np.asarray(ev.evaluate_data_values(), dtype=np.float64)
        cpu["odv"] = time.process_time() - c0
        return out, time.perf_counter() - t0

    def run_ours(est: Any) -> tuple[np.ndarray, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        est.fit(xt, yt, xv, yv)
        cpu["ours"] = time.process_time() - c0
        return np.asarray(est.values_, dtype=np.float64), time.perf_counter() - t0

    # torch's one-time initialisation (about a second) would land on whichever DVRL runs
    # first: both libraries' DVRL run once for two iterations on 50 rows before timing
    if "dvrl" in args.methods.split(","):
        DVRL(LogisticRegression(), n_iterations=2, batch_size=50, random_state=0).fit(
            xt[:50], yt[:50], xv, yv)
        odv["dvrl"].DVRL(rl_epochs=2, rl_batch_size=50, random_state=np.random.RandomState(0)) \
            .input_data(t_xt[:50], t_yt[:50], t_xv, t_yv) \
            .input_model(odv_model(LogisticRegression())) \
            .input_metric(odv["metrics"].accuracy).train_data_values()  # fmt: skip

    rs = np.random.RandomState(args.seed)
    p, s = args.permutations, args.subsets
    pairs: dict[str, tuple[Any, Any, Any]] = {
        "knn": (KNNShapley(k=args.k, duplicates="allow"),
                odv["knn"].KNNShapley(k_neighbors=args.k, batch_size=4096, random_state=rs), None),
        "loo": (LeaveOneOut(lr_fast), odv["loo"].LeaveOneOut(random_state=rs), lr_fast),
        "tmc": (TMCShapley(lr_fast, n_samples=p, random_state=args.seed),
                odv["datashap"].DataShapley(sampler=odv["sampler"].TMCSampler(
                    mc_epochs=p, random_state=rs)), lr_fast),
        "beta": (BetaShapley(lr_fast, n_samples=p, alpha=16, beta=1, random_state=args.seed),
                 odv["betashap"].BetaShapley(sampler=odv["sampler"].TMCSampler(
                     mc_epochs=p, random_state=rs), alpha=16, beta=1), lr_fast),
        "banzhaf": (DataBanzhaf(lr_fast, n_samples=s, random_state=args.seed),
                    odv["banzhaf"].DataBanzhaf(num_models=s, random_state=rs), lr_fast),
        "dvrl": (DVRL(lr_dvrl, n_iterations=args.dvrl_iterations, batch_size=2000,
                      random_state=args.seed),
                 odv["dvrl"].DVRL(rl_epochs=args.dvrl_iterations, rl_batch_size=2000,
                                  random_state=rs), lr_dvrl),
    }  # fmt: skip
    budgets = {"knn": "exact", "loo": f"{args.n_train + 1} fits", "tmc": f"{p} permutations",
               "beta": f"{p} permutations", "banzhaf": f"{s} subsets",
               "dvrl": f"{args.dvrl_iterations} iterations"}  # fmt: skip
    rows = []
    for key in args.methods.split(","):
        ours_est, odv_ev, est = pairs[key]
        v_ours, t_ours = run_ours(ours_est)
        cpu_ours = cpu["ours"]
        odv_fits["n"] = 0
        v_odv, t_odv = run_odv(odv_ev, est)
        cpu["ours"] = cpu_ours
        rho = float(spearmanr(v_ours, v_odv).statistic)
        do, dd = detection_scores(v_ours, d["flipped"]), detection_scores(v_odv, d["flipped"])
        row = {"method": key, "budget": budgets[key], "spearman": rho, "f1_assay": do["f1"],
               "f1_odv": dd["f1"], "auroc_assay": do["auroc"], "auroc_odv": dd["auroc"],
               "time_assay": t_ours, "time_odv": t_odv, "speedup": t_odv / max(t_ours, 1e-9),
               "cpu_assay": cpu["ours"], "cpu_odv": cpu["odv"],
               "cpu_speedup": cpu["odv"] / max(cpu["ours"], 1e-9), "fits_odv": odv_fits["n"],
               "fits_assay": int(getattr(ours_est, "n_utility_evaluations_", 0))}  # fmt: skip
        if key == "tmc":
            row["utility_evaluations_assay"] = int(getattr(ours_est, "n_utility_evaluations_", 0))
        if args.sklearn_path and hasattr(ours_est, "fast_refit"):
            import copy

            slow_est = copy.copy(ours_est)  # the same configuration, scikit-learn's fits
            slow_est.fast_refit = False
            v_slow, t_slow = run_ours(slow_est)
            row["time_assay_sklearn_path"] = t_slow
            row["spearman_fast_vs_sklearn_path"] = float(spearmanr(v_ours, v_slow).statistic)
            row["equal_fast_vs_sklearn_path"] = float(np.mean(v_ours == v_slow))
        rows.append(row)
        print(json.dumps({k: (round(x, 4) if isinstance(x, float) else x) for k, x in row.items()}),
              flush=True)  # fmt: skip
    print()
    print(f"Adult, {args.n_train} training rows (20% flipped), {args.n_val} validation rows, "
          f"seed {args.seed}")
    print()
    print("| method | budget (both) | Spearman of values | F1 assay | F1 OpenDataVal | AUROC assay "
          "| AUROC OpenDataVal | time assay (s) | time OpenDataVal (s) | OpenDataVal / assay "
          "| CPU assay (s) | CPU OpenDataVal (s) | CPU ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['budget']} | {r['spearman']:.3f} | {r['f1_assay']:.3f} | "
              f"{r['f1_odv']:.3f} | {r['auroc_assay']:.3f} | {r['auroc_odv']:.3f} | "
              f"{r['time_assay']:.2f} | {r['time_odv']:.2f} | {r['speedup']:.1f}x | "
              f"{r['cpu_assay']:.2f} | {r['cpu_odv']:.2f} | {r['cpu_speedup']:.1f}x |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}))


if __name__ == "__main__":
    main()
