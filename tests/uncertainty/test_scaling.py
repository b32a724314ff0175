"""Temperature and vector scaling: closed forms, SciPy's minimisation of the same NLL,
never a worse NLL, and the refusal of probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from assay import uncertainty as U

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


def _tempered(n: int, k: int, t0: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(z); the 'model' reports z * t0 (over-confident by t0)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2.0, (n, k))
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = (p.cumsum(1) > rng.uniform(size=(n, 1))).argmax(1)
    return z * t0, y


def _nll(z: np.ndarray, y: np.ndarray) -> float:
    m = z.max(1, keepdims=True)
    return float((np.log(np.exp(z - m).sum(1)) + m[:, 0] - z[np.arange(len(y)), y]).mean())


@pytest.mark.parametrize("t0", [0.5, 2.5])
def test_temperature_recovers_a_known_temperature(t0: float) -> None:
    z, y = _tempered(20000, 5, t0, seed=1)
    ts = U.TemperatureScaling().fit(z, y)
    assert ts.temperature_ == pytest.approx(t0, rel=0.05)
    assert ts.nll_after_ < ts.nll_before_
    p = ts.transform(z)
    assert p.shape == (20000, 5)
    assert np.allclose(p.sum(1), 1.0)
    assert U.negative_log_likelihood(p, y) == pytest.approx(ts.nll_after_, rel=1e-9)
    assert U.expected_calibration_error(p, y) < U.expected_calibration_error(z, y, from_logits=True)


def test_temperature_equals_scipy_minimisation() -> None:
    from scipy.optimize import minimize_scalar

    z, y = _tempered(3000, 4, 1.7, seed=2)
    res = minimize_scalar(lambda lt: _nll(z / np.exp(lt), y), bounds=(-5, 5), method="bounded",
                          options={"xatol": 1e-10})  # fmt: skip
    ts = U.TemperatureScaling().fit(z, y)
    assert ts.temperature_ == pytest.approx(float(np.exp(res.x)), rel=1e-5)
    assert ts.nll_after_ == pytest.approx(res.fun, rel=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_scaling_never_increases_the_validation_nll(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(20, 400)), int(rng.integers(2, 6))
    z = rng.normal(0, rng.uniform(0.1, 8), (n, k))
    y = rng.integers(0, k, n)
    y[:2] = [0, 1]
    for cls in (U.TemperatureScaling, U.VectorScaling):
        s = cls().fit(z, y)
        assert s.nll_after_ <= s.nll_before_ + 1e-12
        assert s.nll_before_ == pytest.approx(_nll(z, y), rel=1e-12)
        assert U.negative_log_likelihood(s.transform(z), y) <= _nll(z, y) + 1e-9


def test_binary_logits_and_torch_tensors() -> None:
    z2, y = _tempered(5000, 2, 3.0, seed=4)
    zb = z2[:, 1] - z2[:, 0]  # the binary logit
    ts = U.TemperatureScaling().fit(torch.tensor(zb), torch.tensor(y))
    assert ts.temperature_ == pytest.approx(U.TemperatureScaling().fit(z2, y).temperature_, rel=1e-6)
    assert ts.transform(zb).shape == (5000, 2)


def test_vector_scaling_recovers_per_class_scale_and_bias() -> None:
    rng = np.random.default_rng(5)
    n, k = 20000, 3
    z = rng.normal(0, 2.0, (n, k))
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = (p.cumsum(1) > rng.uniform(size=(n, 1))).argmax(1)
    w0, b0 = np.array([2.0, 0.5, 1.0]), np.array([0.3, -0.2, 0.0])
    reported = (z - b0) / w0  # so that reported * w0 + b0 = z
    vs = U.VectorScaling().fit(reported, y)
    # biases are identified up to a common shift
    assert vs.weights_ == pytest.approx(w0, rel=0.06)
    assert vs.biases_ - vs.biases_.mean() == pytest.approx(b0 - b0.mean(), abs=0.06)
    assert vs.nll_after_ <= U.TemperatureScaling().fit(reported, y).nll_after_


def test_scaling_refuses_probabilities_and_bad_labels() -> None:
    z, y = _tempered(200, 3, 1.0, seed=6)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    with pytest.raises(ValueError, match="every row is non-negative and sums to 1: these are probabilities"):
        U.TemperatureScaling().fit(p, y)
    with pytest.raises(ValueError, match="these are probabilities"):
        U.VectorScaling().fit(p, y)
    with pytest.raises(ValueError, match=r"these look like probabilities"):
        U.TemperatureScaling().fit(p[:, 1], (y == 1).astype(int))
    with pytest.raises(ValueError, match=r"holds a single class \(2\)"):
        U.TemperatureScaling().fit(z, np.full(200, 2))
    with pytest.raises(ValueError, match=r"classes in \[0, 2\]"):
        U.TemperatureScaling().fit(z, np.where(y == 0, 3, y))
    bad = z.copy()
    bad[7, 0] = np.nan
    with pytest.raises(ValueError, match=r"'logits' parameter of TemperatureScaling.fit must hold finite numbers; row 7"):
        U.TemperatureScaling().fit(bad, y)
    with pytest.raises(RuntimeError, match="not fitted"):
        U.TemperatureScaling().transform(z)
    ts = U.TemperatureScaling().fit(z, y)
    with pytest.raises(ValueError, match="must have 3 classes"):
        ts.transform(z[:, :2])
