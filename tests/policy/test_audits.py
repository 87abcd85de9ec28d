"""Stateful resources are retained; IAM wildcard actions are all reviewed."""

from __future__ import annotations

from tests.harness import SynthesizedPlatform
from tests.policy.audit import STATEFUL_TYPES, iam_statements, is_stateful, not_retained, unreviewed, wildcard_actions


def test_stateful_resources_are_retained(platform: SynthesizedPlatform) -> None:
    offenders = not_retained(platform.templates)
    assert not offenders, "stateful resources not retained:\n" + "\n".join(offenders)


def test_there_are_stateful_resources_to_audit(platform: SynthesizedPlatform) -> None:
    kinds = {resource["Type"] for _, _, resource in platform.resources()} & STATEFUL_TYPES
    assert {"AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup"} <= kinds


def test_retention_audit_covers_every_cassandra_type() -> None:
    assert all(is_stateful(t) for t in ("AWS::Cassandra::Keyspace", "AWS::Cassandra::Table", "AWS::Cassandra::Type"))
    kept = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    templates = {"S": {"Resources": {"T": {"Type": "AWS::Cassandra::Type"}, "K": {"Type": "AWS::Cassandra::Keyspace", **kept}}}}
    assert not_retained(templates) == ["S/T (AWS::Cassandra::Type): DeletionPolicy=None"]


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
