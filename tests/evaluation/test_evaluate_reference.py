"""sliced evaluation checked against scikit-learn, Fairlearn and closed-form values."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, confusion_matrix, roc_auc_score

import assay

THRESHOLDS = [0.1, 0.25, 0.5, 0.75, 0.9]


def make_data(n: int = 4000, seed: int = 0, weighted: bool = False, decimals: int | None = None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    sex = rng.choice(["F", "M"], n, p=[0.4, 0.6])
    race = rng.choice(["a", "b", "c", "d", "e"], n, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    logit = 1.2 * (y - 0.5) + 0.3 * (sex == "F") - 0.2 * (race == "b") + rng.normal(0, 1, n)
    s = 1 / (1 + np.exp(-logit))
    if decimals is not None:
        s = np.round(s, decimals)
    d = {"y": y, "s": s, "sex": sex, "race": race}
    if weighted:
        d["w"] = rng.uniform(0.2, 3.0, n)
    return d


def sk_confusion(y, s, w, t):
    tn, fp, fn, tp = confusion_matrix(y, (s > t).astype(int), labels=[0, 1], sample_weight=w).ravel()
    return tp, fp, tn, fn


def reference_rates(tp, fp, tn, fn):
    def div(a, b):
        return a / b if b else np.nan

    return {
        "fpr": div(fp, fp + tn), "fnr": div(fn, fn + tp), "tpr": div(tp, tp + fn),
        "tnr": div(tn, tn + fp), "positive_rate": div(tp + fp, tp + fp + tn + fn),
        "negative_rate": div(tn + fn, tp + fp + tn + fn), "fdr": div(fp, tp + fp),
        "false_omission_rate": div(fn, fn + tn), "precision": div(tp, tp + fp),
        "recall": div(tp, tp + fn), "accuracy": div(tp + tn, tp + fp + tn + fn),
    }  # fmt: skip


def slice_masks(d):
    yield "overall", np.ones(len(d["y"]), bool)
    for v in np.unique(d["sex"]):
        yield f"sex={v}", d["sex"] == v
    for v in np.unique(d["race"]):
        yield f"race={v}", d["race"] == v
    for a in np.unique(d["sex"]):
        for b in np.unique(d["race"]):
            yield f"sex={a}, race={b}", (d["sex"] == a) & (d["race"] == b)


@pytest.mark.parametrize("weighted", [False, True])
def test_threshold_metrics_match_sklearn_confusion_matrix(weighted):
    d = make_data(weighted=weighted)
    r = assay.evaluate(
        d, label="y", scores="s", slices=["sex", "race", ("sex", "race")],
        weight="w" if weighted else None, thresholds=THRESHOLDS, ci=None, min_denominator=0,
    )  # fmt: skip
    for name, m in slice_masks(d):
        w = d["w"][m] if weighted else None
        for t in THRESHOLDS:
            tp, fp, tn, fn = sk_confusion(d["y"][m], d["s"][m], w, t)
            ref = reference_rates(tp, fp, tn, fn) | {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
            for metric, expected in ref.items():
                got = r.value(metric, slice=name, threshold=t).value
                np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9, err_msg=f"{name} {metric} {t}")


@pytest.mark.parametrize("weighted", [False, True])
def test_exact_auc_matches_sklearn(weighted):
    d = make_data(weighted=weighted)
    r = assay.evaluate(
        d, label="y", scores="s", slices=["sex", ("sex", "race")],
        weight="w" if weighted else None, ci=None, auc="exact",
    )  # fmt: skip
    for name, m in slice_masks(d):
        if name.startswith("race="):
            continue
        w = d["w"][m] if weighted else None
        y, s = d["y"][m], d["s"][m]
        np.testing.assert_allclose(r.value("roc_auc", slice=name).value, roc_auc_score(y, s, sample_weight=w), rtol=1e-12)
        np.testing.assert_allclose(
            r.value("pr_auc", slice=name).value, average_precision_score(y, s, sample_weight=w), rtol=1e-12
        )
        assert r.value("roc_auc", slice=name).max_error == 0.0


def test_histogram_auc_is_exact_for_few_distinct_scores_and_bounded_otherwise():
    # Scores with 2 decimals: at most 101 distinct values, each in its own bin of 4096.
    d = make_data(decimals=2)
    r = assay.evaluate(d, label="y", scores="s", slices=["race"], ci=None)
    for name, m in slice_masks(d):
        if name.startswith("sex"):
            continue
        v = r.value("roc_auc", slice=name)
        assert v.max_error == 0.0
        np.testing.assert_allclose(v.value, roc_auc_score(d["y"][m], d["s"][m]), rtol=1e-12)
        ap = r.value("pr_auc", slice=name)
        assert ap.max_error == 0.0
        np.testing.assert_allclose(ap.value, average_precision_score(d["y"][m], d["s"][m]), rtol=1e-12)
    # Continuous scores and coarse bins: the error is real but within the reported bound.
    d = make_data(n=3000, seed=3)
    r = assay.evaluate(d, label="y", scores="s", slices=["race"], ci=None, auc_bins=64)
    for name, m in slice_masks(d):
        if name.startswith("sex"):
            continue
        exact_auc = roc_auc_score(d["y"][m], d["s"][m])
        v = r.value("roc_auc", slice=name)
        assert 0 < v.max_error < 0.05
        assert abs(v.value - exact_auc) <= v.max_error + 1e-12
        exact_ap = average_precision_score(d["y"][m], d["s"][m])
        ap = r.value("pr_auc", slice=name)
        assert abs(ap.value - exact_ap) <= ap.max_error + 1e-12


@pytest.mark.parametrize("auc", ["histogram", "exact"])
def test_bias_aucs_match_borkan_definitions(auc):
    d = make_data(decimals=3, weighted=True)
    r = assay.evaluate(d, label="y", scores="s", slices=["race"], weight="w", ci=None, auc=auc)
    y, s, w = d["y"], d["s"], d["w"]
    for v in np.unique(d["race"]):
        sub = d["race"] == v
        # BPSN: background positives and subgroup negatives; BNSP: the reverse.
        bpsn = ((~sub) & (y == 1)) | (sub & (y == 0))
        bnsp = (sub & (y == 1)) | ((~sub) & (y == 0))
        name = f"race={v}"
        np.testing.assert_allclose(r.value("subgroup_auc", slice=name).value, roc_auc_score(y[sub], s[sub], sample_weight=w[sub]), rtol=1e-10)
        np.testing.assert_allclose(r.value("bpsn_auc", slice=name).value, roc_auc_score(y[bpsn], s[bpsn], sample_weight=w[bpsn]), rtol=1e-10)
        np.testing.assert_allclose(r.value("bnsp_auc", slice=name).value, roc_auc_score(y[bnsp], s[bnsp], sample_weight=w[bnsp]), rtol=1e-10)


def test_calibration_metrics_match_direct_computation():
    d = make_data(weighted=True)
    r = assay.evaluate(d, label="y", scores="s", slices=["sex"], weight="w", ci=None)
    for name, m in slice_masks(d):
        if name.startswith("race") or "," in name:
            continue
        y, s, w = d["y"][m], d["s"][m], d["w"][m]
        np.testing.assert_allclose(r.value("mean_score", slice=name).value, np.average(s, weights=w))
        np.testing.assert_allclose(r.value("mean_label", slice=name).value, np.average(y, weights=w))
        np.testing.assert_allclose(r.value("calibration", slice=name).value, np.sum(w * s) / np.sum(w * y))
        bins = np.minimum(np.floor(s * 10).astype(int), 9)
        ece = sum(
            abs(np.sum(w[bins == b] * s[bins == b]) - np.sum(w[bins == b] * y[bins == b]))
            for b in range(10)
        ) / np.sum(w)
        np.testing.assert_allclose(r.value("ece", slice=name).value, ece, rtol=1e-10)
        np.testing.assert_allclose(r.value("weighted_example_count", slice=name).value, w.sum())
        assert r.value("example_count", slice=name).value == m.sum()


def test_matches_fairlearn_metricframe_on_random_data():
    fl = pytest.importorskip("fairlearn.metrics")
    import functools

    d = make_data(n=3000, seed=5)
    r = assay.evaluate(d, label="y", scores="s", slices=[("sex", "race")], thresholds=[0.5], ci=None, auc="exact")

    def at(fn, t):
        return lambda yt, yp: fn(yt, (yp > t).astype(int))

    metrics = {
        "fpr": at(fl.false_positive_rate, 0.5),
        "fnr": at(fl.false_negative_rate, 0.5),
        "positive_rate": at(fl.selection_rate, 0.5),
        "roc_auc": functools.partial(roc_auc_score),
    }
    mf = fl.MetricFrame(metrics=metrics, y_true=d["y"], y_pred=d["s"],
                        sensitive_features={"sex": d["sex"], "race": d["race"]})  # fmt: skip
    for (sx, rc), row in mf.by_group.iterrows():
        name = f"sex={sx}, race={rc}"
        for metric in metrics:
            thr = None if metric == "roc_auc" else 0.5
            np.testing.assert_allclose(r.value(metric, slice=name, threshold=thr).value, row[metric], rtol=1e-12)
    for metric in metrics:
        thr = None if metric == "roc_auc" else 0.5
        np.testing.assert_allclose(r.value(metric, threshold=thr).value, mf.overall[metric], rtol=1e-12)


def test_zero_denominators_give_nan_not_zero():
    d = {"y": np.array([1, 1, 1, 0]), "s": np.array([0.9, 0.8, 0.7, 0.2]), "g": ["a", "a", "a", "b"]}
    r = assay.evaluate(d, label="y", scores="s", slices="g", thresholds=[0.5], ci=None, min_denominator=0)
    assert np.isnan(r.value("fpr", slice="g=a", threshold=0.5).value)  # no negatives
    assert np.isnan(r.value("roc_auc", slice="g=a").value)
    assert np.isnan(r.value("precision", slice="g=b", threshold=0.5).value)  # nothing predicted positive
    assert r.value("tnr", slice="g=b", threshold=0.5).value == 1.0


def test_positive_means_strictly_greater_than_threshold():
    d = {"y": np.array([1, 0, 1, 0]), "s": np.array([0.5, 0.5, 0.6, 0.4])}
    r = assay.evaluate(d, label="y", scores="s", thresholds=[0.5], ci=None)
    assert r.value("tp", threshold=0.5).value == 1  # only the 0.6 row
    assert r.value("fp", threshold=0.5).value == 0


def test_logit_scores_are_converted_with_the_sigmoid():
    d = make_data()
    logits = np.log(d["s"] / (1 - d["s"]))
    a = assay.evaluate(d, label="y", scores="s", ci=None, auc="exact")
    b = assay.evaluate(d | {"z": logits}, label="y", scores="z", score_type="logit", ci=None, auc="exact")
    for metric, t in [("fpr", 0.5), ("fnr", 0.3), ("roc_auc", None), ("ece", None)]:
        np.testing.assert_allclose(a.value(metric, threshold=t).value, b.value(metric, threshold=t).value, rtol=1e-9)


def test_multiclass_one_vs_rest_equals_binary_evaluations():
    rng = np.random.default_rng(2)
    n = 2000
    label = rng.choice(["cat", "dog", "eel"], n)
    raw = rng.random((n, 3)) + np.stack([label == c for c in ["cat", "dog", "eel"]], 1)
    p = raw / raw.sum(1, keepdims=True)
    g = rng.choice(["x", "y"], n)
    d = {"label": label, "p_cat": p[:, 0], "p_dog": p[:, 1], "p_eel": p[:, 2], "g": g, "probs": p}
    classes = ["cat", "dog", "eel"]
    per_col = assay.evaluate(d, label="label", scores={"m": ["p_cat", "p_dog", "p_eel"]}, classes=classes, slices="g", ci=None)
    list_col = assay.evaluate(d, label="label", scores={"m": "probs"}, classes=classes, slices="g", ci=None)
    for i, c in enumerate(classes):
        binary = assay.evaluate({"y": (label == c).astype(int), "s": p[:, i], "g": g}, label="y", scores="s", slices="g", ci=None)
        for metric, t in [("fpr", 0.5), ("recall", 0.3), ("roc_auc", None), ("pr_auc", None)]:
            for sl in ["overall", "g=x", "g=y"]:
                ref = binary.value(metric, slice=sl, threshold=t).value
                assert per_col.value(metric, slice=sl, threshold=t, model="m", cls=c).value == pytest.approx(ref, rel=1e-12)
                assert list_col.value(metric, slice=sl, threshold=t, model="m", cls=c).value == pytest.approx(ref, rel=1e-12)


def test_two_models_side_by_side_with_flip_rates():
    d = make_data()
    rng = np.random.default_rng(9)
    d["s2"] = np.clip(d["s"] + rng.normal(0, 0.1, len(d["s"])), 0, 1)
    r = assay.evaluate(d, label="y", scores=["s", "s2"], slices="sex", thresholds=[0.3, 0.5], ci=None)
    for name, m in slice_masks(d):
        if name.startswith("race") or "," in name:
            continue
        for t in [0.3, 0.5]:
            a, b = d["s"][m] > t, d["s2"][m] > t
            assert r.value("flip_rate", slice=name, threshold=t, model="s2").value == pytest.approx(np.mean(a != b))
            assert r.value("flip_rate_pos_to_neg", slice=name, threshold=t, model="s2").value == pytest.approx(np.mean(a & ~b))
            assert r.value("flip_rate_neg_to_pos", slice=name, threshold=t, model="s2").value == pytest.approx(np.mean(~a & b))
            _tp, fp, tn, _fn = sk_confusion(d["y"][m], d["s2"][m], None, t)
            assert r.value("fpr", slice=name, threshold=t, model="s2").value == pytest.approx(fp / (fp + tn))


def test_min_slice_size_withholds_metrics_and_reports_it():
    d = make_data(n=500)
    r = assay.evaluate(d, label="y", scores="s", slices=["race", {"race": ["a", "zzz"]}], min_slice_size=40)
    info = {(s.feature, s.slice): s for s in r.slices}
    small = info[("race", "race=e")]
    assert small.withheld and small.count == int((d["race"] == "e").sum()) < 40
    assert small.reason == "fewer than min_slice_size=40 rows"
    v = r.value("fpr", slice="race=e", threshold=0.5)
    assert v.withheld and np.isnan(v.value) and np.isnan(v.lower)
    absent = next(s for s in r.slices if s.slice == "race=zzz")
    assert absent.withheld and absent.count == 0 and absent.reason == "no rows"
    assert not info[("race", "race=a")].withheld


def test_baseline_comparison_difference_ratio_and_significance():
    rng = np.random.default_rng(4)
    n = 20000
    g = rng.choice(["a", "b"], n)
    y = np.zeros(n, int)  # all negatives: FPR = share of scores above the threshold
    s = np.where(g == "a", rng.uniform(0, 1, n), rng.uniform(0, 0.8, n))
    r = assay.evaluate({"y": y, "s": s, "g": g}, label="y", scores="s", slices="g", thresholds=[0.5], baseline="g=a")
    a = r.value("fpr", slice="g=a", threshold=0.5)
    b = r.value("fpr", slice="g=b", threshold=0.5)
    assert b.diff == pytest.approx(b.value - a.value)
    assert b.ratio == pytest.approx(b.value / a.value)
    assert b.diff_lower < b.diff < b.diff_upper
    assert b.significant  # true FPRs 0.5 vs 0.375
    assert a.diff == 0 and not a.significant
    # Same slice distributions: no significant difference for most seeds.
    s2 = rng.uniform(0, 1, n)
    r2 = assay.evaluate({"y": y, "s": s2, "g": g}, label="y", scores="s", slices="g", thresholds=[0.5], baseline={"g": "a"})
    assert r2.config["baseline"] == "g=a"
    v = r2.value("fpr", slice="g=b", threshold=0.5)
    assert v.diff_lower < 0 < v.diff_upper
