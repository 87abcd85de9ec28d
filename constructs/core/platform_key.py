"""``PlatformKey``: a customer-managed KMS key with rotation, retained by default."""

from __future__ import annotations

import contextlib

from aws_cdk import Annotations, ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .inputs import whole_duration
from .nag import CDK_GRANT_ACTIONS, acknowledge_grant
from .removal import resolve_removal_policy

#: Actions CloudWatch Logs needs on a key that encrypts log groups (listed, no wildcard).
LOGS_KEY_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
]


class PlatformKey(kms.Key):
    """A KMS key with yearly rotation that survives stack deletion.

    Example::

        from aws_cdk import App, Stack

        from meshworks.constructs.core import PlatformKey

        app = App()
        stack = Stack(app, "Keys")
        key = PlatformKey(stack, "DataKey", alias="alias/acme/data")
        key.allow_cloudwatch_logs()   # so encrypted log groups can use it
        app.synth()

    Args:
        alias: key alias. Default: none.
        description: key description. Default: "meshworks platform key".
        removal_policy: RETAIN unless ``@meshworks/removeDataOnDestroy`` is set (see ``removal``).
            Default: RETAIN.
        pending_window: deletion waiting period when the key is destroyed. Default: 30 days.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alias: str | None = None,
        description: str = "meshworks platform key",
        removal_policy: RemovalPolicy | None = None,
        pending_window: Duration = Duration.days(30),
    ) -> None:
        whole_duration("PlatformKey", "pending_window", pending_window, "days", minimum=7, maximum=30)  # KMS's range
        super().__init__(
            scope,
            construct_id,
            alias=alias,
            description=description,
            enable_key_rotation=True,
            pending_window=pending_window,
            removal_policy=resolve_removal_policy(scope, removal_policy, construct_id),
        )

    def allow_cloudwatch_logs(self) -> None:
        """Let CloudWatch Logs in this stack's account and region encrypt log groups with the key."""
        allow_cloudwatch_logs(self)

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """CDK's key grant (every ``grant_*`` of the key goes through it); the ``kms:ReEncrypt*`` /
        ``kms:GenerateDataKey*`` groups it may write are acknowledged on the grantee's policy."""
        result = super().grant(grantee, *actions)
        acknowledge_grant(grantee, [CDK_GRANT_ACTIONS])
        return result


def allow_cloudwatch_logs(key: kms.IKey) -> bool:
    """Let CloudWatch Logs of the key's account and region encrypt log groups with ``key`` (any ``kms.IKey``).

    Idempotent. Returns False when the key policy cannot be changed by this app (an imported key, e.g.
    ``kms.Key.from_key_arn``): its owner must then allow ``logs.<region>.amazonaws.com`` the actions in
    ``LOGS_KEY_ACTIONS`` with the condition ``kms:EncryptionContext:aws:logs:arn`` like
    ``arn:<partition>:logs:<region>:<account>:log-group:*`` (what this function adds to keys it can change).
    """
    if getattr(key, "_meshworks_logs_allowed", False):
        return True
    stack = Stack.of(key)
    result = key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogsOfThisAccount",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=LOGS_KEY_ACTIONS,
            resources=["*"],  # in a key policy "*" means this key
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs", resource="log-group", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
                    )
                }
            },
        )
    )
    if result.statement_added:
        with contextlib.suppress(AttributeError):  # a proxy of a key made outside Python takes no attribute
            key._meshworks_logs_allowed = True  # type: ignore[attr-defined]
    return result.statement_added


def allow_service_to_use_key(key: kms.IKey, service: str, sid: str, source_arn_pattern: str | None = None) -> None:
    """Let an AWS service principal of this account encrypt with ``key`` (SNS/SQS writes on our behalf).

    Idempotent per key, service and source pattern (constructs sharing a key add the statement once).
    """
    done: set[tuple[str, str | None]] = getattr(key, "_meshworks_service_grants", set())
    if (service, source_arn_pattern) in done:
        return
    done.add((service, source_arn_pattern))
    with contextlib.suppress(AttributeError):  # an imported key takes no attribute (and no statement, below)
        key._meshworks_service_grants = done  # type: ignore[attr-defined]
    stack = Stack.of(key)
    conditions: dict[str, dict[str, str]] = {"StringEquals": {"aws:SourceAccount": stack.account}}
    if source_arn_pattern:
        conditions["ArnLike"] = {"aws:SourceArn": source_arn_pattern}
    added = key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(service)],
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=["*"],  # in a key policy "*" means this key
            conditions=conditions,
        )
    ).statement_added
    if not added:
        Annotations.of(key).add_warning_v2(
            "meshworks:ImportedKeyServiceUse",
            f"the imported key {key.key_arn} cannot be changed by this app; its key policy must allow {service} "
            f"kms:Decrypt and kms:GenerateDataKey (aws:SourceAccount = {stack.account}), or its messages are lost.",
        )
