"""Issue 10: right numbers or a clear error for bad inputs."""

from __future__ import annotations

import re

import numpy as np
import pytest

import assay

S = np.linspace(0, 1, 60)


def test_string_classes_match_integer_labels():
    y = np.array([0, 1, 2, 1, 0, 2] * 10)
    p = np.random.default_rng(0).dirichlet([1, 1, 1], size=60)
    r = assay.evaluate({"y": y, "p0": p[:, 0], "p1": p[:, 1], "p2": p[:, 2]}, label="y",
                       scores=["p0", "p1", "p2"], classes=["0", "1", "2"])  # fmt: skip
    for c in range(3):
        assert r.value("mean_label", cls=c).value == pytest.approx(np.mean(y == c))


def test_positive_label_matching_no_label():
    msg = ("The 'positive_label' parameter of evaluate must be one of the values of the label "
           "column 'y' (labels seen: 'no', 'yes'). Got 'Yes' instead")  # fmt: skip
    with pytest.raises(ValueError, match=re.escape(msg)):
        assay.evaluate({"y": np.array(["yes", "no"] * 30), "s": S}, label="y", scores="s",
                       positive_label="Yes")  # fmt: skip


def test_boolean_labels_honour_positive_label():
    b = np.array([True, False] * 30)
    r1 = assay.evaluate({"y": b, "s": S}, label="y", scores="s", positive_label=False)
    r2 = assay.evaluate({"y": ~b, "s": S}, label="y", scores="s")
    assert r1.value("roc_auc").value == pytest.approx(r2.value("roc_auc").value)
