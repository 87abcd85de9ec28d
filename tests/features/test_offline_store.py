"""``OfflineStore``: CQL -> Glue types, the native Delta registration in Glue, grants, the mesh contract."""

from __future__ import annotations

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from meshworks.constructs.features import KeyspacesTableSchema, OfflineStore, glue_type, offline_columns
from meshworks.constructs.mesh.contract import DataFormat
from meshworks.constructs.mesh.table_format import table_input
from tests.features.feature_job_fixtures import ROOT, UserApp, logical_id, synth_user_app

SCHEMA = KeyspacesTableSchema.from_cql((ROOT / "schemas/features/customer_features.cql").read_text())

ALL_TYPES = """
CREATE TYPE ks.addr (street text, zip int);
CREATE TABLE ks.everything (
    id uuid, aa ascii, bi bigint, bl blob, bo boolean, da date, de decimal, do double, fl float,
    ip inet, nn int, sm smallint, te text, ti time, ts timestamp, tu timeuuid, ty tinyint, vc varchar, vi varint,
    li list<int>, st set<text>, tp frozen<tuple<int, text>>, ma map<text, frozen<list<double>>>, ud frozen<addr>,
    PRIMARY KEY (id)
);
"""


@pytest.fixture(scope="module")
def user_app(tmp_path_factory: pytest.TempPathFactory) -> UserApp:
    return synth_user_app(tmp_path_factory.mktemp("offline"))


def test_every_cql_type_has_its_glue_type() -> None:
    schema = KeyspacesTableSchema.from_cql(ALL_TYPES)
    assert dict(offline_columns(schema)) == {
        "id": "string", "aa": "string", "bi": "bigint", "bl": "binary", "bo": "boolean",
        "da": "date", "de": "decimal(38,18)", "do": "double", "fl": "float", "ip": "string", "nn": "int",
        "sm": "smallint", "te": "string", "ti": "bigint", "ts": "timestamp", "tu": "string", "ty": "tinyint",
        "vc": "string", "vi": "decimal(38,0)", "li": "array<int>", "st": "array<string>",
        "tp": "struct<_1:int,_2:string>",
        "ma": "map<string,array<double>>", "ud": "struct<street:string,zip:int>", "feature_date": "date",
    }  # fmt: skip


def test_counter_is_a_bigint() -> None:
    schema = KeyspacesTableSchema.from_cql("CREATE TABLE ks.hits (id text PRIMARY KEY, views counter);")
    assert offline_columns(schema) == [("id", "string"), ("views", "bigint"), ("feature_date", "date")]


def test_unmapped_type_and_clashing_partition_column_are_refused() -> None:
    schema = KeyspacesTableSchema.from_cql("CREATE TABLE ks.tt (id text PRIMARY KEY, feature_date date);")
    with pytest.raises(ValueError, match="partition_column='feature_date' is also a column of ks.tt"):
        offline_columns(schema)
    with pytest.raises(ValueError, match="CQL type 'nowhere' of ks.tt has no Glue type"):
        glue_type("frozen<nowhere>", schema)  # a type the schema does not declare


def test_native_delta_table_in_glue_retained(user_app: UserApp) -> None:
    resources = user_app.template["Resources"]
    table = resources[logical_id(user_app.template, "AWS::Glue::Table", "Offline")]
    database = resources[logical_id(user_app.template, "AWS::Glue::Database", "Offline")]
    assert table["DeletionPolicy"] == database["DeletionPolicy"] == "Retain"
    spec = table["Properties"]["TableInput"]
    assert spec["TableType"] == "EXTERNAL_TABLE" and "PartitionKeys" not in spec  # Delta keeps its partitions
    assert spec["Parameters"] == {
        "EXTERNAL": "TRUE", "table_type": "DELTA", "spark.sql.sources.provider": "delta",
        "meshworks.partition_keys": "feature_date", "meshworks.keyspaces_table": "features.customer_features",
    }  # fmt: skip
    curated = logical_id(user_app.template, "AWS::S3::Bucket", "LakeCurated")
    assert spec["StorageDescriptor"]["Location"] == {"Fn::Join": ["", ["s3://", {"Ref": curated}, "/features/customer_features/"]]}
    assert [(c["Name"], c["Type"]) for c in spec["StorageDescriptor"]["Columns"]] == offline_columns(SCHEMA)
    assert table["Properties"]["DatabaseName"] == "features" and table["DependsOn"] == [
        logical_id(user_app.template, "AWS::Glue::Database", "Offline")
    ]


def _store(**kwargs) -> tuple[Stack, OfflineStore]:
    stack = Stack(App(), "S", env={"account": "111111111111", "region": "eu-west-1"})
    bucket = s3.Bucket.from_bucket_name(stack, "Lake", "acme-111111111111-curated")
    return stack, OfflineStore(stack, "Offline", schema=SCHEMA, bucket=bucket, database_name="features", **kwargs)


def test_read_grant_has_no_delete_and_no_catalog_write() -> None:
    stack, store = _store(create_database=False)
    reader = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("athena.amazonaws.com"))
    store.grant_read_data(reader)
    template = Template.from_stack(stack).to_json()
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::Glue::Database"]
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    actions = {a for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in
               (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert actions == {"s3:GetObject*", "s3:GetBucket*", "s3:List*", "glue:GetDatabase", "glue:GetTable"}


def test_mesh_contract_registers_the_same_delta_table() -> None:
    _, store = _store()
    contract = store.data_product_contract(
        domain="features", owner="ml-platform", contact={"email": "ml@example.com", "slack_channel": "#ml-alerts"},
        slo={"cron": "0 6 * * *", "timezone": "UTC", "grace_minutes": 60}, classification="internal",
    )
    assert contract.format is DataFormat.DELTA
    assert contract.location == "s3://acme-111111111111-curated/features/customer_features/"
    mesh = table_input(contract)
    assert mesh["Parameters"]["table_type"] == "DELTA" and mesh["Parameters"]["spark.sql.sources.provider"] == "delta"
    assert [(c["Name"], c["Type"]) for c in mesh["StorageDescriptor"]["Columns"]] == store.columns
    assert mesh["StorageDescriptor"]["Location"] == store.table_input()["StorageDescriptor"]["Location"]


def test_contract_needs_a_literal_bucket_name_and_valid_fields() -> None:
    stack = Stack(App(), "S")
    store = OfflineStore(stack, "Offline", schema=SCHEMA, bucket=s3.Bucket(stack, "B"), database_name="features")
    with pytest.raises(ValueError, match="bucket's name is resolved at deploy time"):
        store.data_product_contract(domain="features", owner="ml", contact={"email": "ml@example.com", "slack_channel": "#ml-alerts"},
                                    slo={"cron": "0 6 * * *", "timezone": "UTC"}, classification="internal")
    _, named = _store()
    with pytest.raises(ValueError, match="data product contract: .*classification"):
        named.data_product_contract(domain="features", owner="ml-platform", contact={"email": "ml@example.com", "slack_channel": "#ml-alerts"},
                                    slo={"cron": "0 6 * * *", "timezone": "UTC"}, classification="secret-ish")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"database_name": "Features-DB"}, r"database_name='Features-DB' is not a Glue name"),
        ({"prefix": "/features"}, r"prefix='/features' must be a folder"),
        ({"partition_column": "scores"}, r"partition_column='scores' is also a column"),
        ({"bucket": None}, r"bucket=None: give a bucket"),
        ({"bucket": "acme-curated"}, r"bucket='acme-curated': give a bucket"),
        ({"schema": "CREATE TABLE ks.t (id text PRIMARY KEY)"}, r"schema=str: give a KeyspacesTableSchema"),
        ({"schema": None}, r"schema=NoneType: give a KeyspacesTableSchema"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    stack = Stack(App(), "S")
    args = {"database_name": "features", "schema": SCHEMA, "bucket": s3.Bucket(stack, "B"), **kwargs}
    with pytest.raises(ValueError, match=rf"OfflineStore S/Offline: {message}"):
        OfflineStore(stack, "Offline", **args)
