"""ood_metrics and OODResult against scikit-learn and brute force; the result computes its
numbers through assay.evaluate(task="ood") (checked: same values as a direct call)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

import assay
from assay import ood

RNG = np.random.default_rng(5)
N_IN, N_A, N_B = 200, 120, 80
S_IN = {"good": RNG.normal(size=N_IN), "bad": RNG.normal(size=N_IN)}
S_OUT = {
    "good": np.concatenate([RNG.normal(2.0, size=N_A), RNG.normal(0.5, size=N_B)]),
    "bad": -np.concatenate([RNG.normal(1.0, size=N_A), RNG.normal(1.0, size=N_B)]),
}
SETS = np.array(["A"] * N_A + ["B"] * N_B)


def _sk(s_in: np.ndarray, s_out: np.ndarray) -> dict[str, float]:
    y = np.r_[np.zeros(s_in.size), np.ones(s_out.size)]
    s = np.r_[s_in, s_out]
    fpr, tpr, _ = roc_curve(y, s)
    return {
        "auroc": roc_auc_score(y, s),
        "aupr_out": average_precision_score(y, s),
        "aupr_in": average_precision_score(1 - y, -s),
        "fpr_at_95_tpr": float(fpr[np.searchsorted(tpr, 0.95, side="left")]),
        "fpr_at_80_tpr": float(fpr[np.searchsorted(tpr, 0.80, side="left")]),
    }


def _brute(s_in: np.ndarray, s_out: np.ndarray) -> dict[str, float]:
    """Pairwise AUROC; FPR at q TPR and detection accuracy over every threshold."""
    diff = s_out[:, None] - s_in[None, :]
    auroc = float(np.mean((diff > 0) + 0.5 * (diff == 0)))
    ts = np.unique(np.r_[s_in, s_out, np.inf])
    tpr = np.array([np.mean(s_out >= t) for t in ts])
    fpr = np.array([np.mean(s_in >= t) for t in ts])
    return {
        "auroc": auroc,
        "fpr_at_95_tpr": float(fpr[tpr >= 0.95].min()),
        "fpr_at_80_tpr": float(fpr[tpr >= 0.80].min()),
        "detection_accuracy": float(np.max(0.5 * (tpr + 1 - fpr))),
    }


def test_ood_metrics_against_sklearn_and_brute_force() -> None:
    for d in S_IN:
        got = ood.ood_metrics(S_IN[d], S_OUT[d])
        for k, v in _sk(S_IN[d], S_OUT[d]).items():
            assert got[k] == pytest.approx(v, abs=1e-12), (d, k)
        for k, v in _brute(S_IN[d], S_OUT[d]).items():
            assert got[k] == pytest.approx(v, abs=1e-12), (d, k)
    assert ood.ood_metrics([0.1, 0.2, 0.3], [0.25, 0.9])["auroc"] == pytest.approx(5 / 6)


def test_ood_metrics_with_ties() -> None:
    s_in = np.array([0.0, 1.0, 1.0, 2.0])
    s_out = np.array([1.0, 2.0, 2.0, 3.0, 1.0])
    got = ood.ood_metrics(s_in, s_out)
    for k, v in _sk(s_in, s_out).items():
        assert got[k] == pytest.approx(v, abs=1e-12), k
    for k, v in _brute(s_in, s_out).items():
        assert got[k] == pytest.approx(v, abs=1e-12), k


def test_sign_convention_ood_is_positive() -> None:
    # OOD examples score higher: AUROC near 1; the negated scores give AUROC near 0
    m = ood.ood_metrics(np.arange(10.0), np.arange(10.0) + 100)
    assert m["auroc"] == 1.0 and m["fpr_at_95_tpr"] == 0.0 and m["detection_accuracy"] == 1.0
    assert ood.ood_metrics(-np.arange(10.0), -np.arange(10.0) - 100)["auroc"] == 0.0


def test_result_against_sklearn_per_ood_set() -> None:
    r = ood.evaluate_detectors(S_IN, S_OUT, out_sets=SETS)
    assert r.ood_sets == ["A", "B", "all"] and r.positive == "ood"
    for name, rows in (("A", SETS == "A"), ("B", SETS == "B"), ("all", np.ones(SETS.size, bool))):
        for d in S_IN:
            ref = _sk(S_IN[d], S_OUT[d][rows])
            for k, v in ref.items():
                assert r.value(k, d, ood_set=name) == pytest.approx(v, abs=1e-12), (name, d, k)
            lo, hi = r.interval("auroc", d, ood_set=name)
            assert lo <= ref["auroc"] <= hi and hi - lo < 0.3
    # a good detector beats a sign-flipped one
    assert r.value("auroc", "good") > 0.5 > r.value("auroc", "bad")


def test_result_is_the_platform_evaluation() -> None:
    r = ood.evaluate_detectors(S_IN["good"], S_OUT["good"], seed=3, n_replicates=50)
    direct = assay.evaluate(
        {
            "is_ood": np.r_[np.zeros(N_IN), np.ones(N_A + N_B)].astype(int),
            "score": np.r_[S_IN["good"], S_OUT["good"]],
            "row_id": np.arange(N_IN + N_A + N_B),
        },
        label="is_ood", scores="score", task="ood", ci="bootstrap", n_replicates=50, seed=3,
        row_key="row_id",
    )  # fmt: skip
    for m in ood.OOD_METRICS:
        a, b = r.evaluations["ood"].value(m), direct.value(m)
        assert (a.value, a.lower, a.upper) == (b.value, b.lower, b.upper)


def test_slices_frame_json_section_html(tmp_path: Path) -> None:
    group_in = np.where(np.arange(N_IN) % 2 == 0, "x", "y")
    group_out = np.where(np.arange(N_A + N_B) % 2 == 0, "x", "y")
    r = ood.evaluate_detectors(S_IN, S_OUT, out_sets=SETS, slices={"group": (group_in, group_out)})
    m = SETS == "A"
    ref = _sk(S_IN["good"][group_in == "x"], S_OUT["good"][m & (group_out == "x")])
    got = r.value("auroc", "good", ood_set="A", slice={"group": "x"})
    assert got == pytest.approx(ref["auroc"], abs=1e-12)

    f = r.to_frame()
    assert set(f["ood_set"]) == {"A", "B", "all"} and set(f["detector"]) == {"good", "bad"}
    assert set(f["metric"]) == set(ood.OOD_METRICS) and set(f["positive"]) == {"ood"}
    row = f[
        (f.ood_set == "B")
        & (f.detector == "good")
        & (f.slice == "overall")
        & (f.metric == "aupr_in")
    ]
    assert row["value"].item() == pytest.approx(_sk(S_IN["good"], S_OUT["good"][~m])["aupr_in"])

    doc = json.loads(r.to_json(tmp_path / "r.json"))
    assert doc["kind"] == "ood" and doc["positive"] == "ood"
    assert doc["ood_sets"] == {"A": N_A, "B": N_B, "all": N_A + N_B}
    h = doc["histograms"]["good"]
    assert len(h["edges"]) == 31 and sum(h["in"]) == pytest.approx(1.0)
    back = assay.EvalResult.from_json(json.dumps(doc["evaluations"]["A"]))
    assert back.value("auroc", model="good").value == r.value("auroc", "good", ood_set="A")
    assert (tmp_path / "r.json").read_text() == r.to_json()

    sec = r.to_section()
    assert sec.kind == "ood" and len(sec.tables) == 3 and len(sec.charts) == 2
    assert sec.tables[0].columns[:2] == ["detector", "AUROC"]
    assert sec.charts[0].kind == "histogram"
    html = r.to_html(tmp_path / "r.html")
    assert "<svg" in html and "OOD set: all" in html and (tmp_path / "r.html").exists()


def test_summary_frame() -> None:
    r = ood.evaluate_detectors(S_IN, S_OUT, ci=None)
    s = r.summary_frame()
    assert list(s["detector"]) == ["good", "bad"]
    assert s.loc[0, "auroc"] == pytest.approx(_sk(S_IN["good"], S_OUT["good"])["auroc"])


def test_result_errors() -> None:
    with pytest.raises(
        ValueError,
        match=r"'scores_in' and 'scores_out' parameters of evaluate_detectors must hold the same detectors",
    ):
        ood.evaluate_detectors(S_IN, {"good": S_OUT["good"]})
    with pytest.raises(
        ValueError,
        match=r"'out_sets' parameter of evaluate_detectors must name the OOD set of each of the 200",
    ):
        ood.evaluate_detectors(S_IN, S_OUT, out_sets=SETS[:5])
    with pytest.raises(
        ValueError, match=r"'scores_in\['good'\]' parameter of evaluate_detectors must be finite"
    ):
        ood.evaluate_detectors({"good": np.r_[np.nan, S_IN["good"][1:]]}, {"good": S_OUT["good"]})
    with pytest.raises(
        ValueError, match=r"column 'g' must have 200 values for the in-distribution rows"
    ):
        ood.evaluate_detectors(S_IN, S_OUT, slices={"g": (np.zeros(3), np.zeros(200))})
    with pytest.raises(
        TypeError,
        match=r"'slices' parameter of evaluate_detectors must map each column name to a pair",
    ):
        ood.evaluate_detectors(S_IN, S_OUT, slices={"g": np.zeros(400)})
    r = ood.evaluate_detectors(S_IN, S_OUT, ci=None)
    with pytest.raises(
        ValueError,
        match=r"'detector' parameter of OODResult.value must be one of \['good', 'bad'\]",
    ):
        r.value("auroc", "nope")
    with pytest.raises(ValueError, match=r"'metric' parameter of OODResult.value must be one of"):
        r.value("accuracy")
    with pytest.raises(
        ValueError, match=r"'out_scores' parameter of ood_metrics must be one score per example"
    ):
        ood.ood_metrics([1.0, 2.0], np.zeros((3, 2)))


def test_ood_frame_feeds_evaluate() -> None:
    tab = ood.ood_frame(S_IN["good"], S_OUT["good"], ds=(np.zeros(N_IN), SETS == "A"))
    r = assay.evaluate(tab, label="is_ood", scores="score", task="ood", ci=None)
    ref = ood.ood_metrics(S_IN["good"], S_OUT["good"])
    for m in ood.OOD_METRICS:
        assert r.value(m).value == pytest.approx(ref[m], abs=1e-12)
    with pytest.raises(TypeError, match=r"'ds' parameter of ood_frame must be a pair"):
        ood.ood_frame(S_IN["good"], S_OUT["good"], ds=np.zeros(3))
    with pytest.raises(
        ValueError, match=r"'ds' parameter of ood_frame must have 200 and 200 values"
    ):
        ood.ood_frame(S_IN["good"], S_OUT["good"], ds=(np.zeros(2), np.zeros(200)))
