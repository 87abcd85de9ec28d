"""Lazy boto3 clients shared by the handlers of this package, with a per-run API-call counter.

Every client is created on first use with botocore's ``standard`` retry mode and registers a
``before-call`` hook, so the number of logical AWS API calls made by a run can be reported (and
asserted in tests and the benchmark) without touching the call sites.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from typing import Any

import boto3
from botocore.config import Config

LOG = logging.getLogger(__name__)
# botocore's DEBUG logs print response bodies (GetSecretValue holds the Slack webhooks): whatever
# LOG_LEVEL says, the SDK logs at INFO at most, so secrets never reach the logs.
for _sdk_logger in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_sdk_logger).setLevel(logging.INFO)

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10)


class AwsClients:
    """Creates each boto3 client once (lazily) and counts the API calls made through them."""

    def __init__(self, region: str | None = None, session: boto3.session.Session | None = None) -> None:
        self._region = region
        self._session = session
        self._clients: dict[str, Any] = {}
        self.calls: Counter[str] = Counter()

    def client(self, service: str) -> Any:
        """Return the cached client for ``service``, creating it on first use."""
        if service not in self._clients:
            session = self._session or boto3.session.Session()
            region = self._region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            client = session.client(service, region_name=region, config=_CONFIG)
            client.meta.events.register("before-call", self._count)
            self._clients[service] = client
        return self._clients[service]

    def _count(self, model: Any = None, **_: Any) -> None:
        if model is not None:
            self.calls[f"{model.service_model.service_name}:{model.name}"] += 1

    def reset_calls(self) -> None:
        """Start a new count (called at the start of every run)."""
        self.calls.clear()

    def call_counts(self) -> dict[str, int]:
        """API calls since the last :meth:`reset_calls`, keyed ``service:Operation``, plus ``total``."""
        counts = dict(sorted(self.calls.items()))
        counts["total"] = sum(self.calls.values())
        return counts

    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @property
    def sns(self) -> Any:
        return self.client("sns")

    @property
    def sqs(self) -> Any:
        return self.client("sqs")

    @property
    def secretsmanager(self) -> Any:
        return self.client("secretsmanager")

    @property
    def cloudwatch(self) -> Any:
        return self.client("cloudwatch")

    @property
    def emr_serverless(self) -> Any:
        return self.client("emr-serverless")


_DEFAULT: AwsClients | None = None


def get_clients() -> AwsClients:
    """The container-wide client holder (created lazily, reused across warm invocations)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = AwsClients()
    return _DEFAULT


def reset_clients() -> None:
    """Forget the container-wide clients (tests: a new moto mock needs new clients)."""
    global _DEFAULT
    _DEFAULT = None


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (empty string for other exceptions)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
