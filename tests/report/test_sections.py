"""Report sections (assay.report.sections): validation, drawing, escaping, and a real browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assay.report import Chart, Section, Series, Table, render_sections
from assay.report.sections import nice_ticks

EVIL = "<script>alert(1)</script>"


def full_section(evaluation: Any = None) -> Section:
    edges = np.linspace(0, 1, 11)
    return Section(
        "Detectors <&>",
        summary=["Energy separates best.", EVIL],
        figures={"AUROC": 0.9876, "rows": 12000, "ok": True, "missing": float("nan")},
        charts=[
            Chart("line", "ROC", [Series("energy", [0, 0.1, 1], [0, 0.8, 1],
                                         lower=[0, 0.7, 1], upper=[0, 0.9, 1]),
                                  Series("msp", [0, 0.3, 1], [0, 0.6, 1])],
                  x_label="FPR", y_label="TPR", reference="y=x"),
            Chart("scatter", "Reliability", [Series(EVIL, [0.1, 0.5, 0.9], [0.2, 0.5, 0.8],
                                                    lower=[0.1, 0.4, 0.7], upper=[0.3, 0.6, 0.9])]),
            Chart("bar", "AUROC by detector", [Series("a", ["msp", "energy", EVIL], [0.8, 0.9, 0.5]),
                                               Series("b", ["msp", "energy", EVIL], [0.7, -0.1, 0.4])],
                  reference=0.5),
            Chart("histogram", "Scores", [Series("in", edges, np.arange(10.0)),
                                          Series("out", edges, np.arange(10.0)[::-1])]),
            Chart("line", "Log x", [Series("c", [1, 10, 100, 1000], [0.5, 0.4, 0.3, 0.2])],
                  log_x=True),
        ],
        tables=[Table("Table", ["detector", "AUROC", "n"], [["msp", 0.81234567, 10], [EVIL, None, 3]])],
        notes=["Seeds 0-4."],
        evaluation=evaluation,
        kind="ood",
    )


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    assert nice_ticks(0, 1) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert nice_ticks(0, 10, 5) == pytest.approx([0, 2, 4, 6, 8, 10])
    t = nice_ticks(-3.3, 17.2)
    assert t == pytest.approx([0, 5, 10, 15]) or t[0] >= -3.3
    steps = np.diff(t)
    assert np.allclose(steps, steps[0]) and all(-3.3 <= v <= 17.2 for v in t)
    assert nice_ticks(2, 2) == [2]


def test_page_draws_every_chart_and_escapes_text() -> None:
    doc = render_sections([full_section()])
    assert EVIL not in doc and "&lt;script&gt;" in doc
    assert doc.count("<svg") == 5
    # bars: 3 categories x 2 series, histogram 10 bins x 2 series
    body = doc.split("AUROC by detector", 1)[1].split("</figure>", 1)[0]
    assert body.count("<rect") == 6
    hist = doc.split(">Scores<", 1)[1].split("</figure>", 1)[0]
    assert hist.count("<rect") == 20
    assert "0.9876" in doc and "12,000" in doc and "Seeds 0-4." in doc
    assert "script-src" not in doc  # no script without an embedded evaluation
    assert re.search(r"<table class=\"data\">.*0\.8123", doc, re.S)


def test_to_dict_is_json_plain() -> None:
    import json

    d = full_section().to_dict()
    text = json.dumps(d, allow_nan=False)
    assert d["figures"]["missing"] is None and d["kind"] == "ood"
    assert json.loads(text)["charts"][3]["series"][0]["x"][-1] == 1.0


def test_writes_atomically(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    doc = full_section().to_html(out)
    assert out.read_text(encoding="utf-8") == doc
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_results_with_to_section_are_accepted() -> None:
    class R:
        def to_section(self) -> Section:
            return Section("from a result")

    assert "from a result" in render_sections([R()])
    assert "from a result" in render_sections(R())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "err", "message"),
    [
        (lambda: Chart("pie", "t", [Series("a", [1], [1])]), ValueError,
         "Chart: kind must be one of line, scatter, bar, histogram, got 'pie'"),
        (lambda: Chart("line", "t", []), ValueError,
         "Chart 't': series must hold at least one Series, got none"),
        (lambda: Chart("line", "t", [Series("a", [1, 2], [1])]), ValueError,
         "Chart 't': series 'a' has 2 x values and 1 y values"),
        (lambda: Chart("histogram", "t", [Series("a", [0, 1], [1, 2])]), ValueError,
         "Chart 't': a histogram series needs len(y) + 1 bin edges in x, got 2 edges for 2 bins in 'a'"),
        (lambda: Chart("bar", "t", [Series("a", ["x"], [1]), Series("b", ["y"], [1])]), ValueError,
         "Chart 't': bar series must share their categories (x)"),
        (lambda: Series("a", [1, 2], [1, 2], lower=[0]), ValueError,
         "Series 'a': lower must have one value per point (2), got 1"),
        (lambda: Table("t", ["a", "b"], [[1]]), ValueError,
         "Table 't': row 0 has 1 cells, expected 2 (one per column)"),
        (lambda: Section(""), ValueError, "Section: title must be a non-empty str, got ''"),
        (lambda: Section("s", evaluation=3), TypeError,  # type: ignore[arg-type]
         "Section 's': evaluation must be an EvalResult, got int"),
        (lambda: render_sections([]), ValueError,
         "render_sections: sections must hold at least one section, got none"),
        (lambda: render_sections([3]), TypeError,  # type: ignore[list-item]
         "render_sections: sections[0] must be a Section or have to_section(), got int"),
    ],
)
def test_bad_input_messages(make: Any, err: type[Exception], message: str) -> None:
    with pytest.raises(err) as e:
        make()
    assert str(e.value) == message


def test_in_a_real_browser_with_an_embedded_evaluation(
    browser: Any, result: Any, tmp_path: Path
) -> None:
    path = tmp_path / "sections.html"
    render_sections([full_section(result), Section("Second", summary="plain")], path)
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = ctx.new_page()
    errors: list[str] = []
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: m.type in ("error", "warning") and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(path.as_uri())
        assert page.locator("section.card").count() == 2
        assert page.locator("section.card svg.chart").count() == 5
        # every chart has a drawn size (SVG laid out, not collapsed)
        sizes = page.eval_on_selector_all("svg.chart", "els => els.map(e => e.getBoundingClientRect().width)")
        assert all(w > 100 for w in sizes)
        frame = page.frame_locator("iframe.assay-report-frame")
        frame.locator(".assay-report[data-ready]").wait_for(state="attached", timeout=15000)
        assert frame.locator(".chart-card").count() > 0  # the embedded report ran its script
        assert not dialogs and not errors, (dialogs, errors)
        others = [u for u in requests if u not in (path.as_uri(), "about:blank", "about:srcdoc")]
        assert not others, others
    finally:
        ctx.close()
