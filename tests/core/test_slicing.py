"""assay.bins and the max_slices guard."""

from __future__ import annotations

import re

import numpy as np
import pytest

import assay


def _parse(label):
    m = re.fullmatch(r"\[(.+), (.+)([)\]])", label)
    assert m, label
    return float(m.group(1)), float(m.group(2)), m.group(3) == "]"


def test_quantile_bins_hold_equal_shares_and_contain_their_values():
    rng = np.random.default_rng(0)
    x = rng.normal(50, 10, 10_000)
    b = assay.bins(x, 4, digits=12)
    labels, counts = np.unique(b.astype(str), return_counts=True)
    assert len(labels) == 4
    assert counts.min() >= 2490 and counts.max() <= 2510
    for v, lab in zip(x[:500], b[:500], strict=True):
        lo, hi, closed = _parse(lab)
        assert lo <= v + 1e-9 and (v < hi + 1e-9 or (closed and v <= hi + 1e-9))  # labels are rounded
    edges = np.quantile(x, [0.25, 0.5, 0.75], method="inverted_cdf")  # edges are data values
    assert sorted(_parse(lab)[1] for lab in labels)[:3] == pytest.approx(edges, rel=1e-9)


def test_fixed_edges_missing_values_and_ties():
    b = assay.bins([1, 5, 10, 20, np.nan, 100], edges=[0, 10, 18, 65])
    assert list(b) == ["[0, 10)", "[0, 10)", "[10, 18)", "[18, 65]", None, "[18, 65]"]
    # repeated quantile edges merge: a column with two values gets two bins
    b2 = assay.bins([0, 0, 0, 0, 1, 1], 5)
    assert sorted(set(b2)) == ["[0, 1]"]  # the quantile edges are 0, 0, ..., 1: one bin
    r = assay.evaluate({"y": [0, 1, 1, 0, 1, 0], "s": [.1, .9, .8, .3, .7, .2],
                        "age": assay.bins([20, 30, 40, 50, 60, 70], 2)},
                       label="y", scores="s", slices="age", ci=None)  # fmt: skip
    assert sorted(s.slice for s in r.slices)[:2] == ["age=[20, 40)", "age=[40, 70]"]


def test_bins_bad_input():
    with pytest.raises(ValueError, match=r"The 'edges' parameter of bins must be at least two increasing"):
        assay.bins([1, 2], edges=[3, 1])
    with pytest.raises(TypeError, match=r"The 'n_bins' parameter of bins must be an int"):
        assay.bins([1, 2], 2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"The 'values' parameter of bins must be numbers"):
        assay.bins(["a", "b"])


def test_max_slices_guard_names_the_column_and_the_remedy():
    n = 500
    d = {"y": np.arange(n) % 2, "s": np.linspace(0, 1, n), "zip": np.arange(n)}
    with pytest.raises(ValueError, match=re.escape(
        "The evaluation has more than max_slices=100 slices (501 so far; 'zip' alone has 500 "
        "values). Group the values of a high-cardinality column first: assay.bins(values, "
        "n_bins) bins a numeric column into quantile bins")):  # fmt: skip
        assay.evaluate(d, label="y", scores="s", slices="zip", max_slices=100)
    r = assay.evaluate(d, label="y", scores="s", slices="zip", max_slices=1000, ci=None)
    assert len(r.slices) == 501
    binned = dict(d, zip=assay.bins(d["zip"], 10))
    assert len(assay.evaluate(binned, label="y", scores="s", slices="zip", ci=None).slices) == 11
    with pytest.raises(TypeError, match=r"The 'max_slices' parameter of evaluate must be an int"):
        assay.evaluate(d, label="y", scores="s", max_slices="many")
