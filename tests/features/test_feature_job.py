"""``FeatureJob``: the state machine's definition, the job run's configuration, the schedule, and the least
privilege of the ``feature_creator`` role (exact statements, and IAM evaluated on moto for the calls the job makes).
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from aws_cdk import App, Duration, Stack
from moto import mock_aws

from meshworks.constructs.features import FeatureJob, feature_job_spark_conf
from meshworks.constructs.spark import EMR_SERVERLESS_SYNC
from tests.aws_enforcement import ACCOUNT, REGION, EnforcedRole, placeholder_refs, resolve, role_policy_documents
from tests.features.feature_job_fixtures import UserApp, definition, logical_id, synth_user_app

JOB_PATH = "Features/FeatureJob"


@pytest.fixture(scope="module")
def user_app(tmp_path_factory: pytest.TempPathFactory) -> UserApp:
    return synth_user_app(tmp_path_factory.mktemp("feature-job"))


def _resources(template: dict, kind: str) -> list[dict]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


# ---------------------------------------------------------------------------------------------- state machine


def test_definition_runs_the_job_with_the_sync_integration(user_app: UserApp) -> None:
    states = definition(user_app.template)["States"]
    assert list(states) == ["ApplyDefaults", "MergeInput", "RunFeatureJob", "Succeeded", "FeatureJobFailed"]
    run = states["RunFeatureJob"]
    assert run["Type"] == "Task" and run["Resource"] == EMR_SERVERLESS_SYNC == "arn:aws:states:::emr-serverless:startJobRun.sync"
    params = run["Parameters"]
    creator = logical_id(user_app.template, "AWS::IAM::Role", "FeatureCreator")
    assert params["ExecutionRoleArn"] == f"<{creator}.Arn>"
    assert params["ApplicationId"].endswith(".ApplicationId>")
    assert params["ExecutionTimeoutMinutes"] == 120 and run["TimeoutSeconds"] == 120 * 60 + 600
    assert params["ClientToken.$"] == "States.UUID()"
    assert params["JobDriver"]["SparkSubmit"]["EntryPoint"].startswith("s3://cdk-hnb659fds-assets-111111111111-eu-west-1/")
    assert params["JobDriver"]["SparkSubmit"]["EntryPoint"].endswith(".py")
    # the run time comes from the execution input (schedule) or defaults to the execution's start
    assert states["ApplyDefaults"]["Parameters"]["defaults"] == {"runTime.$": "$$.Execution.StartTime"}


def test_retries_throttling_and_transient_errors_with_backoff_then_fails_for_the_alerts(user_app: UserApp) -> None:
    run = definition(user_app.template)["States"]["RunFeatureJob"]
    assert run["Retry"] == [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 300, "MaxAttempts": 2,
                             "BackoffRate": 2, "JitterStrategy": "FULL"}]
    assert run["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "FeatureJobFailed"}]
    failed = definition(user_app.template)["States"]["FeatureJobFailed"]
    # a failed execution is what the job-failure alerts match (Step Functions Execution Status Change: FAILED)
    assert failed["Type"] == "Fail" and failed["Error"] == "FeatureJobFailed"


def test_job_arguments_name_both_stores(user_app: UserApp) -> None:
    arguments = definition(user_app.template)["States"]["RunFeatureJob"]["Parameters"]["JobDriver"]["SparkSubmit"]
    text = arguments["EntryPointArguments.$"]
    lake_raw = logical_id(user_app.template, "AWS::S3::Bucket", "LakeRaw")
    lake_curated = logical_id(user_app.template, "AWS::S3::Bucket", "LakeCurated")
    assert text == (
        f"States.Array('--source', 's3://<{lake_raw}>/events/', '--keyspace', 'features', '--table', "
        f"'customer_features', '--delta-location', 's3://<{lake_curated}>/features/customer_features/', "
        "'--glue-database', 'features', '--glue-table', 'customer_features', '--partition-column', 'feature_date', "
        "'--schema', 'customer_id string, feature_set string, computed_at timestamp, scores map<string,double>, "
        "flags array<string>, model struct<name:string,version:int>, feature_date date', '--region', 'eu-west-1', "
        "'--lookback-days', '30', '--run-time', $.job.runTime)"
    )


def test_job_configuration_carries_the_connectors_and_keyspaces_settings(user_app: UserApp) -> None:
    params = definition(user_app.template)["States"]["RunFeatureJob"]["Parameters"]
    (config,) = params["ConfigurationOverrides"]["ApplicationConfiguration"]
    assert config["Classification"] == "spark-defaults"
    assert config["Properties"] == {
        "spark.jars.packages": "com.datastax.spark:spark-cassandra-connector_2.12:3.5.1,"
                               "software.aws.mcs:aws-sigv4-auth-cassandra-java-driver-plugin:4.0.9",
        "spark.jars": "/usr/share/aws/delta/lib/delta-spark.jar,/usr/share/aws/delta/lib/delta-storage.jar",
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension,com.datastax.spark.connector.CassandraSparkExtensions",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.cassandra.output.consistency.level": "LOCAL_QUORUM",
        "spark.cassandra.input.consistency.level": "LOCAL_QUORUM",
        "spark.cassandra.output.batch.size.rows": "1",
        "spark.cassandra.output.batch.grouping.key": "none",
        "spark.cassandra.output.concurrent.writes": "3",
        "spark.cassandra.query.retry.count": "500",
        "spark.task.maxFailures": "10",
        "spark.sql.session.timeZone": "UTC",
    }


def test_write_rate_limit_is_optional() -> None:
    assert "spark.cassandra.output.throughputMBPerSec" not in feature_job_spark_conf()
    assert feature_job_spark_conf(max_write_mb_per_core=0.5)["spark.cassandra.output.throughputMBPerSec"] == "0.5"


def test_state_machine_is_encrypted_traced_and_logged(user_app: UserApp) -> None:
    (machine,) = _resources(user_app.template, "AWS::StepFunctions::StateMachine")
    props = machine["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["EncryptionConfiguration"]["Type"] == "CUSTOMER_MANAGED_KMS_KEY"
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    log_group = logical_id(user_app.template, "AWS::Logs::LogGroup", "FeatureJobLogs")
    assert user_app.template["Resources"][log_group]["Properties"]["KmsKeyId"]
    assert user_app.template["Resources"][log_group]["DeletionPolicy"] == "Retain"


# ---------------------------------------------------------------------------------------------- schedule


def test_schedule_with_time_zone_retries_dead_letters_and_an_alarm(user_app: UserApp) -> None:
    (schedule,) = _resources(user_app.template, "AWS::Scheduler::Schedule")
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "cron(0 5 * * ? *)" and props["ScheduleExpressionTimezone"] == "UTC"
    target = props["Target"]
    assert target["Input"] == '{"runTime":"<aws.scheduler.scheduled-time>"}'
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}
    dlq = logical_id(user_app.template, "AWS::SQS::Queue", "ScheduleDeadLetterQueue")
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq, "Arn"]}}
    assert "KmsKeyArn" in props
    (alarm,) = _resources(user_app.template, "AWS::CloudWatch::Alarm")
    assert alarm["Properties"]["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}]
    assert alarm["Properties"]["AlarmActions"]


def test_scheduler_role_can_write_its_encrypted_dead_letter_queue(user_app: UserApp) -> None:
    """SQS encrypts with the queue's CMK on the sender's behalf: the scheduler's role needs GenerateDataKey (the
    CDK target grants sqs:SendMessage only; without the key grant every dead letter is lost)."""
    template = user_app.template
    role = logical_id(template, "AWS::IAM::Role", "SchedulerRole")
    refs = placeholder_refs(template)
    statements = [s for d in role_policy_documents(template, role) for s in resolve(d, refs)["Statement"]]
    key = logical_id(template, "AWS::KMS::Key", "FeatureJobKey")
    enforced = EnforcedRole(role_name=role, statements=statements)
    queue_key = template["Resources"][logical_id(template, "AWS::SQS::Queue", "ScheduleDeadLetterQueue")]
    assert queue_key["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    assert enforced.allows("kms:GenerateDataKey", refs[f"{key}.Arn"])
    assert enforced.allows("sqs:SendMessage", refs[f"{logical_id(template, 'AWS::SQS::Queue', 'ScheduleDeadLetterQueue')}.Arn"])
    assert enforced.allows("states:StartExecution", refs[logical_id(template, "AWS::StepFunctions::StateMachine", "FeatureJob")])


def test_no_schedule() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as outdir:
        app = synth_user_app(Path(outdir), schedule=None)
    assert not _resources(app.template, "AWS::Scheduler::Schedule") and app.job.schedule is None
    assert app.violations == []


# ---------------------------------------------------------------------------------------------- feature_creator


def _creator_statements(template: dict) -> tuple[str, list[dict]]:
    role = logical_id(template, "AWS::IAM::Role", "FeatureCreator")
    docs = role_policy_documents(template, role)
    return role, [s for d in docs for s in d["Statement"]]


def test_feature_creator_statements_exactly(user_app: UserApp) -> None:
    template = user_app.template
    _, statements = _creator_statements(template)
    refs = placeholder_refs(template, account="111111111111")
    resolved = [resolve(s, refs, account="111111111111") for s in statements]
    ks = "arn:aws:cassandra:eu-west-1:111111111111:"
    curated = refs[f"{logical_id(template, 'AWS::S3::Bucket', 'LakeCurated')}.Arn"]
    raw = refs[f"{logical_id(template, 'AWS::S3::Bucket', 'LakeRaw')}.Arn"]
    table_key = refs[f"{logical_id(template, 'AWS::KMS::Key', 'CustomerFeaturesKey')}.Arn"]
    lake_key = refs[f"{logical_id(template, 'AWS::KMS::Key', 'LakeKey')}.Arn"]
    by_resource = {}
    for s in resolved:
        assert s["Effect"] == "Allow"
        for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]):
            by_resource.setdefault(resource, set()).update(s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    # Keyspaces: Modify on the one table, Select on the system keyspaces, the table key via Keyspaces only
    assert by_resource[f"{ks}/keyspace/features/table/customer_features"] == {"cassandra:Modify"}
    assert by_resource[f"{ks}/keyspace/system*"] == {"cassandra:Select"}
    (key_statement,) = [s for s in resolved if s["Resource"] == table_key]
    assert key_statement["Condition"] == {"StringEquals": {"kms:ViaService": "cassandra.eu-west-1.amazonaws.com"}}
    # Delta: read/write/delete under the table's prefix only; the raw events read-only under events/
    assert "s3:DeleteObject*" in by_resource[f"{curated}/features/customer_features/*"]
    assert not any(r.startswith(curated + "/") and r != f"{curated}/features/customer_features/*" for r in by_resource)
    assert by_resource[f"{raw}/events/*"] == {"s3:GetObject*", "s3:GetBucket*", "s3:List*"}
    assert "kms:Encrypt" in by_resource[lake_key]
    # Glue: the table's definition, read-only
    glue = "arn:aws:glue:eu-west-1:111111111111:"
    for arn in (f"{glue}catalog", f"{glue}database/features", f"{glue}table/features/customer_features"):
        assert by_resource[arn] == {"glue:GetDatabase", "glue:GetTable"}
    every_action = set().union(*by_resource.values())
    assert not any(a.startswith(("glue:Create", "glue:Update", "glue:Delete", "iam:", "cassandra:Alter",
                                 "cassandra:Drop", "cassandra:Create")) for a in every_action)
    assert "*" not in every_action and "cassandra:*" not in every_action


@mock_aws
def test_feature_creator_on_moto_with_iam_enforced(user_app: UserApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """The calls the job makes outside Spark's connectors (Glue catalog check, Delta objects), signed as the
    feature_creator under its synthesized policies: allowed where the job writes, denied next to it."""
    from meshworks.lambdas.feature_job.job import check_catalog_location

    template = user_app.template
    role, statements = _creator_statements(template)
    curated_id = logical_id(template, "AWS::S3::Bucket", "LakeCurated")
    buckets = {k: "lake-curated" if k == curated_id else k.lower() for k, r in template["Resources"].items()
               if r["Type"] == "AWS::S3::Bucket"}  # every bucket as an S3 ARN, so moto checks each resource
    refs = {**placeholder_refs(template), **buckets, **{f"{k}.Arn": f"arn:aws:s3:::{v}" for k, v in buckets.items()}}
    # the user's stack is in account 111111111111; moto's principal lives in ACCOUNT
    resolved = json.loads(json.dumps([resolve(s, refs) for s in statements]).replace("111111111111", ACCOUNT))
    enforced = EnforcedRole(role_name="feature-creator", statements=resolved)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="lake-curated", CreateBucketConfiguration={"LocationConstraint": REGION})
    glue = boto3.client("glue", region_name=REGION)
    glue.create_database(DatabaseInput={"Name": "features"})
    table = template["Resources"][logical_id(template, "AWS::Glue::Table", "Offline")]
    table_input = resolve(table["Properties"]["TableInput"], refs)
    glue.create_table(DatabaseName="features", TableInput=table_input)
    delta = "s3://lake-curated/features/customer_features/"
    with enforced.enforced(monkeypatch):
        glue_as_job = boto3.client("glue", region_name=REGION)
        s3_as_job = boto3.client("s3", region_name=REGION)
        with pytest.raises(s3_as_job.exceptions.ClientError, match="AccessDenied"):
            s3_as_job.put_object(Bucket="lake-curated", Key="other_table/part-0.parquet", Body=b"x")
        with pytest.raises(glue_as_job.exceptions.ClientError, match="AccessDenied"):
            glue_as_job.update_table(DatabaseName="features", TableInput=table_input)
        enforced.calls.clear()  # the denied calls above; what follows must be allowed, resources included
        check_catalog_location(glue_as_job.get_table(DatabaseName="features", Name="customer_features")["Table"], delta)
        key = "features/customer_features/_delta_log/00000000000000000000.json"
        s3_as_job.put_object(Bucket="lake-curated", Key=key, Body=b"{}")
        s3_as_job.get_object(Bucket="lake-curated", Key=key)
        s3_as_job.delete_object(Bucket="lake-curated", Key=key)  # Delta's expired-log cleanup
    enforced.check_resources()
    assert not enforced.allows("glue:GetTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:table/features/other")
    assert not enforced.allows("cassandra:Modify", f"arn:aws:cassandra:{REGION}:{ACCOUNT}:/keyspace/features/table/other")


def test_state_machine_role_passes_only_the_feature_creator(user_app: UserApp) -> None:
    template = user_app.template
    role = logical_id(template, "AWS::IAM::Role", "FeatureJobStateMachineRole")
    statements = [s for d in role_policy_documents(template, role) for s in d["Statement"]]
    (pass_role,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    creator = logical_id(template, "AWS::IAM::Role", "FeatureCreator")
    assert pass_role["Resource"] == {"Fn::GetAtt": [creator, "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}}
    (rule,) = [s for s in statements if s["Action"] == ["events:PutTargets", "events:PutRule", "events:DescribeRule"]]
    assert "StepFunctionsGetEventsForEMRServerlessJobRule" in str(rule["Resource"])


# ---------------------------------------------------------------------------------------------- importers, errors


def test_alone_as_the_docstring_shows_offline_and_zero_findings(user_app: UserApp) -> None:
    assert user_app.missing == []
    assert user_app.violations == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"schedule": "every day"}, r"schedule='every day' is not an EventBridge Scheduler expression"),
        ({"schedule_time_zone": "CET+1"}, r"schedule_time_zone='CET\+1' is not an IANA time zone"),
        ({"retry_attempts": 9}, r"retry_attempts=9: give a whole number from 0 to 5"),
        ({"concurrent_writes": 0}, r"concurrent_writes=0"),
        ({"max_write_mb_per_core": -1}, r"max_write_mb_per_core=-1"),
        ({"source_prefix": "/events"}, r"source_prefix='/events' must be a folder ending in '/'"),
        ({"job_timeout": Duration.seconds(30)}, r"job_timeout"),
        ({"schedule": "cron(0 5 * * * *)"}, r"schedule='cron\(0 5 \* \* \* \*\)': a Scheduler cron has 6 fields"),
        ({"schedule": "cron(0 5 * * *)"}, r"exactly one of day-of-month and day-of-week is '\?'"),
        ({"application": None}, r"application=None is not an EmrServerlessApplication"),
        ({"script": "jobs/missing.py"}, r"script='jobs/missing.py' is not a file"),
        ({"encryption_key": "alias/features"}, r"encryption_key='alias/features' is not a KMS key"),
        ({"log_retention": 365}, r"log_retention=365 is not a logs.RetentionDays"),
        ({"online_table": None}, r"online_table=None is not a KeyspacesTable"),
        ({"offline_store": "features"}, r"offline_store='features' is not an OfflineStore"),
        ({"source_bucket": "raw-bucket"}, r"source_bucket='raw-bucket' is not a bucket \(s3.IBucket\): pass"),
    ],
)
def test_bad_arguments_are_one_clear_message(user_app: UserApp, kwargs: dict, message: str) -> None:
    stack = Stack(App(), "Other")
    job = user_app.job
    with pytest.raises(ValueError, match=message):
        FeatureJob(stack, "Job", **{"application": _Stub(), "online_table": _Stub(), "offline_store": _Stub(),
                                    "source_bucket": _Stub(), **kwargs})
    assert job.state_machine_arn


class _Stub:
    """Validation happens before any other argument is used (the attributes the collaborator checks look for)."""

    grant_log_delivery = grant_write_data = bucket_arn = None
