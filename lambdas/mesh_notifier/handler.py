"""Hub-side notifier for ``DataProductRefreshed`` events (handler ``mesh_notifier.handler.main``).

For each refresh it writes a 0-byte ``_SUCCESS`` marker, registers the Glue partition, records
the delivery in DynamoDB (item ``product_key``/``period_key``, and the product's ``latest`` item
pointing at its newest ``delivered_at``, see :func:`.steps.record_latest`) and publishes one SNS
message with ``domain``/``product``/``event_type`` attributes for subscription filter policies.
Replaying the same event is harmless.

Environment: ``DELIVERY_TABLE`` and ``TOPIC_ARN`` (required), ``CATALOG_ID``,
``DATABASE_PREFIX`` and ``REJECTED_QUEUE_URL`` (optional).

An event that can never succeed (``NonRetryableEventError``: a bad partition value, an unknown
table...) is sent once to ``REJECTED_QUEUE_URL`` (the function's dead-letter queue, with Lambda's
``ErrorCode``/``ErrorMessage`` attributes) and not raised, so Lambda does not retry it twice first.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from .core import (
    Config,
    MeshNotifierError,
    NonRetryableEventError,
    RetryableDeliveryError,
    data_location,
    log,
    ordered_partition_values,
    parse_event,
    period_key,
    table_info,
    typed_event,
    utc_now_iso,
)
from .steps import (
    Claim,
    claim_delivery,
    get_table,
    mark_published,
    publish,
    put_marker,
    record_latest,
    register_partition,
)
from .steps import release_lease as _release_lease

_BOTO_CONFIG = BotoConfig(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)


@dataclass
class Clients:
    """The AWS clients the notifier uses (``table`` is a DynamoDB ``Table`` resource)."""

    s3: Any
    glue: Any
    sns: Any
    table: Any


_CLIENTS: Clients | None = None
_SQS: Any = None  # only for rejected events


def get_clients(config: Config) -> Clients:
    """Create the clients on first use and reuse them across warm invocations."""
    global _CLIENTS
    if _CLIENTS is None or _CLIENTS.table.name != config.delivery_table:
        _CLIENTS = Clients(
            s3=boto3.client("s3", config=_BOTO_CONFIG),
            glue=boto3.client("glue", config=_BOTO_CONFIG),
            sns=boto3.client("sns", config=_BOTO_CONFIG),
            table=boto3.resource("dynamodb", config=_BOTO_CONFIG).Table(config.delivery_table),
        )
    return _CLIENTS


def reset_clients() -> None:
    """Forget cached clients (tests)."""
    global _CLIENTS, _SQS
    _CLIENTS = None
    _SQS = None


def process(event: dict[str, Any], config: Config, clients: Clients, now: datetime, owner: str) -> dict[str, Any]:
    """Deliver one refresh event; return a summary of what was done.

    Raises:
        NonRetryableEventError: bad event, unknown table, partition keys that do not match.
        RetryableDeliveryError: AWS failures worth retrying (access denied, throttling, ...).
    """
    refresh = parse_event(event)
    database = f"{config.database_prefix}{refresh.domain}"
    info = table_info(get_table(clients.glue, config, database, refresh.product))
    refresh = typed_event(info, refresh)  # keys matched, values checked against their Glue types
    location = data_location(info, refresh)
    period = period_key(info, refresh)
    context = {"event_id": refresh.event_id, "product_key": refresh.product_key, "period_key": period}

    marker_created = put_marker(clients.s3, location)
    partition_created = False
    if refresh.partition and info.registers_partitions:
        values = ordered_partition_values(info, refresh.partition)
        partition_created = register_partition(clients.glue, config, info, values, location)

    record: dict[str, Any] = {
        "product_key": refresh.product_key,
        "period_key": period,
        "domain": refresh.domain,
        "product": refresh.product,
        "partition": refresh.partition,
        "location": location,
        "delivered_at": utc_now_iso(now),
        "event_id": refresh.event_id,
    }
    if refresh.snapshot_id:
        record["snapshot_id"] = refresh.snapshot_id
    claim, stored = claim_delivery(clients.table, record, owner, int(now.timestamp()))
    try:
        # Every outcome (duplicates too): the stored delivered_at makes it a no-op once done.
        latest_updated = record_latest(clients.table, stored)
    except RetryableDeliveryError:
        if claim is not Claim.DUPLICATE:
            _release_lease(clients.table, stored, owner)
        raise
    summary = {
        **context,
        "marker_created": marker_created,
        "partition_created": partition_created,
        "latest_updated": latest_updated,
    }
    if claim is Claim.DUPLICATE:
        log(logging.INFO, "duplicate delivery, already published", **summary)
        return {**summary, "claim": claim.value, "published": False}

    try:
        message_id = publish(clients.sns, config, stored)
    except ClientError as error:
        _release_lease(clients.table, stored, owner)
        raise RetryableDeliveryError(f"publish to {config.topic_arn} failed: {error}") from error
    try:
        mark_published(clients.table, stored, message_id, utc_now_iso(datetime.now(timezone.utc)))
    except ClientError as error:
        raise RetryableDeliveryError(f"published {message_id} but could not record it: {error}") from error
    log(logging.INFO, "delivery published", message_id=message_id, claim=claim.value, **summary)
    return {**summary, "claim": claim.value, "published": True, "message_id": message_id}


def reject(event: Any, error: NonRetryableEventError, queue_url: str) -> None:
    """Send a rejected event to ``queue_url`` as Lambda's dead-letter queue would (body: the event)."""
    global _SQS
    if _SQS is None:
        _SQS = boto3.client("sqs", config=_BOTO_CONFIG)
    _SQS.send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(event, default=str),
        MessageAttributes={
            "ErrorCode": {"DataType": "String", "StringValue": type(error).__name__},
            "ErrorMessage": {"DataType": "String", "StringValue": str(error)[:1024]},
        },
    )


def main(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: thin wrapper around :func:`process`."""
    owner = getattr(context, "aws_request_id", None) or str(uuid.uuid4())
    try:
        config = Config.from_env(os.environ)
        return process(event, config, get_clients(config), datetime.now(timezone.utc), owner)
    except MeshNotifierError as error:
        log(
            logging.ERROR,
            "delivery failed",
            error_type=type(error).__name__,
            error=str(error),
            event_id=event.get("id") if isinstance(event, dict) else None,
        )
        queue_url = os.environ.get("REJECTED_QUEUE_URL")
        if not isinstance(error, NonRetryableEventError) or not queue_url:
            raise
        try:
            reject(event, error, queue_url)
        except ClientError:  # not recorded: let Lambda retry and dead-letter it
            raise error from None
        return {"rejected": True, "error_type": type(error).__name__, "error": str(error)}
