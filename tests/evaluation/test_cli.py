"""The command line: assay evaluate on files, exit codes and messages."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

import assay
from assay.cli import main


def write_csv(path, n=500):
    rng = np.random.default_rng(0)
    t = pa.table({"y": rng.integers(0, 2, n), "p": np.round(rng.random(n), 3), "q": np.round(rng.random(n), 3),
                  "sex": rng.choice(["F", "M"], n), "race": rng.choice(["a", "b"], n)})  # fmt: skip
    pacsv.write_csv(t, path)
    return t


def test_evaluate_prints_table_and_writes_json(tmp_path, capsys):
    path = tmp_path / "d.csv"
    t = write_csv(path)
    out = tmp_path / "r.json"
    code = main(["evaluate", str(path), "--label", "y", "--score", "p", "--slice", "sex", "--slice", "sex,race",
                 "--thresholds", "0.3,0.5", "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "500 rows" in text and "sex=F, race=a" in text and "fpr" in text
    res = assay.EvalResult.from_json(out)
    ref = assay.evaluate(t, label="y", scores="p", slices=["sex", ("sex", "race")], thresholds=[0.3, 0.5])
    assert res.value("fnr", slice="sex=M", threshold=0.3).value == ref.value("fnr", slice="sex=M", threshold=0.3).value
    assert json.loads(out.read_text())["config"]["thresholds"] == [0.3, 0.5]


def test_two_models_and_bootstrap(tmp_path, capsys):
    path = tmp_path / "d.csv"
    write_csv(path)
    code = main(["evaluate", str(path), "--label", "y", "--score", "p", "--score", "q", "--ci", "bootstrap",
                 "--replicates", "20", "--metrics", "fpr,flip_rate", "--quiet"])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "model p" in text and "model q" in text


def test_bad_column_exits_2_with_message(tmp_path, capsys):
    path = tmp_path / "d.csv"
    write_csv(path)
    code = main(["evaluate", str(path), "--label", "y", "--score", "pp", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "assay evaluate: error: The score column 'pp' is not in the data. Did you mean 'p'?" in err
