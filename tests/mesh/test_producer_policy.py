"""Producer prerequisites (issue 8 fault 5): the statements a producer account applies to its bucket and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshworks.constructs.mesh.mesh_hub import role_names
from meshworks.constructs.mesh.producer_policy import producer_policy
from meshworks.stacks.cli import main

HUB = "111111111111"
KEY = "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def by_sid(document: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in document["Statement"]}


def test_bucket_policy_names_the_deterministic_roles_scoped_to_the_prefixes() -> None:
    policy = producer_policy(
        hub_account=HUB, name_prefix="acme", region="eu-west-1",
        locations=["s3://acme-sales-curated/orders/", "s3://acme-sales-curated/customers"], kms_key_arns=[KEY],
    )
    [bucket] = policy["bucket_policies"]
    assert bucket == "acme-sales-curated"
    statements = by_sid(policy["bucket_policies"][bucket])
    roles = {k: f"arn:aws:iam::{HUB}:role/{v}" for k, v in role_names("acme").items()}
    read = statements["MeshworksLakeFormationRead"]
    assert read["Principal"] == {"AWS": roles["data_access"]}
    assert read["Resource"] == ["arn:aws:s3:::acme-sales-curated/customers/*", "arn:aws:s3:::acme-sales-curated/orders/*"]
    marker = statements["MeshworksNotifierWritesSuccessMarkers"]
    assert marker["Principal"] == {"AWS": roles["notifier"]} and marker["Action"] == ["s3:PutObject"]
    assert marker["Resource"] == [
        "arn:aws:s3:::acme-sales-curated/customers/*_SUCCESS", "arn:aws:s3:::acme-sales-curated/orders/*_SUCCESS"
    ]
    sweeper = statements["MeshworksSloSweeperReadsSuccessMarkers"]
    assert sweeper["Principal"] == {"AWS": roles["slo_sweeper"]}
    listing = statements["MeshworksListProductPrefixes"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["customers/*", "orders/*"]}}
    key_statements = {s["Sid"]: s for s in policy["key_policy_statements"]}
    assert key_statements["MeshworksLakeFormationDecrypt"]["Action"] == ["kms:Decrypt"]
    assert key_statements["MeshworksNotifierEncryptsMarkers"]["Action"] == ["kms:GenerateDataKey"]
    for statement in key_statements.values():
        assert statement["Resource"] == "*"  # in a key policy: this key
        assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    assert policy["kms_key_arns"] == [KEY]


def test_no_kms_keys_means_no_key_statements_and_a_note() -> None:
    policy = producer_policy(hub_account=HUB, name_prefix="acme", region="eu-west-1", locations=["s3://bkt/p/"])
    assert policy["key_policy_statements"] == []
    assert "SSE-KMS" in policy["notes"][0]


@pytest.mark.parametrize("location", ["https://x/y", "s3://", "s3://b/../c"])
def test_bad_locations_are_rejected_with_the_value(location: str) -> None:
    with pytest.raises(ValueError, match="location"):
        producer_policy(hub_account=HUB, name_prefix="acme", region="eu-west-1", locations=[location])


def test_cli_prints_the_statements_of_a_domain_of_the_reference_app(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["producer-policy", "--domain", "sales", "--config", "cdk.json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert set(output["bucket_policies"]) and output["domain"] == "sales"
    assert "meshworks-demo-mesh-notifier" in json.dumps(output)


def test_cli_unknown_domain_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["producer-policy", "--domain", "nope", "--config", "cdk.json"]) == 2
    assert "domain 'nope' is not in mesh.domains" in capsys.readouterr().err


def test_cli_missing_config_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["producer-policy", "--domain", "sales", "--config", str(tmp_path / "x.json")]) == 2
    assert "x.json" in capsys.readouterr().err


def test_reference_app_roles_have_the_names_the_generated_policies_use(platform) -> None:  # noqa: ANN001
    """Fault 5: the roles producers name exist with exactly those names in the templates."""
    names = role_names(platform.config.prefix)
    role_names_in = {
        stack: {r["Properties"].get("RoleName") for r in t["Resources"].values() if r["Type"] == "AWS::IAM::Role"}
        for stack, t in platform.templates.items()
    }
    assert {names["data_access"], names["notifier"]} <= role_names_in["MeshHub"]
    assert names["slo_sweeper"] in role_names_in["Monitoring"]
