"""ValuationResult: frame, JSON round trip, report section; value bins as a slice column of
``assay.evaluate`` against a groupby by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

import assay
from assay.valuation import (
    KNNShapley,
    ValuationResult,
    detection_scores,
    point_removal,
    valuation_result,
    value_bins,
)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(80, 3)), columns=["age", "hours", "gain"])
    y = (x["age"] + x["hours"] > 0).astype(int).to_numpy()
    bad = np.zeros(80, bool)
    bad[rng.choice(80, 16, replace=False)] = True
    y_noisy = np.where(bad, 1 - y, y)
    xv = rng.normal(size=(40, 3))
    yv = (xv[:, 0] + xv[:, 1] > 0).astype(int)
    knn = KNNShapley(k=3).fit(x, y_noisy, xv, yv)
    return x, y_noisy, xv, yv, bad, knn


def test_frame_ranks_and_detection(fitted):
    x, y, _xv, _yv, bad, knn = fitted
    res = valuation_result(knn, x, y, is_corrupted=bad)
    df = res.to_frame()
    assert list(df.columns[:7]) == ["row", "value", "rank", "method", "label", "corrupted", "age"]
    assert len(df) == 80 and (df["method"] == "KNN-Shapley").all()
    np.testing.assert_array_equal(df["value"], knn.values_)
    np.testing.assert_array_equal(df["rank"], rankdata(-knn.values_, method="ordinal"))
    np.testing.assert_array_equal(df["age"], x["age"])
    assert res.detection == detection_scores(knn.values_, bad)
    assert res.discovery is not None and res.discovery.n_corrupted == 16
    assert res.config["k"] == 3 and res.fit_time == knn.fit_time_
    assert "age" not in res.to_frame(features=False).columns


def test_json_round_trip(fitted, tmp_path):
    x, y, xv, yv, bad, knn = fitted
    from sklearn.linear_model import LogisticRegression

    curve = point_removal(LogisticRegression(), x, y, xv, yv, knn.values_, fractions=[0, 0.2])
    res = valuation_result(knn, x, np.array(["no", "yes"])[y], is_corrupted=bad, removal=curve)
    back = ValuationResult.from_json(res.to_json(tmp_path / "v.json"))
    pd.testing.assert_frame_equal(back.to_frame(), res.to_frame())
    np.testing.assert_array_equal(back.removal.scores["lowest"], curve.scores["lowest"])
    np.testing.assert_array_equal(back.discovery.found, res.discovery.found)
    assert back.to_dict() == res.to_dict()
    assert ValuationResult.from_json(str(tmp_path / "v.json")).method == "KNN-Shapley"
    with pytest.raises(ValueError, match="must hold a valuation result"):
        ValuationResult.from_json('{"kind": "ood"}')


def test_section_and_html(fitted, tmp_path):
    x, y, xv, yv, bad, knn = fitted
    from sklearn.linear_model import LogisticRegression

    curve = point_removal(LogisticRegression(), x, y, xv, yv, knn.values_, fractions=[0, 0.2])
    res = valuation_result(knn, x, y, is_corrupted=bad, removal=curve)
    sec = res.to_section(n_rows=5)
    kinds = [c.kind for c in sec.charts]
    assert kinds == ["histogram", "line", "line"]
    hist = sec.charts[0]
    assert sum(sum(s.y) for s in hist.series) == 80
    assert sum(hist.series[1].y) == 16  # the corrupted rows
    most, least = sec.tables
    top = np.argsort(-knn.values_, kind="stable")[:5]
    assert [r[0] for r in most.rows] == top.tolist()
    assert [r[0] for r in least.rows] == np.argsort(knn.values_, kind="stable")[:5].tolist()
    assert "age" in most.columns and sec.kind == "valuation"
    assert sec.figures["noisy-label F1"] == pytest.approx(res.detection["f1"], abs=1e-4)
    html = res.to_html(tmp_path / "v.html")
    assert (tmp_path / "v.html").read_text() == html
    assert "Point removal" in html and "Corrupted-sample discovery" in html and "<svg" in html
    # without labels, features or corruption: only the histogram and the row tables
    bare = ValuationResult(np.array([0.3, -0.1, 0.2]), "custom")
    assert [c.kind for c in bare.to_section().charts] == ["histogram"]
    assert list(bare.to_frame().columns) == ["row", "value", "rank", "method"]


def test_value_bins_by_hand():
    b = value_bins([3.0, 1.0, 2.0, 2.0, 5.0, 0.0], 3)
    assert b.tolist() == ["Q3 of 3 (highest)", "Q1 of 3 (lowest)", "Q2 of 3", "Q2 of 3",
                          "Q3 of 3 (highest)", "Q1 of 3 (lowest)"]  # fmt: skip
    tied = value_bins(np.zeros(10), 4)  # equal values share a bin
    assert len(set(tied.tolist())) == 1
    counts = pd.Series(value_bins(np.random.default_rng(1).normal(size=1000), 5)).value_counts()
    assert (counts == 200).all()
    with pytest.raises(TypeError, match="'n_bins' parameter of value_bins must be an int"):
        value_bins([1.0, 2.0], 2.5)
    with pytest.raises(ValueError, match="'values' parameter of value_bins must be finite"):
        value_bins([1.0, np.inf], 2)


def test_value_bins_slice_evaluate(fitted):
    """Accuracy of a model on its training rows, per value bin, through assay.evaluate,
    equals a groupby by hand; low-value bins (the flipped labels) score worst."""
    x, y, xv, yv, _bad, knn = fitted
    from sklearn.linear_model import LogisticRegression

    p = LogisticRegression().fit(xv, yv).predict_proba(x.to_numpy())[:, 1]
    bins = valuation_result(knn).value_bins(4)
    df = pd.DataFrame({"y": y, "p": p, "value_bin": bins})
    ev = assay.evaluate(df, label="y", scores="p", slices="value_bin", ci=None)
    by_hand = df.assign(hit=(df["p"] >= 0.5).astype(int) == df["y"]).groupby("value_bin")["hit"].mean()
    for name, acc in by_hand.items():
        got = ev.value("accuracy", slice=f"value_bin={name}", threshold=0.5).value
        assert got == pytest.approx(acc, abs=1e-12)
    assert by_hand["Q1 of 4 (lowest)"] < by_hand["Q4 of 4 (highest)"]


def test_result_errors():
    with pytest.raises(ValueError, match=r"'labels' parameter of ValuationResult must have one label per row \(2\)"):
        ValuationResult(np.array([0.1, 0.2]), "m", labels=np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="'feature_names' parameter of ValuationResult"):
        ValuationResult(np.array([0.1, 0.2]), "m", features=np.ones((2, 2)), feature_names=["a"])
    with pytest.raises(TypeError, match="'method' parameter of valuation_result must be a fitted"):
        valuation_result(KNNShapley())
