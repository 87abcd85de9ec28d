"""Keep synthesis offline: answer the CDK's context lookups from configuration."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack


def pin_availability_zones(stack: Stack, availability_zones: Sequence[str]) -> None:
    """Give an environment-specific stack its AZs without an ``availability-zones`` lookup.

    Call before any construct is added to ``stack``. Without it, a VPC or endpoint in a stack
    with an explicit account makes ``cdk synth`` ask AWS for the zones (credentials needed).
    """
    key = f"availability-zones:account={stack.account}:region={stack.region}"
    stack.node.set_context(key, list(availability_zones))
