"""The AWS side effects of one delivery, each idempotent on its own.

Order (see ``handler.process``): claim (with a lease), partition, publish to each topic (each
recorded once sent), mark published, delivery record, the product's ``latest`` pointer, and the
``_SUCCESS`` marker last. What the SLO sweeper reads (record, ``latest``, marker) exists only once
the messages are out, so a half-done delivery never looks complete. A claim left unpublished by a
failure or a crash is re-claimed by the next attempt once its lease has expired, so no message is
lost; a crash between a publish and its record repeats that one message, with the same
``delivery_id`` (at least once, see docs/mesh.md "Delivery guarantees").
"""

from __future__ import annotations

import json
import logging
from enum import Enum
from typing import Any

from botocore.exceptions import ClientError

from .core import (
    CLAIM_PREFIX,
    LATEST_PERIOD_KEY,
    Config,
    NonRetryableEventError,
    RetryableDeliveryError,
    TableInfo,
    build_message,
    deduplication_id,
    log,
    marker_key,
    period_of,
)


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


def put_marker(s3: Any, location: str, delivery: str = "") -> bool:
    """Write the 0-byte ``_SUCCESS`` marker once, LAST, when the delivery is complete; False if it existed.

    The SLO sweeper falls back to this marker when it finds no delivery record, so it must never
    exist before the partition, the messages and the record. Its metadata
    ``meshworks-delivery-id`` names the delivery that wrote it.
    """
    bucket, key = marker_key(location)
    try:
        s3.put_object(
            Bucket=bucket, Key=key, Body=b"", IfNoneMatch="*", Metadata={"meshworks-delivery-id": delivery}
        )
    except ClientError as error:
        if _code(error) in {"PreconditionFailed", "ConditionalRequestConflict"}:
            return False
        raise RetryableDeliveryError(f"cannot write s3://{bucket}/{key}: {error}") from error
    return True


def register_partition(
    glue: Any, config: Config, info: TableInfo, values: list[str], location: str, *, update_existing: bool = False
) -> bool:
    """Create the Glue partition with the table's StorageDescriptor; False if it already existed.

    With ``update_existing`` (a correction), an existing partition is updated to ``location``.
    """
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
        return True
    except ClientError as error:
        if _code(error) == "AlreadyExistsException":
            if not update_existing:
                return False
        elif _code(error) in {"InvalidInputException", "EntityNotFoundException"}:
            raise NonRetryableEventError(f"Glue rejected partition {values}: {error}") from error
        elif _code(error) == "AccessDeniedException":
            raise RetryableDeliveryError(
                f"cannot register partition {values} at {location}: {error} (the notifier role needs glue:CreatePartition "
                "and Lake Formation ALTER/INSERT on the table plus DATA_LOCATION_ACCESS on the registered location)"
            ) from error
        else:
            raise RetryableDeliveryError(f"cannot register partition {values}: {error}") from error
    # A correction: point the existing partition at the corrected location.
    try:
        glue.update_partition(**{k: v for k, v in kwargs.items() if k != "PartitionInput"},
                              PartitionValueList=values, PartitionInput=kwargs["PartitionInput"])
    except ClientError as error:
        raise RetryableDeliveryError(f"cannot update partition {values} to {location}: {error}") from error
    return False


class Claim(Enum):
    """Outcome of trying to claim the right to publish a delivery."""

    NEW = "new"  # first announcement of this period
    CORRECTION = "correction"  # a new announcement (new event id) of a period already announced
    RETRY = "retry"  # this announcement was claimed earlier and never fully published: publish now
    DUPLICATE = "duplicate"  # this announcement (or a newer one) is already published: do nothing


def claim_key(record: dict[str, Any]) -> dict[str, str]:
    """Key of the claim item that tracks a delivery until it is complete."""
    return {"product_key": record["product_key"], "period_key": CLAIM_PREFIX + period_of(record)}


def claim_delivery(
    table: Any, record: dict[str, Any], owner: str, now_epoch: int, lease_seconds: int
) -> tuple[Claim, dict]:
    """Record the announcement in the claim item and take a lease on publishing it.

    The claim item (sort key ``claim#<period_key>``) holds the current revision of the period:
    ``revision``, its ``event_id`` and ``revision_at``, ``location``/``partition``/``snapshot_id``,
    ``targets`` (topic ARNs), ``published_to`` (those already published), ``published``, the
    ``event_ids`` seen, and the lease. Returns the claim and the stored item (for a retry, the
    original one, so the re-published message is identical).

    Raises:
        RetryableDeliveryError: another invocation holds a live lease (its outcome is unknown:
            the retry finds either ``published`` or an expired lease), or DynamoDB failed.
    """
    key = claim_key(record)
    lease = {"lease_owner": owner, "lease_expires_at": now_epoch + lease_seconds}
    fresh = {**record, **key, "revision": 1, "event_ids": {record["event_id"]}, "published": False, **lease}
    try:
        table.put_item(Item=fresh, ConditionExpression="attribute_not_exists(product_key)")
        return Claim.NEW, fresh
    except ClientError as error:
        if _code(error) != "ConditionalCheckFailedException":
            raise RetryableDeliveryError(f"cannot record delivery {key}: {error}") from error
    try:
        stored = table.get_item(Key=key, ConsistentRead=True).get("Item") or {}
    except ClientError as error:
        raise RetryableDeliveryError(f"cannot read delivery {key}: {error}") from error
    seen = set(stored.get("event_ids") or {stored.get("event_id")})
    revision = int(stored.get("revision", 1))
    if record["event_id"] in seen and record["event_id"] != stored.get("event_id"):
        return Claim.DUPLICATE, stored  # an older announcement, superseded by a correction
    lease_free = "(attribute_not_exists(lease_expires_at) OR lease_expires_at < :now OR lease_owner = :owner)"
    values = {":owner": owner, ":expires": lease["lease_expires_at"], ":now": now_epoch, ":rev": revision}
    try:
        if record["event_id"] == stored.get("event_id"):
            if stored.get("published"):
                return Claim.DUPLICATE, stored
            stored = table.update_item(
                Key=key,
                UpdateExpression="SET lease_owner = :owner, lease_expires_at = :expires",
                ConditionExpression=f"published = :false AND revision = :rev AND {lease_free}",
                ExpressionAttributeValues={**values, ":false": False},
                ReturnValues="ALL_NEW",
            )["Attributes"]
            return Claim.RETRY, stored
        # A new announcement of a period already announced: a correction, published as revision + 1.
        stored = table.update_item(
            Key=key,
            UpdateExpression="SET revision = :next, event_id = :event, revision_at = :at, #loc = :loc, "
            "#part = :part, snapshot_id = :snap, targets = :targets, published = :false, "
            "lease_owner = :owner, lease_expires_at = :expires REMOVE published_to ADD event_ids :events",
            ConditionExpression=f"revision = :rev AND (published = :true OR {lease_free})",
            ExpressionAttributeNames={"#loc": "location", "#part": "partition"},
            ExpressionAttributeValues={
                **values,
                ":next": revision + 1,
                ":event": record["event_id"],
                ":at": record["revision_at"],
                ":loc": record["location"],
                ":part": record["partition"],
                ":snap": record.get("snapshot_id"),
                ":targets": record["targets"],
                ":false": False,
                ":true": True,
                ":events": {record["event_id"]},
            },
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return Claim.CORRECTION, stored
    except ClientError as error:
        if _code(error) != "ConditionalCheckFailedException":
            raise RetryableDeliveryError(f"cannot claim delivery {key}: {error}") from error
    raise RetryableDeliveryError(f"delivery {key} is being published by another invocation; retry later")


def mark_target_published(table: Any, claim: dict[str, Any], target: str, message_id: str) -> None:
    """Remember that ``target`` has this revision's message (a crash before this line repeats it)."""
    try:
        table.update_item(
            Key=claim_key(claim),
            UpdateExpression="ADD published_to :target SET last_message_id = :mid",
            ConditionExpression="revision = :rev",
            ExpressionAttributeValues={":target": {target}, ":mid": message_id, ":rev": claim["revision"]},
        )
    except ClientError as error:
        raise RetryableDeliveryError(f"published {message_id} to {target} but could not record it: {error}") from error


def mark_published(table: Any, claim: dict[str, Any], published_at: str) -> None:
    """Every target has the message: set ``published`` and drop the lease."""
    try:
        table.update_item(
            Key=claim_key(claim),
            UpdateExpression="SET published = :true, published_at = :at REMOVE lease_owner, lease_expires_at",
            ConditionExpression="revision = :rev",
            ExpressionAttributeValues={":true": True, ":at": published_at, ":rev": claim["revision"]},
        )
    except ClientError as error:
        raise RetryableDeliveryError(f"could not mark {claim_key(claim)} published: {error}") from error


def record_delivery(table: Any, claim: dict[str, Any]) -> bool:
    """Write the delivery record the SLO sweeper reads, once the delivery is complete.

    Item ``product_key``/``period_key``: ``delivered_at`` (the first complete delivery: an SLO
    counts the first one), ``revision``, ``event_id``, ``location``, ``partition``,
    ``snapshot_id``, ``corrected_at`` (for revisions > 1). Idempotent; never moves
    ``delivered_at``. Returns True when the item changed.
    """
    key = {"product_key": claim["product_key"], "period_key": period_of(claim)}
    try:
        table.update_item(
            Key=key,
            UpdateExpression="SET delivered_at = if_not_exists(delivered_at, :at), revision = :rev, "
            "event_id = :event, #loc = :loc, #part = :part, snapshot_id = :snap, #dom = :dom, product = :product, "
            "published = :true" + (", corrected_at = :at" if int(claim["revision"]) > 1 else ""),
            ConditionExpression="attribute_not_exists(revision) OR revision < :rev",
            ExpressionAttributeNames={"#loc": "location", "#part": "partition", "#dom": "domain"},
            ExpressionAttributeValues={
                ":at": claim["revision_at"],
                ":rev": claim["revision"],
                ":event": claim["event_id"],
                ":loc": claim["location"],
                ":part": claim.get("partition") or {},
                ":snap": claim.get("snapshot_id"),
                ":dom": claim["domain"],
                ":product": claim["product"],
                ":true": True,
            },
        )
    except ClientError as error:
        if _code(error) == "ConditionalCheckFailedException":
            return False
        raise RetryableDeliveryError(f"cannot record delivery {key}: {error}") from error
    return True


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
                ":at": record["revision_at"],
                ":period": period_of(record),
                ":event": record["event_id"],
            },
        )
    except ClientError as error:
        if _code(error) == "ConditionalCheckFailedException":
            return False
        raise RetryableDeliveryError(f"cannot update the latest delivery {key}: {error}") from error
    return True


def publish(sns: Any, topic_arn: str, record: dict[str, Any]) -> str:
    """Publish the refresh notification with filterable attributes; return the message id."""
    message = build_message(record)
    kwargs: dict[str, Any] = {
        "TopicArn": topic_arn,
        "Message": json.dumps(message, sort_keys=True, default=str),
        "MessageAttributes": {
            "domain": {"DataType": "String", "StringValue": record["domain"]},
            "product": {"DataType": "String", "StringValue": record["product"]},
            "event_type": {"DataType": "String", "StringValue": "refresh"},
            "delivery_id": {"DataType": "String", "StringValue": message["delivery_id"]},
        },
    }
    if topic_arn.endswith(".fifo"):
        kwargs["MessageGroupId"] = record["product_key"]
        kwargs["MessageDeduplicationId"] = deduplication_id(message["delivery_id"])
    return sns.publish(**kwargs)["MessageId"]


def release_lease(table: Any, record: dict[str, Any], owner: str) -> None:
    """Give the lease back after a failed publish so the next retry can publish at once."""
    try:
        table.update_item(
            Key=claim_key(record),
            UpdateExpression="REMOVE lease_owner, lease_expires_at",
            ConditionExpression="lease_owner = :owner",
            ExpressionAttributeValues={":owner": owner},
        )
    except ClientError as error:  # the lease simply expires instead
        log(logging.WARNING, "could not release publish lease", error=str(error))
