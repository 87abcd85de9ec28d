"""The migration job's pure functions (no Spark) and its AWS calls under the role the construct synthesizes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

from meshworks.lambdas.keyspaces_migration import job
from tests.aws_enforcement import EnforcedRole, placeholder_refs, resolve, role_policy_documents

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def _argv(**overrides: str) -> list[str]:
    values = {name: "x" for name, required in job.ARGUMENTS.items() if required}
    values.update({"MODE": "incremental", "CHANGE_KIND": "updated_at", **overrides})
    return [item for name, value in values.items() for item in (f"--{name}", value)]


def test_arguments_parse_both_glue_forms_and_ignore_glue_own() -> None:
    argv = [*_argv(), "--JOB_ID", "j_1", "--job-bookmark-option=job-bookmark-disable", "--SOURCE_PORT=9142"]
    args = job.parse_arguments(argv)
    assert args["SOURCE_PORT"] == "9142" and args["MODE"] == "incremental"
    assert "JOB_ID" not in args and "job-bookmark-option" not in args


def test_missing_or_bad_arguments_are_named() -> None:
    argv = _argv()
    index = argv.index("--STATE_BUCKET")
    with pytest.raises(job.MigrationError, match="--STATE_BUCKET"):
        job.parse_arguments(argv[:index] + argv[index + 2:])
    with pytest.raises(job.MigrationError, match="--MODE 'bulk'"):
        job.parse_arguments(_argv(MODE="bulk"))
    with pytest.raises(job.MigrationError, match="--CHANGE_KIND"):
        job.parse_arguments(_argv(CHANGE_KIND="ttl"))


# ------------------------------------------------------------------------------------------------ rate limiting


def test_write_rate_divides_the_rate_over_the_cores() -> None:
    """3,000 rows/s of 1 KB over 36 cores (10 G.1X workers): 3000 x 1024 / 36 / 2^20 MB/s per core."""
    cores = job.executor_cores("G.1X", 10)
    assert cores == 36
    rate = job.write_rate(3000, 1024, cores)
    assert rate.throughput_mb_per_sec == pytest.approx(3000 * 1024 / 36 / 1_048_576, rel=1e-5)
    assert rate.write_units_per_second == 3000
    assert rate.concurrent_writes == 2  # 83 rows/s per core x 10 ms x 2 = 1.7 -> 2 in flight per task
    assert rate.throughput_mb_per_sec * cores * 1_048_576 / 1024 == pytest.approx(3000, rel=1e-4)


def test_write_rate_counts_write_units_per_started_kilobyte_and_caps_concurrency() -> None:
    assert job.write_units_per_row(1024) == 1 and job.write_units_per_row(1025) == 2 and job.write_units_per_row(1) == 1
    rate = job.write_rate(40_000, 1500, 4)
    assert rate.write_units_per_second == 80_000
    assert rate.concurrent_writes == job.MAX_CONCURRENT_WRITES


@pytest.mark.parametrize(("rate", "size", "cores"), [(0, 1024, 4), (10, 0, 4), (10, 1024, 0), (True, 1024, 4)])
def test_write_rate_refuses_zero(rate: int, size: int, cores: int) -> None:
    with pytest.raises(job.MigrationError, match="whole number >= 1"):
        job.write_rate(rate, size, cores)


def test_executor_cores_refuse_unknown_workers() -> None:
    with pytest.raises(job.MigrationError, match="G.025X"):
        job.executor_cores("G.025X", 2)
    with pytest.raises(job.MigrationError, match="driver"):
        job.executor_cores("G.1X", 1)


# ------------------------------------------------------------------------------------------------ change window


def test_incremental_window_starts_one_overlap_before_the_mark() -> None:
    window = job.change_window("incremental", T0, T0 + timedelta(minutes=15), timedelta(minutes=5))
    assert window == job.Window(T0 - timedelta(minutes=5), T0 + timedelta(minutes=15))
    assert job.change_window("full_load", None, T0, timedelta(minutes=5)) == job.Window(None, T0)
    with pytest.raises(job.MigrationError, match="run the full load job first"):
        job.change_window("incremental", None, T0, timedelta(minutes=5))


def test_predicates_select_the_window_in_utc() -> None:
    local = timezone(timedelta(hours=2))
    window = job.Window(T0.astimezone(local), T0 + timedelta(minutes=15))
    assert job.change_predicate("updated_at", "computed_at", window) == (
        "`computed_at` >= TIMESTAMP '2026-11-30 12:00:00.000000' AND "
        "`computed_at` < TIMESTAMP '2026-11-30 12:15:00.000000'"
    )
    micros = int(T0.timestamp() * 1_000_000)
    assert job.change_predicate("writetime", "model_version", window) == (
        f"`{job.WRITETIME_ALIAS}` >= {micros} AND `{job.WRITETIME_ALIAS}` < {micros + 15 * 60 * 1_000_000}"
    )
    assert job.change_predicate("updated_at", "computed_at", job.Window(None, T0)) is None
    with pytest.raises(job.MigrationError, match="not a Keyspaces column name"):
        job.change_predicate("updated_at", "x` OR 1=1 --", window)


# ------------------------------------------------------------------------------------------------ connector settings


def test_keyspaces_profile_signs_with_sigv4_over_tls() -> None:
    profile = job.keyspaces_driver_profile("eu-west-1")
    assert '"cassandra.eu-west-1.amazonaws.com:9142"' in profile
    assert "class = software.aws.mcs.auth.SigV4AuthProvider" in profile and 'aws-region = "eu-west-1"' in profile
    assert 'basic.request.consistency = "LOCAL_QUORUM"' in profile and "DefaultSslEngineFactory" in profile
    assert "password" not in profile.lower()
    assert job.keyspaces_endpoint("cn-north-1") == "cassandra.cn-north-1.amazonaws.com.cn"


def test_write_options_are_keyspaces_safe() -> None:
    options = job.keyspaces_write_options(0.081380, 2)
    assert options == {
        "spark.cassandra.connection.config.profile.path": job.PROFILE_FILE,
        "spark.cassandra.output.consistency.level": "LOCAL_QUORUM",
        "spark.cassandra.output.batch.size.rows": "1",
        "spark.cassandra.output.batch.grouping.key": "none",
        "spark.cassandra.output.concurrent.writes": "2",
        "spark.cassandra.output.throughputMBPerSec": "0.08138",
    }


def test_source_options_read_at_quorum_with_the_secret_login() -> None:
    options = job.source_read_options(hosts=["10.0.1.10", "10.0.2.10"], port=9042, username="u", password="p",
                                      tls=True, local_datacenter="dc1", reads_per_second_per_core=50)
    assert options["spark.cassandra.connection.host"] == "10.0.1.10,10.0.2.10"
    assert options["spark.cassandra.input.consistency.level"] == "LOCAL_QUORUM"
    assert options["spark.cassandra.connection.ssl.enabled"] == "true"
    assert options["spark.cassandra.connection.localDC"] == "dc1"
    assert options["spark.cassandra.input.readsPerSec"] == "50"
    plain = job.source_read_options(hosts=["h"], port=9042, username="u", password="p", tls=False)
    assert plain["spark.cassandra.connection.ssl.enabled"] == "false" and "spark.cassandra.input.readsPerSec" not in plain
    private_ca = job.source_read_options(hosts=["h"], port=9042, username="u", password="p", tls=True,
                                         trust_store="cassandra.jks", trust_store_password="changeit")
    assert private_ca["spark.cassandra.connection.ssl.trustStore.path"] == "cassandra.jks"
    assert private_ca["spark.cassandra.connection.ssl.trustStore.password"] == "changeit"
    with pytest.raises(job.MigrationError, match="source TLS is off"):
        job.source_read_options(hosts=["h"], port=9042, username="u", password="p", tls=False, trust_store="a.jks")


def test_partitioner_must_be_murmur3() -> None:
    job.check_partitioner(job.MURMUR3)
    with pytest.raises(job.MigrationError, match="UPDATE system.local SET partitioner="):
        job.check_partitioner("com.amazonaws.cassandra.DefaultPartitioner")


# ------------------------------------------------------------------------------------------------ state, metrics


def test_state_round_trip_and_bad_marks() -> None:
    document = job.state_document(T0, mode="incremental", run_id="jr_1", rows_written=7)
    assert document["high_water_mark"] == "2026-11-30T12:00:00+00:00"
    assert job.parse_mark(json.loads(json.dumps(document))) == T0
    assert job.parse_mark(None) is None and job.parse_mark({}) is None
    assert job.parse_mark({"high_water_mark": "2026-11-30T12:00:00Z"}) == T0
    with pytest.raises(job.MigrationError, match="not an ISO-8601"):
        job.parse_mark({"high_water_mark": "yesterday"})
    with pytest.raises(job.MigrationError, match="UTC offset"):
        job.parse_mark({"high_water_mark": "2026-11-30T12:00:00"})


def test_metric_data_units_and_lag() -> None:
    data = job.metric_data(migration="m", mode="incremental", timestamp=T0,
                           values={"RowsWritten": 3, "ReplicationLagSeconds": 900.5})
    assert [(d["MetricName"], d["Unit"], d["Value"]) for d in data] == [
        ("RowsWritten", "Count", 3.0), ("ReplicationLagSeconds", "Seconds", 900.5)]
    assert data[0]["Dimensions"] == [{"Name": "Migration", "Value": "m"}, {"Name": "Mode", "Value": "incremental"}]
    assert job.replication_lag_seconds(T0, T0 + timedelta(minutes=17)) == 1020
    assert job.replication_lag_seconds(T0, T0 - timedelta(seconds=3)) == 0


# ------------------------------------------------------------------------------------------------ under the role


REGION, ACCOUNT = "eu-west-1", "123456789012"
BUCKET = "acme-migration-bucket"


@pytest.fixture(scope="module")
def synthesized() -> tuple[dict, str, str, str]:
    from tests.features.test_keyspaces_migration import build

    stack, migration = build()
    from aws_cdk.assertions import Template

    template = Template.from_stack(stack).to_json()
    role = stack.resolve(migration.role.node.default_child.logical_id)
    bucket = stack.resolve(migration.bucket.node.default_child.logical_id)
    return template, role, bucket, migration.state_key


def test_job_aws_calls_are_allowed_by_the_synthesized_role(
    synthesized: tuple[dict, str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's own AWS calls (state read/write, secret, metrics) under the exact policy of the template, IAM
    enforced by moto: a wrong state prefix or a missing secret grant fails here."""
    template, role_id, bucket_id, state_key = synthesized
    full_load_job = "keyspaces-migration-features-customer-features-full-load"
    refs = {**placeholder_refs(template, account=ACCOUNT, region=REGION), bucket_id: BUCKET,
            f"{bucket_id}.Arn": f"arn:aws:s3:::{BUCKET}"}
    statements = [s for d in role_policy_documents(template, role_id)
                  for s in resolve(d, refs, account=ACCOUNT, region=REGION)["Statement"]]
    role = EnforcedRole(role_name="keyspaces-migration-job", statements=statements, account=ACCOUNT, region=REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        boto3.client("glue", region_name=REGION).create_job(
            Name=full_load_job, Role="arn:aws:iam::123456789012:role/glue", Command={"Name": "glueetl"})
        boto3.client("glue", region_name=REGION).create_job(
            Name="someone-elses-job", Role="arn:aws:iam::123456789012:role/glue", Command={"Name": "glueetl"})
        secret_arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="cassandra/migration", SecretString=json.dumps({"username": "copier", "password": "s3cret"}))["ARN"]
        with role.enforced(monkeypatch):
            s3 = boto3.client("s3", region_name=REGION)
            assert job.read_state(s3, BUCKET, state_key) is None
            job.write_state(s3, BUCKET, state_key, job.state_document(T0, mode="full_load", run_id="jr", rows_written=1))
            assert job.parse_mark(job.read_state(s3, BUCKET, state_key)) == T0
            assert job.source_credentials(boto3.client("secretsmanager", region_name=REGION), secret_arn) == (
                "copier", "s3cret", None)
            job.put_metrics(boto3.client("cloudwatch", region_name=REGION), "meshworks/KeyspacesMigration",
                            job.metric_data(migration="m", mode="full_load", values={"RowsWritten": 1}, timestamp=T0))
            glue = boto3.client("glue", region_name=REGION)
            assert job.full_load_running(glue, full_load_job) is False
            glue.get_job_runs(JobName="someone-elses-job")  # moto checks actions only; the harness, resources:
            with pytest.raises(Exception, match="AccessDenied"):  # another migration's state is out of reach
                s3.put_object(Bucket=BUCKET, Key="state/other-migration/high_water_mark.json", Body=b"{}")
        assert role.denied_resources() == [  # only the full-load job's runs are visible
            f"glue:GetJobRuns on arn:aws:glue:{REGION}:{ACCOUNT}:job/someone-elses-job"]
        assert role.unchecked() == set()


class _Glue:
    def __init__(self, states: list[str]) -> None:
        self.states = states

    def get_job_runs(self, **_: object) -> dict:
        return {"JobRuns": [{"JobRunState": state} for state in self.states]}


@pytest.mark.parametrize(("states", "running"), [([], False), (["SUCCEEDED", "FAILED"], False),
                                                 (["RUNNING"], True), (["SUCCEEDED", "STARTING"], True),
                                                 (["STOPPING"], True), (["STOPPED", "TIMEOUT", "ERROR"], False)])
def test_increments_wait_while_a_full_load_runs(states: list[str], running: bool) -> None:
    assert job.full_load_running(_Glue(states), "full") is running


def test_bad_secret_says_how_to_store_it() -> None:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        arn = client.create_secret(Name="plain", SecretString="hunter2")["ARN"]
        with pytest.raises(job.MigrationError, match="'username' and 'password'"):
            job.source_credentials(client, arn)
