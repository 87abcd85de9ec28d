"""The Glue job's claim / mark / retry logic (``file_ingestion.work_queue`` and ``job.run``) on moto DynamoDB.

Pure functions, no Spark: the converter is a stand-in. The table is the one ``FileIngestion`` synthesizes
(keys and indexes from the template). The full run is also executed signing as the job role of the template,
with IAM enforced (``tests/aws_enforcement.py``), so a permission the job lacks fails here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from moto import mock_aws

from meshworks.lambdas.file_ingestion import items, job, work_queue
from meshworks.lambdas.file_ingestion.handler import Config, ObjectVersion, build_item
from meshworks.lambdas.file_ingestion.keys import compile_key_pattern
from tests.aws_enforcement import ACCOUNT, REGION, EnforcedRole, placeholder_refs, resolve, role_policy_documents
from tests.ingestion.file_app import SCHEMA, file_app
from tests.lambdas.test_file_ingestion_recorder import TABLE, create_files_table

NOW = 1_780_000_000.0
CONFIG = Config(table_name=TABLE, key_pattern=compile_key_pattern(r"^(?P<tenant>\w+)/(?P<site>\w+)/(?P<date>[\d-]+)/(?P<file_type>\w+)/.+$"),
                pipeline="acme-sites")


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    with mock_aws():
        create_files_table(file_app().templates["Files"])
        yield boto3.resource("dynamodb", region_name=REGION).Table(TABLE)


def land(table: Any, name: str = "a.csv", version: str = "v1", sequencer: str = "0A", landed: str = "2026-11-30T10:00:00Z") -> dict[str, Any]:
    obj = ObjectVersion("landing", f"acme/plant7/2026-11-30/sensor_readings/{name}", version, sequencer, 10, "e", landed, "id")
    item = build_item(obj, CONFIG, landed)
    table.put_item(Item=item)
    return item


def state(table: Any, item: dict[str, Any]) -> dict[str, Any]:
    return table.get_item(Key={"object_uri": item["object_uri"], "version_id": item["version_id"]}, ConsistentRead=True)["Item"]


def test_two_runs_never_claim_the_same_file(table: Any) -> None:
    landed = [land(table, f"f{n}.csv") for n in range(5)]
    first, _ = work_queue.take_work(table, "run-1", NOW, limit=3, lease_seconds=600, max_attempts=3)
    second, counts = work_queue.take_work(table, "run-2", NOW, limit=10, lease_seconds=600, max_attempts=3)
    assert len(first) == 3 and len(second) == 2
    assert {i["object_uri"] for i in first}.isdisjoint({i["object_uri"] for i in second})
    assert counts["not_claimable"] == 3  # run-1's files, seen on the (eventually consistent) index, not taken
    for item in landed:
        assert state(table, item)["state"] == "CLAIMED" and state(table, item)["attempts"] == 1


def test_a_claim_races_on_the_base_table_not_the_index(table: Any) -> None:
    item = land(table)
    assert work_queue.claim(table, item, "run-1", NOW, 600, 3) is not None
    assert work_queue.claim(table, item, "run-2", NOW, 600, 3) is None  # the stale PENDING copy loses


def test_done_leaves_the_queue_and_only_the_claim_holder_can_mark(table: Any) -> None:
    item = land(table)
    [claimed], _ = work_queue.take_work(table, "run-1", NOW, limit=5, lease_seconds=600, max_attempts=3)
    assert not work_queue.mark_done(table, claimed, "run-2", NOW, "s3://out/", 5)
    assert work_queue.mark_done(table, claimed, "run-1", NOW, "s3://out/", 5)
    stored = state(table, item)
    assert stored["state"] == "DONE" and stored["output_rows"] == 5 and "work_queue" not in stored
    assert work_queue.take_work(table, "run-3", NOW, limit=5, lease_seconds=600, max_attempts=3)[0] == []


def test_failed_files_are_retried_a_bounded_number_of_times_then_stay_failed(table: Any) -> None:
    item = land(table)
    for attempt in (1, 2, 3):
        [claimed], _ = work_queue.take_work(table, f"run-{attempt}", NOW + attempt, limit=5, lease_seconds=600, max_attempts=3)
        assert claimed["attempts"] == attempt
        assert work_queue.mark_failed(table, claimed, f"run-{attempt}", NOW + attempt, f"bad row {attempt}", 3)
    stored = state(table, item)
    assert stored["state"] == "FAILED" and stored["failure_reason"] == "bad row 3"
    assert stored["retries_exhausted"] is True and "work_queue" not in stored
    assert work_queue.take_work(table, "run-4", NOW + 9, limit=5, lease_seconds=600, max_attempts=3)[0] == []


def test_a_crashed_runs_files_are_taken_over_after_the_lease_and_abandoned_after_the_last_attempt(table: Any) -> None:
    item = land(table)
    work_queue.take_work(table, "run-1", NOW, limit=5, lease_seconds=600, max_attempts=2)  # run-1 dies
    assert work_queue.take_work(table, "run-2", NOW + 60, limit=5, lease_seconds=600, max_attempts=2)[0] == []
    [taken], _ = work_queue.take_work(table, "run-2", NOW + 601, limit=5, lease_seconds=600, max_attempts=2)
    assert taken["claim_owner"] == "run-2" and taken["attempts"] == 2
    assert not work_queue.mark_done(table, {**taken, "claim_owner": "run-1"}, "run-1", NOW + 602, "s3://x/", 1)
    # run-2 dies too: its lease expires on the last attempt -> FAILED, off the queue, with the reason
    claimed, counts = work_queue.take_work(table, "run-3", NOW + 1300, limit=5, lease_seconds=600, max_attempts=2)
    assert claimed == [] and counts["abandoned"] == 1
    stored = state(table, item)
    assert stored["state"] == "FAILED" and "lease expired" in stored["failure_reason"] and "work_queue" not in stored


def test_an_older_version_is_superseded_not_converted_over_the_newer_one(table: Any) -> None:
    old = land(table, version="v1", sequencer="0064D3901D00059242", landed="2026-11-30T10:00:00Z")
    new = land(table, version="v2", sequencer="0064D3901D000592AA", landed="2026-11-30T10:05:00Z")
    claimed, counts = work_queue.take_work(table, "run-1", NOW, limit=5, lease_seconds=600, max_attempts=3)
    assert [c["version_id"] for c in claimed] == ["v2"] and counts["superseded"] == 1
    assert state(table, old)["state"] == "SUPERSEDED" and state(table, old)["superseded_by"] == "v2"
    assert state(table, new)["state"] == "CLAIMED"


def test_sequencers_compare_as_padded_hexadecimal() -> None:
    assert items.sequencer_key("0064D3901D000592AA") > items.sequencer_key("0064D3901D00059242")
    assert items.sequencer_key("0064D3901D0005924201") > items.sequencer_key("0064D3901D00059242")
    assert items.sequencer_key(None) < items.sequencer_key("00")


def test_output_goes_to_one_folder_per_object_so_reruns_overwrite() -> None:
    item = {"key": "acme/p/2026-11-30/sensor_readings/r 1.csv.gz", "file_type": "sensor_readings", "tenant": "acme",
            "site": "p", "date": "2026-11-30"}
    assert work_queue.output_uri("s3://cur/files/", item) == (
        "s3://cur/files/sensor_readings/tenant=acme/site=p/date=2026-11-30/source_file=r_1.csv.gz/"
    )


def _job_role(monkeypatch: pytest.MonkeyPatch) -> tuple[EnforcedRole, dict[str, str]]:
    template = file_app().templates["Files"]
    resources = template["Resources"]
    role_id = next(lid for lid, r in resources.items() if r["Type"] == "AWS::IAM::Role" and lid.startswith("SiteFilesJobRole"))
    refs = placeholder_refs(template)
    refs.update(create_files_table(template))
    glue = boto3.client("glue", region_name=REGION)
    registry = glue.create_registry(RegistryName="acme-sites-files")["RegistryArn"]
    schema = glue.create_schema(RegistryId={"RegistryName": "acme-sites-files"}, SchemaName="sensor_readings",
                                DataFormat="AVRO", Compatibility="BACKWARD", SchemaDefinition=json.dumps(SCHEMA))
    for lid, resource in resources.items():
        if resource["Type"] == "AWS::Glue::Registry":
            refs[f"{lid}.Arn"] = registry
        if resource["Type"] == "AWS::Glue::Schema":
            refs[f"{lid}.Arn"] = schema["SchemaArn"]
    statements = [s for d in role_policy_documents(template, role_id) for s in resolve(d, refs)["Statement"]]
    return EnforcedRole(role_name=role_id, statements=statements), refs


def test_a_job_run_with_the_job_roles_policies_enforced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    with mock_aws():
        role, _ = _job_role(monkeypatch)
        dynamo = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
        good, bad = land(dynamo, "good.csv"), land(dynamo, "bad.csv")
        args = job.parse_arguments(["--table_name", TABLE, "--curated_uri", "s3://acme-curated/files/", "--registry_name",
                                    "acme-sites-files", "--JOB_RUN_ID", "jr_1", "--logical_date", "2026-11-30"])

        def converter(uri: str, fields: list[Any], output: str) -> int:
            assert [f.name for f in fields] == ["sensor_id", "reading_time", "value"]
            if uri.endswith("bad.csv"):
                raise job.FileFailed("values that do not convert to their schema type: value: 2 row(s)")
            return 42

        with role.enforced(monkeypatch):
            # clients made inside sign as the job role (a config= keeps the tests' shared clients out)
            summary = job.run(args, boto3.resource("dynamodb", region_name=REGION).Table(TABLE),
                              boto3.client("glue", region_name=REGION, config=BotoConfig()), converter, now=lambda: NOW)
        role.check_resources()
        assert summary | {"run_id": ""} == {"run_id": "", "logical_date": "2026-11-30", "claimed": 2, "done": 1, "failed": 1,
                                            "superseded": 0, "abandoned": 0, "lost_race": 0, "not_claimable": 0}
        assert {"dynamodb:Query", "dynamodb:UpdateItem", "glue:GetSchemaVersion"} <= role.actions()
        assert state(dynamo, good)["state"] == "DONE" and state(dynamo, good)["output_rows"] == 42
        failed = state(dynamo, bad)
        assert failed["state"] == "FAILED" and "value: 2 row(s)" in failed["failure_reason"] and failed["work_queue"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--curated_uri", "s3://c/", "--registry_name", "r"], "missing job argument(s) --table_name"),
        (["--table_name", "t", "--curated_uri", "c/", "--registry_name", "r"], "must be an s3:// URI"),
        (["--table_name", "t", "--curated_uri", "s3://c/", "--registry_name", "r", "--max_files", "many"], "not a whole number"),
    ],
)
def test_bad_job_arguments_say_which(argv: list[str], message: str) -> None:
    with pytest.raises(job.JobArgumentError, match=message.replace("(", r"\(").replace(")", r"\)")):
        job.parse_arguments(argv)


class _Registry:
    """A Glue client whose ``get_schema_version`` fails with ``code``."""

    def __init__(self, code: str) -> None:
        self.code = code

    def get_schema_version(self, **_: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, "GetSchemaVersion")


def _args() -> job.JobArguments:
    return job.parse_arguments(["--table_name", TABLE, "--curated_uri", "s3://c/files/", "--registry_name", "r",
                                "--JOB_RUN_ID", "jr_1"])


def test_an_unreachable_registry_gives_the_claims_back_uncounted_and_fails_the_run(table: Any) -> None:
    landed = [land(table, "a.csv"), land(table, "b.csv")]
    with pytest.raises(Exception, match="AccessDeniedException"):
        job.run(_args(), table, _Registry("AccessDeniedException"), lambda *a: 1, now=lambda: NOW)
    for item in landed:
        stored = state(table, item)
        assert stored["state"] == "PENDING" and stored["attempts"] == 0 and "claim_owner" not in stored


def test_a_file_type_missing_from_the_registry_fails_the_file_with_the_reason(table: Any) -> None:
    item = land(table)
    summary = job.run(_args(), table, _Registry("EntityNotFoundException"), lambda *a: 1, now=lambda: NOW)
    assert summary["failed"] == 1
    assert "no schema 'sensor_readings' in the registry r" in state(table, item)["failure_reason"]
