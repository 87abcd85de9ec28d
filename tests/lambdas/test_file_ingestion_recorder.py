"""The file-ingestion recorder on moto with IAM enforced, under its role's policies from a user app's template.

``tests/ingestion/file_app.py`` synthesizes ``FileIngestion`` used alone; the handler runs signing as the
recorder's role (``tests/aws_enforcement.py``): a call the role does not allow fails as in AWS, and every call's
resource is checked. Covered: keys that match and do not, duplicate events, new versions (versioned and
unversioned buckets), DynamoDB throttling (the event is raised for Lambda to retry, nothing half-written), a
crash after the write (the retry is a duplicate), a malformed event (sent once to the dead-letter queue).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from meshworks.lambdas.file_ingestion import handler
from meshworks.lambdas.file_ingestion.keys import DEFAULT_KEY_PATTERN
from tests.aws_enforcement import ACCOUNT, REGION, EnforcedRole, find_function, placeholder_refs, resolve
from tests.ingestion.file_app import file_app
from tests.lambdas.crash_points import SimulatedCrash, crash_after

HANDLER = "file_ingestion.handler.main"
TABLE = "acme-sites-files"
BUCKET = "acme-landing"
KEY = "acme/plant-7/2026-11-30/sensor_readings/readings-0001.csv.gz"


def event(key: str = KEY, version: str | None = "v1", sequencer: str = "0064D3901D00059242", event_id: str = "e1") -> dict[str, Any]:
    obj: dict[str, Any] = {"key": key, "size": 1234, "etag": "abc", "sequencer": sequencer}
    if version is not None:
        obj["version-id"] = version
    return {
        "version": "0", "id": event_id, "detail-type": "Object Created", "source": "aws.s3", "account": ACCOUNT,
        "time": "2026-11-30T10:00:00Z", "region": REGION, "resources": [f"arn:aws:s3:::{BUCKET}"],
        "detail": {"version": "0", "bucket": {"name": BUCKET}, "object": obj, "reason": "PutObject"},
    }


@dataclass
class Recorder:
    template: dict[str, Any]
    refs: dict[str, str]
    dlq_url: str
    monkeypatch: pytest.MonkeyPatch

    def role(self) -> EnforcedRole:
        return EnforcedRole.from_template(self.template, handler=HANDLER, refs=self.refs)

    def run(self, evt: dict[str, Any]) -> tuple[dict[str, Any], EnforcedRole]:
        role = self.role()
        with role.enforced(self.monkeypatch):
            handler.reset_clients()
            try:
                result = handler.main(evt, None)
            finally:
                handler.reset_clients()
        role.check_resources()
        assert not role.unchecked(), role.unchecked()
        return result, role

    def items(self) -> list[dict[str, Any]]:
        return boto3.resource("dynamodb", region_name=REGION).Table(TABLE).scan()["Items"]


def _table_props(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return next((lid, r["Properties"]) for lid, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::GlobalTable")


def create_files_table(template: dict[str, Any]) -> dict[str, str]:
    """The template's file-metadata table (keys and indexes as synthesized) in moto; its refs."""
    logical, props = _table_props(template)
    ddb = boto3.client("dynamodb", region_name=REGION)
    description = ddb.create_table(
        TableName=TABLE, KeySchema=props["KeySchema"], AttributeDefinitions=props["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]}
            for g in props["GlobalSecondaryIndexes"]
        ],
    )["TableDescription"]
    return {logical: TABLE, f"{logical}.Arn": description["TableArn"]}


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    template = file_app().templates["Files"]
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    with mock_aws():
        refs = placeholder_refs(template)
        refs.update(create_files_table(template))
        queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="recorder-dlq")["QueueUrl"]
        dlq = next(lid for lid, r in template["Resources"].items()
                   if r["Type"] == "AWS::SQS::Queue" and lid.startswith("SiteFilesRecorderDeadLetterQueue"))
        refs[dlq], refs[f"{dlq}.Arn"], refs[f"{dlq}.QueueUrl"] = queue_url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:recorder-dlq", queue_url
        _, function = find_function(template, HANDLER)
        for name, value in resolve(function["Properties"]["Environment"]["Variables"], refs).items():
            monkeypatch.setenv(name, str(value))
        yield Recorder(template, refs, queue_url, monkeypatch)


def test_the_template_gives_the_function_the_default_pattern_and_the_schema_file_types() -> None:
    _, function = find_function(file_app().templates["Files"], HANDLER)
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["KEY_PATTERN"] == DEFAULT_KEY_PATTERN
    assert variables["FILE_TYPES"] == "sensor_readings"


def test_a_matching_key_is_recorded_pending_on_the_work_queue(recorder: Recorder) -> None:
    result, role = recorder.run(event())
    assert result["outcome"] == "recorded"
    assert role.actions() == {"dynamodb:PutItem"}
    [item] = recorder.items()
    assert item["object_uri"] == f"s3://{BUCKET}/{KEY}" and item["version_id"] == "v1"
    assert (item["tenant"], item["site"], item["date"], item["file_type"]) == ("acme", "plant-7", "2026-11-30", "sensor_readings")
    assert item["state"] == "PENDING" and item["attempts"] == 0 and item["work_queue"] in {str(n) for n in range(8)}
    assert item["dataset"] == "acme/plant-7/sensor_readings" and item["landed_at"] == "2026-11-30T10:00:00Z"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("acme/plant-7/readings.csv", "does not match the landing pattern"),
        ("acme/plant-7/2026-02-30/sensor_readings/r.csv", "is not a valid date"),
        ("acme/plant-7/2026-11-30/sensor_readings/r.parquet", "does not match"),
        ("acme/plant-7/2026-11-30/alarms/r.csv", "file type 'alarms' has no schema"),
    ],
)
def test_a_key_that_does_not_match_is_recorded_rejected_with_its_reason_and_not_queued(
    recorder: Recorder, key: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result, _ = recorder.run(event(key=key))
    assert result["outcome"] == "rejected" and reason in result["reason"] and key in result["reason"]
    [item] = recorder.items()
    assert item["state"] == "REJECTED" and reason in item["reject_reason"] and "work_queue" not in item
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [m.get("FilesRejected") for m in metrics] == [1]
    assert metrics[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "meshworks/FileIngestion"


def test_the_same_event_twice_is_one_record_and_never_resets_a_processed_file(recorder: Recorder) -> None:
    recorder.run(event())
    table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
    table.update_item(Key={"object_uri": f"s3://{BUCKET}/{KEY}", "version_id": "v1"},
                      UpdateExpression="SET #s = :d REMOVE work_queue", ExpressionAttributeNames={"#s": "state"},
                      ExpressionAttributeValues={":d": "DONE"})
    result, _ = recorder.run(event(event_id="e1-redelivered"))
    assert result["outcome"] == "duplicate"
    [item] = recorder.items()
    assert item["state"] == "DONE" and item["event_id"] == "e1"


def test_a_re_uploaded_file_is_a_new_version_not_a_duplicate(recorder: Recorder) -> None:
    recorder.run(event(version="v1", sequencer="0064D3901D00059242"))
    result, _ = recorder.run(event(version="v2", sequencer="0064D3901D00059299", event_id="e2"))
    assert result["outcome"] == "recorded"
    assert sorted(i["version_id"] for i in recorder.items()) == ["v1", "v2"]


def test_in_an_unversioned_bucket_the_sequencer_tells_uploads_apart(recorder: Recorder) -> None:
    recorder.run(event(version=None, sequencer="0064D3901D00059242"))
    recorder.run(event(version=None, sequencer="0064D3901D00059242", event_id="again"))
    recorder.run(event(version=None, sequencer="0064D3901D000592AA", event_id="reupload"))
    assert sorted(i["version_id"] for i in recorder.items()) == ["sequencer:0064D3901D00059242", "sequencer:0064D3901D000592AA"]


def test_dynamodb_throttling_raises_so_the_event_is_retried_not_lost(recorder: Recorder) -> None:
    original = botocore.client.BaseClient._make_api_call
    throttled = []

    def throttle(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "PutItem":
            throttled.append(operation)
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, operation)
        return original(client, operation, params)

    with recorder.monkeypatch.context() as patch:
        patch.setattr(botocore.client.BaseClient, "_make_api_call", throttle)
        with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
            handler.main(event(), None)
    handler.reset_clients()
    assert throttled and recorder.items() == []
    assert boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=recorder.dlq_url).get("Messages") is None
    result, _ = recorder.run(event())  # Lambda's retry of the same event
    assert result["outcome"] == "recorded" and len(recorder.items()) == 1


def test_a_crash_after_the_write_makes_the_retry_a_duplicate(recorder: Recorder) -> None:
    handler.reset_clients()
    with crash_after(recorder.monkeypatch, 1) as effects, pytest.raises(SimulatedCrash):
        handler.main(event(), None)
    handler.reset_clients()
    assert effects == ["PutItem"]
    result, _ = recorder.run(event())
    assert result["outcome"] == "duplicate"
    [item] = recorder.items()
    assert item["state"] == "PENDING"


def test_a_malformed_event_goes_once_to_the_dead_letter_queue_with_its_reason(recorder: Recorder) -> None:
    broken = copy.deepcopy(event())
    del broken["detail"]["object"]["key"]
    result, role = recorder.run(broken)
    assert result["outcome"] == "malformed" and role.actions() == {"sqs:SendMessage"}
    [message] = boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=recorder.dlq_url, MessageAttributeNames=["All"]
    )["Messages"]
    assert message["MessageAttributes"]["ErrorCode"]["StringValue"] == "MalformedEvent"
    assert recorder.items() == []
