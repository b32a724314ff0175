"""The Model Card Toolkit export validates against the toolkit's own JSON schema (v0.0.2).

The schema is read from the installed ``model-card-toolkit`` package when present (installed
with ``--no-deps``; its import needs TensorFlow Model Analysis, so only the file is read),
else from the unmodified copy in ``model_card_toolkit_schema/`` (Apache-2.0, see its README).
The test needs ``jsonschema`` and skips without it.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from assay.report import model_card

VENDORED = Path(__file__).parent / "model_card_toolkit_schema" / "model_card.schema.v0.0.2.json"


def installed_schema() -> Path | None:
    spec = importlib.util.find_spec("model_card_toolkit")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "schema" / "v0.0.2" / "model_card.schema.json"
    return path if path.is_file() else None


def schema() -> dict[str, Any]:
    path = installed_schema() or VENDORED
    return json.loads(path.read_text(encoding="utf-8"))


def test_vendored_schema_is_the_packaged_one() -> None:
    path = installed_schema()
    if path is None:
        pytest.skip("model-card-toolkit is not installed")
    assert json.loads(path.read_text()) == json.loads(VENDORED.read_text())


INFO = {
    "model_details": {"name": "Income model", "overview": "A 2x64 MLP.", "version": "2",
                      "date": "2026-12-03", "owners": ["Data team"], "license": "Apache-2.0",
                      "references": ["https://example.org/paper"], "citation": "Doe 2026",
                      "architecture": "MLP 2x64"},
    "intended_use": ["Ranking applications for review"],
    "intended_users": "Analysts",
    "out_of_scope_uses": ["Automatic decisions"],
    "training_data": "Census rows.",
    "ethical_considerations": ["Sex is a slicing column."],
    "caveats_and_recommendations": "Re-evaluate each year.",
}  # fmt: skip


def test_export_validates_against_the_toolkit_schema(data: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import assay

    r = assay.evaluate(data, label="label", scores=["score", "score_b"], slices=["group", "sex"],
                       thresholds=[0.5], min_slice_size=30, baseline={"sex": "M"})  # fmt: skip
    doc = json.loads(model_card(r, format="model-card-toolkit", info=INFO,
                                headline=("fpr", "sex=F", "sex=M")))  # fmt: skip
    validator = jsonschema.Draft7Validator(schema(), format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    assert doc["schema_version"] == "0.0.2"
    md = doc["model_details"]
    assert md["name"] == "Income model" and md["version"] == {"name": "2", "date": "2026-12-03"}
    assert md["licenses"] == [{"identifier": "Apache-2.0"}]
    assert doc["model_parameters"]["model_architecture"] == "MLP 2x64"
    cons = doc["considerations"]
    assert cons["users"] == [{"description": "Analysts"}]
    assert {"description": "Out of scope: Automatic decisions"} in cons["limitations"]
    assert cons["ethical_considerations"] == [{"name": "Sex is a slicing column."}]
    # Numbers are the result's, as strings (the schema's type), with their intervals.
    perf = doc["quantitative_analysis"]["performance_metrics"]
    v = r.value("fpr", slice="sex=F", threshold=0.5, model="score_b")
    hit = [p for p in perf if p["slice"] == "sex=F minus sex=M"
           and p["type"] == "gap in False positive rate (score_b, threshold 0.5)"]  # fmt: skip
    assert len(hit) == 1
    assert float(hit[0]["value"]) == v.diff
    assert float(hit[0]["confidence_interval"]["lower_bound"]) == v.diff_lower
    assert float(hit[0]["confidence_interval"]["upper_bound"]) == v.diff_upper
    acc = next(p for p in perf if p["slice"] == "overall"
               and p["type"] == "Accuracy (score, threshold 0.5)")  # fmt: skip
    assert float(acc["value"]) == r.value("accuracy", threshold=0.5, model="score").value
    # A card without any caller section still validates.
    bare = json.loads(model_card(r, format="model-card-toolkit"))
    assert not list(validator.iter_errors(bare))
    # The schema is strict at the top level: an unknown key is rejected (the check can fail).
    assert list(validator.iter_errors({**bare, "extra": 1}))
