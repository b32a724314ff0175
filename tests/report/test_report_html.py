"""The HTML report without a browser: file layout, embedded data, escaping, arguments."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import assay
from assay.core.slicing import slice_value_text
from assay.report import build_payload, render_html, repr_html
from assay.report._payload import script_json


def embedded(doc: str) -> dict[str, Any]:
    m = re.search(
        r'<script type="application/json" class="assay-report-data">(.*?)</script>', doc, re.S
    )
    assert m, "no data block"
    return json.loads(m.group(1))


def decoded(e: dict[str, Any], field: str) -> list[Any]:
    """A payload entry's field as numbers (the page stores integers at scale 10**q)."""
    sc = 10.0 ** e["q"]
    return [None if x is None else x / sc for x in e[field]]


def test_writes_one_self_contained_file(result: Any, tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    doc = render_html(result, path)
    assert path.read_text(encoding="utf-8") == doc
    assert doc.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in doc and "default-src 'none'" in doc
    # No external resource of any kind.
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", doc, re.I)
    assert "@import" not in doc and "url(" not in doc
    assert doc.count("<script") == 2


def test_embedded_values_match_result(result: Any) -> None:
    payload = embedded(render_html(result))
    r0 = payload["results"][0]
    names = [s["name"] for s in r0["slices"]]
    assert names == [s.slice for s in result.slices]
    k = r0["thresholds"].index(0.3)
    e = r0["values"]["score"][""]["fpr"][k]
    block = {f: decoded(e, f) for f in ("v", "lo", "hi")} | {"sig": e["sig"], "sa": e["sa"]}
    for j, name in enumerate(names):
        v = result.value("fpr", slice=name, threshold=0.3)
        if v.withheld:
            assert block["v"][j] is None
            continue
        # rounded to 4 decimals (the page shows 3)
        assert block["v"][j] == pytest.approx(v.value, abs=5.1e-5)
        assert block["lo"][j] == pytest.approx(v.lower, abs=5.1e-5)
        assert block["hi"][j] == pytest.approx(v.upper, abs=5.1e-5)
        assert block["sig"][j] == int(v.significant)
        assert block["sa"][j] == int(v.significant_adjusted)
    auc = r0["values"]["score"][""]["roc_auc"]
    assert len(auc) == 1 and "roc_auc" in r0["thresholdFree"]
    j = names.index("sex=M")
    want = result.value("roc_auc", slice="sex=M").value
    assert decoded(auc[0], "v")[j] == pytest.approx(want, abs=5.1e-5)
    tiny = r0["slices"][names.index("group=tiny")]
    assert tiny["withheld"] and tiny["count"] == 12 and "min_slice_size" in tiny["reason"]


def test_hostile_names_are_escaped(evil_result: Any, evil_data: Any, evil: Any) -> None:
    doc = render_html(evil_result, sample=evil_data, title="</title><script>alert(3)</script>")
    for v in evil["values"]:
        assert v not in doc
    assert evil["model"] not in doc and evil["column"] not in doc
    assert "\u2028" not in doc and "\u2029" not in doc
    start = doc.index('class="assay-report-data">') + len('class="assay-report-data">')
    block = doc[start : doc.index("</script>", start)]
    assert not set(block) & {"<", ">", "&"}
    assert "\\u003cscript\\u003e" in block
    assert "<title>&lt;/title&gt;&lt;script&gt;alert(3)&lt;/script&gt;</title>" in doc
    payload = embedded(doc)
    names = {s["name"] for s in payload["results"][0]["slices"]}
    # values holding "=" are quoted in slice names (assay.core.slicing.slice_value_text)
    assert {f"{evil['column']}={slice_value_text(v)}" for v in evil["values"]} <= names
    assert payload["runs"][0]["label"] == evil["model"]


def test_script_json_escapes() -> None:
    text = script_json({"a": "</script><!-- & \u2028\u2029 >"})
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(text) == {"a": "</script><!-- & \u2028\u2029 >"}


def test_sample_rows_per_slice(result: Any, data: Any) -> None:
    p1 = build_payload(result, sample=data, sample_rows=7)["sample"]
    p2 = build_payload(result, sample=pa.table(data), sample_rows=7)["sample"]
    assert p1 == p2  # deterministic, whatever the table type
    # slice columns, label, score, then the sample's other columns (here score_b)
    assert p1["columns"] == ["group", "sex", "label", "score", "score_b"]
    assert p1["features"] == ["score_b"]
    assert build_payload(result, sample=data, sample_columns=0)["sample"]["columns"] == [
        "group", "sex", "label", "score"
    ]  # fmt: skip
    for s in result.slices:
        entry = p1["bySlice"][s.slice]
        mask = np.ones(len(data["label"]), dtype=bool)
        for c, v in s.key.items():
            mask &= data[c] == v
        assert entry["matched"] == int(mask.sum())
        assert len(entry["rows"]) == min(7, int(mask.sum()))
        for k in entry["rows"]:
            row = dict(zip(p1["columns"], p1["rows"][k], strict=True))
            for c, v in s.key.items():
                assert row[c] == v


def test_sample_missing_columns_and_pandas(result: Any, data: Any) -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({k: v for k, v in data.items() if k != "sex"})
    p = build_payload(result, sample=df)["sample"]
    assert p["bySlice"]["sex=F"]["missing"] == ["sex"]
    assert p["bySlice"]["sex=F"]["rows"] == []
    assert len(p["bySlice"]["group=east"]["rows"]) == 20


def test_comparison_payload(result: Any, result_b: Any) -> None:
    p = build_payload(result, other=result_b, names=("base", "fixed"))
    assert [r["label"] for r in p["runs"]] == ["base", "fixed"]
    assert p["initial"]["compare"] == 1
    assert [r["name"] for r in p["results"]] == ["base", "fixed"]
    assert p["title"] == "Fairness report: base vs fixed"


def test_initial_metrics_and_threshold(result: Any) -> None:
    p = build_payload(result, metrics=["precision", "calibration_plot"], threshold=0.7)
    assert p["initial"]["metrics"] == ["precision", "__calibration__"]
    assert p["thresholds"][p["initial"]["threshold"]] == 0.7
    with pytest.raises(ValueError, match="'metrics' parameter of render_html"):
        build_payload(result, metrics=["nope"])
    with pytest.raises(ValueError, match="'threshold' parameter of render_html"):
        build_payload(result, threshold=0.55)
    with pytest.raises(TypeError, match="'result' parameter of render_html"):
        render_html({"not": "a result"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'names' parameter"):
        build_payload(result, other=result, names=("A", "A"))


def test_json_round_trip_renders_same(result: Any) -> None:
    again = assay.EvalResult.from_json(result.to_json())
    # the same page, but for the replicates, which JSON does not carry
    assert embedded(render_html(again, replicate_values=0)) == embedded(
        render_html(result, replicate_values=0)
    )
    rep = embedded(render_html(again, replicate_values=10))["results"][0]["replicates"]
    assert rep["shipped"] is None and "read from JSON" in rep["why"]


def test_repr_html_is_sandboxed_iframe(result: Any) -> None:
    out = repr_html(result, height=500)
    assert out.startswith('<iframe class="assay-report-frame" srcdoc="')
    assert 'sandbox="allow-scripts"' in out and "height:500px" in out
    src = re.search(r'srcdoc="([^"]*)"', out)
    assert src is not None
    assert html.unescape(src.group(1)) == render_html(result)


def test_multiclass_result_renders() -> None:
    rng = np.random.default_rng(3)
    n = 600
    probs = rng.dirichlet([1, 1, 1], n)
    data = {
        "g": rng.choice(["u", "v"], n), "y": rng.integers(0, 3, n),
        "p0": probs[:, 0], "p1": probs[:, 1], "p2": probs[:, 2],
    }  # fmt: skip
    r = assay.evaluate(
        data, label="y", scores={"m": ["p0", "p1", "p2"]}, classes=[0, 1, 2], slices=["g"]
    )
    p = embedded(render_html(r))
    assert p["results"][0]["classes"] == ["0", "1", "2"]
    v = decoded(p["results"][0]["values"]["m"]["2"]["fpr"][4], "v")[1]
    assert v == pytest.approx(r.value("fpr", slice="g=u", threshold=0.5, cls=2).value, abs=5.1e-5)
