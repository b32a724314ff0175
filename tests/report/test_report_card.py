"""Model card content, checked against ``EvalResult.value``, the tidy table and NumPy."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import assay
from assay.report import model_card
from assay.report._card import INFO_FIELDS, ModelCardInfo, md


def numbers(cell: str) -> list[float]:
    return [
        float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", cell.replace("−", "-").replace(",", ""))
    ]


def split_row(line: str) -> list[str]:
    """Cells of a Markdown table row, honouring escaped pipes."""
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [c.strip() for c in cells]


def section(text: str, heading: str) -> str:
    """From the first ``heading`` to the next heading of the same or a higher level
    (``tests/report/test_report_catalogue.py`` uses it too)."""
    start = text.index(heading)
    level = len(heading) - len(heading.lstrip("#"))
    rest = text[start + len(heading) :]
    nxt = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return text[start : start + len(heading) + (nxt.start() if nxt else len(rest))]


def table_rows(block: str) -> tuple[list[str], dict[str, list[str]]]:
    lines = [ln for ln in block.splitlines() if ln.startswith("|")]
    header = split_row(lines[0])
    return header, {split_row(ln)[0]: split_row(ln) for ln in lines[2:]}


@pytest.fixture(scope="module")
def two(data: dict[str, Any]) -> assay.EvalResult:
    """Both scores in one evaluation, baseline sex=M."""
    return assay.evaluate(
        data, label="label", scores=["score", "score_b"], slices=["group", "sex", ("group", "sex")],
        thresholds=[0.3, 0.5], min_slice_size=30, baseline={"sex": "M"},
    )  # fmt: skip


def test_markdown_metrics_match_result(result: Any, tmp_path: Path) -> None:
    path = tmp_path / "card.md"
    text = model_card(result, path, title="Card", description="A test model.")
    assert path.read_text(encoding="utf-8") == text
    assert text.startswith("# Card\n\nA test model.")
    assert f"Rows evaluated: {result.n_rows:,}; source: {result.source}" in text
    header, rows = table_rows(section(text, "#### score — threshold 0.5"))
    col = header.index("False positive rate")
    checked = marked = 0
    for s in result.slices:
        v = result.value("fpr", slice=s.slice, threshold=0.5)
        cell = rows[md(s.slice)][col]
        if v.withheld:
            assert cell == "withheld"
            continue
        value, lo, hi = numbers(cell)[:3]
        assert value == pytest.approx(v.value, abs=5e-4)
        assert lo == pytest.approx(v.lower, abs=5e-4)
        assert hi == pytest.approx(v.upper, abs=5e-4)
        assert cell.endswith("✱") == v.significant_adjusted
        marked += v.significant_adjusted
        checked += 1
    assert checked >= 10 and marked >= 1
    header, rows = table_rows(section(text, "#### score — threshold-free"))
    v = result.value("roc_auc", slice="group=south")
    assert numbers(rows["group=south"][header.index("ROC AUC")])[0] == pytest.approx(v.value, abs=5e-4)


def test_mitchell_sections_in_order_each_once(two: Any) -> None:
    text = model_card(two, headline=("fpr", "sex=F", "sex=M"))
    heads = re.findall(r"^## (.+)$", text, re.M)
    assert heads == [
        "Model details", "Intended use", "Factors", "Metrics", "Evaluation data",
        "Training data", "Quantitative analyses", "Ethical considerations",
        "Caveats and recommendations",
    ]  # fmt: skip
    # Two models, and no block repeated per model: every level-3 heading appears once.
    h3 = re.findall(r"^### (.+)$", text, re.M)
    assert len(h3) == len(set(h3))
    assert h3 == ["Headline", "Overall, per model", "Change between models", "Largest gaps",
                  "Metrics by slice"]  # fmt: skip


def test_not_provided_sections_are_named(two: Any, tmp_path: Path) -> None:
    text = model_card(two)
    line = next(ln for ln in text.splitlines() if ln.startswith("**Not provided"))
    assert line.startswith(
        "**Not provided by the model's authors:** model details, intended use, intended users, "
        "out-of-scope uses, factors, metrics, evaluation data, training data, ethical "
        "considerations, caveats and recommendations."
    )
    assert text.count("*Not provided by the model's authors.*") == len(INFO_FIELDS)
    card = json.loads(model_card(two, format="json"))
    assert card["not_provided"] == list(INFO_FIELDS) and card["sections"] == {}

    given = {"intended_use": "Screening loan files for review.",
             "out_of_scope_uses": ["Automatic rejection", "Other countries"],
             "model_details": {"name": "Loan model", "version": "3", "license": "MIT"}}  # fmt: skip
    for src in (given, ModelCardInfo(**given)):  # type: ignore[arg-type]
        text = model_card(two, info=src)
        assert "Screening loan files for review." in text
        assert "- Automatic rejection\n- Other countries" in text
        assert "- Name: Loan model\n- Version: 3\n- License: MIT" in text
        block = section(text, "## Intended use")
        assert block.count("*Not provided by the model's authors.*") == 1  # intended users only
        card = json.loads(model_card(two, info=src, format="json"))
        assert card["not_provided"] == [f for f in INFO_FIELDS if f not in given]
    pytest.importorskip("yaml")
    y = tmp_path / "info.yaml"
    y.write_text("training_data: |\n  Census rows, 1994.\nethical_considerations:\n  - Sex is used.\n")
    card = json.loads(model_card(two, info=y, format="json"))
    assert card["sections"] == {"training_data": "Census rows, 1994.\n",
                                "ethical_considerations": ["Sex is used."]}  # fmt: skip


def test_info_errors(two: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"The 'info' parameter of model_card has unknown "
                       r"section\(s\) \['intended_uses'\]; the sections are \['model_details'"):  # fmt: skip
        model_card(two, info={"intended_uses": "x"})
    with pytest.raises(TypeError, match="section 'factors' must be a text or a list of texts "
                       r"\(only 'model_details' may be a mapping\). Got a mapping instead."):  # fmt: skip
        model_card(two, info={"factors": {"a": "b"}})
    with pytest.raises(TypeError, match=re.escape("section 'training_data' must be a text or a list of "
                                           "texts. Got dict instead.")):  # fmt: skip
        model_card(two, info={"training_data": [{"a": 1}]})
    with pytest.raises(TypeError, match=re.escape("The 'info' parameter of model_card must be a "
                       "ModelCardInfo, a mapping or the path of a YAML or JSON file. Got int")):  # fmt: skip
        model_card(two, info=3)  # type: ignore[arg-type]
    bad = tmp_path / "x.txt"
    bad.write_text("a")
    with pytest.raises(ValueError, match=r"must name a \.yaml, \.yml or \.json file"):
        model_card(two, info=bad)
    with pytest.raises(ValueError, match="does not exist"):
        model_card(two, info=tmp_path / "nope.json")
    lst = tmp_path / "l.json"
    lst.write_text("[1]")
    with pytest.raises(ValueError, match=re.escape("must hold a mapping of sections. Got list instead.")):
        model_card(two, info=lst)


def fpr_numpy(data: dict[str, Any], score: str, mask: Any, t: float) -> float:
    y = np.asarray(data["label"])
    neg = mask & (y == 0)
    return float(np.mean(np.asarray(data[score])[neg] > t))


def test_headline_matches_result_and_numpy(two: Any, data: dict[str, Any]) -> None:
    card = json.loads(model_card(two, format="json", headline=("fpr", "sex=F", "sex=M")))
    hl = card["headline"]
    assert (hl["metric"], hl["slice"], hl["reference"], hl["threshold"]) == ("fpr", "sex=F", "sex=M", 0.5)
    sex = np.asarray(data["sex"])
    for rec, model in zip(hl["models"], ["score", "score_b"], strict=True):
        want = fpr_numpy(data, model, sex == "F", 0.5) - fpr_numpy(data, model, sex == "M", 0.5)
        assert rec["gap"] == pytest.approx(want, abs=1e-12)
        v = two.value("fpr", slice="sex=F", threshold=0.5, model=model)
        assert (rec["gap_lower"], rec["gap_upper"]) == (v.diff_lower, v.diff_upper)
        assert rec["significant_adjusted"] == v.significant_adjusted
        assert rec["value"] == pytest.approx(fpr_numpy(data, model, sex == "F", 0.5), abs=1e-12)
    text = model_card(two, headline=("fpr", "sex=F", "sex=M"))
    header, rows = table_rows(section(text, "### Headline"))
    assert header == ["Model", "sex=F", "sex=M", "Gap (sex=F − sex=M)", "Significance"]
    for rec in hl["models"]:
        row = rows[md(rec["model"])]
        assert numbers(row[3]) == pytest.approx([rec["gap"], rec["gap_lower"], rec["gap_upper"]], abs=5e-4)
        if rec["significant_adjusted"]:
            assert row[4] == f"significant (adjusted p = {rec['p_value_adjusted']:.2g})"
        elif rec["significant"]:
            assert row[4] == "not significant after the adjustment for multiple comparisons"
        else:
            assert row[4] == "not significant (the interval includes 0)"
    sig = [md(m["model"]) for m in hl["models"] if m["significant_adjusted"]]
    nsig = [md(m["model"]) for m in hl["models"] if not m["significant_adjusted"]]
    assert (f"In words: the gap is significant for {', '.join(sig) or 'no model'}; it is not "
            f"significant for {', '.join(nsig) or 'any model'}.") in text  # fmt: skip
    # Reversed: the reference is not the baseline, but the slice is: the interval is negated.
    rev = json.loads(model_card(two, format="json", headline=("fpr", "sex=M", "sex=F")))["headline"]
    for a, b in zip(rev["models"], hl["models"], strict=True):
        assert a["gap"] == pytest.approx(-b["gap"], abs=1e-12)
        assert (a["gap_lower"], a["gap_upper"]) == pytest.approx((-b["gap_upper"], -b["gap_lower"]))
    # Neither slice is the baseline: the gap, no interval, and why.
    other = json.loads(model_card(two, format="json", headline=("fpr", "group=south", "group=north")))
    rec = other["headline"]["models"][0]
    g = np.asarray(data["group"])
    want = fpr_numpy(data, "score", g == "south", 0.5) - fpr_numpy(data, "score", g == "north", 0.5)
    assert rec["gap"] == pytest.approx(want, abs=1e-12) and rec["gap_lower"] is None
    assert "evaluate with baseline='group=north'" in rec["why_no_interval"]
    with pytest.raises(ValueError, match="names slice 'sex=X', which the result does not have"):
        model_card(two, headline=("fpr", "sex=X", "sex=M"))


def test_largest_gaps_are_the_biggest_adjusted_significant_differences(result: Any) -> None:
    df = result.to_frame()
    text = model_card(result, top=3)
    gaps = section(text, "### Largest gaps")
    chosen = json.loads(model_card(result, format="json"))["metric_definitions"]
    at = df.threshold.isna() | (df.threshold.round(9) == 0.5)
    n_tested = int((df.p_value.notna() & df.metric.isin(chosen) & at).sum())
    assert f"of {n_tested:,} tested gaps" in gaps
    for metric, name in (("fpr", "False positive rate"), ("positive_rate", "Positive rate")):
        sel = df[
            (df.metric == metric) & (df.threshold.round(9) == 0.5) & df.significant_adjusted
            & ~df.withheld & (df.slice != "overall")
        ]  # fmt: skip
        assert len(sel) >= 1
        want = sel.reindex(sel["diff"].abs().sort_values(ascending=False).index).head(3)
        header, rows = table_rows(section(gaps, f"#### {name} — threshold 0.5"))
        assert list(rows) == [md(s) for s in want.slice]
        base = result.value(metric, slice="overall", threshold=0.5).value
        for _, w in want.iterrows():
            row = rows[md(w.slice)]
            assert numbers(row[header.index("Value")])[0] == pytest.approx(w.value, abs=5e-4)
            assert numbers(row[header.index("Baseline")])[0] == pytest.approx(base, abs=5e-4)
            d = numbers(row[header.index("Difference")])
            assert d == pytest.approx([w["diff"], w.diff_lower, w.diff_upper], abs=5e-4)
            pct = numbers(row[header.index("Difference %")])[0]
            assert pct == pytest.approx(100 * w["diff"] / base, abs=0.06)
            cell = row[header.index("Adjusted p")]
            if w.p_value_adjusted < 0.001:
                assert cell == "< 0.001"
            else:
                assert numbers(cell)[0] == pytest.approx(w.p_value_adjusted, abs=5e-4)


def test_json_card_matches_result(result: Any) -> None:
    card = json.loads(model_card(result, format="json", thresholds=[0.3, 0.7], top=2))
    assert card["schema"] == "assay.ModelCard" and card["version"] == 2
    assert card["data"]["rows"] == result.n_rows
    assert card["evaluation"]["thresholds_reported"] == [0.3, 0.7]
    assert card["evaluation"]["multiple_comparisons"] == result.config["multiple_comparisons"]
    assert [s["slice"] for s in card["slices"]] == [s.slice for s in result.slices]
    seen = set()
    for row in card["metrics"]:
        v = result.value(row["metric"], slice=row["slice"], threshold=row["threshold"])
        for key in ("value", "lower", "upper", "diff", "p_value_adjusted"):
            got, want = row[key], getattr(v, key)
            if math.isnan(want):
                assert got is None
            else:
                assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
        assert row["significant"] == v.significant
        assert row["significant_adjusted"] == v.significant_adjusted
        seen.add((row["metric"], row["threshold"]))
    assert ("fpr", 0.3) in seen and ("fpr", 0.7) in seen and ("roc_auc", None) in seen
    by_key: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for g in card["largest_gaps"]:
        assert g["significant_adjusted"] and not g["withheld"] and g["slice"] != "overall"
        by_key.setdefault((g["metric"], g["threshold"]), []).append(g)
    for gs in by_key.values():
        assert len(gs) <= 2
        assert [abs(g["diff"]) for g in gs] == sorted((abs(g["diff"]) for g in gs), reverse=True)


def test_paired_change_between_models_in_one_result(two: Any) -> None:
    card = json.loads(model_card(two, format="json", headline=("fpr", "sex=F", "sex=M")))
    comp = card["model_comparison"]
    assert comp["paired"] is True
    mc = two.model_comparison()
    ch = next(c for c in comp["changes"] if c["slice"] == "sex=F" and c["metric"] == "fpr")
    want = mc[(mc.slice == "sex=F") & (mc.metric == "fpr") & (mc.threshold.round(9) == 0.5)].iloc[0]
    a = two.value("fpr", slice="sex=F", threshold=0.5, model="score").value
    b = two.value("fpr", slice="sex=F", threshold=0.5, model="score_b").value
    assert ch["diff"] == pytest.approx(b - a, abs=1e-12)
    assert (ch["diff_lower"], ch["diff_upper"]) == pytest.approx((want.diff_lower, want.diff_upper))
    assert ch["significant_adjusted"] == bool(want.significant_adjusted)
    text = model_card(two, headline=("fpr", "sex=F", "sex=M"))
    assert "with its interval from the paired replicates" in section(text, "### Change between models")


def test_other_result_paired_in_memory_and_unpaired_from_json(
    result: Any, result_b: Any, tmp_path: Path
) -> None:
    card = json.loads(model_card(result, other=result_b, names=("before", "after"),
                                 metrics=["fnr"], format="json"))  # fmt: skip
    assert card["models"] == ["before", "after"]
    comp = card["model_comparison"]
    assert comp["paired"] is True
    ch = next(c for c in comp["changes"] if c["slice"] == "overall")
    a = result.value("fnr", threshold=0.5).value
    b = result_b.value("fnr", threshold=0.5).value
    assert ch["diff"] == pytest.approx(b - a, abs=1e-12) and ch["diff_lower"] < ch["diff"]
    p = tmp_path / "b.json"
    result_b.to_json(p)
    loaded = assay.EvalResult.from_json(p)
    card = json.loads(model_card(result, other=loaded, metrics=["fnr"], format="json"))
    assert card["models"] == ["score", "score_b"]  # the models' own names
    comp = card["model_comparison"]
    assert comp["paired"] is False and "results read from JSON do not carry them" in comp["why_not_paired"]
    ch = next(c for c in comp["changes"] if c["slice"] == "overall")
    assert ch["diff"] == pytest.approx(b - a, abs=1e-12) and ch["diff_lower"] is None
    text = model_card(result, other=loaded, metrics=["fnr"])
    assert "Change = model − reference model, without an interval: Cannot pair" in text
    with pytest.raises(ValueError, match="The 'names' parameter of model_card must hold 2 distinct"):
        model_card(result, other=loaded, names=("x", "x"))


def test_readable_length_at_250_slices() -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    d = {"y": rng.integers(0, 2, n), "g": rng.integers(0, 250, n).astype(str),
         "s1": rng.random(n), "s2": rng.random(n)}  # fmt: skip
    d["s1"] = np.clip(d["s1"] * 0.6 + 0.4 * d["y"] + (d["g"] == "7") * 0.3, 0, 1)
    r = assay.evaluate(d, label="y", scores=["s1", "s2"], slices="g", thresholds=[0.5],
                       n_replicates=10)  # fmt: skip
    assert len(r.slices) == 251
    text = model_card(r, headline=("fpr", "g=7", "overall"))
    lines = text.splitlines()
    assert len(lines) < 260, len(lines)
    assert len(text) < 60_000
    assert "of 251 slices shown" in text
    block = section(text, "#### s1, s2 — threshold 0.5")
    body = [split_row(ln) for ln in block.splitlines() if ln.startswith("|")][2:]
    assert 4 <= len(body) <= 60  # the default max_rows
    shown = {r[0] for r in body}
    assert {"overall", "g=7"} <= shown  # overall and the headline's slice (the reference is overall)
    card_doc = json.loads(model_card(r, format="json", headline=("fpr", "g=7", "overall")))
    named = {"overall", "g=7"} | {g["slice"] for g in card_doc["largest_gaps"]}
    assert shown <= {md(x) for x in named}
    small = model_card(r, max_rows=4)
    assert "2 of 251 slices shown" in small  # overall and the largest gap's slice: 2 x 2 rows
    # every slice stays in the JSON document
    card = json.loads(model_card(r, format="json"))
    assert {x["slice"] for x in card["metrics"]} == {s.slice for s in r.slices}


def test_markdown_escapes_hostile_names(evil_result: Any, evil: Any) -> None:
    text = model_card(evil_result, title="<b>t</b> | x", metrics=["fpr"],
                      info={"intended_use": "<script>x</script>"})  # fmt: skip
    assert "<script>" not in text and "<img" not in text and "<b>" not in text
    assert "&lt;script&gt;" in text
    header, rows = table_rows(section(text, "#### " + md(evil["model"]) + " — threshold 0.5"))
    assert len(header) == 3 and all(len(r) == 3 for r in rows.values())


def test_card_arguments(result: Any) -> None:
    with pytest.raises(ValueError, match="'format' parameter of model_card"):
        model_card(result, format="html")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'metrics' parameter of model_card"):
        model_card(result, metrics=["nope"])
    with pytest.raises(ValueError, match="'thresholds' parameter of model_card"):
        model_card(result, thresholds=0.55)
    with pytest.raises(ValueError, match="The 'top' parameter of model_card must be an int >= 1"):
        model_card(result, top=0)
    with pytest.raises(TypeError, match=re.escape("The 'result' parameter of model_card must be an "
                       "EvalResult (from assay.evaluate). Got str instead.")):  # fmt: skip
        model_card("result")  # type: ignore[arg-type]


def test_card_states_the_adjustment_used(data: dict[str, Any]) -> None:
    kw: dict[str, Any] = dict(label="label", scores="score", slices=["group", "sex"],
                              thresholds=[0.5], min_slice_size=30)  # fmt: skip
    holm = assay.evaluate(data, multiple_comparisons="holm", **kw)
    text = model_card(holm)
    assert "adjusted for multiple comparisons with Holm (family-wise error rate)" in text
    df = holm.to_frame()
    at = df.threshold.isna() | (df.threshold.round(9) == 0.5)
    chosen = json.loads(model_card(holm, format="json"))["metric_definitions"]
    sel = df[at & df.metric.isin(chosen) & df.p_value.notna()]
    assert (f"{int(sel.significant_adjusted.sum()):,} of {len(sel):,} tested gaps "
            f"({int(sel.significant.sum()):,} before the adjustment)") in text  # fmt: skip
    none = assay.evaluate(data, multiple_comparisons="none", **kw)
    text = model_card(none)
    assert "significance is not adjusted for multiple comparisons; with many slices some " in text
    no_ci = assay.evaluate(data, ci=None, **kw)
    text = model_card(no_ci, headline=("fpr", "sex=F", "overall"))
    assert "No intervals were computed, so no gap is tested." in text
    assert "- Confidence intervals: none (ci=None); no gap is tested" in text
    assert "✱" not in text
    hl = json.loads(model_card(no_ci, format="json", headline=("fpr", "sex=F", "overall")))
    rec = hl["headline"]["models"][0]
    assert rec["gap_lower"] is None and rec["why_no_interval"]
