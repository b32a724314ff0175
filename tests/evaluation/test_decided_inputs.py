"""Issue 10, "also decide": an all-zero weight column and multi-class probabilities that do
not sum to 1 (documented in docs/evaluation.md, "Inputs and errors")."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import assay


def test_all_zero_weights_are_an_error() -> None:
    df = pd.DataFrame({"y": [0, 1, 0, 1], "s": [0.1, 0.9, 0.2, 0.8], "w": [0.0] * 4})
    msg = ("The 'weight' column of evaluate sums to 0 over the 4 evaluated rows: every metric "
           "would be 0/0. Give some rows a positive weight.")  # fmt: skip
    with pytest.raises(ValueError, match=re.escape(msg)):
        assay.evaluate(df, label="y", scores="s", weight="w", ci=None)


def test_a_slice_with_zero_weight_has_missing_metrics() -> None:
    df = pd.DataFrame({"y": [0, 1, 0, 1], "s": [0.1, 0.9, 0.2, 0.8],
                       "w": [1.0, 1.0, 0.0, 0.0], "g": list("aabb")})  # fmt: skip
    r = assay.evaluate(df, label="y", scores="s", weight="w", slices=["g"], ci=None)
    assert np.isnan(r.value("roc_auc", slice="g=b").value)
    assert r.value("roc_auc", slice="g=b").count == 2
    assert r.value("roc_auc", slice="g=a").value == 1.0


def test_multiclass_scores_need_not_sum_to_one() -> None:
    # one-vs-rest: each class's column is that class's score, taken as given
    rng = np.random.default_rng(0)
    n = 300
    y = rng.integers(0, 3, n)
    p = rng.random((n, 3)) * 0.5 + 0.5 * np.eye(3)[y] * rng.random((n, 1))
    assert not np.allclose(p.sum(axis=1), 1.0)
    df = pd.DataFrame({"y": y, "p0": p[:, 0], "p1": p[:, 1], "p2": p[:, 2]})
    r = assay.evaluate(df, label="y", scores=["p0", "p1", "p2"], classes=[0, 1, 2], ci=None)
    for c in range(3):
        want = roc_auc_score(y == c, p[:, c])
        assert r.value("roc_auc", cls=c).value == pytest.approx(want, abs=1e-3)
        assert r.value("mean_score", cls=c).value == pytest.approx(p[:, c].mean(), rel=1e-12)
