"""The report at 1,000 slices in Chromium: pagination, sorting and filters for finding the
gaps that matter, and the view kept in the URL fragment. One page load for the module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import assay
from assay.report import render_html

N_SLICES = 1000
PAGE = 25


@pytest.fixture(scope="module")
def big() -> assay.EvalResult:
    rng = np.random.default_rng(5)
    n = 40_000
    gi = rng.integers(0, N_SLICES, n)
    y = rng.binomial(1, 0.4, n)
    # every 50th group is scored very differently: real gaps among many null ones
    shift = np.where(gi % 50 == 0, 0.35, 0.0)
    s = np.clip(0.3 * y + rng.normal(0.35, 0.18, n) + shift, 0, 1)
    g = np.char.add("g", gi.astype(str))
    return assay.evaluate(
        {"g": g, "label": y, "s": s}, label="label", scores="s", slices=["g"], thresholds=[0.5]
    )


@pytest.fixture(scope="module")
def page(browser: Any, big: assay.EvalResult, tmp_path_factory: Any) -> Iterator[Any]:
    path = tmp_path_factory.mktemp("scale") / "big.html"
    render_html(big, path, metrics=["fpr"])
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(20000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(path.as_uri())
    pg.wait_for_selector(".assay-report[data-ready]", state="attached")
    pg.path = path  # type: ignore[attr-defined]
    yield pg
    assert not errors, errors
    ctx.close()


@pytest.fixture(scope="module")
def fpr(big: assay.EvalResult) -> dict[str, dict[str, Any]]:
    """The result's own FPR rows at 0.5 by slice (read once: value() per slice is slow)."""
    t = big.to_arrow().to_pylist()
    return {r["slice"]: r for r in t if r["metric"] == "fpr" and r["threshold"] == 0.5}


def rows(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        '.chart-card[data-metric="fpr"] svg g.row', "els => els.map(e => e.dataset.slice)"
    )


def reset(page: Any) -> None:
    page.evaluate("() => { location.hash = ''; }")
    page.reload()
    page.wait_for_selector(".assay-report[data-ready]", state="attached")


def test_pagination_at_1000_slices(page: Any, big: assay.EvalResult) -> None:
    names = [s.slice for s in big.slices]
    assert len(names) == N_SLICES + 1  # overall + 1,000
    shown = rows(page)
    assert shown == names[: PAGE + 1]  # the baseline (overall) and the first page
    info = page.locator('.chart-card[data-metric="fpr"] .pg-info').text_content()
    assert info == f"slices 1–{PAGE} of {N_SLICES} · page 1 of {N_SLICES // PAGE}"
    page.click('.chart-card[data-metric="fpr"] button.pg-next')
    assert rows(page) == ["overall", *names[PAGE + 1 : 2 * PAGE + 1]]
    # the page stays short: a chart of 26 rows, not 1,000
    assert page.evaluate("() => document.body.scrollHeight") < 6000
    # slices table paginated too
    assert page.locator(".slices-card tbody tr").count() == PAGE
    reset(page)


def test_sort_by_absolute_gap_matches_python(
    page: Any, big: assay.EvalResult, fpr: dict[str, dict[str, Any]]
) -> None:
    page.select_option("select.ctl-sort", value="gap")
    page.check("input.ctl-desc")
    gaps = []
    for k, s in enumerate(big.slices[1:]):
        v = fpr[s.slice]
        if not v["withheld"] and v["diff"] is not None and np.isfinite(v["diff"]):
            gaps.append((-abs(v["diff"]), k, s.slice))
    want = [name for _, _, name in sorted(gaps)][:PAGE]
    got = rows(page)[1:]
    # the page rounds values to 4 decimals: compare gaps, not the order of near-ties
    got_gaps = [abs(fpr[n]["diff"]) for n in got]
    want_gaps = [abs(fpr[n]["diff"]) for n in want]
    assert got_gaps == pytest.approx(want_gaps, abs=2e-4)
    assert got_gaps == sorted(got_gaps, reverse=True)
    reset(page)


def test_significant_only_uses_adjusted_flag(
    page: Any, big: assay.EvalResult, fpr: dict[str, dict[str, Any]]
) -> None:
    method = big.config["multiple_comparisons"]
    assert method == "bh"
    label = page.locator("input.ctl-sigonly").locator("xpath=..").text_content()
    assert "Benjamini-Hochberg" in label
    page.check("input.ctl-sigonly")
    page.fill("input.ctl-top", "500")
    want = [s.slice for s in big.slices[1:] if fpr[s.slice]["significant_adjusted"]]
    unadjusted = [s.slice for s in big.slices[1:] if fpr[s.slice]["significant"]]
    assert 0 < len(want) < len(unadjusted)  # the adjustment drops some chance findings
    got: list[str] = []
    while True:
        got += rows(page)[1:]
        nxt = page.locator('.chart-card[data-metric="fpr"] button.pg-next')
        if nxt.is_disabled():
            break
        nxt.click()
    assert got == want
    assert "multiple comparisons: bh" in page.locator(".legend").text_content()
    reset(page)


def test_min_count_and_top_n(page: Any, big: assay.EvalResult) -> None:
    counts = sorted(s.count for s in big.slices[1:])
    cut = counts[len(counts) // 2]
    page.fill("input.ctl-min", str(cut))
    info = page.locator('.chart-card[data-metric="fpr"] .pg-info').text_content()
    n_ok = sum(1 for c in counts if c >= cut)
    assert info.endswith(f"of {n_ok} · page 1 of {-(-n_ok // PAGE)}")
    sizes = {s.slice: s.count for s in big.slices}
    assert all(sizes[n] >= cut for n in rows(page)[1:])
    page.select_option("select.ctl-sort", value="size")
    page.fill("input.ctl-top", "7")
    got = rows(page)[1:]
    assert len(got) == 7 and [sizes[n] for n in got] == sorted(sizes[n] for n in got)
    reset(page)


def test_view_round_trips_through_url_fragment(page: Any, browser: Any) -> None:
    page.select_option("select.ctl-sort", value="sig")
    page.fill("input.ctl-filter", "g1")
    page.select_option("select.ctl-baseline", value="g=g10")
    page.check('input.ctl-metric[value="fnr"]')
    page.click('.chart-card[data-metric="fpr"] button.pg-next')
    url = page.url
    assert "#" in url and "s=sig" in url and "q=g1" in url
    before = rows(page)
    ctx = browser.new_context()
    other = ctx.new_page()
    other.goto(url)
    other.wait_for_selector(".assay-report[data-ready]", state="attached")
    assert rows(other) == before
    assert other.locator("select.ctl-sort").input_value() == "sig"
    assert other.locator("input.ctl-filter").input_value() == "g1"
    assert other.locator("select.ctl-baseline").input_value() == "g=g10"
    assert other.locator('.chart-card[data-metric="fnr"]').count() == 1
    assert "page 2 of" in other.locator('.chart-card[data-metric="fpr"] .pg-info').text_content()
    ctx.close()
    reset(page)
