"""Acknowledging wildcard findings on the IAM policies the Spark constructs generate, one finding at a time.

cdk-nag 3 reports every wildcard of a policy as its own finding (``AwsSolutions-IAM5[Action::s3:List*]``,
``AwsSolutions-IAM5[Resource::<LakeRaw8A880B75.Arn>/*]``) and only an acknowledgement of that exact id
silences it. The ids contain logical ids (or, across stacks, export names) and appear only once grants
have filled the policy, which may happen after the construct was built (``bucket.grant_read(role)`` in the
user's code). So an aspect attaches a construct validation to each policy under the construct; at the
validation step of synthesis (after references are resolved, before cdk-nag runs) it resolves the policy
the way cdk-nag does and acknowledges each wildcard that matches one of the patterns the construct
declared, with that pattern's reason. A wildcard nobody
declared stays a finding: acknowledgements cannot hide a grant the construct did not expect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import jsii
from aws_cdk import Aspects, IAspect, Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct, IValidation

from ..core.nag import acknowledge

#: ``(pattern, reason)``: a wildcard finding (``Action::...`` or ``Resource::...``) matching the pattern is
#: acknowledged with the reason.
Rule = tuple[str, str]

#: How an ARN's partition appears in a finding (a token, or a literal with partition literals on).
PARTITION = r"(<AWS::Partition>|aws[a-z-]*)"

#: Wildcard actions of CDK's own ``grant_*`` methods, always scoped to the one resource of their statement.
CDK_GRANT_ACTIONS: Rule = (
    r"Action::(s3:(GetObject|GetBucket|List|DeleteObject|Abort|PutObject)\*|kms:(ReEncrypt|GenerateDataKey|Describe)\*)",
    "Action groups emitted by CDK grant_* methods (object reads/writes, key use), each limited to the one "
    "bucket or key named in the same statement.",
)
#: Objects of a bucket (``<Bucket.Arn>/*`` or ``<Bucket.Arn>/prefix/*``).
BUCKET_OBJECTS: Rule = (
    r"Resource::(<[A-Za-z0-9]+\.Arn>|[A-Za-z0-9-]+:ExportsOutput[A-Za-z0-9]+|arn:" + PARTITION + r":s3:::[a-z0-9.<>:-]+)"
    r"/[A-Za-z0-9_./=-]*\*",
    "Object keys inside one named bucket (or one prefix of it); object names are created at run time.",
)

#: Log streams of a function's or service's own log group (``<Logs.Arn>:log-stream:*``).
OWN_LOG_STREAMS: Rule = (
    r"Resource::<[A-Za-z0-9]+\.Arn>:log-stream:\*",
    "Only log streams of the function's own log group; stream names are generated at run time.",
)
#: Reason used for every PlatformFunction's runtime finding.
PLATFORM_FUNCTION_RUNTIME = (
    "PlatformFunction pins Python 3.12 for every meshworks handler (stdlib + boto3, tested on that runtime); "
    "the platform upgrades all handlers together."
)


def _flatten(node: Any) -> str:
    """A CloudFormation value as cdk-nag flattens it (``{"Ref": "X"}`` -> ``<X>``)."""
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
        if "Fn::ImportValue" in node:
            return _flatten(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{_flatten(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))


def wildcard_findings(document: dict[str, Any]) -> list[str]:
    """The IAM5 finding suffixes of a resolved policy document, as cdk-nag words them."""
    found: list[str] = []

    def as_list(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        for action in as_list(statement.get("Action", [])):
            if isinstance(action, str) and "*" in action and f"Action::{action}" not in found:
                found.append(f"Action::{action}")
        for resource in as_list(statement.get("Resource", [])):
            flat = _flatten(resource)
            if "*" in flat and f"Resource::{flat}" not in found:
                found.append(f"Resource::{flat}")
    return found


@jsii.implements(IValidation)
class _AcknowledgeWildcards:
    """Runs at the construct-validation step of synthesis: after cross-stack references became imports
    (so the ids match what cdk-nag reports), before the validation plugins (cdk-nag) read the metadata."""

    def __init__(self, policy: IConstruct, rules: list[tuple[re.Pattern[str], str]], extra: dict[str, str]) -> None:
        self._policy = policy
        self._rules = rules
        self._extra = extra

    def validate(self) -> list[str]:
        document = Stack.of(self._policy).resolve(self._policy.policy_document)  # type: ignore[attr-defined]
        reasons = dict(self._extra)
        for finding in wildcard_findings(document):
            for pattern, reason in self._rules:
                if pattern.fullmatch(finding):
                    reasons[f"AwsSolutions-IAM5[{finding}]"] = reason
                    break
        if reasons:
            acknowledge(self._policy, reasons)
        return []


@jsii.implements(IAspect)
class _AcknowledgePolicies:
    def __init__(self, root: IConstruct, rules: Sequence[Rule], extra: dict[str, str]) -> None:
        self._root = root.node.path
        self._rules = [(re.compile(pattern), reason) for pattern, reason in rules]
        self._extra = extra
        self._seen: set[str] = set()

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, (iam.CfnPolicy, iam.CfnManagedPolicy)) or node.node.path in self._seen:
            return
        if not node.node.path.startswith(self._root + "/"):
            return
        self._seen.add(node.node.path)
        node.node.add_validation(_AcknowledgeWildcards(node, self._rules, self._extra))


def acknowledge_policies(scope: IConstruct, rules: Sequence[Rule], *, extra: dict[str, str] | None = None) -> None:
    """At synthesis, acknowledge on every IAM policy under ``scope`` the wildcard findings matching ``rules``
    (plus the ``extra`` rule ids, e.g. ``NIST.800.53.R5-IAMNoInlinePolicy``)."""
    Aspects.of(scope).add(_AcknowledgePolicies(scope, rules, dict(extra or {})))


def acknowledge_role_policy(role: iam.Role, reasons: dict[str, str]) -> None:
    """Acknowledge fixed rule ids on ``role``'s generated policies (now or once grants create them)."""
    Aspects.of(role).add(_AcknowledgePolicies(role, [], reasons))
