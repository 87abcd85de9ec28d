"""The committed JSON Schema is current and accepts the example contracts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from meshworks.constructs.mesh.contract import SCHEMA_PATH, json_schema, render_json_schema

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


def test_committed_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_json_schema(), (
        "constructs/mesh/data_product.schema.json is stale; regenerate it with "
        "`meshworks schema --output constructs/mesh/data_product.schema.json`"
    )


def test_schema_describes_every_field() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    for name, prop in schema["properties"].items():
        assert prop.get("description"), name
    assert set(schema["required"]) >= {"name", "domain", "description", "owner", "contact", "location", "slo"}


@pytest.mark.parametrize("path", sorted(CONTRACTS.rglob("*.yaml")), ids=lambda p: p.name)
def test_examples_match_schema(path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))).validate(
        yaml.safe_load(path.read_text(encoding="utf-8"))
    )


def test_schema_rejects_unknown_fields() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    data = yaml.safe_load((CONTRACTS / "sales" / "orders.yaml").read_text(encoding="utf-8"))
    data["colums"] = []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, json_schema())
