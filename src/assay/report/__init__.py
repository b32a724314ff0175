"""Fairness Indicators-style reports of an :class:`~assay.EvalResult`.

* :func:`render_html`: one self-contained, offline HTML page with interactive charts
  (metrics and threshold controls, baseline choice, slice filter and sort, plots such as
  calibration, side-by-side comparison of two results, per-slice drill-down into sample
  rows);
* :func:`repr_html`: the same page in an ``<iframe srcdoc>`` for Jupyter's ``_repr_html_``;
* :func:`model_card`: a Markdown or JSON model card with the data, slices, metrics with
  intervals and the largest significant gaps, with the authored sections (intended use,
  limitations, ethical considerations, ...) from a :class:`ModelCardInfo`, a mapping or a
  YAML/JSON file (:func:`load_card_info`), also as Model Card Toolkit JSON;
* :func:`render_sections`: the sections of any other capability's results (OOD detection,
  uncertainty, stress tests, valuation, private clustering: each result's ``to_section()``)
  in one offline page, see :mod:`assay.report.sections`.

Importing this package registers these as the renderers of ``EvalResult.to_html``,
``to_model_card`` and ``_repr_html_`` (the result does not import the report).
"""

from ..core.result import register_renderer
from ._card import ModelCardInfo, load_card_info, model_card
from ._html import build_payload, render_html, repr_html
from .sections import Chart, HasSection, Section, Series, Table, render_sections

register_renderer("html", render_html)
register_renderer("model_card", model_card)
register_renderer("repr_html", repr_html)

__all__ = [
    "Chart",
    "HasSection",
    "ModelCardInfo",
    "Section",
    "Series",
    "Table",
    "build_payload",
    "load_card_info",
    "model_card",
    "render_html",
    "render_sections",
    "repr_html",
]
