"""The regression metric family (task="regression"), against scikit-learn and an explicit
leave-one-bucket-out jackknife, on random data and on UCI BlogFeedback."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

import assay
from assay.core import catalogue
from assay.core.replicates import row_hashes

REG_METRICS = ("mean_squared_error", "root_mean_squared_error", "mean_absolute_error", "r2",
               "mean_label", "mean_prediction")  # fmt: skip


def _reference(y, p, w, name):
    if name == "mean_squared_error":
        return mean_squared_error(y, p, sample_weight=w)
    if name == "root_mean_squared_error":
        return float(np.sqrt(mean_squared_error(y, p, sample_weight=w)))
    if name == "mean_absolute_error":
        return mean_absolute_error(y, p, sample_weight=w)
    if name == "r2":
        return r2_score(y, p, sample_weight=w)
    if name == "mean_label":
        return np.average(y, weights=w)
    return np.average(p, weights=w)


def _data(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], n)
    y = rng.normal(10 + (g == "b") * 3, 2 + (g == "c"), n)
    p = y + rng.normal(0.5 * (g == "a"), 1.5, n)
    w = rng.uniform(0.5, 2.0, n)
    return {"y": y, "p": p, "g": g, "w": w, "k": np.arange(n) * 3 + 1}


@pytest.mark.parametrize("weighted", [False, True])
def test_regression_metrics_match_sklearn_per_slice(weighted):
    d = _data()
    r = assay.evaluate(d, label="y", scores="p", slices="g", task="regression",
                       weight="w" if weighted else None)  # fmt: skip
    assert r.config["task"] == "regression"
    assert r.thresholds == []
    assert set(REG_METRICS) <= set(r.metrics)
    assert not {"fpr", "roc_auc", "ece"} & set(r.metrics)
    g = np.asarray(d["g"])
    w = d["w"] if weighted else np.ones(len(g))
    for name, mask in [("overall", np.ones(len(g), bool))] + [(f"g={v}", g == v) for v in "abc"]:
        for m in REG_METRICS:
            got = r.value(m, slice=name)
            want = _reference(d["y"][mask], d["p"][mask], w[mask], m)
            assert got.value == pytest.approx(want, rel=1e-10), (name, m)
    # a gap against the baseline is value minus baseline value
    v = r.value("mean_absolute_error", slice="g=a")
    base = r.value("mean_absolute_error", slice="overall")
    assert v.diff == pytest.approx(v.value - base.value, rel=1e-12)


def test_regression_jackknife_interval_equals_explicit_leave_one_bucket_out():
    d = _data(3000, seed=1)
    r = assay.evaluate(d, label="y", scores="p", slices="g", task="regression", row_key="k",
                       seed=5, confidence=0.9)  # fmt: skip
    bucket = (row_hashes(d["k"], 5) % np.uint64(20)).astype(int)
    crit = stats.t.ppf(0.95, 19)
    g = np.asarray(d["g"])
    ones = np.ones(len(g))
    for name, mask in [("overall", np.ones(len(g), bool)), ("g=b", g == "b")]:
        for m in REG_METRICS:
            def fn(sel, m=m):
                return _reference(d["y"][sel], d["p"][sel], ones[sel], m)

            reps = np.array([fn(mask & (bucket != b)) for b in range(20)])
            se = np.sqrt(19 / 20 * np.sum((reps - reps.mean()) ** 2))
            full = fn(mask)
            got = r.value(m, slice=name)
            info = catalogue.metric(m)
            assert info is not None
            lo, hi = info.bounds("regression")
            assert got.lower == pytest.approx(np.clip(full - crit * se, lo, hi), rel=1e-8), m
            assert got.upper == pytest.approx(np.clip(full + crit * se, lo, hi), rel=1e-8), m


def test_regression_r2_is_nan_for_constant_labels_and_catches_a_bad_model():
    d = {"y": np.array([3.0, 3.0, 3.0, 1.0, 2.0, 3.0]), "p": np.array([3.0, 2.0, 4.0, 3.0, 2.0, 1.0]),
         "g": np.array(["x", "x", "x", "z", "z", "z"])}  # fmt: skip
    r = assay.evaluate(d, label="y", scores="p", slices="g", task="regression", ci=None)
    assert np.isnan(r.value("r2", slice="g=x").value)  # SST = 0
    assert r.value("r2", slice="g=z").value == pytest.approx(r2_score([1, 2, 3], [3, 2, 1]))
    assert r.value("r2", slice="g=z").value == pytest.approx(-3.0)


def test_regression_bad_input_messages():
    d = _data(50)
    with pytest.raises(ValueError, match=r"The 'task' parameter of evaluate must be one of"):
        assay.evaluate(d, label="y", scores="p", task="ranking")
    with pytest.raises(ValueError, match=r"'thresholds' parameter of evaluate must be None for "
                                         r"task='regression'"):  # fmt: skip
        assay.evaluate(d, label="y", scores="p", task="regression", thresholds=[0.5])
    with pytest.raises(ValueError, match=r"'classes' parameter of evaluate must be None"):
        assay.evaluate(d, label="y", scores="p", task="regression", classes=[0, 1])
    with pytest.raises(TypeError, match=r"label column 'g' must hold numbers for task='regression'"):
        assay.evaluate(d, label="g", scores="p", task="regression")
    bad = dict(d, y=np.where(np.arange(50) == 7, np.nan, d["y"]))
    with pytest.raises(ValueError, match=r"missing or non-finite label .*first at row 7"):
        assay.evaluate(bad, label="y", scores="p", task="regression")
    r = assay.evaluate(bad, label="y", scores="p", task="regression", on_invalid="drop")
    assert r.n_dropped == 1 and r.n_rows == 49


def test_regression_result_round_trips_through_json(tmp_path: Path):
    r = assay.evaluate(_data(500), label="y", scores="p", slices="g", task="regression")
    r.to_json(tmp_path / "r.json")
    back = assay.EvalResult.from_json(tmp_path / "r.json")
    assert back.config["task"] == "regression"
    assert back.value("r2", slice="g=a").value == pytest.approx(r.value("r2", slice="g=a").value)
    assert "r2" in r.to_dict()["catalogue"]
    assert "r2" in r.format_table()


_HOME = Path(os.environ.get("ASSAY_DATA_HOME", "~/assay_data")).expanduser()


@pytest.mark.skipif(not (_HOME / "blog_feedback" / "BlogFeedback.zip").exists(),
                    reason="BlogFeedback not in the data home")  # fmt: skip
def test_blog_feedback_regression_by_weekday_matches_sklearn():
    from sklearn.linear_model import Ridge

    from assay.datasets import load_blog_feedback

    train, test = load_blog_feedback("train"), load_blog_feedback("test")
    assert (train.num_rows, test.num_rows) == (52397, 7624)
    features = [c for c in train.column_names if c not in ("target", "basetime_weekday",
                                                            "published_weekday")]  # fmt: skip
    x_tr = np.column_stack([train.column(c).to_numpy() for c in features])
    x_te = np.column_stack([test.column(c).to_numpy() for c in features])
    y_tr, y_te = np.log1p(train.column("target").to_numpy()), np.log1p(test.column("target").to_numpy())
    pred = Ridge(alpha=10.0).fit(x_tr, y_tr).predict(x_te)
    day = np.asarray(test.column("basetime_weekday").to_pylist(), dtype=object)
    table = {"log_comments": y_te, "pred": pred, "weekday": day}
    r = assay.evaluate(table, label="log_comments", scores="pred", slices="weekday",
                       task="regression")  # fmt: skip
    overall = r.value("r2")
    assert 0.3 < overall.value < 0.9  # a real, useful model
    assert overall.lower < overall.value < overall.upper
    for v in sorted(set(day)):
        m = day == v
        for name in REG_METRICS:
            got = r.value(name, slice=f"weekday={v}").value
            assert got == pytest.approx(_reference(y_te[m], pred[m], np.ones(m.sum()), name),
                                        rel=1e-9), (v, name)  # fmt: skip
