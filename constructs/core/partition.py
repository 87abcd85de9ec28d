"""The AWS partition of a stack as a literal (``aws``, ``aws-cn``, ``aws-us-gov``) when its region is known."""

from __future__ import annotations

from functools import cache

from aws_cdk import Aws, Stack
from constructs import IConstruct

from .rendered_resources import is_literal

__all__ = ["partition_of"]


@cache
def _partition_of_region(region: str) -> str:
    from aws_cdk.region_info import RegionInfo

    return RegionInfo.get(region).partition or "aws"


def partition_of(scope: IConstruct, *, when_unknown: str | None = None) -> str:
    """The partition of ``scope``'s stack, for the ARNs a construct writes itself.

    ``Stack.partition`` is always the ``AWS::Partition`` token, which CloudFormation resolves correctly but
    which turns every ARN holding it into an ``Fn::Join`` (a changed, possibly create-only, property for a
    template that held a literal before). With a known region this returns the literal from aws-cdk-lib's
    region facts (``cn-north-1`` -> ``aws-cn``; an unknown region -> ``aws``).

    Args:
        when_unknown: what an environment-agnostic stack (region a token) gets. Default: ``None``, the
            ``AWS::Partition`` token; ``"aws"`` keeps a create-only property as it was before partitions
            were honoured (``DataProduct``'s registered locations).
    """
    region = Stack.of(scope).region
    if is_literal(region):
        return _partition_of_region(region)
    return when_unknown if when_unknown is not None else Aws.PARTITION
