"""The main job: assay demo, end to end on real data (short training), and assay report."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def demo_run(data_home, tmp_path_factory):
    import torch

    from assay.apps.demo import run_demo

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("demo")
    return run_demo("compas", out_dir=out, data_home=str(data_home), epochs=3, weights=(1.0,),
                    loss_weight=4.0, progress=False, echo=False)  # fmt: skip


def embedded(html: str) -> dict:
    m = re.search(r'<script type="application/json" class="assay-report-data">(.*?)</script>',
                  html, re.S)  # fmt: skip
    assert m
    return json.loads(m.group(1))


def test_demo_writes_one_result_with_the_sweep(demo_run):
    import assay

    assert demo_run.models == ["baseline", "mindiff_w1", "mindiff_w4"]
    assert demo_run.mindiff == "mindiff_w4"
    for path in demo_run.files.values():
        assert path.exists() and path.stat().st_size > 0
    saved = assay.EvalResult.from_json(demo_run.files["result"])
    assert saved.models == demo_run.models
    v = saved.value("fpr", slice="race=Caucasian", threshold=0.5, model="mindiff_w4").value
    assert v == pytest.approx(
        demo_run.result.value("fpr", slice="race=Caucasian", threshold=0.5, model="mindiff_w4").value
    )
    # every model of the sweep is in the one report, which opens with the demo's headline
    html = demo_run.files["report"].read_text()
    assert "<script" in html and "http://" not in html.replace("http://www.w3.org", "")
    payload = embedded(html)
    assert [r["model"] for r in payload["runs"]] == demo_run.models
    hl = payload["headline"]
    assert (hl["metric"], hl["slice"], hl["reference"]) == ("fpr", "race=African-American", "race=Caucasian")
    card = demo_run.files["model_card"].read_text()
    assert "race=African-American" in card and "## Intended use" in card
    assert "**Not provided" not in card  # the demo fills every authored section
    doc = json.loads(demo_run.files["model_card_json"].read_text())
    assert doc["headline"]["models"][0]["model"] == "baseline"
    mct = json.loads(demo_run.files["model_card_toolkit"].read_text())
    assert mct["schema_version"] == "0.0.2"
    try:
        import jsonschema
    except ImportError:
        return
    from pathlib import Path

    schema = Path(__file__).parents[1] / "report" / "model_card_toolkit_schema" / "model_card.schema.v0.0.2.json"
    validator = jsonschema.Draft7Validator(json.loads(schema.read_text()),
                                           format_checker=jsonschema.FormatChecker())  # fmt: skip
    assert not [e.message for e in validator.iter_errors(mct)]


def rates(y, pred, mask):
    from sklearn.metrics import confusion_matrix

    tn, fp, fn, tp = confusion_matrix(y[mask], pred[mask], labels=[0, 1]).ravel()
    n = tn + fp + fn + tp
    return {"fpr": fp / (fp + tn), "fnr": fn / (fn + tp), "accuracy": (tp + tn) / n,
            "positive_rate": (tp + fp) / n}  # fmt: skip


def test_printed_numbers_match_sklearn_and_the_result(demo_run):
    p = demo_run.predictions
    y = p["label"]
    aa, ca = p["race"] == "African-American", p["race"] == "Caucasian"
    everyone = np.ones(len(y), bool)
    text = demo_run.text
    for model in demo_run.models:
        pred = (p[model] > 0.5).astype(int)
        h = demo_run.headline[model]
        want_gap = rates(y, pred, aa)["fpr"] - rates(y, pred, ca)["fpr"]
        assert h["gap"] == pytest.approx(want_gap, rel=1e-12)
        g = demo_run.result.value("fpr", slice="race=African-American", threshold=0.5, model=model)
        assert (h["gap_lower"], h["gap_upper"]) == (g.diff_lower, g.diff_upper)
        overall = rates(y, pred, everyone)
        for k in ("fpr", "fnr", "accuracy", "positive_rate"):
            assert h[k] == pytest.approx(overall[k], rel=1e-12)
        # the printed line holds the same numbers, rounded
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(model + " ") and "gap" in ln)
        nums = [float(x) for x in re.findall(r"[-+]\d\.\d{3}", line)]
        assert nums == pytest.approx([h["gap"], h["gap_lower"], h["gap_upper"]], abs=5e-4)
        words = ("significant" if h["significant_adjusted"] else
                 "not significant after the adjustment across slices" if h["significant"] else
                 "not significant: the interval includes 0")  # fmt: skip
        assert line.endswith(words)
        row = next(ln for ln in text.splitlines()
                   if ln.strip().startswith(model + " ") and "gap" not in ln)  # fmt: skip
        nums = [float(x) for x in re.findall(r"\d\.\d{3}", row)]
        want = [overall[k] for k in ("fpr", "fnr", "accuracy", "positive_rate")]
        assert nums[0:12:3] == pytest.approx(want, abs=5e-4)
    assert "Trade-off of MinDiff at weight 4: the FPR gap goes from" in text
    b = demo_run.headline["baseline"]
    assert ("The baseline's FPR gap is not significant" in text) == (not b["significant_adjusted"])
    assert "Paired change from the baseline (same rows, paired jackknife): fpr " in text


def test_demo_is_reproducible(demo_run, data_home, tmp_path):
    """The same seed gives the same models and numbers, whatever else the sweep trains."""
    from assay.apps.demo import run_demo

    again = run_demo("compas", out_dir=tmp_path, data_home=str(data_home), epochs=3, weights=(),
                     loss_weight=4.0, progress=False, echo=False)  # fmt: skip
    assert again.models == ["baseline", "mindiff_w4"]
    for m in again.models:
        np.testing.assert_array_equal(again.predictions[m], demo_run.predictions[m])
        assert again.headline[m] == demo_run.headline[m]


def test_demo_arguments():
    from assay.apps.demo import run_demo

    with pytest.raises(ValueError, match="The 'dataset' parameter of run_demo must be one of"):
        run_demo("mnist")
    with pytest.raises(ValueError, match=re.escape("must be positive numbers. Got -1 instead.")):
        run_demo("compas", weights=(-1,))


def test_progress_is_one_line_off_a_terminal():
    from assay.apps._common import Progress

    buf = io.StringIO()
    with Progress(10, desc="train", unit="batches", stream=buf) as bar:
        for _ in range(10):
            bar.update(1)
    out = buf.getvalue()
    assert "\r" not in out and out.count("\n") == 1
    assert out.startswith("train: 10/10 batches in ")

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    with Progress(10, desc="train", stream=tty) as bar:
        bar.update(10)
    assert tty.getvalue().startswith("\rtrain [") and "100.0%" in tty.getvalue()


def test_report_command_builds_html_from_saved_results(demo_run, tmp_path, capsys):
    from assay.cli import main

    out = tmp_path / "r.html"
    card = tmp_path / "card.md"
    code = main(["report", str(demo_run.files["result"]), "--out", str(out),
                 "--model-card", str(card), "--headline", "fpr;race=African-American;race=Caucasian"])  # fmt: skip
    assert code == 0
    payload = embedded(out.read_text())
    assert [r["label"] for r in payload["runs"]] == demo_run.models
    text = card.read_text()
    assert "### Headline" in text and "mindiff\\_w4" in text
