"""Issue 10: the Spark engine gives the same error as the local engine on the same bad input."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import assay

pytest.importorskip("pyspark")

# ``spark``: tests/engines/conftest.py


CASES = {
    "positive_label_case": (
        pd.DataFrame({"y": ["yes", "no"] * 20, "s": [0.9, 0.2] * 20}),
        {"positive_label": "Yes"},
    ),
    "positive_label_absent": (
        pd.DataFrame({"y": [0, 1] * 20, "s": [0.2, 0.9] * 20}),
        {"positive_label": 2},
    ),
    "zero_weights": (
        pd.DataFrame({"y": [0, 1] * 20, "s": [0.2, 0.9] * 20, "w": [0.0] * 40}),
        {"weight": "w"},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_error_as_local(spark: Any, case: str) -> None:
    df, kw = CASES[case]
    with pytest.raises(ValueError) as local:
        assay.evaluate(df, label="y", scores="s", ci=None, **kw)
    with pytest.raises(ValueError) as dist:
        assay.evaluate(spark.createDataFrame(df).repartition(3), label="y", scores="s",
                       ci=None, **kw)  # fmt: skip
    assert str(dist.value) == str(local.value)
    assert ("positive_label" in str(local.value)) or ("'weight' column" in str(local.value))
