"""How the HTML report scales: first view and interaction times in Chromium.

SYNTHETIC data (not a real data set): ``--rows`` scored rows with one slice column of
``--slices`` values, two models (two noisy score columns), nine thresholds, evaluated by
``assay.evaluate`` (jackknife intervals, BH adjustment; every classification metric the
catalogue has, 29 with two models: more than the 12 the target names). The page is
opened in Playwright with Debian's Chromium (``/usr/bin/chromium``, or ``ASSAY_CHROMIUM``)
and timed from inside the page:

* first view: navigation start to the report's ``assay-report-ready`` performance mark
  (data parsed, decoded, first page of every default chart drawn);
* each interaction (threshold change, filter keystroke, sort change, baseline change,
  next page, significant-only): the event dispatched, the page re-rendered and laid out
  (``offsetHeight`` forces layout), median of ``--repeat`` runs;
* the file size.

Run: ``.venv/bin/python benchmarks/bench_report.py`` (about a minute on one core).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import assay
from assay.report import render_html

CHROMIUM = os.environ.get("ASSAY_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

# One interaction = a JS snippet that changes a control; the page re-renders synchronously.
_TIMED = """([sel, kind, value]) => {
  const el = document.querySelector(sel);
  const t0 = performance.now();
  if (kind === 'click') { el.click(); }
  else if (kind === 'check') { el.checked = !el.checked; el.dispatchEvent(new Event('change')); }
  else { el.value = value; el.dispatchEvent(new Event(kind)); }
  void document.body.offsetHeight;
  return performance.now() - t0;
}"""


def build(n_rows: int, n_slices: int, seed: int = 0) -> assay.EvalResult:
    rng = np.random.default_rng(seed)
    g = np.char.add("g", rng.integers(0, n_slices, n_rows).astype(str))
    y = rng.binomial(1, 0.4, n_rows)
    a = np.clip(0.3 * y + rng.normal(0.35, 0.2, n_rows), 0, 1)
    b = np.clip(0.3 * y + rng.normal(0.35, 0.2, n_rows), 0, 1)
    return assay.evaluate(
        {"g": g, "label": y, "model_a": a, "model_b": b}, label="label",
        scores=["model_a", "model_b"], slices=["g"],
        thresholds=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=200_000, help="synthetic rows (default 200000)")
    ap.add_argument("--slices", type=int, default=1000, help="slice values (default 1000)")
    ap.add_argument("--repeat", type=int, default=7, help="runs per interaction (default 7)")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    t = time.perf_counter()
    r = build(args.rows, args.slices)
    t_eval = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        t = time.perf_counter()
        render_html(r, path)
        t_render = time.perf_counter() - t
        size = path.stat().st_size
        out: dict[str, Any] = {
            "slices": len(r.slices), "metrics": len(r.metrics), "models": len(r.models),
            "thresholds": len(r.thresholds), "evaluate_s": round(t_eval, 2),
            "render_html_s": round(t_render, 2), "file_mb": round(size / 1e6, 2),
        }  # fmt: skip
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            firsts = []
            for _ in range(3):
                page.goto(path.as_uri())
                page.wait_for_selector(".assay-report[data-ready]", state="attached")
                firsts.append(page.evaluate(
                    "() => performance.getEntriesByName('assay-report-ready')[0].startTime"
                ))  # fmt: skip
            out["first_view_ms"] = round(statistics.median(firsts), 1)
            out["page_height_px"] = page.evaluate("() => document.body.scrollHeight")
            steps = {
                "threshold": [("select.ctl-threshold", "change", v) for v in ("2", "6")],
                "filter keystroke": [("input.ctl-filter", "input", v) for v in ("g1", "")],
                "sort (abs. gap)": [("select.ctl-sort", "change", v) for v in ("gap", "default")],
                "sort (significance)": [
                    ("select.ctl-sort", "change", v) for v in ("sig", "default")
                ],
                "baseline": [("select.ctl-baseline", "change", v) for v in ("g=g5", "overall")],
                "significant only": [("input.ctl-sigonly", "check", None)] * 2,
                "next page": [("button.pg-next", "click", None)],
            }
            for name, actions in steps.items():
                times = []
                for _ in range(args.repeat):
                    for sel, kind, value in actions:
                        times.append(page.evaluate(_TIMED, [sel, kind, value]))
                out[f"{name} median_ms"] = round(statistics.median(times), 1)
            browser.close()
    for k, v in out.items():
        print(f"{k:28s} {v}")
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
