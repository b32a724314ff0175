"""Functional metrics against brute force, scikit-learn, netcal and torchmetrics."""

from __future__ import annotations

import numpy as np
import pytest

from assay import uncertainty as U
from assay.uncertainty import metrics as M


def _fixture(n: int = 600, k: int = 4, seed: int = 0, temp: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logits, over-confident probabilities (softmax(z / temp)) and labels drawn from softmax(z)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, size=(n, k))
    p_true = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in p_true])
    zt = z / temp
    probs = np.exp(zt - zt.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    return zt, probs, y


def _brute_ece(conf: np.ndarray, correct: np.ndarray, edges: list[float], norm: str) -> float:
    """Bin by explicit comparisons, one row at a time."""
    nb = len(edges) - 1
    cnt = [0] * nb
    cs = [0.0] * nb
    ks = [0.0] * nb
    for c, ok in zip(conf.tolist(), correct.tolist(), strict=True):
        for b in range(nb):
            last = b == nb - 1
            if edges[b] <= c and (c < edges[b + 1] or (last and c <= edges[b + 1])):
                cnt[b] += 1
                cs[b] += c
                ks[b] += float(ok)
                break
    n = sum(cnt)
    gaps = [(abs(ks[b] / cnt[b] - cs[b] / cnt[b]), cnt[b] / n) for b in range(nb) if cnt[b]]
    if norm == "l1":
        return sum(g * w for g, w in gaps)
    if norm == "l2":
        return float(np.sqrt(sum(g * g * w for g, w in gaps)))
    return max(g for g, _ in gaps)


@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
@pytest.mark.parametrize("n_bins", [1, 7, 15])
def test_ece_equals_brute_force_equal_width(norm: str, n_bins: int) -> None:
    _, p, y = _fixture()
    conf = p.max(1)
    correct = p.argmax(1) == y
    edges = [b / n_bins for b in range(n_bins + 1)]
    want = _brute_ece(conf, correct, edges, norm)
    got = U.expected_calibration_error(p, y, n_bins, norm=norm)  # type: ignore[arg-type]
    assert got == pytest.approx(want, abs=1e-12)
    assert got > 0.02  # the fixture is over-confident: a non-trivial value


def test_ece_equal_mass_bins_hold_equal_counts() -> None:
    _, p, y = _fixture(n=600)
    d = U.reliability_diagram(p, y, 15, strategy="quantile")
    assert d.count.sum() == 600
    assert np.all(np.abs(d.count - 40) <= 1)
    conf = p.max(1)
    correct = p.argmax(1) == y
    # brute force on the sorted rows: consecutive groups of 40
    order = np.argsort(conf)
    want = sum(abs(conf[g].mean() - correct[g].mean()) * len(g) / 600
               for g in np.array_split(order, 15))  # fmt: skip
    assert U.expected_calibration_error(p, y, 15, strategy="quantile") == pytest.approx(want, abs=1e-12)


def test_perfectly_calibrated_by_construction_has_small_ece_and_known_values() -> None:
    # every row predicts class 0 with confidence 0.75 and is right 3 times in 4: ECE 0
    p = np.tile([0.75, 0.25], (8, 1))
    y = np.array([0, 0, 0, 1] * 2)
    assert U.expected_calibration_error(p, y) == pytest.approx(0.0, abs=1e-15)
    # confidence 0.9, accuracy 0.5 -> ECE 0.4 in every norm
    p2 = np.tile([0.9, 0.1], (4, 1))
    y2 = np.array([0, 1, 0, 1])
    for norm in ("l1", "l2", "max"):
        assert U.expected_calibration_error(p2, y2, norm=norm) == pytest.approx(0.4)  # type: ignore[arg-type]
    # binary (n,) input is the two-column matrix [1 - p, p] (top-label: 0.9 for p = 0.1)
    assert U.expected_calibration_error(np.full(4, 0.1), y2) == pytest.approx(0.4)


def test_nll_brier_accuracy_against_sklearn() -> None:
    from sklearn.metrics import accuracy_score, brier_score_loss, log_loss

    z, p, y = _fixture()
    assert U.negative_log_likelihood(p, y) == pytest.approx(log_loss(y, p, labels=range(4)), rel=1e-10)
    assert U.negative_log_likelihood(z, y, from_logits=True) == pytest.approx(
        log_loss(y, p, labels=range(4)), rel=1e-10
    )
    onehot = np.eye(4)[y]
    assert U.brier_score(p, y) == pytest.approx(((p - onehot) ** 2).sum(1).mean())
    assert U.brier_score(p, y, normalization="mean") == pytest.approx(((p - onehot) ** 2).mean())
    # scikit-learn's multi-class Brier score is the sum over classes (scale_by_half=False)
    assert U.brier_score(p, y) == pytest.approx(
        brier_score_loss(y, p, labels=range(4), scale_by_half=False), rel=1e-10
    )
    assert U.accuracy(p, y) == pytest.approx(accuracy_score(y, p.argmax(1)))
    # binary: "mean" normalization is scikit-learn's (p - y)^2
    pb = p[:, 0] / (p[:, 0] + p[:, 1])
    yb = (y == 1).astype(int)
    assert U.brier_score(pb, yb, normalization="mean") == pytest.approx(brier_score_loss(yb, pb))
    assert U.brier_score(pb, yb) == pytest.approx(2 * brier_score_loss(yb, pb))
    assert U.negative_log_likelihood(pb, yb) == pytest.approx(log_loss(yb, pb))


def test_nll_clips_zero_probability() -> None:
    p = np.array([[1.0, 0.0], [0.5, 0.5]])
    y = np.array([1, 0])
    assert U.negative_log_likelihood(p, y) == pytest.approx((-np.log(M.NLL_EPS) + np.log(2)) / 2)


def test_logits_and_probabilities_give_the_same_metrics() -> None:
    z, p, y = _fixture()
    for f in (U.expected_calibration_error, U.accuracy, U.brier_score, U.area_under_risk_coverage):
        assert f(z, y, from_logits=True) == pytest.approx(f(p, y), abs=1e-12)  # type: ignore[operator]
    zb = z[:, 1] - z[:, 0]
    pb = 1 / (1 + np.exp(-zb))
    assert U.negative_log_likelihood(zb, y.clip(0, 1), from_logits=True) == pytest.approx(
        U.negative_log_likelihood(pb, y.clip(0, 1)), rel=1e-9
    )


def test_selective_prediction_against_brute_force() -> None:
    _, p, y = _fixture(n=300)
    conf = p.max(1)
    err = p.argmax(1) != y
    order = np.argsort(-conf, kind="stable")
    risks = [err[order[:k]].mean() for k in range(1, 301)]
    cov, risk, thr = U.risk_coverage_curve(p, y)
    assert np.allclose(cov, np.arange(1, 301) / 300)
    assert np.allclose(risk, risks)
    assert np.all(np.diff(thr) < 0)
    assert U.area_under_risk_coverage(p, y) == pytest.approx(np.mean(risks))
    # a confidence that ranks all errors last reaches the optimal AURC
    oracle = np.where(err, 0.0, 1.0) + 1e-6 * np.arange(300)
    e = err.mean()
    n_ok = int((~err).sum())
    opt = np.mean([0.0] * n_ok + [(k - n_ok) / k for k in range(n_ok + 1, 301)])
    assert U.area_under_risk_coverage(p, y, confidence=oracle) == pytest.approx(opt)
    assert opt < U.area_under_risk_coverage(p, y) < e + 1e-12 or e == 0


def test_selective_prediction_groups_ties() -> None:
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4]])
    y = np.array([0, 1, 0])
    cov, risk, _ = U.risk_coverage_curve(p, y)
    assert cov.tolist() == pytest.approx([2 / 3, 1.0])
    assert risk.tolist() == pytest.approx([0.5, 1 / 3])
    assert U.area_under_risk_coverage(p, y) == pytest.approx(0.5 * 2 / 3 + 1 / 3 * 1 / 3)


def test_misclassification_auroc_against_sklearn() -> None:
    from sklearn.metrics import roc_auc_score

    _, p, y = _fixture()
    conf = p.max(1)
    correct = p.argmax(1) == y
    want = roc_auc_score(correct, conf)
    assert U.misclassification_auroc(p, y) == pytest.approx(want)
    # same as detecting errors with the uncertainty score 1 - confidence
    assert roc_auc_score(~correct, 1 - conf) == pytest.approx(want)
    ent = U.predictive_entropy(p)
    assert U.misclassification_auroc(p, y, confidence=-ent) == pytest.approx(roc_auc_score(~correct, ent))
    # ties count one half
    assert M.auroc(np.array([1.0, 1.0]), np.array([True, False])) == 0.5
    assert np.isnan(U.misclassification_auroc(np.tile([0.8, 0.2], (3, 1)), np.zeros(3, int)))


def test_classwise_ece_brute_force() -> None:
    _, p, y = _fixture()
    edges = [b / 15 for b in range(16)]
    want = [_brute_ece(p[:, k], y == k, edges, "l1") for k in range(4)]
    got = U.classwise_calibration_error(p, y, reduction="none")
    assert np.allclose(got, want, atol=1e-12)
    assert U.classwise_calibration_error(p, y) == pytest.approx(np.mean(want))


def test_reliability_diagram_data() -> None:
    _, p, y = _fixture()
    d = U.reliability_diagram(p, y, 10)
    assert d.edges.tolist() == pytest.approx(np.linspace(0, 1, 11).tolist())
    assert d.count.sum() == len(y)
    conf = p.max(1)
    m = (conf >= 0.6) & (conf < 0.7)
    assert d.count[6] == m.sum()
    assert d.confidence[6] == pytest.approx(conf[m].mean())
    assert d.accuracy[6] == pytest.approx((p.argmax(1) == y)[m].mean())
    assert np.isnan(d.confidence[0])  # no top-label confidence below 1/K = 0.25
    w = d.count / d.count.sum()
    assert np.nansum(w * np.abs(d.gap)) == pytest.approx(U.expected_calibration_error(p, y, 10))


def test_uncertainty_scores_closed_forms() -> None:
    uniform = np.full((2, 4), 0.25)
    assert U.predictive_entropy(uniform) == pytest.approx([np.log(4)] * 2)
    assert U.predictive_entropy(np.array([[1.0, 0.0]])) == pytest.approx([0.0])
    same = np.stack([np.array([[0.7, 0.3], [0.2, 0.8]])] * 5)
    assert U.mutual_information(same) == pytest.approx([0.0, 0.0], abs=1e-12)
    assert U.disagreement(same).tolist() == [0.0, 0.0]
    # two confident members that disagree: MI = log 2
    split = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    assert U.mutual_information(split) == pytest.approx([np.log(2)])
    assert U.disagreement(np.array([[[0.9, 0.1]], [[0.8, 0.2]], [[0.1, 0.9]]])) == pytest.approx([1 / 3])


# ---------------------------------------------------------------- peers


def test_against_torchmetrics() -> None:
    torch = pytest.importorskip("torch")
    F = pytest.importorskip("torchmetrics.functional.classification")
    z, p, y = _fixture()
    pt, yt = torch.tensor(p), torch.tensor(y)
    for norm in ("l1", "l2", "max"):
        want = float(F.multiclass_calibration_error(pt, yt, num_classes=4, n_bins=15, norm=norm))
        assert U.expected_calibration_error(p, y, norm=norm) == pytest.approx(want, abs=1e-6)  # type: ignore[arg-type]
    # (torchmetrics computes in float32: agreement to 1e-6)
    # torchmetrics applies the softmax itself to unbounded scores
    want = float(F.multiclass_calibration_error(torch.tensor(z), yt, num_classes=4, n_bins=10))
    assert U.expected_calibration_error(z, y, 10, from_logits=True) == pytest.approx(want, abs=1e-6)
    # binary: torchmetrics measures the positive class = our classwise entry of class 1
    pb = p[:, 1] / (p[:, 0] + p[:, 1])
    yb = (y == 1).astype(np.int64)
    want = float(F.binary_calibration_error(torch.tensor(pb), torch.tensor(yb), n_bins=15))
    got = U.classwise_calibration_error(pb, yb, reduction="none")
    assert got[1] == pytest.approx(want, abs=1e-6)  # type: ignore[index]


def test_torchmetrics_puts_confidence_one_in_a_bin_of_its_own() -> None:
    """A documented difference: torchmetrics bins with bucketize(right=True), so a
    confidence of exactly 1 lands in an extra bin; here it is in the last bin."""
    torch = pytest.importorskip("torch")
    F = pytest.importorskip("torchmetrics.functional.classification")
    p = np.array([[1.0, 0.0, 0.0], [0.95, 0.05, 0.0]])
    y = np.array([1, 0])  # the confidence-1 row is wrong, the 0.95 row right
    ours = U.expected_calibration_error(p, y, 10)  # one bin: conf 0.975, acc 0.5
    assert ours == pytest.approx(0.475)
    theirs = float(F.multiclass_calibration_error(torch.tensor(p), torch.tensor(y), num_classes=3, n_bins=10))
    assert theirs == pytest.approx(0.5 * 1.0 + 0.5 * 0.05)  # two bins: {1.0} and [0.9, 1)


def test_against_netcal() -> None:
    netcal = pytest.importorskip("netcal.metrics")
    _, p, y = _fixture()
    for b in (10, 15):
        assert U.expected_calibration_error(p, y, b) == pytest.approx(
            netcal.ECE(bins=b).measure(p, y), abs=1e-9
        )
        assert U.maximum_calibration_error(p, y, b) == pytest.approx(
            netcal.MCE(bins=b).measure(p, y), abs=1e-9
        )
        assert U.expected_calibration_error(p, y, b, strategy="quantile") == pytest.approx(
            netcal.ECE(bins=b, equal_intervals=False).measure(p, y), abs=1e-9
        )
    # binary (n,): netcal measures the positive class
    pb = p[:, 1] / (p[:, 0] + p[:, 1])
    yb = (y == 1).astype(np.int64)
    got = U.classwise_calibration_error(pb, yb, reduction="none")
    assert got[1] == pytest.approx(netcal.ECE(bins=15).measure(pb, yb), abs=1e-9)  # type: ignore[index]


# ---------------------------------------------------------------- bad input


def test_bad_inputs_raise_clear_errors() -> None:
    z, p, y = _fixture(n=20)
    with pytest.raises(ValueError, match="look like logits: pass from_logits=True"):
        U.expected_calibration_error(z, y)
    with pytest.raises(ValueError, match=r"rows sum to 1 \(within 0.0001\); 20 row\(s\) do not"):
        U.negative_log_likelihood(p * 0.9, y)
    with pytest.raises(ValueError, match=r"'labels' parameter .* classes in \[0, 3\].*\[4\]"):
        U.brier_score(p, np.where(y == 0, 4, y))
    bad = z.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"'probs' parameter .* finite numbers; row 3"):
        U.expected_calibration_error(bad, y, from_logits=True)
    with pytest.raises(ValueError, match=r"'n_bins' parameter of expected_calibration_error must be an int >= 1. Got 0"):
        U.expected_calibration_error(p, y, 0)
    with pytest.raises(TypeError, match="'n_bins'"):
        U.expected_calibration_error(p, y, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'strategy' parameter .* 'uniform', 'quantile'"):
        U.expected_calibration_error(p, y, strategy="equal")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'normalization' parameter of brier_score"):
        U.brier_score(p, y, normalization="half")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"one class per row \(20\)"):
        U.accuracy(p, y[:5])
    with pytest.raises(ValueError, match="integer class indices"):
        U.accuracy(p, y + 0.5)
    with pytest.raises(ValueError, match=r"shape \(members, n, classes\)"):
        U.mutual_information(p)
