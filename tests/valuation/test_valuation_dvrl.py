"""DVRL on a tiny separable fixture with flipped labels: corrupted rows get lower values;
seeded runs repeat; the architecture and errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")


def _noisy(seed=0, n=200, flip=0.25):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 4)) + 2.0 * (2 * y[:, None] - 1) * np.array([1.0, 0.5, 0, 0])
    flipped = rng.random(n) < flip
    y_noisy = np.where(flipped, 1 - y, y)
    yv = rng.integers(0, 2, 100)
    xv = rng.normal(size=(100, 4)) + 2.0 * (2 * yv[:, None] - 1) * np.array([1.0, 0.5, 0, 0])
    return x, y_noisy, xv, yv, flipped


def test_corrupted_rows_get_lower_values():
    from sklearn.metrics import roc_auc_score

    from assay.valuation import DVRL

    x, y, xv, yv, flipped = _noisy()
    est = DVRL(n_iterations=150, batch_size=200, metric="log_loss", random_state=0).fit(x, y, xv, yv)
    v = est.values_
    assert v.shape == (200,)
    assert np.all((v >= 0) & (v <= 1))
    assert v[flipped].mean() < v[~flipped].mean() - 0.1
    # low values find the flipped rows far better than chance
    assert roc_auc_score(flipped, -v) > 0.8
    assert est.convergence_["n_iterations"] == 150
    assert 0.1 <= est.convergence_["mean_selection_probability_last_tenth"] <= 0.9 + 1e-6


def test_seeded_runs_repeat_and_seeds_differ():
    from assay.valuation import DVRL

    x, y, xv, yv, _ = _noisy(1, n=80)
    a = DVRL(n_iterations=10, random_state=3).fit(x, y, xv, yv).values_
    b = DVRL(n_iterations=10, random_state=3).fit(x, y, xv, yv).values_
    c = DVRL(n_iterations=10, random_state=4).fit(x, y, xv, yv).values_
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_a_torch_predictor_works_and_fits_with_weights():
    from assay.valuation import DVRL, TorchClassifier

    x, y, xv, yv, flipped = _noisy(2, n=120)
    clf = TorchClassifier(lambda d, k: torch.nn.Linear(d, k), epochs=5, batch_size=64)
    est = DVRL(clf, n_iterations=30, metric="accuracy", random_state=0).fit(x, y, xv, yv)
    assert est.values_.shape == (120,)
    # the wrapper's weighted fit ignores rows of weight 0: same model as fitting without them
    w = (~flipped).astype(float)
    m1 = TorchClassifier(lambda d, k: torch.nn.Linear(d, k), epochs=3, batch_size=1000).fit(
        x, y, sample_weight=w)
    m2 = TorchClassifier(lambda d, k: torch.nn.Linear(d, k), epochs=3, batch_size=1000).fit(
        x[~flipped], y[~flipped])
    np.testing.assert_allclose(m1.predict_proba(xv), m2.predict_proba(xv), atol=1e-5)


def test_value_estimator_shapes():
    from assay.valuation import ValueEstimator

    est = ValueEstimator(6, 2, hidden=8, comb=3, layers=5)
    linear = [m for m in est.modules() if isinstance(m, torch.nn.Linear)]
    # layers - 2 hidden layers in the body (the last of comb units), then comb + output
    assert [m.out_features for m in linear] == [8, 8, 8, 3, 3, 1]
    assert linear[4].in_features == 3 + 2
    out = est(torch.zeros(5, 6), torch.zeros(5, 2))
    assert out.shape == (5,)


def test_bad_arguments_are_named():
    from assay.valuation import DVRL

    x, y, xv, yv, _ = _noisy(3, n=40)
    with pytest.raises(ValueError, match=r"'metric' parameter of DVRL must be one of"):
        DVRL(metric="f1", n_iterations=1).fit(x, y, xv, yv)
    with pytest.raises(ValueError, match=r"'threshold' parameter of DVRL must be in \[0.5, 1\)"):
        DVRL(threshold=0.2, n_iterations=1).fit(x, y, xv, yv)
    with pytest.raises(ValueError, match=r"'y_val' .* absent from 'y_train': 7"):
        DVRL(n_iterations=1).fit(x, y, xv, np.where(yv == 1, 7, 0))


def test_regression_corrupted_targets_get_lower_values():
    """DVRL with a regressor: rows whose targets were replaced by noise get lower values;
    the reward is the negated validation MSE (checked against scikit-learn's)."""
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import mean_squared_error, roc_auc_score

    from assay.valuation import DVRL

    rng = np.random.default_rng(4)
    w = np.array([1.5, -1.0, 0.5, 0.0])
    x, xv = rng.normal(size=(300, 4)), rng.normal(size=(100, 4))
    y, yv = x @ w + 0.1 * rng.normal(size=300), xv @ w
    bad = rng.random(300) < 0.25
    y = np.where(bad, rng.uniform(-6, 6, 300), y)
    est = DVRL(LinearRegression(), n_iterations=150, batch_size=300, random_state=0).fit(x, y, xv, yv)
    assert est.regression_ and est.values_.shape == (300,)
    assert roc_auc_score(bad, -est.values_) > 0.8
    full = LinearRegression().fit(x, y)
    # the starting baseline is the full-data model's reward: -MSE on the validation set
    first = DVRL(LinearRegression(), n_iterations=1, batch_size=300, baseline_window=1,
                 random_state=0).fit(x, y, xv, yv)
    assert first.rewards_[0] + -mean_squared_error(yv, full.predict(xv)) == pytest.approx(
        first.baseline_, abs=1e-9)
    with pytest.raises(TypeError, match="'y_train' parameter of DVRL must be numeric"):
        DVRL(LinearRegression()).fit(x, np.array(["a"] * 300), xv, yv)
