"""The HTML report in a real headless Chromium: loading, controls, escaping, drill-down."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import assay
from assay.report import build_payload, render_html, repr_html
from assay.report._html import html_fragment


class Watched:
    """A page plus everything suspicious it did: console errors, requests, dialogs."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("requestfailed", lambda r: self.failed.append(r.url))

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)

    def open(self, path: Path) -> Any:
        self.page.goto(path.as_uri())
        self.page.wait_for_selector(".assay-report[data-ready]", state="attached", timeout=15000)
        return self.page

    def check_clean(self, path: Path | None = None) -> None:
        assert not self.dialogs, f"a dialog fired: {self.dialogs}"
        assert not self.errors, f"console errors: {self.errors}"
        assert not self.failed, f"failed requests: {self.failed}"
        allowed = {path.as_uri()} if path is not None else set()
        others = [u for u in self.requests if u not in allowed and u != "about:blank"]
        assert not others, f"the page made requests: {others}"


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(15000)
    w = Watched(page)
    yield w
    ctx.close()


def num(text: str) -> float:
    """Parse a number as the page prints it (U+2212 minus, separators, %)."""
    t = text.strip().replace("−", "-").replace(",", "").replace("%", "").replace("+", "")
    m = re.match(r"^-?\d+(\.\d+)?", t)
    assert m, f"no number in {text!r}"
    return float(m.group(0))


def bars(page: Any, metric: str, run: int = 0) -> list[tuple[str, float]]:
    return [
        (s, v)
        for s, v in page.eval_on_selector_all(
            f'.chart-card[data-metric="{metric}"] rect.bar[data-run="{run}"]',
            "els => els.map(e => [e.closest('g.row').getAttribute('data-slice'),"
            " parseFloat(e.getAttribute('data-value'))])",
        )
    ]


def chart_rows(page: Any, metric: str) -> list[str]:
    return page.eval_on_selector_all(
        f'.chart-card[data-metric="{metric}"] svg g.row', "els => els.map(e => e.dataset.slice)"
    )


def cell(page: Any, metric: str, slice_: str, cls: str, run: int | None = None) -> str:
    sel = f"td.{cls}" + (f'[data-run="{run}"]' if run is not None else "")
    return page.evaluate(
        """([metric, slice, sel]) => {
            const card = document.querySelector(`.chart-card[data-metric="${metric}"]`);
            const tr = [...card.querySelectorAll('tbody tr')].find(r => r.dataset.slice === slice);
            return tr ? tr.querySelector(sel).textContent : null;
        }""",
        [metric, slice_, sel],
    )


# ------------------------------------------------------------------------ tests
def test_loads_offline_without_errors(watched: Watched, result: Any, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    render_html(result, path)
    page = watched.open(path)
    titles = page.eval_on_selector_all(
        ".chart-card .chart-title", "els => els.map(e => e.textContent)"
    )
    assert any(t.startswith("False positive rate") for t in titles)
    assert page.locator(".calibration-card svg circle").count() > 0
    assert page.locator(".slices-card tbody tr").count() == len(result.slices)
    # Whiskers are drawn for non-withheld slices.
    assert page.locator('.chart-card[data-metric="fpr"] path.whisker').count() >= 3
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    watched.check_clean(path)


def test_metric_selection_changes_charts(watched: Watched, result: Any, tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    render_html(result, path)
    page = watched.open(path)
    assert page.locator('.chart-card[data-metric="precision"]').count() == 0
    page.check('input.ctl-metric[value="precision"]')
    card = page.locator('.chart-card[data-metric="precision"]')
    assert card.count() == 1
    assert card.locator(".chart-title").text_content().startswith("Precision")
    got = dict(bars(page, "precision"))
    want = result.value("precision", slice="group=north", threshold=0.5).value
    assert got["group=north"] == pytest.approx(want, abs=6e-5)
    page.uncheck('input.ctl-metric[value="fpr"]')
    assert page.locator('.chart-card[data-metric="fpr"]').count() == 0
    # Threshold-free metric: labelled as such.
    page.check('input.ctl-metric[value="bpsn_auc"]')
    chip = page.locator('.chart-card[data-metric="bpsn_auc"] .chip').text_content()
    assert chip == "threshold-free"
    got = dict(bars(page, "bpsn_auc"))
    assert got["sex=F"] == pytest.approx(result.value("bpsn_auc", slice="sex=F").value, abs=6e-5)
    watched.check_clean(path)


def test_threshold_changes_values(watched: Watched, result: Any, tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    render_html(result, path)
    page = watched.open(path)
    before = dict(bars(page, "fpr"))
    assert before["group=south"] == pytest.approx(
        result.value("fpr", slice="group=south", threshold=0.5).value, abs=6e-5
    )
    page.select_option("select.ctl-threshold", label="0.3")
    after = dict(bars(page, "fpr"))
    want = result.value("fpr", slice="group=south", threshold=0.3)
    assert after["group=south"] == pytest.approx(want.value, abs=6e-5)
    assert after["group=south"] != pytest.approx(before["group=south"])
    # The table under the chart shows the same number and interval.
    assert num(cell(page, "fpr", "group=south", "c-value")) == pytest.approx(want.value, abs=6e-4)
    ci = cell(page, "fpr", "group=south", "c-ci").replace("−", "-")
    lo, hi = (float(x) for x in re.findall(r"-?\d+\.\d+", ci)[:2])
    assert lo == pytest.approx(want.lower, abs=6e-4)
    assert hi == pytest.approx(want.upper, abs=6e-4)
    assert "threshold 0.3" in page.locator('.chart-card[data-metric="fpr"] .chip').text_content()
    watched.check_clean(path)


def test_baseline_changes_differences(watched: Watched, result: Any, tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    render_html(result, path, replicate_values=200_000)
    page = watched.open(path)
    v = result.value("fpr", slice="group=south", threshold=0.5)
    overall = result.value("fpr", slice="overall", threshold=0.5).value
    d0 = cell(page, "fpr", "group=south", "c-diff")
    assert num(d0) == pytest.approx(100 * (v.value - overall) / overall, abs=0.06)
    assert (cell(page, "fpr", "group=south", "c-sig") == "✱") == v.significant
    page.select_option("select.ctl-baseline", value="sex=F")
    base = result.value("fpr", slice="sex=F", threshold=0.5).value
    d1 = cell(page, "fpr", "group=south", "c-diff")
    assert d1 != d0
    assert num(d1) == pytest.approx(100 * (v.value - base) / base, abs=0.06)
    # Significance against another baseline comes from the shipped replicates (checked
    # against evaluate(baseline=...) in test_report_views.py); without them the
    # page says why it has none, and marks nothing.
    assert "computed in the page from the evaluation's jackknife replicates" in (
        page.locator(".legend .notice").text_content()
    )
    assert chart_rows(page, "fpr")[0] == "sex=F"
    path0 = tmp_path / "r0.html"
    render_html(result, path0, replicate_values=0)
    watched.check_clean(path)
    watched.requests.clear()
    page = watched.open(path0)
    page.select_option("select.ctl-baseline", value="sex=F")
    assert cell(page, "fpr", "group=south", "c-sig") == "n/a"
    notice = page.locator(".legend .notice").text_content()
    assert "No significance against sex=F" in notice and "replicate_values=0" in notice
    watched.check_clean(path0)


def test_filter_and_sort(watched: Watched, result: Any, tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    render_html(result, path)
    page = watched.open(path)
    all_rows = chart_rows(page, "fpr")
    assert len(all_rows) == len(result.slices)
    page.fill("input.ctl-filter", "north")
    rows = chart_rows(page, "fpr")
    assert 1 < len(rows) < len(all_rows)
    assert all("north" in r for r in rows[1:]) and rows[0] == "overall"
    page.fill("input.ctl-filter", "")
    page.uncheck('input.ctl-feature[value="group x sex"]')
    rows = chart_rows(page, "fpr")
    assert not any(r.startswith("group=") and "sex=" in r for r in rows)
    assert len(rows) < len(all_rows)
    page.uncheck("input.ctl-withheld")
    assert "group=tiny" not in chart_rows(page, "fpr")
    page.check("input.ctl-withheld")
    assert "group=tiny" in chart_rows(page, "fpr")
    # Sort by value: ascending, then descending (the baseline stays first).
    page.select_option("select.ctl-sort", value="value")
    vals = [v for s, v in bars(page, "fpr") if s != "overall"]
    assert vals == sorted(vals) and len(vals) >= 4
    page.check("input.ctl-desc")
    vals = [v for s, v in bars(page, "fpr") if s != "overall"]
    assert vals == sorted(vals, reverse=True)
    page.select_option("select.ctl-sort", value="size")
    sizes = {s.slice: s.count for s in result.slices}
    order = [sizes[r] for r in chart_rows(page, "fpr")[1:]]
    assert order == sorted(order, reverse=True)
    page.select_option("select.ctl-sort", value="name")
    names = chart_rows(page, "fpr")[1:]
    assert names == sorted(names, reverse=True)
    page.uncheck("input.ctl-desc")
    page.select_option("select.ctl-sort", value="diff")
    pct = [num(cell(page, "fpr", r, "c-diff")) for r in chart_rows(page, "fpr")[1:]
           if cell(page, "fpr", r, "c-value") != "withheld"]  # fmt: skip
    assert pct == sorted(pct)
    watched.check_clean(path)


def test_withheld_slices_shown_with_reason(watched: Watched, result: Any, tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    render_html(result, path)
    page = watched.open(path)
    tiny = next(s for s in result.slices if s.slice == "group=tiny")
    assert tiny.withheld
    text = page.locator(
        '.chart-card[data-metric="fpr"] g.row[data-slice="group=tiny"]'
    ).text_content()
    assert "withheld" in text and tiny.reason in text and "12 rows" in text
    assert cell(page, "fpr", "group=tiny", "c-value") == "withheld"
    status = page.evaluate(
        "() => [...document.querySelectorAll('.slices-card tbody tr')]"
        ".find(r => r.dataset.slice === 'group=tiny').querySelector('.status').textContent"
    )
    assert status == f"withheld: {tiny.reason}"
    watched.check_clean(path)


def test_escaping_holds(
    watched: Watched, evil_result: Any, evil_data: Any, evil: Any, tmp_path: Path
) -> None:
    EVIL_VALUES, EVIL_MODEL, EVIL_COLUMN = evil["values"], evil["model"], evil["column"]
    path = tmp_path / "evil.html"
    render_html(
        evil_result, path, sample=evil_data, title="</title><script>alert(3)</script>",
        metrics=["fpr"],
    )  # fmt: skip
    page = watched.open(path)
    labels = page.eval_on_selector_all(
        '.chart-card[data-metric="fpr"] svg g.row', "els => els.map(e => e.dataset.slice)"
    )
    from assay.core.slicing import SliceSpec, slice_name

    for v in EVIL_VALUES:
        # the names as the evaluation writes them (values that could be misread are quoted)
        name = slice_name(SliceSpec((EVIL_COLUMN,)), (v,))
        assert name in labels
        # The table shows the name literally, as text.
        shown = page.evaluate(
            """(name) => [...document.querySelectorAll('.chart-card tbody tr')]
                .find(r => r.dataset.slice === name).querySelector('button').textContent""",
            name,
        )
        assert shown == name
    assert page.locator(".page-head h1").text_content() == "</title><script>alert(3)</script>"
    assert page.title() == "</title><script>alert(3)</script>"
    assert EVIL_MODEL in page.locator(".legend").text_content()
    # Nothing from the data became markup.
    assert page.locator("img").count() == 0
    assert page.locator("b:has-text('x')").count() == 0
    assert page.locator("script").count() == 2  # the data block and the report's code
    # Drill into a slice: sample cells and column names stay text.
    first = slice_name(SliceSpec((EVIL_COLUMN,)), (EVIL_VALUES[1],))
    page.evaluate(
        """(name) => [...document.querySelectorAll('.chart-card tbody tr')]
            .find(r => r.dataset.slice === name).querySelector('button').click()""",
        first,
    )
    detail = page.locator(".detail-card")
    assert detail.locator(".detail-name").text_content() == first
    assert EVIL_COLUMN in detail.locator("table.sample th").all_text_contents()
    assert EVIL_VALUES[1] in detail.locator("table.sample td").all_text_contents()
    assert page.locator("img").count() == 0
    page.wait_for_timeout(200)  # give any injected handler a chance to fire
    watched.check_clean(path)


def test_two_results_side_by_side(
    watched: Watched, result: Any, result_b: Any, tmp_path: Path
) -> None:
    path = tmp_path / "cmp.html"
    render_html(result, path, other=result_b, names=("baseline", "MinDiff"))
    page = watched.open(path)
    a = dict(bars(page, "fpr", run=0))
    b = dict(bars(page, "fpr", run=1))
    assert set(a) == set(b) and len(a) >= 5
    want_a = result.value("fpr", slice="group=south", threshold=0.5).value
    want_b = result_b.value("fpr", slice="group=south", threshold=0.5).value
    assert a["group=south"] == pytest.approx(want_a, abs=6e-5)
    assert b["group=south"] == pytest.approx(want_b, abs=6e-5)
    change = cell(page, "fpr", "group=south", "c-change")
    assert num(change) == pytest.approx(want_b - want_a, abs=6e-4)
    legend = page.locator(".legend").text_content()
    assert "baseline" in legend and "MinDiff" in legend
    heads = page.locator('.chart-card[data-metric="fpr"] thead th').all_text_contents()
    assert "MinDiff − baseline" in heads
    # Turning the comparison off leaves one bar per slice.
    page.select_option("select.ctl-compare", value="-1")
    assert bars(page, "fpr", run=1) == []
    watched.check_clean(path)


def test_drill_down_shows_sample_rows(
    watched: Watched, result: Any, data: Any, tmp_path: Path
) -> None:
    path = tmp_path / "r.html"
    render_html(result, path, sample=data, sample_rows=15)
    page = watched.open(path)
    page.click('.chart-card[data-metric="fpr"] g.row[data-slice="group=west, sex=M"]')
    detail = page.locator(".detail-card")
    assert detail.locator(".detail-name").text_content() == "group=west, sex=M"
    heads = detail.locator("table.sample th").all_text_contents()
    assert heads[:3] == ["outcome", "group", "sex"] and "label" in heads and "score" in heads
    rows = detail.locator("table.sample tbody tr")
    assert rows.count() == 15
    n_match = sum(
        1 for g, s in zip(data["group"], data["sex"], strict=True) if g == "west" and s == "M"
    )
    assert f"of {n_match:,} sample rows" in detail.text_content()
    ig, isx, il, isc = (heads.index(c) for c in ("group", "sex", "label", "score"))
    real = {
        (int(lbl), round(float(sc), 3))
        for g, s, lbl, sc in zip(data["group"], data["sex"], data["label"], data["score"], strict=True)
        if g == "west" and s == "M"
    }  # fmt: skip
    for i in range(rows.count()):
        tds = rows.nth(i).locator("td").all_text_contents()
        assert tds[ig] == "west" and tds[isx] == "M"
        assert (int(tds[il]), round(float(tds[isc]), 3)) in real
    # Metrics of the slice at the current threshold are listed too.
    assert "False positive rate @ 0.5" in detail.text_content()
    page.click(".detail-card button.close")
    assert page.locator(".detail-card").count() == 0
    watched.check_clean(path)


def test_drill_down_without_sample_says_how(watched: Watched, result: Any, tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    render_html(result, path)
    page = watched.open(path)
    page.click('.slices-card button.slice-link:text-is("sex=F")')
    assert "Pass sample=" in page.locator(".detail-card").text_content()
    watched.check_clean(path)


def test_model_selector_with_two_models(watched: Watched, data: Any, tmp_path: Path) -> None:
    r = assay.evaluate(
        data, label="label", scores=["score", "score_b"], slices=["group"], thresholds=[0.5]
    )
    path = tmp_path / "m.html"
    render_html(r, path)
    page = watched.open(path)
    assert page.locator('.chart-card[data-metric="flip_rate"]').count() == 1
    page.select_option("select.ctl-compare", value="-1")
    page.select_option("select.ctl-run", label="score_b")
    assert bars(page, "fpr", run=0) == []
    got = dict(bars(page, "fpr", run=1))
    want = r.value("fpr", slice="group=east", threshold=0.5, model="score_b").value
    assert got["group=east"] == pytest.approx(want, abs=6e-5)
    watched.check_clean(path)


def test_notebook_embeddings_do_not_clash(watched: Watched, result: Any, result_b: Any) -> None:
    page = watched.page
    # Two iframes (what _repr_html_ returns) on one page.
    page.set_content(
        "<html><body>" + repr_html(result, height=400) + repr_html(result_b, height=400)
        + "</body></html>"
    )  # fmt: skip
    frames = [f for f in page.frames if f != page.main_frame]
    assert len(frames) == 2
    for f in frames:
        f.wait_for_selector(".assay-report[data-ready]", state="attached")
        assert f.locator('.chart-card[data-metric="fpr"] rect.bar').count() > 3
    # Two bare fragments in one document: each one drives its own charts.
    page.set_content(
        "<html><body>" + html_fragment(build_payload(result)) + html_fragment(build_payload(result_b))
        + "</body></html>"
    )  # fmt: skip
    roots = page.locator(".assay-report[data-ready]")
    assert roots.count() == 2
    roots.nth(0).locator('input.ctl-metric[value="precision"]').check()
    assert roots.nth(0).locator('.chart-card[data-metric="precision"]').count() == 1
    assert roots.nth(1).locator('.chart-card[data-metric="precision"]').count() == 0
    assert not watched.dialogs and not watched.errors and not watched.failed
