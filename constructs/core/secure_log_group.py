"""``SecureLogGroup``: a KMS-encrypted CloudWatch log group with retention, retained by default."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct

from .platform_key import PlatformKey
from .removal import resolve_removal_policy


class SecureLogGroup(logs.LogGroup):
    """A log group encrypted with a ``PlatformKey`` and a finite retention.

    Args:
        encryption_key: the key; its key policy is extended for CloudWatch Logs.
        retention: Default: one year.
        log_group_name: Default: generated.
        removal_policy: Default: RETAIN (see ``meshworks.constructs.core.removal``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: PlatformKey,
        retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        log_group_name: str | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        encryption_key.allow_cloudwatch_logs()
        super().__init__(
            scope,
            construct_id,
            encryption_key=encryption_key,
            retention=retention,
            log_group_name=log_group_name,
            removal_policy=resolve_removal_policy(scope, removal_policy, construct_id),
        )
