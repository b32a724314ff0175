"""MNIST calibration with a short CPU budget: a small model, then temperature scaling, MC
dropout and a deep ensemble, each measured with assay.uncertainty (ECE, NLL, Brier,
accuracy with jackknife intervals on the 10,000 test images).

    ASSAY_DATA_HOME=/work/shared/data .venv/bin/python benchmarks/bench_uncertainty_mnist.py \
        --arch mlp --steps 1500 --members 3 --seed 0 --out /tmp/unc_mnist.json

Held-out split: the last 5,000 training images are the validation set temperature scaling
is fitted on (never the test set); the model trains on the first 55,000. Adam 1e-3, batch
256 (Uncertainty Baselines' LeNet-5 schedule is 5,000 steps; ``--arch lenet5 --steps 5000``
runs it, much slower on a shared CPU). Prints a Markdown table; ``--out`` writes JSON with
the settings, per-method metrics and CPU / wall times. OOD: each method's uncertainty score
(larger = more uncertain) on the MNIST test set (label 0) against notMNIST's test set
and Omniglot's background set (label 1), AUROC with a jackknife interval through
``assay.evaluate(task="ood")``.

``--cache DIR`` saves every trained model's state dict there (keyed by architecture,
steps, batch, dropout and seed) and loads it on a later run instead of training again, so
a long schedule can be split over runs (e.g. ``--members 1 --sngp`` first, then
``--members 3 --sngp`` trains only the two new members). The JSON records which models came
from the cache; their training times are those of the run that trained them.

LeNet-5 tables (docs/uncertainty.md): training runs filling the cache (each within 25
minutes wall on a loaded 2-core machine), then one evaluation run reading it:

    B="ASSAY_DATA_HOME=/work/shared/data .venv/bin/python benchmarks/bench_uncertainty_mnist.py \
       --arch lenet5 --steps 5000 --seed 0 --cache /tmp/unc/cache"
    $B --members 1 --sngp --train-only          # seed 0 and SNGP (c = 0.95)
    $B --members 2 --train-only                 # seed 1
    $B --members 3 --train-only                 # seed 2
    $B --members 1 --sngp --norm-bound 6 --train-only
    $B --members 3 --sngp --norm-bound 0.95 6 --shift 2000 --out /tmp/unc/lenet5.json

``--dataset fashion_mnist`` runs the same on Fashion-MNIST (MNIST's test set as the OOD set;
models cached under their own names).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np


def build(arch: str, dropout: float) -> Any:
    from torch import nn

    if arch == "mlp":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(256, 256), nn.ReLU(), nn.Dropout(dropout), nn.Linear(256, 10),
        )  # fmt: skip
    # LeNet-5 as in Uncertainty Baselines' MNIST baseline (conv 6-16, dense 120-84), with
    # dropout before the dense layers so that MC dropout applies
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(dropout),
        nn.Linear(400, 120), nn.ReLU(), nn.Dropout(dropout), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )  # fmt: skip


#: rows per prediction batch (bounded memory for the convolutional model)
B = 2000

#: (name, cpu seconds, wall seconds, cached) for every model trained or loaded
TRAINED: list[dict[str, Any]] = []


def train(model: Any, seed: int, x: Any, y: Any, steps: int, batch: int, cache: str | None = None,
          name: str = "") -> None:  # fmt: skip
    import torch

    path = os.path.join(cache, f"{name}.pt") if cache else None
    c0, w0 = time.process_time(), time.perf_counter()
    if path and os.path.exists(path):
        model.load_state_dict(torch.load(path))
        rec = {"name": name, "cached": True, "load_cpu_s": time.process_time() - c0}
        if os.path.exists(path + ".json"):  # the training times of the run that trained it
            with open(path + ".json") as f:
                rec["trained"] = json.load(f)
        TRAINED.append(rec)
        return
    _fit(model, seed, x, y, steps, batch)
    if getattr(model, "fit_precision", None) is not None:
        model.fit_precision([x[i : i + 2000] for i in range(0, x.shape[0], 2000)])
    rec = {"name": name, "cached": False, "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0}
    TRAINED.append(rec)
    if path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        torch.save(model.state_dict(), path)
        with open(path + ".json", "w") as f:
            json.dump({k: v for k, v in rec.items() if k != "cached"}, f)


def _fit(model: Any, seed: int, x: Any, y: Any, steps: int, batch: int) -> None:
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (batch,), generator=g)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()


def logits_of(model: Any, x: Any) -> np.ndarray:
    import torch

    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i : i + 2000]) for i in range(0, x.shape[0], 2000)]).double().numpy()


def temperature_peers(z: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The temperature minimising the same validation NLL by SciPy's bounded scalar search,
    and torch-uncertainty's ``TemperatureScaler`` on the same logits (where installed)."""
    out: dict[str, float] = {}
    try:
        from scipy.optimize import minimize_scalar

        def nll(log_t: float) -> float:
            s = z / np.exp(log_t)
            s = s - s.max(1, keepdims=True)
            return float(-(s[np.arange(y.size), y] - np.log(np.exp(s).sum(1))).mean())

        out["scipy"] = float(np.exp(minimize_scalar(nll, bounds=(-7.0, 7.0), method="bounded",
                                                    options={"xatol": 1e-10}).x))  # fmt: skip
    except ImportError:
        pass
    try:
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        from bench_uncertainty_speed import import_torch_uncertainty_metrics

        import_torch_uncertainty_metrics()
        from torch_uncertainty.post_processing import TemperatureScaler

        tsc = TemperatureScaler()
        tsc.fit(DataLoader(TensorDataset(torch.tensor(z), torch.tensor(y)), batch_size=1000), progress=False)
        out["torch-uncertainty"] = float(tsc.temperature[0].detach())
    except ImportError:
        pass
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=["mlp", "lenet5"], default="mlp")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--mc-samples", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sngp", action="store_true", help="also train an SNGP model (same body)")
    ap.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist",
                    help="fashion_mnist: Fashion-MNIST, with MNIST's test set as the OOD set")
    ap.add_argument("--no-ood", action="store_true", help="skip the OOD scores")
    ap.add_argument("--shift", type=int, default=0,
                    help="evaluate under every corruption at severities 1, 3, 5 on the first N test images")
    ap.add_argument("--lengthscale", type=float, default=2.0, help="SNGP random-feature lengthscale")
    ap.add_argument("--norm-bound", type=float, nargs="+", default=[0.95],
                    help="SNGP spectral-norm bound(s); one SNGP model per value")
    ap.add_argument("--train-only", action="store_true", help="train (or load) the models, evaluate nothing")
    ap.add_argument("--cache", default=None, help="folder for trained models' state dicts (reused when present)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import torch

    from assay import uncertainty as U
    from assay.datasets import load_fashion_mnist, load_mnist, load_notmnist, load_omniglot

    torch.set_num_threads(args.threads)
    load = load_mnist if args.dataset == "mnist" else load_fashion_mnist
    xtr, ytr = load(split="train")
    xte, yte = load(split="test")
    x = torch.tensor(xtr, dtype=torch.float32).reshape(-1, 784) / 255.0
    y = torch.tensor(ytr)
    x_fit, y_fit, x_val, y_val = x[:55000], y[:55000], x[55000:], y[55000:]
    x_test = torch.tensor(xte, dtype=torch.float32).reshape(-1, 784) / 255.0

    times: dict[str, dict[str, float]] = {}

    def timed(name: str, fn: Any) -> Any:
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        times[name] = {"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0}
        return out

    def factory() -> Any:
        return build(args.arch, args.dropout)

    tag = f"{args.arch}_steps{args.steps}_batch{args.batch}_dropout{args.dropout}"
    if args.dataset != "mnist":
        tag = f"{args.dataset}_{tag}"
    ens = U.DeepEnsemble(factory, lambda m, s: train(m, s, x_fit, y_fit, args.steps, args.batch, args.cache,
                                                     f"{tag}_seed{s}"),
                         n_members=max(1, args.members), seed=args.seed, progress=True)  # fmt: skip

    def sngp_fit(bound: float) -> Any:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(args.seed)
            full = build(args.arch, args.dropout)
            last = full[-1]
            body = torch.nn.Sequential(*list(full)[:-1])
            model = U.SNGPClassifier(body, last.in_features, 10, num_features=1024, lengthscale=args.lengthscale,
                                     norm_bound=bound, seed=args.seed)  # fmt: skip
            nb = "" if bound == 0.95 else f"_nb{bound}"
            train(model, args.seed, x_fit, y_fit, args.steps, args.batch, args.cache,
                  f"sngp_{tag}_ls{args.lengthscale}{nb}_seed{args.seed}")  # fmt: skip
        return model

    timed("train_ensemble", ens.fit)
    sngps: dict[str, Any] = {}
    for bound in args.norm_bound if args.sngp else []:
        label = "SNGP" if len(args.norm_bound) == 1 else f"SNGP (c={bound:g})"
        sngps[label] = timed(f"train_{label}", lambda bound=bound: sngp_fit(bound))
    if args.train_only:
        print("models:", json.dumps(TRAINED))
        return
    det = ens.members_[0]  # member 0 (seed = --seed) is the deterministic model
    z_val, z_test = logits_of(det, x_val), logits_of(det, x_test)
    ts = timed("temperature_scaling", lambda: U.TemperatureScaling().fit(z_val, y_val.numpy()))
    peer_t = temperature_peers(z_val, y_val.numpy())
    methods: dict[str, np.ndarray] = {
        "deterministic": np.exp(z_test - z_test.max(1, keepdims=True)),
        "temperature scaling": ts.transform(z_test),
        f"MC dropout ({args.mc_samples})": timed(
            "mc_dropout", lambda: U.MCDropout(det, args.mc_samples, seed=args.seed).predict_proba(x_test, batch_size=B)
        ),
    }
    methods["deterministic"] /= methods["deterministic"].sum(1, keepdims=True)
    if args.members > 1:
        methods[f"ensemble ({args.members})"] = timed("ensemble_predict", lambda: ens.predict_proba(x_test, batch_size=B))
    for label, sngp in sngps.items():
        methods[label] = timed(f"predict_{label}", lambda sngp=sngp: sngp.predict_proba(x_test, batch_size=B))
    res = timed("evaluate", lambda: U.evaluate_uncertainty(methods, yte, n_bins=15))
    cols = ("top_label_accuracy", "nll", "top_label_ece", "brier_score", "brier_score_mean")
    print(f"| method | {' | '.join(cols)} |")
    print("|---" * (len(cols) + 1) + "|")
    for m in res.models:
        cells = []
        for c in cols:
            v, lo, hi = res.values[m][c]
            cells.append(f"{v:.4f} [{lo:.4f}, {hi:.4f}]")
        print(f"| {m} | {' | '.join(cells)} |")
    ood: dict[str, dict[str, dict[str, float]]] = {}
    if args.no_ood:
        ood_sets = {}
    elif args.dataset == "mnist":
        ood_sets = {"notMNIST test": load_notmnist(split="test").x,
                    "Omniglot background": load_omniglot(split="background").x}  # fmt: skip
    else:
        ood_sets = {"MNIST test": load_mnist(split="test").x}
    in_scores: dict[str, Any] = {}
    for set_name, xo in ood_sets.items():
        import assay

        x_ood = torch.tensor(xo, dtype=torch.float32).reshape(-1, 784) / 255.0
        z_ood = logits_of(det, x_ood)
        e_ood = np.exp(z_ood - z_ood.max(1, keepdims=True))
        in_out = {  # (in-distribution scores, OOD scores), larger = more uncertain
            "deterministic: entropy": (U.predictive_entropy(methods["deterministic"]),
                                       U.predictive_entropy(e_ood / e_ood.sum(1, keepdims=True))),
            "temperature scaling: entropy": (U.predictive_entropy(methods["temperature scaling"]),
                                             U.predictive_entropy(ts.transform(z_ood))),
        }  # fmt: skip
        mc = U.MCDropout(det, args.mc_samples, seed=args.seed)
        if "mc" not in in_scores:  # the in-distribution scores, computed once for every OOD set
            in_scores["mc"] = mc.uncertainty(x_test, batch_size=B)
            in_scores["ens"] = ens.uncertainty(x_test, batch_size=B) if args.members > 1 else {}
            for label, sngp in sngps.items():
                in_scores[label] = sngp.uncertainty(x_test, batch_size=B)
        mc_in, mc_out = in_scores["mc"], mc.uncertainty(x_ood, batch_size=B)
        in_out["MC dropout: mutual information"] = (mc_in["mutual_information"], mc_out["mutual_information"])
        if args.members > 1:
            e_in, e_out = in_scores["ens"], ens.uncertainty(x_ood, batch_size=B)
            in_out["ensemble: entropy"] = (e_in["predictive_entropy"], e_out["predictive_entropy"])
            in_out["ensemble: mutual information"] = (e_in["mutual_information"], e_out["mutual_information"])
        for label, sngp in sngps.items():
            s_in, s_out = in_scores[label], sngp.uncertainty(x_ood, batch_size=B)
            in_out[f"{label}: variance"] = (s_in["variance"], s_out["variance"])
            in_out[f"{label}: entropy"] = (s_in["predictive_entropy"], s_out["predictive_entropy"])
        print(f"| OOD score ({args.dataset} test vs {set_name}, {len(xo)} images) | AUROC | FPR@95%TPR |")
        print("|---|---|---|")
        for name, (a, b) in in_out.items():
            lab = np.r_[np.zeros(a.size), np.ones(b.size)].astype(int)
            r = assay.evaluate({"y": lab, "s": np.r_[a, b]}, label="y", scores="s", task="ood")
            au, fpr = r.value("auroc"), r.value("fpr_at_95_tpr")
            ood.setdefault(set_name, {})[name] = {"auroc": au.value, "auroc_lower": au.lower,
                                                  "auroc_upper": au.upper, "fpr_at_95_tpr": fpr.value}  # fmt: skip
            print(f"| {name} | {au.value:.4f} [{au.lower:.4f}, {au.upper:.4f}] | {fpr.value:.4f} |")
    shift_rows: dict[str, dict[str, list[list[float]]]] = {}
    if args.shift:
        xs, ys, kind, sev = U.corrupted_sets(xte[: args.shift], yte[: args.shift], severities=(1, 3, 5),
                                             seed=args.seed)  # fmt: skip
        xsh = torch.tensor(xs, dtype=torch.float32).reshape(-1, 784) / 255.0
        zsh = logits_of(det, xsh)
        esh = np.exp(zsh - zsh.max(1, keepdims=True))
        shifted = {"deterministic": esh / esh.sum(1, keepdims=True), "temperature scaling": ts.transform(zsh),
                   f"MC dropout ({args.mc_samples})": timed("mc_dropout_shift", lambda: U.MCDropout(
                       det, args.mc_samples, seed=args.seed).predict_proba(xsh, batch_size=B))}  # fmt: skip
        if args.members > 1:
            shifted[f"ensemble ({args.members})"] = ens.predict_proba(xsh, batch_size=B)
        for label, sngp in sngps.items():
            shifted[label] = sngp.predict_proba(xsh, batch_size=B)
        key = np.array([f"{k}@{v}" for k, v in zip(kind.tolist(), sev.tolist(), strict=True)])
        rs = timed("evaluate_shift", lambda: U.evaluate_uncertainty(shifted, ys, n_bins=15, slices={"shift": key}))
        assert rs.evaluation is not None
        print("| shift@severity | " + " | ".join(f"{m}: acc / NLL / ECE" for m in rs.models) + " |")
        print("|---" * (len(rs.models) + 1) + "|")
        for k in dict.fromkeys(key.tolist()):
            cells = []
            for m in rs.models:
                iv = [rs.evaluation.value(me, slice=f"shift={k}", model=m, cls=0)
                      for me in ("top_label_accuracy", "nll", "top_label_ece")]  # fmt: skip
                v = [x.value for x in iv]
                shift_rows.setdefault(k, {})[m] = [[x.value, x.lower, x.upper] for x in iv]
                cells.append(f"{v[0]:.3f} / {v[1]:.3f} / {v[2]:.3f}")
            print(f"| {k} | " + " | ".join(cells) + " |")
    print(f"temperature = {ts.temperature_:.4f}; validation NLL {ts.nll_before_:.4f} -> {ts.nll_after_:.4f}; "
          f"same NLL minimised by: {json.dumps(peer_t)}")  # fmt: skip
    print("times:", json.dumps({k: {a: round(b, 1) for a, b in v.items()} for k, v in times.items()}))
    print("models:", json.dumps([{k: round(v, 1) if isinstance(v, float) else v for k, v in t.items()}
                                 for t in TRAINED]))  # fmt: skip
    if args.out:
        out = {"settings": vars(args), "temperature": ts.temperature_,
               "val_nll_before": ts.nll_before_, "val_nll_after": ts.nll_after_, "temperature_peers": peer_t,
               "metrics": res.to_dict()["values"], "ood": ood, "shift": shift_rows, "times": times,
               "models": TRAINED,
               "torch": torch.__version__}  # fmt: skip
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
