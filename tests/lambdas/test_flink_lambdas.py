"""Flink-on-EMR Lambdas against a real (fake) Flink REST server on 127.0.0.1 and moto S3."""

from __future__ import annotations

import email.parser
import email.policy
import json
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from meshworks.lambdas.flink import flink_rest as runner_rest
from meshworks.lambdas.flink import flink_rest as uploader_rest
from meshworks.lambdas.flink import jar_uploader as uploader
from meshworks.lambdas.flink import job_runner as runner
from meshworks.lambdas.flink import s3_events as uploader_events
from meshworks.lambdas.flink.request import RequestError, parse_request

ARTIFACTS = "mw-artifacts"
DATA = "mw-flink-data"
JAR_BYTES = b"PK\x03\x04" + bytes(range(256)) * 40 + b"\r\n--not-a-boundary--\r\n"


# --------------------------------------------------------------------------------------------------
# Fake Flink REST API
# --------------------------------------------------------------------------------------------------


class FakeFlink:
    """The subset of the Flink REST API the Lambdas use, with switchable failures."""

    def __init__(self) -> None:
        self.jars: dict[str, tuple[str, bytes]] = {}
        self.jobs: dict[str, list[str]] = {}
        self.requests: Counter[str] = Counter()
        self.run_bodies: list[dict[str, Any]] = []
        self.upload_failure: tuple[int, dict[str, Any]] | None = None
        self.run_failure: tuple[int, dict[str, Any]] | None = None
        self.job_states: list[str] = ["RUNNING"]
        self.hide_jobs = False
        self.upload_dir = f"/tmp/flink-web-{uuid.uuid4()}/flink-web-upload"
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _reply(self, status: int, document: dict[str, Any]) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes | None:
                if "Content-Length" not in self.headers:
                    return None
                return self.rfile.read(int(self.headers["Content-Length"]))

            def do_GET(self) -> None:
                parts = self.path.strip("/").split("/")
                # Count by route: "GET /jars", "GET /jobs/*", "GET /jobs/*/exceptions".
                route = "/".join(["", parts[0], *("*" for _ in parts[1:2]), *parts[2:]])
                fake.requests[f"GET {route}"] += 1
                if parts == ["jars"]:
                    files = [{"id": jar_id, "name": name, "entry": []} for jar_id, (name, _) in fake.jars.items()]
                    return self._reply(200, {"address": fake.url, "files": files})
                if len(parts) == 3 and parts[0] == "jobs" and parts[2] == "exceptions":
                    return self._reply(200, {"root-exception": "java.lang.IllegalStateException: boom\n\tat Main.main"})
                if len(parts) == 2 and parts[0] == "jobs":
                    states = None if fake.hide_jobs else fake.jobs.get(parts[1])
                    if states is None:
                        return self._reply(404, {"errors": ["Job could not be found."]})
                    state = states.pop(0) if len(states) > 1 else states[0]
                    return self._reply(200, {"jid": parts[1], "name": "job", "state": state})
                return self._reply(404, {"errors": ["Not found: " + self.path]})

            def do_POST(self) -> None:
                body = self._body()
                parts = self.path.strip("/").split("/")
                if body is None:
                    return self._reply(411, {"errors": ["Content-Length required"]})
                if parts == ["jars", "upload"]:
                    fake.requests["POST /jars/upload"] += 1
                    return self._upload(body)
                if len(parts) == 3 and parts[0] == "jars" and parts[2] == "run":
                    fake.requests["POST /jars/*/run"] += 1
                    return self._run(parts[1], body)
                return self._reply(404, {"errors": ["Not found: " + self.path]})

            def _upload(self, body: bytes) -> None:
                if fake.upload_failure:
                    return self._reply(*fake.upload_failure)
                header = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
                message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
                for part in message.iter_parts():
                    if part.get_param("name", header="content-disposition") == "jarfile":
                        name = part.get_filename()
                        jar_id = f"{uuid.uuid4()}_{name}"
                        fake.jars[jar_id] = (name, part.get_payload(decode=True))
                        return self._reply(200, {"filename": f"{fake.upload_dir}/{jar_id}", "status": "success"})
                return self._reply(400, {"errors": ["Exactly 1 file must be sent, received 0."]})

            def _run(self, jar_id: str, body: bytes) -> None:
                document = json.loads(body or b"{}")
                fake.run_bodies.append(document)
                if fake.run_failure:
                    return self._reply(*fake.run_failure)
                if jar_id not in fake.jars:
                    return self._reply(400, {"errors": [f"Jar file {fake.upload_dir}/{jar_id} does not exist"]})
                job_id = document.get("jobId") or uuid.uuid4().hex
                if job_id in fake.jobs:
                    return self._reply(
                        500,
                        {
                            "errors": [
                                "Internal server error.",
                                "<Exception on server side:\norg.apache.flink.runtime.client."
                                "DuplicateJobSubmissionException: Job has already been submitted.\n\tat ...>",
                            ]
                        },
                    )
                fake.jobs[job_id] = list(fake.job_states)
                return self._reply(200, {"jobid": job_id})

        return Handler


@pytest.fixture
def flink() -> Iterator[FakeFlink]:
    fake = FakeFlink()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def closed_url() -> str:
    """A loopback URL on which nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def _moto_s3() -> Iterator[Any]:
    """One moto S3 for the module (starting moto per test costs most of the run time)."""
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        for bucket in (ARTIFACTS, DATA):
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


@pytest.fixture
def s3(_moto_s3: Any) -> Iterator[Any]:
    """The module's moto S3 with empty buckets, and fresh handler clients."""
    for bucket in (ARTIFACTS, DATA):
        for key in keys(_moto_s3, bucket):
            _moto_s3.delete_object(Bucket=bucket, Key=key)
    uploader_events.reset_clients()
    yield _moto_s3
    uploader_events.reset_clients()


def s3_notification(bucket: str, key: str, etag: str | None = None, encoded_key: str | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": encoded_key or key, "size": 1}
    if etag:
        obj["eTag"] = etag
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": obj},
            }
        ]
    }


def eventbridge(bucket: str, key: str, etag: str | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": key, "size": 1}
    if etag:
        obj["etag"] = etag
    return {
        "version": "0",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "detail": {"version": "0", "bucket": {"name": bucket}, "object": obj, "reason": "PutObject"},
    }


def put(s3: Any, bucket: str, key: str, body: bytes) -> str:
    return s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"].strip('"')


def read(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


@pytest.fixture
def uploader_env(monkeypatch: pytest.MonkeyPatch, flink: FakeFlink) -> None:
    monkeypatch.setenv("FLINK_REST_URL", flink.url)
    monkeypatch.delenv("ARTIFACT_BUCKET", raising=False)
    monkeypatch.delenv("JAR_ID_PREFIX", raising=False)
    monkeypatch.setenv("HTTP_TIMEOUT_SECONDS", "5")


@pytest.fixture
def runner_env(monkeypatch: pytest.MonkeyPatch, flink: FakeFlink) -> None:
    monkeypatch.setenv("FLINK_REST_URL", flink.url)
    monkeypatch.setenv("ARTIFACT_BUCKET", ARTIFACTS)
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "0")
    monkeypatch.setenv("CONFIRM_POLLS", "3")
    monkeypatch.setenv("HTTP_TIMEOUT_SECONDS", "5")
    for name in ("RESULT_BUCKET", "REQUEST_PREFIX", "RESULT_PREFIX", "STATE_PREFIX", "MAX_ATTEMPTS", "JAR_ID_PREFIX"):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------------------------------
# Shared modules
# --------------------------------------------------------------------------------------------------


def test_lambda_packages_follow_the_layout() -> None:
    for package in (uploader, runner):
        folder = Path(package.__file__).parent
        assert (folder / "__init__.py").read_text() == ""
        assert callable(package.main)
    assert not (Path(uploader.__file__).parents[1] / "__init__.py").exists()


def test_parse_s3_event_shapes() -> None:
    parse = uploader_events.parse_s3_event
    (ref,) = parse(s3_notification("b", "x", etag='"abc"', encoded_key="deploy/red+flower%3A1.jar"))
    assert (ref.bucket, ref.key, ref.etag, ref.source) == ("b", "deploy/red flower:1.jar", "abc", "s3-notification")
    (ref,) = parse(eventbridge("b", "deploy/a+b:1.jar", etag="e1"))
    assert (ref.key, ref.etag, ref.source) == ("deploy/a+b:1.jar", "e1", "eventbridge")
    sqs = {"Records": [{"eventSource": "aws:sqs", "body": json.dumps(s3_notification("b", "k.jar"))}]}
    assert [r.key for r in parse(sqs)] == ["k.jar"]
    sns = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(eventbridge("b", "k2.jar"))}}]}
    assert [r.key for r in parse(sns)] == ["k2.jar"]
    assert parse({"Event": "s3:TestEvent", "Bucket": "b"}) == []
    removed = s3_notification("b", "k.jar")
    removed["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert parse(removed) == []
    assert parse({**eventbridge("b", "k"), "detail-type": "Object Deleted"}) == []
    for bad in (
        {"foo": 1},
        [],
        {"Records": [{"eventSource": "aws:sqs", "body": "{not json"}]},
        {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {}}}]},
    ):
        with pytest.raises(uploader_events.UnsupportedEventError):
            parse(bad)


def test_flink_client_rejects_non_http_urls() -> None:
    for bad in ("file:///etc/passwd", "ftp://x", "internal-nlb:8081", ""):
        with pytest.raises(ValueError, match="must be http"):
            uploader_rest.FlinkClient(bad)


# --------------------------------------------------------------------------------------------------
# flink.jar_uploader
# --------------------------------------------------------------------------------------------------


def test_upload_happy_path_streams_the_jar_and_records_its_id(s3: Any, flink: FakeFlink, uploader_env: None) -> None:
    etag = put(s3, ARTIFACTS, "deploy/v2/my-job.jar", JAR_BYTES)
    summary = uploader.main(s3_notification(ARTIFACTS, "deploy/v2/my-job.jar", etag=f'"{etag}"'), None)

    ((jar_id, (name, content)),) = flink.jars.items()
    assert name == "my-job.jar"
    assert content == JAR_BYTES
    assert summary == {"results": [{"key": "deploy/v2/my-job.jar", "action": "uploaded", "jar_id": jar_id}]}
    record = read(s3, ARTIFACTS, "jar-ids/my-job.jar.json")
    assert record["status"] == "UPLOADED"
    assert record["jar_id"] == jar_id
    assert record["etag"] == etag
    assert record["key"] == "deploy/v2/my-job.jar"
    assert record["bucket"] == ARTIFACTS
    assert record["size"] == len(JAR_BYTES)
    assert record["flink_filename"].endswith("/flink-web-upload/" + jar_id)
    assert record["uploaded_at"].endswith("+00:00")
    assert flink.requests == Counter({"POST /jars/upload": 1})


def test_upload_from_eventbridge_writes_record_to_artifact_bucket(
    s3: Any, flink: FakeFlink, uploader_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTIFACT_BUCKET", DATA)
    monkeypatch.setenv("JAR_ID_PREFIX", "flink/jar-ids/")
    etag = put(s3, ARTIFACTS, "jobs/persona tagger.jar", JAR_BYTES)
    uploader.main(eventbridge(ARTIFACTS, "jobs/persona tagger.jar", etag=etag), None)
    record = read(s3, DATA, "flink/jar-ids/persona tagger.jar.json")
    assert record["jar_id"].endswith("_persona tagger.jar")
    assert keys(s3, ARTIFACTS, "jar-ids/") == []


def test_upload_duplicate_event_uploads_once(s3: Any, flink: FakeFlink, uploader_env: None) -> None:
    etag = put(s3, ARTIFACTS, "my-job.jar", JAR_BYTES)
    event = s3_notification(ARTIFACTS, "my-job.jar", etag=etag)
    uploader.main(event, None)
    again = uploader.main(event, None)
    assert again["results"][0]["action"] == "duplicate"
    # An event without an ETag is deduplicated through HeadObject.
    assert uploader.main(eventbridge(ARTIFACTS, "my-job.jar"), None)["results"][0]["action"] == "duplicate"
    assert flink.requests["POST /jars/upload"] == 1
    assert len(flink.jars) == 1


def test_upload_new_content_under_same_key_is_uploaded_again(s3: Any, flink: FakeFlink, uploader_env: None) -> None:
    first = put(s3, ARTIFACTS, "my-job.jar", JAR_BYTES)
    uploader.main(s3_notification(ARTIFACTS, "my-job.jar", etag=first), None)
    second = put(s3, ARTIFACTS, "my-job.jar", JAR_BYTES + b"v2")
    uploader.main(s3_notification(ARTIFACTS, "my-job.jar", etag=second), None)
    assert flink.requests["POST /jars/upload"] == 2
    assert read(s3, ARTIFACTS, "jar-ids/my-job.jar.json")["etag"] == second


def test_upload_ignores_non_jar_keys(
    s3: Any, flink: FakeFlink, uploader_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    put(s3, ARTIFACTS, "deploy/job.properties", b"a=b")
    caplog.set_level("INFO")
    summary = uploader.main(s3_notification(ARTIFACTS, "deploy/job.properties"), None)
    assert summary["results"] == [{"key": "deploy/job.properties", "action": "ignored"}]
    assert "not a jar; ignored" in caplog.text
    assert sum(flink.requests.values()) == 0
    assert keys(s3, ARTIFACTS, "jar-ids/") == []


def test_upload_raises_when_flink_is_down(s3: Any, closed_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLINK_REST_URL", closed_url)
    monkeypatch.delenv("ARTIFACT_BUCKET", raising=False)
    etag = put(s3, ARTIFACTS, "my-job.jar", JAR_BYTES)
    with pytest.raises(uploader_rest.FlinkUnavailableError, match="unreachable"):
        uploader.main(s3_notification(ARTIFACTS, "my-job.jar", etag=etag), None)
    assert keys(s3, ARTIFACTS, "jar-ids/") == []


def test_upload_rejected_by_flink_writes_failed_record(s3: Any, flink: FakeFlink, uploader_env: None) -> None:
    flink.upload_failure = (413, {"errors": ["Request entity too large"]})
    etag = put(s3, ARTIFACTS, "huge.jar", JAR_BYTES)
    summary = uploader.main(s3_notification(ARTIFACTS, "huge.jar", etag=etag), None)
    assert summary["results"][0]["action"] == "rejected"
    record = read(s3, ARTIFACTS, "jar-ids/huge.jar.json")
    assert record["status"] == "FAILED"
    assert record["flink_errors"] == ["Request entity too large"]
    assert "413" in record["error"]
    assert "jar_id" not in record


def test_upload_server_error_is_retried(s3: Any, flink: FakeFlink, uploader_env: None) -> None:
    flink.upload_failure = (500, {"errors": ["Internal server error."]})
    etag = put(s3, ARTIFACTS, "my-job.jar", JAR_BYTES)
    with pytest.raises(uploader_rest.FlinkRequestError, match="500"):
        uploader.main(s3_notification(ARTIFACTS, "my-job.jar", etag=etag), None)
    flink.upload_failure = (503, {"errors": []})
    with pytest.raises(uploader_rest.FlinkUnavailableError, match="503"):
        uploader.main(s3_notification(ARTIFACTS, "my-job.jar", etag=etag), None)
    assert keys(s3, ARTIFACTS, "jar-ids/") == []


def test_upload_access_denied_raises(flink: FakeFlink) -> None:
    client = boto3.client("s3", region_name="eu-west-1")
    with Stubber(client) as stub:
        stub.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
        settings = uploader.Settings(flink_rest_url=flink.url)
        with pytest.raises(ClientError, match="AccessDenied"):
            uploader.process_event(
                s3_notification(ARTIFACTS, "my-job.jar", etag="e"),
                settings,
                client,
                uploader_rest.FlinkClient(flink.url),
            )
    assert sum(flink.requests.values()) == 0


def test_uploader_settings_errors() -> None:
    with pytest.raises(ValueError, match="FLINK_REST_URL is not set"):
        uploader.Settings.from_env({})
    with pytest.raises(ValueError, match="HTTP_TIMEOUT_SECONDS must be > 0"):
        uploader.Settings.from_env({"FLINK_REST_URL": "http://x:8081", "HTTP_TIMEOUT_SECONDS": "0"})
    with pytest.raises(ValueError, match="must be a number"):
        uploader.Settings.from_env({"FLINK_REST_URL": "http://x:8081", "HTTP_TIMEOUT_SECONDS": "ten"})
    defaults = uploader.Settings.from_env({"FLINK_REST_URL": "http://x:8081"})
    assert (defaults.record_bucket, defaults.jar_id_prefix, defaults.http_timeout_seconds) == (None, "jar-ids/", 10.0)


# --------------------------------------------------------------------------------------------------
# flink.job_runner
# --------------------------------------------------------------------------------------------------


def upload_jar(s3: Any, flink: FakeFlink, name: str = "my-job.jar") -> str:
    etag = put(s3, ARTIFACTS, f"deploy/{name}", JAR_BYTES)
    settings = uploader.Settings(flink_rest_url=flink.url)
    (result,) = uploader.process_event(
        s3_notification(ARTIFACTS, f"deploy/{name}", etag=etag), settings, s3, uploader_rest.FlinkClient(flink.url)
    )["results"]
    return result.get("jar_id", "")


def submit(s3: Any, document: Any, key: str = "requests/team-a/run-1.json") -> dict[str, Any]:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    etag = put(s3, DATA, key, body)
    return s3_notification(DATA, key, etag=etag)


def test_run_happy_path_writes_succeeded_result(s3: Any, flink: FakeFlink, runner_env: None) -> None:
    jar_id = upload_jar(s3, flink)
    flink.job_states = ["CREATED", "INITIALIZING", "RUNNING"]
    event = submit(
        s3,
        {
            "jar": "my-job.jar",
            "entry_class": "com.gs.persona.TagJob",
            "program_args": "--persona 'Chief Investment Officer' --mode adhoc",
            "parallelism": 4,
            "savepoint_path": "s3://mw-flink-data/savepoints/sp-1",
            "allow_non_restored_state": True,
        },
    )
    summary = runner.main(event, None)

    result = read(s3, DATA, "results/team-a/run-1.json")
    assert result["status"] == "SUCCEEDED"
    assert result["error"] is None
    assert result["jar"] == "my-job.jar"
    assert result["jar_id"] == jar_id
    assert result["job_state"] == "RUNNING"
    assert result["confirmed"] is True
    assert result["request"]["key"] == "requests/team-a/run-1.json"
    assert result["request"]["etag"]
    assert result["received_at"] <= result["completed_at"]
    assert summary["results"][0] == {
        "key": "requests/team-a/run-1.json",
        "action": "handled",
        "status": "SUCCEEDED",
        "job_id": result["job_id"],
    }
    (body,) = flink.run_bodies
    assert body == {
        "entryClass": "com.gs.persona.TagJob",
        "programArgsList": ["--persona", "Chief Investment Officer", "--mode", "adhoc"],
        "parallelism": 4,
        "savepointPath": "s3://mw-flink-data/savepoints/sp-1",
        "allowNonRestoredState": True,
        "jobId": result["job_id"],
    }
    assert len(result["job_id"]) == 32
    assert flink.requests["POST /jars/*/run"] == 1
    assert flink.requests["GET /jobs/*"] == 3  # bounded by CONFIRM_POLLS


def test_run_by_jar_id_without_confirmation(
    s3: Any, flink: FakeFlink, runner_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONFIRM_POLLS", "0")
    jar_id = upload_jar(s3, flink)
    runner.main(submit(s3, {"jar_id": jar_id, "program_args": ["a", "b"]}, key="requests/x.json"), None)
    result = read(s3, DATA, "results/x.json")
    assert result["status"] == "SUCCEEDED"
    assert result["confirmed"] is False
    assert result["job_state"] is None
    assert flink.run_bodies[0]["programArgsList"] == ["a", "b"]
    assert flink.requests["GET /jobs/*"] == 0


def test_run_polls_are_bounded_and_sleep_is_injected(s3: Any, flink: FakeFlink) -> None:
    jar_id = upload_jar(s3, flink)
    flink.job_states = ["INITIALIZING"]
    sleeps: list[float] = []
    settings = runner.Settings(flink_rest_url=flink.url, confirm_polls=4, poll_interval_seconds=7.5)
    runner.process_event(
        submit(s3, {"jar_id": jar_id}), settings, s3, runner_rest.FlinkClient(flink.url), sleep=sleeps.append
    )
    result = read(s3, DATA, "results/team-a/run-1.json")
    assert (result["status"], result["job_state"], result["confirmed"]) == ("SUCCEEDED", "INITIALIZING", False)
    assert sleeps == [7.5, 7.5, 7.5]
    assert flink.requests["GET /jobs/*"] == 4


def test_run_unreadable_job_state_is_succeeded_unconfirmed(s3: Any, flink: FakeFlink, runner_env: None) -> None:
    upload_jar(s3, flink)
    flink.hide_jobs = True
    runner.main(submit(s3, {"jar": "my-job.jar"}), None)
    result = read(s3, DATA, "results/team-a/run-1.json")
    assert (result["status"], result["job_state"], result["confirmed"]) == ("SUCCEEDED", "UNKNOWN", False)
    assert "could not be read" in result["warning"]
    assert flink.requests["GET /jobs/*"] == 1
    assert flink.requests["POST /jars/*/run"] == 1


def test_run_job_failing_right_after_start_is_failed(s3: Any, flink: FakeFlink, runner_env: None) -> None:
    upload_jar(s3, flink)
    flink.job_states = ["CREATED", "FAILED"]
    runner.main(submit(s3, {"jar": "my-job.jar"}), None)
    result = read(s3, DATA, "results/team-a/run-1.json")
    assert result["status"] == "FAILED"
    assert result["job_state"] == "FAILED"
    assert "IllegalStateException: boom" in result["error"]


def test_run_duplicate_event_is_skipped(s3: Any, flink: FakeFlink, runner_env: None) -> None:
    upload_jar(s3, flink)
    event = submit(s3, {"jar": "my-job.jar"})
    runner.main(event, None)
    assert runner.main(event, None)["results"][0]["action"] == "duplicate"
    assert flink.requests["POST /jars/*/run"] == 1


def test_run_retry_after_lost_result_does_not_start_a_second_job(s3: Any, flink: FakeFlink, runner_env: None) -> None:
    upload_jar(s3, flink)
    event = submit(s3, {"jar": "my-job.jar"})
    runner.main(event, None)
    first = read(s3, DATA, "results/team-a/run-1.json")
    s3.delete_object(Bucket=DATA, Key="results/team-a/run-1.json")  # as if the result write had failed
    runner.main(event, None)
    second = read(s3, DATA, "results/team-a/run-1.json")
    assert second["status"] == "SUCCEEDED"
    assert second["job_id"] == first["job_id"]
    assert second["note"] == "already submitted by an earlier attempt"
    assert len(flink.jobs) == 1


def test_run_jar_rejected_by_flink(s3: Any, flink: FakeFlink, runner_env: None) -> None:
    upload_jar(s3, flink)
    flink.run_failure = (
        500,
        {
            "errors": [
                "Internal server error.",
                "<Exception on server side:\norg.apache.flink.client.program.ProgramInvocationException: "
                "The main method caused an error: Missing --persona\n\tat org.apache...>",
            ]
        },
    )
    runner.main(submit(s3, {"jar": "my-job.jar"}), None)
    result = read(s3, DATA, "results/team-a/run-1.json")
    assert result["status"] == "FAILED"
    assert result["error"].startswith("Flink rejected the job: Flink answered 500")
    assert "Missing --persona" in result["flink_errors"][1]
    assert result["job_id"] is None


def test_run_unknown_jar_id_is_rejected_with_flink_text(s3: Any, flink: FakeFlink, runner_env: None) -> None:
    runner.main(submit(s3, {"jar_id": "0000_gone.jar"}), None)
    result = read(s3, DATA, "results/team-a/run-1.json")
    assert result["status"] == "FAILED"
    assert "400" in result["error"]
    assert "does not exist" in result["flink_errors"][0]


def test_run_unknown_jar_name_and_failed_upload(s3: Any, flink: FakeFlink, runner_env: None) -> None:
    runner.main(submit(s3, {"jar": "missing.jar"}, key="requests/a.json"), None)
    result = read(s3, DATA, "results/a.json")
    assert result["status"] == "FAILED"
    assert "no jar-id record at s3://mw-artifacts/jar-ids/missing.jar.json" in result["error"]

    flink.upload_failure = (400, {"errors": ["Only Jar files are allowed."]})
    upload_jar(s3, flink, "bad.jar")
    runner.main(submit(s3, {"jar": "bad.jar"}, key="requests/b.json"), None)
    result = read(s3, DATA, "results/b.json")
    assert result["status"] == "FAILED"
    assert "was not uploaded to Flink" in result["error"]
    assert result["flink_errors"] == ["Only Jar files are allowed."]
    assert flink.requests["POST /jars/*/run"] == 0


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        ([], "must be a JSON object"),
        ({}, "give exactly one of 'jar'"),
        ({"jar": "a.jar", "jar_id": "x_a.jar"}, "give exactly one of 'jar'"),
        ({"jar": "dir/a.jar"}, "without folders"),
        ({"jar": "a.zip"}, "jar file name"),
        ({"jar_id": "../../etc/passwd.jar"}, "Flink jar id"),
        ({"jar": "a.jar", "entry_class": "not a class"}, "fully qualified Java class"),
        ({"jar": "a.jar", "program_args": [1, 2]}, "list of strings"),
        ({"jar": "a.jar", "program_args": "'unclosed"}, "check its quotes"),
        ({"jar": "a.jar", "parallelism": 0}, "'parallelism' 0"),
        ({"jar": "a.jar", "parallelism": True}, "'parallelism' True"),
        ({"jar": "a.jar", "savepoint_path": "/local/sp"}, "must be a URI"),
        ({"jar": "a.jar", "allow_non_restored_state": True}, "only applies with 'savepoint_path'"),
        ({"jar": "a.jar", "allow_non_restored_state": "yes", "savepoint_path": "s3://b/sp"}, "true or false"),
        ({"jar": "a.jar", "parallelizm": 2}, "unknown field(s) parallelizm"),
    ],
)
def test_run_invalid_request_writes_failed_result(
    s3: Any, flink: FakeFlink, runner_env: None, document: Any, fragment: str
) -> None:
    runner.main(submit(s3, document), None)
    result = read(s3, DATA, "results/team-a/run-1.json")
    assert result["status"] == "FAILED"
    assert fragment in result["error"]
    assert sum(flink.requests.values()) == 0


def test_parse_request_lists_every_problem() -> None:
    with pytest.raises(RequestError) as excinfo:
        parse_request({"jar": "x", "parallelism": -1, "extra": 1})
    assert len(excinfo.value.problems) == 3


def test_run_flink_down_retries_then_writes_failed_result(
    s3: Any, closed_url: str, runner_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLINK_REST_URL", closed_url)
    event = submit(s3, {"jar_id": "0000_my-job.jar"})
    for attempt in (1, 2):
        with pytest.raises(runner_rest.FlinkUnavailableError, match="unreachable"):
            runner.main(event, None)
        assert read(s3, DATA, "runner-state/team-a/run-1.json")["attempts"] == attempt
        assert keys(s3, DATA, "results/") == []
    summary = runner.main(event, None)  # third and last attempt
    assert summary["results"][0]["status"] == "FAILED"
    result = read(s3, DATA, "results/team-a/run-1.json")
    assert "is unreachable" in result["error"]
    assert "gave up after 3 attempts" in result["error"]
    assert runner.main(event, None)["results"][0]["action"] == "duplicate"


def test_run_flink_timeout_counts_as_unavailable(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        settings = runner.Settings(flink_rest_url=url, max_attempts=1, http_timeout_seconds=0.05)
        runner.process_event(
            submit(s3, {"jar_id": "0000_my-job.jar"}), settings, s3, runner_rest.FlinkClient(url, 0.05)
        )
    result = read(s3, DATA, "results/team-a/run-1.json")
    assert result["status"] == "FAILED"
    assert "timed out" in result["error"]


def test_run_ignores_keys_outside_the_request_prefix(s3: Any, flink: FakeFlink, runner_env: None) -> None:
    for key in ("results/team-a/run-1.json", "requests/readme.txt", "other/x.json"):
        put(s3, DATA, key, b"{}")
        assert runner.main(s3_notification(DATA, key), None)["results"][0]["action"] == "ignored"
    assert sum(flink.requests.values()) == 0


def test_run_access_denied_on_request_raises(flink: FakeFlink) -> None:
    client = boto3.client("s3", region_name="eu-west-1")
    with Stubber(client) as stub:
        stub.add_client_error("head_object", service_error_code="404", http_status_code=404)
        stub.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
        with pytest.raises(ClientError, match="AccessDenied"):
            runner.process_event(
                s3_notification(DATA, "requests/x.json", etag="e"),
                runner.Settings(flink_rest_url=flink.url),
                client,
                runner_rest.FlinkClient(flink.url),
            )
        stub.assert_no_pending_responses()
    assert sum(flink.requests.values()) == 0


def test_runner_settings() -> None:
    defaults = runner.Settings.from_env({"FLINK_REST_URL": "http://nlb:8081"})
    assert (
        defaults.request_prefix,
        defaults.result_prefix,
        defaults.state_prefix,
        defaults.jar_id_prefix,
        defaults.max_attempts,
        defaults.confirm_polls,
        defaults.poll_interval_seconds,
        defaults.http_timeout_seconds,
        defaults.artifact_bucket,
        defaults.result_bucket,
    ) == ("requests/", "results/", "runner-state/", "jar-ids/", 3, 5, 2.0, 10.0, None, None)
    zero = runner.Settings.from_env(
        {"FLINK_REST_URL": "http://nlb:8081", "CONFIRM_POLLS": "0", "POLL_INTERVAL_SECONDS": "0"}
    )
    assert (zero.confirm_polls, zero.poll_interval_seconds) == (0, 0.0)
    for env, message in (
        ({}, "FLINK_REST_URL is not set"),
        ({"MAX_ATTEMPTS": "0"}, "MAX_ATTEMPTS must be >= 1"),
        ({"MAX_ATTEMPTS": "2.5"}, "whole number"),
        ({"CONFIRM_POLLS": "x"}, "must be a number"),
        ({"RESULT_PREFIX": "requests/"}, "REQUEST_PREFIX must differ"),
    ):
        full = {"FLINK_REST_URL": "http://nlb:8081", **env} if env else env
        with pytest.raises(ValueError, match=message):
            runner.Settings.from_env(full)


def test_deterministic_job_id() -> None:
    first = runner.deterministic_job_id("b", "requests/x.json", "e1")
    assert first == runner.deterministic_job_id("b", "requests/x.json", "e1")
    assert first != runner.deterministic_job_id("b", "requests/x.json", "e2")
    assert len(first) == 32
    int(first, 16)
