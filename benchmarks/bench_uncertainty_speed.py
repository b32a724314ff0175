"""Speed and agreement of assay.uncertainty's metrics against netcal and torchmetrics on
the same predictions (synthetic Dirichlet probabilities: a timing fixture, not a data set).

    .venv/bin/python benchmarks/bench_uncertainty_speed.py --n 1000000 --classes 10 --repeat 3

Times (median of ``--repeat`` runs, one thread, the libraries alternated in each round) for
the top-label ECE (15 equal-width bins), the NLL and the Brier score: assay's functions,
netcal's ``ECE`` (if installed), torchmetrics' ``multiclass_calibration_error``,
torch-uncertainty's ``CalibrationError``, ``CategoricalNLL`` and ``BrierScore`` (if installed;
imported with a stub ``torchvision``, see tests/uncertainty/test_torch_uncertainty_peer.py)
and scikit-learn's ``log_loss``; also the platform (``assay.evaluate(task="uncertainty")``,
streamed in chunks, all metrics of the family, ``ci=None``), ``StreamingCalibration`` fed in
chunks of 100,000 rows (bounded memory; all its 8 metrics, classwise ECE included, from one
pass per chunk) and, as the floor any method that reads its input once must pay, NumPy's sum
over the same array. Prints each value so that agreement can be read off, then the ratios
(peer time / assay time) the issue's 10x target is about. ``ASSAY_NATIVE=0`` times assay's
NumPy path instead of the compiled kernel.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import sys
import time
import types
from collections.abc import Callable
from typing import Any

import numpy as np


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def import_torch_uncertainty_metrics() -> Any:
    """torch_uncertainty.metrics, with a stub torchvision for the import only (its package
    __init__ imports plotting helpers that import torchvision; no metric uses it)."""
    # imported before the stub, so that torchmetrics sees no torchvision
    import torchmetrics.classification
    import torchmetrics.functional  # noqa: F401

    added = []
    if importlib.util.find_spec("torchvision") is None:
        for name in ("torchvision", "torchvision.transforms", "torchvision.transforms.functional"):
            mod = types.ModuleType(name)
            mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
            mod.__path__ = []
            sys.modules[name] = mod
            added.append(name)
        sys.modules["torchvision.transforms"].InterpolationMode = type(  # type: ignore[attr-defined]
            "InterpolationMode", (), {"NEAREST": "nearest", "BILINEAR": "bilinear", "BICUBIC": "bicubic"})
    try:
        import torch_uncertainty.metrics as tm
        import torch_uncertainty.post_processing  # noqa: F401  (TemperatureScaler, for bench_uncertainty_mnist)
    finally:
        for name in added:
            sys.modules.pop(name, None)
    return tm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import assay
    from assay import uncertainty as U

    rng = np.random.default_rng(args.seed)
    p = rng.dirichlet(np.full(args.classes, 0.3), size=args.n)
    y = (p.cumsum(1) > rng.uniform(size=(args.n, 1)) ** 0.8).argmax(1)
    jobs: list[tuple[str, str, Callable[[], Any]]] = []

    def add(lib: str, metric: str, fn: Callable[[], Any]) -> None:
        jobs.append((lib, metric, fn))

    add("assay", "ECE", lambda: U.expected_calibration_error(p, y, 15))
    add("assay", "NLL", lambda: U.negative_log_likelihood(p, y))
    add("assay", "Brier", lambda: U.brier_score(p, y))
    try:
        import torch
        from torchmetrics.functional.classification import multiclass_calibration_error

        torch.set_num_threads(1)
        pt, yt = torch.tensor(p), torch.tensor(y)
        add("torchmetrics", "ECE", lambda: multiclass_calibration_error(pt, yt, args.classes, n_bins=15))
    except ImportError:
        print("torchmetrics not installed: skipped")
    try:
        from netcal.metrics import ECE

        add("netcal", "ECE", lambda: ECE(bins=15).measure(p, y))
    except ImportError:
        print("netcal not installed: skipped")
    try:
        import torch

        tm = import_torch_uncertainty_metrics()
        pt, yt = torch.tensor(p), torch.tensor(y)

        def tu(make: Callable[[], Any]) -> Callable[[], Any]:
            def run() -> Any:
                m = make()
                m.update(pt, yt)
                return m.compute()

            return run

        add("torch-uncertainty", "ECE", tu(lambda: tm.CalibrationError("multiclass", num_bins=15,
                                                                       num_classes=args.classes)))  # fmt: skip
        add("torch-uncertainty", "NLL", tu(lambda: tm.CategoricalNLL()))
        add("torch-uncertainty", "Brier", tu(lambda: tm.BrierScore(num_classes=args.classes)))
    except ImportError as e:
        print(f"torch-uncertainty not importable ({e}): skipped")
    from sklearn.metrics import log_loss

    add("scikit-learn", "NLL", lambda: log_loss(y, p, labels=list(range(args.classes))))
    data = {f"p{k}": p[:, k] for k in range(args.classes)}
    data["y"] = y

    def platform() -> float:
        r = assay.evaluate(data, label="y", scores={"m": [f"p{k}" for k in range(args.classes)]},
                           classes=list(range(args.classes)), task="uncertainty",
                           calibration_bins=15, ci=None)  # fmt: skip
        return float(r.value("top_label_ece", cls=0).value)

    add("assay.evaluate (all family metrics)", "ECE", platform)

    def streaming() -> float:
        acc = U.StreamingCalibration(15)
        for i in range(0, args.n, 100_000):
            acc.update(p[i : i + 100_000], y[i : i + 100_000])
        acc.compute()  # every metric, from the same state
        return acc.expected_calibration_error()

    add("assay StreamingCalibration (chunks of 1e5, all its metrics)", "ECE", streaming)
    add("NumPy (the floor: one read of the array)", "sum", lambda: p.sum())
    times: dict[tuple[str, str], list[float]] = {(lib, m): [] for lib, m, _ in jobs}
    values: dict[tuple[str, str], float] = {}
    for _ in range(args.repeat):  # rounds: every job once per round, so load drifts hit all alike
        for lib, metric, fn in jobs:
            t, v = timed(fn)
            times[(lib, metric)].append(t)
            values[(lib, metric)] = float(v)
    med = {key: float(np.median(ts)) for key, ts in times.items()}
    from assay import _native

    path = "compiled kernel" if _native.calibration() is not None else "NumPy path"
    print(f"n = {args.n:,} predictions x {args.classes} classes, median of {args.repeat} rounds; assay: {path}")
    print("| library | metric | seconds | value |")
    print("|---|---|---|---|")
    for (lib, metric), t in med.items():
        print(f"| {lib} | {metric} | {t:.4f} | {values[(lib, metric)]:.6f} |")
    print()
    print("| metric | peer | peer s / assay s |")
    print("|---|---|---|")
    for metric in ("ECE", "NLL", "Brier"):
        ours = med.get(("assay", metric))
        for (lib, m), t in med.items():
            if m == metric and ours and lib not in ("assay",) and not lib.startswith("assay"):
                print(f"| {metric} | {lib} | {t / ours:.1f}x |")
    stream = med.get(("assay StreamingCalibration (chunks of 1e5, all its metrics)", "ECE"))
    tu = [med.get(("torch-uncertainty", m)) for m in ("ECE", "NLL", "Brier")]
    if stream and all(tu):
        total = sum(t for t in tu if t)
        print(f"| ECE + NLL + Brier | torch-uncertainty's three metrics ({total:.3f} s) vs "
              f"StreamingCalibration's one pass | {total / stream:.1f}x |")
    floor = med[("NumPy (the floor: one read of the array)", "sum")]
    for metric in ("ECE", "NLL", "Brier"):
        if ("assay", metric) in med:
            print(f"| {metric} | assay / one read of the input | {med[('assay', metric)] / floor:.2f} |")


if __name__ == "__main__":
    main()
