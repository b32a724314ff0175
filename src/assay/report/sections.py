"""Report sections: how every capability's result (OOD detection, uncertainty, stress tests,
data valuation, private clustering...) appears in an offline HTML report.

A result implements ``to_section() -> Section``; a section is data, not markup: a title, a
plain-words summary, key figures, tables and charts (line, scatter, bar with intervals,
histogram). :func:`render_sections` draws any number of them into one self-contained page
(inline SVG drawn here in Python, the fairness report's stylesheet, no script, no network),
so every capability looks the same and a page can combine several results::

    page = render_sections([ood_result.to_section(), calib_result.to_section()],
                           "report.html", title="Model X: robustness")

A section may also embed an :class:`~assay.EvalResult` (``evaluation=``): its interactive
sliced report is shown in a sandboxed frame under the section, so metrics measured per slice
on the platform keep their controls and intervals.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from .._util.files import write_text_atomic
from ..core.result import EvalResult

ChartKind = Literal["line", "scatter", "bar", "histogram"]
_KINDS = ("line", "scatter", "bar", "histogram")

#: Okabe-Ito colours (distinguishable with the common colour-vision deficiencies).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


@dataclass
class Series:
    """One series of a chart.

    ``x``/``y``: numbers (for ``bar`` charts ``x`` holds the category labels); ``lower`` /
    ``upper`` (optional) an interval per point, drawn as a band (line) or whiskers (bar,
    scatter). For ``histogram`` charts ``x`` holds the ``len(y) + 1`` bin edges and ``y``
    the counts (or densities) per bin.
    """

    name: str
    x: Sequence[Any]
    y: Sequence[float]
    lower: Sequence[float] | None = None
    upper: Sequence[float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"Series: name must be a str, got {type(self.name).__name__}")
        self.x = list(self.x)
        self.y = [float(v) for v in self.y]
        for arg in ("lower", "upper"):
            v = getattr(self, arg)
            if v is not None:
                v = [float(u) for u in v]
                if len(v) != len(self.y):
                    raise ValueError(
                        f"Series {self.name!r}: {arg} must have one value per point "
                        f"({len(self.y)}), got {len(v)}"
                    )
                setattr(self, arg, v)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "x": [_plain(v) for v in self.x], "y": self.y}
        if self.lower is not None:
            d["lower"] = self.lower
        if self.upper is not None:
            d["upper"] = self.upper
        return d


@dataclass
class Chart:
    """A chart: ``kind`` one of ``line``, ``scatter``, ``bar``, ``histogram``.

    ``reference``: an optional diagonal ``"y=x"`` (reliability diagrams, calibration plots)
    or a horizontal line at a number. ``x_range`` / ``y_range`` fix an axis (default: from
    the data, including 0 for bars and histograms).
    """

    kind: ChartKind
    title: str
    series: Sequence[Series]
    x_label: str = ""
    y_label: str = ""
    caption: str = ""
    reference: str | float | None = None
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    log_x: bool = False

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"Chart: kind must be one of {', '.join(_KINDS)}, got {self.kind!r}")
        self.series = list(self.series)
        if not self.series:
            raise ValueError(f"Chart {self.title!r}: series must hold at least one Series, got none")
        for s in self.series:
            if not isinstance(s, Series):
                raise TypeError(f"Chart {self.title!r}: series must be Series, got {type(s).__name__}")
            if self.kind == "histogram":
                if len(s.x) != len(s.y) + 1:
                    raise ValueError(
                        f"Chart {self.title!r}: a histogram series needs len(y) + 1 bin edges "
                        f"in x, got {len(s.x)} edges for {len(s.y)} bins in {s.name!r}"
                    )
            elif len(s.x) != len(s.y):
                raise ValueError(
                    f"Chart {self.title!r}: series {s.name!r} has {len(s.x)} x values "
                    f"and {len(s.y)} y values"
                )
        if self.kind == "bar":
            cats = [list(map(str, s.x)) for s in self.series]
            if any(c != cats[0] for c in cats):
                raise ValueError(f"Chart {self.title!r}: bar series must share their categories (x)")
        if self.log_x and self.kind in ("bar", "histogram"):
            raise ValueError(f"Chart {self.title!r}: log_x works for line and scatter charts only")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "title": self.title, "x_label": self.x_label,
            "y_label": self.y_label, "caption": self.caption,
            "reference": self.reference, "series": [s.to_dict() for s in self.series],
        }  # fmt: skip


@dataclass
class Table:
    """A table: ``columns`` (header names) and ``rows`` (sequences of cells: numbers are
    shown with ``digits`` significant decimals, ``None``/NaN as a dash)."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str = ""
    digits: int = 4

    def __post_init__(self) -> None:
        self.columns = [str(c) for c in self.columns]
        self.rows = [list(r) for r in self.rows]
        for i, r in enumerate(self.rows):
            if len(r) != len(self.columns):
                raise ValueError(
                    f"Table {self.title!r}: row {i} has {len(r)} cells, expected "
                    f"{len(self.columns)} (one per column)"
                )

    @classmethod
    def from_frame(cls, frame: Any, title: str, *, caption: str = "", digits: int = 4,
                   max_rows: int | None = 200) -> Table:
        """A table from a pandas DataFrame (its first ``max_rows`` rows)."""
        df = frame if max_rows is None else frame.head(max_rows)
        return cls(title, [str(c) for c in df.columns], df.itertuples(index=False, name=None),
                   caption=caption, digits=digits)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "columns": list(self.columns), "caption": self.caption,
                "rows": [[_plain(v) for v in r] for r in self.rows]}


@dataclass
class Section:
    """One capability's part of a report.

    ``summary``: plain-words paragraphs (the verdict first); ``figures``: key numbers shown
    as tiles (``{"AUROC (LLR)": 0.99}``); ``tables`` and ``charts`` in display order;
    ``notes``: caveats shown under the section (settings, what was withheld and why);
    ``evaluation``: an :class:`~assay.EvalResult` whose interactive sliced report is
    embedded; ``kind``: the capability (``"ood"``, ``"uncertainty"``...), for the JSON.
    """

    title: str
    summary: Sequence[str] = ()
    figures: dict[str, Any] = field(default_factory=dict)
    tables: Sequence[Table] = ()
    charts: Sequence[Chart] = ()
    notes: Sequence[str] = ()
    evaluation: EvalResult | None = None
    kind: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.title, str) or not self.title:
            raise ValueError(f"Section: title must be a non-empty str, got {self.title!r}")
        if isinstance(self.summary, str):
            self.summary = [self.summary]
        if isinstance(self.notes, str):
            self.notes = [self.notes]
        for t in self.tables:
            if not isinstance(t, Table):
                raise TypeError(f"Section {self.title!r}: tables must be Table, got {type(t).__name__}")
        for c in self.charts:
            if not isinstance(c, Chart):
                raise TypeError(f"Section {self.title!r}: charts must be Chart, got {type(c).__name__}")
        if self.evaluation is not None and not isinstance(self.evaluation, EvalResult):
            raise TypeError(
                f"Section {self.title!r}: evaluation must be an EvalResult, "
                f"got {type(self.evaluation).__name__}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "title": self.title, "summary": list(self.summary),
            "figures": {k: _plain(v) for k, v in self.figures.items()},
            "tables": [t.to_dict() for t in self.tables],
            "charts": [c.to_dict() for c in self.charts], "notes": list(self.notes),
        }  # fmt: skip

    def to_html(self, path: str | Path | None = None, *, title: str | None = None) -> str:
        """This section alone as a page (see :func:`render_sections`)."""
        return render_sections([self], path, title=title)


@runtime_checkable
class HasSection(Protocol):
    """A result that can be shown in a report."""

    def to_section(self) -> Section: ...


# --------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------

# No script of its own; an embedded evaluation's frame (srcdoc, which inherits this policy)
# runs its report's inline script, so that page allows inline script too. Nothing is fetched.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
_CSP_EMBED = _CSP.replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';")

_EXTRA_CSS = """
.assay-report .figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 10px 0 4px; }
.assay-report .figure { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; min-width: 120px; }
.assay-report .figure .v { font-size: 18px; font-weight: 650; }
.assay-report .figure .k { font-size: 12px; color: var(--muted); }
.assay-report table.data { width: auto; border-collapse: collapse; font-size: 13px; margin: 4px 0 8px; }
.assay-report table.data th, .assay-report table.data td { border-bottom: 1px solid var(--line); padding: 3px 10px 3px 0; text-align: left; }
.assay-report table.data td.num { text-align: right; font-variant-numeric: tabular-nums; }
.assay-report .charts { display: flex; flex-wrap: wrap; gap: 16px; }
.assay-report .charts figure { margin: 0; }
.assay-report .charts figcaption { font-size: 12px; color: var(--muted); max-width: 460px; }
.assay-report .legend-inline { font-size: 12px; display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 2px 0; }
.assay-report iframe.embedded { width: 100%; height: 900px; border: 1px solid var(--line); border-radius: 6px; }
"""


def render_sections(
    sections: Sequence[Section | HasSection],
    path: str | Path | None = None,
    *,
    title: str | None = None,
) -> str:
    """Draw ``sections`` (or results with ``to_section()``) into one self-contained HTML page.

    The page needs no network and no script (charts are inline SVG); an embedded evaluation
    runs its own report in a sandboxed frame. Written atomically to ``path`` when given; the
    HTML is returned either way.
    """
    if isinstance(sections, (Section, HasSection)):
        sections = [sections]
    items: list[Section] = []
    for i, s in enumerate(sections):
        if isinstance(s, Section):
            items.append(s)
        elif isinstance(s, HasSection):
            sec = s.to_section()
            if not isinstance(sec, Section):
                raise TypeError(
                    f"render_sections: {type(s).__name__}.to_section() must return a Section, "
                    f"got {type(sec).__name__}"
                )
            items.append(sec)
        else:
            raise TypeError(
                f"render_sections: sections[{i}] must be a Section or have to_section(), "
                f"got {type(s).__name__}"
            )
    if not items:
        raise ValueError("render_sections: sections must hold at least one section, got none")
    from ._html import _asset  # the fairness report's stylesheet

    page_title = title or (items[0].title if len(items) == 1 else "assay report")
    body = "\n".join(_section_html(s, k) for k, s in enumerate(items))
    csp = _CSP_EMBED if any(s.evaluation is not None for s in items) else _CSP
    doc = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(page_title)}</title>\n<style>\n{_asset('report.css')}\n{_EXTRA_CSS}</style>\n"
        "</head>\n<body class=\"assay-report\">\n<div class=\"assay-app\">\n"
        f'<div class="page-head"><h1 class="title">{_e(page_title)}</h1></div>\n'
        f"{body}\n</div>\n</body>\n</html>\n"
    )
    if path is not None:
        write_text_atomic(path, doc)
    return doc


def _section_html(s: Section, k: int) -> str:
    out = [f'<section class="card" id="section-{k}" data-kind="{_e(s.kind)}">',
           f'<div class="card-head"><h3>{_e(s.title)}</h3>'
           + (f'<span class="chip">{_e(s.kind)}</span>' if s.kind else "") + "</div>"]
    out += [f'<p class="caption">{_e(p)}</p>' for p in s.summary]
    if s.figures:
        out.append('<div class="figures">')
        for key, v in s.figures.items():
            out.append(f'<div class="figure"><div class="v">{_e(_fmt(v, 4))}</div>'
                       f'<div class="k">{_e(key)}</div></div>')
        out.append("</div>")
    if s.charts:
        out.append('<div class="charts">')
        out += [_chart_html(c) for c in s.charts]
        out.append("</div>")
    out += [_table_html(t) for t in s.tables]
    out += [f'<p class="note">{_e(n)}</p>' for n in s.notes]
    if s.evaluation is not None:
        from ._html import repr_html

        out.append("<h4>Per slice</h4>")
        out.append(repr_html(s.evaluation).replace('class="assay-report-frame"',
                                                   'class="assay-report-frame embedded"'))
    out.append("</section>")
    return "\n".join(out)


def _table_html(t: Table) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in t.columns)
    rows = []
    for r in t.rows:
        cells = []
        for v in r:
            num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            cls = ' class="num"' if num else ""
            cells.append(f"<td{cls}>{_e(_fmt(v, t.digits))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f'<p class="note">{_e(t.caption)}</p>' if t.caption else ""
    return (f"<h4>{_e(t.title)}</h4>{cap}<div class=\"chart-box\"><table class=\"data\">"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


# -- SVG charts -------------------------------------------------------------------------

_W, _H = 460, 300
_ML, _MR, _MT, _MB = 56, 14, 10, 44


def _chart_html(c: Chart) -> str:
    svg = _chart_svg(c)
    legend = ""
    if len(c.series) > 1:
        legend = '<div class="legend-inline">' + "".join(
            f'<span class="lg"><span class="sw" style="background:{PALETTE[i % len(PALETTE)]}">'
            f"</span>{_e(s.name)}</span>" for i, s in enumerate(c.series)
        ) + "</div>"
    cap = f"<figcaption>{_e(c.caption)}</figcaption>" if c.caption else ""
    return f'<figure><h4>{_e(c.title)}</h4>{legend}<div class="chart-box">{svg}</div>{cap}</figure>'


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering ``[lo, hi]`` (steps of 1, 2 or 5 x 10^k)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = start
    while v <= hi + step * 1e-9:
        ticks.append(0.0 if abs(v) < step * 1e-9 else v)
        v += step
    return ticks


def _finite(vals: Sequence[float]) -> list[float]:
    return [float(v) for v in vals if v is not None and math.isfinite(float(v))]


def _chart_svg(c: Chart) -> str:
    pw, ph = _W - _ML - _MR, _H - _MT - _MB
    bar = c.kind == "bar"
    cats = [str(v) for v in c.series[0].x] if bar else []
    ys: list[float] = []
    xs: list[float] = []
    for s in c.series:
        ys += _finite(s.y) + _finite(s.lower or []) + _finite(s.upper or [])
        if not bar:
            xs += _finite([float(v) for v in s.x])
    if c.kind in ("bar", "histogram"):
        ys.append(0.0)
    if c.log_x:
        xs = [v for v in xs if v > 0]
    y0, y1 = c.y_range or ((min(ys), max(ys)) if ys else (0.0, 1.0))
    if y1 <= y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    if c.y_range is None:  # a margin so points and bars at the extremes stay visible
        pad = 0.04 * (y1 - y0)
        y0, y1 = (y0 if y0 == 0.0 and c.kind in ("bar", "histogram") else y0 - pad), y1 + pad
    if not bar:
        x0, x1 = c.x_range or ((min(xs), max(xs)) if xs else (0.0, 1.0))
        if x1 <= x0:
            x0, x1 = x0 - 0.5, x1 + 0.5
        if c.x_range is None and c.kind == "scatter":
            if c.log_x:
                x0, x1 = x0 / 1.2, x1 * 1.2
            else:
                x0, x1 = x0 - 0.04 * (x1 - x0), x1 + 0.04 * (x1 - x0)
    else:
        x0, x1 = 0.0, float(max(len(cats), 1))

    def fy(v: float) -> float:
        return _MT + ph * (1 - (v - y0) / (y1 - y0))

    def fx(v: float) -> float:
        if c.log_x:
            return _ML + pw * (math.log10(v) - math.log10(x0)) / (math.log10(x1) - math.log10(x0))
        return _ML + pw * (v - x0) / (x1 - x0)

    parts = [f'<svg class="chart" role="img" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" '
             f'aria-label="{_e(c.title)}">', '<g class="grid">']
    for t in nice_ticks(y0, y1):
        parts.append(f'<line x1="{_ML}" x2="{_ML + pw}" y1="{fy(t):.1f}" y2="{fy(t):.1f}"/>')
    parts.append("</g>")
    for t in nice_ticks(y0, y1):
        parts.append(f'<text class="tick" x="{_ML - 6}" y="{fy(t) + 4:.1f}" '
                     f'text-anchor="end">{_e(_tick(t))}</text>')
    if bar:
        for i, cat in enumerate(cats):
            label = cat if len(cat) <= 14 else cat[:13] + "\u2026"
            parts.append(f'<text class="tick" x="{fx(i + 0.5):.1f}" y="{_MT + ph + 14}" '
                         f'text-anchor="middle">{_e(label)}<title>{_e(cat)}</title></text>')
    else:
        xt = ([10.0**k for k in range(math.floor(math.log10(x0)), math.ceil(math.log10(x1)) + 1)
               if x0 <= 10.0**k <= x1] if c.log_x else nice_ticks(x0, x1))
        for t in xt:
            parts.append(f'<text class="tick" x="{fx(t):.1f}" y="{_MT + ph + 14}" '
                         f'text-anchor="middle">{_e(_tick(t))}</text>')
    parts.append(f'<line class="zero" x1="{_ML}" x2="{_ML + pw}" y1="{_MT + ph}" y2="{_MT + ph}"/>')
    parts.append(f'<line class="zero" x1="{_ML}" x2="{_ML}" y1="{_MT}" y2="{_MT + ph}"/>')
    if c.x_label:
        parts.append(f'<text class="axis-title" x="{_ML + pw / 2:.1f}" y="{_H - 8}" '
                     f'text-anchor="middle">{_e(c.x_label)}</text>')
    if c.y_label:
        parts.append(f'<text class="axis-title" transform="translate(14,{_MT + ph / 2:.1f}) '
                     f'rotate(-90)" text-anchor="middle">{_e(c.y_label)}</text>')
    # reference line
    if c.reference == "y=x" and not bar:
        lo, hi = max(x0, y0), min(x1, y1)
        if hi > lo:
            parts.append(f'<line x1="{fx(lo):.1f}" y1="{fy(lo):.1f}" x2="{fx(hi):.1f}" '
                         f'y2="{fy(hi):.1f}" stroke="#8c959f" stroke-dasharray="4 3"/>')
    elif isinstance(c.reference, (int, float)) and y0 <= float(c.reference) <= y1:
        r = fy(float(c.reference))
        parts.append(f'<line x1="{_ML}" x2="{_ML + pw}" y1="{r:.1f}" y2="{r:.1f}" '
                     f'stroke="#8c959f" stroke-dasharray="4 3"/>')
    ns = len(c.series)
    for si, s in enumerate(c.series):
        col = PALETTE[si % len(PALETTE)]
        name = _e(s.name)
        parts.append(f'<g class="series" data-name="{name}">')
        if bar:
            slot = 1.0 / ns
            for i, v in enumerate(s.y):
                if not math.isfinite(v):
                    continue
                left = fx(i + 0.1 + 0.8 * slot * si)
                w = pw / max(len(cats), 1) * 0.8 * slot
                top, base = fy(max(v, 0.0)), fy(min(v, 0.0))
                parts.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{w:.1f}" '
                             f'height="{max(base - top, 0.5):.1f}" fill="{col}">'
                             f"<title>{name} {_e(str(s.x[i]))}: {_e(_fmt(v, 4))}</title></rect>")
                _whisker(parts, s, i, left + w / 2, fy)
        elif c.kind == "histogram":
            for i, v in enumerate(s.y):
                if not math.isfinite(v):
                    continue
                a, b = fx(float(s.x[i])), fx(float(s.x[i + 1]))
                parts.append(f'<rect x="{a:.1f}" y="{fy(v):.1f}" width="{max(b - a, 0.5):.1f}" '
                             f'height="{max(fy(0.0) - fy(v), 0.0):.1f}" fill="{col}" '
                             f'fill-opacity="{0.85 if ns == 1 else 0.45}">'
                             f"<title>{name} [{_e(_tick(float(s.x[i])))}, "
                             f"{_e(_tick(float(s.x[i + 1])))}): {_e(_fmt(v, 4))}</title></rect>")
        else:
            pts = [(fx(float(x)), fy(y)) for x, y in zip(s.x, s.y, strict=True)
                   if math.isfinite(y) and math.isfinite(float(x)) and (not c.log_x or float(x) > 0)]
            if c.kind == "line" and s.lower is not None and s.upper is not None:
                band = [(fx(float(x)), fy(u)) for x, u in zip(s.x, s.upper, strict=True)
                        if math.isfinite(u)]
                band += [(fx(float(x)), fy(lw)) for x, lw in reversed(list(zip(s.x, s.lower, strict=True)))
                         if math.isfinite(lw)]
                if band:
                    parts.append(f'<polygon points="{_pts(band)}" fill="{col}" fill-opacity="0.15"/>')
            if c.kind == "line" and pts:
                parts.append(f'<polyline points="{_pts(pts)}" fill="none" stroke="{col}" '
                             f'stroke-width="2"/>')
            if c.kind == "scatter" or len(pts) <= 40:
                for i, (px, py) in enumerate(pts):
                    parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{3 if c.kind == "scatter" else 2}" '
                                 f'fill="{col}"><title>{name}: ({_e(_fmt(s.x[i], 4))}, '
                                 f"{_e(_fmt(s.y[i], 4))})</title></circle>")
                    if c.kind == "scatter":
                        _whisker(parts, s, i, px, fy)
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _whisker(parts: list[str], s: Series, i: int, px: float, fy: Any) -> None:
    if s.lower is None or s.upper is None:
        return
    lo, hi = s.lower[i], s.upper[i]
    if math.isfinite(lo) and math.isfinite(hi):
        parts.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{fy(lo):.1f}" y2="{fy(hi):.1f}" '
                     'stroke="#1f2328" stroke-width="1.2"/>')


def _pts(p: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in p)


def _tick(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
        return f"{v:.0e}"
    return f"{v:.6g}"


def _fmt(v: Any, digits: int) -> str:
    if v is None:
        return "\u2013"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "\u2013"
        if math.isinf(f):
            return "\u221e" if f > 0 else "-\u221e"
        if f != 0 and (abs(f) >= 1e6 or abs(f) < 10 ** -digits):
            return f"{f:.{max(digits - 1, 1)}e}"
        return f"{f:.{digits}f}".rstrip("0").rstrip(".") if "." in f"{f:.{digits}f}" else f"{f}"
    return str(v)


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


__all__ = ["PALETTE", "Chart", "HasSection", "Section", "Series", "Table", "nice_ticks",
           "render_sections"]
