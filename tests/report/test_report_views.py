"""The report's newer views in Chromium, each against an independent computation.

* significance against a baseline chosen in the page (from the shipped replicates) equals
  ``assay.evaluate(..., baseline=that slice)``;
* the threshold curves plot every threshold's value of the result;
* the trade-off plot places each model at (its gap, its performance) from the result;
* the drill-down's TP/FP/TN/FN filter agrees with the rows' labels and scores.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import assay
from assay.report import render_html

THRESHOLDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]  # as the conftest fixture `result`


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(15000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: m.type == "error" and errors.append(m.text))
    yield pg
    ctx.close()
    assert not errors, f"page errors: {errors}"


def open_report(pg: Any, path: Path) -> Any:
    pg.goto(path.as_uri())
    pg.wait_for_selector(".assay-report[data-ready]", state="attached", timeout=15000)
    return pg


def row_cells(pg: Any, metric: str, slice_: str) -> dict[str, str]:
    """The texts of one slice's row in a metric's table, by cell class."""
    return pg.evaluate(
        """([metric, slice]) => {
            const card = document.querySelector(`.chart-card[data-metric="${metric}"]`);
            const out = {};
            if (!card) { return out; }
            const tr = [...card.querySelectorAll('tbody tr')].find(r => r.dataset.slice === slice);
            if (!tr) { return out; }
            tr.querySelectorAll('td').forEach(td => td.classList.forEach(c => {
                if (c.startsWith('c-')) { out[c] = td.textContent; } }));
            return out;
        }""",
        [metric, slice_],
    )


def test_baseline_in_the_page_matches_evaluate_with_that_baseline(
    page: Any, data: Any, tmp_path: Path
) -> None:
    kw: dict[str, Any] = dict(
        label="label", scores="score", slices=["group", "sex"], thresholds=[0.5],
        min_slice_size=30,
    )  # fmt: skip
    r0 = assay.evaluate(data, **kw)  # baseline: overall
    r1 = assay.evaluate(data, baseline={"sex": "F"}, **kw)
    path = tmp_path / "b.html"
    render_html(r0, path, replicate_values=1_000_000)
    open_report(page, path)
    page.select_option("select.ctl-baseline", value="sex=F")
    checked = 0
    for metric in ("fpr", "fnr", "positive_rate"):
        for sl in ("group=north", "group=south", "group=east", "group=west", "sex=M"):
            want = r1.value(metric, slice=sl, threshold=0.5)
            got = row_cells(page, metric, sl)
            if not got:
                continue
            assert (got["c-sig"] == "✱") == bool(want.significant), (metric, sl, got, want)
            # The absolute difference and its interval (rounded as the page prints them).
            printed = float(got["c-absdiff"].replace("−", "-").split()[0])
            assert printed == pytest.approx(want.diff, abs=2e-3), (metric, sl, got)
            checked += 1
    assert checked >= 10


def test_threshold_curves_plot_the_results_values(page: Any, result: Any, tmp_path: Path) -> None:
    path = tmp_path / "c.html"
    render_html(result, path)
    open_report(page, path)
    block = page.locator('.curves-card .curve-block[data-metric="fpr"]')
    assert block.count() == 1
    pts = page.eval_on_selector_all(
        '.curves-card .curve-block[data-metric="fpr"] svg g.curve circle.curve-dot',
        "els => els.map(e => [e.closest('g.curve').dataset.slice,"
        " parseFloat(e.dataset.threshold), parseFloat(e.dataset.value)])",
    )
    slices = {s for s, _, _ in pts}
    assert "overall" in slices and len(slices) >= 2
    for s, t, v in pts:
        want = result.value("fpr", slice=s, threshold=t).value
        assert v == pytest.approx(want, abs=6e-5), (s, t)  # shipped to 4 decimals
    # One dot per threshold per slice (every threshold has a defined FPR here).
    assert len(pts) == len(slices) * len(THRESHOLDS)
    # Bands only where there are intervals: one polygon per slice with jackknife CIs.
    bands = page.locator('.curves-card .curve-block[data-metric="fpr"] polygon.band').count()
    assert bands == len(slices)


def test_tradeoff_plot_places_each_model_from_the_result(
    page: Any, data: Any, tmp_path: Path
) -> None:
    r = assay.evaluate(
        data, label="label", scores=["score", "score_b"], slices=["group"], thresholds=[0.5],
        baseline={"group": "north"}, min_slice_size=30,
    )  # fmt: skip
    path = tmp_path / "t.html"
    render_html(r, path, headline=("fpr", "group=south", "group=north"))
    open_report(page, path)
    pts = page.eval_on_selector_all(
        ".tradeoff-card g.to-point",
        "els => els.map(e => [parseInt(e.dataset.run), parseFloat(e.dataset.x),"
        " parseFloat(e.dataset.y), parseFloat(e.dataset.xlo), parseFloat(e.dataset.xhi)])",
    )
    assert sorted(p[0] for p in pts) == [0, 1]
    for run, x, y, xlo, xhi in pts:
        model = ["score", "score_b"][run]
        gap = r.value("fpr", slice="group=south", threshold=0.5, model=model)
        perf = r.value("accuracy", slice="overall", threshold=0.5, model=model)
        # The independent check of the gap: the two slices' values from the result.
        south = r.value("fpr", slice="group=south", threshold=0.5, model=model).value
        north = r.value("fpr", slice="group=north", threshold=0.5, model=model).value
        assert x == pytest.approx(south - north, abs=1.2e-4)  # values shipped to 4 decimals
        assert x == pytest.approx(gap.diff, abs=1.2e-4)
        assert (xlo, xhi) == (pytest.approx(gap.diff_lower, abs=1.2e-4), pytest.approx(gap.diff_upper, abs=1.2e-4))
        assert y == pytest.approx(perf.value, abs=6e-5)


def test_drill_down_outcome_filter_matches_labels_and_scores(
    page: Any, result: Any, data: Any, tmp_path: Path
) -> None:
    path = tmp_path / "d.html"
    render_html(result, path, sample=data, sample_rows=40)
    open_report(page, path)
    page.select_option("select.ctl-threshold", label="0.5")
    page.click('.slices-card button.slice-link:text-is("group=north")')
    detail = page.locator(".detail-card")
    heads = detail.locator("table.sample th").all_text_contents()
    il, isc = heads.index("label"), heads.index("score")

    def shown() -> list[tuple[str, int, float]]:
        rows = detail.locator("table.sample tbody tr")
        out = []
        for i in range(rows.count()):
            tds = rows.nth(i).locator("td").all_text_contents()
            out.append((tds[0], int(tds[il]), float(tds[isc])))
        return out

    every = shown()
    assert len(every) == 40
    for outcome, y, s in every:  # the page's outcome from the row's own label and score
        want = ("TP" if s > 0.5 else "FN") if y == 1 else ("FP" if s > 0.5 else "TN")
        # Scores are printed rounded: only rows far from the threshold are decisive.
        if abs(s - 0.5) > 1e-3:
            assert outcome == want, (y, s, outcome)
    counts = {o: sum(1 for e in every if e[0] == o) for o in ("TP", "FP", "TN", "FN")}
    for o in ("TP", "FP", "TN", "FN"):
        button = detail.locator(f'button.outcome-btn[data-outcome="{o}"]')
        assert button.text_content() == f"{o} ({counts[o]})"
        button.click()
        got = shown()
        assert len(got) == counts[o] and all(e[0] == o for e in got)
    # The sample is a stratified draw from the slice's rows: every outcome is present.
    north = np.asarray(data["group"]) == "north"
    yy, ss = np.asarray(data["label"])[north], np.asarray(data["score"])[north]
    assert all(c > 0 for c in counts.values())
    assert ((yy == 1) & (ss > 0.5)).any() and ((yy == 0) & (ss <= 0.5)).any()


def change_cells(pg: Any, metric: str) -> dict[str, tuple[str, str, str]]:
    return dict(
        pg.evaluate(
            """(metric) => {
                const card = document.querySelector(`.chart-card[data-metric="${metric}"]`);
                return [...card.querySelectorAll('tbody tr')].map(r => [r.dataset.slice, [
                    r.querySelector('td.c-change').textContent,
                    r.querySelector('td.c-change').dataset.paired,
                    r.querySelector('td.c-change-sig').textContent]]);
            }""",
            metric,
        )
    )


def check_changes_against(pg: Any, comparison: Any, metric: str, threshold: float) -> int:
    """Every shown change equals the result's paired comparison (diff, interval, flags)."""
    got = change_cells(pg, metric)
    rows = comparison[(comparison.metric == metric) & (comparison.threshold.round(9) == threshold)]
    checked = 0
    for r in rows.itertuples():
        if r.slice not in got or not np.isfinite(r.diff):
            continue
        text, paired, sig = got[r.slice]
        assert paired == "1", (r.slice, text)
        nums = re.findall(r"-?\d+(?:\.\d+)?", text.replace("−", "-").replace("±0", "0"))
        d, lo, hi = (float(x) for x in nums)
        assert d == pytest.approx(r.diff, abs=2e-3)
        assert lo == pytest.approx(r.diff_lower, abs=2e-3) and hi == pytest.approx(r.diff_upper, abs=2e-3)
        want = "✱✱" if r.significant_adjusted else "✱" if r.significant else ""
        assert sig == want, (r.slice, sig, want)
        checked += 1
    return checked


def test_change_between_models_has_the_paired_interval(page: Any, data: Any, tmp_path: Path) -> None:
    r = assay.evaluate(
        data, label="label", scores=["score", "score_b"], slices=["group", "sex"],
        thresholds=[0.3, 0.5], min_slice_size=30,
    )  # fmt: skip
    path = tmp_path / "p.html"
    render_html(r, path)
    open_report(page, path)
    assert page.locator(".change-note").get_attribute("data-paired") == "1"
    cmp = r.model_comparison()
    assert check_changes_against(page, cmp, "fpr", 0.5) >= 6
    assert cmp[(cmp.metric == "fpr") & cmp.significant].shape[0] >= 1  # the fixture has a real change


def test_change_between_two_results_paired_or_says_why(page: Any, data: Any, tmp_path: Path) -> None:
    kw: dict[str, Any] = dict(label="label", slices=["group"], thresholds=[0.5], min_slice_size=30)
    a = assay.evaluate(data, scores="score", **kw)
    b = assay.evaluate(data, scores="score_b", **kw)
    path = tmp_path / "two.html"
    render_html(a, path, other=b, names=("base", "fixed"))
    open_report(page, path)
    assert page.locator(".change-note").get_attribute("data-paired") == "1"
    assert check_changes_against(page, a.compare(b).model_comparison(), "fpr", 0.5) >= 4
    # Evaluated with other replicate seeds: cannot be paired, and the page says why.
    c = assay.evaluate(data, scores="score_b", seed=7, **kw)
    render_html(a, path, other=c, names=("base", "fixed"))
    open_report(page, path)
    note = page.locator(".change-note")
    assert note.get_attribute("data-paired") == "0"
    assert "cannot be paired" in note.text_content() and "seed differs" in note.text_content()
    assert all(p == "0" for _, p, _ in change_cells(page, "fpr").values())
