"""``SecureLogGroup``: a KMS-encrypted CloudWatch log group with retention, retained by default."""

from __future__ import annotations

from aws_cdk import Annotations, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from .inputs import retention_days
from .platform_key import LOGS_KEY_ACTIONS, allow_cloudwatch_logs
from .removal import resolve_removal_policy


class SecureLogGroup(logs.LogGroup):
    """A log group encrypted with a customer-managed KMS key and a finite retention.

    Args:
        encryption_key: any ``kms.IKey`` (a ``PlatformKey``, a ``kms.Key``, an imported key). Its key policy is
            extended for CloudWatch Logs when this app owns the key; for an imported key a synth warning says
            which statement the key's owner must add (CloudWatch Logs refuses the log group otherwise).
        retention: a ``logs.RetentionDays`` (a number of days is a ``ValueError``). Default: one year.
        log_group_name: Default: generated.
        removal_policy: Default: RETAIN (see ``meshworks.constructs.core.removal``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        log_group_name: str | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        retention_days("SecureLogGroup", "retention", retention)
        allowed = allow_cloudwatch_logs(encryption_key)
        super().__init__(
            scope,
            construct_id,
            encryption_key=encryption_key,
            retention=retention,
            log_group_name=log_group_name,
            removal_policy=resolve_removal_policy(scope, removal_policy, construct_id),
        )
        if not allowed:
            Annotations.of(self).add_warning_v2(
                "meshworks:ImportedLogKey",
                f"{self.node.path}: the imported key {encryption_key.key_arn} cannot be changed by this app; its key "
                f"policy must allow logs.<region>.amazonaws.com {', '.join(LOGS_KEY_ACTIONS)} with the condition "
                "ArnLike kms:EncryptionContext:aws:logs:arn = arn:<partition>:logs:<region>:<account>:log-group:*, "
                "or CloudWatch Logs refuses to create the log group.",
            )
