"""The exact NumPy refit of a binary L2 LogisticRegression (assay.valuation._linear) against
scikit-learn's own fits converged to a tight tolerance, and the valuation methods with the
fast path against the same methods with scikit-learn's fits (fast_refit=False)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.linear_model import LogisticRegression, Ridge

from assay.valuation import (
    BetaShapley,
    DataBanzhaf,
    LeaveOneOut,
    ModelUtility,
    TMCShapley,
    leave_one_out,
)
from assay.valuation._linear import BinaryLinearModel, LogisticRefit, recognise


def _data(n: int = 120, d: int = 5, seed: int = 0, n_val: int = 60):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n + n_val, d))
    beta = rng.normal(size=d)
    y = (x @ beta + 0.8 * rng.normal(size=n + n_val) > 0.3).astype(int)
    labels = np.array(["no", "yes"])[y]  # string classes: the positive class is classes_[1]
    return x[:n], labels[:n], x[n:], labels[n:]


def _tight(**kw):
    """scikit-learn's fit, converged far below its default tolerance (the reference)."""
    solver = kw.get("solver", "lbfgs")
    tol = 1e-12 if solver != "lbfgs" else 1e-13
    return LogisticRegression(tol=tol, max_iter=100000, **kw)


SETTINGS = [
    {"solver": "liblinear"},
    {"solver": "liblinear", "C": 0.3, "intercept_scaling": 2.5},
    {"solver": "liblinear", "fit_intercept": False},
    {"solver": "newton-cholesky"},
    {"solver": "newton-cholesky", "C": 7.0, "fit_intercept": False},
    {"solver": "lbfgs", "C": 0.5},
]


@pytest.mark.parametrize("kw", SETTINGS)
@pytest.mark.parametrize("weighted", [False, True])
def test_fit_equals_scikit_learn(kw, weighted):
    x, y, xv, _ = _data()
    rng = np.random.default_rng(1)
    sw = rng.uniform(0.2, 3.0, size=len(y)) if weighted else None
    ref = _tight(**kw).fit(x, y, sample_weight=sw)
    est = LogisticRegression(**kw)  # the default tolerance: the fast path ignores it
    spec = recognise(est, y)
    assert spec is not None
    refit = LogisticRefit(x, y, spec)
    w = refit.solve(np.arange(len(y)), sw)
    model = refit.as_estimator(est, w)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-6, rtol=0)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(model.predict(xv), ref.predict(xv))
    np.testing.assert_allclose(model.predict_proba(xv), ref.predict_proba(xv), atol=1e-7)
    light = refit.as_light(w)
    np.testing.assert_allclose(light.predict_proba(xv), ref.predict_proba(xv), atol=1e-7)
    np.testing.assert_array_equal(light.predict(xv), ref.predict(xv))
    assert light.score(xv, ref.predict(xv)) == 1.0


@pytest.mark.parametrize("kw", SETTINGS)
def test_subsets_warm_started_and_tiny(kw):
    """Subsets in any order, from 2 rows up, warm-started from whatever came before."""
    x, y, _, _ = _data()
    refit = LogisticRefit(x, y, recognise(LogisticRegression(**kw), y))
    rng = np.random.default_rng(2)
    pos, neg = np.flatnonzero(y == "yes"), np.flatnonzero(y == "no")
    subsets = [np.array([pos[0], neg[0]]), np.array([neg[3], pos[2], neg[5]])]
    subsets += [np.sort(rng.choice(len(y), size=s, replace=False)) for s in (10, 100, 40)]
    subsets += [np.delete(np.arange(len(y)), i) for i in (0, 1, 7)]  # leave-one-out steps
    subsets += [np.arange(s) for s in (60, 61, 62)]  # a prefix walk
    for idx in subsets:
        if np.unique(y[idx]).size < 2:
            continue
        ref = _tight(**kw).fit(x[idx], y[idx])
        coef, b = refit.coef_intercept(refit.solve(idx))
        np.testing.assert_allclose(coef, ref.coef_[0], atol=1e-6, rtol=0)
        assert abs(b - float(np.ravel(ref.intercept_)[0])) < 1e-6


def test_solve_many_equals_scikit_learn():
    x, y, _, _ = _data(n=80)
    refit = LogisticRefit(x, y, recognise(LogisticRegression(solver="liblinear"), y))
    masks = np.random.default_rng(3).random((12, len(y))) < 0.5
    ws = refit.solve_many(masks.astype(np.float64))
    for mask, w in zip(masks, ws, strict=True):
        ref = _tight(solver="liblinear").fit(x[mask], y[mask])
        coef, b = refit.coef_intercept(w)
        np.testing.assert_allclose(coef, ref.coef_[0], atol=1e-6, rtol=0)
        assert abs(b - float(np.ravel(ref.intercept_)[0])) < 1e-6


def test_certified_predictions_are_those_of_the_exact_fit():
    x, y, xv, _ = _data(n=150, n_val=200)
    refit = LogisticRefit(x, y, recognise(LogisticRegression(solver="liblinear"), y))
    refit.set_validation(xv)
    assert refit.can_certify
    rng = np.random.default_rng(4)
    for _ in range(10):
        idx = np.sort(rng.choice(len(y), size=90, replace=False))
        w = refit.solve(idx, certify=True)
        ref = _tight(solver="liblinear").fit(x[idx], y[idx])
        np.testing.assert_array_equal(refit.as_light(w).predict(xv), ref.predict(xv))
    assert refit.n_certified > 0
    # an unpenalised intercept is not 1-strongly convex: no certificate, full tolerance
    other = LogisticRefit(x, y, recognise(LogisticRegression(), y))
    assert not other.can_certify


def test_what_is_recognised():
    _, y, _, _ = _data()
    assert recognise(LogisticRegression(), y) is not None
    assert recognise(LogisticRegression(solver="saga"), y) is not None
    y3 = np.arange(len(y)) % 3
    assert recognise(LogisticRegression(), y3) is None  # multiclass: scikit-learn's fit
    assert recognise(LogisticRegression(l1_ratio=1.0, solver="liblinear"), y) is None
    assert recognise(LogisticRegression(class_weight="balanced"), y) is None
    assert recognise(LogisticRegression(C=np.inf), y) is None
    assert recognise(Ridge(), y) is None

    class Sub(LogisticRegression):
        pass

    assert recognise(Sub(), y) is None
    assert isinstance(BinaryLinearModel(np.array([0, 1]), np.zeros(2), 0.0).predict_proba(
        np.zeros((1, 2))), np.ndarray)  # fmt: skip


def test_fast_refit_must_be_a_bool():
    x, y, xv, yv = _data()
    with pytest.raises(TypeError, match="fast_refit"):
        ModelUtility(LogisticRegression(), x, y, xv, yv, fast_refit="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fast_refit"):
        LeaveOneOut(LogisticRegression(), fast_refit=1).fit(x, y, xv, yv)  # type: ignore[arg-type]


def test_utility_single_class_and_empty_subsets_match_scikit_learn_path():
    x, y, xv, yv = _data()
    est = _tight(solver="liblinear")
    fast = ModelUtility(est, x, y, xv, yv, cache=False)
    slow = ModelUtility(est, x, y, xv, yv, cache=False, fast_refit=False)
    assert fast.refit is not None and slow.refit is None
    pos, neg = np.flatnonzero(y == "yes"), np.flatnonzero(y == "no")
    for idx in (np.array([], dtype=np.int64), pos[:1], neg[:4], pos, np.r_[pos[:1], neg[:1]]):
        assert fast(idx) == slow(idx)
    # a custom scoring gets a scikit-learn estimator with the exact coefficients
    def scoring(m, a, b):
        if len(m.classes_) < 2:  # the constant prediction of one class
            return float(m.classes_[0] == "yes")
        return float(m.predict_proba(a)[:, 1].mean())

    f2 = ModelUtility(est, x, y, xv, yv, scoring=scoring, cache=False)
    s2 = ModelUtility(est, x, y, xv, yv, scoring=scoring, cache=False, fast_refit=False)
    idx = np.arange(70)
    assert abs(f2(idx) - s2(idx)) < 1e-7


def test_leave_one_out_equals_retraining_by_hand():
    x, y, xv, yv = _data(n=60, n_val=80)
    est = LogisticRegression(solver="liblinear")
    fast = leave_one_out(est, x, y, xv, yv)

    def acc(idx):  # scikit-learn, tightly converged: the reference
        return float(np.mean(_tight(solver="liblinear").fit(x[idx], y[idx]).predict(xv) == yv))

    everything = np.arange(len(y))
    by_hand = np.array([acc(everything) - acc(np.delete(everything, i)) for i in everything])
    np.testing.assert_array_equal(fast, by_hand)
    slow = leave_one_out(_tight(solver="liblinear"), x, y, xv, yv, fast_refit=False)
    np.testing.assert_array_equal(fast, slow)


@pytest.mark.parametrize(
    "make",
    [
        lambda e, f: TMCShapley(e, n_samples=4, random_state=0, fast_refit=f),
        lambda e, f: BetaShapley(e, n_samples=3, random_state=0, fast_refit=f),
        lambda e, f: DataBanzhaf(e, n_samples=300, random_state=0, fast_refit=f),
    ],
)
def test_sampling_methods_equal_with_the_fast_path_off(make):
    x, y, xv, yv = _data(n=40, n_val=80)
    fast = make(_tight(solver="liblinear"), True).fit(x, y, xv, yv)
    slow = make(_tight(solver="liblinear"), False).fit(x, y, xv, yv)
    np.testing.assert_array_equal(fast.values_, slow.values_)
    np.testing.assert_array_equal(fast.std_error_, slow.std_error_)
    assert fast.n_samples_ == slow.n_samples_


def test_dvrl_rewards_equal_with_the_fast_path_off():
    pytest.importorskip("torch")
    from assay.valuation.dvrl import DVRL

    x, y, xv, yv = _data(n=100, n_val=60)
    kw = {"n_iterations": 15, "batch_size": 60, "random_state": 0}
    fast = DVRL(_tight(), **kw).fit(x, y, xv, yv)
    slow = DVRL(_tight(), fast_refit=False, **kw).fit(x, y, xv, yv)
    assert fast._refit is not None and slow._refit is None
    np.testing.assert_allclose(fast.rewards_, slow.rewards_, atol=1e-6, rtol=0)
    np.testing.assert_allclose(fast.values_, slow.values_, atol=1e-5, rtol=0)
