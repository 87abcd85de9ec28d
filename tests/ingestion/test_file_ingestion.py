"""``FileIngestion``: what its template guarantees, its retention, and its input errors (one clear message each)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, RemovalPolicy, Stack

from meshworks.constructs.core.removal import REMOVE_DATA_ON_DESTROY
from meshworks.constructs.ingestion import FileIngestion
from meshworks.constructs.storage import SecureBucket
from meshworks.lambdas.file_ingestion import items, job
from tests.harness import ROOT
from tests.ingestion.file_app import ENV, SCHEMA, SCHEMA_V2, file_app


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def _one(template: dict[str, Any], kind: str) -> dict[str, Any]:
    [resource] = _of_type(template, kind).values()
    return resource


@pytest.fixture(scope="module")
def files() -> dict[str, Any]:
    return file_app().templates["Files"]


@pytest.fixture(scope="module")
def mwaa() -> dict[str, Any]:
    return file_app().templates["Mwaa"]


def test_one_item_per_object_version_with_the_work_queue_index_retained(files: dict[str, Any]) -> None:
    table = _one(files, "AWS::DynamoDB::GlobalTable")
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "object_uri", "KeyType": "HASH"},
                                  {"AttributeName": items.SORT_KEY, "KeyType": "RANGE"}]
    indexes = {g["IndexName"]: g["KeySchema"] for g in props["GlobalSecondaryIndexes"]}
    assert indexes[items.WORK_QUEUE_INDEX] == [{"AttributeName": "work_queue", "KeyType": "HASH"},
                                               {"AttributeName": "landed_at", "KeyType": "RANGE"}]
    assert props["SSESpecification"]["SSEType"] == "KMS"


def test_object_created_events_of_the_landing_bucket_reach_the_recorder_with_retries_and_a_dlq(files: dict[str, Any]) -> None:
    rule = _one(files, "AWS::Events::Rule")["Properties"]
    assert rule["EventPattern"]["source"] == ["aws.s3"] and rule["EventPattern"]["detail-type"] == ["Object Created"]
    assert list(rule["EventPattern"]["detail"]["bucket"]["name"][0]) == ["Ref"]
    [target] = rule["Targets"]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 8}
    assert "DeadLetterConfig" in target
    notifications = _one(files, "Custom::S3BucketNotifications")["Properties"]["NotificationConfiguration"]
    assert notifications == {"EventBridgeConfiguration": {}}


def test_the_recorder_may_only_put_items_in_its_table(files: dict[str, Any]) -> None:
    policies = [p["Properties"]["PolicyDocument"]["Statement"] for lid, p in _of_type(files, "AWS::IAM::Policy").items()
                if lid.startswith("SiteFilesRecorderRole")]
    dynamo = [s for statements in policies for s in statements if "dynamodb" in json.dumps(s["Action"])]
    assert len(dynamo) == 1 and dynamo[0]["Action"] == "dynamodb:PutItem"
    assert list(dynamo[0]["Resource"]) == ["Fn::GetAtt"]  # the table itself, not its indexes


def test_schemas_live_in_the_registry_and_later_versions_are_schema_versions(files: dict[str, Any]) -> None:
    registry = _one(files, "AWS::Glue::Registry")
    schema = _one(files, "AWS::Glue::Schema")
    version = _one(files, "AWS::Glue::SchemaVersion")
    for resource in (registry, schema, version):
        assert resource["DeletionPolicy"] == "Retain"
    assert registry["Properties"]["Name"] == "acme-sites-files"
    assert schema["Properties"]["Name"] == "sensor_readings" and schema["Properties"]["DataFormat"] == "AVRO"
    assert json.loads(schema["Properties"]["SchemaDefinition"]) == SCHEMA
    assert json.loads(version["Properties"]["SchemaDefinition"]) == SCHEMA_V2


def test_the_job_is_encrypted_bounded_and_takes_the_arguments_the_script_reads(files: dict[str, Any]) -> None:
    props = _one(files, "AWS::Glue::Job")["Properties"]
    assert props["Name"] == "acme-sites-csv-to-parquet" and props["GlueVersion"] == "5.0"
    assert props["MaxRetries"] == 0 and props["Timeout"] == 60 and props["ExecutionProperty"] == {"MaxConcurrentRuns": 2}
    assert "Ref" in props["SecurityConfiguration"]
    arguments = props["DefaultArguments"]
    for name in job.REQUIRED_ARGUMENTS + ("max_files", "max_attempts", "lease_seconds"):
        assert f"--{name}" in arguments
    assert arguments["--lease_seconds"] == "7200" and arguments["--custom-logGroup-prefix"] == "/aws-glue/jobs/acme-sites-csv-to-parquet"
    modes = _one(files, "AWS::Glue::SecurityConfiguration")["Properties"]["EncryptionConfiguration"]
    assert modes["S3Encryptions"][0]["S3EncryptionMode"] == "SSE-KMS"
    # the curated bucket's own key, so its readers can decrypt the output
    assert modes["S3Encryptions"][0]["KmsKeyArn"]["Fn::GetAtt"][0].startswith("CuratedKey")
    assert modes["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"
    assert modes["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"
    groups = {g["Properties"].get("LogGroupName") for g in _of_type(files, "AWS::Logs::LogGroup").values()}
    assert {"/aws-glue/jobs/acme-sites-csv-to-parquet/output", "/aws-glue/jobs/acme-sites-csv-to-parquet/error"} <= groups


def test_the_job_role_reads_only_its_own_schemas_and_has_no_managed_policy(files: dict[str, Any]) -> None:
    [role] = [r for lid, r in _of_type(files, "AWS::IAM::Role").items() if lid.startswith("SiteFilesJobRole")]
    assert "ManagedPolicyArns" not in role["Properties"]
    statements = [s for lid, p in _of_type(files, "AWS::IAM::Policy").items() if lid.startswith("SiteFilesJobRole")
                  for s in p["Properties"]["PolicyDocument"]["Statement"]]
    [schemas] = [s for s in statements if s["Action"] == "glue:GetSchemaVersion"]
    assert len(schemas["Resource"]) == 2 and all("Fn::GetAtt" in r for r in schemas["Resource"])
    assert not [s for s in statements if s.get("Resource") == "*"]


def test_the_schedule_starts_the_job_with_retries_and_a_dead_letter_queue(files: dict[str, Any], mwaa: dict[str, Any]) -> None:
    props = _one(files, "AWS::Scheduler::Schedule")["Properties"]
    assert props["ScheduleExpression"] == "rate(30 minutes)"
    target = props["Target"]
    assert target["Arn"]["Fn::Join"][1][-1] == ":scheduler:::aws-sdk:glue:startJobRun"
    assert json.loads(target["Input"]) == {"JobName": "acme-sites-csv-to-parquet"}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2 and "DeadLetterConfig" in target
    assert _of_type(mwaa, "AWS::Scheduler::Schedule") == {}


def test_every_alarm_notifies_the_alarm_topic(files: dict[str, Any], mwaa: dict[str, Any]) -> None:
    alarms = _of_type(files, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 3 and all(len(a["Properties"]["AlarmActions"]) == 1 for a in alarms.values())
    assert len(_of_type(mwaa, "AWS::CloudWatch::Alarm")) == 2  # no schedule, no schedule DLQ


def test_the_mwaa_variant_records_only_keys_under_the_landing_prefix(mwaa: dict[str, Any]) -> None:
    detail = _one(mwaa, "AWS::Events::Rule")["Properties"]["EventPattern"]["detail"]
    assert detail["object"] == {"key": [{"prefix": "incoming/"}]}


def test_the_example_dag_starts_the_job_by_the_constructs_name_with_arguments_the_job_reads() -> None:
    dag = (ROOT / "dags" / "example_file_ingestion_dag.py").read_text()
    default_job = re.search(r"meshworks_csv_job', '([^']+)'", dag).group(1)
    assert default_job == "meshworks-demo-csv-to-parquet"  # FileIngestion(name="meshworks-demo").job_name
    arguments = re.findall(r'"--([a-z_]+)":', dag)
    assert arguments and set(arguments) <= set(job.DEFAULTS) | set(job.REQUIRED_ARGUMENTS)


# ---- retention and input errors ------------------------------------------------------------------------


def _stack(app: App | None = None) -> tuple[Stack, SecureBucket, SecureBucket]:
    stack = Stack(app or App(), "S", env=ENV)
    return stack, SecureBucket(stack, "Landing"), SecureBucket(stack, "Curated")


def _registry_policy(app: App, **kwargs: Any) -> str:
    stack, landing, curated = _stack(app)
    files = FileIngestion(stack, "F", name="acme-sites", landing_bucket=landing, curated_bucket=curated,
                          schemas={"sensor_readings": json.dumps(SCHEMA)}, **kwargs)
    return files.registry.cfn_options.deletion_policy.value


def test_destroy_needs_the_context_flag() -> None:
    assert _registry_policy(App(), removal_policy=RemovalPolicy.DESTROY) == "RETAIN"
    app = App(context={REMOVE_DATA_ON_DESTROY: "true"})
    assert _registry_policy(app, removal_policy=RemovalPolicy.DESTROY) == "DELETE"


def test_a_schema_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "sensor_readings.avsc"
    path.write_text(json.dumps(SCHEMA))
    stack, landing, curated = _stack()
    files = FileIngestion(stack, "F", name="acme-sites", landing_bucket=landing, curated_bucket=curated,
                          schemas={"sensor_readings": path})
    assert json.loads(files.schemas["sensor_readings"].schema_definition) == SCHEMA


NESTED = {**SCHEMA, "fields": [{"name": "where", "type": {"type": "record", "name": "L", "fields": []}}]}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Acme Sites"}, "name='Acme Sites': use 3-40 lower-case"),
        ({"key_pattern": r"^(?P<tenant>\w+)/(?P<site>\w+)/.*$"}, r"lacks the named group\(s\) \(\?P<date>...\), \(\?P<file_type>...\)"),
        ({"key_pattern": r"^(?P<tenant>[a-z+/"}, "is not a valid Python regular expression"),
        ({"schemas": {"sensor_readings": json.dumps(NESTED)}}, "field 'where': type .* is not supported for CSV"),
        ({"schemas": {"sensor_readings": "{not json"}}, "not valid JSON"),
        ({"schemas": {"sensor_readings": Path("missing/sensor.avsc")}}, "no file 'missing/sensor.avsc'"),
        ({"schemas": {"Sensor Readings": json.dumps(SCHEMA)}}, "file type 'Sensor Readings': use lower-case"),
        ({"schemas": {}}, "schemas must map each file type"),
        ({"lease": Duration.minutes(30)}, r"lease \(30 minutes\) must exceed job_timeout \(1 hour\)"),
        ({"max_attempts": 0}, "max_attempts=0: give a whole number from 1 to 20"),
        ({"worker_type": "Standard"}, "worker_type='Standard': use one of G.025X"),
        ({"landing_bucket": None}, "landing_bucket=None: give a bucket"),
        ({"curated_bucket": "acme-curated"}, "curated_bucket='acme-curated': give a bucket"),
        ({"schedule_expression": "every hour"}, "schedule_expression='every hour': give an EventBridge Scheduler"),
        ({"schedule_expression": "cron(0 * * *)"}, r"schedule_expression='cron\(0 \* \* \*\)'"),
    ],
)
def test_bad_input_is_one_clear_error(kwargs: dict[str, Any], message: str) -> None:
    stack, landing, curated = _stack()
    arguments: dict[str, Any] = {"name": "acme-sites", "landing_bucket": landing, "curated_bucket": curated,
                                 "schemas": {"sensor_readings": json.dumps(SCHEMA)}, **kwargs}
    with pytest.raises(ValueError, match=message):
        FileIngestion(stack, "F", **arguments)


def test_the_templates_pass_cfn_lint() -> None:
    from tests.policy.test_cfn_lint import lint_all

    problems, _ = lint_all({f"FileIngestion-{name}": template for name, template in file_app().templates.items()})
    assert problems == []
