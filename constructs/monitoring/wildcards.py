"""Acknowledge each ``AwsSolutions-IAM5`` wildcard finding of one IAM policy, each with its own reason.

cdk-nag reports one finding per wildcard action (``AwsSolutions-IAM5[Action::kms:ReEncrypt*]``) and
per wildcard resource (``AwsSolutions-IAM5[Resource::<Logs1C30.Arn>:log-stream:*]``), rendering
intrinsic functions as ``<LogicalId.Attr>`` / ``<AWS::Partition>``. :func:`acknowledge_wildcards`
renders the policy the same way and acknowledges every finding whose text matches one of the
given patterns, with that pattern's reason; an unexplained wildcard raises, so a new one can never
slip through silently. Call it at the end of the construct that owns the policy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from ..core.nag import acknowledge


def _flatten(node: Any) -> str:
    """cdk-nag's rendering of a CloudFormation value (``flattenCfnReference``)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return delimiter.join(_flatten(item) for item in items)
        if "Fn::Sub" in node:
            return _flatten(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{_flatten(resource)}.{_flatten(attribute)}>"
        if "Ref" in node:
            return f"<{_flatten(node['Ref'])}>"
    import json

    return json.dumps(node, separators=(",", ":"))


def wildcard_findings(policy: iam.Policy) -> list[str]:
    """The ``Action::...`` / ``Resource::...`` wildcard findings cdk-nag will report on ``policy``."""
    document = Stack.of(policy).resolve(policy.document)
    findings: list[str] = []
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            if "*" in action and f"Action::{action}" not in findings:
                findings.append(f"Action::{action}")
        resources = statement.get("Resource", [])
        for resource in resources if isinstance(resources, list) else [resources]:
            text = _flatten(resource)
            if "*" in text and f"Resource::{text}" not in findings:
                findings.append(f"Resource::{text}")
    return findings


def acknowledge_wildcards(policy: iam.Policy, reasons: Mapping[str, str]) -> list[str]:
    """Acknowledge every wildcard of ``policy``; ``reasons`` maps a regex (searched in the finding) to its reason.

    Returns the acknowledged rule ids. Raises ``ValueError`` naming any wildcard without a reason.
    """
    acknowledged: dict[str, str] = {}
    unexplained: list[str] = []
    for finding in wildcard_findings(policy):
        reason = next((text for pattern, text in reasons.items() if re.search(pattern, finding)), None)
        if reason is None:
            unexplained.append(finding)
        else:
            acknowledged[f"AwsSolutions-IAM5[{finding}]"] = reason
    if unexplained:
        raise ValueError(f"unexplained IAM wildcards in {policy.node.path}: {', '.join(unexplained)}")
    if acknowledged:
        acknowledge(policy, acknowledged)
    return sorted(acknowledged)


#: Reasons shared by every monitoring Lambda built on ``PlatformFunction``.
PLATFORM_FUNCTION_WILDCARDS: dict[str, str] = {
    r"^Action::kms:(ReEncrypt|GenerateDataKey)\*$": "CDK KMS grant on the construct's own key only "
    "(ReEncryptFrom/To, GenerateDataKey/WithoutPlaintext); no other key is covered.",
    r":log-stream:\*$": "Writes only log streams of the function's own log group (stream names are generated).",
}
