"""Each table format end to end: contract types -> Glue table -> notifier -> SLO manifest (issue 8, fault 3).

The chain tests create the Glue table on moto from what :mod:`table_format` produces (for Iceberg,
the table Glue makes from the ``IcebergTableInput``), announce a partitioned delivery through the
real notifier handler and check that the SLO manifest expects exactly the period the notifier
recorded, so a punctual producer never breaches.
"""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from meshworks.constructs.mesh.contract import DataProductContract
from meshworks.constructs.mesh.table_format import ICEBERG_TO_GLUE, open_table_format_input, table_input
from meshworks.constructs.monitoring.slo_manifest import build_manifest, partition_template
from meshworks.lambdas.mesh_notifier import handler
from meshworks.lambdas.slo_monitor.checker import parse_contract
from tests.lambdas.moto_hub import create_delivery_table
from tests.mesh.contract_data import minimal_contract
from tests.mesh.mesh_fixtures import make_contract

PRODUCER = "444455556666"  # the account the producers' refresh events come from

REGION = "eu-west-1"


def contract_with(fmt: str, columns: list[dict[str, str]], partition_keys: list[dict[str, str]] | None = None, **kw):
    described = [{"description": f"Column {c['name']} of the product.", **c} for c in columns]
    keys = [{"description": f"Partition key {k['name']}.", **k} for k in partition_keys or []]
    return DataProductContract.model_validate(
        minimal_contract(format=fmt, columns=described, partition_keys=keys, **kw)
    )


# ------------------------------------------------------------------------------------------ types per format


@pytest.mark.parametrize(
    ("fmt", "glue_type", "fix"),
    [
        ("iceberg", "tinyint", "int"),
        ("iceberg", "smallint", "int"),
        ("iceberg", "char(2)", "string"),
        ("iceberg", "varchar(32)", "string"),
        ("iceberg", "array<char(2)>", "string"),
        ("iceberg", "struct<code:varchar(3),n:smallint>", "string"),
        ("iceberg", "map<string,tinyint>", "int"),
        ("delta", "varchar(32)", "string"),
        ("delta", "array<char(2)>", "string"),
        ("hudi", "smallint", "int"),
        ("hudi", "map<int,string>", "map<string"),
        ("avro", "map<date,string>", "map<string"),
        ("csv", "array<string>", "primitive"),
        ("csv", "struct<a:int>", "primitive"),
        ("csv", "map<string,string>", "primitive"),
    ],
)
def test_types_the_format_does_not_have_are_contract_errors(fmt: str, glue_type: str, fix: str) -> None:
    with pytest.raises(ValidationError) as raised:
        contract_with(fmt, [{"name": "id", "type": "bigint"}, {"name": "bad", "type": glue_type}])
    [error] = raised.value.errors()
    message = str(error["ctx"]["issues"])
    assert error["loc"] == ("columns",) and "(1, 'type')" in message
    assert fmt in message and fix in message


@pytest.mark.parametrize(
    ("fmt", "glue_type"),
    [("parquet", "smallint"), ("parquet", "array<char(2)>"), ("orc", "varchar(3)"), ("delta", "smallint")],
)
def test_types_the_format_has_are_accepted(fmt: str, glue_type: str) -> None:
    contract_with(fmt, [{"name": "ok", "type": glue_type}])


@pytest.mark.parametrize("glue_type", ["double", "float", "binary"])
def test_partition_keys_need_a_type_partition_values_can_have(glue_type: str) -> None:
    with pytest.raises(ValidationError, match="cannot be a partition key"):
        contract_with("parquet", [{"name": "id", "type": "bigint"}], [{"name": "k", "type": glue_type}])


def test_iceberg_partition_keys_follow_iceberg_types() -> None:
    with pytest.raises(ValidationError, match="iceberg"):
        contract_with("iceberg", [{"name": "id", "type": "bigint"}], [{"name": "k", "type": "varchar(8)"}])


def test_partition_path_style_is_only_for_hive_style_tables() -> None:
    with pytest.raises(ValidationError, match="partition_path_style"):
        contract_with("iceberg", [{"name": "id", "type": "bigint"}], partition_path_style="values")


# ------------------------------------------------------------------------------------------ Glue tables


def test_csv_uses_a_serde_that_reads_quoted_fields_and_declares_strings() -> None:
    contract = contract_with(
        "csv",
        [{"name": "id", "type": "bigint"}, {"name": "note", "type": "string"}, {"name": "at", "type": "timestamp"}],
        [{"name": "dt", "type": "date"}],
    )
    spec = table_input(contract)
    serde = spec["StorageDescriptor"]["SerdeInfo"]
    assert serde["SerializationLibrary"] == "org.apache.hadoop.hive.serde2.OpenCSVSerde"
    assert serde["Parameters"] == {"separatorChar": ",", "quoteChar": '"', "escapeChar": "\\"}
    # OpenCSVSerde reads every field as text (Athena parses only a few types, and not empty values).
    assert [c["Type"] for c in spec["StorageDescriptor"]["Columns"]] == ["string", "string", "string"]
    assert spec["Parameters"]["meshworks.declared_types"] == '{"at":"timestamp","id":"bigint","note":"string"}'
    assert spec["PartitionKeys"] == [{"Name": "dt", "Type": "date", "Comment": "Partition key dt."}]


def test_iceberg_table_carries_its_schema_and_partition_spec() -> None:
    contract = contract_with(
        "iceberg",
        [
            {"name": "id", "type": "bigint"},
            {"name": "tags", "type": "array<string>"},
            {"name": "amount", "type": "decimal(12,2)"},
        ],
        [{"name": "dt", "type": "date"}],
    )
    iceberg = open_table_format_input(contract)["IcebergInput"]
    assert iceberg["MetadataOperation"] == "CREATE" and iceberg["Version"] == "2"
    table = iceberg["IcebergTableInput"]
    assert table["Location"] == contract.location
    fields = table["Schema"]["Fields"]
    assert [(f["Id"], f["Name"], f["Type"]) for f in fields] == [
        (1, "id", "long"),
        (2, "tags", '{"type":"list","element-id":5,"element":"string","element-required":false}'),
        (3, "amount", "decimal(12,2)"),
        (4, "dt", "date"),
    ]
    assert table["PartitionSpec"] == {
        "SpecId": 0,
        "Fields": [{"Name": "dt", "SourceId": 4, "FieldId": 1000, "Transform": "identity"}],
    }
    assert table["Properties"]["meshworks.partition_keys"] == "dt"
    assert table_input(contract) is None  # the table is defined by IcebergTableInput alone


# ------------------------------------------------------------------------------------------ end to end


def glue_table_as_created(contract: DataProductContract) -> dict[str, Any]:
    """The ``TableInput`` Glue holds after CloudFormation created the product's table."""
    spec = table_input(contract)
    if spec is not None:
        return spec
    iceberg = open_table_format_input(contract)["IcebergInput"]["IcebergTableInput"]
    glue_of = {iceberg_type: glue for glue, iceberg_type in ICEBERG_TO_GLUE.items()}
    return {
        "Name": contract.table_name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {**iceberg["Properties"], "table_type": "ICEBERG"},
        "StorageDescriptor": {
            "Location": iceberg["Location"],
            "Columns": [
                {"Name": f["Name"], "Type": glue_of.get(f["Type"], "string")} for f in iceberg["Schema"]["Fields"]
            ],
        },
    }


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch):
    handler.reset_clients()
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="acme-sales-curated", CreateBucketConfiguration={"LocationConstraint": REGION})
        glue = boto3.client("glue", region_name=REGION)
        glue.create_database(DatabaseInput={"Name": "sales"})
        ddb = boto3.client("dynamodb", region_name=REGION)
        create_delivery_table(ddb, "deliveries")
        topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name="refresh")["TopicArn"]
        monkeypatch.setenv("DELIVERY_TABLE", "deliveries")
        monkeypatch.setenv("TOPIC_ARN", topic_arn)
        monkeypatch.setenv("PRODUCER_ACCOUNTS", PRODUCER)  # tables without meshworks:producer_account
        monkeypatch.delenv("CATALOG_ID", raising=False)
        monkeypatch.delenv("DATABASE_PREFIX", raising=False)
        yield SimpleNamespace(s3=s3, glue=glue, ddb=ddb)
    handler.reset_clients()


@pytest.mark.parametrize("fmt", ["parquet", "orc", "avro", "json", "csv", "hudi", "iceberg", "delta"])
def test_a_punctual_partitioned_delivery_meets_its_slo(hub: SimpleNamespace, fmt: str) -> None:
    contract = make_contract(fmt=fmt)  # partition key dt DATE, SLO 06:00 Europe/Paris
    hub.glue.create_table(DatabaseName="sales", TableInput=glue_table_as_created(contract))
    event = {
        "id": "evt-1",
        "account": PRODUCER,
        "source": "meshworks.producer",
        "detail-type": "DataProductRefreshed",
        "detail": {"domain": "sales", "product": "orders", "partition": {"DT": "2026-11-25"}},
    }
    result = handler.main(event, SimpleNamespace(aws_request_id="r"))
    assert result["published"]

    [entry] = build_manifest([contract]).entries
    slo = parse_contract(entry)
    scheduled = datetime(2026, 11, 25, 5, 0, tzinfo=timezone.utc)  # 06:00 in Paris
    assert slo.partition_for(scheduled) == result["period_key"] == "dt=2026-11-25"
    # The SLO's fallback looks for the _SUCCESS marker exactly where the notifier wrote it.
    marker = "/".join(p for p in (slo.prefix, slo.marker_for(scheduled, result["period_key"]), "_SUCCESS") if p)
    assert hub.s3.head_object(Bucket=slo.bucket, Key=marker)["ContentLength"] == 0
    item = hub.ddb.get_item(
        TableName="deliveries", Key={"product_key": {"S": "sales.orders"}, "period_key": {"S": "dt=2026-11-25"}}
    )
    assert item["Item"]["published"] == {"BOOL": True}
    registered = hub.glue.get_partitions(DatabaseName="sales", TableName="orders")["Partitions"]
    if fmt in {"iceberg", "delta"}:
        assert registered == [] and not result["partition_created"]
    else:
        [partition] = registered
        folder = "2026-11-25" if fmt == "hudi" else "dt=2026-11-25"
        assert partition["StorageDescriptor"]["Location"] == f"{contract.location}{folder}"


# ------------------------------------------------------------------------------------------ SLO periods per type


@pytest.mark.parametrize(
    ("keys", "template"),
    [
        ([{"name": "dt", "type": "date"}], "dt={date:%Y-%m-%d}"),
        ([{"name": "dt", "type": "string"}], "dt={date:%Y-%m-%d}"),
        ([{"name": "dt", "type": "date"}, {"name": "hour", "type": "string"}], "dt={date:%Y-%m-%d}/hour={local:%H}"),
        ([{"name": "dt", "type": "date"}, {"name": "hour", "type": "int"}], "dt={date:%Y-%m-%d}/hour={local.hour}"),
        ([{"name": "day", "type": "int"}], None),  # a day-named INT cannot hold 2026-11-25
        ([{"name": "ts", "type": "timestamp"}], None),
        ([{"name": "region", "type": "string"}], None),
    ],
)
def test_the_manifest_period_is_a_valid_value_of_each_key_type(
    keys: list[dict[str, str]], template: str | None
) -> None:
    contract = contract_with("parquet", [{"name": "id", "type": "bigint"}], keys)
    assert partition_template(contract) == template


def test_an_int_hour_period_matches_the_notifier() -> None:
    """``hour=7`` (INT, as Spark writes it), not ``hour=07``: the notifier rejects the latter."""
    contract = contract_with(
        "parquet", [{"name": "id", "type": "bigint"}], [{"name": "dt", "type": "date"}, {"name": "hour", "type": "int"}]
    )
    [entry] = build_manifest([contract]).entries
    slo = parse_contract(entry)
    assert slo.partition_for(datetime(2026, 11, 25, 7, 0, tzinfo=timezone.utc)) == "dt=2026-11-25/hour=7"


def test_a_partition_template_override_must_render_what_the_notifier_records() -> None:
    """An override the notifier can never match would breach every period: it is a synth-time error."""
    contract = contract_with("parquet", [{"name": "id", "type": "bigint"}], [{"name": "order_date", "type": "date"}])
    key = contract.qualified_name
    assert build_manifest([contract], {key: "order_date={prev_date:%Y-%m-%d}"}).entries
    assert build_manifest([contract], {key: ""}).entries  # unpartitioned monitoring by time stays possible
    for template, why in (
        ("order_date={date:%Y%m%d}", "DATE"),
        ("dt={date:%Y-%m-%d}", "partition keys"),
        ("order_date={date:%Y-%m-%d}/hour={local:%H}", "partition keys"),
    ):
        with pytest.raises(ValueError, match=rf"partition_templates\['sales.orders'\].*{why}"):
            build_manifest([contract], {key: template})
