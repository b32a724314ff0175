"""load_compas against ProPublica's published row counts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from assay.datasets import load_compas

TWO_YEAR = "compas/compas-scores-two-years.csv"
VIOLENT = "compas/compas-scores-two-years-violent.csv"


def test_raw_two_year(need_data: Callable[..., Path]) -> None:
    home = need_data(TWO_YEAR)
    raw = load_compas(data_home=home, download=False, filter_propublica=False)
    assert raw.num_rows == 7214
    # 53 columns in the file, the repeated names suffixed, plus label and score.
    assert raw.num_columns == 53 + 2
    assert len(set(raw.column_names)) == raw.num_columns
    for name in ("decile_score", "decile_score_1", "priors_count", "priors_count_1"):
        assert name in raw.column_names
    assert raw["decile_score"].equals(raw["decile_score_1"])
    assert raw["priors_count"].equals(raw["priors_count_1"])


def test_filtered_two_year(need_data: Callable[..., Path]) -> None:
    home = need_data(TWO_YEAR)
    table = load_compas(data_home=home, download=False)
    # ProPublica's analysis keeps 6172 of the 7214 people.
    assert table.num_rows == 6172
    days = table["days_b_screening_arrest"]
    assert days.null_count == 0
    assert pc.min(days).as_py() >= -30
    assert pc.max(days).as_py() <= 30
    assert "O" not in set(table["c_charge_degree"].to_pylist())
    assert "N/A" not in set(table["score_text"].to_pylist())
    # ProPublica: 2809 of the 6172 reoffended within two years (45.5 %).
    assert pc.sum(table["label"]).as_py() == 2809
    # Race counts of ProPublica's notebook.
    races = {
        k.as_py(): v.as_py() for k, v in zip(*pc.value_counts(table["race"]).flatten(), strict=True)
    }
    assert races["African-American"] == 3175
    assert races["Caucasian"] == 2103


def test_label_and_score(need_data: Callable[..., Path]) -> None:
    home = need_data(TWO_YEAR)
    table = load_compas(data_home=home, download=False)
    assert table.schema.field("label").type == pa.int8()
    assert table.schema.field("score").type == pa.float64()
    assert table["label"].to_pylist() == table["two_year_recid"].to_pylist()
    expected = [d / 10 for d in table["decile_score"].to_pylist()]
    assert table["score"].to_pylist() == pytest.approx(expected)
    assert pc.min(table["score"]).as_py() >= 0.1
    assert pc.max(table["score"]).as_py() <= 1.0


def test_na_strings_are_kept(need_data: Callable[..., Path]) -> None:
    # 'N/A' is a value of score_text in the violent file, not a missing value marker.
    home = need_data(VIOLENT)
    raw = load_compas(variant="violent", data_home=home, download=False, filter_propublica=False)
    assert raw["score_text"].to_pylist().count("N/A") == 5


def test_violent(need_data: Callable[..., Path]) -> None:
    home = need_data(VIOLENT)
    raw = load_compas(variant="violent", data_home=home, download=False, filter_propublica=False)
    assert raw.num_rows == 4743
    assert raw.num_columns == 54 + 2
    assert "two_year_recid_1" in raw.column_names
    assert raw["two_year_recid"].equals(raw["two_year_recid_1"])
    table = load_compas(variant="violent", data_home=home, download=False)
    # ProPublica's violent-recidivism analysis keeps 4020 people, 652 of them reoffended.
    assert table.num_rows == 4020
    assert pc.sum(table["label"]).as_py() == 652
    expected = [d / 10 for d in table["v_decile_score"].to_pylist()]
    assert table["score"].to_pylist() == pytest.approx(expected)


def test_bad_variant() -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'variant' parameter of load_compas must be one of "
        r"\{'two_year', 'violent'\}\. Got 'violet' instead\.",
    ):
        load_compas(variant="violet")
