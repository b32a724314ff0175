"""stress_test end to end: per-seed metrics against scikit-learn, verdicts on pipelines
with a known seed-dependence, counterfactual pairs, subgroups, bad input, the result."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression

from assay.report.sections import Section
from assay.robustness import CounterfactualPairs, StressSet, UnderspecificationResult, stress_test


# ----------------------------------------------------------------- regression (known answer)
@pytest.fixture(scope="module")
def rf_result(rf_data: Any, rf_train: Any) -> UnderspecificationResult:
    (Xi, yi), (Xd, yd), (Xc, yc) = rf_data["iid"], rf_data["decorrelated"], rf_data["center"]
    return stress_test(StressSet("iid", Xi, yi), [StressSet("decorrelated", Xd, yd), StressSet("center", Xc, yc)],
                       train=rf_train, seeds=range(8), task="regression")  # fmt: skip


def test_random_features_classified_both_ways(rf_result: UnderspecificationResult) -> None:
    assert rf_result.verdict("decorrelated") == "underspecified"  # x2 away from x1: left to the seed
    assert rf_result.verdict("center") == "specified"  # inside the training distribution
    assert rf_result.verdict("iid") == "reference"
    dec, cen = rf_result.row("decorrelated"), rf_result.row("center")
    assert dec["sd_ratio"] > 100 and dec["p_adjusted"] < 1e-6 and dec["excess_ratio"] > 3
    assert cen["p_adjusted"] > 0.05
    assert dec["test_kind"] == "stress minus b x iid (b = ratio of mean errors) vs per-row churn"
    assert dec["slope"] == pytest.approx(dec["mean"] / rf_result.row("iid")["mean"])


def test_shift_reference_classifies_both_ways(rf_data: Any, rf_train: Any) -> None:
    preds = {s: {n: rf_train(s).predict(rf_data[n][0]) for n in ("iid", "decorrelated", "center")} for s in range(5)}
    res = stress_test(StressSet("iid", *rf_data["iid"]), [StressSet("decorrelated", *rf_data["decorrelated"]),
                      StressSet("center", *rf_data["center"])], predictions=preds, task="regression",
                      reference="shift")  # fmt: skip
    assert res.verdicts == {"iid": "reference", "decorrelated": "underspecified", "center": "specified"}
    assert res.row("center")["slope"] == 1.0 and res.config["reference"] == "shift"


def test_relative_reference_explains_a_proportional_seed_effect() -> None:
    # every seed scales the false positive probability of every row by (1 + delta_seed): the
    # subgroup's FPR follows the iid FPR in proportion, which 'relative' explains and 'shift' does not
    rng = np.random.default_rng(11)
    n, k = 3000, 10
    base = np.where(np.arange(n) < 750, 0.4, 0.05)  # rows 0..749: the subgroup, 8x the FPR
    delta = rng.uniform(-0.4, 0.4, k)
    group = np.where(np.arange(n) < 750, "high", "low")
    preds = {s: {"iid": (rng.random(n) < base * (1 + delta[s])).astype(float)} for s in range(k)}
    iid = StressSet("iid", np.zeros((n, 1)), np.zeros(n, int), groups={"g": group})
    rel = stress_test(iid, predictions=preds, min_denominator=0, ci=None)
    sh = stress_test(iid, predictions=preds, min_denominator=0, ci=None, reference="shift")
    assert rel.row("iid", "fpr")["verdict"] == "seeds differ on iid"
    assert rel.row("iid/g=high", "fpr")["p_value"] > 0.01 and rel.row("iid/g=low", "fpr")["p_value"] > 0.01
    assert sh.row("iid/g=high", "fpr")["p_value"] < 1e-6 and sh.verdict("iid/g=high", "fpr") == "underspecified"


def test_per_seed_metrics_and_spread_against_sklearn(rf_result: UnderspecificationResult, rf_data: Any,
                                                     rf_train: Any) -> None:  # fmt: skip
    ref: dict[str, list[float]] = {name: [] for name in ("iid", "decorrelated", "center")}
    for s in range(8):
        model = rf_train(s)
        for name in ref:
            X, y = rf_data[name]
            ref[name].append(skm.mean_squared_error(y, model.predict(X)))
            r2 = rf_result.values(name, "r2")[s]
            assert r2 == pytest.approx(skm.r2_score(y, model.predict(X)), rel=1e-9)
    for name, v in ref.items():
        assert rf_result.values(name) == pytest.approx(v, rel=1e-9)
        row = rf_result.row(name)
        assert row["mean"] == pytest.approx(np.mean(v)) and row["sd"] == pytest.approx(np.std(v, ddof=1))
        assert (row["min"], row["max"]) == (pytest.approx(min(v)), pytest.approx(max(v)))
        assert row["sd_ratio"] == pytest.approx(np.std(v, ddof=1) / np.std(ref["iid"], ddof=1))
        assert row["spearman_iid"] == pytest.approx(st.spearmanr(ref["iid"], v).statistic)
    per_seed = rf_result.per_seed_frame()
    mse = per_seed[(per_seed.metric == "mean_squared_error") & (per_seed.test == "center")]
    assert (mse.lower <= mse.value).all() and (mse.value <= mse.upper).all()  # platform intervals
    rc = rf_result.rank_correlation_frame("mean_squared_error")
    assert np.allclose(rc.to_numpy(), st.spearmanr(np.c_[ref["iid"], ref["decorrelated"], ref["center"]]).statistic)


def test_reproducible_and_inputs_equivalent(rf_result: UnderspecificationResult, rf_data: Any, rf_train: Any) -> None:
    sets = (StressSet("iid", *rf_data["iid"]), [StressSet("decorrelated", *rf_data["decorrelated"]),
                                                StressSet("center", *rf_data["center"])])  # fmt: skip
    again = stress_test(*sets, models=[rf_train(s) for s in range(8)], task="regression")
    pd.testing.assert_frame_equal(again.to_frame(), rf_result.to_frame())
    preds = {s: {n: rf_train(s).predict(rf_data[n][0]) for n in ("iid", "decorrelated", "center")} for s in range(8)}
    perm = stress_test(*sets, predictions=preds, task="regression", test="permutation", n_permutations=199)
    pd.testing.assert_frame_equal(perm.per_seed_frame(), rf_result.per_seed_frame())
    assert perm.verdicts == rf_result.verdicts
    assert perm.row("decorrelated")["test_method"] == "permutation (199)"


def test_result_json_section_html(rf_result: UnderspecificationResult, tmp_path: Any) -> None:
    back = UnderspecificationResult.from_json(rf_result.to_json())
    pd.testing.assert_frame_equal(back.to_frame(), rf_result.to_frame())
    pd.testing.assert_frame_equal(back.per_seed_frame(), rf_result.per_seed_frame())
    assert back.verdicts == rf_result.verdicts and back.seeds == list(range(8))
    sec = rf_result.to_section()
    assert isinstance(sec, Section) and sec.kind == "robustness"
    assert "Underspecified (the spread across seeds exceeds" in sec.summary[0] and "decorrelated" in sec.summary[0]
    assert sec.tables[0].columns[-1] == "verdict" and "Cochran's Q" in sec.tables[0].caption
    page = rf_result.to_html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text() == page and "Spearman correlation of seed rankings" in page
    with pytest.raises(ValueError, match=r"must be an underspecification result's JSON\. Got kind='uncertainty'"):
        UnderspecificationResult.from_json('{"kind": "uncertainty"}')
    assert "decorrelated: underspecified" in repr(rf_result)


# ----------------------------------------------------------------- binary: subgroups, counterfactuals
def bdata(n: int, rng: np.random.Generator, agree: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    x1 = rng.normal(size=n)
    y = (x1 + 0.5 * rng.normal(size=n) > 0).astype(int)
    a = np.where(rng.random(n) < agree, y, 1 - y).astype(float)  # a shortcut attribute
    return np.c_[x1, a, rng.normal(size=n)], y


class RandomFeatureLogit:
    """cos(W x + b) features of x1 and a (column z is not used), logistic regression."""

    def __init__(self, seed: int, X: np.ndarray, y: np.ndarray) -> None:
        r = np.random.default_rng(seed)
        self.W, self.b = r.normal(size=(3, 30)), r.uniform(-np.pi, np.pi, 30)
        self.W[2] = 0.0
        self.m = LogisticRegression(C=10.0, max_iter=500).fit(self._f(X), y)

    def _f(self, X: np.ndarray) -> np.ndarray:
        return np.cos(X @ self.W + self.b)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.m.predict_proba(self._f(X))


@pytest.fixture(scope="module")
def binary() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    Xtr, ytr = bdata(600, rng)
    Xte, yte = bdata(600, rng)
    Xs, ys = bdata(600, rng, agree=0.5)
    models = [RandomFeatureLogit(s, Xtr, ytr) for s in range(5)]
    cf_a, cf_z = Xte.copy(), Xte.copy()
    cf_a[:, 1] = 1 - cf_a[:, 1]
    cf_z[:, 2] += 1.0
    iid = StressSet("iid", Xte, yte, groups={"a": np.where(Xte[:, 1] > 0, "one", "zero")})
    stress = [StressSet("shortcut_broken", Xs, ys), CounterfactualPairs("flip_a", Xte, cf_a),
              CounterfactualPairs("shift_z", Xte, cf_z)]  # fmt: skip
    res = stress_test(iid, stress, models=models)
    return {"res": res, "models": models, "Xte": Xte, "yte": yte, "Xs": Xs, "ys": ys, "cf_a": cf_a}


def test_binary_metrics_subgroups_against_sklearn(binary: dict[str, Any]) -> None:
    res, Xte, yte = binary["res"], binary["Xte"], binary["yte"]
    grp = Xte[:, 1] > 0
    for s, m in enumerate(binary["models"]):
        p = m.predict_proba(Xte)[:, 1]
        for name, sel in (("iid", np.ones(len(yte), bool)), ("iid/a=one", grp), ("iid/a=zero", ~grp)):
            yy, pp = yte[sel], p[sel] > 0.5
            tn, fp, fn, tp = skm.confusion_matrix(yy, pp, labels=[0, 1]).ravel()
            assert res.values(name, "accuracy")[s] == pytest.approx(skm.accuracy_score(yy, pp))
            fpr = res.values(name, "fpr")[s]
            assert math.isnan(fpr) if tn + fp < 10 else fpr == pytest.approx(fp / (fp + tn))
            fnr = res.values(name, "fnr")[s]
            assert math.isnan(fnr) if tp + fn < 10 else fnr == pytest.approx(fn / (fn + tp))
            assert res.values(name, "roc_auc")[s] == pytest.approx(skm.roc_auc_score(yy, p[sel]), abs=2e-3)
        ps = m.predict_proba(binary["Xs"])[:, 1]
        assert res.values("shortcut_broken", "accuracy")[s] == pytest.approx(skm.accuracy_score(binary["ys"], ps > 0.5))
    assert res.row("iid/a=one")["kind"] == "subgroup"
    assert res.row("shortcut_broken")["sd_ratio"] > 1


def test_counterfactual_change_per_seed(binary: dict[str, Any]) -> None:
    res, Xte, cf = binary["res"], binary["Xte"], binary["cf_a"]
    ch = [np.mean(np.abs(m.predict_proba(Xte)[:, 1] - m.predict_proba(cf)[:, 1])) for m in binary["models"]]
    fl = [np.mean((m.predict_proba(Xte)[:, 1] > 0.5) != (m.predict_proba(cf)[:, 1] > 0.5)) for m in binary["models"]]
    assert res.values("flip_a", "counterfactual_change") == pytest.approx(ch)
    assert res.values("flip_a", "counterfactual_flip_rate") == pytest.approx(fl)
    assert res.verdict("flip_a") == "underspecified"  # how much the shortcut is used depends on the seed
    assert res.verdict("shift_z") == "specified"  # the pipeline drops z: no change for any seed
    assert res.row("shift_z")["mean"] == 0.0
    assert res.row("flip_a")["test_kind"] == "counterfactual change vs per-row churn"


def test_multiclass_predictions() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 200)
    ys = rng.integers(0, 3, 100)
    preds = {s: {"iid": rng.dirichlet(np.ones(3), 200), "blur": rng.dirichlet(np.ones(3), 100)} for s in range(4)}
    res = stress_test(StressSet("iid", np.zeros((200, 4)), y), [StressSet("blur", np.zeros((100, 4)), ys, kind="corruption")],
                      predictions=preds, task="multiclass")  # fmt: skip
    for s in range(4):
        assert res.values("blur", "top_label_accuracy")[s] == pytest.approx(np.mean(preds[s]["blur"].argmax(1) == ys))
    assert res.row("blur")["kind"] == "corruption" and res.verdict("blur") == "specified"


# ----------------------------------------------------------------- bad input
def _sets(n: int = 50) -> tuple[StressSet, list[StressSet]]:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(n, 2)), rng.integers(0, 2, n)
    return StressSet("iid", X, y), [StressSet("shift", X + 1, y)]


class Fixed:
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = 1 / (1 + np.exp(-X[:, 0]))
        return np.c_[1 - p, p]


class Shifted:
    def __init__(self, shift: float) -> None:
        self.shift = shift

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        q = 1 / (1 + np.exp(-X[:, 0] - self.shift))
        return np.c_[1 - q, q]


def test_withheld_metric_gets_no_test() -> None:
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(80, 2)), np.r_[np.zeros(40, int), np.ones(40, int)]
    g = np.where(np.arange(80) < 45, "small", "big")  # "small" holds 5 negatives (< min_denominator 10)
    g[:35] = "big"
    res = stress_test(StressSet("iid", X, y, groups={"g": g}), models=[Shifted(s) for s in (0.0, 0.3, 0.6)])
    row = res.row("iid/g=small", "fpr")
    assert math.isnan(row["mean"]) and math.isnan(row["p_value"]) and row["verdict"] == ""
    assert res.row("iid/g=big", "fpr")["verdict"] in ("specified", "underspecified")


def test_sparse_inputs() -> None:
    from scipy import sparse

    rng = np.random.default_rng(4)
    X = sparse.random(60, 5, density=0.5, format="csr", random_state=1)
    y = rng.integers(0, 2, 60)

    class Lin:
        def __init__(self, seed: int) -> None:
            self.w = np.random.default_rng(seed).normal(size=5)

        def predict_proba(self, Z: Any) -> np.ndarray:
            p = 1 / (1 + np.exp(-(Z @ self.w)))
            return np.c_[1 - p, p]

    res = stress_test(StressSet("iid", X, y), [StressSet("half", X[:30], y[:30])], train=Lin, seeds=range(3))
    ref = [skm.accuracy_score(y[:30], Lin(s).predict_proba(X[:30])[:, 1] > 0.5) for s in range(3)]
    assert res.values("half", "accuracy") == pytest.approx(ref)


def test_training_that_ignores_the_seed_is_detected() -> None:
    with pytest.warns(UserWarning, match="the training function seems to ignore its seed"):
        res = stress_test(*_sets(), train=lambda seed: Fixed(), seeds=range(4))
    assert res.verdict("shift") == "identical models" and res.verdict("iid") == "identical models"
    assert res.config["identical"] and "ignore its seed" in res.to_section().summary[0]


def test_fewer_than_three_seeds() -> None:
    with pytest.raises(ValueError, match=r"needs at least 3 seeds with predictions to measure a spread across seeds\. Got 2\."):
        stress_test(*_sets(), models=[Fixed(), Fixed()])

    def train(seed: int) -> Fixed:
        if seed % 2:
            raise RuntimeError("diverged")
        return Fixed()

    with pytest.raises(ValueError, match=r"Got 2 \(2 failed: \[1, 3\]\)"):
        stress_test(*_sets(), train=train, seeds=range(4))


def test_failing_seed_is_recorded_and_the_sweep_goes_on(tmp_path: Any) -> None:
    class Noisy(Fixed):
        def __init__(self, seed: int) -> None:
            self.shift = seed * 0.1

        def predict_proba(self, X: np.ndarray) -> np.ndarray:
            return super().predict_proba(X + self.shift)

    def train(seed: int) -> Noisy:
        if seed == 2:
            raise FloatingPointError("loss is nan at epoch 3")
        return Noisy(seed)

    res = stress_test(*_sets(), train=train, seeds=range(5), checkpoint_dir=str(tmp_path))
    assert res.seeds == [0, 1, 3, 4] and res.config["failed_seeds"] == [2]
    assert "FloatingPointError: loss is nan at epoch 3" in res.failures[2]
    assert any("Seed 2 failed and is left out" in n for n in res.notes)
    assert (tmp_path / "seed_2.error.txt").exists()


def test_stress_sets_with_another_feature_schema() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0, 1, 0]})
    y = np.array([0, 1, 1])
    with pytest.raises(ValueError, match=r"stress set 'other' of stress_test has another feature schema than the iid set 'iid': missing columns \['b'\]"):
        stress_test(StressSet("iid", df, y), [StressSet("other", df[["a"]], y)], models=[Fixed()] * 3)
    with pytest.raises(ValueError, match=r"other types: b \(int64 -> float64\)"):
        stress_test(StressSet("iid", df, y), [StressSet("other", df.astype(float), y)], models=[Fixed()] * 3)
    with pytest.raises(ValueError, match=r"expected arrays of per-row shape \(2,\) \(numeric\), got arrays of per-row shape \(3,\)"):
        stress_test(StressSet("iid", np.zeros((3, 2)), y), [StressSet("wide", np.zeros((3, 3)), y)], models=[Fixed()] * 3)
    with pytest.raises(ValueError, match=r"counterfactual pairs 'cf' of stress_test must have as many counterfactual rows as rows"):
        stress_test(StressSet("iid", np.zeros((3, 2)), y), [CounterfactualPairs("cf", np.zeros((3, 2)), np.zeros((2, 2)))],
                    models=[Fixed()] * 3)  # fmt: skip


def test_other_bad_input() -> None:
    iid, stress = _sets()
    with pytest.raises(ValueError, match=r"needs exactly one of 'train' \(with 'seeds'\), 'models' or 'predictions'\. Got none"):
        stress_test(iid, stress)
    with pytest.raises(ValueError, match=r"'seeds' parameter of stress_test is needed with 'train'"):
        stress_test(iid, stress, train=lambda s: Fixed())
    with pytest.raises(ValueError, match=r"labels of stress set 'iid' of stress_test must be 0/1 or boolean labels"):
        stress_test(StressSet("iid", np.zeros((3, 2)), np.array(["yes", "no", "no"])), models=[Fixed()] * 3)
    with pytest.raises(ValueError, match=r"labels 'y' of stress set 'shift' of stress_test must be one value per row \(50 rows\)"):
        stress_test(iid, [StressSet("shift", iid.X, iid.y[:10])], models=[Fixed()] * 3)
    with pytest.raises(ValueError, match=r"Stress set names of stress_test must be unique. Got 'iid' twice"):
        stress_test(iid, [StressSet("iid", iid.X, iid.y)], models=[Fixed()] * 3)
    with pytest.raises(ValueError, match=r"'task' parameter of stress_test must be one of \['binary', 'multiclass', 'regression'\]"):
        stress_test(iid, stress, models=[Fixed()] * 3, task="ranking")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"predictions of seed 0 for 'iid' given to stress_test must have shape \(rows,\) with 50 rows"):
        stress_test(iid, stress, predictions={s: {"iid": np.zeros(3), "shift": np.zeros(50)} for s in range(3)})
    with pytest.raises(ValueError, match=r"predictions of seed 1 given to stress_test lack the inputs \['shift'\]"):
        stress_test(iid, stress, predictions={0: {"iid": np.zeros(50), "shift": np.zeros(50)}, 1: {"iid": np.zeros(50)}})
    with pytest.raises(TypeError, match=r"'stress' parameter of stress_test must hold StressSet or CounterfactualPairs"):
        stress_test(iid, [np.zeros(3)], models=[Fixed()] * 3)  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"subgroup column 'g' of stress set 'iid' of stress_test must have one value per row \(50\)"):
        stress_test(StressSet("iid", iid.X, iid.y, groups={"g": [1, 2]}), models=[Fixed()] * 3)
    with pytest.raises(ValueError, match=r"'alpha' parameter of stress_test must be in \(0, 1\)\. Got 1\.5"):
        stress_test(iid, stress, models=[Fixed()] * 3, alpha=1.5)
