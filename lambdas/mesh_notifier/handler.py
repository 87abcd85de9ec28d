"""Hub-side notifier for ``DataProductRefreshed`` events (handler ``mesh_notifier.handler.main``).

For each refresh it checks the announcing account against the product's producer, claims the
delivery (``claim#<period>`` item with a lease), registers the Glue partition, publishes one SNS
message per topic (the hub topic and each consumer account's topic, attributes ``domain``/
``product``/``event_type``/``delivery_id`` for filter policies), then records the delivery
(item ``product_key``/``period_key``, and the product's ``latest`` item, see
:func:`.steps.record_latest`) and writes the 0-byte ``_SUCCESS`` marker last.

Guarantee: at least once per topic, with the dedupe key ``delivery_id`` in every message (the
same for every copy of a delivery); a replayed event is a no-op, a new announcement of a period
already delivered is a correction (``revision`` + 1, a new ``delivery_id``). See docs/mesh.md.

Environment: ``DELIVERY_TABLE`` and ``TOPIC_ARN`` (required), ``CATALOG_ID``, ``DATABASE_PREFIX``,
``CONSUMER_TOPIC_PREFIX``, ``PRODUCER_ACCOUNTS`` (comma-separated), ``LEASE_SECONDS`` and
``REJECTED_QUEUE_URL`` (optional).

An event that can never succeed (``NonRetryableEventError``: a bad partition value, an unknown
table, another account's product...) is sent once to ``REJECTED_QUEUE_URL`` (the function's dead-letter
queue, with Lambda's ``ErrorCode``/``ErrorMessage`` attributes) and not raised, so Lambda does not retry
it twice first.
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
    build_message,
    check_producer_account,
    data_location,
    log,
    ordered_partition_values,
    parse_event,
    period_key,
    publish_targets,
    table_info,
    typed_event,
    utc_now_iso,
)
from .steps import (
    Claim,
    claim_delivery,
    get_table,
    mark_published,
    mark_target_published,
    publish,
    put_marker,
    record_delivery,
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
    global _CLIENTS
    _CLIENTS = None


def process(event: dict[str, Any], config: Config, clients: Clients, now: datetime, owner: str) -> dict[str, Any]:
    """Deliver one refresh event; return a summary of what was done.

    Raises:
        NonRetryableEventError: bad event, unknown table, partition keys that do not match, an
            account that may not announce the product.
        RetryableDeliveryError: AWS failures worth retrying (access denied, throttling, ...).
    """
    refresh = parse_event(event)
    database = f"{config.database_prefix}{refresh.domain}"
    table = get_table(clients.glue, config, database, refresh.product)
    info = table_info(table)
    account_check = check_producer_account(refresh, table, config.producer_accounts)
    refresh = typed_event(info, refresh)  # keys matched, values checked against their Glue types
    location = data_location(info, refresh)
    period = period_key(info, refresh)
    context = {"event_id": refresh.event_id, "product_key": refresh.product_key, "period_key": period}

    record: dict[str, Any] = {
        "product_key": refresh.product_key,
        "period_key": period,
        "domain": refresh.domain,
        "product": refresh.product,
        "partition": refresh.partition,
        "location": location,
        "revision_at": utc_now_iso(now),
        "event_id": refresh.event_id,
        "snapshot_id": refresh.snapshot_id,
        "targets": publish_targets(config, table),
    }
    claim, stored = claim_delivery(clients.table, record, owner, int(now.timestamp()), config.lease_seconds)
    partition_created = False
    published: dict[str, str] = {}
    try:
        # The stored claim decides what is published and registered: a replayed older event never
        # undoes a correction.
        if stored.get("partition") and info.registers_partitions:
            values = ordered_partition_values(info, stored["partition"])
            partition_created = register_partition(
                clients.glue, config, info, values, stored["location"], update_existing=int(stored["revision"]) > 1
            )
        if claim is not Claim.DUPLICATE:
            done = set(stored.get("published_to") or ())
            for target in stored.get("targets") or [config.topic_arn]:
                if target in done:
                    continue
                try:
                    published[target] = publish(clients.sns, target, stored)
                except ClientError as error:
                    if target != config.topic_arn and _code(error) == "NotFound":
                        log(logging.ERROR, "consumer topic missing; skipped", topic_arn=target, **context)
                        continue
                    raise RetryableDeliveryError(f"publish to {target} failed: {error}") from error
                mark_target_published(clients.table, stored, target, published[target])
            mark_published(clients.table, stored, utc_now_iso(datetime.now(timezone.utc)))
    except MeshNotifierError:
        if claim is not Claim.DUPLICATE:
            _release_lease(clients.table, stored, owner)
        raise
    # Only now is the delivery complete: what the SLO sweeper reads comes last (every outcome
    # runs these idempotent steps, so a crash before them is finished by the retry).
    recorded = record_delivery(clients.table, stored)
    latest_updated = record_latest(clients.table, stored)
    marker_created = put_marker(clients.s3, stored["location"], build_message(stored)["delivery_id"])
    summary = {
        **context,
        "revision": int(stored["revision"]),
        "producer_check": account_check,
        "marker_created": marker_created,
        "partition_created": partition_created,
        "recorded": recorded,
        "latest_updated": latest_updated,
    }
    if claim is Claim.DUPLICATE:
        log(logging.INFO, "duplicate delivery, already published", **summary)
        return {**summary, "claim": claim.value, "published": False}
    log(logging.INFO, "delivery published", message_ids=published, claim=claim.value, **summary)
    message_id = published.get(config.topic_arn) or next(iter(published.values()), None)
    return {**summary, "claim": claim.value, "published": True, "message_id": message_id, "message_ids": published}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def reject(event: Any, error: NonRetryableEventError, queue_url: str) -> dict[str, Any]:
    """Send a rejected event once to the dead-letter queue, as Lambda's own DLQ does, and return.

    Raising would make Lambda retry the event twice for nothing. The message body is the event;
    the attributes ``ErrorCode``/``ErrorMessage`` say why (the DLQ is alarmed). If the send fails,
    the error is raised instead, so Lambda retries and the event still ends in the DLQ.
    """
    boto3.client("sqs", config=_BOTO_CONFIG).send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(event, default=str),
        MessageAttributes={
            "ErrorCode": {"DataType": "String", "StringValue": type(error).__name__},
            "ErrorMessage": {"DataType": "String", "StringValue": str(error)[:4096]},
        },
    )
    return {"rejected": True, "reason": str(error)}


def main(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: thin wrapper around :func:`process`.

    A rejected event (``NonRetryableEventError``) goes once to ``REJECTED_QUEUE_URL`` (the function's
    DLQ) when set, instead of being raised and retried.
    """
    owner = getattr(context, "aws_request_id", None) or str(uuid.uuid4())
    try:
        config = Config.from_env(os.environ)
        return process(event, config, get_clients(config), datetime.now(timezone.utc), owner)
    except MeshNotifierError as error:
        log(
            logging.ERROR,
            "delivery failed" if isinstance(error, RetryableDeliveryError) else "event rejected",
            error_type=type(error).__name__,
            error=str(error),
            event_id=event.get("id") if isinstance(event, dict) else None,
        )
        queue_url = os.environ.get("REJECTED_QUEUE_URL")
        if not isinstance(error, NonRetryableEventError) or not queue_url:
            raise
        try:
            result = reject(event, error, queue_url)
        except ClientError:  # not recorded: let Lambda retry and dead-letter it
            raise error from None
        return {**result, "error_type": type(error).__name__, "error": str(error)}
