"""The report and the model card read the metric catalogue: a regression result (a family
the report code never names) renders with its catalogue names, groups and plot; a metric
or plot registered in the catalogue shows up without report code changes; a metric the
catalogue does not know still renders under its id."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_report_browser import Watched, bars
from test_report_card import numbers, section, table_rows
from test_report_html import embedded

import assay
from assay.core import catalogue
from assay.core.catalogue import MetricInfo, PlotInfo
from assay.report import build_payload, model_card, render_html
from assay.report._card import default_card_metrics

REGRESSION = (
    "mean_squared_error", "root_mean_squared_error", "mean_absolute_error", "r2",
    "mean_label", "mean_prediction",
)  # fmt: skip


def regression_data(n: int = 1500, seed: int = 4) -> dict[str, Any]:
    """Numeric labels and predictions, a group column with one tiny group."""
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]).astype(object)
    g[:10] = "tiny"
    y = rng.normal(10 + 3 * (g == "b"), 2 + (g == "c"), n)
    p = y + rng.normal(0.8 * (g == "a"), 1.5, n)
    return {"g": g, "y": y, "p": p}


@pytest.fixture(scope="module")
def reg() -> assay.EvalResult:
    return assay.evaluate(
        regression_data(), label="y", scores="p", slices=["g"], task="regression",
        min_slice_size=30,
    )  # fmt: skip


def with_metric(result: assay.EvalResult, name: str, like: str) -> assay.EvalResult:
    """``result`` through JSON, with a copy of metric ``like``'s rows under ``name``."""
    doc = result.to_dict()
    cols = doc["metrics"]
    rows = [i for i, m in enumerate(cols["metric"]) if m == like]
    for c, vals in cols.items():
        vals.extend(name if c == "metric" else vals[i] for i in rows)
    return assay.EvalResult.from_json(json.dumps(doc))


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    """A fresh page in the session's Chromium, watched as the browser tests watch theirs."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(15000)
    yield Watched(page)
    ctx.close()


@pytest.fixture
def ad_hoc() -> Iterator[tuple[MetricInfo, PlotInfo]]:
    """A metric and a plot registered in the catalogue by the test alone."""
    m = MetricInfo(
        "ad_hoc_bias", "Ad hoc bias", "A metric no report code knows.", family="ad_hoc",
        group="Ad hoc family", better="lower",
    )  # fmt: skip
    p = PlotInfo(
        id="ad_hoc_plot", title="Ad hoc bias against mean label",
        help="Drawn from the catalogue entry only.", family="ad_hoc", x="mean_label",
        y="ad_hoc_bias", x_label="mean label", y_label="ad hoc bias",
        table=("mean_label", "ad_hoc_bias"),
    )  # fmt: skip
    catalogue.register(m, p)
    try:
        yield m, p
    finally:
        cat: Any = catalogue._CATALOGUE
        cat.metrics.pop(m.name, None)
        cat.plots.pop(p.id, None)
        for key in ("m:" + m.name, "p:" + p.id):
            getattr(cat, "rank", {}).pop(key, None)


# ------------------------------------------------------------------------ payload
def test_regression_payload_reads_the_catalogue(reg: Any) -> None:
    p = embedded(render_html(reg))
    assert p["title"] == "Evaluation report: p"
    assert p["task"] == "regression" and p["thresholds"] == []
    assert p["initial"]["threshold"] is None
    info = p["metricsInfo"]
    for m in REGRESSION:
        e = catalogue.metric(m)
        assert e is not None
        assert info[m]["name"] == e.label and info[m]["help"] == e.definition
        assert info[m]["group"] == e.group_for("regression") and info[m]["perThreshold"] is False
        assert info[m]["better"] == e.better and info[m]["gap"] == e.gap
    assert info["r2"]["upper"] == 1.0 and info["mean_squared_error"]["lower"] == 0.0
    # mean_label has no range for regression (it has [0, 1] for classification).
    assert info["mean_label"]["lower"] is None and info["mean_label"]["upper"] is None
    # The defaults are the catalogue's default entries, then the default plot.
    want = [m for m in reg.metrics if getattr(catalogue.metric(m), "default", False)]
    assert want == ["mean_squared_error", "mean_absolute_error", "r2"]
    assert p["initial"]["metrics"] == [*want, "__prediction__"]
    (plot,) = p["plots"]
    assert plot["plot"] == "prediction_plot" and plot["id"] == "__prediction__"
    assert (plot["x"], plot["y"]) == ("mean_label", "mean_prediction")
    assert plot["diagonal"] and plot["xLabel"] == "mean label"
    assert "g=tiny" in [s.slice for s in reg.withheld_slices]
    assert plot["table"] == ["mean_label", "mean_prediction", "mean_squared_error", "r2"]
    # Groups in the order of the result's metrics; the sizes (row counts) last.
    want_groups: list[str] = []
    for m in reg.metrics:
        e = catalogue.metric(m)
        assert e is not None
        if not e.size and e.group_for("regression") not in want_groups:
            want_groups.append(e.group_for("regression"))
    assert [g["title"] for g in p["groups"]] == [*want_groups, "Counts"]
    # the mean label is a regression metric here, not "Calibration" (a classifier's heading)
    assert info["mean_label"]["group"] == "Regression"
    assert "Calibration" not in [g["title"] for g in p["groups"]]
    assert "mean_label" in next(g for g in p["groups"] if g["title"] == "Regression")["metrics"]
    grouped = [m for g in p["groups"] for m in g["metrics"]]
    assert sorted(grouped) == sorted(reg.metrics)
    assert next(g for g in p["groups"] if "__prediction__" in g["plots"])["title"] == "Regression"
    # Values as in the result, one entry per metric (no thresholds).
    r0 = p["results"][0]
    names = [s["name"] for s in r0["slices"]]
    assert sorted(r0["thresholdFree"]) == sorted(reg.metrics)
    for m in REGRESSION:
        (entry,) = r0["values"]["p"][""][m]
        for j, s in enumerate(names):
            v = reg.value(m, slice=s)
            if v.withheld:
                assert entry["v"][j] is None
            else:
                # integers at scale 10**q, one decimal more than the page shows
                got = entry["v"][j] / 10.0 ** entry["q"]
                assert got == pytest.approx(v.value, abs=0.51 * 10.0 ** -entry["q"])


def test_plots_are_named_like_metrics(reg: Any, result: Any) -> None:
    p = build_payload(reg, metrics=["r2", "prediction_plot"])
    assert p["initial"]["metrics"] == ["r2", "__prediction__"]
    with pytest.raises(ValueError, match="'metrics' parameter of render_html"):
        build_payload(reg, metrics=["calibration_plot"])  # not a plot of this result
    with pytest.raises(ValueError, match="'threshold' parameter of render_html"):
        build_payload(reg, threshold=0.5)
    # Classification keeps its defaults and its title.
    c = build_payload(result)
    assert set(c["initial"]["metrics"]) == {"positive_rate", "fpr", "fnr", "roc_auc",
                                            "__calibration__"}  # fmt: skip
    assert c["title"].startswith("Fairness report: ")
    assert [pl["plot"] for pl in c["plots"]] == ["calibration_plot"]
    assert build_payload(result, metrics="calibration_plot")["initial"]["metrics"] == [
        "__calibration__"
    ]


def test_flip_rate_charted_with_two_models(data: Any) -> None:
    r = assay.evaluate(data, label="label", scores=["score", "score_b"], slices=["group"],
                       thresholds=[0.5])  # fmt: skip
    assert "flip_rate" in build_payload(r)["initial"]["metrics"]
    # Two results compared: the runs shown first (each result's first model) have no flips.
    assert "flip_rate" not in build_payload(r, other=r)["initial"]["metrics"]


def test_regression_round_trip_renders_same(reg: Any) -> None:
    again = assay.EvalResult.from_json(reg.to_json())
    # The JSON holds no replicates: without them the pages are the same...
    assert embedded(render_html(again, replicate_values=0)) == embedded(render_html(reg, replicate_values=0))
    # ... and the page of the round-tripped result says why it cannot test other baselines.
    shipped = embedded(render_html(reg))["results"][0]["replicates"]
    assert shipped["shipped"] and not embedded(render_html(again))["results"][0]["replicates"].get("shipped")


def test_unknown_metric_falls_back_to_its_id(reg: Any) -> None:
    r = with_metric(reg, "zz_unknown", like="mean_prediction")
    p = build_payload(r)
    e = p["metricsInfo"]["zz_unknown"]
    assert e["name"] == "zz_unknown" and e["help"] == "" and e["group"] == "Other"
    assert e["perThreshold"] is False and "zz_unknown" in p["results"][0]["thresholdFree"]
    assert any(g["title"] == "Other" and g["metrics"] == ["zz_unknown"] for g in p["groups"])
    text = model_card(r, metrics=["zz_unknown"])
    assert "**zz\\_unknown** (zz\\_unknown)" in text
    header, _ = table_rows(section(text, "### p"))
    assert header[2] == "zz\\_unknown"


def test_a_registered_metric_and_plot_need_no_report_code(reg: Any, ad_hoc: Any) -> None:
    m, pl = ad_hoc
    r = with_metric(reg, m.name, like="mean_prediction")
    p = build_payload(r)
    e = p["metricsInfo"][m.name]
    assert (e["name"], e["help"], e["group"], e["better"]) == (
        m.label,
        m.definition,
        m.group,
        m.better,
    )
    assert {"title": m.group, "metrics": [m.name], "plots": ["__ad_hoc__"]} in p["groups"]
    plot = next(x for x in p["plots"] if x["plot"] == pl.id)
    assert plot["diagonal"] is None and plot["table"] == ["mean_label", m.name]
    # The group had no default metric and no default plot: its first metric is charted.
    assert m.name in p["initial"]["metrics"]
    card = json.loads(model_card(r, format="json", metrics=[m.name]))
    assert card["metric_definitions"][m.name] == {"name": m.label, "definition": m.definition}


# ------------------------------------------------------------------------ model card
def test_regression_model_card(reg: Any, tmp_path: Path) -> None:
    path = tmp_path / "card.md"
    text = model_card(reg, path)
    assert path.read_text(encoding="utf-8") == text
    want = default_card_metrics(reg.metrics)
    assert want == ["mean_squared_error", "mean_absolute_error", "r2", "mean_label",
                    "mean_prediction"]  # fmt: skip
    for m in want:
        assert f"**{catalogue.label(m)}**" in text
    assert "threshold" not in text.lower().replace("thresholds", "")
    header, rows = table_rows(section(text, "### p"))
    assert header[2:] == [catalogue.label(m) for m in want]
    for s in reg.slices:
        cell = rows[s.slice][header.index("R squared")]
        if s.withheld:
            assert cell == "withheld"
            continue
        v = reg.value("r2", slice=s.slice)
        assert numbers(cell)[:3] == pytest.approx([v.value, v.lower, v.upper], abs=5e-4)
    card = json.loads(model_card(reg, format="json"))
    assert card["evaluation"]["thresholds_reported"] == []
    assert card["evaluation"]["auc"] is None  # no histogram metric in a regression result
    assert {r["metric"] for r in card["metrics"]} == set(want)
    assert all(r["threshold"] is None for r in card["metrics"])
    for g in card["largest_gaps"]:
        v = reg.value(g["metric"], slice=g["slice"])
        assert v.significant and g["diff"] == pytest.approx(v.diff, rel=1e-12)


def test_card_defaults_and_gaps_come_from_the_catalogue(result: Any) -> None:
    card = json.loads(model_card(result, format="json"))
    assert set(card["metric_definitions"]) == {
        "positive_rate", "fpr", "fnr", "precision", "accuracy", "roc_auc", "bpsn_auc",
        "bnsp_auc", "mean_score", "mean_label", "calibration",
    }  # fmt: skip
    for m, d in card["metric_definitions"].items():
        assert d == {"name": catalogue.label(m), "definition": catalogue.definition(m)}
    # Sizes and counts (gap "none") are never listed among the gaps.
    card = json.loads(model_card(result, format="json", metrics=["tp", "fp", "fpr"]))
    gapped = {g["metric"] for g in card["largest_gaps"]}
    assert "fpr" in gapped and not gapped & {"tp", "fp"}


# ------------------------------------------------------------------------ atomic writes
def test_writes_are_atomic(result: Any, tmp_path: Path, monkeypatch: Any) -> None:
    html_path, card_path = tmp_path / "r.html", tmp_path / "c.md"
    for p in (html_path, card_path):
        p.write_text("old", encoding="utf-8")
        p.chmod(0o640)
    render_html(result, html_path, metrics=["fpr"])
    model_card(result, card_path, metrics=["fpr"])
    assert html_path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert card_path.read_text(encoding="utf-8").startswith("# Model card")
    for p in (html_path, card_path):
        assert stat.S_IMODE(p.stat().st_mode) == 0o640  # an existing file keeps its mode
    assert sorted(os.listdir(tmp_path)) == ["c.md", "r.html"]  # no temporary file left

    def fail(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        render_html(result, html_path, metrics=["fnr"])
    with pytest.raises(OSError, match="disk full"):
        model_card(result, card_path, metrics=["fnr"])
    # A failed write leaves the previous file whole.
    assert embedded(html_path.read_text(encoding="utf-8"))["initial"]["metrics"] == ["fpr"]
    assert "False negative rate" not in card_path.read_text(encoding="utf-8")
    assert sorted(os.listdir(tmp_path)) == ["c.md", "r.html"]


# ------------------------------------------------------------------------ browser
def control_groups(page: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    """The metric controls as ``[(group title, [(value, label), ...]), ...]``."""
    got = page.evaluate(
        """() => {
            const out = [];
            for (const el of document.querySelector('.ctl-metrics').children) {
                if (el.classList.contains('ctl-sub')) { out.push([el.textContent, []]); continue; }
                const inp = el.querySelector('input.ctl-metric');
                out[out.length - 1][1].push([inp.value, el.textContent.trim()]);
            }
            return out;
        }"""
    )
    return [(g, [(v, t) for v, t in items]) for g, items in got]


def check_controls(page: Any, payload: dict[str, Any]) -> None:
    """Every metric of the result sits in its catalogue group with its catalogue label;
    every plot in the group of its y metric, with its title."""
    got = control_groups(page)
    assert [g for g, _ in got] == [g["title"] for g in payload["groups"]]
    titles = {pl["id"]: pl["title"] for pl in payload["plots"]}
    for (title, items), g in zip(got, payload["groups"], strict=True):
        want = [(pid, titles[pid]) for pid in g["plots"]]
        want += [(m, catalogue.label(m)) for m in g["metrics"]]
        assert items == want, title
        for m in g["metrics"]:
            e = catalogue.metric(m)
            assert e is None or e.group_for(payload["task"]) == title


def test_regression_page_in_chromium(watched: Watched, reg: Any, tmp_path: Path) -> None:
    path = tmp_path / "regression.html"
    doc = render_html(reg, path, sample=regression_data())
    payload = embedded(doc)
    page = watched.open(path)
    assert page.locator(".page-head h1").text_content() == "Evaluation report: p"
    assert page.locator("select.ctl-threshold").count() == 0  # nothing to choose
    check_controls(page, payload)
    got = [g for g, _ in control_groups(page)]
    assert got[0] == "Regression" and got[-1] == "Counts"
    # The default charts, with the result's numbers.
    for m in ("mean_squared_error", "mean_absolute_error", "r2"):
        card = page.locator(f'.chart-card[data-metric="{m}"]')
        assert card.locator(".chart-title").text_content().startswith(catalogue.label(m))
        assert card.locator(".chip").text_content() == "Regression"
        vals = dict(bars(page, m))
        assert vals["g=b"] == pytest.approx(reg.value(m, slice="g=b").value, abs=6e-4)
    # The prediction plot: one point per slice that is not withheld, at its two means.
    plot = page.locator('.chart-card[data-metric="__prediction__"]')
    assert plot.count() == 1 and "prediction-card" in (plot.get_attribute("class") or "")
    title = next(x.title for x in catalogue.plots() if x.id == "prediction_plot")
    assert plot.locator(".chart-title").text_content() == title
    pts = page.eval_on_selector_all(
        '.chart-card[data-metric="__prediction__"] g.point',
        "els => els.map(e => [e.dataset.slice, +e.dataset.x, +e.dataset.y])",
    )
    shown = [s.slice for s in reg.slices if not s.withheld]
    assert sorted(s for s, _, _ in pts) == sorted(shown)
    for s, x, y in pts:
        assert x == pytest.approx(reg.value("mean_label", slice=s).value, abs=6e-4)
        assert y == pytest.approx(reg.value("mean_prediction", slice=s).value, abs=6e-4)
    assert plot.locator("line.diagonal").count() == 2  # the line and its key
    assert "unbiased: prediction = label" in plot.text_content()
    heads = plot.locator("thead th").all_text_contents()
    assert heads[2:] == [catalogue.label(m) for m in payload["plots"][0]["table"]]
    # A checkbox toggles the plot like a metric; a point opens the slice's drill-down.
    page.uncheck('input.ctl-metric[value="__prediction__"]')
    assert page.locator('.chart-card[data-metric="__prediction__"]').count() == 0
    page.check('input.ctl-metric[value="__prediction__"]')
    page.check('input.ctl-metric[value="mean_label"]')
    assert page.locator('.chart-card[data-metric="mean_label"] rect.bar').count() == len(shown)
    page.click('.chart-card[data-metric="__prediction__"] g.point[data-slice="g=a"] .dot')
    detail = page.locator(".detail-card")
    assert detail.locator(".detail-name").text_content() == "g=a"
    assert "R squared" in detail.text_content() and " @ " not in detail.text_content()
    assert detail.locator("table.sample tbody tr").count() == 20
    watched.check_clean(path)


def test_classification_controls_follow_the_catalogue(
    watched: Watched, data: Any, tmp_path: Path
) -> None:
    r = assay.evaluate(data, label="label", scores=["score", "score_b"], slices=["group"],
                       thresholds=[0.3, 0.5])  # fmt: skip
    path = tmp_path / "two.html"
    payload = embedded(render_html(r, path))
    page = watched.open(path)
    check_controls(page, payload)
    groups = [g for g, _ in control_groups(page)]
    assert groups[0] == "At the threshold" and groups[-1] == "Counts"
    assert "Between models" in groups and "Calibration" in groups
    assert page.locator(".calibration-card svg circle").count() > 0
    assert page.locator('.chart-card[data-metric="flip_rate"]').count() == 1
    watched.check_clean(path)


def test_ad_hoc_catalogue_entries_in_chromium(
    watched: Watched, reg: Any, ad_hoc: Any, tmp_path: Path
) -> None:
    m, pl = ad_hoc
    r = with_metric(reg, m.name, like="mean_prediction")
    path = tmp_path / "adhoc.html"
    payload = embedded(render_html(r, path))
    page = watched.open(path)
    check_controls(page, payload)
    assert (m.group, [("__ad_hoc__", pl.title), (m.name, m.label)]) in [
        (g, items) for g, items in control_groups(page)
    ]
    card = page.locator(f'.chart-card[data-metric="{m.name}"]')
    assert card.locator(".chart-title").text_content().startswith(m.label)
    assert card.locator(".help").text_content() == m.definition
    page.check('input.ctl-metric[value="__ad_hoc__"]')
    plot = page.locator('.chart-card[data-metric="__ad_hoc__"]')
    assert plot.locator("g.point").count() == sum(not s.withheld for s in r.slices)
    assert plot.locator("line.diagonal").count() == 0  # the entry asks for no diagonal
    assert re.search(r"ad hoc bias", plot.text_content())
    watched.check_clean(path)
