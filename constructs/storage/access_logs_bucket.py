"""``AccessLogsBucket``: the target of S3 server access logs."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..core.inputs import whole_duration
from ..core.nag import acknowledge
from ..core.removal import resolve_removal_policy


class AccessLogsBucket(s3.Bucket):
    """Receives server access logs of other buckets: TLS only, public access blocked, versioned.

    S3 delivers server access logs only to buckets with SSE-S3 default encryption, so this bucket
    uses SSE-S3 instead of a customer key (the one documented exception to SSE-KMS).

    Args:
        expiration: age at which log objects expire. Default: 365 days.
        removal_policy: Default: RETAIN.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        expiration: Duration = Duration.days(365),
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        whole_duration("AccessLogsBucket", "expiration", expiration, "days", minimum=1)  # lifecycle rules count days
        super().__init__(
            scope,
            construct_id,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            removal_policy=resolve_removal_policy(scope, removal_policy, construct_id),
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=expiration,
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        allow_log_delivery(self)
        acknowledge(
            self,
            {
                "AwsSolutions-S1": "This bucket is the server access log target; logging it into itself would loop.",
                "NIST.800.53.R5-S3BucketLoggingEnabled": "Server access log target bucket; it cannot log to itself.",
                "NIST.800.53.R5-S3DefaultEncryptionKMS": "S3 server access logging only delivers to SSE-S3 buckets.",
                "NIST.800.53.R5-S3BucketReplicationEnabled": "Access logs are audit copies kept in-region; "
                "cross-region replication is an opt-in of the data buckets.",
            },
        )


def allow_log_delivery(target: s3.IBucket) -> None:
    """Let S3 server access logging of this account write into ``target`` (bucket policy, no ACL).

    Works whatever the app's ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy`` flag says.
    """
    stack = Stack.of(target)
    target.add_to_resource_policy(
        iam.PolicyStatement(
            sid="S3ServerAccessLogsPolicy",
            principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"],
            resources=[target.arn_for_objects("*")],
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
        )
    )
