"""Issue 10: the CLI's one-line errors (exit code 2) and CSV reading that never swallows rows."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assay
from assay.cli import main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse-style exits
        rc = int(e.code or 0)
    err = capsys.readouterr().err
    return rc, err


@pytest.fixture()
def csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    lines = ["y,s,country"]
    for i in range(400):
        lines.append(f"{i % 2},{rng.random():.4f},{['NA', 'US', 'DE'][i % 3]}")
    p = tmp_path / "ok.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def _eval(path: Path, *extra: str) -> list[str]:
    return ["evaluate", str(path), "--label", "y", "--score", "s", "--slice", "country",
            "--quiet", *extra]  # fmt: skip


def test_unterminated_quote_is_an_error_not_a_lost_tail(
    csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = csv.read_text().splitlines()
    bad = csv.with_name("bad.csv")
    bad.write_text("\n".join([*lines[:51], '1,0.5,"unterminated', *lines[51:]]) + "\n")
    rc, err = _run(_eval(bad), capsys)
    assert rc == 2
    assert "the value of column 'country' in data row" in err
    assert "a quote (\") opened there is never closed" in err
    assert len(err.strip().splitlines()) == 1


def test_na_is_a_value_unless_na_values_says_so(csv: Path) -> None:
    df = pd.read_csv(csv, keep_default_na=False)
    r = assay.evaluate(str(csv), label="y", scores="s", slices=["country"], ci=None)
    names = {s.slice for s in r.slices}
    assert "country=NA" in names and "country=null" not in names
    want = int((df.country == "NA").sum())
    assert r.value("roc_auc", slice="country=NA").count == want
    r2 = assay.evaluate(str(csv), label="y", scores="s", slices=["country"], ci=None,
                        na_values=["NA"])  # fmt: skip
    names2 = {s.slice for s in r2.slices}
    assert "country=null" in names2 and "country=NA" not in names2


def test_show_threshold_not_evaluated(csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _run(_eval(csv, "--show-threshold", "0.45"), capsys)
    assert rc == 2
    assert "--show-threshold 0.45 is not an evaluated threshold; the thresholds are 0.1, 0.2" in err


def test_out_checked_before_evaluating(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, err = _run(_eval(csv, "--out", str(tmp_path)), capsys)
    assert rc == 2 and f"--out '{tmp_path}' is a directory; give the path of a file" in err
    missing = tmp_path / "nope" / "r.json"
    rc, err = _run(_eval(csv, "--out", str(missing)), capsys)
    assert rc == 2 and "does not exist; create it first." in err
    rc, err = _run(_eval(tmp_path / "missing.csv"), capsys)
    assert rc == 2 and "does not exist." in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "msg"),
    [("[1, 2]", "got a JSON list"), ("{", "invalid JSON"), ('{"a": 1}', "schema is None")],
)
def test_report_of_a_file_that_is_not_a_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, msg: str
) -> None:
    p = tmp_path / "x.json"
    p.write_text(text)
    rc, err = _run(["report", str(p), "--out", str(tmp_path / "r.html")], capsys)
    assert rc == 2
    assert f"the file '{p}'" in err and msg in err and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


def test_typed_slice_values_round_trip_through_json(tmp_path: Path) -> None:
    n = 60
    rng = np.random.default_rng(1)
    days = [dt.date(2020, 1, 1), dt.date(2021, 6, 30)]
    df = pd.DataFrame({"y": rng.integers(0, 2, n), "s": rng.random(n),
                       "day": [days[i % 2] for i in range(n)]})  # fmt: skip
    r = assay.evaluate(df, label="y", scores="s", slices=["day"], ci=None)
    p = tmp_path / "r.json"
    r.to_json(p)
    json.loads(p.read_text())  # valid JSON
    back = assay.EvalResult.from_json(p)
    keys = sorted(s.key["day"] for s in back.slices if s.key)
    assert keys == days
    pd.testing.assert_frame_equal(back.to_frame(), r.to_frame())


def test_duplicate_columns_are_named(tmp_path: Path) -> None:
    import pyarrow as pa

    t = pa.table([pa.array([0, 1, 0, 1]), pa.array([0.1, 0.9, 0.2, 0.8]), pa.array([1, 1, 0, 0])],
                 names=["y", "s", "y"])  # fmt: skip
    with pytest.raises(ValueError, match="'y'") as e:
        assay.evaluate(t, label="y", scores="s", ci=None)
    assert "KeyError" not in repr(e.value)


def test_report_headline_metrics_and_threshold_from_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    rng = np.random.default_rng(5)
    n = 600
    d = {"y": rng.integers(0, 2, n), "s": rng.random(n), "g": rng.choice(["a", "b"], n)}
    res = assay.evaluate(d, label="y", scores="s", slices="g", baseline={"g": "b"},
                         thresholds=[0.3, 0.5])  # fmt: skip
    path = tmp_path / "r.json"
    res.to_json(path)
    out = tmp_path / "r.html"
    rc, err = _run(["report", str(path), "--out", str(out), "--headline", "fnr; g=a ;g=b",
                    "--metrics", "fpr,fnr", "--threshold", "0.3"], capsys)  # fmt: skip
    assert rc == 0, err
    m = re.search(r'<script type="application/json" class="assay-report-data">(.*?)</script>',
                  out.read_text(), re.S)  # fmt: skip
    assert m
    payload = json.loads(m.group(1))
    assert payload["headline"]["metric"] == "fnr"
    assert [payload["headline"]["slice"], payload["headline"]["reference"]] == ["g=a", "g=b"]
    assert payload["initial"]["metrics"][:2] == ["fpr", "fnr"]
    assert payload["thresholds"][payload["initial"]["threshold"]] == 0.3
    rc, err = _run(["report", str(path), "--out", str(out), "--headline", "fnr,g=a,g=b"], capsys)
    assert rc == 2
    assert "--headline must be 'METRIC;SLICE;REFERENCE_SLICE' (three parts separated by ';'). Got 'fnr,g=a,g=b'." in err


# ------------------------------------------------------------------------ issue 11: CLI
def _payload(path: Path) -> dict:
    import re

    m = re.search(r'<script type="application/json" class="assay-report-data">(.*?)</script>',
                  path.read_text(), re.S)  # fmt: skip
    assert m
    return json.loads(m.group(1))


@pytest.fixture()
def scored(tmp_path: Path) -> dict:
    rng = np.random.default_rng(11)
    n = 500
    d = pd.DataFrame({"y": rng.integers(0, 2, n), "baseline": rng.random(n),
                      "mindiff": rng.random(n), "g": rng.choice(["a", "b"], n)})  # fmt: skip
    csv = tmp_path / "rows.csv"
    d.to_csv(csv, index=False)
    paths = {}
    for col in ("baseline", "mindiff"):
        r = assay.evaluate(d, label="y", scores=col, slices="g", thresholds=[0.5])
        paths[col] = tmp_path / f"{col}.json"
        r.to_json(paths[col])
        # the same model name in both files
        r2 = assay.evaluate(d, label="y", scores={"s": col}, slices="g", thresholds=[0.5])
        paths[f"s_{col}"] = tmp_path / f"run_{col}.json"
        r2.to_json(paths[f"s_{col}"])
    return {"frame": d, "csv": csv, **paths}


def test_report_names_come_from_the_json(
    scored: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.html"
    rc, err = _run(["report", str(scored["baseline"]), str(scored["mindiff"]), "--out", str(out)],
                   capsys)  # fmt: skip
    assert rc == 0, err
    p = _payload(out)
    assert [r["label"] for r in p["runs"]] == ["baseline", "mindiff"]
    assert "A" not in [r["label"] for r in p["runs"]] and " vs B" not in p["title"]
    # both files name their model 's': the file names tell them apart
    rc, err = _run(["report", str(scored["s_baseline"]), str(scored["s_mindiff"]), "--out", str(out)],
                   capsys)  # fmt: skip
    assert rc == 0, err
    assert [r["label"] for r in _payload(out)["runs"]] == ["run_baseline", "run_mindiff"]
    rc, err = _run(["report", str(scored["baseline"]), "--out", str(out), "--names", "x,y"], capsys)
    assert rc == 2 and "--names needs two results; with one, the models keep their names." in err


def test_report_sample_feeds_the_drill_down(
    scored: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.html"
    rc, err = _run(["report", str(scored["baseline"]), "--out", str(out), "--sample",
                    str(scored["csv"]), "--sample-rows", "7"], capsys)  # fmt: skip
    assert rc == 0, err
    sample = _payload(out)["sample"]
    assert sample is not None and sample["perSlice"] == 7 and sample["total"] == len(scored["frame"])
    d = scored["frame"]
    for name in ("g=a", "g=b"):
        by = sample["bySlice"][name]
        assert by["matched"] == int((d.g == name[2:]).sum())
        assert len(by["rows"]) == 7
    assert _payload(tmp_path / "r.html")["sample"]["columns"]
    rc, err = _run(["report", str(scored["baseline"]), "--out", str(out), "--sample",
                    str(tmp_path / "none.csv")], capsys)  # fmt: skip
    assert rc == 2 and f"--sample '{tmp_path / 'none.csv'}' does not exist." in err
    rc, err = _run(["report", str(scored["baseline"]), "--out", str(out), "--sample",
                    str(scored["csv"]), "--sample-rows", "0"], capsys)  # fmt: skip
    assert rc == 2 and "--sample-rows must be an integer >= 1. Got 0." in err


def test_report_model_card_with_headline_and_info(
    scored: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info = tmp_path / "info.json"
    info.write_text(json.dumps({"intended_use": "Testing the CLI."}))
    card = tmp_path / "card.md"
    rc, err = _run(["report", str(scored["baseline"]), str(scored["mindiff"]), "--out",
                    str(tmp_path / "r.html"), "--model-card", str(card), "--card-info", str(info),
                    "--headline", "fpr;g=a;overall"], capsys)  # fmt: skip
    assert rc == 0, err
    text = card.read_text()
    assert "Testing the CLI." in text and "### Headline" in text
    assert "| baseline |" in text and "| mindiff |" in text
    assert "without an interval: Cannot pair these results" in text


def test_demo_help_states_every_default(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from assay.apps.demo import DEFAULT_WEIGHTS, DEFAULTS
    from assay.cli import _build_parser

    sub = next(a for a in _build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    demo = sub.choices["demo"]
    cfg = DEFAULTS["adult"]
    assert cfg == DEFAULTS["compas"]  # the help states one default for both
    want = {
        "--dataset": "adult", "--data-home": "$ASSAY_DATA_HOME, else ~/assay_data",
        "--out-dir": "out/demo", "--loss": cfg["loss"], "--loss-weight": f"{cfg['loss_weight']:g}",
        "--weights": ",".join(f"{w:g}" for w in DEFAULT_WEIGHTS), "--epochs": str(cfg["epochs"]),
        "--seed": "0", "--quiet": "shown",
    }  # fmt: skip
    options = [a for a in demo._actions if a.option_strings and "--help" not in a.option_strings]
    assert sorted(a.option_strings[0] for a in options) == sorted(want)  # every option checked
    for a in options:
        assert f"(default: {want[a.option_strings[0]]}" in " ".join(a.help.split()), a.option_strings
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "(default: 1,2,4,8)" in " ".join(capsys.readouterr().out.split())
