"""Shared test helpers for the slo_monitor package: a local Slack webhook stub and a moto environment.

Not a test module (no ``test_`` prefix); imported by ``test_slo_monitor.py`` and ``test_job_alerts.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3

REGION = "eu-west-1"
MAX_REQUESTS = 100


class SharedClientSession(boto3.session.Session):
    """A boto3 session that creates each client once (per service, region and ``Config``) and hands the same
    one out again, across tests: creating a client costs milliseconds, and every test builds a new
    ``AwsClients`` that asks for four or five of them.

    Reusing a client across moto contexts is safe for these tests: moto intercepts every client at botocore's
    ``before-send`` hook and only while a mock is active, and the tests that use this session all run under a
    plain ``mock_aws()`` with the default fake credentials (no IAM enforcement, no other credentials). Pass an
    ``AwsClients`` built on it to :meth:`release` when its test ends, so its call counter leaves the clients.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[tuple[str, str | None, int], tuple[Any, Any]] = {}

    def client(self, service_name: str, region_name: str | None = None, config: Any = None, **kwargs: Any) -> Any:
        if kwargs:
            return super().client(service_name, region_name=region_name, config=config, **kwargs)
        key = (service_name, region_name, id(config))
        if key not in self._made:  # the config is kept with its client: its id is never reused while cached
            self._made[key] = (config, super().client(service_name, region_name=region_name, config=config))
        return self._made[key][1]

    @staticmethod
    def release(clients: Any) -> None:
        """Unregister the call counter an ``AwsClients`` put on the shared clients it used."""
        for client in clients._clients.values():
            client.meta.events.unregister("before-call", clients._count)


@dataclass
class SlackStub:
    """A real HTTP server on 127.0.0.1 answering Slack webhook POSTs from a script.

    ``script`` items: ``200`` / ``500`` / ``404`` (status), ``(429, {"Retry-After": "2"})`` or ``"hang"``
    (no answer until the test ends, to provoke a client timeout). Once the script is exhausted every
    request gets 200. At most ``MAX_REQUESTS`` are answered normally (a runaway retry loop fails fast).
    """

    script: list[Any] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_action(self, body: bytes, path: str) -> Any:
        with self.lock:
            self.requests.append({"path": path, "body": json.loads(body or b"{}")})
            if len(self.requests) > MAX_REQUESTS:
                return 500
            return self.script.pop(0) if self.script else 200

    def texts(self) -> list[str]:
        return [request["body"].get("text", "") for request in self.requests]


def _handler_for(stub: SlackStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            length = int(self.headers.get("Content-Length") or 0)
            action = stub.next_action(self.rfile.read(length), self.path)
            if action == "hang":
                stub.release.wait(5)
                return
            status, headers = (action, {}) if isinstance(action, int) else action
            body = b"ok" if status == 200 else b"error"
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    return Handler


@contextmanager
def slack_server() -> Iterator[SlackStub]:
    """Start a :class:`SlackStub` on an ephemeral loopback port; stopped on exit."""
    stub = SlackStub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(stub))
    server.daemon_threads = True
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    # shutdown() waits for the loop's next poll: a short interval keeps each test's teardown short
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def make_queue(name: str) -> tuple[str, str]:
    """Create an SQS queue; returns (url, arn)."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def make_topic_with_queue(name: str) -> tuple[str, str]:
    """SNS topic subscribed by an SQS queue (raw delivery off) so tests can read what was published."""
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name=name)["TopicArn"]
    url, arn = make_queue(f"{name}-inbox")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, url


def drain(queue_url: str) -> list[dict[str, Any]]:
    """All messages currently in ``queue_url`` (JSON bodies), deleted after reading."""
    sqs = boto3.client("sqs", region_name=REGION)
    out: list[dict[str, Any]] = []
    while True:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = response.get("Messages", [])
        if not messages:
            return out
        for message in messages:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def make_webhook_secret(name: str, mapping: dict[str, str]) -> str:
    """Secrets Manager secret holding ``{"#channel": url}``; returns its ARN."""
    client = boto3.client("secretsmanager", region_name=REGION)
    return client.create_secret(Name=name, SecretString=json.dumps(mapping))["ARN"]
