"""KeyspacesMigration: job arguments, schedule, pre-warming, alarms, the role's exact statements, refusals."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Template

from meshworks.constructs.core import pin_availability_zones
from meshworks.constructs.features import (
    ChangeColumn,
    ChangeKind,
    Keyspace,
    KeyspacesMigration,
    KeyspacesTable,
    KeyspacesTableSchema,
    ProvisionedCapacity,
    WarmThroughput,
)
from meshworks.constructs.features.keyspaces_migration import METRICS_NAMESPACE, schedule_expression
from meshworks.lambdas.keyspaces_migration import job
from tests.features.cql_samples import CASSANDRA_DDL

ENV = Environment(account="123456789012", region="eu-west-1")
AZS = ["eu-west-1a", "eu-west-1b"]
COUNTERS = "CREATE TABLE features.hits (page text, day timestamp, views counter, PRIMARY KEY (page, day));"


def _stack(context: dict[str, Any] | None = None) -> tuple[Stack, ec2.Vpc]:
    stack = Stack(App(builtin_cloud_formation_validation=False, context=context), "Migration", env=ENV)
    pin_availability_zones(stack, AZS)
    vpc = ec2.Vpc(stack, "Vpc", availability_zones=AZS, nat_gateways=1)
    return stack, vpc


def build(**kwargs: Any) -> tuple[Stack, KeyspacesMigration]:
    """The docstring's use: a table from the Cassandra DDL, a secret by name, an updated-at column, 3,000 rows/s."""
    stack, vpc = _stack(kwargs.pop("context", None))
    schema = KeyspacesTableSchema.from_cql(kwargs.pop("ddl", CASSANDRA_DDL))
    keyspace = Keyspace(stack, "Keyspace", keyspace_name=schema.keyspace)
    table = KeyspacesTable(stack, "Table", keyspace=keyspace, schema=schema, capacity=kwargs.pop("capacity", None),
                           warm_throughput=kwargs.pop("warm_throughput", None))
    arguments = {
        "table": table, "vpc": vpc, "source_hosts": ["10.0.1.10", "10.0.2.10"],
        "source_credentials": secretsmanager.Secret.from_secret_name_v2(stack, "Login", "cassandra/migration"),
        "change_column": ChangeColumn("computed_at"), "max_writes_per_second": 6000, **kwargs,
    }
    return stack, KeyspacesMigration(stack, "Migration", **arguments)


@pytest.fixture(scope="module")
def built() -> tuple[Stack, KeyspacesMigration, Template]:
    stack, migration = build()
    return stack, migration, Template.from_stack(stack)


def _one(template: Template, kind: str, **props: Any) -> dict[str, Any]:
    found = [r for r in template.find_resources(kind).values()
             if all(r["Properties"].get(k) == v for k, v in props.items())]
    assert len(found) == 1, found
    return found[0]["Properties"]


# ------------------------------------------------------------------------------------------------ jobs


def test_two_glue_5_jobs_never_overlap_and_take_the_job_arguments(built: tuple) -> None:
    stack, migration, template = built
    full = _one(template, "AWS::Glue::Job", Name="keyspaces-migration-features-customer-features-full-load")
    incremental = _one(template, "AWS::Glue::Job", Name="keyspaces-migration-features-customer-features-incremental")
    for props, workers in ((full, 10), (incremental, 2)):
        assert props["GlueVersion"] == "5.0" and props["Command"]["Name"] == "glueetl"
        assert props["Command"]["PythonVersion"] == "3"
        assert props["ExecutionProperty"] == {"MaxConcurrentRuns": 1} and props["MaxRetries"] == 0
        assert props["WorkerType"] == "G.1X" and props["NumberOfWorkers"] == workers
        assert props["Connections"] == {"Connections": ["keyspaces-migration-features-customer-features"]}
        assert props["SecurityConfiguration"] == "keyspaces-migration-features-customer-features"
        arguments = props["DefaultArguments"]
        assert {name for name, required in job.ARGUMENTS.items() if required} <= {k[2:] for k in arguments}
        assert arguments["--job-bookmark-option"] == "job-bookmark-disable"
        assert arguments["--user-jars-first"] == "true"
    assert full["DefaultArguments"]["--MODE"] == "full_load"
    assert incremental["DefaultArguments"]["--MODE"] == "incremental"
    assert (full["Timeout"], incremental["Timeout"]) == (2880, 60)
    arguments = stack.resolve(incremental["DefaultArguments"])
    assert arguments["--SOURCE_HOSTS"] == "10.0.1.10,10.0.2.10" and arguments["--SOURCE_PORT"] == "9042"
    assert arguments["--SOURCE_TLS"] == "true"
    assert arguments["--SOURCE_KEYSPACE"] == arguments["--TARGET_KEYSPACE"] == "features"
    assert arguments["--TARGET_TABLE"] == "customer_features"
    assert arguments["--COLUMNS"] == ("customer_id,region,feature_set,computed_at,scores,labels,home,history,window,"
                                      "model_version")
    assert (arguments["--CHANGE_COLUMN"], arguments["--CHANGE_KIND"]) == ("computed_at", "updated_at")
    assert arguments["--OVERLAP_SECONDS"] == "300"
    assert arguments["--METRICS_NAMESPACE"] == METRICS_NAMESPACE
    assert arguments["--STATE_KEY"] == "state/features-customer-features/high_water_mark.json"
    assert "cassandra/migration" in str(arguments["--SOURCE_SECRET_ARN"])
    assert str(arguments["--extra-jars"]).count("s3://") == 2
    assert "spark-cassandra-connector-assembly_2.12-3.5.1.jar" in str(arguments["--extra-jars"])
    assert "aws-sigv4-auth-cassandra-java-driver-plugin-4.0.9-shaded.jar" in str(arguments["--extra-jars"])


def test_write_rate_arguments_follow_each_jobs_cores(built: tuple) -> None:
    """6,000 rows/s: the full load's 36 cores and the increment's 4 cores each share the same ceiling."""
    _, migration, template = built
    for name, cores in (("full-load", 36), ("incremental", 4)):
        props = _one(template, "AWS::Glue::Job", Name=f"keyspaces-migration-features-customer-features-{name}")
        rate = job.write_rate(6000, 1024, cores)
        assert props["DefaultArguments"]["--WRITE_THROUGHPUT_MB_PER_SEC"] == f"{rate.throughput_mb_per_sec:g}"
        assert props["DefaultArguments"]["--CONCURRENT_WRITES"] == str(rate.concurrent_writes)
    assert migration.write_units_per_second == 6000


def test_incremental_job_runs_every_15_minutes_and_full_load_on_demand(built: tuple) -> None:
    _, _, template = built
    triggers = template.find_resources("AWS::Glue::Trigger")
    assert len(triggers) == 1
    props = next(iter(triggers.values()))["Properties"]
    assert props["Type"] == "SCHEDULED" and props["Schedule"] == "cron(0/15 * * * ? *)"
    assert props["StartOnCreation"] is True
    assert props["Actions"] == [{"JobName": "keyspaces-migration-features-customer-features-incremental"}]
    depends = next(iter(triggers.values()))["DependsOn"]
    policies = [k for k, r in template.find_resources("AWS::IAM::Policy").items() if "MigrationRole" in k]
    assert policies and set(policies) <= set(depends)  # the first run starts with the role's policy attached


@pytest.mark.parametrize(("minutes", "cron"), [(5, "cron(0/5 * * * ? *)"), (60, "cron(0 * * * ? *)"),
                                               (120, "cron(0 0/2 * * ? *)"), (1440, "cron(0 0/24 * * ? *)")])
def test_schedule_expressions(minutes: int, cron: str) -> None:
    assert schedule_expression("m", minutes) == cron


def test_network_connection_and_security_configuration(built: tuple) -> None:
    stack, migration, template = built
    connection = _one(template, "AWS::Glue::Connection")["ConnectionInput"]
    assert connection["ConnectionType"] == "NETWORK"
    requirements = stack.resolve(connection["PhysicalConnectionRequirements"])
    assert requirements["AvailabilityZone"] == "eu-west-1a"
    private = stack.resolve(migration.node.scope.node.find_child("Vpc").private_subnets[0].subnet_id)
    assert requirements["SubnetId"] == private
    assert requirements["SecurityGroupIdList"] == [stack.resolve(migration.security_group.security_group_id)]
    ingress = _one(template, "AWS::EC2::SecurityGroupIngress")
    assert ingress["IpProtocol"] == "tcp" and (ingress["FromPort"], ingress["ToPort"]) == (0, 65535)
    assert ingress["SourceSecurityGroupId"] == ingress["GroupId"]  # Glue's self-referencing rule
    encryption = _one(template, "AWS::Glue::SecurityConfiguration")["EncryptionConfiguration"]
    key = stack.resolve(migration.key.key_arn)
    assert encryption["S3Encryptions"] == [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": key}]
    assert encryption["CloudWatchEncryption"] == {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": key}
    assert encryption["JobBookmarksEncryption"] == {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": key}


def test_glue_5_logs_go_to_encrypted_retained_log_groups_of_this_migration(built: tuple) -> None:
    stack, migration, template = built
    prefix = "/aws-glue/jobs/keyspaces-migration/features-customer-features"
    for props in (p["Properties"] for p in template.find_resources("AWS::Glue::Job").values()):
        assert props["DefaultArguments"]["--custom-logGroup-prefix"] == prefix
        assert "--enable-continuous-cloudwatch-log" not in props["DefaultArguments"]  # Glue 4.0 and earlier only
    groups = {r["Properties"]["LogGroupName"]: r for r in template.find_resources("AWS::Logs::LogGroup").values()}
    assert set(groups) == {f"{prefix}/error", f"{prefix}/output"}
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 365 and group["DeletionPolicy"] == "Retain"
        assert group["Properties"]["KmsKeyId"] == stack.resolve(migration.key.key_arn)


def test_one_migration_costs_24_resources(built: tuple) -> None:
    """The figure docs/features.md gives: 24 resources (21 with your own alarm topic and key)."""
    _, _, template = built
    mine = [k for k in template.to_json()["Resources"] if k.startswith("Migration")]
    assert len(mine) == 24, sorted(mine)


# ------------------------------------------------------------------------------------------------ pre-warming


def test_target_is_prewarmed_to_the_write_rate(built: tuple) -> None:
    _, _, template = built
    table = _one(template, "AWS::Cassandra::Table")
    assert table["WarmThroughput"] == {"WriteUnitsPerSecond": 6000}
    assert table["BillingMode"] == {"Mode": "ON_DEMAND"}  # no capacity-mode switch (the 24-hour rule)


def test_prewarming_keeps_a_higher_warm_throughput_and_counts_row_size() -> None:
    stack, _ = build(warm_throughput=WarmThroughput(read_units_per_second=20_000, write_units_per_second=50_000))
    assert _one(Template.from_stack(stack), "AWS::Cassandra::Table")["WarmThroughput"] == {
        "ReadUnitsPerSecond": 20_000, "WriteUnitsPerSecond": 50_000}
    stack, migration = build(average_row_size_bytes=3000, max_writes_per_second=1000)
    assert migration.write_units_per_second == 3000
    assert _one(Template.from_stack(stack), "AWS::Cassandra::Table")["WarmThroughput"] == {"WriteUnitsPerSecond": 3000}
    stack, _ = build(prewarm=False)
    assert "WarmThroughput" not in _one(Template.from_stack(stack), "AWS::Cassandra::Table")


def test_rate_above_provisioned_capacity_is_refused() -> None:
    with pytest.raises(ValueError, match=r"needs 6000 write units per second but the table's provisioned writes reach 5000"):
        build(capacity=ProvisionedCapacity(read_capacity_units=100, write_capacity_units=500))
    build(capacity=ProvisionedCapacity(read_capacity_units=100, write_capacity_units=1000))  # auto scaling to 10,000


# ------------------------------------------------------------------------------------------------ alarms


def test_failed_runs_of_either_job_notify_the_topic(built: tuple) -> None:
    stack, migration, template = built
    rule = _one(template, "AWS::Events::Rule")
    assert rule["EventPattern"] == {
        "source": ["aws.glue"], "detail-type": ["Glue Job State Change"],
        "detail": {"state": ["FAILED", "TIMEOUT", "STOPPED"],
                   "jobName": ["keyspaces-migration-features-customer-features-full-load",
                               "keyspaces-migration-features-customer-features-incremental"]},
    }
    (target,) = rule["Targets"]
    assert target["Arn"] == stack.resolve(migration.topic.topic_arn)
    assert target["DeadLetterConfig"]["Arn"] == stack.resolve(migration.rule_dead_letter_queue.queue_arn)
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 4}
    topic = _one(template, "AWS::SNS::Topic")
    assert topic["KmsMasterKeyId"] == stack.resolve(migration.key.key_arn)


def test_lag_and_stalled_alarms(built: tuple) -> None:
    stack, migration, template = built
    topic = stack.resolve(migration.topic.topic_arn)
    lag = _one(template, "AWS::CloudWatch::Alarm", MetricName="ReplicationLagSeconds")
    assert (lag["Namespace"], lag["Statistic"], lag["Period"], lag["Threshold"]) == (
        METRICS_NAMESPACE, "Maximum", 900, 3600)
    assert lag["ComparisonOperator"] == "GreaterThanThreshold" and lag["TreatMissingData"] == "missing"
    assert lag["Dimensions"] == [{"Name": "Migration", "Value": "features-customer-features"},
                                 {"Name": "Mode", "Value": "incremental"}]
    assert lag["AlarmActions"] == [topic] and lag["InsufficientDataActions"] == [topic]
    stalled = _one(template, "AWS::CloudWatch::Alarm", MetricName="RowsWritten")
    assert (stalled["Statistic"], stalled["Period"], stalled["Threshold"]) == ("Sum", 3600, 1)
    assert stalled["ComparisonOperator"] == "LessThanThreshold"
    assert stalled["AlarmActions"] == [topic] and stalled["InsufficientDataActions"] == [topic]
    dlq = _one(template, "AWS::CloudWatch::Alarm", MetricName="ApproximateNumberOfMessagesVisible")
    assert dlq["AlarmActions"] == [topic]


def test_quiet_tables_can_drop_the_stalled_alarm() -> None:
    stack, migration = build(expect_changes_every=None, schedule=Duration.minutes(30))
    template = Template.from_stack(stack)
    assert migration.stalled_alarm is None
    assert [a["Properties"]["MetricName"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()
            if a["Properties"].get("Namespace") == METRICS_NAMESPACE] == ["ReplicationLagSeconds"]
    assert _one(template, "AWS::Glue::Trigger")["Schedule"] == "cron(0/30 * * * ? *)"


# ------------------------------------------------------------------------------------------------ role


def _role_statements(stack: Stack, migration: KeyspacesMigration, template: Template) -> list[dict[str, Any]]:
    role_id = stack.resolve(migration.role.node.default_child.logical_id)
    return [s for p in template.find_resources("AWS::IAM::Policy").values()
            if {"Ref": role_id} in p["Properties"]["Roles"] for s in p["Properties"]["PolicyDocument"]["Statement"]]


def test_role_statements_are_exactly_what_the_job_needs(built: tuple) -> None:
    stack, migration, template = built
    statements = _role_statements(stack, migration, template)
    actions = sorted(a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))
    assert set(actions) == {
        "cassandra:Modify", "cassandra:Select",
        "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*",
        "kms:GenerateDataKey",
        "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret",
        "s3:GetObject", "s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:PutObject",
        "s3:PutObjectLegalHold", "s3:PutObjectRetention", "s3:PutObjectTagging", "s3:PutObjectVersionTagging",
        "s3:Abort*",
        "cloudwatch:PutMetricData",
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey",
        "glue:GetConnection", "glue:GetJobRuns",
        "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeVpcEndpoints", "ec2:DescribeRouteTables", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
        "ec2:DescribeVpcAttribute", "ec2:CreateTags", "ec2:DeleteTags",
    }
    assert not any(a.endswith(":*") or a == "*" for a in actions)
    by_action = {a: s for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    resolved = stack.resolve
    assert by_action["cassandra:Modify"]["Resource"] == resolved(migration.node.scope.node.find_child("Table").table_arn)
    assert by_action["cloudwatch:PutMetricData"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": [METRICS_NAMESPACE, "Glue"]}}
    assert by_action["ec2:CreateTags"]["Condition"] == {
        "ForAllValues:StringEquals": {"aws:TagKeys": ["aws-glue-service-resource"]}}
    assert by_action["s3:GetObject"]["Resource"] == resolved(  # the script object only, not the assets bucket
        migration.script.bucket.arn_for_objects(migration.script.s3_object_key))
    assert "secretsmanager:PutSecretValue" not in actions  # read only
    assert resolved(by_action["glue:GetJobRuns"]["Resource"]) == {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":glue:eu-west-1:123456789012:job/"
        "keyspaces-migration-features-customer-features-full-load"]]}
    writes = [s for s in statements if "s3:PutObject" in s["Action"]]
    prefixes = sorted(str(r) for s in writes for r in s["Resource"] if "/" in str(r))
    assert len(prefixes) == 2 and "temp/features-customer-features/*" in prefixes[1] and \
        "state/features-customer-features/*" in prefixes[0]


def test_start_full_load_grant_names_only_that_job(built: tuple) -> None:
    from aws_cdk import aws_iam as iam

    stack, migration = build()
    operator = iam.Role(stack, "Operator", assumed_by=iam.AccountRootPrincipal())
    migration.grant_start_full_load(operator)
    policy = _one(Template.from_stack(stack), "AWS::IAM::Policy", Roles=[{"Ref": stack.resolve(
        operator.node.default_child.logical_id)}])
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"]
    assert stack.resolve(statement["Resource"]) == {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":glue:eu-west-1:123456789012:job/"
        "keyspaces-migration-features-customer-features-full-load"]]}


# ------------------------------------------------------------------------------------------------ retention


def test_bucket_and_key_are_retained_unless_the_app_opts_in(built: tuple) -> None:
    _, _, template = built
    for kind in ("AWS::S3::Bucket", "AWS::KMS::Key"):
        assert {r["DeletionPolicy"] for r in template.find_resources(kind).values()} == {"Retain"}
    stack, _ = build(removal_policy=RemovalPolicy.DESTROY)
    policies = [r["DeletionPolicy"] for k, r in Template.from_stack(stack).find_resources("AWS::S3::Bucket").items()
                if k.startswith("MigrationBucket")]
    assert policies and set(policies) == {"Retain"}
    stack, _ = build(removal_policy=RemovalPolicy.DESTROY, context={"@meshworks/removeDataOnDestroy": "true"})
    policies = [r["DeletionPolicy"] for k, r in Template.from_stack(stack).find_resources("AWS::S3::Bucket").items()
                if k.startswith("MigrationBucket") and "AccessLogs" not in k]
    assert policies == ["Delete"]


# ------------------------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_writes_per_second": 0}, r"max_writes_per_second=0: give a whole number >= 1"),
    ({"max_writes_per_second": 2.5}, r"max_writes_per_second=2.5"),
    ({"average_row_size_bytes": 0}, r"average_row_size_bytes=0"),
    ({"change_column": ChangeColumn("updated_at")},
     r"change_column 'updated_at' is not a column of features.customer_features \(columns: customer_id, region"),
    ({"change_column": ChangeColumn("model_version")}, r"'model_version' is int; an UPDATED_AT column must be a timestamp"),
    ({"change_column": ChangeColumn("customer_id", ChangeKind.WRITETIME)}, r"primary-key column, which has no write time"),
    ({"change_column": ChangeColumn("scores", ChangeKind.WRITETIME)}, r"non-frozen collection"),
    ({"change_column": "computed_at"}, r"give ChangeColumn"),
    ({"source_hosts": []}, r"source_hosts is empty"),
    ({"source_hosts": None}, r"source_hosts must be a list of strings, e.g. \['10.0.1.10'\]; got None"),
    ({"source_credentials": None}, r"source_credentials=None is not a secret \(secretsmanager.ISecret\): pass"),
    ({"source_credentials": "cassandra/migration"}, r"source_credentials='cassandra/migration' is not a secret"),
    ({"vpc": None}, r"vpc=None is not a VPC"),
    ({"source_hosts": ["10.0.1.10:9042"]}, r"source_hosts entry '10.0.1.10:9042' is not an IP address or DNS name"),
    ({"source_hosts": ["10.0.1.10,10.0.2.10"]}, r"source_hosts entry '10.0.1.10,10.0.2.10'"),
    ({"schedule": Duration.minutes(7)}, r"schedule=7 minutes: use 5 to 60 minutes dividing an hour"),
    ({"schedule": Duration.minutes(2)}, r"schedule"),
    ({"max_lag": Duration.minutes(20)}, r"max_lag=20 minutes is below twice the schedule \(30 minutes\)"),
    ({"expect_changes_every": Duration.seconds(90)}, r"expect_changes_every"),
    ({"expect_changes_every": Duration.days(2)}, r"expect_changes_every"),
    ({"glue_version": "4.0"}, r"glue_version='4.0': use 5.0 or 5.1"),
    ({"worker_type": "G.025X"}, r"worker_type='G.025X'"),
    ({"incremental_workers": 1}, r"incremental_workers=1: give a whole number 2 to 1,000"),
    ({"migration_name": "Bets Migration"}, r"migration_name='Bets Migration'"),
    ({"source_port": 0}, r"source_port=0"),
])
def test_bad_input_is_refused_with_a_clear_message(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        build(**kwargs)
    assert "KeyspacesMigration Migration/Migration" in str(caught.value)


def test_private_ca_trust_store_is_shipped_and_readable() -> None:
    stack, migration = build(source_trust_store_key="truststores/cassandra.jks")
    template = Template.from_stack(stack)
    props = _one(template, "AWS::Glue::Job", Name="keyspaces-migration-features-customer-features-incremental")
    arguments = stack.resolve(props["DefaultArguments"])
    assert arguments["--SOURCE_TRUST_STORE"] == "cassandra.jks"
    assert "truststores/cassandra.jks" in str(arguments["--extra-files"])
    reads = [s for s in _role_statements(stack, migration, template) if "s3:GetObject*" in s["Action"]]
    assert any("truststores/cassandra.jks" in str(s["Resource"]) for s in reads)
    with pytest.raises(ValueError, match="source_tls=False"):
        build(source_trust_store_key="truststores/cassandra.jks", source_tls=False)
    with pytest.raises(ValueError, match="object key of a .jks file"):
        build(source_trust_store_key="s3://bucket/cassandra.pem")


def test_counter_tables_are_refused() -> None:
    with pytest.raises(ValueError, match="counter table: copying adds to counters"):
        build(ddl=COUNTERS, change_column=ChangeColumn("day"))


def test_writetime_change_column_is_passed_to_the_job() -> None:
    stack, _ = build(change_column=ChangeColumn("model_version", ChangeKind.WRITETIME))
    props = _one(Template.from_stack(stack), "AWS::Glue::Job",
                 Name="keyspaces-migration-features-customer-features-incremental")
    assert props["DefaultArguments"]["--CHANGE_KIND"] == "writetime"
