"""Records each landed file version in the file-metadata table (handler ``file_ingestion.handler.main``).

Input: an S3 ``Object Created`` event delivered by EventBridge (``detail.bucket.name``, ``detail.object.key``,
``version-id``, ``sequencer``, ``size``, ``etag``). The key is parsed with the pipeline's pattern
(:mod:`.keys`); the item (:mod:`.items`) is written with one conditional ``PutItem`` on
``(object_uri, version_id)``:

- a key that matches: a ``PENDING`` item on the work queue (the Glue job converts it);
- a key that does not match, a date that is no date, or a file type without a schema: a ``REJECTED`` item
  with ``reject_reason`` (never queued, never retried) and the metric ``FilesRejected``;
- the same event again (EventBridge and Lambda deliver at least once): the condition fails, nothing changes
  (``DuplicateEvents``); a re-uploaded file has a new version id (or sequencer), hence its own item.

Guarantee: every object version that S3 announces is recorded exactly once (at-least-once delivery made
idempotent by the conditional write; the put is the only side effect, so a crash before it is a retry and a
crash after it a duplicate). AWS errors (throttling after botocore's retries, access denied) are raised:
Lambda retries the event, then it goes to the dead-letter queue (alarmed), from which it can be redriven
safely. An event without bucket or key is sent once to ``REJECTED_QUEUE_URL`` (the same queue) with its reason.

Metrics: CloudWatch embedded metric format in the log (no ``PutMetricData`` call), namespace
``meshworks/FileIngestion``, dimension ``Pipeline``: ``FilesRecorded``, ``FilesRejected``, ``DuplicateEvents``.

Environment: ``TABLE_NAME``, ``KEY_PATTERN``, ``PIPELINE_NAME`` (required); ``DATE_FORMAT`` (default
``%Y-%m-%d``), ``FILE_TYPES`` (comma-separated file types with a schema; empty: any), ``REJECTED_QUEUE_URL``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from . import items
from .keys import DEFAULT_DATE_FORMAT, KeyRejected, ParsedKey, compile_key_pattern, parse_key

_BOTO_CONFIG = BotoConfig(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10)
NAMESPACE = "meshworks/FileIngestion"
LOGGER = logging.getLogger("file_ingestion")
LOGGER.setLevel(logging.INFO)


class MalformedEvent(ValueError):
    """The event names no bucket or key: nothing to record."""


@dataclass(frozen=True)
class Config:
    table_name: str
    key_pattern: re.Pattern[str]
    pipeline: str
    date_format: str = DEFAULT_DATE_FORMAT
    file_types: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, env: Any) -> Config:
        date_format = env.get("DATE_FORMAT") or DEFAULT_DATE_FORMAT
        return cls(
            table_name=env["TABLE_NAME"],
            key_pattern=compile_key_pattern(env["KEY_PATTERN"], date_format),
            pipeline=env["PIPELINE_NAME"],
            date_format=date_format,
            file_types=frozenset(t for t in env.get("FILE_TYPES", "").split(",") if t),
        )


@dataclass(frozen=True)
class ObjectVersion:
    """One ``Object Created`` event's object."""

    bucket: str
    key: str
    version_id: str
    sequencer: str
    size: int
    etag: str
    landed_at: str
    event_id: str

    @property
    def uri(self) -> str:
        return items.object_uri(self.bucket, self.key)


def parse_event(event: Any) -> ObjectVersion:
    """The object of an EventBridge S3 ``Object Created`` event; the key is used as delivered (S3's classic
    notifications URL-encode keys; whether EventBridge's do for keys with spaces or ``+`` is not verified here, so
    landing keys should keep to the pattern's characters).

    Raises:
        MalformedEvent: no bucket name, key, or neither version id nor sequencer.
    """
    detail = event.get("detail") if isinstance(event, dict) else None
    bucket = ((detail or {}).get("bucket") or {}).get("name")
    obj = (detail or {}).get("object") or {}
    key = obj.get("key")
    if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
        raise MalformedEvent("not an S3 Object Created event: detail.bucket.name and detail.object.key are required")
    sequencer = str(obj.get("sequencer") or "")
    version_id = obj.get("version-id") or (f"sequencer:{sequencer}" if sequencer else "")
    if not version_id:
        raise MalformedEvent(f"event for s3://{bucket}/{key} has neither version-id nor sequencer: cannot tell versions apart")
    return ObjectVersion(
        bucket=bucket, key=key, version_id=str(version_id), sequencer=sequencer, size=int(obj.get("size") or 0),
        etag=str(obj.get("etag") or ""), landed_at=str(event.get("time") or _now_iso()), event_id=str(event.get("id") or ""),
    )


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_item(obj: ObjectVersion, config: Config, now_iso: str) -> dict[str, Any]:
    """The item recording ``obj``: ``PENDING`` and queued, or ``REJECTED`` with the reason."""
    item: dict[str, Any] = {
        items.PARTITION_KEY: obj.uri, items.SORT_KEY: obj.version_id, "bucket": obj.bucket, "key": obj.key,
        "sequencer": obj.sequencer, "size": obj.size, "etag": obj.etag, "landed_at": obj.landed_at,
        "recorded_at": now_iso, "event_id": obj.event_id, "attempts": 0,
    }
    try:
        parsed: ParsedKey = parse_key(config.key_pattern, obj.key, config.date_format)
        if config.file_types and parsed.file_type not in config.file_types:
            raise KeyRejected(
                f"key {obj.key!r}: file type {parsed.file_type!r} has no schema in this pipeline "
                f"(known: {', '.join(sorted(config.file_types))}): add its Avro schema to FileIngestion(schemas=...)"
            )
    except KeyRejected as error:
        return {**item, "state": items.REJECTED, "reject_reason": str(error)}
    item.update(
        tenant=parsed.tenant, site=parsed.site, date=parsed.date, file_type=parsed.file_type,
        dataset=f"{parsed.tenant}/{parsed.site}/{parsed.file_type}", state=items.PENDING,
        **{items.WORK_QUEUE_ATTRIBUTE: items.work_queue_shard(obj.uri, obj.version_id)},
    )
    if parsed.extra:
        item["key_groups"] = parsed.extra
    return item


def record(table: Any, item: dict[str, Any]) -> bool:
    """Write ``item`` unless its ``(object_uri, version_id)`` exists; False for a duplicate. Other errors raise."""
    try:
        table.put_item(Item=item, ConditionExpression="attribute_not_exists(object_uri)")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def emit_metric(pipeline: str, name: str, value: int = 1) -> None:
    """One CloudWatch metric in embedded metric format (a log line CloudWatch turns into the metric)."""
    print(json.dumps({
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [
            {"Namespace": NAMESPACE, "Dimensions": [["Pipeline"]], "Metrics": [{"Name": name, "Unit": "Count"}]}
        ]},
        "Pipeline": pipeline, name: value,
    }))


_TABLE: Any = None


def get_table(name: str) -> Any:
    global _TABLE
    if _TABLE is None or _TABLE.name != name:
        _TABLE = boto3.resource("dynamodb", config=_BOTO_CONFIG).Table(name)
    return _TABLE


def reset_clients() -> None:
    """Forget cached clients (tests)."""
    global _TABLE
    _TABLE = None


def process(event: Any, config: Config, table: Any) -> dict[str, Any]:
    """Record one event; returns ``{"outcome": "recorded"|"rejected"|"duplicate", ...}``."""
    obj = parse_event(event)
    item = build_item(obj, config, _now_iso())
    written = record(table, item)
    context = {"object_uri": obj.uri, "version_id": obj.version_id, "event_id": obj.event_id}
    if not written:
        emit_metric(config.pipeline, "DuplicateEvents")
        LOGGER.info(json.dumps({"message": "duplicate event, already recorded", **context}))
        return {"outcome": "duplicate", **context}
    if item["state"] == items.REJECTED:
        emit_metric(config.pipeline, "FilesRejected")
        LOGGER.warning(json.dumps({"message": "file rejected", "reason": item["reject_reason"], **context}))
        return {"outcome": "rejected", "reason": item["reject_reason"], **context}
    emit_metric(config.pipeline, "FilesRecorded")
    LOGGER.info(json.dumps({"message": "file recorded", "dataset": item["dataset"], **context}))
    return {"outcome": "recorded", **context}


def main(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point. A malformed event goes once to ``REJECTED_QUEUE_URL`` (not retried); AWS errors raise."""
    config = Config.from_env(os.environ)
    try:
        return process(event, config, get_table(config.table_name))
    except MalformedEvent as error:
        LOGGER.error(json.dumps({"message": "event rejected", "error": str(error)}))
        queue_url = os.environ.get("REJECTED_QUEUE_URL")
        if not queue_url:
            raise
        boto3.client("sqs", config=_BOTO_CONFIG).send_message(
            QueueUrl=queue_url, MessageBody=json.dumps(event, default=str),
            MessageAttributes={
                "ErrorCode": {"DataType": "String", "StringValue": "MalformedEvent"},
                "ErrorMessage": {"DataType": "String", "StringValue": str(error)[:4096]},
            },
        )
        return {"outcome": "malformed", "reason": str(error)}
