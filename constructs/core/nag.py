"""Acknowledging cdk-nag findings inside the library, one resource at a time, each with its reason.

Users of a meshworks construct must not inherit findings they would have to acknowledge
themselves, so every construct acknowledges its own justified findings on the exact L1
resource concerned. Rule ids are written as cdk-nag reports them, e.g. ``AwsSolutions-IAM5``,
``AwsSolutions-IAM5[Action::s3:*]`` or ``NIST.800.53.R5-S3BucketReplicationEnabled``.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct

_PACKS = ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "Serverless", "PCI.DSS.321")


def _qualified(rule: str) -> str:
    if "::" in rule.split("[", 1)[0]:
        return rule
    for pack in _PACKS:
        if rule.startswith(pack + "-"):
            return f"{pack}::{rule}"
    raise ValueError(f"unknown cdk-nag rule id {rule!r}: expected one of the packs {', '.join(_PACKS)}")


def _resource(construct: IConstruct) -> IConstruct:
    """The L1 resource a finding is reported on (the default child of an L2, or itself)."""
    if isinstance(construct, CfnResource):
        return construct
    child = construct.node.default_child
    return child if child is not None else construct


def acknowledge(construct: IConstruct, reasons: dict[str, str]) -> None:
    """Acknowledge cdk-nag rules on one resource.

    Args:
        construct: the L1 resource, or an L2 whose default child is the resource.
        reasons: rule id → the reason it does not apply (must say why, not just "ok").
    """
    target = _resource(construct)
    for rule, reason in reasons.items():
        if len(reason.strip()) < 20:
            raise ValueError(f"acknowledgement of {rule} on {target.node.path} needs a real reason")
        Validations.of(target).acknowledge(Acknowledgment(id=_qualified(rule), reason=reason))
