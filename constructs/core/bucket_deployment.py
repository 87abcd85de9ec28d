"""cdk-nag acknowledgements for the singleton functions CDK adds to a stack (``BucketDeployment``,
``AwsCustomResource``, S3 bucket notifications)."""

from __future__ import annotations

import jsii
from aws_cdk import Stack
from constructs import IConstruct, IValidation

from .nag import BUCKET_OBJECTS, CDK_ASSET_OBJECTS, CDK_GRANT_ACTIONS, acknowledge, acknowledge_policies

_BASIC_EXECUTION = (
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]"
)


def _acknowledge_singleton(function: IConstruct, role: IConstruct | None, name: str, reach: str, logs: str) -> None:
    """The findings every CDK-managed deploy-time singleton has: its function (runtime, concurrency, DLQ, VPC),
    its log group (no key) and its role's basic-execution managed policy. ``name`` names it in the reasons,
    ``reach`` says what it calls, ``logs`` what its logs hold."""
    acknowledge(
        function,
        {
            "AwsSolutions-L1": f"CDK's {name} handler: its runtime follows the CDK release.",
            "NIST.800.53.R5-LambdaConcurrency": "Runs only during deployments.",
            "NIST.800.53.R5-LambdaDLQ": "Synchronous custom-resource calls report failures to CloudFormation.",
            "NIST.800.53.R5-LambdaInsideVPC": reach,
        },
    )
    log_group = function.node.try_find_child("LogGroup")
    if log_group is not None:
        acknowledge(
            log_group,
            {
                "NIST.800.53.R5-CloudWatchLogGroupEncrypted": f"Log group of CDK's {name} singleton, which accepts "
                f"no key; it logs {logs}, never data.",
            },
        )
    if role is not None:
        acknowledge(role, {_BASIC_EXECUTION: f"CDK {name} role: the managed policy only writes logs."})


def acknowledge_bucket_deployments(scope: IConstruct) -> None:
    """Acknowledge, with reasons, the findings of the ``BucketDeployment`` handler(s) in ``scope``'s stack.

    ``BucketDeployment`` creates one CDK-managed singleton function per stack (``Custom::CDKBucketDeployment…``),
    outside the construct that uses it; it runs only during deployments and copies CDK assets into a bucket.
    Call it after the deployments were created. Idempotent.
    """
    for child in Stack.of(scope).node.children:
        if not child.node.id.startswith("Custom::CDKBucketDeployment"):
            continue
        role = child.node.find_child("ServiceRole")
        _acknowledge_singleton(
            child, role, "BucketDeployment", "Copies between two S3 buckets through the S3 API only.", "object copies"
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
    if singleton is not None:
        _acknowledge_singleton(
            singleton, singleton.node.try_find_child("ServiceRole"), "AwsCustomResource",
            "Makes AWS API calls only.", "the SDK calls' outcome",
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
                    _BASIC_EXECUTION: "CDK's bucket-notifications handler (runs only during deployments): "
                    "the managed policy only writes its logs.",
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
