"""Uses of data values against hand computations, brute force and scikit-learn: discovery
curves, detection scores, point removal, robust learning and domain adaptation."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score
from sklearn.naive_bayes import GaussianNB

from assay.valuation import (
    KNNShapley,
    detection_scores,
    discovery_curve,
    domain_adaptation,
    knn_shapley,
    point_removal,
    robust_fit,
    selection_weights,
)


def _noisy(seed: int = 0, n: int = 120, flip: float = 0.2):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    bad = rng.random(n) < flip
    y_noisy = np.where(bad, 1 - y, y)
    xv = rng.normal(size=(60, 2))
    yv = (xv[:, 0] + 0.5 * xv[:, 1] > 0).astype(int)
    return x, y_noisy, xv, yv, bad


def test_discovery_curve_by_hand():
    values = np.array([0.1, 0.5, -1.0, 0.3])
    c = discovery_curve(values, [2, 0], fractions=[0, 0.25, 0.5, 0.75, 1.0])
    # lowest first: rows 2, 0, 3, 1
    np.testing.assert_allclose(c.found, [0, 0.5, 1, 1, 1])
    np.testing.assert_allclose(c.optimal, [0, 0.5, 1, 1, 1])
    np.testing.assert_allclose(c.random, [0, 0.25, 0.5, 0.75, 1.0])
    assert c.n_corrupted == 2 and c.n_rows == 4
    # the same with a boolean mask, and ties broken by row order
    tied = discovery_curve(np.zeros(4), np.array([False, False, True, True]), [0.5, 1.0])
    np.testing.assert_allclose(tied.found, [0.0, 1.0])


def test_discovery_curve_against_brute_force():
    rng = np.random.default_rng(3)
    v = np.round(rng.normal(size=97), 1)  # with ties
    bad = rng.random(97) < 0.3
    fr = np.linspace(0, 1, 21)
    c = discovery_curve(v, bad, fr)
    ranked = sorted(range(97), key=lambda i: (v[i], i))
    for f, got in zip(fr, c.found, strict=True):
        m = int(np.floor(f * 97 + 0.5 + 1e-9))
        assert got == pytest.approx(sum(bad[i] for i in ranked[:m]) / bad.sum(), abs=1e-15)


def test_detection_scores_against_sklearn():
    rng = np.random.default_rng(4)
    v = np.round(rng.normal(size=200), 1)
    bad = rng.random(200) < 0.25
    v[bad] -= 0.7  # corrupted rows tend to be low
    for fraction in (None, 0.1, 0.4):
        d = detection_scores(v, bad, fraction)
        m = int(bad.sum()) if fraction is None else round(fraction * 200)
        flagged = np.zeros(200, bool)
        flagged[sorted(range(200), key=lambda i: (v[i], i))[:m]] = True
        p, r, f, _ = precision_recall_fscore_support(bad, flagged, average="binary")
        assert (d["precision"], d["recall"], d["f1"]) == pytest.approx((p, r, f), abs=1e-12)
        assert d["n_flagged"] == m
    assert d["auroc"] == pytest.approx(roc_auc_score(bad, -v), abs=1e-12)
    assert d["auroc"] > 0.6  # sign: low values = corrupted
    d = detection_scores(v, bad)
    assert d["precision"] == d["recall"] == d["f1"]


def test_point_removal_equals_retraining_by_hand():
    x, y, xv, yv, _bad = _noisy(1)
    xs, ys = xv[:30], yv[:30]
    values = knn_shapley(x, y, xv, yv, k=5)
    fr = [0.0, 0.1, 0.3]
    est = LogisticRegression()
    curve = point_removal(est, x, y, xs, ys, values, fractions=fr, orders=("lowest", "highest"))
    ranked = sorted(range(len(y)), key=lambda i: (values[i], i))
    ranked_desc = sorted(range(len(y)), key=lambda i: (-values[i], i))
    for j, f in enumerate(fr):
        m = round(f * len(y))
        for order, ranking in (("lowest", ranked), ("highest", ranked_desc)):
            keep = sorted(ranking[m:])
            acc = LogisticRegression().fit(x[keep], y[keep]).score(xs, ys)
            assert curve.scores[order][j] == pytest.approx(acc, abs=1e-12)
    # removing the lowest-valued rows (mostly flipped labels) helps more than the highest
    full = point_removal(est, x, y, xv, yv, values, orders=("lowest", "highest", "random"),
                         n_random=2, random_state=0)
    assert full.scores["lowest"][-1] > full.scores["highest"][-1]
    assert set(full.scores) == {"lowest", "highest", "random"}
    again = point_removal(est, x, y, xv, yv, values, orders=("random",), n_random=2, random_state=0)
    np.testing.assert_array_equal(again.scores["random"], full.scores["random"])


def test_robust_fit_equals_weighted_and_selected_fits():
    x, y, xv, yv, bad = _noisy(2)
    values = knn_shapley(x, y, xv, yv, k=5)
    w = robust_fit(LogisticRegression(), x, y, values)
    clipped = np.clip(values, 0, None)
    ref = LogisticRegression().fit(x, y, sample_weight=clipped / clipped.mean())
    np.testing.assert_allclose(w.coef_, ref.coef_, rtol=1e-10)
    raw = robust_fit(LogisticRegression(), x, y, values, normalize=False)
    ref = LogisticRegression().fit(x, y, sample_weight=clipped)
    np.testing.assert_allclose(raw.coef_, ref.coef_, rtol=1e-10)
    s = robust_fit(LogisticRegression(), x, y, values, mode="select", keep_fraction=0.75)
    keep = sorted(sorted(range(len(y)), key=lambda i: (-values[i], i))[:90])
    ref = LogisticRegression().fit(x[keep], y[keep])
    np.testing.assert_allclose(s.coef_, ref.coef_, rtol=1e-10)
    t = selection_weights(values, mode="select", threshold=0.0)
    np.testing.assert_array_equal(t, (values > 0).astype(float))
    # the flipped rows get less weight (symmetric noise barely moves a linear model here,
    # so the test checks the weights, not an accuracy gain)
    weights = selection_weights(values)
    assert weights[bad].mean() < 0.5 * weights[~bad].mean()
    assert weights.mean() == pytest.approx(1.0)


def test_domain_adaptation_against_hand_computation():
    rng = np.random.default_rng(5)
    # source: two regions with opposite labelling rules; the target follows region A's rule
    xa = rng.normal(loc=(-2, 0), size=(80, 2))
    xb = rng.normal(loc=(2, 0), size=(80, 2))
    xs = np.vstack([xa, xb])
    ys = np.concatenate([(xa[:, 1] > 0), (xb[:, 1] < 0)]).astype(int)
    xt = rng.normal(loc=(0, 0), size=(140, 2))
    yt = (xt[:, 1] > 0).astype(int)
    res = domain_adaptation(KNNShapley(k=5), GaussianNB(), xs, ys, xt[:60], yt[:60],
                            xt[60:], yt[60:])  # fmt: skip
    values = knn_shapley(xs, ys, xt[:60], yt[:60], k=5)
    np.testing.assert_allclose(res.values, values, atol=1e-15)
    assert res.baseline_score == pytest.approx(GaussianNB().fit(xs, ys).score(xt[60:], yt[60:]))
    clipped = np.clip(values, 0, None)
    adapted = GaussianNB().fit(xs, ys, sample_weight=clipped / clipped.mean())
    assert res.adapted_score == pytest.approx(adapted.score(xt[60:], yt[60:]))
    assert res.gain > 0.1 and res.method == "KNN-Shapley"


def test_bad_input_messages():
    v = np.array([0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="'is_corrupted' parameter of discovery_curve must mark at least one"):
        discovery_curve(v, [False, False, False])
    with pytest.raises(ValueError, match="'values' parameter of detection_scores must be finite"):
        detection_scores([0.1, np.nan, 0.2], [0])
    with pytest.raises(ValueError, match=r"'fractions' parameter of discovery_curve must be .* \[0, 1\]"):
        discovery_curve(v, [0], fractions=[0.5, 1.5])
    with pytest.raises(ValueError, match="row indices outside"):
        discovery_curve(v, [5])
    with pytest.raises(ValueError, match="'fraction' parameter of detection_scores"):
        detection_scores(v, [0], fraction=0)
    x, y, xv, yv, _ = _noisy(0, n=20)
    with pytest.raises(ValueError, match=r"'values' parameter of point_removal must have one value per training row \(20\)"):
        point_removal(LogisticRegression(), x, y, xv, yv, v)
    with pytest.raises(ValueError, match=r"'fractions' parameter of point_removal .* \[0, 1\)"):
        point_removal(LogisticRegression(), x, y, xv, yv, np.ones(20), fractions=[1.0])
    with pytest.raises(ValueError, match="'orders' parameter of point_removal must be one of"):
        point_removal(LogisticRegression(), x, y, xv, yv, np.ones(20), orders=("worst",))
    with pytest.raises(ValueError, match="at least one positive value"):
        selection_weights(-np.ones(3))
    with pytest.raises(ValueError, match="'mode' parameter of selection_weights"):
        selection_weights(v, mode="drop")
    with pytest.raises(TypeError, match="'estimator' parameter of robust_fit must be clonable"):
        robust_fit(object.__new__(type("NoParams", (), {"fit": lambda self, x, y: self})), x, y,
                   np.ones(20))  # fmt: skip
    with pytest.raises(TypeError, match="'valuer' parameter of domain_adaptation"):
        domain_adaptation(None, LogisticRegression(), x, y, xv, yv, xv, yv)


def test_model_utility_and_point_removal_with_a_regressor():
    """A regressor's utility is its R^2 (model.score); the empty set scores the constant
    prediction of the mean training target, computed here with sklearn's r2_score."""
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score

    from assay.valuation import ModelUtility

    rng = np.random.default_rng(3)
    x, xv = rng.normal(size=(40, 3)), rng.normal(size=(15, 3))
    y, yv = x @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=40), xv @ [1.0, -2.0, 0.5]
    util = ModelUtility(Ridge(), x, y, xv, yv)
    assert util([]) == pytest.approx(r2_score(yv, np.full(15, y.mean())))
    idx = np.arange(0, 40, 2)
    assert util(idx) == pytest.approx(r2_score(yv, Ridge().fit(x[idx], y[idx]).predict(xv)))
    rc = point_removal(Ridge(), x, y, xv, yv, np.arange(40.0), fractions=[0.0, 0.5])
    want = r2_score(yv, Ridge().fit(x[20:], y[20:]).predict(xv))
    assert rc.scores["lowest"][1] == pytest.approx(want)
