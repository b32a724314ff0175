"""Issue 10, last items: unambiguous slice names for awkward values, Parquet directories whose
files differ, and the CSV missing-value setting recorded in the result."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import assay
from assay.core.slicing import slice_value_text

AWKWARD = ["x, b=y", "x", "null", "", " padded", '"quoted"', "a=b", "plain, comma", "Namibia NA"]


def awkward_data(n_per: int = 20) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    g = np.array([v for v in [*AWKWARD, None] for _ in range(n_per)], dtype=object)
    b = np.array(["y", "z"] * (len(g) // 2), dtype=object)
    return {"g": g, "b": b, "y": rng.integers(0, 2, len(g)), "s": rng.random(len(g))}


def test_awkward_values_get_distinct_names_that_find_their_rows() -> None:
    d = awkward_data()
    r = assay.evaluate(d, label="y", scores="s", slices=["g", ("g", "b")], min_slice_size=1)
    names = [s.slice for s in r.slices]
    assert len(names) == len(set(names)), "two slices share a name"
    one = [s for s in r.slices if s.feature == "g"]
    assert len(one) == len(AWKWARD) + 1
    for value in [*AWKWARD, None]:
        rows = np.array([v == value if value is not None else v is None for v in d["g"]])
        want = float(np.mean(d["y"][rows]))
        by_key = r.value("mean_label", slice={"g": value})
        info = next(s for s in one if s.key == {"g": value})
        by_name = r.value("mean_label", slice=info.slice)
        assert by_key.value == pytest.approx(want) and by_name.value == pytest.approx(want)
        assert info.count == rows.sum()
    # a value with "=" is quoted, so it cannot pass for the cross slice g=x, b=y
    cross = r.value("mean_label", slice={"g": "x", "b": "y"})
    rows = (d["g"] == "x") & (d["b"] == "y")
    assert cross.value == pytest.approx(np.mean(d["y"][rows]))
    assert 'g="x, b=y"' in names and "g=x, b=y" in names
    # the string "null" and the missing value are two slices with two names
    assert 'g="null"' in names and "g=null" in names


@pytest.mark.parametrize(
    ("value", "text"),
    [("Female", "Female"), ("x, b=y", '"x, b=y"'), ("null", '"null"'), (None, "null"),
     ("", '""'), (" a", '" a"'), ("[20, 40)", "[20, 40)"), ('"q', '"\\"q"')],
)
def test_slice_value_text_quotes_only_what_could_be_misread(value: object, text: str) -> None:
    assert slice_value_text(value) == text
    if text.startswith('"'):
        assert json.loads(text) == value  # quoted names are JSON strings: they read back


def test_names_survive_a_json_round_trip() -> None:
    r = assay.evaluate(awkward_data(), label="y", scores="s", slices=["g"], min_slice_size=1)
    back = assay.EvalResult.from_json(r.to_json())
    assert [s.slice for s in back.slices] == [s.slice for s in r.slices]
    assert [s.key for s in back.slices] == [s.key for s in r.slices]


def _write(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


@pytest.mark.parametrize("first_has_column", [True, False])
def test_parquet_directory_with_a_column_missing_from_one_file(
    tmp_path: Path, first_has_column: bool
) -> None:
    rng = np.random.default_rng(0)
    y, s = rng.integers(0, 2, 80), rng.random(80)
    g = np.array(["a", "b"] * 40)
    with_g, without = ("part-0", "part-1") if first_has_column else ("part-1", "part-0")
    _write(tmp_path / "d" / f"{with_g}.parquet", pa.table({"y": y[:40], "s": s[:40], "g": g[:40]}))
    _write(tmp_path / "d" / f"{without}.parquet", pa.table({"y": y[40:], "s": s[40:]}))
    r = assay.evaluate(str(tmp_path / "d"), label="y", scores="s", slices=["g"], min_slice_size=1)
    # rows of the file without the column are the slice of missing values
    assert r.value("mean_label", slice={"g": None}).value == pytest.approx(y[40:].mean())
    assert r.value("mean_label", slice={"g": "a"}).value == pytest.approx(y[:40][g[:40] == "a"].mean())
    assert r.value("mean_label").value == pytest.approx(y.mean())


def test_parquet_directory_with_types_that_disagree(tmp_path: Path) -> None:
    d = tmp_path / "d"
    _write(d / "a.parquet", pa.table({"y": [0, 1], "s": [0.1, 0.9], "g": pa.array([1, 2])}))
    _write(d / "b.parquet", pa.table({"y": [0, 1], "s": [0.2, 0.8],
                                      "g": pa.array(["1", "2"])}))
    msg = (f"The Parquet files of the directory disagree on the type of column 'g': int64 in "
           f"{str(d / 'a.parquet')!r}, string in {str(d / 'b.parquet')!r}. "
           "Write the files with one schema.")  # fmt: skip
    with pytest.raises(ValueError, match=re.escape(msg)):
        assay.evaluate(str(d), label="y", scores="s", slices=["g"])


def test_parquet_directory_without_parquet_files(tmp_path: Path) -> None:
    d = tmp_path / "empty"
    d.mkdir()
    (d / "_SUCCESS").write_text("")
    msg = (f"The 'data' directory {str(d)!r} holds no Parquet files (names starting with "
           "'.' or '_' are ignored).")  # fmt: skip
    with pytest.raises(ValueError, match=re.escape(msg)):
        assay.evaluate(str(d), label="y", scores="s")


def test_na_values_are_recorded_in_the_result(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    rows = ["country,y,s"] + [f"{c},{i % 2},{(i % 10) / 10}" for i, c in
                              enumerate(["NA", "DE", "-", "FR"] * 10)]  # fmt: skip
    path.write_text("\n".join(rows) + "\n")
    r = assay.evaluate(str(path), label="y", scores="s", slices=["country"], na_values=["-"],
                       min_slice_size=1)  # fmt: skip
    assert r.config["na_values"] == ["-"]
    keys = [s.key["country"] for s in r.slices if s.feature == "country"]
    assert "NA" in keys and None in keys and "-" not in keys  # Namibia stays; "-" is missing
    assert assay.EvalResult.from_json(r.to_json()).config["na_values"] == ["-"]
    plain = assay.evaluate(str(path), label="y", scores="s", slices=["country"])
    assert plain.config["na_values"] is None
