"""Flink job runner Lambda (handler ``flink.job_runner.main``) - Goldman Sachs' "Run Lambda".

A request file (JSON, see :mod:`.request`) is created under ``REQUEST_PREFIX`` -> this function validates it,
resolves the jar id (from ``jar_id``, or from the ``jar`` name through the record written by
``flink.jar_uploader``), starts the job with ``POST /jars/{jar_id}/run``, optionally confirms it reached
RUNNING with a bounded number of ``GET /jobs/{job_id}`` polls, and writes a result file with the same
relative name under ``RESULT_PREFIX`` (``requests/team/x.json`` -> ``results/team/x.json``)::

    {"version": 1, "status": "SUCCEEDED" | "FAILED", "error": null | "...", "flink_errors": [...],
     "request": {"bucket": "...", "key": "requests/team/x.json", "etag": "..."},
     "jar": "my-job.jar", "jar_id": "<uuid>_my-job.jar", "job_id": "<32 hex>", "job_state": "RUNNING",
     "confirmed": true, "flink_rest_url": "...", "received_at": "...", "completed_at": "..."}

Decisions:

* **Idempotent per request key**: an existing result file means the request was handled; the event is
  skipped. Use a new key for a new run. In addition the job id sent to Flink (``jobId``) is derived from
  the request's bucket, key and ETag, so a retry after a lost result cannot start the job twice: Flink
  refuses a duplicate job id, which is reported as SUCCEEDED ("already submitted").
* **Invalid request** (not JSON, bad fields, unknown jar): FAILED result naming every problem; no raise.
* **Flink rejects the job** (HTTP 4xx/5xx with Flink's ``{"errors": [...]}``): FAILED result carrying Flink's
  errors; no raise (a retry gets the same answer).
* **Flink unreachable** (connection refused, timeout, 502/503/504): transient, so the error is raised and
  Lambda retries the event; the attempt count is kept in ``s3://<result bucket>/<STATE_PREFIX><name>``.
  The attempt that reaches ``MAX_ATTEMPTS`` (default 3 = Lambda's first try plus its 2 async retries)
  writes a FAILED result instead of raising, so every request ends with a result file. Earlier attempts
  still show as Lambda errors (alarm on them).
* **Job failed right after start** (state FAILED/FAILING/CANCELED/CANCELLING while polling): FAILED result
  with Flink's root exception. A job still starting after the polls, or whose state cannot be read, is
  SUCCEEDED with ``confirmed: false`` (it was accepted; never resubmitted).
* **S3 errors** (AccessDenied, throttling...): raised, for the platform's retries and DLQ.

Lambda timeout must cover ``HTTP_TIMEOUT_SECONDS * (CONFIRM_POLLS + 3) + POLL_INTERVAL_SECONDS *
CONFIRM_POLLS`` (about 90 s with the defaults; use 120 s).

Environment: ``FLINK_REST_URL`` (required), ``ARTIFACT_BUCKET`` (bucket of the jar-id records; default: the
request's bucket), ``JAR_ID_PREFIX`` (``jar-ids/``), ``REQUEST_PREFIX`` (``requests/``), ``RESULT_PREFIX``
(``results/``), ``RESULT_BUCKET`` (default: the request's bucket), ``STATE_PREFIX`` (``runner-state/``),
``MAX_ATTEMPTS`` (3), ``CONFIRM_POLLS`` (5; 0 = do not confirm), ``POLL_INTERVAL_SECONDS`` (2),
``HTTP_TIMEOUT_SECONDS`` (10), ``LOG_LEVEL`` (INFO).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from .flink_rest import FlinkClient, FlinkError, FlinkRequestError, FlinkUnavailableError
from .request import RequestError, RunRequest, parse_request
from .s3_events import S3ObjectRef, clean_etag, parse_s3_event, s3_client

LOG = logging.getLogger(__name__)

RESULT_VERSION = 1
CONFIRMED_STATES = frozenset({"RUNNING", "FINISHED"})
FAILED_STATES = frozenset({"FAILED", "FAILING", "CANCELED", "CANCELLING"})
_DUPLICATE_MARKERS = ("DuplicateJobSubmissionException", "has already been submitted")
_NOT_FOUND = ("NoSuchKey", "404", "NotFound")

def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if isinstance(default, int) and not value.is_integer():
        raise ValueError(f"{name} must be a whole number, got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """Configuration read from the environment."""

    flink_rest_url: str
    artifact_bucket: str | None = None
    jar_id_prefix: str = "jar-ids/"
    request_prefix: str = "requests/"
    result_prefix: str = "results/"
    result_bucket: str | None = None
    state_prefix: str = "runner-state/"
    max_attempts: int = 3
    confirm_polls: int = 5
    poll_interval_seconds: float = 2.0
    http_timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build and check settings from environment variables (see the module docstring)."""
        url = (env.get("FLINK_REST_URL") or "").strip()
        if not url:
            raise ValueError("FLINK_REST_URL is not set: point it at the Flink REST API, e.g. http://internal-nlb:8081")
        settings = cls(
            flink_rest_url=url,
            artifact_bucket=(env.get("ARTIFACT_BUCKET") or "").strip() or None,
            jar_id_prefix=env.get("JAR_ID_PREFIX") or "jar-ids/",
            request_prefix=env.get("REQUEST_PREFIX", "requests/"),
            result_prefix=env.get("RESULT_PREFIX") or "results/",
            result_bucket=(env.get("RESULT_BUCKET") or "").strip() or None,
            state_prefix=env.get("STATE_PREFIX") or "runner-state/",
            max_attempts=int(_number(env, "MAX_ATTEMPTS", 3)),
            confirm_polls=int(_number(env, "CONFIRM_POLLS", 5)),
            poll_interval_seconds=_number(env, "POLL_INTERVAL_SECONDS", 2.0),
            http_timeout_seconds=_number(env, "HTTP_TIMEOUT_SECONDS", 10.0),
        )
        problems = []
        if settings.max_attempts < 1:
            problems.append(f"MAX_ATTEMPTS must be >= 1, got {settings.max_attempts}")
        if not 0 <= settings.confirm_polls <= 60:
            problems.append(f"CONFIRM_POLLS must be 0..60, got {settings.confirm_polls}")
        if settings.poll_interval_seconds < 0 or settings.http_timeout_seconds <= 0:
            problems.append("POLL_INTERVAL_SECONDS must be >= 0 and HTTP_TIMEOUT_SECONDS > 0")
        if settings.request_prefix in (settings.result_prefix, settings.state_prefix):
            problems.append("REQUEST_PREFIX must differ from RESULT_PREFIX and STATE_PREFIX")
        if problems:
            raise ValueError("; ".join(problems))
        return settings


def deterministic_job_id(bucket: str, key: str, etag: str | None) -> str:
    """A Flink job id (32 hex digits) fixed by the request object, so a retry cannot start a second job."""
    return hashlib.sha256(f"s3://{bucket}/{key}#{etag or ''}".encode()).hexdigest()[:32]


def read_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The JSON object at ``s3://bucket/key``, or ``None`` if missing or not a JSON object."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
            return None
        raise
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def object_exists(s3: Any, bucket: str, key: str) -> bool:
    """Whether ``s3://bucket/key`` exists (needs ``s3:ListBucket`` to tell "missing" from "denied")."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
            return False
        raise
    return True


def write_json(s3: Any, bucket: str, key: str, document: dict[str, Any]) -> None:
    """Write ``document`` as JSON to ``s3://bucket/key``."""
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(document, sort_keys=True, indent=2).encode(),
        ContentType="application/json",
    )


def confirm_job(
    flink: FlinkClient, job_id: str, polls: int, interval: float, sleep: Callable[[float], None]
) -> tuple[str | None, str | None]:
    """Poll ``GET /jobs/{job_id}`` at most ``polls`` times (sleeping ``polls - 1`` times).

    Returns ``(state, note)``: the last state seen (``None`` if not polled, ``"UNKNOWN"`` if unreadable) and,
    for a failed job, its root exception, or for an unreadable state, why.
    """
    state: str | None = None
    for attempt in range(polls):
        if attempt:
            sleep(interval)
        try:
            state = str(flink.get_job(job_id).get("state") or "UNKNOWN").upper()
        except FlinkError as exc:
            return "UNKNOWN", f"job submitted but its state could not be read: {exc}"
        if state in CONFIRMED_STATES:
            return state, None
        if state in FAILED_STATES:
            return state, root_exception(flink, job_id)
    return state, None


def root_exception(flink: FlinkClient, job_id: str) -> str | None:
    """The first line of the job's root exception, if Flink reports one."""
    try:
        exceptions = flink.get_job_exceptions(job_id)
    except FlinkError:
        return None
    text = exceptions.get("root-exception")
    if not text:
        entries = (exceptions.get("exceptionHistory") or {}).get("entries") or []
        text = (entries[0].get("stacktrace") or entries[0].get("exceptionName")) if entries else None
    return str(text).strip().splitlines()[0] if text else None


class _Outcome(Exception):
    """Internal: stop processing a request with a FAILED result."""

    def __init__(self, error: str, **fields: Any) -> None:
        super().__init__(error)
        self.error = error
        self.fields = fields


@dataclass
class RequestContext:
    """Where one request's files live."""

    ref: S3ObjectRef
    settings: Settings

    @property
    def relative(self) -> str:
        return self.ref.key[len(self.settings.request_prefix) :]

    @property
    def result_bucket(self) -> str:
        return self.settings.result_bucket or self.ref.bucket

    @property
    def result_key(self) -> str:
        return self.settings.result_prefix + self.relative

    @property
    def state_key(self) -> str:
        return self.settings.state_prefix + self.relative

    @property
    def artifact_bucket(self) -> str:
        return self.settings.artifact_bucket or self.ref.bucket


def resolve_jar_id(request: RunRequest, ctx: RequestContext, s3: Any) -> str:
    """The Flink jar id of a request, from ``jar_id`` or from the uploader's record of ``jar``."""
    if request.jar_id:
        return request.jar_id
    assert request.jar is not None  # guaranteed by parse_request
    key = f"{ctx.settings.jar_id_prefix}{request.jar}.json"
    record = read_json(s3, ctx.artifact_bucket, key)
    location = f"s3://{ctx.artifact_bucket}/{key}"
    if record is None:
        raise _Outcome(
            f"jar {request.jar!r} is unknown: no jar-id record at {location}; upload the jar to the artifact "
            "bucket first, or give 'jar_id'"
        )
    if record.get("status") != "UPLOADED" or not record.get("jar_id"):
        raise _Outcome(
            f"jar {request.jar!r} was not uploaded to Flink: {record.get('error') or 'record has no jar_id'}",
            flink_errors=record.get("flink_errors") or [],
        )
    return str(record["jar_id"])


def _unavailable(exc: FlinkUnavailableError, ctx: RequestContext, s3: Any, now: datetime) -> str:
    """Count a failed attempt: raise for a retry, or return the final error message on the last attempt."""
    state = read_json(s3, ctx.result_bucket, ctx.state_key) or {}
    attempts = int(state.get("attempts") or 0) + 1
    if attempts < ctx.settings.max_attempts:
        write_json(
            s3,
            ctx.result_bucket,
            ctx.state_key,
            {"attempts": attempts, "last_error": str(exc), "updated_at": now.isoformat(), "request_key": ctx.ref.key},
        )
        LOG.warning(
            "Flink unreachable; raising for a retry",
            extra={"key": ctx.ref.key, "attempt": attempts, "max_attempts": ctx.settings.max_attempts},
        )
        raise exc
    return f"{exc} (gave up after {attempts} attempts)"


def process_object(
    ref: S3ObjectRef,
    settings: Settings,
    s3: Any,
    flink: FlinkClient,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = _utc_now,
) -> dict[str, Any]:
    """Handle one request object; returns ``{"key", "action", ...}`` (see the module docstring)."""
    if not ref.key.startswith(settings.request_prefix) or not ref.key.endswith(".json"):
        LOG.info("not a run request; ignored", extra={"bucket": ref.bucket, "key": ref.key})
        return {"key": ref.key, "action": "ignored"}
    if not settings.request_prefix and ref.key.startswith((settings.result_prefix, settings.state_prefix)):
        return {"key": ref.key, "action": "ignored"}
    ctx = RequestContext(ref, settings)
    if object_exists(s3, ctx.result_bucket, ctx.result_key):
        LOG.info("result exists; request already handled", extra={"key": ref.key, "result_key": ctx.result_key})
        return {"key": ref.key, "action": "duplicate"}

    received_at = now()
    result: dict[str, Any] = {
        "version": RESULT_VERSION,
        "status": "FAILED",
        "error": None,
        "request": {"bucket": ref.bucket, "key": ref.key, "etag": ref.etag},
        "jar": None,
        "jar_id": None,
        "job_id": None,
        "job_state": None,
        "confirmed": False,
        "flink_rest_url": settings.flink_rest_url,
        "received_at": received_at.isoformat(),
    }
    try:
        try:
            obj = s3.get_object(Bucket=ref.bucket, Key=ref.key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
                raise _Outcome("the request file no longer exists") from exc
            raise
        etag = clean_etag(obj.get("ETag")) or ref.etag
        result["request"]["etag"] = etag
        try:
            document = json.loads(obj["Body"].read())
        except ValueError as exc:
            raise _Outcome(f"the request file is not valid JSON: {exc}") from exc
        try:
            request = parse_request(document)
        except RequestError as exc:
            raise _Outcome(str(exc), problems=exc.problems) from exc
        result["jar"] = request.jar
        jar_id = resolve_jar_id(request, ctx, s3)
        result["jar_id"] = jar_id

        job_id = deterministic_job_id(ref.bucket, ref.key, etag)
        try:
            answer = flink.run_jar(jar_id, request.run_body(job_id))
            submitted = str(answer.get("jobid") or "")
        except FlinkUnavailableError as exc:
            raise _Outcome(_unavailable(exc, ctx, s3, now())) from exc
        except FlinkRequestError as exc:
            if not any(marker in error for error in exc.errors for marker in _DUPLICATE_MARKERS):
                raise _Outcome(f"Flink rejected the job: {exc}", flink_errors=exc.errors) from exc
            LOG.info("job already submitted by an earlier attempt", extra={"key": ref.key, "job_id": job_id})
            submitted, result["note"] = job_id, "already submitted by an earlier attempt"
        if not submitted:
            raise _Outcome(f"Flink accepted the run but returned no job id: {json.dumps(answer)[:500]}")
        result["job_id"] = submitted

        state, note = confirm_job(flink, submitted, settings.confirm_polls, settings.poll_interval_seconds, sleep)
        result["job_state"] = state
        result["confirmed"] = state in CONFIRMED_STATES
        if state in FAILED_STATES:
            raise _Outcome(f"job {submitted} is {state} right after submission: {note or 'no root exception'}")
        if note:
            result["warning"] = note
        result["status"] = "SUCCEEDED"
    except _Outcome as outcome:
        result["error"] = outcome.error
        result.update(outcome.fields)
        LOG.error("run request failed", extra={"key": ref.key, "error": outcome.error})

    result["completed_at"] = now().isoformat()
    write_json(s3, ctx.result_bucket, ctx.result_key, result)
    LOG.info(
        "run request handled",
        extra={"key": ref.key, "status": result["status"], "job_id": result["job_id"], "result_key": ctx.result_key},
    )
    return {"key": ref.key, "action": "handled", "status": result["status"], "job_id": result["job_id"]}


def process_event(
    event: Any,
    settings: Settings,
    s3: Any,
    flink: FlinkClient,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Handle every object of ``event``; errors that deserve a retry propagate."""
    return {"results": [process_object(ref, settings, s3, flink, sleep) for ref in parse_s3_event(event)]}


def main(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (environment: see the module docstring)."""
    logging.getLogger().setLevel(os.environ.get("LOG_LEVEL", "INFO"))
    settings = Settings.from_env(os.environ)
    flink = FlinkClient(settings.flink_rest_url, timeout=settings.http_timeout_seconds)
    summary = process_event(event, settings, s3_client(), flink, time.sleep)
    LOG.info("runner finished", extra={"summary": summary})
    return summary
