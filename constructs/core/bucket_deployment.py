"""cdk-nag acknowledgements for the singleton functions CDK adds to a stack (``BucketDeployment``,
``AwsCustomResource``, S3 bucket notifications)."""

from __future__ import annotations

import jsii
from aws_cdk import Stack
from constructs import IConstruct, IValidation

from .nag import BUCKET_OBJECTS, CDK_ASSET_OBJECTS, CDK_GRANT_ACTIONS, acknowledge, acknowledge_policies


def acknowledge_bucket_deployments(scope: IConstruct) -> None:
    """Acknowledge, with reasons, the findings of the ``BucketDeployment`` handler(s) in ``scope``'s stack.

    ``BucketDeployment`` creates one CDK-managed singleton function per stack (``Custom::CDKBucketDeployment…``),
    outside the construct that uses it; it runs only during deployments and copies CDK assets into a bucket.
    Call it after the deployments were created. Idempotent.
    """
    for child in Stack.of(scope).node.children:
        if not child.node.id.startswith("Custom::CDKBucketDeployment"):
            continue
        acknowledge(
            child,
            {
                "AwsSolutions-L1": "CDK's BucketDeployment handler: its runtime follows the CDK release.",
                "NIST.800.53.R5-LambdaConcurrency": "Runs only during deployments to copy assets.",
                "NIST.800.53.R5-LambdaDLQ": "Synchronous custom-resource calls report failures to CloudFormation.",
                "NIST.800.53.R5-LambdaInsideVPC": "Copies between two S3 buckets through the S3 API only.",
            },
        )
        log_group = child.node.try_find_child("LogGroup")
        if log_group is not None:
            acknowledge(
                log_group,
                {
                    "NIST.800.53.R5-CloudWatchLogGroupEncrypted": "Log group of CDK's BucketDeployment "
                    "singleton, which accepts no key; it logs object copies only, never data.",
                },
            )
        role = child.node.find_child("ServiceRole")
        acknowledge(
            role,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]": "CDK BucketDeployment role: the managed policy only writes logs.",
            },
        )
        acknowledge_policies(
            role,
            [CDK_GRANT_ACTIONS, CDK_ASSET_OBJECTS, BUCKET_OBJECTS],
            extra={
                "NIST.800.53.R5-IAMNoInlinePolicy": "CDK BucketDeployment policy, scoped to "
                "the CDK asset bucket (read) and the destination bucket (write)."
            },
        )


def acknowledge_custom_resource_provider(scope: IConstruct) -> None:
    """Acknowledge, with reasons, the findings of the ``AwsCustomResource`` singleton in ``scope``'s stack.

    ``AwsCustomResource`` runs one CDK-managed function per stack (``AWS679f53fac002430cb0da5b7982bd2287``) that
    makes the SDK calls of every custom resource during deployments, with the statements each one declares.
    """
    singleton = Stack.of(scope).node.try_find_child("AWS679f53fac002430cb0da5b7982bd2287")
    if singleton is None:
        return
    acknowledge(
        singleton,
        {
            "AwsSolutions-L1": "CDK's AwsCustomResource handler: its runtime follows the CDK release.",
            "NIST.800.53.R5-LambdaConcurrency": "Runs only during deployments.",
            "NIST.800.53.R5-LambdaDLQ": "Synchronous custom-resource calls report failures to CloudFormation.",
            "NIST.800.53.R5-LambdaInsideVPC": "Makes AWS API calls only.",
        },
    )
    log_group = singleton.node.try_find_child("LogGroup")
    if log_group is not None:
        acknowledge(
            log_group,
            {
                "NIST.800.53.R5-CloudWatchLogGroupEncrypted": "Log group of CDK's AwsCustomResource singleton, "
                "which accepts no key; it logs the SDK calls' outcome, never data.",
            },
        )
    role = singleton.node.try_find_child("ServiceRole")
    if role is not None:
        acknowledge(
            role,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]": "CDK AwsCustomResource role: the managed policy only writes logs.",
            },
        )


#: Construct id of CDK's per-stack singleton that writes S3 bucket notification configurations (aws-s3).
BUCKET_NOTIFICATIONS_HANDLER = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"


@jsii.implements(IValidation)
class _AcknowledgeBucketNotifications:
    """At synthesis (before cdk-nag runs): the notifications resource exists only once a notification or
    EventBridge delivery was configured, possibly after the bucket was built (``add_event_notification``)."""

    def __init__(self, bucket: IConstruct) -> None:
        self._bucket = bucket

    def validate(self) -> list[str]:
        notifications = self._bucket.node.try_find_child("Notifications")
        policy = notifications.node.try_find_child("HandlerPolicy") if notifications is not None else None
        if policy is not None:
            acknowledge(
                policy,
                {
                    "NIST.800.53.R5-IAMNoInlinePolicy": "CDK's bucket-notifications handler policy: "
                    "s3:PutBucketNotification on this bucket only, written by CDK for this bucket.",
                },
            )
        handler = Stack.of(self._bucket).node.try_find_child(BUCKET_NOTIFICATIONS_HANDLER)
        role = handler.node.try_find_child("Role") if handler is not None else None
        if role is not None:
            acknowledge(
                role,
                {
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]": "CDK's bucket-notifications handler (runs only during "
                    "deployments): the managed policy only writes its logs.",
                },
            )
        return []


def acknowledge_bucket_notifications(bucket: IConstruct) -> None:
    """Acknowledge, with reasons, the findings of CDK's bucket-notifications handler serving ``bucket``.

    ``event_bridge_enabled=True`` or ``add_event_notification`` make CDK add a singleton function per stack
    (``BucketNotificationsHandler…``, role with ``AWSLambdaBasicExecutionRole``) and an inline policy under the
    bucket (``Notifications/HandlerPolicy``). Checked at synthesis, so notifications added later are covered.
    """
    bucket.node.add_validation(_AcknowledgeBucketNotifications(bucket))
