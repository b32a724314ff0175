"""Fixtures of the valuation tests: one torch thread, and OpenDataVal's KNN-Shapley as a
reference.

OpenDataVal 1.3.0 (``pip install --no-deps opendataval==1.3.0``, see /work/shared/PEERS.md)
pins torch ~2.1, and its package ``__init__`` files import every evaluator, model and data
set (torchvision, transformers, geomloss...), which do not install beside the local torch.
Its KNN-Shapley module needs only torch and NumPy: the fixture registers the package modules
without running their ``__init__``, gives the two base classes it inherits from as plain
stubs, and imports ``opendataval/dataval/knnshap/knnshap.py`` itself, so the reference is
OpenDataVal's own algorithm. Tests using it are skipped when it is not installed.
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
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def odv_knn_shapley() -> Any:
    """``f(x_train, y_train, x_val, y_val, k)`` running OpenDataVal's KNNShapley."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("tqdm")
    pytest.importorskip("sklearn")
    spec = importlib.util.find_spec("opendataval")
    if spec is None or spec.origin is None:
        pytest.skip("opendataval is not installed (pip install --no-deps opendataval==1.3.0)")
    root = Path(spec.origin).parent
    saved = {k: v for k, v in sys.modules.items() if k.startswith("opendataval")}
    for name, path in (
        ("opendataval", root),
        ("opendataval.dataval", root / "dataval"),
        ("opendataval.dataval.knnshap", root / "dataval" / "knnshap"),
        ("opendataval.model", root / "model"),
    ):
        mod = types.ModuleType(name)
        mod.__path__ = [str(path)]
        sys.modules[name] = mod

    class DataEvaluator:  # what KNNShapley uses of the base class
        pass

    class ModelLessMixin:
        def embeddings(self, *tensors: Any) -> tuple[Any, ...]:
            return tensors

    api = types.ModuleType("opendataval.dataval.api")
    api.DataEvaluator = DataEvaluator  # type: ignore[attr-defined]
    api.ModelLessMixin = ModelLessMixin  # type: ignore[attr-defined]
    sys.modules["opendataval.dataval.api"] = api
    model_api = types.ModuleType("opendataval.model.api")
    model_api.Model = object  # type: ignore[attr-defined]
    sys.modules["opendataval.model.api"] = model_api
    try:
        knnshap = importlib.import_module("opendataval.dataval.knnshap.knnshap")
    finally:
        for k in [k for k in sys.modules if k.startswith("opendataval")]:
            del sys.modules[k]
        sys.modules.update(saved)
    import numpy as np

    def run(x_train: Any, y_train: Any, x_val: Any, y_val: Any, k: int) -> Any:
        classes = np.unique(y_train)
        onehot = lambda y: torch.as_tensor(  # noqa: E731
            (np.asarray(y)[:, None] == classes[None, :]).astype(np.float32)
        )
        ev = knnshap.KNNShapley(k_neighbors=k, batch_size=4096, random_state=0)
        ev.x_train = torch.as_tensor(np.asarray(x_train, dtype=np.float32))
        ev.y_train = onehot(y_train)
        ev.x_valid = torch.as_tensor(np.asarray(x_val, dtype=np.float32))
        ev.y_valid = onehot(y_val)
        ev.train_data_values()
        return np.asarray(ev.evaluate_data_values(), dtype=np.float64)

    return run
