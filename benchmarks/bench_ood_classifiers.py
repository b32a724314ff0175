"""Classifier-based OOD detectors on Fashion-MNIST (in) against MNIST (OOD), from one small
CNN trained for a few minutes on one CPU thread, and the same detectors of pytorch-ood on
the same model and inputs (scores and fit + score time).

``--in-dist mnist``: MNIST in, Fashion-MNIST, notMNIST and Omniglot (background set) out.
``--in-dist cifar10``: the six CIFAR-10 animal classes in (bird, cat, deer, dog, frog,
horse; a 6-way classifier), two OOD sets: the four vehicle classes (airplane, automobile,
ship, truck: a held-out class group) and a corrupted copy of other animal test images
(Gaussian noise, sigma ``--noise-sigma`` on [0, 1], clipped). The CIFAR CNN is wider
(conv 32 - conv 64 - linear 128) and trains with random horizontal flips.

``--in-dist cifar10-resnet``: all ten CIFAR-10 classes in, with the ResNet-8 classifiers that
benchmarks/bench_uncertainty_cifar.py trained and cached (``--resnet-cache DIR``, the
``--resnet-tag`` of its file names; member ``seed`` is the model, seeds ``seed+1 ..`` the other
ensemble members; nothing is trained here). OOD sets: corrupted copies of *other* test images
(not the in-distribution ones): Gaussian noise (sigma ``--noise-sigma``) and the strongest
severity (5) of assay.uncertainty.shift's contrast, Gaussian blur and shot noise. The
features are the ResNet's 64 pooled channels, the head its last linear layer.

The CNN: conv 3x3 (16) - ReLU - max-pool - conv 3x3 (32) - ReLU - max-pool - linear (64,
the *features*) - ReLU - linear (10 logits); Adam, batch 128, inputs scaled to [0, 1]. The
ensemble is ``--members`` such CNNs with other seeds (the paper used 20). Mahalanobis,
relative Mahalanobis, kNN and ViM are fitted on the features of ``--n-fit`` training images
(the Mahalanobis detectors with pytorch-ood's ridge, ``reg = 1e-6 / n``).
Metrics come from ``assay.ood.evaluate_detectors`` (bootstrap intervals).

pytorch-ood (``pip install --no-deps pytorch-ood==0.4.0``) is imported without its package
``__init__`` (which needs torchvision); ``--no-pytorch-ood`` skips the comparison.

Usage::

    ASSAY_DATA_HOME=../shared/data python benchmarks/bench_ood_classifiers.py
    ASSAY_DATA_HOME=../shared/data python benchmarks/bench_ood_classifiers.py --in-dist mnist
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from assay import ood
from assay.datasets import (
    CIFAR10_CLASSES,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
    load_notmnist,
    load_omniglot,
)

METRICS = ("auroc", "aupr_in", "aupr_out", "fpr_at_80_tpr", "fpr_at_95_tpr")


CIFAR_IN = ("bird", "cat", "deer", "dog", "frog", "horse")
CIFAR_OUT = ("airplane", "automobile", "ship", "truck")


class SmallCNN(nn.Module):
    def __init__(
        self, channels: int = 1, size: int = 28, n_classes: int = 10, width: int = 16,
        n_features: int = 64,
    ) -> None:  # fmt: skip
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(2 * width * (size // 4) ** 2, n_features),
        )  # fmt: skip
        self.head = nn.Linear(n_features, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train(
    x: torch.Tensor, y: torch.Tensor, seed: int, seconds: float, epochs: int,
    arch: dict[str, int] | None = None, flip: bool = False,
) -> SmallCNN:  # fmt: skip
    torch.manual_seed(seed)
    m = SmallCNN(**(arch or {}))
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(x.shape[0], generator=g)
        for i in range(0, x.shape[0], 128):
            idx = perm[i : i + 128]
            xb = x[idx]
            if flip:
                mask = torch.rand(xb.shape[0], generator=g) < 0.5
                xb = torch.where(mask[:, None, None, None], xb.flip(-1), xb)
            loss = nn.functional.cross_entropy(m(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if time.perf_counter() - start > seconds:
                m.eval()
                return m
    m.eval()
    return m


def load_pytorch_ood() -> Any:
    spec = importlib.util.find_spec("pytorch_ood")
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent
    for name, path in (("pytorch_ood", root), ("pytorch_ood.detector", root / "detector")):
        if name not in sys.modules:
            mod = types.ModuleType(name)
            mod.__path__ = [str(path)]
            sys.modules[name] = mod
    ns = types.SimpleNamespace()
    for module, names in {
        "softmax": ["MaxSoftmax"], "energy": ["EnergyBased"], "entropy": ["Entropy"],
        "maxlogit": ["MaxLogit"], "mahalanobis": ["Mahalanobis", "MahalanobisODIN"],
        "rmd": ["RMD"], "knn": ["KNN"], "vim": ["ViM"], "odin": ["ODIN"],
    }.items():  # fmt: skip
        m = importlib.import_module(f"pytorch_ood.detector.{module}")
        for n in names:
            setattr(ns, n, getattr(m, n))
    return ns


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--in-dist",
        choices=["fashion_mnist", "mnist", "cifar10", "cifar10-resnet"],
        default="fashion_mnist",
        help="in-distribution set; OOD: MNIST; or Fashion-MNIST, notMNIST and Omniglot; "
        "or CIFAR-10 vehicles and noisy animals",
    )
    p.add_argument("--noise-sigma", type=float, default=0.2)
    p.add_argument("--train-seconds", type=float, default=60.0)
    p.add_argument("--member-seconds", type=float, default=20.0)
    p.add_argument("--members", type=int, default=5)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--n-test", type=int, default=2000)
    p.add_argument("--n-fit", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-pytorch-ood", action="store_true")
    p.add_argument("--resnet-cache", type=Path, default=None, help="cifar10-resnet: the models' folder")
    p.add_argument("--resnet-tag", default="cifar10_resnet8w16_steps3000_batch128_lr0.1_dropout0.1",
                   help="cifar10-resnet: file names <tag>_seed<k>.pt")
    p.add_argument("--out", type=Path, default=Path("/tmp/assay_bench_ood_classifiers"))
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    a.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    t_cpu = time.process_time()

    def prep(x: np.ndarray) -> torch.Tensor:
        t = torch.as_tensor(x, dtype=torch.float32) / 255.0
        return t.permute(0, 3, 1, 2).contiguous() if t.ndim == 4 else t.unsqueeze(1)

    arch: dict[str, int] = {}
    flip = False
    parts, names = [], []
    resnets: list[Any] = []
    if a.in_dist == "cifar10-resnet":
        if a.resnet_cache is None:
            p.error("--in-dist cifar10-resnet needs --resnet-cache (bench_uncertainty_cifar.py --cache)")
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from assay.uncertainty import corrupt
        from bench_uncertainty_cifar import build as build_resnet

        for k in range(a.members):
            path = a.resnet_cache / f"{a.resnet_tag}_seed{a.seed + k}.pt"
            if not path.exists():
                p.error(f"{path} is missing: train it with bench_uncertainty_cifar.py --cache")
            r = build_resnet(np.zeros(3), np.ones(3), 0.1)  # mean/std buffers come from the file
            r.load_state_dict(torch.load(path))
            resnets.append(r.eval())
        tr = load_cifar10(split="train")
        x_tr, y_tr = prep(tr.x), torch.as_tensor(tr.y)
        te = load_cifar10(split="test")
        perm = rng.permutation(te.x.shape[0])
        i_te = perm[: a.n_test]
        x_in, y_in = prep(te.x[i_te]), te.y[i_te]
        other = te.x[perm[a.n_test : 2 * a.n_test]]
        clean = prep(other)
        noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(a.seed))
        parts.append((clean + a.noise_sigma * noise).clamp(0.0, 1.0))
        names += [f"cifar10_noise{a.noise_sigma:g}"] * parts[-1].shape[0]
        for kind in ("contrast", "gaussian_blur", "shot_noise"):
            parts.append(prep(corrupt(other, kind, 5, seed=a.seed)))
            names += [f"cifar10_{kind}5"] * parts[-1].shape[0]
    elif a.in_dist == "cifar10":
        arch = {"channels": 3, "size": 32, "n_classes": len(CIFAR_IN), "width": 32,
                "n_features": 128}  # fmt: skip
        flip = True
        ids_in = [CIFAR10_CLASSES.index(c) for c in CIFAR_IN]
        remap = np.full(10, -1)
        remap[ids_in] = np.arange(len(ids_in))
        tr = load_cifar10(split="train")
        keep = np.isin(tr.y, ids_in)
        x_tr, y_tr = prep(tr.x[keep]), torch.as_tensor(remap[tr.y[keep]])
        te = load_cifar10(split="test")
        pool_in = np.flatnonzero(np.isin(te.y, ids_in))
        pool_out = np.flatnonzero(~np.isin(te.y, ids_in))
        perm_in = rng.permutation(pool_in)
        i_te = perm_in[: a.n_test]
        x_in, y_in = prep(te.x[i_te]), remap[te.y[i_te]]
        parts.append(prep(te.x[rng.permutation(pool_out)[: a.n_test]]))
        names += ["cifar10_vehicles"] * parts[-1].shape[0]
        clean = prep(te.x[perm_in[a.n_test : 2 * a.n_test]])  # other animal images
        noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(a.seed))
        parts.append((clean + a.noise_sigma * noise).clamp(0.0, 1.0))
        names += [f"cifar10_animals_noise{a.noise_sigma:g}"] * parts[-1].shape[0]
    else:
        loaders = {"fashion_mnist": load_fashion_mnist, "mnist": load_mnist}
        outs = {"fashion_mnist": ["mnist"], "mnist": ["fashion_mnist", "notmnist", "omniglot"]}
        tr = loaders[a.in_dist](split="train")
        x_tr, y_tr = prep(tr.x), torch.as_tensor(tr.y)
        te = loaders[a.in_dist](split="test")
        i_te = rng.permutation(te.x.shape[0])[: a.n_test]
        x_in, y_in = prep(te.x[i_te]), te.y[i_te]
        for name in outs[a.in_dist]:
            if name == "omniglot":
                ox = load_omniglot(split="background").x
            else:
                ox = {**loaders, "notmnist": load_notmnist}[name](split="test").x
            parts.append(prep(ox[rng.permutation(ox.shape[0])[: a.n_test]]))
            names += [name] * parts[-1].shape[0]
    x_out = torch.cat(parts)
    fit_idx = torch.as_tensor(rng.permutation(x_tr.shape[0])[: a.n_fit])
    x_fit, y_fit = x_tr[fit_idx], y_tr[fit_idx]

    if resnets:
        model, members = resnets[0], resnets
        feats = model[0]  # the body: 64 pooled channels
        head = model[1][1]
    else:
        model = train(x_tr, y_tr, a.seed, a.train_seconds, a.epochs, arch, flip)
        members = [model] + [
            train(x_tr, y_tr, a.seed + 1 + k, a.member_seconds, a.epochs, arch, flip)
            for k in range(a.members - 1)
        ]
        feats = model.features
        head = model.head
    train_cpu = time.process_time() - t_cpu
    with torch.no_grad():
        acc = float((model(x_in).argmax(1).numpy() == y_in).mean())
    o_fit = ood.collect(model, x_fit, features=feats)
    o_in = ood.collect(model, x_in, features=feats)
    o_out = ood.collect(model, x_out, features=feats)
    w, b = head.weight.detach(), head.bias.detach()

    # pytorch-ood's ridge (1e-6 on the covariance summed over the rows), per row: the
    # ReLU features have dead units, so the covariance is singular and the ridge matters.
    ridge = 1e-6 / a.n_fit
    ours: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    times: dict[str, float] = {}

    def run(name: str, fit: Callable[[], Any], score: Callable[[Any, Any], np.ndarray]) -> None:
        def go() -> tuple[np.ndarray, np.ndarray]:
            det = fit()
            return score(det, "in"), score(det, "out")

        ours[name], times[name] = timed(go)

    data = {"in": (x_in, o_in), "out": (x_out, o_out)}
    run("msp", lambda: ood.MSP(), lambda d, s: d.score(data[s][1].logits))
    run("entropy", lambda: ood.Entropy(), lambda d, s: d.score(data[s][1].logits))
    run("max_logit", lambda: ood.MaxLogit(), lambda d, s: d.score(data[s][1].logits))
    run("energy", lambda: ood.Energy(), lambda d, s: d.score(data[s][1].logits))
    run("odin", lambda: ood.ODIN(model, 1000.0, 0.0014), lambda d, s: d.score(data[s][0]))
    run("mahalanobis", lambda: ood.Mahalanobis(reg=ridge).fit(o_fit.features, y_fit),
        lambda d, s: d.score(data[s][1].features))  # fmt: skip
    run("mahalanobis_perturbed",
        lambda: ood.MahalanobisPerturbed(feats, epsilon=0.0014, reg=ridge).fit(x_fit, y_fit),
        lambda d, s: d.score(data[s][0]))  # fmt: skip
    run("relative_mahalanobis", lambda: ood.RelativeMahalanobis(reg=ridge).fit(o_fit.features, y_fit),
        lambda d, s: d.score(data[s][1].features))  # fmt: skip
    run("knn_k50", lambda: ood.KNN(k=50).fit(o_fit.features),
        lambda d, s: d.score(data[s][1].features))  # fmt: skip
    run("vim_d32", lambda: ood.ViM(w, b, dim=32).fit(o_fit.features),
        lambda d, s: d.score(data[s][1].features))  # fmt: skip

    def ens_logits(x: torch.Tensor) -> np.ndarray:
        return np.stack([ood.collect(m, x).logits for m in members])

    el = {"in": ens_logits(x_in), "out": ens_logits(x_out)}
    for kind in ("entropy", "mutual_information"):
        ours[f"ensemble{a.members}_{kind}"] = (
            ood.ensemble_disagreement_score(el["in"], kind),  # type: ignore[arg-type]
            ood.ensemble_disagreement_score(el["out"], kind),  # type: ignore[arg-type]
        )

    res = ood.evaluate_detectors(
        {k: v[0] for k, v in ours.items()}, {k: v[1] for k, v in ours.items()},
        out_sets=np.array(names), seed=a.seed,
    )  # fmt: skip

    peer: dict[str, Any] = {}
    det = None if a.no_pytorch_ood else load_pytorch_ood()
    if det is not None:
        # pytorch-ood works in float32 (its buffers use the default dtype); ours in float64
        zf, yf = torch.as_tensor(o_fit.features).float(), torch.as_tensor(y_fit)
        zi, zo = torch.as_tensor(o_in.features).float(), torch.as_tensor(o_out.features).float()
        li, lo = torch.as_tensor(o_in.logits).float(), torch.as_tensor(o_out.logits).float()
        n = a.n_fit
        specs: dict[str, tuple[Callable[[], Any], float]] = {
            "msp": (lambda: (det.MaxSoftmax(None).predict_logits(li),
                             det.MaxSoftmax(None).predict_logits(lo)), 1.0),
            "entropy": (lambda: (det.Entropy(None).predict_logits(li),
                                 det.Entropy(None).predict_logits(lo)), 1.0),
            "max_logit": (lambda: (det.MaxLogit(None).predict_logits(li),
                                   det.MaxLogit(None).predict_logits(lo)), 1.0),
            "energy": (lambda: (det.EnergyBased(None).predict_logits(li),
                                det.EnergyBased(None).predict_logits(lo)), 1.0),
            "odin": (lambda: (det.ODIN(model, eps=0.0014, temperature=1000.0).predict(x_in),
                              det.ODIN(model, eps=0.0014, temperature=1000.0).predict(x_out)), 1.0),
        }  # fmt: skip

        def maha() -> Any:
            d = det.Mahalanobis(None).fit_features(zf, yf)
            return d.predict_features(zi), d.predict_features(zo)

        def maha_p() -> Any:
            d = det.MahalanobisODIN(feats, eps=0.0014)
            with torch.no_grad():
                d.fit_features(feats(x_fit), yf)
            return d.predict(x_in), d.predict(x_out)

        def rmd() -> Any:
            d = det.RMD(None).fit_features(zf, yf)
            return d.predict_features(zi), d.predict_features(zo)

        def knn() -> Any:
            d = det.KNN(None, k=50).fit_features(zf, yf)
            return d.predict_features(zi), d.predict_features(zo)

        def vim() -> Any:
            d = det.ViM(None, d=32, w=w, b=b).fit_features(zf, yf)
            return d.predict_features(zi), d.predict_features(zo)

        # pytorch-ood's Mahalanobis/RMD use the covariance summed over the n rows (and
        # Mahalanobis half the squared distance): scale factors 2n and n.
        specs.update({"mahalanobis": (maha, 2.0 * n), "mahalanobis_perturbed": (maha_p, 2.0 * n),
                      "relative_mahalanobis": (rmd, float(n)), "knn_k50": (knn, 1.0),
                      "vim_d32": (vim, 1.0)})  # fmt: skip
        for name, (fn, scale) in specs.items():
            (si, so), t = timed(fn)
            theirs = np.concatenate([si.detach().double().numpy(), so.detach().double().numpy()])
            mine = np.concatenate(ours[name])
            ref = np.maximum(np.abs(theirs * scale), 1.0)
            peer[name] = {
                "max_rel_diff": float(np.max(np.abs(mine - theirs * scale) / ref)),
                "seconds_pytorch_ood": t,
                "seconds_assay": times[name],
            }

    out = {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()},
        "test_accuracy": acc,
        "train_cpu_seconds": train_cpu,
        "cpu_seconds": time.process_time() - t_cpu,
        "metrics": {
            d: {m: [res.value(m, d), *res.interval(m, d)] for m in METRICS} for d in res.detectors
        },
        "metrics_per_set": {
            o: {d: {m: res.value(m, d, ood_set=o) for m in METRICS} for d in res.detectors}
            for o in res.ood_sets
        },
        "pytorch_ood": peer,
    }
    (a.out / "result.json").write_text(json.dumps(out, indent=1))
    res.to_html(a.out / "report.html", title=f"Classifier detectors: {a.in_dist} in")
    print(f"test accuracy {acc:.4f}; CPU {out['cpu_seconds']:.0f} s")
    for o in res.ood_sets:
        print(f"OOD set {o}:")
        print(res.summary_frame(o).to_string(index=False))
    for k, v in peer.items():
        print(f"{k:24s} max rel diff {v['max_rel_diff']:.2e}  assay {v['seconds_assay']:.3f} s"
              f"  pytorch-ood {v['seconds_pytorch_ood']:.3f} s")  # fmt: skip
    return out


if __name__ == "__main__":
    main()
