"""torch-uncertainty 0.13 side by side: the same calibration metrics and temperature scaling
on the same predictions.

torch-uncertainty is a test/benchmark peer, not a dependency: these tests skip where it is
not installed (CI). Installing it here (see docs/uncertainty.md): ``pip install --no-deps
torch-uncertainty==0.13.0`` plus ``einops``, ``seaborn`` and ``rich`` (``lightning`` is
already there). Its package ``__init__`` imports its plotting helpers, which import
``torchvision``; PyPI's torchvision does not import beside the local torch build, and no
metric or scaler uses it, so :func:`_import_tu` puts a stub ``torchvision`` in
``sys.modules`` for the import only (after torchmetrics is fully imported, so torchmetrics
still sees no torchvision) and removes it afterwards.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import itertools
import sys
import types
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
if importlib.util.find_spec("torch_uncertainty") is None:
    pytest.skip("torch-uncertainty is not installed (a peer for comparison only)", allow_module_level=True)

from assay import uncertainty as U  # noqa: E402


def _import_tu() -> tuple[Any, Any]:
    pytest.importorskip("torchmetrics.functional")
    pytest.importorskip("torchmetrics.classification")
    added: list[str] = []
    if importlib.util.find_spec("torchvision") is None:
        for name in ("torchvision", "torchvision.transforms", "torchvision.transforms.functional"):
            mod = types.ModuleType(name)
            mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
            mod.__path__ = []
            sys.modules[name] = mod
            added.append(name)

        class InterpolationMode:
            NEAREST, BILINEAR, BICUBIC = "nearest", "bilinear", "bicubic"

        sys.modules["torchvision.transforms"].InterpolationMode = InterpolationMode  # type: ignore[attr-defined]
    try:
        metrics = pytest.importorskip("torch_uncertainty.metrics")
        post = pytest.importorskip("torch_uncertainty.post_processing")
    finally:
        for name in added:
            sys.modules.pop(name, None)
    return metrics, post


TM, TP = _import_tu()


def _predictions(n: int = 3000, k: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels drawn from softmax(z); logits reported as 1.7 z (over-confident)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) * 2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    y = (p.cumsum(1) < rng.random((n, 1))).sum(1)
    logits = 1.7 * z
    probs = np.exp(logits - logits.max(1, keepdims=True))
    return logits, probs / probs.sum(1, keepdims=True), y


def _tu(metric: Any, *args: Any) -> float:
    metric.update(*args)
    return float(metric.compute())


def test_same_metrics_on_the_same_predictions() -> None:
    _, p, y = _predictions()
    k = p.shape[1]
    P, Y = torch.tensor(p), torch.tensor(y)
    # torch-uncertainty computes in float32: agreement to ~1e-6
    cases = [
        (TM.CalibrationError(task="multiclass", num_classes=k, num_bins=15), U.expected_calibration_error(p, y)),
        (TM.CalibrationError(task="multiclass", num_classes=k, num_bins=10, norm="l2"),
         U.expected_calibration_error(p, y, n_bins=10, norm="l2")),
        (TM.CalibrationError(task="multiclass", num_classes=k, num_bins=15, norm="max"),
         U.maximum_calibration_error(p, y)),
        (TM.ClasswiseCalibrationError(num_classes=k, num_bins=15), U.classwise_calibration_error(p, y)),
        (TM.BrierScore(num_classes=k), U.brier_score(p, y)),  # the sum over classes
        (TM.CategoricalNLL(), U.negative_log_likelihood(p, y)),
    ]  # fmt: skip
    for metric, ours in cases:
        assert _tu(metric, P, Y) == pytest.approx(ours, rel=1e-4, abs=1e-6), type(metric).__name__
    # AURC: ours is (1/n) sum_k risk(k most confident); torch-uncertainty integrates the same
    # risks by the trapezoid rule over coverage 1/n..1 and divides by (1 - 1/n): O(1/n) apart
    n = len(y)
    order = np.argsort(-p.max(1), kind="stable")
    risk = np.cumsum(p.argmax(1)[order] != y[order]) / np.arange(1, n + 1)
    cov = np.arange(1, n + 1) / n
    trapezoid = float(np.sum((risk[1:] + risk[:-1]) / 2 * np.diff(cov)) / (1 - 1 / n))
    tu_aurc = _tu(TM.AURC(), P, Y)
    assert tu_aurc == pytest.approx(trapezoid, rel=1e-6)  # its coverage grid is float32
    assert U.area_under_risk_coverage(p, y) == pytest.approx(risk.mean(), rel=1e-12)
    assert abs(tu_aurc - risk.mean()) < 2 / n
    assert _tu(TM.Entropy(), P) == pytest.approx(U.predictive_entropy(p).mean(), rel=1e-6)
    # equal-mass bins: with n a multiple of the bin count both split the sorted confidences
    # into the same equal groups
    ace = _tu(TM.AdaptiveCalibrationError(task="multiclass", num_classes=k, num_bins=15), P, Y)
    assert ace == pytest.approx(U.expected_calibration_error(p, y, strategy="quantile"), abs=1e-6)


def test_ensemble_scores_and_the_two_disagreements() -> None:
    rng = np.random.default_rng(1)
    members = rng.dirichlet(np.ones(4), size=(5, 400))  # (M, n, K)
    tu_in = torch.tensor(members.transpose(1, 0, 2))  # torch-uncertainty wants (n, M, K)
    assert _tu(TM.MutualInformation(), tu_in) == pytest.approx(U.mutual_information(members).mean(), rel=1e-6)
    # torch-uncertainty's disagreement is the share of member PAIRS that disagree; ours is
    # the share of members whose arg-max differs from the ensemble's arg-max
    votes = members.argmax(-1)
    pairs = np.mean([[votes[a, i] != votes[b, i] for a, b in itertools.combinations(range(5), 2)]
                     for i in range(400)])  # fmt: skip
    assert _tu(TM.Disagreement(), tu_in) == pytest.approx(pairs, rel=1e-6)
    vs_ensemble = (votes != members.mean(0).argmax(-1)).mean()
    assert U.disagreement(members).mean() == pytest.approx(vs_ensemble)
    assert abs(pairs - vs_ensemble) > 0.05  # different quantities
    same = np.stack([members[0]] * 3)
    assert _tu(TM.Disagreement(), torch.tensor(same.transpose(1, 0, 2))) == 0.0
    assert U.disagreement(same).mean() == 0.0


def _tu_temperature(x: np.ndarray, y: np.ndarray) -> float:
    from torch.utils.data import DataLoader, TensorDataset

    ts = TP.TemperatureScaler()
    ts.fit(DataLoader(TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=1000), progress=False)
    return float(ts.temperature[0].detach())


def test_temperature_scaling_against_torch_uncertainty_and_scipy() -> None:
    scipy_optimize = pytest.importorskip("scipy.optimize")
    z, _, y = _predictions()

    def nll(t: float) -> float:
        s = z / t
        s = s - s.max(1, keepdims=True)
        return float(-(s[np.arange(len(y)), y] - np.log(np.exp(s).sum(1))).mean())

    exact = scipy_optimize.minimize_scalar(nll, bounds=(0.05, 20), method="bounded", options={"xatol": 1e-10}).x
    ours = U.TemperatureScaling().fit(z, y)
    tu = _tu_temperature(z, y)
    assert ours.temperature_ == pytest.approx(exact, rel=1e-5)
    # torch-uncertainty's L-BFGS (lr 0.1, no line search, 100 iterations) stops near the
    # minimiser: within 1e-3 relative here, with a validation NLL within 1e-6
    assert tu == pytest.approx(exact, rel=1e-3)
    assert nll(tu) - nll(exact) < 1e-6
    # given probabilities instead of logits, torch-uncertainty fits a temperature without a
    # word (about 0.32 here: a meaningless number); ours refuses
    _, p, _ = _predictions()
    assert 0 < _tu_temperature(p, y) < 1
    with pytest.raises(ValueError, match="probabilities"):
        U.TemperatureScaling().fit(p, y)
