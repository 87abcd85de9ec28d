"""SecureBucket, AccessLogsBucket and DataLakeStorage: secure defaults, lifecycle, grants, retention."""

from __future__ import annotations

import pytest
from aws_cdk import App, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match, Template

from meshworks.constructs.storage import DataLakeStorage, SecureBucket, Zone


@pytest.fixture(scope="module")
def lake_template() -> Template:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Lake")
    lake = DataLakeStorage(stack, "Lake", name_prefix="acme-data")
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    writer = iam.Role(stack, "Writer", assumed_by=iam.AccountRootPrincipal())
    lake.grant_read(Zone.CURATED, reader)
    lake.grant_write("raw", writer)
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def bucket_stack() -> Stack:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Bucket")
    SecureBucket(stack, "Landing")
    SecureBucket(stack, "Scratch", removal_policy=RemovalPolicy.DESTROY)
    return stack


def test_secure_bucket_defaults(bucket_stack: Stack) -> None:
    template = Template.from_stack(bucket_stack)
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {
                                "BucketKeyEnabled": True,
                                "ServerSideEncryptionByDefault": Match.object_like({"SSEAlgorithm": "aws:kms"}),
                            }
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "LoggingConfiguration": Match.object_like({"LogFilePrefix": "Landing/"}),
                    "LifecycleConfiguration": {
                        "Rules": Match.array_with(
                            [Match.object_like({"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})]
                        )
                    },
                }
            ),
        },
    )
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_secure_bucket_denies_plain_http_and_old_tls(bucket_stack: Stack) -> None:
    policies = Template.from_stack(bucket_stack).find_resources("AWS::S3::BucketPolicy")
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    conditions = [s.get("Condition", {}) for s in statements if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


def test_destroy_without_flag_is_retained_with_a_warning(bucket_stack: Stack) -> None:
    buckets = Template.from_stack(bucket_stack).find_resources("AWS::S3::Bucket")
    assert all(b["DeletionPolicy"] == "Retain" for b in buckets.values())
    Annotations.from_stack(bucket_stack).has_warning(
        "/Bucket", Match.string_like_regexp("Bucket/Scratch: removal_policy=DESTROY ignored.*@meshworks/removeDataOnDestroy")
    )


def test_destroy_is_honoured_with_the_context_flag() -> None:
    app = App(builtin_cloud_formation_validation=False, context={"@meshworks/removeDataOnDestroy": "true"})
    stack = Stack(app, "Disposable")
    SecureBucket(stack, "Scratch", removal_policy=RemovalPolicy.DESTROY)
    buckets = Template.from_stack(stack).find_resources("AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": Match.any_value()}})
    assert [b["DeletionPolicy"] for b in buckets.values()] == ["Delete"]


def test_destroy_takes_the_access_log_bucket_created_for_it_along() -> None:
    """Issue 16: with DESTROY honoured, the bucket's own access-log bucket was left RETAINED (DataLakeStorage's was not)."""
    app = App(builtin_cloud_formation_validation=False, context={"@meshworks/removeDataOnDestroy": "true"})
    stack = Stack(app, "Disposable")
    SecureBucket(stack, "Scratch", removal_policy=RemovalPolicy.DESTROY)
    SecureBucket(stack, "Kept")
    policies = {
        logical_id: resource["DeletionPolicy"]
        for logical_id, resource in Template.from_stack(stack).find_resources("AWS::S3::Bucket").items()
    }
    assert {k: v for k, v in policies.items() if k.startswith("ScratchAccessLogs")} and set(
        v for k, v in policies.items() if k.startswith("Scratch")
    ) == {"Delete"}, policies
    assert {v for k, v in policies.items() if k.startswith("Kept")} == {"Retain"}, policies


def test_access_log_bucket_takes_delivery_through_its_policy(bucket_stack: Stack) -> None:
    template = Template.from_stack(bucket_stack)
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject", "Effect": "Allow"}
                        )
                    ]
                )
            }
        },
    )
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {"BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}},
    )


def test_lake_has_four_named_zones_one_key_one_log_bucket(lake_template: Template) -> None:
    for zone in ("raw", "stage", "curated", "backup"):
        lake_template.has_resource_properties("AWS::S3::Bucket", {"BucketName": f"acme-data-{zone}"})
    lake_template.resource_count_is("AWS::S3::Bucket", 5)
    lake_template.resource_count_is("AWS::KMS::Key", 1)


def test_lake_lifecycle_per_zone(lake_template: Template) -> None:
    lake_template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": "acme-data-stage",
            "LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like({"Id": "stage-expiry", "ExpirationInDays": 30})])},
        },
    )
    lake_template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": "acme-data-backup",
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [Match.object_like({"Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 1}]})]
                )
            },
        },
    )


def _role_actions(template: Template, role_prefix: str) -> set[str]:
    policies = template.find_resources("AWS::IAM::Policy")
    actions: set[str] = set()
    for policy in policies.values():
        roles = policy["Properties"]["Roles"]
        if any(r["Ref"].startswith(role_prefix) for r in roles):
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                value = statement["Action"]
                actions |= {value} if isinstance(value, str) else set(value)
    return actions


def test_zone_grants_are_scoped(lake_template: Template) -> None:
    reader, writer = _role_actions(lake_template, "Reader"), _role_actions(lake_template, "Writer")
    assert "s3:GetObject*" in reader and not any(a.startswith(("s3:Put", "s3:Delete")) for a in reader)
    assert "s3:PutObject" in writer and not any(a.startswith(("s3:Get", "s3:Delete")) for a in writer)
    assert "kms:Decrypt" in reader and "kms:Encrypt" in writer
