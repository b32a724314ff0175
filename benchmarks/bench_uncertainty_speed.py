"""Speed and agreement of assay.uncertainty's metrics against netcal and torchmetrics on
the same predictions (synthetic Dirichlet probabilities: a timing fixture, not a data set).

    .venv/bin/python benchmarks/bench_uncertainty_speed.py --n 1000000 --classes 10 --repeat 3

Times (best of ``--repeat``, one thread) for the top-label ECE (15 equal-width bins), the
NLL and the Brier score: assay's functions, netcal's ``ECE`` (if installed), torchmetrics'
``multiclass_calibration_error``, torch-uncertainty's ``CalibrationError``,
``CategoricalNLL`` and ``BrierScore`` (if installed; imported with a stub ``torchvision``,
see tests/uncertainty/test_torch_uncertainty_peer.py) and scikit-learn's ``log_loss``; also the platform
(``assay.evaluate(task="uncertainty")``, streamed in chunks, all metrics of the family,
``ci=None``) and ``StreamingCalibration`` fed in chunks of 100,000 rows (all its
metrics). Prints each value so that agreement can be read off.
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


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    t_best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t0)
    return t_best, out


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
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import assay
    from assay import uncertainty as U

    rng = np.random.default_rng(args.seed)
    p = rng.dirichlet(np.full(args.classes, 0.3), size=args.n)
    y = (p.cumsum(1) > rng.uniform(size=(args.n, 1)) ** 0.8).argmax(1)
    rows: list[tuple[str, str, float, float]] = []

    def add(lib: str, metric: str, fn: Callable[[], Any]) -> None:
        t, v = best(fn, args.repeat)
        rows.append((lib, metric, t, float(v)))

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
    print(f"n = {args.n:,} predictions x {args.classes} classes, best of {args.repeat}")
    print("| library | metric | seconds | value |")
    print("|---|---|---|---|")
    for lib, metric, t, v in rows:
        print(f"| {lib} | {metric} | {t:.3f} | {v:.6f} |")


if __name__ == "__main__":
    main()
