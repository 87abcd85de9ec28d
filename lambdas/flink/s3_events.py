"""Object-created events from S3, in every shape a Lambda receives them.

Supported shapes (nested ones are unwrapped recursively):

* S3 event notification: ``{"Records": [{"eventSource": "aws:s3", "s3": {...}}]}``; the key is URL-encoded
  there (``"red flower.jar"`` arrives as ``"red+flower.jar"``) and is decoded here;
* EventBridge ``"Object Created"`` from ``aws.s3``: ``{"detail": {"bucket": ..., "object": ...}}``; the key
  is literal there;
* SQS records whose body is one of the above, and SNS records whose message is one of the above.

The S3 ``s3:TestEvent`` and non-creation records (``ObjectRemoved:*``) yield nothing. Anything else is a
wiring mistake and raises :class:`UnsupportedEventError`.

Used by both handlers of this package, ``flink.jar_uploader`` and ``flink.job_runner`` (one asset,
two functions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import boto3


class UnsupportedEventError(ValueError):
    """The event is not an S3 object-created event in a supported shape."""


@dataclass(frozen=True)
class S3ObjectRef:
    """One created S3 object named by an event."""

    bucket: str
    key: str
    etag: str | None = None
    version_id: str | None = None
    size: int | None = None
    source: str = "s3"


def clean_etag(etag: Any) -> str | None:
    """An ETag without surrounding quotes, or ``None``."""
    if not isinstance(etag, str) or not etag.strip('"'):
        return None
    return etag.strip('"')


def parse_s3_event(event: Any) -> list[S3ObjectRef]:
    """Every created object named by ``event`` (see the module docstring for the shapes)."""
    if not isinstance(event, dict):
        raise UnsupportedEventError(f"expected an event object, got {type(event).__name__}")
    if event.get("Event") == "s3:TestEvent":
        return []
    if "Records" in event:
        refs: list[S3ObjectRef] = []
        for record in event.get("Records") or []:
            refs.extend(_parse_record(record))
        return refs
    if "detail" in event and "detail-type" in event:
        return _parse_eventbridge(event)
    raise UnsupportedEventError(
        "event has neither 'Records' (S3 notification, SQS, SNS) nor 'detail' (EventBridge); "
        f"top-level keys: {sorted(event)[:10]}"
    )


def _parse_record(record: Any) -> list[S3ObjectRef]:
    if not isinstance(record, dict):
        raise UnsupportedEventError("an event record is not an object")
    source = record.get("eventSource") or record.get("EventSource")
    if source == "aws:sqs":
        return parse_s3_event(_json(record.get("body"), "SQS message body"))
    if source == "aws:sns":
        return parse_s3_event(_json((record.get("Sns") or {}).get("Message"), "SNS message"))
    if "s3" not in record:
        raise UnsupportedEventError(f"event record from {source!r} has no 's3' section")
    if not str(record.get("eventName", "ObjectCreated")).startswith("ObjectCreated"):
        return []
    s3 = record["s3"]
    obj = s3.get("object") or {}
    try:
        bucket = s3["bucket"]["name"]
        key = unquote_plus(obj["key"])
    except (KeyError, TypeError) as exc:
        raise UnsupportedEventError(f"S3 notification record lacks {exc}") from exc
    return [
        S3ObjectRef(
            bucket=bucket,
            key=key,
            etag=clean_etag(obj.get("eTag") or obj.get("etag")),
            version_id=obj.get("versionId") or None,
            size=obj.get("size"),
            source="s3-notification",
        )
    ]


def _parse_eventbridge(event: dict[str, Any]) -> list[S3ObjectRef]:
    if event.get("source") not in (None, "aws.s3") or event.get("detail-type") != "Object Created":
        return []
    detail = event.get("detail") or {}
    obj = detail.get("object") or {}
    try:
        bucket = detail["bucket"]["name"]
        key = obj["key"]
    except (KeyError, TypeError) as exc:
        raise UnsupportedEventError(f"EventBridge 'Object Created' event lacks {exc}") from exc
    return [
        S3ObjectRef(
            bucket=bucket,
            key=key,
            etag=clean_etag(obj.get("etag")),
            version_id=obj.get("version-id") or None,
            size=obj.get("size"),
            source="eventbridge",
        )
    ]


def _json(text: Any, what: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise UnsupportedEventError(f"{what} is not JSON") from exc


_S3_CLIENT: Any = None


def s3_client() -> Any:
    """The S3 client shared by both handlers, created on first use and kept for warm invocations."""
    global _S3_CLIENT
    if _S3_CLIENT is None:
        _S3_CLIENT = boto3.client("s3")
    return _S3_CLIENT


def reset_clients() -> None:
    """Forget the cached client (tests)."""
    global _S3_CLIENT
    _S3_CLIENT = None
