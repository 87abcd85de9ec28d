"""The AWS side effects of one delivery, each idempotent on its own.

Order (see ``handler.process``): marker, partition, delivery record (claims the right to
publish), the product's ``latest`` pointer, publish, mark published. A record whose ``published`` flag is still false after a
failed or crashed publish is re-claimed by the next attempt, so no message is ever lost and
the same event never yields two messages.
"""

from __future__ import annotations

import json
import logging
from enum import Enum
from typing import Any

from botocore.exceptions import ClientError

from .core import (
    LATEST_PERIOD_KEY,
    Config,
    NonRetryableEventError,
    RetryableDeliveryError,
    TableInfo,
    build_message,
    deduplication_id,
    log,
    marker_key,
)

#: How long an invocation may hold the right to publish before another attempt may take over.
PUBLISH_LEASE_SECONDS = 60


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def get_table(glue: Any, config: Config, database: str, table: str) -> dict[str, Any]:
    """Fetch the Glue table; a missing database/table is non-retryable, anything else retryable."""
    kwargs: dict[str, Any] = {"DatabaseName": database, "Name": table}
    if config.catalog_id:
        kwargs["CatalogId"] = config.catalog_id
    try:
        return glue.get_table(**kwargs)["Table"]
    except ClientError as error:
        if _code(error) == "EntityNotFoundException":
            raise NonRetryableEventError(
                f"Glue table {database}.{table} does not exist: register the data product first"
            ) from error
        raise RetryableDeliveryError(f"cannot read Glue table {database}.{table}: {error}") from error


def put_marker(s3: Any, location: str) -> bool:
    """Write the 0-byte ``_SUCCESS`` marker once; return False when it already existed."""
    bucket, key = marker_key(location)
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=b"", IfNoneMatch="*")
    except ClientError as error:
        if _code(error) in {"PreconditionFailed", "ConditionalRequestConflict"}:
            return False
        raise RetryableDeliveryError(f"cannot write s3://{bucket}/{key}: {error}") from error
    return True


def register_partition(glue: Any, config: Config, info: TableInfo, values: list[str], location: str) -> bool:
    """Create the Glue partition with the table's StorageDescriptor; False if it already existed."""
    descriptor = {**info.storage_descriptor, "Location": location}
    kwargs: dict[str, Any] = {
        "DatabaseName": info.database,
        "TableName": info.name,
        "PartitionInput": {"Values": values, "StorageDescriptor": descriptor},
    }
    if config.catalog_id:
        kwargs["CatalogId"] = config.catalog_id
    try:
        glue.create_partition(**kwargs)
    except ClientError as error:
        if _code(error) == "AlreadyExistsException":
            return False
        if _code(error) in {"InvalidInputException", "EntityNotFoundException"}:
            raise NonRetryableEventError(f"Glue rejected partition {values}: {error}") from error
        raise RetryableDeliveryError(f"cannot register partition {values}: {error}") from error
    return True


class Claim(Enum):
    """Outcome of trying to claim the right to publish a delivery."""

    NEW = "new"  # first time this delivery is seen
    RETRY = "retry"  # recorded earlier, never published: publish now
    DUPLICATE = "duplicate"  # already published: do nothing


def claim_delivery(table: Any, record: dict[str, Any], owner: str, now_epoch: int) -> tuple[Claim, dict]:
    """Record the delivery (conditional put) and take a short lease on publishing it.

    Returns the claim and the stored record (for a retry, the original one, so the re-published
    message is identical). Raises ``RetryableDeliveryError`` while another invocation holds a
    live lease: its outcome is unknown, and the retry will find either ``published`` or an
    expired lease.
    """
    lease = {"lease_owner": owner, "lease_expires_at": now_epoch + PUBLISH_LEASE_SECONDS}
    key = {"product_key": record["product_key"], "period_key": record["period_key"]}
    try:
        table.put_item(
            Item={**record, "published": False, **lease},
            ConditionExpression="attribute_not_exists(product_key)",
        )
        return Claim.NEW, record
    except ClientError as error:
        if _code(error) != "ConditionalCheckFailedException":
            raise RetryableDeliveryError(f"cannot record delivery {key}: {error}") from error
    try:
        stored = table.update_item(
            Key=key,
            UpdateExpression="SET lease_owner = :owner, lease_expires_at = :expires",
            ConditionExpression="published = :false AND "
            "(attribute_not_exists(lease_expires_at) OR lease_expires_at < :now)",
            ExpressionAttributeValues={
                ":owner": owner,
                ":expires": lease["lease_expires_at"],
                ":false": False,
                ":now": now_epoch,
            },
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return Claim.RETRY, stored
    except ClientError as error:
        if _code(error) != "ConditionalCheckFailedException":
            raise RetryableDeliveryError(f"cannot claim delivery {key}: {error}") from error
    stored = table.get_item(Key=key, ConsistentRead=True).get("Item") or {}
    if stored.get("published"):
        return Claim.DUPLICATE, stored
    raise RetryableDeliveryError(f"delivery {key} is being published by another invocation; retry later")


def record_latest(table: Any, record: dict[str, Any]) -> bool:
    """Point the product's ``latest`` item at this delivery unless it already holds a newer or equal one.

    Item: ``product_key``, ``period_key = "latest"``, ``delivered_at`` (newest delivery),
    ``source_period_key`` (that delivery's period key), ``event_id`` and ``previous_delivered_at``
    (the ``delivered_at`` it replaced; the first write sets it to ``delivered_at``). The update is
    conditional on the stored ``delivered_at`` being older, so replays, duplicates and deliveries
    processed out of order never move it back. Returns True when the item changed.
    """
    key = {"product_key": record["product_key"], "period_key": LATEST_PERIOD_KEY}
    try:
        table.update_item(
            Key=key,
            # previous_delivered_at first: DynamoDB reads operands from the item before the update.
            UpdateExpression="SET previous_delivered_at = if_not_exists(delivered_at, :at), delivered_at = :at, "
            "source_period_key = :period, event_id = :event",
            ConditionExpression="attribute_not_exists(delivered_at) OR delivered_at < :at",
            ExpressionAttributeValues={
                ":at": record["delivered_at"],
                ":period": record["period_key"],
                ":event": record["event_id"],
            },
        )
    except ClientError as error:
        if _code(error) == "ConditionalCheckFailedException":
            return False
        raise RetryableDeliveryError(f"cannot update the latest delivery {key}: {error}") from error
    return True


def publish(sns: Any, config: Config, record: dict[str, Any]) -> str:
    """Publish the refresh notification with filterable attributes; return the message id."""
    kwargs: dict[str, Any] = {
        "TopicArn": config.topic_arn,
        "Message": json.dumps(build_message(record), sort_keys=True, default=str),
        "MessageAttributes": {
            "domain": {"DataType": "String", "StringValue": record["domain"]},
            "product": {"DataType": "String", "StringValue": record["product"]},
            "event_type": {"DataType": "String", "StringValue": "refresh"},
        },
    }
    if config.is_fifo:
        kwargs["MessageGroupId"] = record["product_key"]
        kwargs["MessageDeduplicationId"] = deduplication_id(record["product_key"], record["period_key"])
    return sns.publish(**kwargs)["MessageId"]


def mark_published(table: Any, record: dict[str, Any], message_id: str, published_at: str) -> None:
    """Set ``published`` and drop the lease (a failure here is retried: FIFO dedups, standard may repeat)."""
    table.update_item(
        Key={"product_key": record["product_key"], "period_key": record["period_key"]},
        UpdateExpression="SET published = :true, published_at = :at, message_id = :mid "
        "REMOVE lease_owner, lease_expires_at",
        ExpressionAttributeValues={":true": True, ":at": published_at, ":mid": message_id},
    )


def release_lease(table: Any, record: dict[str, Any], owner: str) -> None:
    """Give the lease back after a failed publish so the next retry can publish at once."""
    try:
        table.update_item(
            Key={"product_key": record["product_key"], "period_key": record["period_key"]},
            UpdateExpression="REMOVE lease_owner, lease_expires_at",
            ConditionExpression="lease_owner = :owner",
            ExpressionAttributeValues={":owner": owner},
        )
    except ClientError as error:  # the lease simply expires instead
        log(logging.WARNING, "could not release publish lease", error=str(error))
