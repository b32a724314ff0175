"""The uncertainty metric family (task="uncertainty") against the functional forms per
slice, an explicit leave-one-bucket-out jackknife, and on binary models."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import assay
from assay import uncertainty as U
from assay.core import catalogue
from assay.core.replicates import row_hashes

K = 4


def _data(n: int = 3000, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], n)
    z = rng.normal(0, 1.5, (n, K))
    pt = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = (pt.cumsum(1) > rng.uniform(size=(n, 1))).argmax(1)
    temp = np.where(g == "a", 0.5, np.where(g == "b", 1.0, 2.0))[:, None]  # a: over-, c: under-confident
    zt = z / temp
    p = np.exp(zt - zt.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d = {f"p{k}": p[:, k] for k in range(K)}
    d.update({f"z{k}": zt[:, k] for k in range(K)})
    d.update({"y": y, "g": g, "k": np.arange(n) * 7 + 3, "w": rng.uniform(0.5, 2.0, n)})
    return d


def _functional(p: np.ndarray, y: np.ndarray, nb: int) -> dict[str, float]:
    return {
        "top_label_accuracy": U.accuracy(p, y),
        "top_label_ece": U.expected_calibration_error(p, y, nb),
        "top_label_ece_l2": U.expected_calibration_error(p, y, nb, norm="l2"),
        "top_label_mce": U.maximum_calibration_error(p, y, nb),
        "classwise_ece": float(U.classwise_calibration_error(p, y, nb)),
        "nll": U.negative_log_likelihood(p, y),
        "brier_score": U.brier_score(p, y),
        "brier_score_mean": U.brier_score(p, y, normalization="mean"),
    }


def _probs(d: dict[str, np.ndarray]) -> np.ndarray:
    return np.column_stack([d[f"p{k}"] for k in range(K)])


@pytest.mark.parametrize("logits", [False, True])
def test_family_equals_functional_forms_per_slice(logits: bool) -> None:
    d = _data()
    cols = [f"z{k}" if logits else f"p{k}" for k in range(K)]
    r = assay.evaluate(d, label="y", scores={"m": cols}, classes=list(range(K)), slices="g",
                       task="uncertainty", calibration_bins=15,
                       score_type="logit" if logits else "probability")  # fmt: skip
    p, y, g = _probs(d), d["y"], d["g"]
    for name, mask in [("overall", np.ones(len(y), bool))] + [(f"g={v}", g == v) for v in "abc"]:
        want = _functional(p[mask], y[mask], 15)
        for m, v in want.items():
            assert r.value(m, slice=name, cls=0).value == pytest.approx(v, rel=1e-9, abs=1e-12), (name, m)
        per = U.classwise_calibration_error(p[mask], y[mask], 15, reduction="none")
        for k in range(K):
            got = r.value("class_calibration_error", slice=name, cls=k).value
            assert got == pytest.approx(per[k], rel=1e-9), (name, k)  # type: ignore[index]
    # the over-confident slice is worse calibrated than the tempered-at-1 slice
    assert r.value("top_label_ece", slice="g=a", cls=0).value > r.value("top_label_ece", slice="g=b", cls=0).value


def test_family_weighted_sums() -> None:
    d = _data(1500, seed=2)
    r = assay.evaluate(d, label="y", scores={"m": [f"p{k}" for k in range(K)]}, weight="w",
                       classes=list(range(K)), task="uncertainty", ci=None)  # fmt: skip
    p, y, w = _probs(d), d["y"], d["w"]
    onehot = np.eye(K)[y]
    assert r.value("nll", cls=0).value == pytest.approx(np.average(-np.log(p[np.arange(len(y)), y]), weights=w))
    assert r.value("brier_score", cls=0).value == pytest.approx(np.average(((p - onehot) ** 2).sum(1), weights=w))
    # ECE with integer weights = ECE of the rows repeated
    wi = np.random.default_rng(0).integers(1, 4, len(y)).astype(float)
    d2 = {**d, "w": wi}
    r2 = assay.evaluate(d2, label="y", scores={"m": [f"p{k}" for k in range(K)]}, weight="w",
                        classes=list(range(K)), task="uncertainty", ci=None)  # fmt: skip
    rep = np.repeat(np.arange(len(y)), wi.astype(int))
    assert r2.value("top_label_ece", cls=0).value == pytest.approx(
        U.expected_calibration_error(p[rep], y[rep], 10), rel=1e-10
    )


def test_family_jackknife_equals_explicit_leave_one_bucket_out() -> None:
    d = _data(2000, seed=1)
    r = assay.evaluate(d, label="y", scores={"m": [f"p{k}" for k in range(K)]},
                       classes=list(range(K)), slices="g", task="uncertainty", row_key="k",
                       seed=5, confidence=0.9)  # fmt: skip
    bucket = (row_hashes(d["k"], 5) % np.uint64(20)).astype(int)
    crit = stats.t.ppf(0.95, 19)
    p, y, g = _probs(d), d["y"], d["g"]
    for name, mask in [("overall", np.ones(len(y), bool)), ("g=b", g == "b")]:
        for m in ("top_label_ece", "nll", "brier_score", "classwise_ece"):
            def fn(sel: np.ndarray, m: str = m) -> float:
                return _functional(p[sel], y[sel], 10)[m]

            reps = np.array([fn(mask & (bucket != b)) for b in range(20)])
            se = np.sqrt(19 / 20 * np.sum((reps - reps.mean()) ** 2))
            full = fn(mask)
            got = r.value(m, slice=name, cls=0)
            info = catalogue.metric(m)
            assert info is not None
            lo, hi = info.bounds("uncertainty")
            assert got.value == pytest.approx(full, rel=1e-9)
            assert got.lower == pytest.approx(np.clip(full - crit * se, lo, hi), rel=1e-7), m
            assert got.upper == pytest.approx(np.clip(full + crit * se, lo, hi), rel=1e-7), m


def test_family_binary_model() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    p1 = rng.uniform(0.01, 0.99, n)
    y = (rng.uniform(size=n) < p1 ** 1.5).astype(int)
    r = assay.evaluate({"y": y, "s": p1}, label="y", scores="s", task="uncertainty", ci=None)
    p = np.column_stack([1 - p1, p1])
    for m, v in _functional(p, y, 10).items():
        assert r.value(m).value == pytest.approx(v, rel=1e-9), m
    # the head's class calibration error is class 1's = torchmetrics/netcal positive-class ECE
    per = U.classwise_calibration_error(p1, y, 10, reduction="none")
    assert r.value("class_calibration_error").value == pytest.approx(per[1])  # type: ignore[index]
    assert r.value("brier_score_mean").value == pytest.approx(np.mean((p1 - y) ** 2))


def test_family_bad_input() -> None:
    d = _data(200)
    d["p0"] = d["p0"] * 0.5
    with pytest.raises(ValueError, match=r"rows sum to 1 \(within 0.0001\).*score_type='logit'"):
        assay.evaluate(d, label="y", scores={"m": [f"p{k}" for k in range(K)]},
                       classes=list(range(K)), task="uncertainty")  # fmt: skip
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        assay.evaluate(d, label="y", scores={"m": [f"z{k}" for k in range(K)]},
                       classes=list(range(K)), task="uncertainty")  # fmt: skip
    with pytest.raises(ValueError, match="not in 'classes'"):
        assay.evaluate(d, label="y", scores={"m": [f"z{k}" for k in range(3)]},
                       classes=list(range(3)), task="uncertainty", score_type="logit")  # fmt: skip
