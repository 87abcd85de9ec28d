"""The single removal-policy rule for stateful resources.

Buckets, tables, keyspaces, keys, log groups and secrets are **retained** unless the user opts
into destruction explicitly with the context flag ``@meshworks/removeDataOnDestroy=true``
(``cdk deploy -c @meshworks/removeDataOnDestroy=true`` or ``cdk.json``). A construct asked for
``RemovalPolicy.DESTROY`` without the flag keeps ``RETAIN`` and says so in a synth warning.
"""

from __future__ import annotations

from aws_cdk import Annotations, RemovalPolicy
from constructs import Construct

REMOVE_DATA_ON_DESTROY = "@meshworks/removeDataOnDestroy"


def destroy_allowed(scope: Construct) -> bool:
    """True when the app opted into destroying stateful resources (context flag set to true)."""
    value = scope.node.try_get_context(REMOVE_DATA_ON_DESTROY)
    return value is True or str(value).lower() == "true"


def resolve_removal_policy(
    scope: Construct, requested: RemovalPolicy | None = None, resource_id: str | None = None
) -> RemovalPolicy:
    """Return the removal policy a stateful resource under ``scope`` (with id ``resource_id``) gets.

    ``None`` or ``RETAIN`` → ``RETAIN``; ``SNAPSHOT`` is honoured; ``DESTROY`` only with the
    ``@meshworks/removeDataOnDestroy`` flag, otherwise ``RETAIN`` plus a warning naming the flag.
    """
    if requested is None or requested == RemovalPolicy.RETAIN:
        return RemovalPolicy.RETAIN
    if requested == RemovalPolicy.DESTROY and not destroy_allowed(scope):
        Annotations.of(scope).add_warning_v2(
            "meshworks:RetainedStatefulResource",
            f"{'/'.join(filter(None, [scope.node.path, resource_id]))}: removal_policy=DESTROY ignored, the resource is RETAINED. Set the "
            f"context flag {REMOVE_DATA_ON_DESTROY}=true to allow deleting data on stack deletion.",
        )
        return RemovalPolicy.RETAIN
    return requested
