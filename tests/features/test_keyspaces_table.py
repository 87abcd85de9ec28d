"""KeyspacesTable / Keyspace: schema -> CloudFormation properties, defaults, capacity, grants, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import App, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from meshworks.constructs.features import (
    Keyspace,
    KeyspacesTable,
    KeyspacesTableSchema,
    ProvisionedCapacity,
    WarmThroughput,
)
from tests.features.cql_samples import CASSANDRA_DDL, NORMALISED_DDL


def _stack() -> Stack:
    return Stack(App(builtin_cloud_formation_validation=False), "Features")


@pytest.fixture(scope="module")
def template() -> Template:
    stack = _stack()
    keyspace = Keyspace(stack, "Keyspace", keyspace_name="features", tags={"team": "risk"})
    table = KeyspacesTable(stack, "Customers", keyspace=keyspace, schema=KeyspacesTableSchema.from_cql(CASSANDRA_DDL),
                           tags={"team": "risk"})
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    writer = iam.Role(stack, "Writer", assumed_by=iam.AccountRootPrincipal())
    table.grant_read_data(reader)
    table.grant_write_data(writer)
    return Template.from_stack(stack)


def test_cassandra_ddl_deploys_as_cfn_table(template: Template) -> None:
    """A Cassandra user's DDL becomes the table's CloudFormation properties, key layout and order included."""
    table = template.find_resources("AWS::Cassandra::Table")
    assert len(table) == 1
    props = next(iter(table.values()))["Properties"]
    assert props["KeyspaceName"] == "features" and props["TableName"] == "customer_features"
    assert props["PartitionKeyColumns"] == [
        {"ColumnName": "customer_id", "ColumnType": "text"}, {"ColumnName": "region", "ColumnType": "text"}]
    assert props["ClusteringKeyColumns"] == [
        {"Column": {"ColumnName": "feature_set", "ColumnType": "text"}, "OrderBy": "ASC"},
        {"Column": {"ColumnName": "computed_at", "ColumnType": "timestamp"}, "OrderBy": "DESC"},
    ]
    assert props["RegularColumns"] == [
        {"ColumnName": "scores", "ColumnType": "map<text, double>"},
        {"ColumnName": "labels", "ColumnType": "set<text>"},
        {"ColumnName": "home", "ColumnType": "frozen<address>"},
        {"ColumnName": "history", "ColumnType": "list<frozen<map<text, int>>>"},
        {"ColumnName": "window", "ColumnType": "tuple<timestamp, timestamp>"},
        {"ColumnName": "model_version", "ColumnType": "int"},
    ]
    assert props["DefaultTimeToLive"] == 604800
    assert props["ClientSideTimestampsEnabled"] is True
    assert props["CdcSpecification"] == {"Status": "ENABLED", "ViewType": "NEW_IMAGE",
                                         "Tags": [{"Key": "team", "Value": "risk"}]}
    # ...and the schema written back is the normalised CQL.
    assert KeyspacesTableSchema.from_cql(CASSANDRA_DDL).to_cql() == NORMALISED_DDL


def test_secure_defaults(template: Template) -> None:
    template.has_resource("AWS::Cassandra::Table", {
        "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "DependsOn": Match.array_with([Match.string_like_regexp("TypeAddress"), Match.string_like_regexp("Keyspace")]),
        "Properties": Match.object_like({
            "BillingMode": {"Mode": "ON_DEMAND"},
            "PointInTimeRecoveryEnabled": True,
            "EncryptionSpecification": {"EncryptionType": "CUSTOMER_MANAGED_KMS_KEY",
                                        "KmsKeyIdentifier": {"Fn::GetAtt": [Match.string_like_regexp("Key"), "Arn"]}},
        }),
    })
    template.has_resource("AWS::Cassandra::Keyspace", {"DeletionPolicy": "Retain", "Properties": {
        "KeyspaceName": "features", "Tags": [{"Key": "team", "Value": "risk"}]}})
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.resource_count_is("AWS::Cassandra::Table", 1)


def test_user_defined_types_become_cfn_types(template: Template) -> None:
    template.has_resource("AWS::Cassandra::Type", {"DeletionPolicy": "Retain", "Properties": {
        "KeyspaceName": "features", "TypeName": "address",
        "Fields": [{"FieldName": "street", "FieldType": "text"}, {"FieldName": "city", "FieldType": "text"},
                   {"FieldName": "zip", "FieldType": "int"}],
    }})


def _statements(template: Template, role: str) -> list[dict]:
    policies = template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": Match.string_like_regexp(role)}]}})
    return [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]


def _arn(suffix: str) -> dict:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":cassandra:", {"Ref": "AWS::Region"}, ":",
                              {"Ref": "AWS::AccountId"}, ":" + suffix]]}


def test_grants_select_and_modify_on_the_table_and_system_keyspaces(template: Template) -> None:
    reader = _statements(template, "Reader")
    writer = _statements(template, "Writer")
    table = _arn("/keyspace/features/table/customer_features")
    system = _arn("/keyspace/system*")
    assert {"Action": "cassandra:Select", "Effect": "Allow", "Resource": table} in reader
    assert {"Action": "cassandra:Select", "Effect": "Allow", "Resource": system} in reader
    assert {"Action": "cassandra:Modify", "Effect": "Allow", "Resource": table} in writer
    assert {"Action": "cassandra:Select", "Effect": "Allow", "Resource": system} in writer
    assert not [s for s in writer if s["Action"] == "cassandra:Select" and s["Resource"] == table]
    assert not [s for s in reader if s["Action"] == "cassandra:Modify"]
    via = {"StringEquals": {"kms:ViaService": {"Fn::Join": ["", ["cassandra.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}}
    assert [s["Action"] for s in reader if s.get("Condition") == via] == [["kms:Decrypt", "kms:DescribeKey"]]
    assert [s["Action"] for s in writer if s.get("Condition") == via] == [
        ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]]


def test_provisioned_capacity_with_auto_scaling_and_warm_throughput() -> None:
    stack = _stack()
    KeyspacesTable(stack, "T", keyspace="features", schema=KeyspacesTableSchema.from_cql(CASSANDRA_DDL),
                   capacity=ProvisionedCapacity(read_capacity_units=100, write_capacity_units=50,
                                                max_write_capacity_units=400),
                   warm_throughput=WarmThroughput(read_units_per_second=40_000, write_units_per_second=4_000))
    props = next(iter(Template.from_stack(stack).find_resources("AWS::Cassandra::Table").values()))["Properties"]
    assert props["BillingMode"] == {"Mode": "PROVISIONED",
                                    "ProvisionedThroughput": {"ReadCapacityUnits": 100, "WriteCapacityUnits": 50}}
    policy = {"TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70}}
    assert props["AutoScalingSpecifications"] == {
        "ReadCapacityAutoScaling": {"MinimumUnits": 100, "MaximumUnits": 1000, "ScalingPolicy": policy},
        "WriteCapacityAutoScaling": {"MinimumUnits": 50, "MaximumUnits": 400, "ScalingPolicy": policy},
    }
    assert props["WarmThroughput"] == {"ReadUnitsPerSecond": 40000, "WriteUnitsPerSecond": 4000}
    assert "DependsOn" not in Template.from_stack(stack).find_resources("AWS::Cassandra::Table")  # no Keyspace construct


def test_destroy_needs_the_flag() -> None:
    app = App(builtin_cloud_formation_validation=False, context={"@meshworks/removeDataOnDestroy": "true"})
    stack = Stack(app, "S")
    KeyspacesTable(stack, "T", keyspace="features", schema=KeyspacesTableSchema.from_cql(CASSANDRA_DDL),
                   removal_policy=RemovalPolicy.DESTROY)
    assert {r.get("DeletionPolicy") for r in Template.from_stack(stack).find_resources("AWS::Cassandra::Table").values()} == {"Delete"}


SCHEMA = {"keyspace": "features", "table": "events",
          "columns": [{"name": "entity_id", "type": "text"}, {"name": "at", "type": "timestamp"}],
          "partition_key": ["entity_id"], "clustering": [{"name": "at"}]}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keyspace": "other"}, "keyspace='other' but the schema's keyspace is 'features'"),
        ({"schema": {**SCHEMA, "columns": [*SCHEMA["columns"], {"name": "total", "type": "list<counter>"}]}},
         "counter cannot be nested"),
        ({"schema": {**SCHEMA, "columns": [*SCHEMA["columns"], {"name": "owner", "type": "text", "static": True}]}},
         "owner are STATIC, which AWS::Cassandra::Table cannot declare"),
        ({"capacity": ProvisionedCapacity(read_capacity_units=0, write_capacity_units=5)},
         "capacity.read_capacity_units=0"),
        ({"capacity": ProvisionedCapacity(read_capacity_units=10, write_capacity_units=5, max_read_capacity_units=5)},
         "capacity.max_read_capacity_units=5 is below the minimum 10"),
        ({"warm_throughput": WarmThroughput(read_units_per_second=0, write_units_per_second=1)},
         "warm_throughput.read_units_per_second=0"),
        ({"warm_throughput": WarmThroughput(read_units_per_second=None, write_units_per_second=None)},
         "warm_throughput sets neither side"),
    ],
)
def test_bad_input_is_one_clear_error(kwargs: dict, message: str) -> None:
    arguments = {"keyspace": "features", "schema": SCHEMA, **kwargs}
    with pytest.raises(ValueError, match="KeyspacesTable Features/T") as error:
        KeyspacesTable(_stack(), "T", **arguments)
    assert message in str(error.value)


def test_ensure_warm_throughput_raises_writes_only_and_keeps_higher_values() -> None:
    """A bulk load pre-warms writes without touching reads or the capacity mode (no 24-hour switch)."""
    stack = _stack()
    table = KeyspacesTable(stack, "T", keyspace="features", schema=SCHEMA)
    assert table.ensure_warm_throughput(write_units_per_second=9_000) == WarmThroughput(None, 9_000)
    assert table.ensure_warm_throughput(write_units_per_second=5_000) == WarmThroughput(None, 9_000)
    props = next(iter(Template.from_stack(stack).find_resources("AWS::Cassandra::Table").values()))["Properties"]
    assert props["WarmThroughput"] == {"WriteUnitsPerSecond": 9_000} and props["BillingMode"] == {"Mode": "ON_DEMAND"}
    stack = _stack()
    table = KeyspacesTable(stack, "T", keyspace="features", schema=SCHEMA,
                           warm_throughput=WarmThroughput(read_units_per_second=30_000, write_units_per_second=2_000))
    table.ensure_warm_throughput(write_units_per_second=8_000)
    props = next(iter(Template.from_stack(stack).find_resources("AWS::Cassandra::Table").values()))["Properties"]
    assert props["WarmThroughput"] == {"ReadUnitsPerSecond": 30_000, "WriteUnitsPerSecond": 8_000}
    with pytest.raises(ValueError, match="write_units_per_second=0"):
        table.ensure_warm_throughput(write_units_per_second=0)


def test_keyspace_arn_is_iams_resource_form() -> None:
    stack = _stack()
    keyspace = Keyspace(stack, "K", keyspace_name="features")
    assert stack.resolve(keyspace.keyspace_arn) == {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":cassandra:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
        ":/keyspace/features/"]]}


def test_keyspace_name_is_checked() -> None:
    with pytest.raises(ValueError, match=r"Keyspace Features/K: keyspace_name='Bad-Name' is not a valid"):
        Keyspace(_stack(), "K", keyspace_name="Bad-Name")


def test_lock_file_refuses_a_dropped_column(tmp_path: Path) -> None:
    lock = tmp_path / "events.lock.json"
    KeyspacesTable(_stack(), "T", keyspace="features", schema=SCHEMA, schema_lock_file=lock)
    assert lock.exists()
    narrower = {**SCHEMA, "columns": SCHEMA["columns"][:1], "clustering": []}
    with pytest.raises(ValueError, match="schema change refused"):
        KeyspacesTable(_stack(), "T", keyspace="features", schema=narrower, schema_lock_file=lock)
