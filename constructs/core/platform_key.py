"""``PlatformKey``: a customer-managed KMS key with rotation, retained by default."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

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

        key = PlatformKey(self, "DataKey", alias="alias/acme/data")
        key.allow_cloudwatch_logs()   # so encrypted log groups can use it

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
        super().__init__(
            scope,
            construct_id,
            alias=alias,
            description=description,
            enable_key_rotation=True,
            pending_window=pending_window,
            removal_policy=resolve_removal_policy(scope, removal_policy, construct_id),
        )
        self._logs_allowed = False

    def allow_cloudwatch_logs(self) -> None:
        """Let CloudWatch Logs in this stack's account and region encrypt log groups with the key."""
        if self._logs_allowed:
            return
        self._logs_allowed = True
        stack = Stack.of(self)
        self.add_to_resource_policy(
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


def allow_service_to_use_key(key: kms.IKey, service: str, sid: str, source_arn_pattern: str | None = None) -> None:
    """Let an AWS service principal of this account encrypt with ``key`` (SNS/SQS writes on our behalf).

    Idempotent per key, service and source pattern (constructs sharing a key add the statement once).
    """
    done: set[tuple[str, str | None]] = getattr(key, "_meshworks_service_grants", set())
    if (service, source_arn_pattern) in done:
        return
    done.add((service, source_arn_pattern))
    key._meshworks_service_grants = done  # type: ignore[attr-defined]
    stack = Stack.of(key)
    conditions: dict[str, dict[str, str]] = {"StringEquals": {"aws:SourceAccount": stack.account}}
    if source_arn_pattern:
        conditions["ArnLike"] = {"aws:SourceArn": source_arn_pattern}
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(service)],
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=["*"],  # in a key policy "*" means this key
            conditions=conditions,
        )
    )
