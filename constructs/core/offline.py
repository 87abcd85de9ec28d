"""Keep synthesis offline: answer the CDK's context lookups from configuration."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack, Token


def pin_availability_zones(stack: Stack, availability_zones: Sequence[str]) -> None:
    """Give an environment-specific stack its AZs without an ``availability-zones`` lookup.

    Call before any construct is added to ``stack``. Without it, a VPC or endpoint in a stack
    with an explicit account makes ``cdk synth`` ask AWS for the zones (credentials needed).
    """
    from .inputs import string_list

    zones = string_list("pin_availability_zones", "availability_zones", availability_zones, example="eu-west-1a")
    key = f"availability-zones:account={stack.account}:region={stack.region}"
    stack.node.set_context(key, zones)


def availability_zones_key(stack: Stack) -> str | None:
    """The context key of the stack's zone lookup, or ``None`` for an environment-agnostic stack (no lookup)."""
    if Token.is_unresolved(stack.account) or Token.is_unresolved(stack.region):
        return None
    return f"availability-zones:account={stack.account}:region={stack.region}"


def needs_availability_zone_lookup(stack: Stack) -> bool:
    """True when reading ``stack.availability_zones`` would make ``cdk synth`` ask AWS (credentials needed)."""
    key = availability_zones_key(stack)
    return key is not None and stack.node.try_get_context(key) is None
