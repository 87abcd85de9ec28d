"""Stateful resources are retained; IAM wildcard actions are all reviewed."""

from __future__ import annotations

from tests.harness import SynthesizedPlatform
from tests.policy.audit import STATEFUL_TYPES, iam_statements, unreviewed, wildcard_actions


def test_stateful_resources_are_retained(platform: SynthesizedPlatform) -> None:
    offenders = [
        f"{stack}/{logical_id} ({resource['Type']}): DeletionPolicy={resource.get('DeletionPolicy')}"
        for stack, logical_id, resource in platform.resources()
        if resource["Type"] in STATEFUL_TYPES
        and (resource.get("DeletionPolicy") != "Retain" or resource.get("UpdateReplacePolicy") != "Retain")
    ]
    assert not offenders, "stateful resources not retained:\n" + "\n".join(offenders)


def test_there_are_stateful_resources_to_audit(platform: SynthesizedPlatform) -> None:
    kinds = {resource["Type"] for _, _, resource in platform.resources()} & STATEFUL_TYPES
    assert {"AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup"} <= kinds


def test_no_unreviewed_wildcard_actions(platform: SynthesizedPlatform) -> None:
    offenders = [
        f"{stack}/{logical_id}: {action}"
        for stack, template in platform.templates.items()
        for logical_id, statement in iam_statements(template)
        for action in wildcard_actions(statement)
        if unreviewed(action)
    ]
    assert not offenders, "IAM wildcard actions without a reviewed reason:\n" + "\n".join(offenders)


def test_wildcard_audit_flags_service_wildcards() -> None:
    statement = {"Effect": "Allow", "Action": ["lakeformation:*", "s3:GetObject*", "glue:Get*"], "Resource": "*"}
    assert [a for a in wildcard_actions(statement) if unreviewed(a)] == ["lakeformation:*", "glue:Get*"]
    assert wildcard_actions({"Effect": "Deny", "Action": "*"}) == []
