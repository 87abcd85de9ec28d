"""FeatureTable (DynamoDB TableV2): key design, TTL, PITR period, CMK, contributor insights, warm throughput."""

from __future__ import annotations

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from meshworks.constructs.features import FeatureTable, FileMetadataTable

ENV = Environment(account="111111111111", region="eu-west-1")


def _stack(env: Environment | None = ENV) -> Stack:
    return Stack(App(builtin_cloud_formation_validation=False), "Online", env=env)


@pytest.fixture(scope="module")
def template() -> Template:
    stack = _stack()
    table = FeatureTable(stack, "Features", table_name="online-features", tags={"team": "risk"},
                         warm_throughput=dynamodb.WarmThroughput(read_units_per_second=40_000,
                                                                 write_units_per_second=4_000))
    table.grant_read_data(iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal()))
    return Template.from_stack(stack)


def test_key_design_and_secure_defaults(template: Template) -> None:
    template.has_resource("AWS::DynamoDB::GlobalTable", {
        "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "Properties": Match.object_like({
            "TableName": "online-features",
            "KeySchema": [{"AttributeName": "entity_id", "KeyType": "HASH"},
                          {"AttributeName": "feature_set", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "entity_id", "AttributeType": "S"},
                                     {"AttributeName": "feature_set", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "WarmThroughput": {"ReadUnitsPerSecond": 40000, "WriteUnitsPerSecond": 4000},
            "Replicas": [Match.object_like({
                "Region": "eu-west-1",
                "DeletionProtectionEnabled": True,
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 35},
                "ContributorInsightsSpecification": {"Enabled": True},
                "SSESpecification": {"KMSMasterKeyId": {"Fn::GetAtt": [Match.string_like_regexp("Key"), "Arn"]}},
                "Tags": [{"Key": "team", "Value": "risk"}],
            })],
        }),
    })
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_grant_read_data_is_scoped_to_the_table(template: Template) -> None:
    policy = next(iter(template.find_resources("AWS::IAM::Policy").values()))
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in s["Action"])]
    assert dynamo and all("dynamodb:PutItem" not in s["Action"] for s in dynamo)
    assert all(s["Resource"] != "*" for s in statements)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"point_in_time_recovery_days": 40}, "point_in_time_recovery_days=40: give 1 to 35"),
        ({"partition_key": "entity id"}, "partition_key='entity id' is not a DynamoDB attribute name"),
        ({"sort_key": "entity_id"}, "must differ"),
    ],
)
def test_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match="FeatureTable Online/T") as error:
        FeatureTable(_stack(), "T", **kwargs)
    assert message in str(error.value)


def test_region_agnostic_stack_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"has no explicit region.*env=Environment"):
        FeatureTable(_stack(env=None), "T")


def test_single_item_per_entity_without_ttl() -> None:
    stack = _stack()
    FeatureTable(stack, "T", sort_key=False, time_to_live_attribute=False, point_in_time_recovery_days=7)
    props = next(iter(Template.from_stack(stack).find_resources("AWS::DynamoDB::GlobalTable").values()))["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "entity_id", "KeyType": "HASH"}]
    assert "TimeToLiveSpecification" not in props
    assert props["Replicas"][0]["PointInTimeRecoverySpecification"]["RecoveryPeriodInDays"] == 7


def test_file_metadata_table_shape() -> None:
    stack = _stack()
    files = FileMetadataTable(stack, "Files")
    files.grant_read_data(iam.Role(stack, "Job", assumed_by=iam.ServicePrincipal("glue.amazonaws.com")))
    template = Template.from_stack(stack)
    props = next(iter(template.find_resources("AWS::DynamoDB::GlobalTable").values()))["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "object_uri", "KeyType": "HASH"}]
    assert props["GlobalSecondaryIndexes"] == [{
        "IndexName": "by_dataset_landed_at",
        "KeySchema": [{"AttributeName": "dataset", "KeyType": "HASH"}, {"AttributeName": "landed_at", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"},
    }]
    assert props["Replicas"][0]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    statements = next(iter(template.find_resources("AWS::IAM::Policy").values()))["Properties"]["PolicyDocument"]["Statement"]
    resources = [r for s in statements if "dynamodb:Query" in s["Action"] for r in s["Resource"]]
    assert any("/index/*" in str(r) for r in resources)  # the job can query the index
