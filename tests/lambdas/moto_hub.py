"""moto set-up shared by the tests of the hub's notifier: the delivery table and a consumer's subscribed queue."""

from __future__ import annotations

from typing import Any


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
