"""Fixtures of the OOD tests: one torch thread, and pytorch-ood's detectors as a reference.

pytorch-ood 0.4.0 (``pip install --no-deps pytorch-ood==0.4.0``, see /work/shared/PEERS.md)
imports torchvision from its package ``__init__`` (for its data sets), and torchvision does
not install beside the local torch. Its detector modules themselves need only torch, so the
fixture registers the two package modules without running their ``__init__`` and imports
the detector modules directly. The tests that use it are skipped when it is not installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def pood() -> Any:
    """A namespace with pytorch-ood's detector classes (skip when it is not installed)."""
    pytest.importorskip("torch")
    spec = importlib.util.find_spec("pytorch_ood")
    if spec is None or spec.origin is None:
        pytest.skip("pytorch-ood is not installed (pip install --no-deps pytorch-ood==0.4.0)")
    root = Path(spec.origin).parent
    for name, path in (("pytorch_ood", root), ("pytorch_ood.detector", root / "detector")):
        if name not in sys.modules:
            mod = types.ModuleType(name)
            mod.__path__ = [str(path)]
            sys.modules[name] = mod
    ns = types.SimpleNamespace()
    for module, names in {
        "softmax": ["MaxSoftmax"],
        "energy": ["EnergyBased"],
        "entropy": ["Entropy"],
        "maxlogit": ["MaxLogit"],
        "mahalanobis": ["Mahalanobis", "MahalanobisODIN"],
        "rmd": ["RMD"],
        "knn": ["KNN"],
        "vim": ["ViM"],
        "odin": ["ODIN"],
    }.items():
        m = importlib.import_module(f"pytorch_ood.detector.{module}")
        for n in names:
            setattr(ns, n, getattr(m, n))
    return ns
