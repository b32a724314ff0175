"""The headline card in Chromium: values, gap, interval and significance against the
result's own numbers; the reasons when the gap has no interval; argument errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import assay
from assay.report import build_payload, render_html

THRESHOLDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]  # as the conftest's `result`


def nums(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d+", text.replace("−", "-"))]


def test_headline_against_result(
    browser: Any, data: Any, result: Any, result_b: Any, tmp_path: Path
) -> None:
    path = tmp_path / "h.html"
    render_html(result, path, other=result_b, names=("base", "fixed"),
                headline=("fpr", "group=south", "overall"))  # fmt: skip
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(path.as_uri())
    page.wait_for_selector(".assay-report[data-ready]", state="attached")
    card = page.locator(".headline-card")
    assert card.count() == 1
    for ri, r in enumerate((result, result_b)):
        v = r.value("fpr", slice="group=south", threshold=0.5)
        ref = r.value("fpr", slice="overall", threshold=0.5)
        li = card.locator(f'li.hl-run[data-run="{ri}"]')
        text = li.text_content()
        assert float(li.locator(".hl-a").text_content()) == pytest.approx(v.value, abs=6e-4)
        assert float(li.locator(".hl-b").text_content()) == pytest.approx(ref.value, abs=6e-4)
        gap = float(li.locator(".hl-gap").text_content().replace("−", "-").replace("±", ""))
        assert gap == pytest.approx(v.diff, abs=1.1e-3)
        after_gap = text.split("the gap is", 1)[1]
        lo, hi = nums(after_gap)[1:3]
        assert lo == pytest.approx(v.diff_lower, abs=6e-4)
        assert hi == pytest.approx(v.diff_upper, abs=6e-4)
        if v.significant_adjusted:
            assert "a significant gap" in text
        elif v.significant:
            assert "not after the" in text
        else:
            assert "not significant" in text
    # A reference that is not the evaluation's baseline: without replicates in the page no
    # interval, and the page says why...
    render_html(result, path, headline=("fpr", "group=south", "sex=M"), replicate_values=0)
    page.goto(path.as_uri())
    page.reload()
    page.wait_for_selector(".assay-report[data-ready]", state="attached")
    text = page.locator(".headline-card").text_content()
    assert "interval is not known" in text and 'baseline="sex=M"' in text
    # ... with them (the default budget), the interval evaluate(baseline="sex=M") gives.
    render_html(result, path, headline=("fpr", "group=south", "sex=M"))
    page.goto(path.as_uri())
    page.reload()
    page.wait_for_selector(".assay-report[data-ready]", state="attached")
    li = page.locator('.headline-card li.hl-run[data-run="0"]')
    want = assay.evaluate(
        data, label="label", scores="score", slices=["group", "sex", ("group", "sex")],
        thresholds=THRESHOLDS, min_slice_size=30, baseline={"sex": "M"},
    ).value("fpr", slice="group=south", threshold=0.5)  # fmt: skip
    lo, hi = nums(li.text_content().split("the gap is", 1)[1])[1:3]
    assert lo == pytest.approx(want.diff_lower, abs=6e-4)
    assert hi == pytest.approx(want.diff_upper, abs=6e-4)
    ctx.close()


def test_headline_argument_errors(result: Any) -> None:
    with pytest.raises(ValueError, match="'headline' parameter of render_html must be"):
        build_payload(result, headline=("fpr", "sex=F"))
    with pytest.raises(ValueError, match="names metric 'nope'"):
        build_payload(result, headline=("nope", "sex=F", "sex=M"))
    with pytest.raises(ValueError, match="names slice 'sex=X'"):
        build_payload(result, headline=("fpr", "sex=X", "sex=M"))
    assert build_payload(result, headline=("fpr", "sex=F", "sex=M"))["headline"] == {
        "metric": "fpr", "slice": "sex=F", "reference": "sex=M"
    }  # fmt: skip
