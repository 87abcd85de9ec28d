"""cdk-nag acknowledgements of the mesh constructs: one finding at a time, each with its reason.

cdk-nag reports ``AwsSolutions-IAM5[Action::<action>]`` / ``[Resource::<text>]`` per wildcard,
rendering intrinsic functions as ``<LogicalId.Attr>`` / ``<AWS::Region>``. :func:`acknowledge_wildcards`
renders a policy the same way and acknowledges each wildcard whose text matches one of the given
patterns, with that pattern's reason; an unexplained wildcard raises, so a new one never slips
through. Policies that keep growing after the constructor (``MeshHub.add_domain``...) are
acknowledged at synth time (:func:`acknowledge_wildcards_at_synth`), once they are complete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import jsii
from aws_cdk import Aspects, IAspect, Stack
from constructs import IConstruct

from meshworks.constructs.core.nag import acknowledge

#: Wildcards every PlatformFunction role has.
FUNCTION_WILDCARDS = {
    r"^Action::kms:(ReEncrypt|GenerateDataKey)\*$": "CDK grant on the construct's own KMS key only "
    "(ReEncryptFrom/To, GenerateDataKey/WithoutPlaintext); no other key is covered.",
    r":log-stream:\*$": "Writes only log streams of the function's own log group (stream names are generated).",
}


def nag_text(node: Any) -> str:
    """cdk-nag's rendering of a resolved CloudFormation value."""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return delimiter.join(nag_text(item) for item in items)
        if "Fn::Sub" in node:
            return nag_text(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{resource}.{attribute}>"
        if "Ref" in node:
            return f"<{node['Ref']}>"
    return json.dumps(node, separators=(",", ":"))


def wildcard_findings(policy: IConstruct) -> list[str]:
    """The ``Action::`` / ``Resource::`` wildcard findings cdk-nag reports on an ``iam.Policy``."""
    document = Stack.of(policy).resolve(policy.document)  # type: ignore[attr-defined]
    findings: list[str] = []
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        for key, prefix in (("Action", "Action::"), ("Resource", "Resource::")):
            values = statement.get(key, [])
            for value in values if isinstance(values, list) else [values]:
                text = nag_text(value)
                if "*" in text and prefix + text not in findings:
                    findings.append(prefix + text)
    return findings


def acknowledge_wildcards(policy: IConstruct, reasons: Mapping[str, str]) -> None:
    """Acknowledge every wildcard of ``policy``; ``reasons`` maps a regex (searched in the finding) to a reason.

    Raises:
        ValueError: naming the wildcards no pattern explains.
    """
    rules: dict[str, str] = {}
    unexplained: list[str] = []
    for finding in wildcard_findings(policy):
        reason = next((text for pattern, text in reasons.items() if re.search(pattern, finding)), None)
        if reason is None:
            unexplained.append(finding)
        else:
            rules[f"AwsSolutions-IAM5[{finding}]"] = reason
    if unexplained:
        raise ValueError(f"unexplained IAM wildcards in {policy.node.path}: {', '.join(unexplained)}")
    if rules:
        acknowledge(policy, rules)


@jsii.implements(IAspect)
class _AtSynth:
    def __init__(self, owner: IConstruct, callback: Callable[[], None]) -> None:
        self._owner = owner
        self._callback = callback
        self._done = False

    def visit(self, node: IConstruct) -> None:
        if node is self._owner and not self._done:
            self._done = True
            self._callback()


def at_synth(owner: IConstruct, callback: Callable[[], None]) -> None:
    """Run ``callback`` once when the app is prepared for synthesis (all constructs exist by then)."""
    Aspects.of(owner).add(_AtSynth(owner, callback))


def acknowledge_wildcards_at_synth(
    owner: IConstruct, policy: Callable[[], IConstruct | None], reasons: Mapping[str, str]
) -> None:
    """:func:`acknowledge_wildcards` on ``policy()`` once the app is complete (the policy may still grow)."""

    def run() -> None:
        target = policy()
        if target is not None:
            acknowledge_wildcards(target, reasons)

    at_synth(owner, run)
