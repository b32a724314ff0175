"""Exact KNN-Shapley against Shapley values by enumeration, OpenDataVal, and errors;
leave-one-out against retraining by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from assay.valuation import KNNShapley, LeaveOneOut, knn_shapley, leave_one_out


def _utility(xt, yt, xv, yv, k, subset):
    """Jia et al.'s KNN utility, written out point by point (the brute-force reference)."""
    if not subset:
        return 0.0
    total = 0.0
    for x, y in zip(xv, yv, strict=True):
        dist = sorted((math.dist(x, xt[i]), i) for i in subset)
        total += sum(yt[i] == y for _, i in dist[:k]) / k
    return total / len(xv)


def _shapley_by_permutations(xt, yt, xv, yv, k):
    n = len(xt)
    phi = np.zeros(n)
    cache = {}

    def u(s):
        key = frozenset(s)
        if key not in cache:
            cache[key] = _utility(xt, yt, xv, yv, k, sorted(key))
        return cache[key]

    perms = list(itertools.permutations(range(n)))
    for p in perms:
        prefix: list[int] = []
        for i in p:
            before = u(prefix)
            prefix.append(i)
            phi[i] += u(prefix) - before
    return phi / len(perms)


@pytest.mark.parametrize(("n", "k", "seed"), [(6, 1, 0), (6, 3, 1), (7, 2, 2), (5, 5, 3)])
def test_equals_shapley_by_enumerating_permutations(n, k, seed):
    rng = np.random.default_rng(seed)
    xt = rng.normal(size=(n, 2))
    yt = rng.integers(0, 3, n)
    yt[:3] = [0, 1, 2]
    xv = rng.normal(size=(4, 2))
    yv = rng.integers(0, 3, 4)
    exact = _shapley_by_permutations(xt, yt, xv, yv, k)
    got = knn_shapley(xt, yt, xv, yv, k=k)
    np.testing.assert_allclose(got, exact, rtol=0, atol=1e-12)
    # efficiency: the values sum to U(full) - U(empty) = U(full)
    assert got.sum() == pytest.approx(_utility(xt, yt, xv, yv, k, list(range(n))), abs=1e-12)


def test_blocks_threads_and_string_labels_give_the_same_values():
    rng = np.random.default_rng(5)
    xt, xv = rng.normal(size=(300, 4)), rng.normal(size=(70, 4))
    yt, yv = rng.integers(0, 2, 300), rng.integers(0, 2, 70)
    ref = knn_shapley(xt, yt, xv, yv, k=7)
    names = np.array(["no", "yes"])
    one = knn_shapley(xt, names[yt], xv, names[yv], k=7, block_rows=1, n_jobs=2)
    np.testing.assert_allclose(one, ref, rtol=0, atol=1e-13)
    # efficiency on a larger set, against the KNN accuracy share computed with sklearn
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=7).fit(xt)
    _, idx = nn.kneighbors(xv)
    assert ref.sum() == pytest.approx(np.mean(yt[idx] == yv[:, None]), abs=1e-12)
    est = KNNShapley(k=7).fit(xt, yt, xv, yv)
    np.testing.assert_array_equal(est.values_, ref)
    assert est.fit_time_ >= 0


def test_matches_opendataval(odv_knn_shapley):
    rng = np.random.default_rng(11)
    xt = rng.normal(size=(200, 5))
    yt = (xt[:, 0] + 0.5 * rng.normal(size=200) > 0).astype(int)
    xv = rng.normal(size=(60, 5))
    yv = (xv[:, 0] > 0).astype(int)
    ours = knn_shapley(xt, yt, xv, yv, k=10)
    theirs = odv_knn_shapley(xt, yt, xv, yv, 10)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)  # they work in float32


def test_bad_inputs_are_named():
    rng = np.random.default_rng(0)
    xt, yt = rng.normal(size=(10, 2)), np.array([0, 1] * 5)
    xv, yv = rng.normal(size=(3, 2)), np.array([0, 1, 2])
    with pytest.raises(ValueError, match=r"'y_val' .* absent from 'y_train': 2"):
        knn_shapley(xt, yt, xv, yv)
    with pytest.raises(ValueError, match=r"'k' parameter of knn_shapley must be at most .* \(10\)"):
        knn_shapley(xt, yt, xv, [0, 1, 0], k=11)
    with pytest.raises(TypeError, match="'k' parameter of knn_shapley must be an int"):
        knn_shapley(xt, yt, xv, [0, 1, 0], k=2.5)
    dup = xt.copy()
    dup[7] = dup[2]
    with pytest.raises(ValueError, match=r"'x_train' .* 1 duplicated row\(s\) \(first at row 7\)"):
        knn_shapley(dup, yt, xv, [0, 1, 0])
    assert knn_shapley(dup, yt, xv, [0, 1, 0], duplicates="allow").shape == (10,)
    nan = xt.copy()
    nan[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"'x_train' .* must be finite.* first at row 4"):
        knn_shapley(nan, yt, xv, [0, 1, 0])
    with pytest.raises(ValueError, match=r"'x_val' .* as many features as 'x_train' \(2\)"):
        knn_shapley(xt, yt, xv[:, :1], [0, 1, 0])
    with pytest.raises(ValueError, match=r"'y_train' .* one label per row \(10\)\. Got 9"):
        knn_shapley(xt, yt[:9], xv, [0, 1, 0])


def test_leave_one_out_against_retraining_by_hand():
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    xt = rng.normal(size=(25, 3))
    yt = (xt[:, 0] + 0.8 * rng.normal(size=25) > 0).astype(int)
    xv = rng.normal(size=(40, 3))
    yv = (xv[:, 0] > 0).astype(int)
    model = LogisticRegression(C=0.5)
    full = clone(model).fit(xt, yt).score(xv, yv)
    by_hand = []
    for i in range(25):
        keep = np.arange(25) != i
        by_hand.append(full - clone(model).fit(xt[keep], yt[keep]).score(xv, yv))
    np.testing.assert_allclose(leave_one_out(model, xt, yt, xv, yv), by_hand, atol=1e-15)
    # a custom scorer (log loss, larger = better after the sign)
    from sklearn.metrics import log_loss

    def neg_ll(m, x, y):
        return -log_loss(y, m.predict_proba(x), labels=[0, 1])

    def loo_by_hand(m):
        f = neg_ll(clone(m).fit(xt, yt), xv, yv)
        return [f - neg_ll(clone(m).fit(np.delete(xt, i, 0), np.delete(yt, i)), xv, yv)
                for i in range(25)]

    # scikit-learn's fits (fast_refit=False) equal the loop over the same fits
    got = LeaveOneOut(model, scoring=neg_ll, fast_refit=False).fit(xt, yt, xv, yv).values_
    np.testing.assert_allclose(got, loo_by_hand(model), atol=1e-12)
    # the exact refit (default) equals the loop over scikit-learn's fits converged far below
    # the default tol=1e-4 (whose own error in the log loss is ~1e-5 here)
    got = LeaveOneOut(model, scoring=neg_ll).fit(xt, yt, xv, yv).values_
    tight = LogisticRegression(C=0.5, tol=1e-13, max_iter=100000)
    np.testing.assert_allclose(got, loo_by_hand(tight), atol=1e-9)


def test_leave_one_out_refuses_an_estimator_that_cannot_be_cloned():
    class NoParams:
        def fit(self, x, y):
            return self

    class Broken(NoParams):
        def get_params(self, deep=True):
            raise RuntimeError("no params")

    xt, yt = np.eye(4), np.array([0, 1, 0, 1])
    with pytest.raises(TypeError, match="'estimator' parameter of leave_one_out must be clonable"):
        leave_one_out(Broken(), xt, yt, xt, yt)
    with pytest.raises(TypeError, match=r"'estimator' .* scikit-learn estimator with fit"):
        leave_one_out(object(), xt, yt, xt, yt)


@pytest.mark.parametrize("kind", ["normal", "integers", "tiny", "near_ties", "negative"])
def test_packed_key_sort_equals_numpy_stable_argsort(kind):
    """The order behind knn_shapley (packed integer keys, tie runs re-sorted) is exactly
    NumPy's stable argsort of the same distances, ties and near-ties included."""
    from assay.valuation.knn import _stable_order

    rng = np.random.default_rng(["normal", "integers", "tiny", "near_ties", "negative"].index(kind))
    for _ in range(20):
        b, n = int(rng.integers(1, 6)), int(rng.integers(2, 3000))
        if kind == "normal":
            d = rng.normal(size=(b, n)) ** 2
        elif kind == "integers":  # many exact ties
            d = rng.integers(0, 6, size=(b, n)).astype(float)
        elif kind == "tiny":  # subnormal and tiny numbers
            d = rng.integers(0, 50, size=(b, n)) * 1e-310
        elif kind == "near_ties":  # pairs a few ulps apart: equal in the truncated key
            d = rng.uniform(1, 2, size=(b, n))
            d[:, 1::2] = d[:, ::2][:, : n // 2] * (1 + rng.integers(-3, 4, (b, n // 2)) * 2.0**-51)
        else:  # rounding can make a computed squared distance slightly negative
            d = rng.normal(size=(b, n)) * 1e-12
            d[:, ::7] = 0.0
        np.testing.assert_array_equal(_stable_order(d), np.argsort(d, axis=1, kind="stable"))


def test_equals_plain_recursion_on_ties_and_large_k():
    """knn_shapley against the recursion of Jia et al. written as a loop over ranks, with a
    stable argsort of exact squared distances (integer grid: exact ties everywhere)."""
    rng = np.random.default_rng(21)
    xt = rng.integers(0, 4, size=(400, 2)).astype(float)
    xv = rng.integers(0, 4, size=(30, 2)).astype(float)
    yt, yv = rng.integers(0, 3, 400), rng.integers(0, 3, 30)
    yt[:3] = [0, 1, 2]
    for k in (1, 4, 37):
        ref = np.zeros(400)
        for x, y in zip(xv, yv, strict=True):
            order = np.argsort(((xt - x) ** 2).sum(1), kind="stable")
            m = (yt[order] == y).astype(float)
            s = np.zeros(400)
            s[-1] = m[-1] / 400
            for i in range(398, -1, -1):  # 0-based rank i is rank i + 1
                s[i] = s[i + 1] + (m[i] - m[i + 1]) / k * min(k, i + 1) / (i + 1)
            ref[order] += s
        got = knn_shapley(xt, yt, xv, yv, k=k, duplicates="allow", block_rows=7)
        np.testing.assert_allclose(got, ref / 30, rtol=0, atol=1e-13)


def _regression_utility(xt, yt, xv, yv, k, subset):
    """Jia et al.'s KNN regression utility, point by point: -(sum of the k nearest labels / k
    - y)^2 (fewer than k members: their sum / k; the empty set: -y^2)."""
    total = 0.0
    for x, y in zip(xv, yv, strict=True):
        dist = sorted((math.dist(x, xt[i]), i) for i in subset)
        total -= (sum(yt[i] for _, i in dist[:k]) / k - y) ** 2
    return total / len(xv)


@pytest.mark.parametrize(("n", "k", "seed"), [(5, 1, 0), (6, 2, 1), (6, 3, 2), (7, 4, 3), (6, 6, 4)])
def test_regression_equals_shapley_by_enumerating_permutations(n, k, seed):
    from assay.valuation import knn_shapley_regression

    rng = np.random.default_rng(seed)
    xt, xv = rng.normal(size=(n, 2)), rng.normal(size=(3, 2))
    yt, yv = 2 * rng.normal(size=n) + 1, rng.normal(size=3)
    phi = np.zeros(n)
    cache: dict[frozenset[int], float] = {}

    def u(s):
        key = frozenset(s)
        if key not in cache:
            cache[key] = _regression_utility(xt, yt, xv, yv, k, sorted(key))
        return cache[key]

    perms = list(itertools.permutations(range(n)))
    for p in perms:
        for j, i in enumerate(p):
            phi[i] += u(p[: j + 1]) - u(p[:j])
    phi /= len(perms)
    got = knn_shapley_regression(xt, yt, xv, yv, k=k)
    np.testing.assert_allclose(got, phi, rtol=1e-12, atol=1e-12)


def test_regression_efficiency_blocks_and_errors():
    from sklearn.neighbors import KNeighborsRegressor

    from assay.valuation import KNNRegressionShapley, knn_shapley_regression

    rng = np.random.default_rng(9)
    xt, xv = rng.normal(size=(400, 3)), rng.normal(size=(50, 3))
    yt, yv = xt[:, 0] + rng.normal(size=400), xv[:, 0]
    v = knn_shapley_regression(xt, yt, xv, yv, k=6)
    # efficiency: U(full) - U(empty) with U(full) from scikit-learn's KNN regressor
    pred = KNeighborsRegressor(n_neighbors=6).fit(xt, yt).predict(xv)
    assert v.sum() == pytest.approx(np.mean(-((pred - yv) ** 2) + yv**2), abs=1e-10)
    w = knn_shapley_regression(xt, yt, xv, yv, k=6, block_rows=3, n_jobs=2)
    np.testing.assert_allclose(w, v, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(KNNRegressionShapley(k=6).fit(xt, yt, xv, yv).values_, v)
    with pytest.raises(TypeError, match="'y_train' parameter of knn_shapley_regression must be numeric"):
        knn_shapley_regression(xt, np.array(["a"] * 400), xv, yv)
    with pytest.raises(ValueError, match="'k' parameter of knn_shapley_regression must be at most"):
        knn_shapley_regression(xt[:5], yt[:5], xv, yv, k=6)
