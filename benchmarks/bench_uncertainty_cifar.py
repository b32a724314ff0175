"""CIFAR-10 calibration, shift and OOD with a small ResNet on a CPU budget: a deterministic
ResNet-8, temperature scaling, MC dropout, a deep ensemble and SNGP on the same residual
body, each measured with assay.uncertainty (accuracy, NLL, ECE, Brier with jackknife
intervals on the 10,000 test images), under the assay.uncertainty.shift corruptions at
graded severities, and as OOD detectors.

    ASSAY_DATA_HOME=/work/shared/data OMP_NUM_THREADS=1 .venv/bin/python \
        benchmarks/bench_uncertainty_cifar.py --measure 30       # steps/s of each model, nothing saved

The table (docs/uncertainty.md): training runs filling the cache (one model per run, each
checkpointed every ``--ckpt-every`` steps so a killed run resumes where it stopped), then
one evaluation run reading it:

    B="ASSAY_DATA_HOME=/work/shared/data OMP_NUM_THREADS=1 .venv/bin/python \
       benchmarks/bench_uncertainty_cifar.py --steps 3000 --seed 0 --cache /tmp/unc_cifar"
    $B --members 1 --train-only                 # seed 0 (the deterministic model)
    $B --member-seeds 1 --train-only            # seed 1 (may run beside the others)
    $B --member-seeds 2 --train-only            # seed 2
    $B --members 1 --sngp --train-only          # SNGP, seed 0
    $B --members 3 --sngp --shift 1000 --out /tmp/unc_cifar/cifar.json

Data: ``assay.datasets.load_cifar10`` (the JPEG re-encoded copy in ``../shared/data/cifar10``:
slightly lossy, so the numbers are not exactly comparable to ones on the original binaries).
The 50,000 training images are shuffled with ``--seed``; the last 5,000 are the validation
set temperature scaling is fitted on (never the test set), the model trains on the other
45,000 with random crops (4-pixel zero padding) and horizontal flips. Inputs are scaled to
[0, 1] and standardised per channel with the 45,000 training images' mean and standard
deviation (inside the model, so shifted and OOD images go through the same transform).

Model: ResNet-8 (He et al. 2016's CIFAR family with n = 1: a 3x3 stem convolution with 16
channels, three basic residual blocks of 16, 32 and 64 channels, the last two with stride 2
and a 1x1 projection shortcut, batch norm, global average pooling), then dropout
(``--dropout``, 0.1) and a linear head; MC dropout samples that dropout layer. SGD with
Nesterov momentum 0.9, weight decay 5e-4, batch 128, learning rate ``--lr`` (0.1) with a
linear warm-up over the first 5% of the steps and cosine decay to 0. SNGP: the same body
with every convolution (projection shortcuts included) under ``BoundedSpectralConv``
(operator norm <= ``--norm-bound``, 6 as Uncertainty Baselines' CIFAR SNGP), the head
replaced by ``RandomFeatureGP`` (1024 random features, lengthscale ``--lengthscale``),
trained with the same schedule and seed 0, then the Laplace precision over one pass of the
45,000 training images (no augmentation).

Evaluation: every probability set goes through ``assay.uncertainty.evaluate_uncertainty``
(the ``task="uncertainty"`` family, 15 bins, jackknife intervals); shift: the first
``--shift`` test images under each of the seven corruptions of ``assay.uncertainty.shift``
at severities 1..5 (seed ``--seed``), one evaluation with the ``shift@severity`` slice;
OOD: the test sets of Fashion-MNIST and notMNIST (28 x 28 grey, zero-padded to 32 x 32,
the grey channel copied to R, G and B; CIFAR-10 has no second colour data set here -- no
SVHN or CIFAR-100 in ../shared/data) against the CIFAR-10 test set through
``assay.evaluate(task="ood")``. Each network's body runs once per input set: MC dropout
samples the head (``assay.uncertainty.MCDropout`` on the dropout + linear head, applied to
the body's features, which is exactly MC dropout on the whole model since the body has no
dropout and runs in eval mode; checked on 256 test images every run).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

#: rows per prediction batch
B = 500

#: one record per model trained or loaded
TRAINED: list[dict[str, Any]] = []


def _nn() -> Any:
    from torch import nn

    return nn


def build_classes() -> dict[str, Any]:
    """The model classes (defined on first use, so ``--help`` needs no torch)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Standardize(nn.Module):
        """``(x - mean) / std`` per channel, constants as buffers (saved with the model)."""

        mean: Any
        std: Any

        def __init__(self, mean: Any, std: Any) -> None:
            super().__init__()
            self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).reshape(1, 3, 1, 1))
            self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).reshape(1, 3, 1, 1))

        def forward(self, x: Any) -> Any:
            return (x - self.mean) / self.std

    class BasicBlock(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x: Any) -> Any:
            h = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(h)) + self.shortcut(x))

    def body(mean: Any, std: Any, width: int = 16) -> Any:
        w = width
        return nn.Sequential(
            Standardize(mean, std), nn.Conv2d(3, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
            BasicBlock(w, w, 1), BasicBlock(w, 2 * w, 2), BasicBlock(2 * w, 4 * w, 2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )  # fmt: skip

    return {"body": body, "Standardize": Standardize}


def build(mean: Any, std: Any, dropout: float, width: int = 16) -> Any:
    """ResNet-8: ``Sequential(body, head)``, head = dropout + linear (so ``model[1]`` is
    what MC dropout samples)."""
    nn = _nn()
    c = build_classes()
    return nn.Sequential(c["body"](mean, std, width), nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * width, 10)))


def to_float(x: Any) -> Any:
    """uint8 (n, 32, 32, 3) -> float32 (n, 3, 32, 32) in [0, 1]."""
    import torch

    t = torch.as_tensor(np.ascontiguousarray(x))
    return t.permute(0, 3, 1, 2).float().div_(255.0).contiguous()


def augment(xb: Any, g: Any) -> Any:
    """Random crop (4-pixel zero padding) and horizontal flip of a uint8 NHWC batch,
    returned as float NCHW; ``g`` a torch Generator."""
    import torch
    from torch.nn import functional as F

    x = to_float(xb)
    n = x.shape[0]
    xp = F.pad(x, (4, 4, 4, 4))
    oy = torch.randint(0, 9, (n,), generator=g)
    ox = torch.randint(0, 9, (n,), generator=g)
    ar = torch.arange(32)
    iy = (oy[:, None] + ar)[:, None, :, None]  # (n, 1, 32, 1)
    ix = (ox[:, None] + ar)[:, None, None, :]  # (n, 1, 1, 32)
    out = xp[torch.arange(n)[:, None, None, None], torch.arange(3)[None, :, None, None], iy, ix]
    flip = torch.rand(n, generator=g) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


def lr_at(step: int, steps: int, peak: float) -> float:
    warm = max(1, int(0.05 * steps))
    if step < warm:
        return peak * (step + 1) / warm
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))


def fit(model: Any, seed: int, x: np.ndarray, y: np.ndarray, args: Any, name: str, measure: int = 0) -> dict[str, Any]:
    """Train ``model`` (SGD, the schedule above) on uint8 images ``x``; checkpoint to
    ``args.cache/name.ckpt`` every ``args.ckpt_every`` steps and resume from it. Returns
    the training record. ``measure > 0``: run that many steps, report steps/s, save nothing."""
    import torch

    decay, no_decay = [], []
    for p in model.parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    opt = torch.optim.SGD([{"params": decay, "weight_decay": args.weight_decay},
                           {"params": no_decay, "weight_decay": 0.0}],
                          lr=args.lr, momentum=0.9, nesterov=True)  # fmt: skip
    g = torch.Generator().manual_seed(seed)
    yt = torch.as_tensor(y)
    start, cpu_before, wall_before = 0, 0.0, 0.0
    ckpt = os.path.join(args.cache, f"{name}.ckpt") if args.cache and not measure else None
    if ckpt and os.path.exists(ckpt):
        st = torch.load(ckpt, weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        g.set_state(st["gen"])
        torch.set_rng_state(st["rng"])
        start, cpu_before, wall_before = st["step"], st["cpu_s"], st["wall_s"]
        print(f"[{name}] resumed at step {start}", flush=True)
    steps = measure or args.steps
    c0, w0 = time.process_time(), time.perf_counter()
    model.train()
    loss_avg = 0.0
    for step in range(start, steps):
        for grp in opt.param_groups:
            grp["lr"] = lr_at(step, steps, args.lr)
        idx = torch.randint(0, x.shape[0], (args.batch,), generator=g)
        xb = augment(x[idx.numpy()], g)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xb), yt[idx])
        loss.backward()
        opt.step()
        loss_avg = 0.98 * loss_avg + 0.02 * loss.item() if step > start else loss.item()
        done = step + 1
        if done % 100 == 0 or done == steps:
            cpu = cpu_before + time.process_time() - c0
            rate = (done - start) / max(1e-9, time.process_time() - c0)
            print(f"[{name}] step {done}/{steps} loss {loss_avg:.3f} lr {lr_at(step, steps, args.lr):.4f} "
                  f"{rate:.2f} steps/cpu-s, {cpu:.0f} cpu-s", flush=True)  # fmt: skip
        if ckpt and (done % args.ckpt_every == 0) and done < steps:
            os.makedirs(args.cache, exist_ok=True)
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": g.get_state(),
                        "rng": torch.get_rng_state(), "step": done,
                        "cpu_s": cpu_before + time.process_time() - c0,
                        "wall_s": wall_before + time.perf_counter() - w0}, ckpt + ".tmp")  # fmt: skip
            os.replace(ckpt + ".tmp", ckpt)
    cpu = time.process_time() - c0
    return {"name": name, "steps": steps, "cpu_s": cpu_before + cpu, "wall_s": wall_before + time.perf_counter() - w0,
            "steps_per_cpu_s": (steps - start) / max(1e-9, cpu), "resumed_at": start}  # fmt: skip


def train_cached(model: Any, seed: int, x: np.ndarray, y: np.ndarray, args: Any, name: str,
                 x_prec: Any = None) -> Any:  # fmt: skip
    """Load ``args.cache/name.pt`` if present, else train (resumable) and save it; an SNGP
    model also gets its Laplace precision over ``x_prec`` (uint8 images)."""
    import torch

    path = os.path.join(args.cache, f"{name}.pt") if args.cache else None
    if path and os.path.exists(path):
        c0 = time.process_time()
        model.load_state_dict(torch.load(path))
        rec: dict[str, Any] = {"name": name, "cached": True, "load_cpu_s": time.process_time() - c0}
        if os.path.exists(path + ".json"):
            with open(path + ".json") as f:
                rec["trained"] = json.load(f)
        TRAINED.append(rec)
        return model
    rec = fit(model, seed, x, y, args, name)
    if getattr(model, "fit_precision", None) is not None:
        c0, w0 = time.process_time(), time.perf_counter()
        model.fit_precision(to_float(x_prec[i : i + B]) for i in range(0, x_prec.shape[0], B))
        rec["precision_cpu_s"], rec["precision_wall_s"] = time.process_time() - c0, time.perf_counter() - w0
        rec["cpu_s"] += rec["precision_cpu_s"]
        rec["wall_s"] += rec["precision_wall_s"]
    rec["cached"] = False
    print(f"[{name}] trained: {json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in rec.items()})}",
          flush=True)  # fmt: skip
    TRAINED.append(rec)
    if path:
        os.makedirs(args.cache, exist_ok=True)
        torch.save(model.state_dict(), path)
        with open(path + ".json", "w") as f:
            json.dump({k: v for k, v in rec.items() if k != "cached"}, f)
        ck = os.path.join(args.cache, f"{name}.ckpt")
        if os.path.exists(ck):
            os.remove(ck)
    return model


def make_sngp(mean: Any, std: Any, args: Any) -> Any:
    """SNGP on the ResNet-8 body: every convolution bounded by ``args.norm_bound``, a
    LayerNorm on the 64 pooled features (Uncertainty Baselines' ``gp_input_normalization``,
    on by default for CIFAR) and the random-feature GP head."""
    from assay import uncertainty as U

    nn = _nn()
    full = build(mean, std, args.dropout, args.width)
    body = nn.Sequential(*list(full[0]), nn.LayerNorm(4 * args.width))
    return U.SNGPClassifier(body, 4 * args.width, 10, num_features=1024, lengthscale=args.lengthscale,
                            norm_bound=args.norm_bound, seed=args.seed)  # fmt: skip


def grey_to_cifar(x: np.ndarray) -> np.ndarray:
    """28 x 28 uint8 grey images -> 32 x 32 x 3 (zero padding of 2, grey copied to RGB)."""
    xp = np.pad(np.asarray(x, dtype=np.uint8), ((0, 0), (2, 2), (2, 2)))
    return np.repeat(xp[..., None], 3, axis=-1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--width", type=int, default=16, help="channels of the first stage (x2, x4 after)")
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--member-seeds", type=int, nargs="+", default=None,
                    help="train/evaluate exactly these member seeds (default: seed, seed + 1, ...); "
                         "with --train-only, lets separate processes train members side by side")  # fmt: skip
    ap.add_argument("--mc-samples", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sngp", action="store_true", help="also train/evaluate SNGP on the same residual body")
    ap.add_argument("--norm-bound", type=float, default=6.0, help="SNGP spectral-norm bound of each convolution")
    ap.add_argument("--lengthscale", type=float, default=2.0, help="SNGP random-feature lengthscale")
    ap.add_argument("--shift", type=int, default=0,
                    help="evaluate under every corruption at severities 1..5 on the first N (shuffled) test images")
    ap.add_argument("--severities", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--no-ood", action="store_true")
    ap.add_argument("--train-only", action="store_true")
    ap.add_argument("--measure", type=int, default=0, help="time N training steps of each model and exit")
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--cache", default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import torch

    from assay import uncertainty as U
    from assay.datasets import load_cifar10, load_fashion_mnist, load_notmnist

    torch.set_num_threads(args.threads)
    c_start, w_start = time.process_time(), time.perf_counter()
    tr, te = load_cifar10(split="train"), load_cifar10(split="test")
    perm = np.random.default_rng(args.seed).permutation(len(tr.y))
    x_all, y_all = tr.x[perm], tr.y[perm]
    x_fit, y_fit, x_val, y_val = x_all[:45000], y_all[:45000], x_all[45000:], y_all[45000:]
    tperm = np.random.default_rng(args.seed + 1).permutation(len(te.y))  # test rows are sorted by class
    x_test, y_test = te.x[tperm], te.y[tperm]
    mean = x_fit.reshape(-1, 3).mean(0) / 255.0
    std = x_fit.reshape(-1, 3).std(0) / 255.0
    print(f"data: {x_fit.shape[0]} train, {x_val.shape[0]} validation, {x_test.shape[0]} test; "
          f"load {time.process_time() - c_start:.1f} cpu-s; mean {np.round(mean, 4)}, std {np.round(std, 4)}",
          flush=True)  # fmt: skip

    if args.measure:
        for label, mk in (("resnet8", lambda: build(mean, std, args.dropout, args.width)),
                          ("resnet8-sngp", lambda: make_sngp(mean, std, args))):  # fmt: skip
            torch.manual_seed(args.seed)
            rec = fit(mk(), args.seed, x_fit, y_fit, args, label, measure=args.measure)
            print(f"measure {label}: {rec['steps_per_cpu_s']:.3f} steps per cpu-s (batch {args.batch}), "
                  f"{rec['wall_s'] / args.measure:.3f} wall-s per step", flush=True)  # fmt: skip
        m = build(mean, std, args.dropout, args.width).eval()
        xt = to_float(x_test[:2000])
        c0 = time.process_time()
        with torch.no_grad():
            for i in range(0, 2000, B):
                m(xt[i : i + B])
        print(f"measure inference: {2000 / (time.process_time() - c0):.0f} images per cpu-s", flush=True)
        return

    tag = f"cifar10_resnet8w{args.width}_steps{args.steps}_batch{args.batch}_lr{args.lr}_dropout{args.dropout}"

    def factory() -> Any:
        return build(mean, std, args.dropout, args.width)

    ens = U.DeepEnsemble(factory, lambda m, s: train_cached(m, s, x_fit, y_fit, args, f"{tag}_seed{s}"),
                         n_members=len(args.member_seeds) if args.member_seeds else max(1, args.members),
                         seed=args.seed, seeds=args.member_seeds)  # fmt: skip
    ens.fit()
    sngp = None
    if args.sngp:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(args.seed)
            sngp = make_sngp(mean, std, args)
            train_cached(sngp, args.seed, x_fit, y_fit, args,
                         f"sngp_ln_{tag}_nb{args.norm_bound}_ls{args.lengthscale}_seed{args.seed}", x_prec=x_fit)  # fmt: skip
    if args.train_only:
        print("models:", json.dumps(TRAINED))
        return

    import assay
    from assay.uncertainty.sngp import MEAN_FIELD_FACTOR, mean_field_logits

    #: SNGP's mean-field factor: the library default pi/8 (the probit approximation) and 25,
    #: Uncertainty Baselines' CIFAR-10 value (gp_mean_field_factor)
    MEAN_FIELD = {"λ=π/8": MEAN_FIELD_FACTOR, "λ=25": 25.0}
    times: dict[str, float] = {}
    members = ens.members_
    det = members[0]
    nm = len(members)

    @torch.no_grad()
    def run_set(x_u8: np.ndarray, label: str) -> dict[str, Any]:
        """Each body once on the set: member logits, MC dropout samples, SNGP outputs."""
        c0 = time.process_time()
        for m in members:
            m.eval()
        feats: list[list[Any]] = [[] for _ in members]
        sn_logits, sn_var = [], []
        for i in range(0, x_u8.shape[0], B):
            xb = to_float(x_u8[i : i + B])
            for k, m in enumerate(members):
                feats[k].append(m[0](xb))
            if sngp is not None:  # the GP's posterior-mean logits and variance, before the mean-field step
                sngp.eval()
                zl, v = sngp.gp.predict(sngp.features(xb))
                sn_logits.append(zl)
                sn_var.append(v)
        f = [torch.cat(fk) for fk in feats]
        logits = np.stack([m[1](fk).double().numpy() for m, fk in zip(members, f, strict=True)])  # (M, n, K)
        out: dict[str, Any] = {"logits": logits,
                               "mc": U.MCDropout(det[1], args.mc_samples, seed=args.seed).member_probs(f[0])}  # fmt: skip
        if sngp is not None:
            zl, var = torch.cat(sn_logits).double(), torch.cat(sn_var).double()
            for lam in MEAN_FIELD:  # the mean-field factor changes prediction only, not training
                out[f"sngp_probs_{lam}"] = torch.softmax(mean_field_logits(zl, var, MEAN_FIELD[lam]), -1).numpy()
            out["sngp_var"] = var.numpy()
        times[f"predict_{label}"] = time.process_time() - c0
        print(f"predicted {label}: {x_u8.shape[0]} images, {times[f'predict_{label}']:.1f} cpu-s", flush=True)
        return out

    def softmax(z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    # MC dropout on the head == MC dropout on the whole model (check on 256 test images)
    xt = to_float(x_test[:256])
    whole = U.mc_dropout_probs(det, xt, args.mc_samples, seed=args.seed)
    with torch.no_grad():
        det.eval()
        head = U.mc_dropout_probs(det[1], det[0](xt), args.mc_samples, seed=args.seed)
    mc_check = float(np.abs(whole - head).max())
    print(f"MC dropout on the head vs the whole model: max |diff| {mc_check:.2e}", flush=True)
    assert mc_check < 1e-5

    val = run_set(x_val, "validation")
    z_val = val["logits"][0]
    ts = U.TemperatureScaling().fit(z_val, y_val)
    from bench_uncertainty_mnist import temperature_peers

    peer_t = temperature_peers(z_val, y_val)
    print(f"temperature {ts.temperature_:.4f}; validation NLL {ts.nll_before_:.4f} -> {ts.nll_after_:.4f}; "
          f"peers {json.dumps(peer_t)}", flush=True)  # fmt: skip

    def methods_of(o: dict[str, Any]) -> dict[str, np.ndarray]:
        z = o["logits"]
        out = {"deterministic": softmax(z[0]), "temperature scaling": ts.transform(z[0]),
               f"MC dropout ({args.mc_samples})": o["mc"].mean(0)}  # fmt: skip
        if nm > 1:
            out[f"ensemble ({nm})"] = softmax(z).mean(0)
        if sngp is not None:
            for lam in MEAN_FIELD:
                out[f"SNGP (c={args.norm_bound:g}, {lam})"] = o[f"sngp_probs_{lam}"]
        return out

    test = run_set(x_test, "test")
    c0 = time.process_time()
    res = U.evaluate_uncertainty(methods_of(test), y_test, n_bins=15)
    times["evaluate_test"] = time.process_time() - c0
    cols = ("top_label_accuracy", "nll", "top_label_ece", "brier_score")
    print(f"| method | {' | '.join(cols)} |")
    print("|---" * (len(cols) + 1) + "|")
    for m in res.models:
        cells = [f"{res.values[m][c][0]:.4f} [{res.values[m][c][1]:.4f}, {res.values[m][c][2]:.4f}]" for c in cols]
        print(f"| {m} | {' | '.join(cells)} |", flush=True)

    # OOD: uncertainty scores, larger = more uncertain
    def scores_of(o: dict[str, Any]) -> dict[str, np.ndarray]:
        z = o["logits"]
        pd, pt = softmax(z[0]), ts.transform(z[0])
        s = {"deterministic: MSP (1 - max p)": 1 - pd.max(1), "deterministic: entropy": U.predictive_entropy(pd),
             "temperature scaling: MSP": 1 - pt.max(1), "temperature scaling: entropy": U.predictive_entropy(pt)}
        mc = U.uncertainty_scores(o["mc"])
        s["MC dropout: entropy"], s["MC dropout: mutual information"] = mc["predictive_entropy"], mc["mutual_information"]
        if nm > 1:
            e = U.uncertainty_scores(softmax(z))
            s[f"ensemble ({nm}): MSP"] = e["one_minus_max_prob"]
            s[f"ensemble ({nm}): entropy"] = e["predictive_entropy"]
            s[f"ensemble ({nm}): mutual information"] = e["mutual_information"]
        if sngp is not None:
            for lam in MEAN_FIELD:
                ps = o[f"sngp_probs_{lam}"]
                s[f"SNGP ({lam}): MSP"] = 1 - ps.max(1)
                s[f"SNGP ({lam}): entropy"] = U.predictive_entropy(ps)
            s["SNGP: GP variance"] = o["sngp_var"]
        return s

    ood: dict[str, dict[str, dict[str, float]]] = {}
    if not args.no_ood:
        s_in = scores_of(test)
        sets = {"Fashion-MNIST test": grey_to_cifar(load_fashion_mnist(split="test").x),
                "notMNIST test": grey_to_cifar(load_notmnist(split="test").x)}  # fmt: skip
        for set_name, xo in sets.items():
            s_out = scores_of(run_set(xo, set_name))
            print(f"| OOD score (CIFAR-10 test vs {set_name}, {len(xo)} images) | AUROC | FPR@95%TPR |")
            print("|---|---|---|")
            for name, a in s_in.items():
                b = s_out[name]
                lab = np.r_[np.zeros(a.size), np.ones(b.size)].astype(int)
                r = assay.evaluate({"y": lab, "s": np.r_[a, b]}, label="y", scores="s", task="ood")
                au, fpr = r.value("auroc"), r.value("fpr_at_95_tpr")
                ood.setdefault(set_name, {})[name] = {"auroc": au.value, "auroc_lower": au.lower,
                                                      "auroc_upper": au.upper, "fpr_at_95_tpr": fpr.value}  # fmt: skip
                print(f"| {name} | {au.value:.4f} [{au.lower:.4f}, {au.upper:.4f}] | {fpr.value:.4f} |", flush=True)

    shift_rows: dict[str, dict[str, list[list[float]]]] = {}
    per_kind: dict[str, dict[str, list[float]]] = {}
    if args.shift:
        c0 = time.process_time()
        xs, ys, kind, sev = U.corrupted_sets(x_test[: args.shift], y_test[: args.shift],
                                             severities=tuple(args.severities), seed=args.seed)  # fmt: skip
        times["corrupt"] = time.process_time() - c0
        sh = methods_of(run_set(xs, "shift"))
        key = np.array([f"{k}@{v}" for k, v in zip(kind.tolist(), sev.tolist(), strict=True)])
        c0 = time.process_time()
        rs = U.evaluate_uncertainty(sh, ys, n_bins=15, slices={"shift": key})
        times["evaluate_shift"] = time.process_time() - c0
        assert rs.evaluation is not None
        for k in dict.fromkeys(key.tolist()):
            for m in rs.models:
                iv = [rs.evaluation.value(me, slice=f"shift={k}", model=m, cls=0)
                      for me in ("top_label_accuracy", "nll", "top_label_ece")]  # fmt: skip
                shift_rows.setdefault(k, {})[m] = [[x.value, x.lower, x.upper] for x in iv]
        kinds = list(dict.fromkeys(kind.tolist()))
        print("| shift (mean over severities " + ",".join(map(str, args.severities)) + ") | "
              + " | ".join(f"{m}: acc / NLL / ECE" for m in rs.models) + " |")  # fmt: skip
        print("|---" * (len(rs.models) + 1) + "|")
        for kd in [*kinds, "all corruptions"]:
            ks = [k for k in shift_rows if k.split("@")[0] == kd] if kd != "all corruptions" else \
                [k for k in shift_rows if not k.startswith("clean")]  # fmt: skip
            cells = []
            for m in rs.models:
                v = np.mean([[shift_rows[k][m][j][0] for j in range(3)] for k in ks], axis=0)
                per_kind.setdefault(kd, {})[m] = v.tolist()
                cells.append(f"{v[0]:.3f} / {v[1]:.3f} / {v[2]:.3f}")
            print(f"| {kd} | " + " | ".join(cells) + " |", flush=True)
        print("| severity (mean over the 7 corruptions) | " + " | ".join(rs.models) + " |")
        for s in args.severities:
            ks = [k for k in shift_rows if k.endswith(f"@{s}") and not k.startswith("clean")]
            cells = []
            for m in rs.models:
                v = np.mean([[shift_rows[k][m][j][0] for j in range(3)] for k in ks], axis=0)
                per_kind.setdefault(f"severity {s}", {})[m] = v.tolist()
                cells.append(f"{v[0]:.3f} / {v[1]:.3f} / {v[2]:.3f}")
            print(f"| {s} | " + " | ".join(cells) + " |", flush=True)
    times["total_cpu_s"] = time.process_time() - c_start
    times["total_wall_s"] = time.perf_counter() - w_start
    print("times:", json.dumps({k: round(v, 1) for k, v in times.items()}))
    print("models:", json.dumps([{k: round(v, 1) if isinstance(v, float) else v for k, v in t.items()}
                                 for t in TRAINED]))  # fmt: skip
    if args.out:
        out = {"settings": vars(args), "temperature": ts.temperature_, "val_nll_before": ts.nll_before_,
               "val_nll_after": ts.nll_after_, "temperature_peers": peer_t, "mc_head_check": mc_check,
               "metrics": res.to_dict()["values"], "ood": ood, "shift": shift_rows, "shift_means": per_kind,
               "times": times, "models": TRAINED, "torch": torch.__version__}  # fmt: skip
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
