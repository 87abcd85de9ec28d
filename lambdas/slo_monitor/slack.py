"""Slack incoming-webhook delivery with bounded retries, and the webhook map from Secrets Manager.

* ``POST`` JSON with :mod:`urllib` (timeout 5 s by default).
* Retried: timeouts / connection errors, HTTP 429 (``Retry-After`` honoured, capped) and 5xx, with
  exponential backoff and full jitter, up to ``max_attempts`` attempts in total.
* Not retried: any other 4xx (bad webhook, revoked token ...): the caller sends the alert to the DLQ.

Webhook URLs are secrets: they are never logged, never put in a result or an exception message, and
any error text that could quote them is redacted (:func:`redact`); only the channel name is shown.
A malformed URL raises :class:`InvalidWebhookError` (a ``ValueError`` that names no part of the URL).
The clock, the sleep function and the random source are injectable so tests never really wait.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger(__name__)

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class SlackResult:
    """Outcome of one Slack delivery (no URL inside: safe to log)."""

    ok: bool
    attempts: int
    status: int | None = None
    error: str = ""
    retryable: bool = False


class InvalidWebhookError(ValueError):
    """The webhook URL in the secret is malformed; the message never contains any part of it."""


#: What a webhook URL may contain: printable ASCII without spaces, quotes or angle brackets.
_URL_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")


def redact(text: str, secret: str) -> str:
    """``text`` with ``secret`` and every path, query or credential part of it replaced by ``***``."""
    if not secret:
        return text
    parts = {secret}
    try:
        parsed = urllib.parse.urlsplit(secret)
        parts |= {parsed.path, parsed.query, parsed.netloc.split("@")[0] if "@" in parsed.netloc else ""}
        parts |= {segment for segment in parsed.path.split("/") if len(segment) >= 4}
        if ":" in parsed.netloc:
            parts.add(parsed.netloc.rsplit(":", 1)[1])
    except ValueError:
        parts |= {piece for piece in re.split(r"[/:?@]", secret) if len(piece) >= 4}
    for part in sorted((p for p in parts if p), key=len, reverse=True):
        text = text.replace(part, "***")
    return text


def _check_url(url: str) -> None:
    """Refuse anything but ``https://<host>[:port]/<path>`` (``http`` to loopback for tests).

    Raises:
        InvalidWebhookError: with a message naming what is wrong, never the URL.
    """
    if not isinstance(url, str) or not _URL_CHARS.match(url):
        raise InvalidWebhookError("Slack webhook URL holds characters a URL cannot contain")
    try:
        parsed = urllib.parse.urlsplit(url)
        port = parsed.port  # ValueError for a non-numeric or out-of-range port
    except ValueError:
        raise InvalidWebhookError("Slack webhook URL has an invalid host or port") from None
    loopback = parsed.scheme == "http" and parsed.hostname in _LOOPBACK_HOSTS
    if parsed.scheme != "https" and not loopback:
        raise InvalidWebhookError("Slack webhook URL must use https")
    if not parsed.hostname or "@" in parsed.netloc or (port is not None and not 0 < port < 65536):
        raise InvalidWebhookError("Slack webhook URL has an invalid host or port")


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)


@dataclass
class SlackSender:
    """Posts messages to Slack incoming webhooks with retries; all waiting goes through ``sleep``."""

    max_attempts: int = 3
    timeout: float = 5.0
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random

    def _backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff before attempt ``attempt + 1`` (``attempt`` >= 1)."""
        return self.rand() * min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))

    def _post_once(self, url: str, body: bytes) -> tuple[int, Mapping[str, str]]:
        request = urllib.request.Request(  # noqa: S310 - scheme checked by _check_url
            url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
                return response.status, dict(response.headers.items())
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, dict(exc.headers.items()) if exc.headers else {}

    def send(self, url: str, payload: Mapping[str, Any], *, channel: str = "") -> SlackResult:
        """Deliver ``payload`` (a Slack message dict) to the webhook ``url``.

        Raises:
            InvalidWebhookError: ``url`` is malformed (the message names no part of it).
        """
        _check_url(url)
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        status: int | None = None
        error = ""
        for attempt in range(1, self.max_attempts + 1):
            delay: float | None = None
            try:
                status, headers = self._post_once(url, body)
            except TimeoutError as exc:
                status, error = None, redact(f"timeout: {exc}", url)
            except urllib.error.URLError as exc:
                reason = exc.reason
                kind = "timeout" if isinstance(reason, TimeoutError) else "connection error"
                status, error = None, redact(f"{kind}: {reason}", url)
            except OSError as exc:
                status, error = None, redact(f"connection error: {exc}", url)
            except Exception as exc:  # noqa: BLE001 - http.client.InvalidURL and the like: never quote the URL
                LOG.warning("slack webhook unusable", extra={"channel": channel, "error_type": type(exc).__name__})
                return SlackResult(
                    ok=False, attempts=attempt, error=f"webhook unusable ({type(exc).__name__})", retryable=False
                )
            else:
                if 200 <= status < 300:
                    LOG.info("slack delivered", extra={"channel": channel, "attempts": attempt})
                    return SlackResult(ok=True, attempts=attempt, status=status)
                error = f"HTTP {status}"
                if status == 429:
                    retry_after = _retry_after_seconds({k.lower(): v for k, v in headers.items()}.get("retry-after"))
                    if retry_after is not None:
                        delay = min(retry_after, self.max_retry_after)
                elif status < 500:
                    LOG.warning(
                        "slack rejected message", extra={"channel": channel, "status": status, "attempts": attempt}
                    )
                    return SlackResult(ok=False, attempts=attempt, status=status, error=error, retryable=False)
            LOG.warning("slack attempt failed", extra={"channel": channel, "attempt": attempt, "error": error})
            if attempt < self.max_attempts:
                self.sleep(delay if delay is not None else self._backoff(attempt))
        return SlackResult(ok=False, attempts=self.max_attempts, status=status, error=error, retryable=True)


class WebhookDirectory:
    """``#channel`` -> webhook URL map read from a JSON secret, cached per container for ``ttl`` seconds.

    The secret may hold a ``"default"`` entry used for channels without their own webhook.
    """

    def __init__(
        self,
        secrets_client_factory: Callable[[], Any],
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = secrets_client_factory
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, dict[str, str]]] = {}

    def _load(self, secret_arn: str) -> dict[str, str]:
        cached = self._cache.get(secret_arn)
        if cached and self._clock() - cached[0] < self._ttl:
            return cached[1]
        response = self._factory().get_secret_value(SecretId=secret_arn)
        try:
            data = json.loads(response["SecretString"])
        except ValueError:  # the decoder's message quotes the secret's text: never pass it on
            raise ValueError("Slack secret is not valid JSON") from None
        if not isinstance(data, dict):
            raise ValueError("Slack secret must be a JSON object mapping '#channel' to a webhook URL")
        webhooks = {str(k): str(v) for k, v in data.items() if isinstance(v, str)}
        self._cache[secret_arn] = (self._clock(), webhooks)
        return webhooks

    def configured(self, secret_arn: str) -> bool:
        """Whether the secret holds any webhook at all (the deployed placeholder ``{}`` holds none)."""
        return bool(self._load(secret_arn))

    def lookup(self, secret_arn: str, channel: str) -> str | None:
        """Webhook URL for ``channel`` (with or without leading ``#``), else the default, else None."""
        webhooks = self._load(secret_arn)
        name = channel.strip()
        for candidate in (name, f"#{name.lstrip('#')}", name.lstrip("#"), "default"):
            if candidate in webhooks:
                return webhooks[candidate]
        return None

    def clear(self) -> None:
        """Drop the cache (tests, or after a rotation)."""
        self._cache.clear()
