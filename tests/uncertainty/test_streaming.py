"""StreamingCalibration: batch by batch, equal to the functional forms on all rows."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from assay import uncertainty as U


def _data(n: int = 2000, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) * 2.5
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    y = (p.cumsum(1) < rng.random((n, 1)) ** 1.3).sum(1)
    return z, p, np.minimum(y, k - 1)


def _functional(p: np.ndarray, y: np.ndarray, from_logits: bool = False, n_bins: int = 15) -> dict[str, float]:
    kw = {"from_logits": from_logits}
    return {
        "expected_calibration_error": U.expected_calibration_error(p, y, n_bins, **kw),
        "expected_calibration_error_l2": U.expected_calibration_error(p, y, n_bins, norm="l2", **kw),
        "maximum_calibration_error": U.maximum_calibration_error(p, y, n_bins, **kw),
        "classwise_calibration_error": float(U.classwise_calibration_error(p, y, n_bins, **kw)),
        "negative_log_likelihood": U.negative_log_likelihood(p, y, **kw),
        "brier_score": U.brier_score(p, y, **kw),
        "brier_score_mean": U.brier_score(p, y, normalization="mean", **kw),
        "accuracy": U.accuracy(p, y, **kw),
    }


@pytest.mark.parametrize("from_logits", [False, True])
def test_batches_equal_the_functional_forms(from_logits: bool) -> None:
    z, p, y = _data()
    x = z if from_logits else p
    acc = U.StreamingCalibration(n_bins=15, from_logits=from_logits)
    cuts = [0, 1, 333, 334, 1200, 2000]  # uneven batches, one of a single row, one empty
    cuts.insert(3, 333)
    for a, b in itertools.pairwise(cuts):
        acc.update(x[a:b], y[a:b])
    got = acc.compute()
    assert got["n"] == 2000
    for name, want in _functional(x, y, from_logits).items():
        assert got[name] == pytest.approx(want, rel=1e-12, abs=1e-14), name
    per = acc.classwise_calibration_error(reduction="none")
    assert per == pytest.approx(U.classwise_calibration_error(x, y, from_logits=from_logits, reduction="none"))
    d, want_d = acc.reliability_diagram(), U.reliability_diagram(x, y, from_logits=from_logits)
    assert np.array_equal(d.count, want_d.count) and np.allclose(d.gap, want_d.gap, equal_nan=True)
    # bounded memory: the state does not grow with the rows
    assert acc.top.shape == (3, 15) and acc.per_class.shape == (4, 3, 15)


def test_merge_binary_and_bin_counts() -> None:
    _, p, y = _data(1500, 3, seed=2)
    a = U.StreamingCalibration(10).update(p[:700], y[:700])
    b = U.StreamingCalibration(10).update(p[700:], y[700:])
    whole = U.StreamingCalibration(10).update(p, y).compute()
    merged = a.merge(b).compute()
    for name, v in whole.items():
        assert merged[name] == pytest.approx(v, rel=1e-12), name
    assert U.StreamingCalibration(10).merge(a).n == 1500  # into an empty accumulator
    # binary (n,) probabilities of class 1, as the functional forms
    rng = np.random.default_rng(3)
    q = rng.random(500)
    yb = (rng.random(500) < q**1.5).astype(int)
    s = U.StreamingCalibration(7).update(q[:200], yb[:200]).update(q[200:], yb[200:])
    assert s.expected_calibration_error() == pytest.approx(U.expected_calibration_error(q, yb, 7))
    assert s.brier_score("mean") == pytest.approx(float(np.mean((q - yb) ** 2)))
    for n_bins in (1, 3, 40):
        t = U.StreamingCalibration(n_bins).update(p, y)
        assert t.expected_calibration_error() == pytest.approx(U.expected_calibration_error(p, y, n_bins))


def test_bad_input() -> None:
    _, p, y = _data(50, 3)
    with pytest.raises(ValueError, match="'n_bins' parameter of StreamingCalibration must be an int >= 1"):
        U.StreamingCalibration(0)
    acc = U.StreamingCalibration()
    with pytest.raises(ValueError, match="needs at least one row"):
        acc.expected_calibration_error()
    acc.update(p, y)
    with pytest.raises(ValueError, match="must have 3 classes, as the earlier batches; got 4"):
        acc.update(np.full((2, 4), 0.25), [0, 1])
    with pytest.raises(ValueError, match="look like logits: pass from_logits=True"):
        acc.update(p * 5, y)
    with pytest.raises(ValueError, match=r"classes in \[0, 2\]"):
        acc.update(p[:2], [0, 3])
    with pytest.raises(ValueError, match="same n_bins and from_logits"):
        acc.merge(U.StreamingCalibration(10))
    with pytest.raises(ValueError, match="same number of classes"):
        acc.merge(U.StreamingCalibration().update(np.full((2, 2), 0.5), [0, 1]))
    with pytest.raises(TypeError, match="takes a StreamingCalibration"):
        acc.merge(p)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'norm' parameter"):
        acc.expected_calibration_error("l3")  # type: ignore[arg-type]
