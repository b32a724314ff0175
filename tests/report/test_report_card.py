"""Model card content, checked against ``EvalResult.value`` and the tidy table."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from assay.report import model_card
from assay.report._card import md


def numbers(cell: str) -> list[float]:
    return [
        float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", cell.replace("−", "-").replace(",", ""))
    ]


def split_row(line: str) -> list[str]:
    """Cells of a Markdown table row, honouring escaped pipes."""
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [c.strip() for c in cells]


def section(text: str, heading: str) -> str:
    """From ``heading`` to the next heading of the same or a higher level."""
    start = text.index(heading)
    level = len(heading) - len(heading.lstrip("#"))
    rest = text[start + len(heading) :]
    nxt = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return text[start : start + len(heading) + (nxt.start() if nxt else len(rest))]


def table_rows(block: str) -> tuple[list[str], dict[str, list[str]]]:
    lines = [ln for ln in block.splitlines() if ln.startswith("|")]
    header = split_row(lines[0])
    return header, {split_row(ln)[0]: split_row(ln) for ln in lines[2:]}


def test_markdown_metrics_match_result(result: Any, tmp_path: Path) -> None:
    path = tmp_path / "card.md"
    text = model_card(result, path, title="Card", description="A test model.")
    assert path.read_text(encoding="utf-8") == text
    assert text.startswith("# Card\n\nA test model.")
    assert f"Rows evaluated: {result.n_rows:,}" in text
    assert f"Source: {result.source}" in text
    header, rows = table_rows(section(text, "### score — threshold 0.5"))
    col = header.index("False positive rate")
    checked = 0
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
        assert cell.endswith("✱") == v.significant
        checked += 1
    assert checked >= 10
    header, rows = table_rows(section(text, "### score — threshold-free"))
    col = header.index("ROC AUC")
    v = result.value("roc_auc", slice="group=south")
    assert numbers(rows["group=south"][col])[0] == pytest.approx(v.value, abs=5e-4)


def test_slices_section_lists_sizes_and_withheld(result: Any) -> None:
    text = model_card(result)
    block = section(text, "## Slices")
    lines = [split_row(ln) for ln in block.splitlines() if ln.startswith("|")][2:]
    by_slice = {r[1]: r for r in lines}
    assert len(by_slice) == len(result.slices)
    for s in result.slices:
        row = by_slice[md(s.slice)]
        assert numbers(row[2])[0] == s.count
        assert row[4] == ("withheld: " + md(s.reason) if s.withheld else "ok")


def test_largest_gaps_are_the_biggest_significant_differences(result: Any) -> None:
    df = result.to_frame()
    text = model_card(result, top=3)
    gaps = section(text, "## Largest gaps")
    for metric, name in (("fpr", "False positive rate"), ("positive_rate", "Positive rate")):
        sel = df[
            (df.metric == metric) & (df.threshold.round(9) == 0.5) & df.significant
            & ~df.withheld & (df.slice != "overall")
        ]  # fmt: skip
        want = sel.reindex(sel["diff"].abs().sort_values(ascending=False).index).head(3)
        block = section(gaps, f"### {name} — threshold 0.5")
        header, rows = table_rows(block)
        assert list(rows) == [md(s) for s in want.slice]
        for _, w in want.iterrows():
            row = rows[md(w.slice)]
            assert numbers(row[header.index("Value")])[0] == pytest.approx(w.value, abs=5e-4)
            base = result.value(metric, slice="overall", threshold=0.5).value
            assert numbers(row[header.index("Baseline")])[0] == pytest.approx(base, abs=5e-4)
            d = numbers(row[header.index("Difference")])
            assert d[0] == pytest.approx(w["diff"], abs=5e-4)
            assert d[1] == pytest.approx(w.diff_lower, abs=5e-4)
            assert d[2] == pytest.approx(w.diff_upper, abs=5e-4)
            pct = numbers(row[header.index("Difference %")])[0]
            assert pct == pytest.approx(100 * w["diff"] / base, abs=0.06)


def test_json_card_matches_result(result: Any) -> None:
    card = json.loads(model_card(result, format="json", thresholds=[0.3, 0.7], top=2))
    assert card["schema"] == "assay.ModelCard" and card["version"] == 1
    assert card["data"]["rows"] == result.n_rows
    assert card["evaluation"]["thresholds_reported"] == [0.3, 0.7]
    assert [s["slice"] for s in card["slices"]] == [s.slice for s in result.slices]
    seen = set()
    for row in card["metrics"]:
        v = result.value(row["metric"], slice=row["slice"], threshold=row["threshold"])
        for key in ("value", "lower", "upper", "diff"):
            got, want = row[key], getattr(v, key)
            if math.isnan(want):
                assert got is None
            else:
                assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
        assert row["significant"] == v.significant
        seen.add((row["metric"], row["threshold"]))
    assert ("fpr", 0.3) in seen and ("fpr", 0.7) in seen and ("roc_auc", None) in seen
    by_key: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for g in card["largest_gaps"]:
        assert g["significant"] and not g["withheld"] and g["slice"] != "overall"
        by_key.setdefault((g["metric"], g["threshold"]), []).append(g)
    for gs in by_key.values():
        assert len(gs) <= 2
        assert [abs(g["diff"]) for g in gs] == sorted((abs(g["diff"]) for g in gs), reverse=True)


def test_comparison_section(result: Any, result_b: Any) -> None:
    text = model_card(result, other=result_b, names=("before", "after"), metrics=["fnr"])
    block = section(text, "## Comparison: before vs after")
    block = section(block, "### False negative rate — threshold 0.5")
    header, rows = table_rows(block)
    a = result.value("fnr", slice="sex=F", threshold=0.5).value
    b = result_b.value("fnr", slice="sex=F", threshold=0.5).value
    row = rows["sex=F"]
    assert numbers(row[1])[0] == pytest.approx(a, abs=5e-4)
    assert numbers(row[2])[0] == pytest.approx(b, abs=5e-4)
    assert numbers(row[header.index("Change")])[0] == pytest.approx(b - a, abs=5e-4)
    card = json.loads(model_card(result, other=result_b, format="json", metrics=["fnr"]))
    ch = next(c for c in card["comparison"]["changes"] if c["slice"] == "sex=F")
    assert ch["change"] == pytest.approx(b - a, rel=1e-12)


def test_markdown_escapes_hostile_names(evil_result: Any, evil: Any) -> None:
    text = model_card(evil_result, title="<b>t</b> | x", metrics=["fpr"])
    assert "<script>" not in text and "<img" not in text and "<b>" not in text
    assert "&lt;script&gt;" in text
    _, rows = table_rows(section(text, "## Slices"))
    assert all(len(r) == 5 for r in rows.values())
    header, rows = table_rows(section(text, "### " + md(evil["model"]) + " — threshold 0.5"))
    assert len(header) == 3 and all(len(r) == 3 for r in rows.values())


def test_card_arguments(result: Any) -> None:
    with pytest.raises(ValueError, match="'format' parameter of model_card"):
        model_card(result, format="html")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'metrics' parameter of model_card"):
        model_card(result, metrics=["nope"])
    with pytest.raises(ValueError, match="'thresholds' parameter of model_card"):
        model_card(result, thresholds=0.55)
    with pytest.raises(TypeError):
        model_card("result")  # type: ignore[arg-type]
