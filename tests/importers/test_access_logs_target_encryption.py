"""A ``SecureBucket``'s access-log target is checked for SSE-KMS even when it is an ``AccessLogsBucket``.

S3 delivers server access logs only to SSE-S3 buckets. An ``AccessLogsBucket`` is SSE-S3 when made, but its L1 can be
changed afterwards (an escape hatch); the logs would then be lost silently, so the check reads the L1 every time.
"""

from __future__ import annotations

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

from meshworks.constructs.storage import AccessLogsBucket, SecureBucket

KMS = s3.CfnBucket.BucketEncryptionProperty(
    server_side_encryption_configuration=[
        s3.CfnBucket.ServerSideEncryptionRuleProperty(
            server_side_encryption_by_default=s3.CfnBucket.ServerSideEncryptionByDefaultProperty(sse_algorithm="aws:kms")
        )
    ]
)


def test_an_access_logs_bucket_switched_to_sse_kms_is_refused_as_a_log_target() -> None:
    stack = Stack(App(), "S")
    logs = AccessLogsBucket(stack, "Logs")
    logs.node.default_child.bucket_encryption = KMS
    with pytest.raises(ValueError, match="uses SSE-KMS default encryption"):
        SecureBucket(stack, "Data", server_access_logs_bucket=logs)
    SecureBucket(stack, "Fine", server_access_logs_bucket=AccessLogsBucket(stack, "Logs2"))  # unchanged: accepted
