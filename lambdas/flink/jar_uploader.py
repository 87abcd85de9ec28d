"""Flink jar uploader Lambda (handler ``flink.jar_uploader.main``) - Goldman Sachs' "Upload Lambda".

A ``.jar`` lands in the artifact bucket -> this function streams it to the Flink REST API
(``POST /jars/upload``) of the long-running Flink-on-EMR cluster and records the jar id Flink assigned, so
that the job runner can start jobs by jar *name*:

``s3://<ARTIFACT_BUCKET or the event's bucket>/<JAR_ID_PREFIX><jar name>.json``::

    {"version": 1, "status": "UPLOADED", "bucket": "...", "key": "deploy/my-job.jar", "etag": "...",
     "version_id": null, "size": 1234, "jar_name": "my-job.jar", "jar_id": "<uuid>_my-job.jar",
     "flink_filename": "/tmp/flink-web-.../flink-web-upload/<uuid>_my-job.jar",
     "flink_rest_url": "http://internal-nlb:8081", "uploaded_at": "2026-01-01T00:00:00+00:00"}

Behaviour:

* keys not ending in ``.jar`` are ignored with a log line;
* idempotent: an ``UPLOADED`` record for the same key and S3 ETag means the jar is already on the cluster,
  so duplicate events upload nothing;
* Flink unreachable (connection refused, timeout, 502/503/504) or a 5xx answer: the error is raised, so
  Lambda retries the event and then hands it to the function's DLQ / on-failure destination;
* Flink refuses the jar with a 4xx (not a jar, too large for ``rest.server.max-content-length``...): a
  ``FAILED`` record with Flink's errors is written instead (the runner reports it), and nothing is raised,
  because retrying cannot help;
* S3 errors (AccessDenied, throttling) are raised.

Records are keyed by the jar's file name: ``a/my-job.jar`` and ``b/my-job.jar`` share one record (the
latest upload wins), matching the name Flink shows. Jars uploaded through the REST API live in the
JobManager's web upload directory; after a JobManager restart they are gone and must be uploaded again
(re-copy the jar to S3).

Environment: ``FLINK_REST_URL`` (required, e.g. ``http://internal-nlb:8081``), ``ARTIFACT_BUCKET`` (bucket
for records; default: the bucket of the event), ``JAR_ID_PREFIX`` (``jar-ids/``),
``HTTP_TIMEOUT_SECONDS`` (10), ``LOG_LEVEL`` (INFO).
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from .flink_rest import FlinkClient, FlinkRequestError
from .s3_events import S3ObjectRef, clean_etag, parse_s3_event, s3_client

LOG = logging.getLogger(__name__)

RECORD_VERSION = 1
CHUNK_BYTES = 1024 * 1024

@dataclass(frozen=True)
class Settings:
    """Configuration read from the environment."""

    flink_rest_url: str
    record_bucket: str | None = None
    jar_id_prefix: str = "jar-ids/"
    http_timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from environment variables (see the module docstring)."""
        url = (env.get("FLINK_REST_URL") or "").strip()
        if not url:
            raise ValueError("FLINK_REST_URL is not set: point it at the Flink REST API, e.g. http://internal-nlb:8081")
        raw_timeout = (env.get("HTTP_TIMEOUT_SECONDS") or "").strip() or "10"
        try:
            timeout = float(raw_timeout)
        except ValueError:
            raise ValueError(f"HTTP_TIMEOUT_SECONDS must be a number, got {raw_timeout!r}") from None
        if timeout <= 0:
            raise ValueError(f"HTTP_TIMEOUT_SECONDS must be > 0, got {raw_timeout!r}")
        return cls(
            flink_rest_url=url,
            record_bucket=(env.get("ARTIFACT_BUCKET") or "").strip() or None,
            jar_id_prefix=env.get("JAR_ID_PREFIX") or "jar-ids/",
            http_timeout_seconds=timeout,
        )


def jar_name_of(key: str) -> str:
    """The file name of an S3 key: ``deploy/v2/my-job.jar`` -> ``my-job.jar``."""
    return posixpath.basename(key)


def record_key(prefix: str, jar_name: str) -> str:
    """Key of the jar-id record of ``jar_name``: ``jar-ids/my-job.jar.json``."""
    return f"{prefix}{jar_name}.json"


def jar_id_from_filename(filename: str) -> str:
    """Flink's jar id: the last path segment of the uploaded file name."""
    return posixpath.basename(filename.rstrip("/"))


def read_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The JSON object at ``s3://bucket/key``, or ``None`` if there is none (other S3 errors raise)."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    try:
        document = json.loads(body)
    except ValueError:
        LOG.warning("unreadable JSON object ignored", extra={"bucket": bucket, "key": key})
        return None
    return document if isinstance(document, dict) else None


def write_json(s3: Any, bucket: str, key: str, document: dict[str, Any]) -> None:
    """Write ``document`` as JSON to ``s3://bucket/key``."""
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(document, sort_keys=True, indent=2).encode(),
        ContentType="application/json",
    )


def process_object(
    ref: S3ObjectRef,
    settings: Settings,
    s3: Any,
    flink: FlinkClient,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> dict[str, Any]:
    """Upload one created object to Flink (if it is a new jar) and record its jar id.

    Returns ``{"key", "action"}`` with action ``ignored`` (not a jar), ``duplicate`` (already uploaded),
    ``uploaded`` or ``rejected`` (Flink refused it; a FAILED record was written).
    """
    if not ref.key.lower().endswith(".jar"):
        LOG.info("not a jar; ignored", extra={"bucket": ref.bucket, "key": ref.key})
        return {"key": ref.key, "action": "ignored"}
    jar_name = jar_name_of(ref.key)
    bucket = settings.record_bucket or ref.bucket
    key = record_key(settings.jar_id_prefix, jar_name)
    existing = read_json(s3, bucket, key)
    etag = ref.etag or clean_etag(s3.head_object(Bucket=ref.bucket, Key=ref.key).get("ETag"))
    if (
        existing
        and existing.get("status") == "UPLOADED"
        and existing.get("etag") == etag
        and existing.get("key") == ref.key
        and existing.get("bucket") == ref.bucket
    ):
        LOG.info(
            "jar already uploaded; skipped", extra={"key": ref.key, "etag": etag, "jar_id": existing.get("jar_id")}
        )
        return {"key": ref.key, "action": "duplicate", "jar_id": existing.get("jar_id")}

    obj = s3.get_object(Bucket=ref.bucket, Key=ref.key)
    etag = clean_etag(obj.get("ETag")) or etag
    record: dict[str, Any] = {
        "version": RECORD_VERSION,
        "bucket": ref.bucket,
        "key": ref.key,
        "etag": etag,
        "version_id": obj.get("VersionId") or ref.version_id,
        "size": obj.get("ContentLength"),
        "jar_name": jar_name,
        "flink_rest_url": settings.flink_rest_url,
    }
    body = obj["Body"]
    try:
        answer = flink.upload_jar(jar_name, body.iter_chunks(CHUNK_BYTES), int(obj["ContentLength"]))
    except FlinkRequestError as exc:
        if exc.status >= 500:
            LOG.error("Flink failed to store the jar; will retry", extra={"key": ref.key, "status": exc.status})
            raise
        LOG.error("Flink rejected the jar", extra={"key": ref.key, "status": exc.status, "errors": exc.errors})
        record.update(status="FAILED", error=str(exc), flink_errors=exc.errors, failed_at=now().isoformat())
        write_json(s3, bucket, key, record)
        return {"key": ref.key, "action": "rejected", "error": str(exc)}
    finally:
        body.close()

    answer = answer if isinstance(answer, dict) else {}
    filename = answer.get("filename")
    if answer.get("status") != "success" or not isinstance(filename, str) or not filename:
        message = f"Flink upload answer has no filename or status 'success': {json.dumps(answer)[:500]}"
        LOG.error("unexpected Flink upload answer", extra={"key": ref.key, "answer": answer})
        record.update(status="FAILED", error=message, failed_at=now().isoformat())
        write_json(s3, bucket, key, record)
        return {"key": ref.key, "action": "rejected", "error": message}

    jar_id = jar_id_from_filename(filename)
    record.update(status="UPLOADED", jar_id=jar_id, flink_filename=filename, uploaded_at=now().isoformat())
    write_json(s3, bucket, key, record)
    LOG.info(
        "jar uploaded to Flink",
        extra={"key": ref.key, "etag": etag, "jar_id": jar_id, "record": f"s3://{bucket}/{key}"},
    )
    return {"key": ref.key, "action": "uploaded", "jar_id": jar_id}


def process_event(event: Any, settings: Settings, s3: Any, flink: FlinkClient) -> dict[str, Any]:
    """Handle every object of ``event``; errors that deserve a retry propagate."""
    results = [process_object(ref, settings, s3, flink) for ref in parse_s3_event(event)]
    return {"results": results}


def main(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (environment: see the module docstring)."""
    logging.getLogger().setLevel(os.environ.get("LOG_LEVEL", "INFO"))
    settings = Settings.from_env(os.environ)
    flink = FlinkClient(settings.flink_rest_url, timeout=settings.http_timeout_seconds)
    summary = process_event(event, settings, s3_client(), flink)
    LOG.info("uploader finished", extra={"summary": summary})
    return summary
