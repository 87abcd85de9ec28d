"""A small client for the Apache Flink REST API (JobManager, e.g. ``http://internal-nlb:8081``), stdlib only.

Calls used by the meshworks Flink Lambdas:

* ``POST /jars/upload`` (multipart/form-data, field ``jarfile``) -> ``{"filename": ".../<uuid>_<name>.jar",
  "status": "success"}``; the jar id is the file name's last path segment;
* ``POST /jars/{jar_id}/run`` with a JSON body (``entryClass``, ``programArgsList``, ``parallelism``,
  ``savepointPath``, ``allowNonRestoredState``, ``jobId``) -> ``{"jobid": "..."}``;
* ``GET /jobs/{job_id}`` -> ``{"jid": ..., "state": "RUNNING", ...}``; ``GET /jobs/{job_id}/exceptions``;
  ``GET /jars``.

Errors are split by what the caller should do about them:

* :class:`FlinkUnavailableError` - Flink could not be reached or a proxy in front of it failed
  (connection refused, timeout, reset, HTTP 502/503/504). Transient: retry later.
* :class:`FlinkRequestError` - Flink answered and refused (any other 4xx/5xx); carries Flink's
  ``{"errors": [...]}`` list. Retrying the same request gives the same answer.

Jar uploads are streamed (no copy of the jar in memory) with an explicit ``Content-Length``.

Used by both handlers of this package, ``flink.jar_uploader`` and ``flink.job_runner`` (one asset,
two functions).
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

#: HTTP statuses that mean "not reached": a load balancer or proxy answered instead of Flink.
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})
#: Longest error text kept from a Flink answer (its errors often carry whole Java stack traces).
MAX_ERROR_CHARS = 2000


class FlinkError(Exception):
    """Base class of Flink REST API errors."""


class FlinkUnavailableError(FlinkError):
    """Flink could not be reached (transient: retry later)."""


class FlinkRequestError(FlinkError):
    """Flink answered with an error status; ``errors`` holds its error messages."""

    def __init__(self, status: int, errors: list[str], method: str, path: str) -> None:
        self.status = status
        self.errors = errors
        self.method = method
        self.path = path
        first = errors[0].splitlines()[0] if errors and errors[0] else "no error message"
        super().__init__(f"Flink answered {status} to {method} {path}: {first}")


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "... [truncated]"


def parse_errors(raw: bytes) -> list[str]:
    """Flink's ``errors`` list from an error body, or the body text itself when it is not Flink JSON."""
    text = raw.decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except ValueError:
        return [_truncate(text.strip())] if text.strip() else []
    if isinstance(document, dict) and isinstance(document.get("errors"), list):
        return [_truncate(str(error)) for error in document["errors"]]
    return [_truncate(text.strip())]


def _quote_filename(name: str) -> str:
    return "".join("_" if ch in '"\\\r\n' else ch for ch in name)


@dataclass(frozen=True)
class FlinkClient:
    """Flink REST API at ``base_url`` (http or https), each call bounded by ``timeout`` seconds."""

    base_url: str
    timeout: float = 10.0

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlparse(self.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"Flink REST URL {self.base_url!r} must be http(s)://host[:port], e.g. http://nlb:8081")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    def request(
        self,
        method: str,
        path: str,
        body: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON answer (``{}`` for an empty body)."""
        url = self.base_url + path  # scheme checked in __post_init__: http(s) only
        request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) only
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw_error = exc.read() or b""
            if exc.code in UNAVAILABLE_STATUSES:
                raise FlinkUnavailableError(
                    f"Flink REST API at {self.base_url} is unavailable: {method} {path} answered {exc.code}"
                ) from exc
            raise FlinkRequestError(exc.code, parse_errors(raw_error), method, path) from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise FlinkUnavailableError(
                f"Flink REST API at {self.base_url} is unreachable ({method} {path}): {reason}"
            ) from exc
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise FlinkRequestError(200, [_truncate(raw.decode("utf-8", errors="replace"))], method, path) from exc

    def upload_jar(self, filename: str, chunks: Iterable[bytes], length: int) -> dict[str, Any]:
        """``POST /jars/upload`` streaming ``length`` bytes from ``chunks`` as form field ``jarfile``."""
        boundary = uuid.uuid4().hex
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="jarfile"; filename="{_quote_filename(filename)}"\r\n'
            "Content-Type: application/x-java-archive\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def body() -> Iterator[bytes]:
            yield head
            for chunk in chunks:
                if chunk:
                    yield chunk
            yield tail

        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + length + len(tail)),
            "Accept": "application/json",
        }
        return self.request("POST", "/jars/upload", body(), headers)

    def run_jar(self, jar_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /jars/{jar_id}/run`` with a JSON body; returns e.g. ``{"jobid": "..."}``."""
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        return self.request("POST", f"/jars/{urllib.parse.quote(jar_id, safe='')}/run", data, headers)

    def get_job(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{job_id}``: the job's details, including ``state``."""
        return self.request("GET", f"/jobs/{urllib.parse.quote(job_id, safe='')}")

    def get_job_exceptions(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{job_id}/exceptions``: the job's root exception and history."""
        return self.request("GET", f"/jobs/{urllib.parse.quote(job_id, safe='')}/exceptions")

    def list_jars(self) -> dict[str, Any]:
        """``GET /jars``: the uploaded jars (``{"files": [{"id": ..., "name": ...}]}``)."""
        return self.request("GET", "/jars")
