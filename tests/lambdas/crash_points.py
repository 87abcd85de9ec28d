"""Crash a handler after its n-th side effect, to test every point between two side effects.

A crash is the Lambda process dying: :class:`SimulatedCrash` derives from ``BaseException`` so no
``except Exception`` in the handler can swallow it. Side effects are AWS writes (DynamoDB writes, SNS
publish, SQS send, CloudWatch metrics are left out: they are not deliveries) and Slack posts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.client
import pytest

from meshworks.lambdas.slo_monitor.slack import SlackSender

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem", "Publish", "SendMessage"}


class SimulatedCrash(BaseException):
    """The process died here."""


@contextmanager
def crash_after(monkeypatch: pytest.MonkeyPatch, n: int | None) -> Iterator[list[str]]:
    """Within: the ``n``-th side effect completes, then the process 'dies' (``None``: never). Yields the
    list of side effects made, as ``Operation`` names and ``slack``."""
    effects: list[str] = []
    original_call = botocore.client.BaseClient._make_api_call
    original_post = SlackSender._post_once

    def after(name: str) -> None:
        effects.append(name)
        if n is not None and len(effects) == n:
            raise SimulatedCrash(f"crashed after side effect #{n} ({name})")

    def call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        result = original_call(client, operation, params)
        if operation in WRITES:
            after(operation)
        return result

    def post(sender: SlackSender, url: str, body: bytes) -> Any:
        result = original_post(sender, url, body)
        after("slack")
        return result

    with monkeypatch.context() as patch:
        patch.setattr(botocore.client.BaseClient, "_make_api_call", call)
        patch.setattr(SlackSender, "_post_once", post)
        yield effects
