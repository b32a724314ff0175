"""The metric catalogue and the family registry."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import assay
from assay.core import catalogue
from assay.core.catalogue import MetricInfo
from assay.core.registry import families, tasks

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _classification_result(models=2):
    rng = np.random.default_rng(0)
    n = 400
    d = {"y": rng.integers(0, 2, n), "g": rng.choice(["a", "b"], n)}
    for m in range(models):
        d[f"s{m}"] = rng.random(n)
    return assay.evaluate(d, label="y", scores=[f"s{m}" for m in range(models)], slices="g")


def test_every_metric_of_every_family_is_in_the_catalogue():
    rng = np.random.default_rng(1)
    reg = assay.evaluate({"y": rng.normal(size=100), "p": rng.normal(size=100)},
                         label="y", scores="p", task="regression")  # fmt: skip
    for r in (_classification_result(), reg):
        for m in r.metrics:
            assert catalogue.metric(m) is not None, m
    names = {e.name for e in catalogue.metrics()}
    assert {"fpr", "roc_auc", "ece", "flip_rate", "example_count", "r2"} <= names


def test_catalogue_drives_interval_clipping_and_thresholds():
    r = _classification_result()
    tbl = r.to_arrow().to_pylist()
    for row in tbl:
        info = catalogue.metric(row["metric"])
        assert info is not None
        assert (row["threshold"] is not None and not math.isnan(row["threshold"])) == info.per_threshold
        lo, hi = info.bounds("classification")
        for k in ("lower", "upper"):
            v = row[k]
            if v is not None and not math.isnan(v):
                assert lo <= v <= hi, (row["metric"], k, v)
        if info.size:
            assert math.isnan(row["lower"]) and math.isnan(row["diff"])


def test_task_ranges():
    e = catalogue.metric("mean_label")
    assert e is not None
    assert e.bounds("classification") == (0.0, 1.0)
    assert e.bounds("regression") == (-math.inf, math.inf)


def test_conflicting_entries_are_refused_and_identical_ones_ignored():
    fpr = catalogue.metric("fpr")
    assert fpr is not None
    catalogue.register(fpr)  # identical: no-op
    with pytest.raises(ValueError, match="already has an entry 'fpr' \\(from family 'confusion'\\)"):
        catalogue.register(MetricInfo("fpr", "Other", "", family="x", group="x"))


def test_catalogue_order_follows_family_order():
    order = [e.family for e in catalogue.metrics()]
    ranks = {f.name: f.order for f in families()}
    assert [ranks[f] for f in order] == sorted(ranks[f] for f in order)
    assert order[0] == "counts"


def test_registered_tasks():
    t = tasks()
    assert t["classification"].labels == "binary" and t["classification"].thresholds
    assert t["regression"].labels == "numeric" and not t["regression"].thresholds


def test_docs_metrics_page_is_generated_from_the_catalogue():
    assert (DOCS / "metrics.md").read_text() == catalogue.markdown() + "\n", (
        "docs/metrics.md is out of date: run `assay metrics > docs/metrics.md`"
    )


def test_result_json_carries_the_catalogue_entries():
    d = _classification_result(1).to_dict()
    assert d["catalogue"]["fpr"]["label"] == "False positive rate"
    assert d["catalogue"]["fpr"]["per_threshold"] is True
    assert d["catalogue"]["tp"]["upper"] is None  # infinite bound written as null
    assert set(d["catalogue"]) == set(d["metrics"]["metric"])
