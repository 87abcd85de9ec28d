"""The notifier checks partition values against their key's Glue type, per table format (issue 8, 3-4; issue 9, 3).

Each table is created on moto the way :mod:`meshworks.constructs.mesh.table_format` defines it
(``table_input``), so the notifier is tested against the tables the hub actually deploys.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from meshworks.lambdas.mesh_notifier import handler
from meshworks.lambdas.mesh_notifier.core import NonRetryableEventError
from tests.lambdas.moto_hub import create_delivery_table, reused_notifier_clients, subscribed_queue
from tests.lambdas.test_mesh_notifier import (
    BUCKET,
    CONTEXT,
    PARQUET_SD,
    PRODUCER,
    REGION,
    TABLE,
    delivery_item,
    received,
)


def event(product: str, partition: dict[str, str] | None = None, event_id: str = "evt-1", **detail: Any) -> dict:
    body: dict[str, Any] = {"domain": "sales", "product": product, **detail}
    if partition is not None:
        body["partition"] = partition
    return {
        "id": event_id, "account": PRODUCER, "source": "meshworks.producer", "detail-type": "DataProductRefreshed",
        "detail": body,
    }  # fmt: skip


def _table(glue: Any, name: str, keys: list[dict[str, str]], **extra: Any) -> None:
    table_input = {
        "Name": name,
        "StorageDescriptor": {**PARQUET_SD, "Location": f"s3://{BUCKET}/sales/{name}/"},
        **extra,
    }
    if keys:
        table_input["PartitionKeys"] = keys
    glue.create_table(DatabaseName="sales", TableInput=table_input)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch):
    with mock_aws(), reused_notifier_clients():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        glue = boto3.client("glue", region_name=REGION)
        glue.create_database(DatabaseInput={"Name": "sales"})
        _table(glue, "orders", [{"Name": "order_date", "Type": "date"}])
        _table(glue, "events", [{"Name": "ts", "Type": "timestamp"}, {"Name": "region", "Type": "string"}])
        _table(glue, "hourly", [{"Name": "day", "Type": "date"}, {"Name": "hour", "Type": "int"}])
        _table(glue, "customers", [])
        ddb = boto3.client("dynamodb", region_name=REGION)
        create_delivery_table(ddb, TABLE)
        sns = boto3.client("sns", region_name=REGION)
        topic_arn = sns.create_topic(Name="mesh-refresh")["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = subscribed_queue(sns, sqs, topic_arn)
        monkeypatch.setenv("DELIVERY_TABLE", TABLE)
        monkeypatch.setenv("TOPIC_ARN", topic_arn)
        monkeypatch.delenv("CATALOG_ID", raising=False)
        monkeypatch.delenv("DATABASE_PREFIX", raising=False)
        monkeypatch.setenv("PRODUCER_ACCOUNTS", PRODUCER)
        yield SimpleNamespace(s3=s3, glue=glue, ddb=ddb, sqs=sqs, queue_url=queue_url)


def keys(hub: SimpleNamespace, prefix: str) -> list[str]:
    return [o["Key"] for o in hub.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


# ------------------------------------------------------------------------------------- fault 4: typed values


@pytest.mark.parametrize("value", ["2026-13-45", "2026-02-30", "25.11.2026", "2026-11-25T00:00:00Z", "2026-1-5"])
def test_an_impossible_date_is_a_clear_non_retried_rejection(hub: SimpleNamespace, value: str) -> None:
    with pytest.raises(NonRetryableEventError, match=r"order_date.*DATE.*YYYY-MM-DD"):
        handler.main(event("orders", {"order_date": value}), CONTEXT)
    assert hub.glue.get_partitions(DatabaseName="sales", TableName="orders")["Partitions"] == []
    assert keys(hub, "sales/orders/") == []  # nothing written before the rejection
    assert received(hub) == []


def test_a_valid_date_is_registered_at_the_derived_location(hub: SimpleNamespace) -> None:
    handler.main(event("orders", {"order_date": "2026-11-25"}), CONTEXT)
    partition = hub.glue.get_partition(DatabaseName="sales", TableName="orders", PartitionValues=["2026-11-25"])
    assert (
        partition["Partition"]["StorageDescriptor"]["Location"] == f"s3://{BUCKET}/sales/orders/order_date=2026-11-25"
    )
    assert delivery_item(hub, "order_date=2026-11-25")


def test_upper_case_keys_are_matched_to_the_table_keys(hub: SimpleNamespace) -> None:
    handler.main(event("orders", {"Order_Date": "2026-11-25"}), CONTEXT)
    assert delivery_item(hub, "order_date=2026-11-25")["partition"] == {"M": {"order_date": {"S": "2026-11-25"}}}


def test_iso_timestamps_and_values_with_colons_and_spaces(hub: SimpleNamespace) -> None:
    """An ISO-8601 timestamp is normalised to Hive's form; the path escapes ':' the way Hive/Spark do."""
    handler.main(event("events", {"ts": "2026-11-25T06:30:00+01:00", "region": "eu west:1"}), CONTEXT)
    [partition] = hub.glue.get_partitions(DatabaseName="sales", TableName="events")["Partitions"]
    assert partition["Values"] == ["2026-11-25 05:30:00", "eu west:1"]
    path = "ts=2026-11-25 05%3A30%3A00/region=eu west%3A1"
    assert partition["StorageDescriptor"]["Location"] == f"s3://{BUCKET}/sales/events/{path}"
    assert keys(hub, "sales/events/") == [f"sales/events/{path}/_SUCCESS"]


@pytest.mark.parametrize(
    ("partition", "message"),
    [
        ({"day": "2026-11-25", "hour": "07"}, r"hour.*INT.*7"),
        ({"day": "2026-11-25", "hour": "24x"}, r"hour.*INT"),
        ({"day": "2026-11-25", "hour": "99999999999"}, r"hour.*INT.*range"),
    ],
)
def test_integers_must_be_canonical(hub: SimpleNamespace, partition: dict[str, str], message: str) -> None:
    with pytest.raises(NonRetryableEventError, match=message):
        handler.main(event("hourly", partition), CONTEXT)


def test_iso_timestamp_snapshot_ids_are_accepted(hub: SimpleNamespace) -> None:
    result = handler.main(event("customers", snapshot_id="2026-11-25T06:00:00Z"), CONTEXT)
    assert result["period_key"] == "snapshot=2026-11-25T06:00:00Z"


@pytest.mark.parametrize("value", ["a/b", "..", ".", "x\ny", ""])
def test_string_values_that_cannot_be_a_path_segment_are_rejected(hub: SimpleNamespace, value: str) -> None:
    with pytest.raises(NonRetryableEventError, match=r"region"):
        handler.main(event("events", {"ts": "2026-11-25 06:00:00", "region": value}), CONTEXT)


# --------------------------------------------------------------------------------- issue 9, 3: locations


@pytest.mark.parametrize(
    "location",
    [
        f"s3://{BUCKET}/sales/orders/../customers",
        f"s3://{BUCKET}/sales/orders/order_date=2026-11-25/../../customers",
        f"s3://{BUCKET}/sales/orders/./order_date=2026-11-25",
        f"s3://{BUCKET}/sales/orders//order_date=2026-11-25",
        f"s3://{BUCKET}/sales/orders/order_date=2026-11-26",
        f"s3://{BUCKET}/sales/ordersx/order_date=2026-11-25",
        f"s3://{BUCKET}/sales/orders/%2e%2e/customers",
    ],
)
def test_a_location_never_escapes_the_partition(hub: SimpleNamespace, location: str) -> None:
    with pytest.raises(NonRetryableEventError, match="location"):
        handler.main(event("orders", {"order_date": "2026-11-25"}, location=location), CONTEXT)
    assert keys(hub, "sales/") == []


def test_an_unpartitioned_location_never_escapes_the_table(hub: SimpleNamespace) -> None:
    with pytest.raises(NonRetryableEventError, match="location"):
        handler.main(event("customers", location=f"s3://{BUCKET}/sales/customers/../orders"), CONTEXT)


# ---------------------------------------------------------------------------- fault 3: table formats


def test_partitioned_iceberg_delivery_is_accepted_without_glue_partitions(hub: SimpleNamespace) -> None:
    """Iceberg keeps its partitions in its own metadata: the notifier validates and records, nothing more."""
    hub.glue.create_table(
        DatabaseName="sales",
        TableInput={
            "Name": "ledger",
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"table_type": "ICEBERG", "meshworks.partition_keys": "booking_date"},
            "StorageDescriptor": {
                "Location": f"s3://{BUCKET}/sales/ledger",
                "Columns": [{"Name": "id", "Type": "bigint"}, {"Name": "booking_date", "Type": "date"}],
            },
        },
    )
    result = handler.main(event("ledger", {"booking_date": "2026-11-25"}), CONTEXT)
    assert result["published"] and not result["partition_created"]
    assert result["period_key"] == "booking_date=2026-11-25"
    assert hub.glue.get_partitions(DatabaseName="sales", TableName="ledger")["Partitions"] == []
    with pytest.raises(NonRetryableEventError, match=r"booking_date.*DATE"):
        handler.main(event("ledger", {"booking_date": "2026-13-45"}, event_id="evt-2"), CONTEXT)
    with pytest.raises(NonRetryableEventError, match="partition keys"):
        handler.main(event("ledger", {"id": "7"}, event_id="evt-3"), CONTEXT)


def test_hudi_partitions_follow_the_tables_path_style(hub: SimpleNamespace) -> None:
    """Hudi writes ``2026-11-25/`` unless hive-style partitioning is on: the table says which."""
    _table(
        hub.glue,
        "payments",
        [{"Name": "pay_date", "Type": "date"}],
        Parameters={"meshworks.format": "hudi", "meshworks.partition_path_style": "values"},
    )
    handler.main(event("payments", {"pay_date": "2026-11-25"}), CONTEXT)
    [partition] = hub.glue.get_partitions(DatabaseName="sales", TableName="payments")["Partitions"]
    assert partition["StorageDescriptor"]["Location"] == f"s3://{BUCKET}/sales/payments/2026-11-25"
    assert delivery_item(hub, "pay_date=2026-11-25", "sales.payments")  # the period key stays k=v


def test_iceberg_table_without_the_keys_parameter_accepts_typed_columns(hub: SimpleNamespace) -> None:
    """If Glue does not surface the Iceberg properties as parameters, announced keys are typed by the columns."""
    hub.glue.create_table(
        DatabaseName="sales",
        TableInput={
            "Name": "ledger",
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"table_type": "ICEBERG"},
            "StorageDescriptor": {
                "Location": f"s3://{BUCKET}/sales/ledger",
                "Columns": [{"Name": "amount", "Type": "double"}, {"Name": "booking_date", "Type": "date"}],
            },
        },
    )
    assert handler.main(event("ledger", {"booking_date": "2026-11-25"}), CONTEXT)["period_key"] == (
        "booking_date=2026-11-25"
    )
    with pytest.raises(NonRetryableEventError, match=r"booking_date.*DATE"):
        handler.main(event("ledger", {"booking_date": "2026-13-45"}, event_id="evt-2"), CONTEXT)
    with pytest.raises(NonRetryableEventError, match="cannot be a partition key"):
        handler.main(event("ledger", {"amount": "1.5"}, event_id="evt-3"), CONTEXT)
    with pytest.raises(NonRetryableEventError, match="do not match"):
        handler.main(event("ledger", {"nope": "1"}, event_id="evt-4"), CONTEXT)


def test_a_rejected_event_goes_to_the_dead_letter_queue_once_without_retries(
    hub: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda retries every raised error twice: a rejection is sent to the DLQ by the handler and not raised."""
    queue_url = hub.sqs.create_queue(QueueName="notifier-dlq")["QueueUrl"]
    monkeypatch.setenv("REJECTED_QUEUE_URL", queue_url)
    bad = event("orders", {"order_date": "2026-13-45"})
    result = handler.main(bad, CONTEXT)
    assert result["rejected"] is True and result["error_type"] == "NonRetryableEventError"
    [message] = hub.sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(message["Body"]) == bad
    assert message["MessageAttributes"]["ErrorCode"]["StringValue"] == "NonRetryableEventError"
    assert "2026-13-45" in message["MessageAttributes"]["ErrorMessage"]["StringValue"]
    assert hub.glue.get_partitions(DatabaseName="sales", TableName="orders")["Partitions"] == []
