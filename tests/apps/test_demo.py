"""The main job: assay demo, end to end on real data (short training), and assay report."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def demo_run(data_home, tmp_path_factory):
    from assay.apps.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    return run_demo("compas", out_dir=out, data_home=str(data_home), epochs=3, progress=False, echo=False)


def test_demo_writes_report_card_and_results(demo_run):
    import assay

    for path in demo_run.files.values():
        assert path.exists() and path.stat().st_size > 0
    html = demo_run.files["report"].read_text()
    assert "<script" in html and "http://" not in html.replace("http://www.w3.org", "")
    card = demo_run.files["model_card"].read_text()
    assert "race=African-American" in card
    saved = assay.EvalResult.from_json(demo_run.files["mindiff"])
    assert saved.value("fpr", slice="race=Caucasian", threshold=0.5, model="mindiff").value == pytest.approx(
        demo_run.mindiff.value("fpr", slice="race=Caucasian", threshold=0.5, model="mindiff").value
    )
    json.loads(demo_run.files["model_card_json"].read_text())
    # the report opens with the demo's headline: FPR of African-American vs Caucasian
    import re

    m = re.search(r'<script type="application/json" class="assay-report-data">(.*?)</script>',
                  html, re.S)  # fmt: skip
    assert m
    hl = json.loads(m.group(1))["headline"]
    assert (hl["metric"], hl["slice"], hl["reference"]) == ("fpr", "race=African-American", "race=Caucasian")


def test_headline_gap_matches_numpy_on_the_predictions(demo_run):
    p = demo_run.predictions
    y = p["label"]
    aa, ca = p["race"] == "African-American", p["race"] == "Caucasian"
    for model in ("baseline", "mindiff"):
        pred = p[model] > 0.5

        def fpr(m, pred=pred):
            neg = m & (y == 0)
            return pred[neg].mean()

        h = demo_run.headline[model]
        assert h["gap"] == pytest.approx(fpr(aa) - fpr(ca), rel=1e-12)
        assert h["gap_lower"] < h["gap"] < h["gap_upper"]
        assert h["accuracy"] == pytest.approx(np.mean(pred == (y == 1)), rel=1e-12)


def test_demo_is_reproducible(demo_run, data_home, tmp_path):
    from assay.apps.demo import run_demo

    again = run_demo("compas", out_dir=tmp_path, data_home=str(data_home), epochs=3, progress=False, echo=False)
    np.testing.assert_array_equal(again.predictions["mindiff"], demo_run.predictions["mindiff"])
    assert again.headline == demo_run.headline


def test_report_command_builds_html_from_saved_results(demo_run, tmp_path, capsys):
    from assay.cli import main

    out = tmp_path / "r.html"
    card = tmp_path / "card.md"
    code = main(["report", str(demo_run.files["baseline"]), str(demo_run.files["mindiff"]), "--out", str(out),
                 "--names", "before,after", "--model-card", str(card)])  # fmt: skip
    assert code == 0
    assert out.exists() and card.exists()
    assert "before" in out.read_text() and "after" in out.read_text()
    assert main(["report", str(demo_run.files["baseline"]), "--names", "x"]) == 2
    assert "--names must be two names separated by a comma" in capsys.readouterr().err
