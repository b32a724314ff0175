"""load_german and load_bank_marketing against the UCI documentation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from assay.datasets import load_bank_marketing, load_german


def _counts(col: pa.ChunkedArray) -> dict[object, int]:
    values, counts = pc.value_counts(col).flatten()
    return dict(zip(values.to_pylist(), counts.to_pylist(), strict=True))


def test_german(need_data: Callable[..., Path]) -> None:
    home = need_data("german/german.data")
    table = load_german(data_home=home, download=False)
    assert table.num_rows == 1000
    assert table.num_columns == 20 + 3
    assert table.column_names[-3:] == ["sex", "credit", "label"]
    # german.doc: 700 good and 300 bad credits.
    assert pc.sum(table["label"]).as_py() == 700
    assert _counts(table["credit"]) == {"good": 700, "bad": 300}
    assert table.schema.field("label").type == pa.int8()
    assert table.schema.field("age").type == pa.int64()
    assert table.schema.field("credit_amount").type == pa.int64()
    # First row of german.data: A11 6 A34 A43 1169 A65 A75 4 A93 ... 67 ... class 1.
    first = table.slice(0, 1).to_pylist()[0]
    assert first["checking_status"] == "A11"
    assert first["duration"] == 6
    assert first["credit_amount"] == 1169
    assert first["personal_status"] == "A93"
    assert first["age"] == 67
    assert first["foreign_worker"] == "A201"
    assert first["sex"] == "male"
    assert first["label"] == 1


def test_german_sex(need_data: Callable[..., Path]) -> None:
    home = need_data("german/german.data")
    table = load_german(data_home=home, download=False)
    female = {"A92", "A95"}
    for status, sex in zip(
        table["personal_status"].to_pylist(), table["sex"].to_pylist(), strict=True
    ):
        assert sex == ("female" if status in female else "male")
    # The file has no A95 (single women): 310 women, all coded A92.
    assert _counts(table["sex"]) == {"male": 690, "female": 310}


def test_bank_full(need_data: Callable[..., Path]) -> None:
    home = need_data("bank_marketing/bank-full.csv")
    table = load_bank_marketing(data_home=home, download=False)
    # bank-names.txt: 45211 instances, 17 attributes; 5289 subscribed.
    assert table.num_rows == 45211
    assert table.num_columns == 17 + 1
    assert _counts(table["y"]) == {"no": 39922, "yes": 5289}
    assert pc.sum(table["label"]).as_py() == 5289
    assert table.schema.field("age").type == pa.int64()
    assert table.schema.field("job").type == pa.string()
    assert table["job"][0].as_py() == "management"  # quotes removed


def test_bank_additional(need_data: Callable[..., Path]) -> None:
    home = need_data("bank_marketing/bank-additional-full.csv")
    table = load_bank_marketing(variant="additional", data_home=home, download=False)
    # bank-additional-names.txt: 41188 instances, 20 inputs + y.
    assert table.num_rows == 41188
    assert table.num_columns == 21 + 1
    assert "emp_var_rate" in table.column_names
    assert not any("." in name for name in table.column_names)
    assert table.schema.field("euribor3m").type == pa.float64()
    assert pc.sum(table["label"]).as_py() == 4640


def test_bank_bad_variant() -> None:
    with pytest.raises(ValueError, match="The 'variant' parameter of load_bank_marketing"):
        load_bank_marketing(variant="small")
