"""evaluate_uncertainty / UncertaintyResult: the platform's numbers equal the functional
forms; frame, JSON round trip, report section and HTML."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assay import uncertainty as U
from assay.report.sections import Section


def _data(n: int = 800, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, (n, k))
    pt = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = (pt.cumsum(1) > rng.uniform(size=(n, 1))).argmax(1)
    return z * 2.0, y, rng.choice(["x", "y"], n)


def test_result_matches_functional_forms_and_shows() -> None:
    pytest.importorskip("torch")
    z, y, g = _data()
    ts = U.TemperatureScaling().fit(z, y)
    before = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    r = U.evaluate_uncertainty({"raw": z, "temperature": np.log(ts.transform(z))}, y,
                               from_logits=True, slices={"g": g})  # fmt: skip
    assert r.models == ["raw", "temperature"]
    assert r.value("top_label_ece", "raw") == pytest.approx(U.expected_calibration_error(before, y), rel=1e-9)
    assert r.value("nll", "raw") == pytest.approx(U.negative_log_likelihood(z, y, from_logits=True), rel=1e-9)
    assert r.value("nll", "temperature") == pytest.approx(ts.nll_after_, rel=1e-7)
    assert r.value("aurc", "raw") == pytest.approx(U.area_under_risk_coverage(before, y))
    assert r.value("top_label_ece", "temperature") < r.value("top_label_ece", "raw")
    lo, hi = r.values["raw"]["top_label_ece"][1:]
    assert lo < r.value("top_label_ece", "raw") < hi
    # per slice through the embedded evaluation
    assert r.evaluation is not None
    m = g == "x"
    assert r.evaluation.value("brier_score", slice="g=x", model="raw", cls=0).value == pytest.approx(
        U.brier_score(before[m], y[m]), rel=1e-9
    )
    df = r.to_frame()
    assert set(df["model"]) == {"raw", "temperature"}
    assert df.loc[(df.model == "raw") & (df.metric == "nll"), "value"].item() == pytest.approx(r.value("nll", "raw"))
    rf = r.reliability_frame()
    assert rf["count"].sum() == 2 * len(y)
    back = U.UncertaintyResult.from_json(r.to_json())
    assert back.value("top_label_ece", "temperature") == pytest.approx(r.value("top_label_ece", "temperature"))
    assert np.allclose(back.reliability["raw"].count, r.reliability["raw"].count)
    sec = r.to_section()
    assert isinstance(sec, Section)
    assert sec.tables[0].rows[0][0] == "raw"
    assert [c.kind for c in sec.charts] == ["line", "bar", "bar"]
    html = r.to_html()
    assert "Reliability diagram" in html and "<svg" in html


def test_result_binary_and_errors(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.95, 300)
    y = (rng.uniform(size=300) < p).astype(int)
    r = U.evaluate_uncertainty(p, y, n_bins=10, ci=None)
    assert r.value("brier_score_mean") == pytest.approx(np.mean((p - y) ** 2))
    r.to_json(tmp_path / "r.json")
    assert U.UncertaintyResult.from_json(tmp_path / "r.json").value("nll") == pytest.approx(r.value("nll"))
    r.to_html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text().startswith("<!")
    with pytest.raises(ValueError, match="same shape"):
        U.evaluate_uncertainty({"a": np.full((3, 2), 0.5), "b": np.full((3, 3), 1 / 3)}, [0, 1, 0])
    with pytest.raises(ValueError, match="look like logits"):
        U.evaluate_uncertainty(np.array([[2.0, -1.0], [0.0, 1.0]]), [0, 1])
