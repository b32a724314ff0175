"""load_adult against the figures published in UCI's adult.names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from assay.datasets import load_adult

FILES = ("adult/adult.data", "adult/adult.test")
COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
    "label",
]
INT_COLUMNS = {"age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"}


@pytest.fixture(scope="module")
def home(need_data: Callable[..., Path]) -> Path:
    return need_data(*FILES)


@pytest.fixture(scope="module")
def train(home: Path) -> pa.Table:
    return load_adult(split="train", data_home=home, download=False)


@pytest.fixture(scope="module")
def test(home: Path) -> pa.Table:
    return load_adult(split="test", data_home=home, download=False)


def _rows_with_nulls(table: pa.Table) -> int:
    any_null = None
    for col in table.columns:
        isnull = pc.is_null(col)
        any_null = isnull if any_null is None else pc.or_(any_null, isnull)
    return int(pc.sum(pc.cast(any_null, pa.int64())).as_py())


def test_row_counts(train: pa.Table, test: pa.Table) -> None:
    # adult.names: 48842 instances (train=32561, test=16281)
    assert train.num_rows == 32561
    assert test.num_rows == 16281


def test_schema(train: pa.Table, test: pa.Table) -> None:
    for table in (train, test):
        assert table.column_names == COLUMNS
        for field in table.schema:
            if field.name in INT_COLUMNS:
                assert field.type == pa.int64(), field.name
            elif field.name == "label":
                assert field.type == pa.int8()
            else:
                assert field.type == pa.string(), field.name


def test_positive_rate(train: pa.Table, test: pa.Table) -> None:
    # 24.08 % of the training rows earn >50K (7841 of 32561); 23.93 % over both files.
    assert pc.sum(train["label"]).as_py() == 7841
    assert round(100 * 7841 / 32561, 2) == 24.08
    both = pc.sum(train["label"]).as_py() + pc.sum(test["label"]).as_py()
    assert round(100 * both / 48842, 2) == 23.93


def test_income_and_label_agree(train: pa.Table, test: pa.Table) -> None:
    for table in (train, test):
        assert set(table["income"].to_pylist()) == {"<=50K", ">50K"}  # no trailing '.'
        expected = pc.cast(pc.equal(table["income"], ">50K"), pa.int8())
        assert table["label"].equals(expected)


def test_missing_values(train: pa.Table, test: pa.Table) -> None:
    # adult.names: 45222 instances without unknowns (train=30162, test=15060), so 3620
    # rows with a '?' in all: 2399 in train and 1221 in test.
    assert _rows_with_nulls(train) == 32561 - 30162 == 2399
    assert _rows_with_nulls(test) == 16281 - 15060 == 1221
    nullable = {"workclass", "occupation", "native_country"}
    for table in (train, test):
        for name in table.column_names:
            assert (table[name].null_count > 0) == (name in nullable), name
        for name in nullable:
            assert "?" not in set(table[name].to_pylist())


def test_sex_counts(train: pa.Table) -> None:
    counts = dict(zip(*pc.value_counts(train["sex"]).flatten(), strict=True))
    assert {str(k): int(v.as_py()) for k, v in counts.items()} == {"Male": 21790, "Female": 10771}


def test_strings_are_stripped(train: pa.Table, test: pa.Table) -> None:
    for table in (train, test):
        for name in ("workclass", "education", "race", "sex", "native_country"):
            values = [v for v in pc.unique(table[name]).to_pylist() if v is not None]
            assert all(v == v.strip() for v in values), name
    assert train["age"][0].as_py() == 39
    assert train["workclass"][0].as_py() == "State-gov"
    assert test["age"][0].as_py() == 25  # the comment line of adult.test is skipped


def test_split_all(home: Path, train: pa.Table, test: pa.Table) -> None:
    both = load_adult(split="all", data_home=home, download=False)
    assert both.num_rows == 48842
    assert both.column_names == [*COLUMNS, "split"]
    assert both.schema.field("split").type == pa.string()
    assert both["split"].to_pylist() == ["train"] * 32561 + ["test"] * 16281
    assert _rows_with_nulls(both.drop_columns(["split"])) == 3620
    assert both.drop_columns(["split"]).slice(32561).equals(test)


def test_bad_split() -> None:
    msg = (
        "The 'split' parameter of load_adult must be one of {'train', 'test', 'all'}. "
        "Got 'tran' instead."
    )
    with pytest.raises(ValueError) as info:
        load_adult(split="tran")
    assert str(info.value) == msg
