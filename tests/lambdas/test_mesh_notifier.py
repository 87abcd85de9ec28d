"""Tests of the hub's mesh notifier Lambda (``mesh_notifier.handler.main``).

S3, Glue, DynamoDB, SNS and SQS run on moto (``mock_aws``); moto 5 implements ``IfNoneMatch``
on ``PutObject``, ``GetTable``, ``CreatePartition``, conditional DynamoDB writes and SNS->SQS
fan-out with message attributes. Failures moto cannot produce are injected with
``botocore.stub.Stubber`` (S3 AccessDenied, FIFO publish parameters) or by monkeypatching one
client method (an SNS publish that fails once).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from moto import mock_aws

from meshworks.lambdas.mesh_notifier import handler
from meshworks.lambdas.mesh_notifier.core import (
    Config,
    NonRetryableEventError,
    RetryableDeliveryError,
    deduplication_id,
)
from tests.lambdas.moto_hub import create_delivery_table, reused_notifier_clients, subscribed_queue

REGION = "eu-west-1"
PRODUCER = "444455556666"
OTHER_PRODUCER = "555566667777"
CONSUMER = "777788889999"
BUCKET = "hub-curated"
TABLE = "mesh-deliveries"
CONTEXT = SimpleNamespace(aws_request_id="req-1")
PARQUET_SD = {
    "Columns": [{"Name": "order_id", "Type": "string"}, {"Name": "amount", "Type": "double"}],
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}


def refresh_event(event_id: str = "evt-1", **detail: Any) -> dict[str, Any]:
    body = {"domain": "sales", "product": "orders", "partition": {"dt": "2026-11-25"}, **detail}
    return {
        "id": event_id,
        "account": PRODUCER,
        "source": "meshworks.producer",
        "detail-type": "DataProductRefreshed",
        "detail": body,
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    """A hub account on moto: bucket, Glue tables, delivery table, topic and a subscribed queue."""
    with mock_aws(), reused_notifier_clients():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        glue = boto3.client("glue", region_name=REGION)
        glue.create_database(DatabaseInput={"Name": "sales"})
        glue.create_table(
            DatabaseName="sales",
            TableInput={
                "Name": "orders",
                "StorageDescriptor": {**PARQUET_SD, "Location": f"s3://{BUCKET}/sales/orders/"},
                "PartitionKeys": [{"Name": "dt", "Type": "string"}],
                "Parameters": {"meshworks:producer_account": PRODUCER, "meshworks:consumers": CONSUMER},
            },
        )
        glue.create_table(
            DatabaseName="sales",
            TableInput={
                "Name": "customers",
                "StorageDescriptor": {**PARQUET_SD, "Location": f"s3://{BUCKET}/sales/customers"},
            },
        )
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
        monkeypatch.setenv("PRODUCER_ACCOUNTS", f"{PRODUCER},{OTHER_PRODUCER}")
        yield SimpleNamespace(s3=s3, glue=glue, ddb=ddb, sqs=sqs, queue_url=queue_url, topic_arn=topic_arn)


def received(aws: SimpleNamespace) -> list[dict[str, Any]]:
    """All SNS envelopes that reached the subscribed queue."""
    messages: list[dict[str, Any]] = []
    while batch := aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10).get("Messages"):
        messages += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            aws.sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=m["ReceiptHandle"])
    return messages


def delivery_item(aws: SimpleNamespace, period: str, product_key: str = "sales.orders") -> dict[str, Any]:
    key = {"product_key": {"S": product_key}, "period_key": {"S": period}}
    return aws.ddb.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item", {})


def test_happy_path_writes_marker_partition_record_and_one_message(aws: SimpleNamespace) -> None:
    result = handler.main(refresh_event(snapshot_id="snap-7"), CONTEXT)

    assert result["published"] is True
    assert result["claim"] == "new"
    marker = aws.s3.head_object(Bucket=BUCKET, Key="sales/orders/dt=2026-11-25/_SUCCESS")
    assert marker["ContentLength"] == 0

    partition = aws.glue.get_partition(DatabaseName="sales", TableName="orders", PartitionValues=["2026-11-25"])
    descriptor = partition["Partition"]["StorageDescriptor"]
    assert descriptor["Location"] == f"s3://{BUCKET}/sales/orders/dt=2026-11-25"
    assert descriptor["SerdeInfo"] == PARQUET_SD["SerdeInfo"]
    assert descriptor["InputFormat"] == PARQUET_SD["InputFormat"]

    item = delivery_item(aws, "dt=2026-11-25#snapshot=snap-7")
    assert item["published"] == {"BOOL": True}
    assert item["event_id"] == {"S": "evt-1"}
    assert item["snapshot_id"] == {"S": "snap-7"}
    assert item["partition"] == {"M": {"dt": {"S": "2026-11-25"}}}
    assert item["delivered_at"]["S"].endswith("Z")
    assert "lease_owner" not in item

    [envelope] = received(aws)
    assert envelope["MessageAttributes"] == {
        "domain": {"Type": "String", "Value": "sales"},
        "product": {"Type": "String", "Value": "orders"},
        "event_type": {"Type": "String", "Value": "refresh"},
        "delivery_id": {"Type": "String", "Value": "sales.orders/dt=2026-11-25#snapshot=snap-7/r1"},
    }
    body = json.loads(envelope["Message"])
    assert body["delivery_id"] == "sales.orders/dt=2026-11-25#snapshot=snap-7/r1"
    assert (body["revision"], body["correction"]) == (1, False)
    assert body["product_key"] == "sales.orders"
    assert body["partition"] == {"dt": "2026-11-25"}
    assert body["location"] == f"s3://{BUCKET}/sales/orders/dt=2026-11-25"
    assert body["delivered_at"] == item["delivered_at"]["S"]
    assert body["snapshot_id"] == "snap-7"


def test_same_event_twice_gives_one_marker_one_partition_one_message(aws: SimpleNamespace) -> None:
    first = handler.main(refresh_event(), CONTEXT)
    second = handler.main(refresh_event(), CONTEXT)

    assert first["marker_created"]
    assert first["partition_created"]
    assert first["published"]
    assert second == {**second, "marker_created": False, "partition_created": False, "claim": "duplicate"}
    assert second["published"] is False
    objects = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="sales/orders/")["Contents"]
    assert [o["Key"] for o in objects] == ["sales/orders/dt=2026-11-25/_SUCCESS"]
    assert len(aws.glue.get_partitions(DatabaseName="sales", TableName="orders")["Partitions"]) == 1
    assert len(received(aws)) == 1


def test_publish_failure_then_retry_publishes_exactly_once(
    aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    clients = handler.get_clients(Config.from_env({"DELIVERY_TABLE": TABLE, "TOPIC_ARN": aws.topic_arn}))
    error = ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "Publish")

    def failing_publish(**_: Any) -> None:
        raise error

    monkeypatch.setattr(clients.sns, "publish", failing_publish)
    with pytest.raises(RetryableDeliveryError, match="publish"):
        handler.main(refresh_event(), CONTEXT)
    item = delivery_item(aws, "claim#dt=2026-11-25")
    assert item["published"] == {"BOOL": False}
    assert "lease_owner" not in item  # released, so the retry need not wait
    assert received(aws) == []
    # Nothing the SLO sweeper reads exists yet: no record, no latest pointer, no marker.
    assert delivery_item(aws, "dt=2026-11-25") == {}
    assert aws.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0

    monkeypatch.undo()
    monkeypatch.setenv("DELIVERY_TABLE", TABLE)
    monkeypatch.setenv("TOPIC_ARN", aws.topic_arn)
    retry = handler.main(refresh_event(), SimpleNamespace(aws_request_id="req-2"))
    again = handler.main(refresh_event(), SimpleNamespace(aws_request_id="req-3"))

    assert retry["claim"] == "retry"
    assert retry["published"] is True
    assert again["claim"] == "duplicate"
    [envelope] = received(aws)
    assert json.loads(envelope["Message"])["delivered_at"] == item["revision_at"]["S"]
    assert delivery_item(aws, "dt=2026-11-25")["published"] == {"BOOL": True}


def test_crashed_publisher_lease_expires_and_retry_publishes(aws: SimpleNamespace) -> None:
    """A record left unpublished by a crash is re-published once its lease has expired."""
    config = Config.from_env({"DELIVERY_TABLE": TABLE, "TOPIC_ARN": aws.topic_arn})
    clients = handler.get_clients(config)
    t0 = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
    clients.table.put_item(
        Item={
            "product_key": "sales.orders",
            "period_key": "claim#dt=2026-11-25",
            "domain": "sales",
            "product": "orders",
            "partition": {"dt": "2026-11-25"},
            "location": f"s3://{BUCKET}/sales/orders/dt=2026-11-25",
            "revision_at": "2026-11-25T10:00:00Z",
            "revision": 1,
            "event_id": "evt-1",
            "event_ids": {"evt-1"},
            "targets": [aws.topic_arn],
            "published": False,
            "lease_owner": "crashed",
            "lease_expires_at": int(t0.timestamp()) + config.lease_seconds,
        }
    )
    with pytest.raises(RetryableDeliveryError, match="another invocation"):
        handler.process(refresh_event(), config, clients, t0.replace(minute=2), "req-2")
    assert received(aws) == []

    result = handler.process(refresh_event(), config, clients, t0.replace(minute=4), "req-3")
    assert result["claim"] == "retry"
    [envelope] = received(aws)
    assert json.loads(envelope["Message"])["delivered_at"] == "2026-11-25T10:00:00Z"


def test_unpartitioned_table_gets_marker_and_no_partition(aws: SimpleNamespace) -> None:
    event = refresh_event("evt-9", product="customers", partition={}, snapshot_id="snap-001")
    result = handler.main(event, CONTEXT)

    assert result["period_key"] == "snapshot=snap-001"
    assert result["partition_created"] is False
    assert aws.s3.head_object(Bucket=BUCKET, Key="sales/customers/_SUCCESS")["ContentLength"] == 0
    assert aws.glue.get_partitions(DatabaseName="sales", TableName="customers")["Partitions"] == []
    [envelope] = received(aws)
    assert json.loads(envelope["Message"])["location"] == f"s3://{BUCKET}/sales/customers"


def test_unpartitioned_without_snapshot_is_keyed_by_event_id(aws: SimpleNamespace) -> None:
    event = refresh_event("evt-10", product="customers", partition={})
    assert handler.main(event, CONTEXT)["period_key"] == "event=evt-10"
    assert handler.main(event, CONTEXT)["claim"] == "duplicate"
    assert len(received(aws)) == 1


@pytest.mark.parametrize(
    ("product", "partition"),
    [
        ("orders", {"date": "2026-11-25"}),
        ("orders", {}),
        ("orders", {"dt": "2026-11-25", "hour": "01"}),
        ("customers", {"dt": "2026-11-25"}),
    ],
)
def test_partition_key_mismatch_is_non_retryable_and_writes_nothing(
    aws: SimpleNamespace, product: str, partition: dict[str, str]
) -> None:
    with pytest.raises(NonRetryableEventError, match="do not match the partition keys"):
        handler.main(refresh_event(product=product, partition=partition), CONTEXT)
    assert aws.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    assert aws.ddb.scan(TableName=TABLE)["Count"] == 0
    assert received(aws) == []


def test_missing_table_is_non_retryable(aws: SimpleNamespace) -> None:
    with pytest.raises(NonRetryableEventError, match=r"sales\.returns does not exist"):
        handler.main(refresh_event(product="returns"), CONTEXT)


def test_database_prefix_is_applied(aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_PREFIX", "dp_")
    with pytest.raises(NonRetryableEventError, match=r"dp_sales\.orders does not exist"):
        handler.main(refresh_event(), CONTEXT)


def test_s3_access_denied_on_the_marker_is_retried_and_never_republishes(aws: SimpleNamespace) -> None:
    """S3 AccessDenied (e.g. no kms:GenerateDataKey on a producer key) on the last step, the marker.

    Injected with botocore's Stubber on the notifier's S3 client. The messages are out and recorded,
    the error is raised (so Lambda retries and the DLQ alarm sees a persistent failure), and the
    retry writes only the marker.
    """
    config = Config.from_env({"DELIVERY_TABLE": TABLE, "TOPIC_ARN": aws.topic_arn})
    clients = handler.get_clients(config)
    with Stubber(clients.s3) as stub:
        stub.add_client_error("put_object", service_error_code="AccessDenied", http_status_code=403)
        with pytest.raises(RetryableDeliveryError, match="AccessDenied") as raised:
            handler.main(refresh_event(), CONTEXT)
        stub.assert_no_pending_responses()
    assert isinstance(raised.value.__cause__, ClientError)
    assert len(received(aws)) == 1
    retry = handler.main(refresh_event(), CONTEXT)
    assert (retry["claim"], retry["marker_created"]) == ("duplicate", True)
    assert received(aws) == []


def test_fifo_topic_gets_group_and_deterministic_deduplication_id(aws: SimpleNamespace) -> None:
    """The FIFO parameters are checked with a Stubber on the SNS client (request shape only)."""
    fifo_arn = f"{aws.topic_arn}.fifo"
    config = Config.from_env({"DELIVERY_TABLE": TABLE, "TOPIC_ARN": fifo_arn})
    clients = handler.get_clients(config)
    expected = {
        "TopicArn": fifo_arn,
        "Message": ANY,
        "MessageAttributes": ANY,
        "MessageGroupId": "sales.orders",
        "MessageDeduplicationId": deduplication_id("sales.orders/dt=2026-11-25/r1"),
    }
    with Stubber(clients.sns) as stub:
        stub.add_response("publish", {"MessageId": "m-1"}, expected)
        result = handler.process(refresh_event(), config, clients, datetime.now(timezone.utc), "req-1")
        stub.assert_no_pending_responses()
    assert result["message_id"] == "m-1"


def test_location_outside_the_table_is_rejected(aws: SimpleNamespace) -> None:
    with pytest.raises(NonRetryableEventError, match="is outside the delivery.s location"):
        handler.main(refresh_event(location="s3://other-bucket/x/dt=2026-11-25"), CONTEXT)


def test_explicit_location_under_the_table_is_used(aws: SimpleNamespace) -> None:
    location = f"s3://{BUCKET}/sales/orders/dt=2026-11-25/run=2"
    handler.main(refresh_event(location=location), CONTEXT)
    assert aws.s3.head_object(Bucket=BUCKET, Key="sales/orders/dt=2026-11-25/run=2/_SUCCESS")
    partition = aws.glue.get_partition(DatabaseName="sales", TableName="orders", PartitionValues=["2026-11-25"])
    assert partition["Partition"]["StorageDescriptor"]["Location"] == location


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({**refresh_event(), "source": "someone.else"}, "expected source"),
        (refresh_event(partition={"dt": "../../x"}), "partition value dt="),
        (refresh_event(domain="Sales Team"), "detail.domain"),
        (refresh_event(location="https://x"), "detail.location"),
    ],
)
def test_malformed_events_are_non_retryable(aws: SimpleNamespace, event: dict, message: str) -> None:
    with pytest.raises(NonRetryableEventError, match=message):
        handler.main(event, CONTEXT)


def test_missing_configuration_is_reported_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DELIVERY_TABLE", raising=False)
    monkeypatch.delenv("TOPIC_ARN", raising=False)
    with pytest.raises(NonRetryableEventError, match="DELIVERY_TABLE, TOPIC_ARN"):
        handler.main(refresh_event(), CONTEXT)


# ----------------------------------------------------------------------------------------------- latest pointer


def latest_item(aws: SimpleNamespace, product_key: str = "sales.orders") -> dict[str, str]:
    item = delivery_item(aws, "latest", product_key)
    return {name: value["S"] for name, value in item.items()}


def test_new_delivery_sets_the_latest_item(aws: SimpleNamespace) -> None:
    result = handler.main(refresh_event("evt-20", product="customers", partition={}, snapshot_id="s-1"), CONTEXT)

    assert result["latest_updated"] is True
    delivered_at = delivery_item(aws, "snapshot=s-1", "sales.customers")["delivered_at"]["S"]
    assert latest_item(aws, "sales.customers") == {
        "product_key": "sales.customers",
        "period_key": "latest",
        "delivered_at": delivered_at,
        "previous_delivered_at": delivered_at,
        "source_period_key": "snapshot=s-1",
        "event_id": "evt-20",
    }
    assert len(received(aws)) == 1


def test_latest_moves_forward_only(aws: SimpleNamespace) -> None:
    config = Config.from_env({"DELIVERY_TABLE": TABLE, "TOPIC_ARN": aws.topic_arn})
    clients = handler.get_clients(config)
    day = refresh_event("evt-25")
    next_day = refresh_event("evt-26", partition={"dt": "2026-11-26"})
    t0 = datetime(2026, 11, 25, 6, 0, tzinfo=timezone.utc)

    assert handler.process(day, config, clients, t0, "req-1")["latest_updated"] is True
    assert handler.process(next_day, config, clients, t0.replace(day=26), "req-2")["latest_updated"] is True
    expected = {
        "product_key": "sales.orders",
        "period_key": "latest",
        "delivered_at": "2026-11-26T06:00:00Z",
        "previous_delivered_at": "2026-11-25T06:00:00Z",
        "source_period_key": "dt=2026-11-26",
        "event_id": "evt-26",
    }
    assert latest_item(aws) == expected
    # The older delivery's event replayed afterwards: its stored delivered_at is older, nothing moves.
    replay = handler.process(day, config, clients, t0.replace(day=27), "req-3")
    assert (replay["claim"], replay["latest_updated"]) == ("duplicate", False)
    assert latest_item(aws) == expected
    # A delivery processed out of order (its delivered_at older than the latest one): nothing moves.
    stale = handler.process(refresh_event("evt-24", partition={"dt": "2026-11-24"}), config, clients, t0, "req-4")
    assert (stale["claim"], stale["latest_updated"]) == ("new", False)
    assert latest_item(aws) == expected
    assert len(received(aws)) == 3


def test_same_event_twice_leaves_latest_unchanged(aws: SimpleNamespace) -> None:
    event = refresh_event("evt-30", product="customers", partition={})
    first = handler.main(event, CONTEXT)
    before = latest_item(aws, "sales.customers")
    second = handler.main(event, CONTEXT)

    assert (first["latest_updated"], second["latest_updated"]) == (True, False)
    assert latest_item(aws, "sales.customers") == before
    assert before["source_period_key"] == "event=evt-30"
    # Only the claim, the delivery and its latest pointer are stored.
    assert aws.ddb.scan(TableName=TABLE)["Count"] == 3


# ----------------------------------------------------------------------------------------------- who may announce


def test_event_from_another_account_than_the_products_producer_is_rejected(aws: SimpleNamespace) -> None:
    """Issue 9 item 3: the table names its producer; another producer account of the bus may not announce it."""
    event = {**refresh_event(), "account": OTHER_PRODUCER}
    with pytest.raises(NonRetryableEventError, match=rf"sent by account {OTHER_PRODUCER}.*producer account.*{PRODUCER}"):
        handler.main(event, CONTEXT)
    assert aws.ddb.scan(TableName=TABLE)["Count"] == 0
    assert aws.glue.get_partitions(DatabaseName="sales", TableName="orders")["Partitions"] == []
    assert received(aws) == []


def test_table_without_producer_parameter_falls_back_to_the_bus_accounts(
    aws: SimpleNamespace, caplog: pytest.LogCaptureFixture
) -> None:
    ok = handler.main({**refresh_event("evt-40", product="customers", partition={}), "account": OTHER_PRODUCER}, CONTEXT)
    assert ok["producer_check"] == "bus"
    assert "checked against the bus's accounts only" in caplog.text
    with pytest.raises(NonRetryableEventError, match="not one of the hub bus's producer accounts"):
        handler.main({**refresh_event("evt-41", product="customers", partition={}), "account": "999999999999"}, CONTEXT)


def test_event_without_account_is_rejected(aws: SimpleNamespace) -> None:
    event = refresh_event()
    del event["account"]
    with pytest.raises(NonRetryableEventError, match="has no 'account'"):
        handler.main(event, CONTEXT)


# ----------------------------------------------------------------------------------------------- consumer topics


def consumer_topic(aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, account: str = CONSUMER) -> str:
    """Create the consumer account's topic with a subscribed queue; return the queue URL."""
    sns = boto3.client("sns", region_name=REGION)
    arn = sns.create_topic(Name=f"mesh-refreshed-{account}")["TopicArn"]
    url = aws.sqs.create_queue(QueueName=f"consumer-{account}")["QueueUrl"]
    queue_arn = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    monkeypatch.setenv("CONSUMER_TOPIC_PREFIX", arn[: -len(account)])
    return url


def drain(aws: SimpleNamespace, url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while batch := aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        out += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def test_each_consumer_gets_only_its_own_products_on_its_own_topic(
    aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9 item 4: orders lists CONSUMER; customers lists nobody: CONSUMER's topic gets orders only."""
    url = consumer_topic(aws, monkeypatch)
    handler.main(refresh_event(), CONTEXT)
    handler.main(refresh_event("evt-2", product="customers", partition={}), CONTEXT)
    [message] = drain(aws, url)
    assert (message["product_key"], message["delivery_id"]) == ("sales.orders", "sales.orders/dt=2026-11-25/r1")
    assert len(received(aws)) == 2  # the hub's own topic gets both


# ----------------------------------------------------------------------------------------------- corrections


def test_reannounced_partition_is_a_correction_published_once_with_a_new_delivery_id(
    aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault 6: a producer's correction (a new event for a delivered period) used to be dropped silently."""
    url = consumer_topic(aws, monkeypatch)
    first = handler.main(refresh_event("evt-1"), CONTEXT)
    run2 = f"s3://{BUCKET}/sales/orders/dt=2026-11-25/run=2"
    second = handler.main(refresh_event("evt-2", location=run2), CONTEXT)
    replay_old = handler.main(refresh_event("evt-1"), CONTEXT)

    assert (first["claim"], second["claim"], replay_old["claim"]) == ("new", "correction", "duplicate")
    bodies = [json.loads(e["Message"]) for e in received(aws)]
    assert [(b["delivery_id"], b["correction"], b["location"]) for b in bodies] == [
        ("sales.orders/dt=2026-11-25/r1", False, f"s3://{BUCKET}/sales/orders/dt=2026-11-25"),
        ("sales.orders/dt=2026-11-25/r2", True, run2),
    ]
    assert [m["revision"] for m in drain(aws, url)] == [1, 2]
    # The partition points at the corrected data, and the replayed old event did not move it back.
    partition = aws.glue.get_partition(DatabaseName="sales", TableName="orders", PartitionValues=["2026-11-25"])
    assert partition["Partition"]["StorageDescriptor"]["Location"] == run2
    record = delivery_item(aws, "dt=2026-11-25")
    assert record["revision"] == {"N": "2"}
    assert record["delivered_at"]["S"] == bodies[0]["delivered_at"]  # the SLO counts the first delivery
    assert "corrected_at" in record


# ----------------------------------------------------------------------------------------------- crash at every step


class Crash(BaseException):
    """A hard crash (timeout, out of memory): no except clause of the handler sees it, no lease is released."""


CRASH_POINTS = [
    ("steps", "claim_delivery"),
    ("steps", "register_partition"),
    ("client", "publish"),
    ("steps", "mark_target_published"),
    ("steps", "mark_published"),
    ("steps", "record_delivery"),
    ("steps", "record_latest"),
    ("steps", "put_marker"),
]


@pytest.mark.parametrize(("where", "step"), CRASH_POINTS, ids=[c[1] for c in CRASH_POINTS])
@pytest.mark.parametrize("target", ["hub", "consumer"])
def test_crash_after_each_side_effect_then_retry(
    aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, where: str, step: str, target: str
) -> None:
    """Fault 6: crash right AFTER each side effect (the worst moment), rerun the same event after the lease.

    Outcome for every crash point: each topic ends with the message; a second copy only when the
    crash fell between a publish and its record, and then with the same ``delivery_id``; nothing
    the SLO sweeper reads (record, latest, marker) exists before the messages are out.
    """
    url = consumer_topic(aws, monkeypatch)
    config = Config.from_env(dict(os.environ))
    clients = handler.get_clients(config)
    crashed = []
    sweeper_view_at_crash: dict[str, Any] = {}

    def crash_once(original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            topic = kwargs.get("TopicArn") or (args[2] if step == "mark_target_published" else "")
            wanted = aws.topic_arn if target == "hub" else config.consumer_topic_prefix + CONSUMER
            if not crashed and (step not in ("publish", "mark_target_published") or topic == wanted):
                crashed.append(step)
                sweeper_view_at_crash.update(
                    record=delivery_item(aws, "dt=2026-11-25"),
                    latest=delivery_item(aws, "latest"),
                    marker=aws.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount"),
                    messages=len(received(aws)) + len(drain(aws, url)),
                )
                raise Crash(step)
            return result

        return wrapper

    if where == "client":
        monkeypatch.setattr(clients.sns, step, crash_once(getattr(clients.sns, step)))
    else:
        monkeypatch.setattr(handler, step, crash_once(getattr(handler, step)))
    t0 = datetime(2026, 11, 25, 6, 0, tzinfo=timezone.utc)
    with pytest.raises(Crash):
        handler.process(refresh_event(), config, clients, t0, "req-1")
    assert crashed == [step]
    complete = step in ("record_delivery", "record_latest", "put_marker")
    if not complete:
        assert sweeper_view_at_crash["record"] == {}, "a half-done delivery looked complete to the SLO sweeper"
        assert sweeper_view_at_crash["latest"] == {}
        assert sweeper_view_at_crash["marker"] == 0
    # Re-run the same event once the lease has expired (Lambda retries a crashed invocation after >= 1 min).
    later = t0.replace(minute=10)
    result = handler.process(refresh_event(), config, clients, later, "req-2")
    again = handler.process(refresh_event(), config, clients, later.replace(minute=11), "req-3")
    assert again["claim"] == "duplicate"

    hub = [json.loads(e["Message"]) for e in received(aws)]
    consumer = drain(aws, url)
    # The messages were drained at the crash; count them over the whole run.
    before = sweeper_view_at_crash["messages"]
    total = before + len(hub) + len(consumer)
    duplicate_allowed = step == "publish"  # between the publish and its record
    assert total == (3 if duplicate_allowed else 2), (step, result)
    assert {m["delivery_id"] for m in hub + consumer} <= {"sales.orders/dt=2026-11-25/r1"}
    record = delivery_item(aws, "dt=2026-11-25")
    assert record["published"] == {"BOOL": True}
    assert aws.s3.head_object(Bucket=BUCKET, Key="sales/orders/dt=2026-11-25/_SUCCESS")
    assert len(aws.glue.get_partitions(DatabaseName="sales", TableName="orders")["Partitions"]) == 1


def test_a_lease_outlives_the_invocation_that_holds_it(aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault 6: with lease == function timeout (60 s), a concurrent copy of the event arriving just after
    the lease ran out published a second time while the first invocation could still be publishing."""
    config = Config.from_env(dict(os.environ))
    clients = handler.get_clients(config)
    t0 = datetime(2026, 11, 25, 6, 0, tzinfo=timezone.utc)

    def slow_publish(*_: Any, **__: Any) -> Any:
        raise Crash("still publishing when the function times out")

    monkeypatch.setattr(handler, "publish", slow_publish)
    with pytest.raises(Crash):
        handler.process(refresh_event(), config, clients, t0, "req-1")
    monkeypatch.undo()
    function_timeout = 60
    with pytest.raises(RetryableDeliveryError, match="another invocation"):
        handler.process(refresh_event(), config, clients, t0 + timedelta(seconds=function_timeout + 1), "req-2")
    assert received(aws) == []


# ----------------------------------------------------------------------------------------------- rejections


def test_rejections_go_to_the_dead_letter_queue_once_with_their_reason_and_are_not_retried(
    aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rejected event (here: another account's announcement) is not raised (Lambda would retry it twice):
    it is sent once to the notifier's dead-letter queue (alarmed) with the reason, like Lambda's own DLQ."""
    dlq = aws.sqs.create_queue(QueueName="notifier-dlq")["QueueUrl"]
    monkeypatch.setenv("REJECTED_QUEUE_URL", dlq)
    event = {**refresh_event(), "account": OTHER_PRODUCER}
    result = handler.main(event, CONTEXT)
    assert result["rejected"] is True and "sent by account" in result["reason"]
    [message] = aws.sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(message["Body"]) == event
    attributes = message["MessageAttributes"]
    assert attributes["ErrorCode"]["StringValue"] == "NonRetryableEventError"
    assert "sent by account" in attributes["ErrorMessage"]["StringValue"]
    assert received(aws) == [] and aws.ddb.scan(TableName=TABLE)["Count"] == 0
