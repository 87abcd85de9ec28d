"""moto set-up shared by the tests of the hub's notifier: the delivery table and a consumer's subscribed queue."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from meshworks.lambdas.mesh_notifier import handler

_IDENTITY = ("AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "MOTO_ACCOUNT_ID")
_NOTIFIER_CLIENTS: dict[tuple[str, ...], Any] = {}


@contextmanager
def reused_notifier_clients() -> Iterator[None]:
    """Within: the notifier's cached clients (``handler.get_clients``) start as the ones an earlier test made
    under the same region, access key and moto account, instead of three clients and a DynamoDB resource per
    test (tens of milliseconds). Its own cache is forgotten on both sides, as ``handler.reset_clients`` does.

    Safe across ``mock_aws`` contexts: moto intercepts every client at botocore's ``before-send`` hook while a
    mock is active. A client carries the credentials and region it was created with, hence the key; tests
    that patch a client method (``monkeypatch``) or stub it (``Stubber``) undo that when they end.
    """
    key = tuple(os.environ.get(name, "") for name in _IDENTITY)
    handler.reset_clients()
    handler._CLIENTS = _NOTIFIER_CLIENTS.get(key)  # get_clients replaces them for another delivery table
    try:
        yield
    finally:
        made = handler._CLIENTS
        if made is not None and key == tuple(os.environ.get(name, "") for name in _IDENTITY):
            _NOTIFIER_CLIENTS[key] = made
        handler.reset_clients()


def create_delivery_table(ddb: Any, name: str) -> None:
    """The hub's delivery table as ``MeshHub`` defines it (``product_key`` / ``period_key``, on demand)."""
    ddb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "product_key", "KeyType": "HASH"},
            {"AttributeName": "period_key", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "product_key", "AttributeType": "S"},
            {"AttributeName": "period_key", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def subscribed_queue(sns: Any, sqs: Any, topic_arn: str, name: str = "consumer") -> str:
    """A consumer's SQS queue subscribed to ``topic_arn`` (SNS envelope kept); returns its URL."""
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "false"})
    return queue_url
