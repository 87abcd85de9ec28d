"""Audits over synthesized templates: retention of stateful resources, IAM wildcard actions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: Resource types that hold data or keys: they must be retained.
STATEFUL_TYPES = frozenset(
    {
        "AWS::S3::Bucket",
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::Cassandra::Keyspace",
        "AWS::Cassandra::Table",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::SecretsManager::Secret",
        "AWS::ECR::Repository",
        "AWS::Glue::Database",
        "AWS::Glue::Table",
        "AWS::Kinesis::Stream",  # holds records for its retention period (a replacement loses them)
    }
)
#: Whole services whose every resource type holds data or schema (keyspaces, tables, user-defined types).
STATEFUL_PREFIXES = ("AWS::Cassandra::",)


def is_stateful(resource_type: str) -> bool:
    """True for a resource type the retention audit covers."""
    return resource_type in STATEFUL_TYPES or resource_type.startswith(STATEFUL_PREFIXES)


def not_retained(templates: dict[str, dict[str, Any]]) -> list[str]:
    """``stack/logical id (type): DeletionPolicy=...`` for every stateful resource that is not retained."""
    return [
        f"{stack}/{logical_id} ({resource['Type']}): DeletionPolicy={resource.get('DeletionPolicy')}"
        for stack, template in templates.items()
        for logical_id, resource in template.get("Resources", {}).items()
        if is_stateful(resource["Type"])
        and (resource.get("DeletionPolicy") != "Retain" or resource.get("UpdateReplacePolicy") != "Retain")
    ]

#: Wildcard actions that were reviewed (exact strings), with the reason they are acceptable.
#: A bare "*" or "<service>:*" is never acceptable.
REVIEWED_WILDCARD_ACTIONS: dict[str, str] = {
    "s3:GetObject*": "CDK grant_read: GetObject, GetObjectVersion, GetObjectAttributes, GetObjectTagging... on the bucket's objects only.",
    "s3:GetBucket*": "CDK grant_read: bucket metadata (location, versioning) of that one bucket.",
    "s3:List*": "CDK grant_read: ListBucket / ListBucketVersions / multipart listings of that one bucket.",
    "s3:DeleteObject*": "CDK grant_delete/read_write: object and version deletes of that one bucket.",
    "s3:Abort*": "CDK grant_put: AbortMultipartUpload on that bucket's objects.",
    "s3:PutObject*": "CDK grant_put: PutObject/PutObjectTagging/... on that bucket's objects (legal hold and retention are excluded by CDK).",
    "kms:ReEncrypt*": "CDK key grants: ReEncryptFrom/ReEncryptTo on that one key.",
    "kms:GenerateDataKey*": "CDK key grants: GenerateDataKey and WithoutPlaintext on that one key.",
    "kms:Describe*": "Read-only key metadata on that one key.",
    "logs:Describe*": "Read-only log group metadata.",
}


def iam_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, statement) for every identity and resource policy statement in a template."""
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(props.get("PolicyDocument", {}))
        if resource["Type"] == "AWS::IAM::Role":
            documents += [p.get("PolicyDocument", {}) for p in props.get("Policies", [])]
        for document in documents:
            for statement in document.get("Statement", []):
                yield logical_id, statement


def wildcard_actions(statement: dict[str, Any]) -> list[str]:
    """Actions of an Allow statement that contain a ``*``."""
    if statement.get("Effect") != "Allow":
        return []
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    return [a for a in actions if isinstance(a, str) and "*" in a]


def unreviewed(action: str) -> bool:
    """True when a wildcard action is not covered by the reviewed allow-list."""
    if action == "*" or action.endswith(":*"):
        return True
    return action not in REVIEWED_WILDCARD_ACTIONS
