"""Bad input gets a clear error naming what was wrong (exact messages)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import assay


def ev(data=None, **kw):
    d = data if data is not None else {"y": [0, 1, 1, 0], "s": [0.1, 0.8, 0.6, 0.3], "sex": ["F", "M", "F", "M"]}
    kw.setdefault("label", "y")
    kw.setdefault("scores", "s")
    return assay.evaluate(d, **kw)


def raises(exc, msg, **kw):
    with pytest.raises(exc, match=re.escape(msg)):
        ev(**kw)


def test_misspelt_column_suggests_the_closest_name():
    raises(ValueError, "The slice column 'sx' is not in the data. Did you mean 'sex'? Available columns: 'y', 's', 'sex'.", slices="sx")
    raises(ValueError, "The label column 'label' is not in the data. Available columns:", label="label")
    raises(ValueError, "The score column 'score' is not in the data.", scores="score")
    raises(ValueError, "The weight column 'wt' is not in the data.", weight="wt")


def test_labels_must_be_binary():
    raises(
        ValueError,
        "The label column 'y' must hold binary labels (0/1 or booleans); it also holds [2.0]. "
        "For multi-class labels pass 'classes'; for other label values pass 'positive_label'.",
        data={"y": [0, 1, 2], "s": [0.1, 0.2, 0.3]},
    )
    raises(ValueError, "The label column 'y' holds strings (", data={"y": ["a", "b"], "s": [0.1, 0.2]})
    raises(
        ValueError,
        "The label column 'y' must hold binary labels; it holds more than two values: a, b, c.",
        data={"y": ["a", "b", "c"], "s": [0.1, 0.2, 0.3]}, positive_label="a",
    )
    raises(
        ValueError,
        "The label column 'y' holds values that are not in 'classes' ['a', 'b']: c.",
        data={"y": ["a", "b", "c"], "p": [[0.5, 0.5]] * 3}, scores={"m": "p"}, classes=["a", "b"],
    )


def test_nan_or_infinite_values_error_by_default():
    raises(
        ValueError,
        "Found 1 row(s) with a missing or non-finite score in this chunk (first at row 1). "
        "Clean the data or pass on_invalid='drop' to drop such rows and report how many were dropped.",
        data={"y": [0, 1], "s": [0.1, np.nan]},
    )
    raises(ValueError, "non-finite label", data={"y": [0, np.nan], "s": [0.1, 0.2]})
    raises(ValueError, "non-finite score", data={"y": [0, 1], "s": [0.1, np.inf]}, score_type="logit")
    raises(ValueError, "missing or non-finite weight", data={"y": [0, 1], "s": [0.1, 0.2], "w": [1, np.nan]}, weight="w")


def test_empty_data_and_all_rows_dropped():
    raises(ValueError, "The 'data' parameter of evaluate must hold at least one row. Got 0.", data={"y": np.array([], int), "s": np.array([])})
    raises(ValueError, "All 2 rows were dropped as invalid (on_invalid='drop'); nothing to evaluate.",
           data={"y": [0, 1], "s": [np.nan, np.nan]}, on_invalid="drop")  # fmt: skip


def test_negative_weights():
    raises(ValueError, "The weight column 'w' must hold non-negative weights; row 1 has weight -2.",
           data={"y": [0, 1], "s": [0.1, 0.2], "w": [1.0, -2.0]}, weight="w")  # fmt: skip


def test_thresholds_and_probability_scores_out_of_range():
    raises(ValueError, "The 'thresholds' parameter of evaluate must be a list of floats in [0, 1] (thresholds apply to probabilities; logits are converted with score_type='logit'). Got [0.5, 1.5] instead.", thresholds=[0.5, 1.5])
    raises(ValueError, "The 'thresholds' parameter of evaluate must be a list of distinct floats.", thresholds=[0.5, 0.5])
    raises(TypeError, "The 'thresholds' parameter of evaluate must be a list of floats in [0, 1]. Got '0.5' of type str instead.", thresholds="0.5")
    raises(
        ValueError,
        "The score column(s) ['s'] of model 's' hold values outside [0, 1] (min -1, max 3) but "
        "score_type='probability'. Pass score_type='logit' for logits or other unbounded scores.",
        data={"y": [0, 1], "s": [-1.0, 3.0]},
    )


def test_parameter_choices_and_types():
    raises(ValueError, "The 'ci' parameter of evaluate must be one of {'jackknife', 'bootstrap', None}. Got 'jack' instead.", ci="jack")
    raises(ValueError, "The 'confidence' parameter of evaluate must be a float in the open interval (0, 1). Got 95 instead.", confidence=95)
    raises(ValueError, "The 'min_slice_size' parameter of evaluate must be an int >= 1. Got 0 instead.", min_slice_size=0)
    raises(TypeError, "The 'label' parameter of evaluate must be a column name (str). Got 3 of type int instead.", label=3)
    raises(ValueError, "The 'baseline' parameter of evaluate must name an evaluated slice", baseline="sex=X", slices="sex")
    raises(ValueError, "A slice in 'slices' repeats a column: ('sex', 'sex').", slices=[("sex", "sex")])
    raises(TypeError, "The 'data' parameter of evaluate must be a pandas or polars DataFrame", data=[1, 2, 3])


def test_mismatched_column_lengths():
    raises(ValueError, "All columns of 'data' must have the same length. Got lengths {'y': 2, 's': 3} instead.",
           data={"y": [0, 1], "s": [0.1, 0.2, 0.3]})  # fmt: skip


def test_malformed_csv_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("y,s\n" + "0,0.1\n" * 10 + "1,0.2,extra\n")
    with pytest.raises(ValueError, match=re.escape(f"Could not parse the CSV file {str(p)!r}: CSV parse error: Expected 2 columns, got 3")):
        assay.evaluate(p, label="y", scores="s")


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape("The 'data' path")):
        assay.evaluate(tmp_path / "nope.parquet", label="y", scores="s")
    p = tmp_path / "d.xlsx"
    p.write_text("x")
    with pytest.raises(ValueError, match=re.escape("The 'data' path of evaluate must end in .parquet, .pq, .csv, .csv.gz or .tsv")):
        assay.evaluate(p, label="y", scores="s")


def test_unknown_lookups_on_the_result():
    r = ev(slices="sex", thresholds=[0.5])
    with pytest.raises(ValueError, match=re.escape("Unknown metric 'fpx'")):
        r.value("fpx")
    with pytest.raises(ValueError, match=re.escape("Unknown slice 'sex=X'")):
        r.value("fpr", slice="sex=X", threshold=0.5)
    with pytest.raises(ValueError, match=re.escape("No value for metric 'fpr' at threshold 0.3; thresholds are [0.5]")):
        r.value("fpr", threshold=0.3)
