"""The read-latency harness against a fake DynamoDB on loopback (real boto3 client, real HTTP, real pacing)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from meshworks.constructs.features.read_latency import dynamodb_reader, main, percentile, run_reads

ITEMS = {f"customer#{i}": {"entity_id": {"S": f"customer#{i}"}, "score": {"N": str(i)}} for i in range(50)}


class _FakeDynamoDB(BaseHTTPRequestHandler):
    """Just enough of DynamoDB's JSON protocol for GetItem: one table, a fixed service time, throttling on demand."""

    delay_seconds = 0.002
    throttle_every = 0
    calls = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls += 1
        time.sleep(self.delay_seconds)
        if self.headers["X-Amz-Target"] != "DynamoDB_20120810.GetItem":
            return self._reply(400, {"__type": "com.amazon.coral.service#UnknownOperationException"})
        if body["TableName"] != "online-features":
            return self._reply(400, {"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
                                     "message": "Requested resource not found"})
        if self.throttle_every and type(self).calls % self.throttle_every == 0:
            return self._reply(400, {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                                     "message": "Rate exceeded"})
        item = ITEMS.get(body["Key"]["entity_id"]["S"])
        return self._reply(200, {"Item": item} if item else {})

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeDynamoDB)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)  # quick shutdown
    thread.start()
    _FakeDynamoDB.calls, _FakeDynamoDB.throttle_every = 0, 0
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_point_reads_against_the_loopback_fake(endpoint: str) -> None:
    read = dynamodb_reader("online-features", "entity_id", endpoint_url=endpoint, region="eu-west-1")
    started = time.perf_counter()
    read(next(iter(ITEMS)))  # warm the connection pool
    report = run_reads(read, list(ITEMS), count=60, rate_per_second=200, concurrency=8)
    elapsed = time.perf_counter() - started
    print(report)  # the figures for the docs: pytest -s shows them
    assert report.reads == 60 and report.errors == {}
    assert 2.0 <= report.p50_ms <= report.p90_ms <= report.p99_ms <= report.max_ms
    assert elapsed >= 59 / 200  # paced, not a burst
    assert report.achieved_rate <= 200 * 1.05


def test_reads_are_paced_not_burst() -> None:
    """Pacing on its own, with reads that cost nothing: unpaced, 40 of them finish within a few milliseconds
    (through the loopback fake a burst of reads is about as slow as the paced rate, so it cannot show this)."""
    started: list[float] = []
    called = time.perf_counter()
    report = run_reads(lambda key: started.append(time.perf_counter()), ["k"], count=40, rate_per_second=400,
                       concurrency=8)
    assert report.reads == 40 and report.errors == {}
    # The last read is due 39 intervals after the first one's due time, which is not before the call. (Measured
    # from the first read instead, a first read started late on a busy machine made this fail.)
    assert max(started) - called >= 39 / 400 * 0.99
    assert report.achieved_rate <= 400 * 1.05


def test_errors_are_counted_by_aws_code(endpoint: str) -> None:
    missing = dynamodb_reader("no-such-table", "entity_id", endpoint_url=endpoint, region="eu-west-1")
    report = run_reads(missing, ["customer#1"], count=20, rate_per_second=1000, concurrency=4)
    assert report.errors == {"ResourceNotFoundException": 20} and report.p99_ms == 0.0


def test_throttled_reads_are_retried_by_the_client(endpoint: str) -> None:
    # Every 5th call throttled: standard retries absorb it. Few reads: each retry waits botocore's real
    # throttling back-off (up to 1 s).
    _FakeDynamoDB.throttle_every = 5
    read = dynamodb_reader("online-features", "entity_id", endpoint_url=endpoint, region="eu-west-1")
    report = run_reads(read, list(ITEMS), count=10, rate_per_second=1000, concurrency=2)
    assert report.errors == {} and _FakeDynamoDB.calls > 10


def test_cli_prints_json_and_fails_on_errors(endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("\n".join(ITEMS) + "\n")
    args = ["--table", "online-features", "--keys-file", str(keys), "--count", "50", "--rate", "500",
            "--concurrency", "4", "--endpoint-url", endpoint, "--region", "eu-west-1", "--json"]
    assert main(args) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["reads"] == 50 and figures["errors"] == {} and figures["p99_ms"] >= figures["p50_ms"] > 0
    assert main([*args[:1], "missing", *args[2:]]) == 1


def test_percentile_and_bad_arguments() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0 and percentile([1.0, 2.0, 3.0, 4.0], 0.99) == 4.0
    assert percentile([], 0.5) == 0.0
    with pytest.raises(ValueError, match="concurrency >= 1"):
        run_reads(lambda key: None, ["k"], count=1, rate_per_second=1, concurrency=0)
