"""Small builders of contracts and stacks for the mesh construct tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template

from meshworks.constructs.mesh.contract import DataProductContract

HUB = "111111111111"
REGION = "eu-west-1"
ENV = Environment(account=HUB, region=REGION)


def make_contract(
    domain: str = "sales",
    name: str = "orders",
    *,
    consumers: Sequence[str] = (),
    fmt: str = "parquet",
    partitions: bool = True,
    tags: dict[str, str] | None = None,
    columns: int = 3,
    **overrides: Any,
) -> DataProductContract:
    """A valid contract; ``columns`` extra bigint columns after ``id``."""
    data: dict[str, Any] = {
        "name": name,
        "domain": domain,
        "description": f"Test data product {name} of the {domain} domain, refreshed daily.",
        "owner": f"{domain}-data",
        "contact": {"email": f"{domain}-data@example.com", "slack_channel": f"#{domain.replace('_', '-')}-data"},
        "location": f"s3://acme-{domain.replace('_', '-')}-curated/{name}/",
        "format": fmt,
        "columns": [{"name": "id", "type": "bigint", "description": "Primary key of the row."}]
        + [{"name": f"c{i}", "type": "string", "description": f"Attribute number {i}."} for i in range(columns)],
        "partition_keys": [{"name": "dt", "type": "date", "description": "Delivery day (UTC)."}] if partitions else [],
        "slo": {"cron": "0 6 * * *", "timezone": "Europe/Paris", "grace_minutes": 30},
        "consumers": list(consumers),
        "classification": "internal",
        "tags": tags or {},
    }
    data.update(overrides)
    return DataProductContract.model_validate(data)


def new_stack(stack_id: str = "Test") -> tuple[App, Stack]:
    app = App(builtin_cloud_formation_validation=False)
    return app, Stack(app, stack_id, env=ENV)


def resources(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return template.find_resources(resource_type)


def only(template: Template, resource_type: str) -> dict[str, Any]:
    found = list(template.find_resources(resource_type).values())
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return found[0]


def statements(template: Template) -> list[dict[str, Any]]:
    """Every IAM statement of the template's policies and roles."""
    result = []
    for resource in template.to_json()["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            result += props["PolicyDocument"]["Statement"]
        if resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                result += policy["PolicyDocument"]["Statement"]
    return result


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement.get("Action", [])
    return [value] if isinstance(value, str) else list(value)
