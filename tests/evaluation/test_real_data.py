"""Sliced evaluation on real data (Adult, COMPAS) against Fairlearn and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, confusion_matrix, roc_auc_score

import assay


@pytest.fixture(scope="module")
def adult_scored(data_home):
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from assay.datasets import load_adult

    train = load_adult(split="train", data_home=data_home).to_pandas()
    test = load_adult(split="test", data_home=data_home).to_pandas()
    num = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
    cat = ["workclass", "marital_status", "occupation", "relationship"]
    for df in (train, test):
        df[cat] = df[cat].fillna("missing")
    model = make_pipeline(
        make_column_transformer((StandardScaler(), num), (OneHotEncoder(handle_unknown="ignore"), cat)),
        LogisticRegression(max_iter=500),
    )
    model.fit(train[num + cat], train["label"])
    test["score"] = model.predict_proba(test[num + cat])[:, 1]
    return test


def test_adult_matches_fairlearn_metricframe(adult_scored):
    fl = pytest.importorskip("fairlearn.metrics")
    df = adult_scored
    thresholds = [0.3, 0.5, 0.7]
    r = assay.evaluate(df, label="label", scores="score", slices=["sex", "race", ("sex", "race")],
                       thresholds=thresholds, auc="exact", ci="jackknife", min_denominator=0)  # fmt: skip
    for feats in (["sex"], ["race"], ["sex", "race"]):
        for t in thresholds:
            metrics = {
                "fpr": lambda a, b, t=t: fl.false_positive_rate(a, (b > t).astype(int)),
                "fnr": lambda a, b, t=t: fl.false_negative_rate(a, (b > t).astype(int)),
                "tpr": lambda a, b, t=t: fl.true_positive_rate(a, (b > t).astype(int)),
                "tnr": lambda a, b, t=t: fl.true_negative_rate(a, (b > t).astype(int)),
                "positive_rate": lambda a, b, t=t: fl.selection_rate(a, (b > t).astype(int)),
                "accuracy": lambda a, b, t=t: np.mean(a == (b > t)),
            }
            mf = fl.MetricFrame(metrics=metrics, y_true=df["label"], y_pred=df["score"],
                                sensitive_features=df[feats])  # fmt: skip
            for key, row in mf.by_group.iterrows():
                key = key if isinstance(key, tuple) else (key,)
                name = ", ".join(f"{f}={v}" for f, v in zip(feats, key, strict=True))
                for m in metrics:
                    assert r.value(m, slice=name, threshold=t).value == pytest.approx(row[m], rel=1e-12), (name, m, t)
    for v in df["race"].unique():
        m = df["race"] == v
        got = r.value("roc_auc", slice=f"race={v}").value
        assert got == pytest.approx(roc_auc_score(df["label"][m], df["score"][m]), rel=1e-12)
        got = r.value("pr_auc", slice=f"race={v}").value
        assert got == pytest.approx(average_precision_score(df["label"][m], df["score"][m]), rel=1e-12)
    # The histogram default agrees with the exact AUC within its reported bound.
    h = assay.evaluate(df, label="label", scores="score", slices="sex", ci=None)
    for s in ["overall", "sex=Female", "sex=Male"]:
        v = h.value("roc_auc", slice=s)
        assert abs(v.value - r.value("roc_auc", slice=s).value) <= v.max_error + 1e-12
        assert v.max_error < 1e-3


def test_compas_confusion_counts_match_crosstab(data_home):
    from assay.datasets import load_compas

    df = load_compas(data_home=data_home).to_pandas()
    r = assay.evaluate(df, label="label", scores="score", slices=["race", ("race", "sex")],
                       thresholds=[0.45], ci=None)  # fmt: skip
    for race in df["race"].unique():
        sub = df[df["race"] == race]
        high = (sub["decile_score"] >= 5).astype(int)  # ProPublica's "medium or high risk"
        tn, fp, fn, tp = confusion_matrix(sub["two_year_recid"], high, labels=[0, 1]).ravel()
        name = f"race={race}"
        assert r.value("tp", slice=name, threshold=0.45).value == tp
        assert r.value("fp", slice=name, threshold=0.45).value == fp
        assert r.value("tn", slice=name, threshold=0.45).value == tn
        assert r.value("fn", slice=name, threshold=0.45).value == fn
    # Decile scores take 10 values: the histogram AUC is exact.
    v = r.value("roc_auc", slice="race=African-American")
    sub = df[df["race"] == "African-American"]
    assert v.max_error == 0.0
    assert v.value == pytest.approx(roc_auc_score(sub["label"], sub["score"]), rel=1e-12)
    # The well-known disparity: higher FPR for African-American than Caucasian defendants.
    aa = r.value("fpr", slice="race=African-American", threshold=0.45)
    assert aa.value == pytest.approx(641 / (641 + 873), rel=1e-12)
