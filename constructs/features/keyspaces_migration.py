"""``KeyspacesMigration``: copy an Apache Cassandra table to a ``KeyspacesTable`` with Glue (full load + increments).

William Hill's pattern (issue 13): an initial full load, then incremental Glue runs every 15 minutes keyed on a
change column, writes held under the target's capacity, the target pre-warmed. The job itself is
``meshworks.lambdas.keyspaces_migration.job`` (PySpark, shipped as an asset); this construct provisions what it runs in.

Why Glue 5.0: the Spark Cassandra connector 3.5.x (Scala 2.12) targets Spark 3.5, which Glue 5.0 runs (Spark 3.5.4,
Scala 2.12.18, Java 17; Glue 4.0 runs Spark 3.3). AWS's own CQLReplicator runs connector 3.5.1 and the Keyspaces SigV4
plugin 4.0.9 on Glue 5.0/5.1.

Why a Glue scheduled trigger rather than EventBridge Scheduler: Glue starts the job itself (no scheduler role with
``glue:StartJobRun``, no target dead-letter queue to watch), and with ``MaxConcurrentRuns`` = 1 a tick that finds the
previous run still going is refused by Glue instead of overlapping it. A 15-minute rate needs no time zone.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from meshworks.lambdas.keyspaces_migration import job as migration_job

from ..core.dead_letter_queue import DeadLetterQueue, dead_letter_alarm
from ..core.inputs import collaborator, string_list, whole_duration
from ..core.nag import CDK_GRANT_ACTIONS, acknowledge_grant, acknowledge_policies, arn
from ..core.platform_key import PlatformKey, allow_cloudwatch_logs, allow_service_to_use_key
from ..core.secure_log_group import SecureLogGroup
from ..monitoring.job_events import JobService, failure_pattern
from ..storage.secure_bucket import SecureBucket
from .keyspaces_table import KeyspacesTable

#: Glue versions that run Spark 3.5 (the connector 3.5.x's Spark).
GLUE_VERSIONS = ("5.0", "5.1")
#: Jars the job loads (``--extra-jars``), uploaded once to ``jars/`` in the migration's bucket, from Maven Central.
CONNECTOR_JARS = {
    "spark-cassandra-connector-assembly_2.12-3.5.1.jar": "https://repo1.maven.org/maven2/com/datastax/spark/"
    "spark-cassandra-connector-assembly_2.12/3.5.1/spark-cassandra-connector-assembly_2.12-3.5.1.jar",
    "aws-sigv4-auth-cassandra-java-driver-plugin-4.0.9-shaded.jar": "https://repo1.maven.org/maven2/software/aws/"
    "mcs/aws-sigv4-auth-cassandra-java-driver-plugin/4.0.9/aws-sigv4-auth-cassandra-java-driver-plugin-4.0.9-shaded.jar",
}
#: CloudWatch namespace of the job's metrics (``RowsRead``, ``RowsWritten``, ``ReplicationLagSeconds``...).
METRICS_NAMESPACE = "meshworks/KeyspacesMigration"
#: Glue's own job metrics (``--enable-metrics``, ``--enable-observability-metrics``) go to this namespace.
GLUE_METRICS_NAMESPACE = "Glue"
#: New on-demand Keyspaces tables sustain this many writes per second before any pre-warming.
ON_DEMAND_NEW_TABLE_WRITES = 4000
JOB_SCRIPT = Path(migration_job.__file__)
_MIGRATION_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")


class ChangeKind(str, Enum):
    """How the incremental runs find changed rows."""

    #: A ``timestamp`` column every write sets (``updated_at``).
    UPDATED_AT = migration_job.UPDATED_AT
    #: The write time (``WRITETIME(column)``) of a regular, non-collection column every write sets.
    WRITETIME = migration_job.WRITETIME


@dataclass(frozen=True)
class ChangeColumn:
    """The column incremental runs select on: ``name`` (a column of the target schema) and its ``kind``."""

    name: str
    kind: ChangeKind = ChangeKind.UPDATED_AT


def _is_ipv6(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 6
    except ValueError:
        return False


class KeyspacesMigration(Construct):
    """Glue jobs that copy a Cassandra table (reachable in the VPC) to a ``KeyspacesTable``: a full load on demand,
    then incremental runs on a schedule, rate-limited, pre-warmed, measured and alarmed.

    Example::

        from pathlib import Path

        from aws_cdk import App, Environment, Stack
        from aws_cdk import aws_secretsmanager as secretsmanager

        from meshworks.constructs.core.offline import pin_availability_zones
        from meshworks.constructs.features import (
            ChangeColumn, Keyspace, KeyspacesMigration, KeyspacesTable, KeyspacesTableSchema,
        )
        from meshworks.constructs.network import PlatformVpc

        app = App()
        stack = Stack(app, "Migration", env=Environment(account="111111111111", region="eu-west-1"))
        pin_availability_zones(stack, ["eu-west-1a", "eu-west-1b"])
        schema = KeyspacesTableSchema.from_cql(Path("schemas/features/customer_features.cql").read_text())
        keyspace = Keyspace(stack, "Features", keyspace_name=schema.keyspace)
        table = KeyspacesTable(stack, "CustomerFeatures", keyspace=keyspace, schema=schema)
        migration = KeyspacesMigration(
            stack, "CustomerFeaturesMigration", table=table, vpc=PlatformVpc(stack, "Network").vpc,
            source_hosts=["10.0.1.10", "10.0.2.10"],
            source_credentials=secretsmanager.Secret.from_secret_name_v2(stack, "CassandraLogin", "cassandra/migration"),
            change_column=ChangeColumn("computed_at"), max_writes_per_second=3000,
        )
        app.synth()
        # then: aws glue start-job-run --job-name <migration.full_load_job_name>

    What it creates: ``bucket`` (``SecureBucket``: ``jars/`` for the connector jars, ``temp/``, ``state/<name>/`` with
    the high-water mark), ``log_groups`` (``<log_group_prefix>/error`` and ``/output``, Glue 5.0's custom log groups:
    encrypted, one year, retained), ``security_configuration`` (S3, CloudWatch Logs and bookmarks encrypted with
    ``encryption_key``), ``connection`` (Glue NETWORK connection in the first selected subnet) with
    ``security_group``, ``role``, ``full_load_job`` and ``incremental_job`` (``MaxConcurrentRuns`` 1, no retries),
    ``schedule`` (Glue scheduled trigger of the incremental job), ``failure_rule`` (EventBridge: either job FAILED,
    TIMEOUT or STOPPED -> ``topic``), ``lag_alarm``, ``stalled_alarm`` (when ``expect_changes_every``) and the
    rule's dead-letter queue with its alarm. Before the first deploy, upload ``CONNECTOR_JARS`` to ``jars/``.

    Args:
        table: the target ``KeyspacesTable`` (its schema gives the columns copied and checks ``change_column``).
        vpc: the VPC from which the source cluster (port ``source_port``) and Keyspaces (9142, regional endpoint or
            ``cassandra`` interface endpoint), S3, Secrets Manager, CloudWatch and CloudWatch Logs are reachable.
        source_hosts: contact points of the source cluster (IPs or DNS names).
        source_credentials: Secrets Manager secret ``{"username", "password"}`` of the source; the job role may only
            read it.
        change_column: the column incremental runs select on (``ChangeKind.UPDATED_AT``: a ``timestamp`` column;
            ``ChangeKind.WRITETIME``: a regular non-collection column whose write time is used).
        max_writes_per_second: rows per second each job may write to Keyspaces (>= 1). The connector settings are
            derived from it, the row size and the job's executor cores (``job.write_rate``).
        average_row_size_bytes: 1 to 1,048,576. Default: 1,024 (one write unit per row).
        vpc_subnets: where the jobs' network interfaces go (the first selected subnet). Default: the VPC's private
            subnets with egress, else its isolated ones (which then need a ``cassandra`` interface endpoint and
            the endpoints of S3, Secrets Manager, CloudWatch, CloudWatch Logs and Glue).
        security_group: of the jobs' network interfaces; a self-referencing all-TCP ingress rule is added (Glue
            requires it). Default: a new group allowing all egress. The source cluster's group must admit it.
        source_keyspace / source_table: Default: the target's keyspace / table name.
        source_port: Default: 9042. source_tls: client-to-node TLS on the source. Default: True.
        source_local_datacenter: the source data center to read from. Default: the contact points' own.
        source_reads_per_second: pages per second each job may read from the source, over all cores. Default:
            unlimited.
        source_trust_store_key: object key, in ``bucket``, of a JKS trust store for a source whose certificates a
            private CA signed (shipped with ``--extra-files``; its password is the secret's optional
            ``truststore_password``). Default: none (the JVM's public CAs).
        schedule: interval of the incremental runs: 5 to 60 minutes dividing an hour, or whole hours dividing a day.
            Default: 15 minutes (as William Hill).
        overlap: how far before the mark each increment re-reads (late writes, client clocks). Default: 5 minutes.
        worker_type: ``G.1X``/``G.2X``/``G.4X``/``G.8X``. Default: ``G.1X``.
        full_load_workers / incremental_workers: Glue workers per job (>= 2, one is the driver). Default: 10 / 2.
            The full load keeps the rows on the workers' disks while it writes: size it for the table.
        full_load_timeout / incremental_timeout: Default: 48 hours / 1 hour.
        prewarm: raise the table's warm throughput to the write rate's write units (``ensure_warm_throughput``).
            Default: True.
        max_lag: ``lag_alarm`` fires when ``ReplicationLagSeconds`` exceeds it (and when increments stop
            reporting). Default: 1 hour; at least twice ``schedule``.
        expect_changes_every: ``stalled_alarm`` fires when no row was written in this window; None for tables
            that can stay unchanged longer. Default: 1 hour.
        alarm_topic: where failures and alarms go. Default: a new topic encrypted with ``encryption_key``.
        encryption_key: Default: a new ``PlatformKey`` (``self.key``).
        glue_version: ``5.0`` or ``5.1``. Default: ``5.0``.
        connector_jar_keys: object keys of the jars in ``bucket``. Default: ``jars/<name>`` of ``CONNECTOR_JARS``.
        migration_name: names the jobs, state, metrics dimension and security configuration (lower-case letters,
            digits, ``-``, ``_``; unique per account and Region). Default: ``<keyspace>-<table>`` of the target.
        removal_policy: of the bucket and key. Default: RETAIN (``core.removal``).

    Raises:
        ValueError: a bad argument, naming the construct, the argument, the value and the fix (e.g. a rate of 0, a
        change column not in the target schema, a counter table, a rate above the table's provisioned capacity).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: KeyspacesTable,
        vpc: ec2.IVpc,
        source_hosts: Sequence[str],
        source_credentials: secretsmanager.ISecret,
        change_column: ChangeColumn,
        max_writes_per_second: int,
        average_row_size_bytes: int = 1024,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_group: ec2.ISecurityGroup | None = None,
        source_keyspace: str | None = None,
        source_table: str | None = None,
        source_port: int = 9042,
        source_tls: bool = True,
        source_local_datacenter: str | None = None,
        source_reads_per_second: int | None = None,
        source_trust_store_key: str | None = None,
        schedule: Duration = Duration.minutes(15),
        overlap: Duration = Duration.minutes(5),
        worker_type: str = "G.1X",
        full_load_workers: int = 10,
        incremental_workers: int = 2,
        full_load_timeout: Duration = Duration.hours(48),
        incremental_timeout: Duration = Duration.hours(1),
        prewarm: bool = True,
        max_lag: Duration = Duration.hours(1),
        expect_changes_every: Duration | None = Duration.hours(1),
        alarm_topic: sns.ITopic | None = None,
        encryption_key: kms.IKey | None = None,
        glue_version: str = "5.0",
        connector_jar_keys: Sequence[str] | None = None,
        migration_name: str | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        where = f"KeyspacesMigration {self.node.path}"
        if not isinstance(table, KeyspacesTable):
            raise ValueError(f"{where}: table={table!r}: give the KeyspacesTable construct (its schema is needed)")
        collaborator(where, "vpc", vpc, has="private_subnets", kind="a VPC (ec2.IVpc)",
                     example="PlatformVpc(stack, 'Network').vpc or ec2.Vpc.from_lookup(...)")
        collaborator(where, "source_credentials", source_credentials, has="grant_read", kind="a secret (secretsmanager.ISecret)",
                     example="secretsmanager.Secret.from_secret_name_v2(stack, 'CassandraLogin', 'cassandra/migration')")
        schema = table.schema
        name = migration_name or f"{schema.keyspace}-{schema.table}".replace("_", "-")
        if not isinstance(name, str) or not _MIGRATION_NAME.fullmatch(name):
            raise ValueError(f"{where}: migration_name={name!r}: use 1-100 lower-case letters, digits, '-' or '_'")
        hosts = string_list(where, "source_hosts", source_hosts, example="10.0.1.10")
        if not hosts:
            raise ValueError(f"{where}: source_hosts is empty: give the source cluster's contact points")
        for host in hosts:  # joined with ',' into one job argument; the port is source_port
            if not (re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?", host) or _is_ipv6(host)):
                raise ValueError(f"{where}: source_hosts entry {host!r} is not an IP address or DNS name: give the "
                                 "host alone, e.g. '10.0.1.10' (the port goes into source_port)")
        _check_change_column(where, schema, change_column)
        _check_int(where, "max_writes_per_second", max_writes_per_second, 1)
        _check_int(where, "average_row_size_bytes", average_row_size_bytes, 1, 1_048_576)
        _check_int(where, "source_port", source_port, 1, 65535)
        if source_reads_per_second is not None:
            _check_int(where, "source_reads_per_second", source_reads_per_second, 1)
        if source_trust_store_key is not None:
            if not source_tls:
                raise ValueError(f"{where}: source_trust_store_key is set but source_tls=False: turn TLS on or drop "
                                 "the trust store")
            if not isinstance(source_trust_store_key, str) or not re.fullmatch(r"[A-Za-z0-9_./-]+\.jks",
                                                                                   source_trust_store_key):
                raise ValueError(f"{where}: source_trust_store_key={source_trust_store_key!r}: give the object key "
                                 "of a .jks file in the migration's bucket, e.g. 'truststores/cassandra.jks'")
        if glue_version not in GLUE_VERSIONS:
            raise ValueError(f"{where}: glue_version={glue_version!r}: use {' or '.join(GLUE_VERSIONS)} (Spark 3.5, "
                             "which the Spark Cassandra connector 3.5.x needs)")
        if worker_type not in migration_job.WORKER_CORES:
            raise ValueError(f"{where}: worker_type={worker_type!r}: use one of {', '.join(migration_job.WORKER_CORES)}")
        for field, workers in (("full_load_workers", full_load_workers), ("incremental_workers", incremental_workers)):
            _check_int(where, field, workers, 2, 1000)
        schedule_minutes = whole_duration(where, "schedule", schedule, "minutes", minimum=5, maximum=1440)
        cron = schedule_expression(where, schedule_minutes)
        overlap_seconds = whole_duration(where, "overlap", overlap, "seconds", minimum=0, maximum=86_400)
        full_timeout = whole_duration(where, "full_load_timeout", full_load_timeout, "minutes", minimum=1, maximum=10_080)
        incremental_minutes = whole_duration(where, "incremental_timeout", incremental_timeout, "minutes", minimum=1,
                                             maximum=10_080)
        lag_seconds = whole_duration(where, "max_lag", max_lag, "seconds", minimum=1)
        if lag_seconds < 2 * schedule_minutes * 60:
            raise ValueError(f"{where}: max_lag={max_lag.to_human_string()} is below twice the schedule "
                             f"({2 * schedule_minutes} minutes): a healthy run would alarm; raise max_lag")
        stall_seconds = (60 * whole_duration(where, "expect_changes_every", expect_changes_every, "minutes",
                                             minimum=schedule_minutes, maximum=1440)
                         if expect_changes_every is not None else None)  # a CloudWatch period: whole minutes, <= 1 day

        cores = {"full_load": migration_job.executor_cores(worker_type, full_load_workers),
                 "incremental": migration_job.executor_cores(worker_type, incremental_workers)}
        rates = {mode: migration_job.write_rate(max_writes_per_second, average_row_size_bytes, count)
                 for mode, count in cores.items()}
        #: Keyspaces write units per second one job consumes at ``max_writes_per_second``.
        self.write_units_per_second = rates["full_load"].write_units_per_second
        _check_capacity(where, table, self.write_units_per_second)
        if prewarm:
            table.ensure_warm_throughput(write_units_per_second=self.write_units_per_second)

        stack = Stack.of(self)
        self.migration_name = name
        self.write_rates = rates
        self.key: kms.IKey = encryption_key or PlatformKey(
            self, "Key", description=f"meshworks: Keyspaces migration {name}", removal_policy=removal_policy
        )
        allow_cloudwatch_logs(self.key)
        self.bucket = SecureBucket(self, "Bucket", encryption_key=self.key, removal_policy=removal_policy)
        jar_keys = list(connector_jar_keys) if connector_jar_keys is not None else [f"jars/{j}" for j in CONNECTOR_JARS]
        jar_keys = string_list(where, "connector_jar_keys", jar_keys, example="['jars/connector.jar']")
        self.connector_jar_keys = jar_keys
        self.source_trust_store_key = source_trust_store_key
        self.state_key = f"state/{name}/high_water_mark.json"
        self.script = s3_assets.Asset(self, "Script", path=str(JOB_SCRIPT))
        # Glue 5.0 writes every job's logs to <prefix>/error and <prefix>/output ("Logging for AWS Glue jobs"):
        # created here with the key, a retention and the retain policy (Glue's own /aws-glue/jobs/* keep logs forever).
        self.log_group_prefix = f"/aws-glue/jobs/keyspaces-migration/{name}"
        self.log_groups = [
            SecureLogGroup(self, f"{kind.capitalize()}Logs", encryption_key=self.key,
                           log_group_name=f"{self.log_group_prefix}/{kind}", removal_policy=removal_policy)
            for kind in ("error", "output")
        ]

        # ------------------------------------------------------------------ network
        subnets = (vpc.select_subnets(**_subnet_kwargs(vpc_subnets)).subnets if vpc_subnets is not None
                   else list(vpc.private_subnets) or list(vpc.isolated_subnets))
        if not subnets:
            raise ValueError(f"{where}: vpc_subnets selects no subnet of the VPC: select private subnets")
        subnet = subnets[0]
        self.security_group = security_group or ec2.SecurityGroup(
            self, "SecurityGroup", vpc=vpc, allow_all_outbound=True,
            description=f"Glue jobs of the Keyspaces migration {name}",
        )
        # Glue's Spark workers talk to each other on any TCP port through their shared group (Glue requires this rule).
        self.security_group.add_ingress_rule(self.security_group, ec2.Port.all_tcp(), "Glue workers of this job")
        self.connection_name = f"keyspaces-migration-{name}"
        self.connection = glue.CfnConnection(
            self, "Connection", catalog_id=stack.account,
            connection_input=glue.CfnConnection.ConnectionInputProperty(
                name=self.connection_name, connection_type="NETWORK",
                description=f"Network path of the Keyspaces migration {name} to the source cluster",
                physical_connection_requirements=glue.CfnConnection.PhysicalConnectionRequirementsProperty(
                    subnet_id=subnet.subnet_id, availability_zone=subnet.availability_zone,
                    security_group_id_list=[self.security_group.security_group_id],
                ),
            ),
        )

        # ------------------------------------------------------------------ encryption, role
        self.security_configuration_name = f"keyspaces-migration-{name}"
        self.security_configuration = glue.CfnSecurityConfiguration(
            self, "SecurityConfiguration", name=self.security_configuration_name,
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                s3_encryptions=[glue.CfnSecurityConfiguration.S3EncryptionProperty(
                    s3_encryption_mode="SSE-KMS", kms_key_arn=self.key.key_arn)],
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=self.key.key_arn),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=self.key.key_arn),
            ),
        )
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal(
                "glue.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}),
            description=f"Glue jobs of the Keyspaces migration {name}",
        )
        self._grant_job_permissions(table, source_credentials)

        # ------------------------------------------------------------------ jobs and schedule
        common = {
            "--job-language": "python",
            "--extra-jars": ",".join(f"s3://{self.bucket.bucket_name}/{k}" for k in jar_keys),
            "--user-jars-first": "true",
            "--TempDir": f"s3://{self.bucket.bucket_name}/temp/{name}/",
            "--job-bookmark-option": "job-bookmark-disable",
            "--enable-metrics": "true",
            "--enable-observability-metrics": "true",
            "--custom-logGroup-prefix": self.log_group_prefix,
            "--MIGRATION_NAME": name,
            "--SOURCE_HOSTS": ",".join(hosts),
            "--SOURCE_PORT": str(source_port),
            "--SOURCE_SECRET_ARN": source_credentials.secret_arn,
            "--SOURCE_TLS": "true" if source_tls else "false",
            "--SOURCE_KEYSPACE": source_keyspace or schema.keyspace,
            "--SOURCE_TABLE": source_table or schema.table,
            "--TARGET_KEYSPACE": schema.keyspace,
            "--TARGET_TABLE": schema.table,
            "--COLUMNS": ",".join(c.name for c in schema.columns),
            "--CHANGE_COLUMN": change_column.name,
            "--CHANGE_KIND": ChangeKind(change_column.kind).value,
            "--OVERLAP_SECONDS": str(overlap_seconds),
            "--STATE_BUCKET": self.bucket.bucket_name,
            "--STATE_KEY": self.state_key,
            "--METRICS_NAMESPACE": METRICS_NAMESPACE,
            "--FULL_LOAD_JOB_NAME": f"keyspaces-migration-{name}-full-load",
        }
        if source_local_datacenter:
            common["--SOURCE_LOCAL_DATACENTER"] = source_local_datacenter
        if source_trust_store_key:
            common["--extra-files"] = f"s3://{self.bucket.bucket_name}/{source_trust_store_key}"
            common["--SOURCE_TRUST_STORE"] = source_trust_store_key.rsplit("/", 1)[-1]
        self.full_load_job_name = common["--FULL_LOAD_JOB_NAME"]
        self.incremental_job_name = f"keyspaces-migration-{name}-incremental"
        jobs = {}
        for mode, job_name, workers, timeout in (
            (migration_job.FULL_LOAD, self.full_load_job_name, full_load_workers, full_timeout),
            (migration_job.INCREMENTAL, self.incremental_job_name, incremental_workers, incremental_minutes),
        ):
            rate = rates[mode]
            arguments = {**common, "--MODE": mode,
                         "--WRITE_THROUGHPUT_MB_PER_SEC": f"{rate.throughput_mb_per_sec:g}",
                         "--CONCURRENT_WRITES": str(rate.concurrent_writes)}
            if source_reads_per_second:
                arguments["--SOURCE_READS_PER_SECOND_PER_CORE"] = str(max(1, source_reads_per_second // cores[mode]))
            jobs[mode] = glue.CfnJob(
                self, "FullLoadJob" if mode == migration_job.FULL_LOAD else "IncrementalJob",
                name=job_name, role=self.role.role_arn, glue_version=glue_version,
                description=f"Keyspaces migration {name}: {mode.replace('_', ' ')} of "
                            f"{arguments['--SOURCE_KEYSPACE']}.{arguments['--SOURCE_TABLE']}",
                command=glue.CfnJob.JobCommandProperty(
                    name="glueetl", python_version="3",
                    script_location=f"s3://{self.script.s3_bucket_name}/{self.script.s3_object_key}"),
                default_arguments=arguments,
                connections=glue.CfnJob.ConnectionsListProperty(connections=[self.connection_name]),
                execution_property=glue.CfnJob.ExecutionPropertyProperty(max_concurrent_runs=1),
                max_retries=0, timeout=timeout, worker_type=worker_type, number_of_workers=workers,
                security_configuration=self.security_configuration_name,
            )
            jobs[mode].node.add_dependency(self.connection)
            jobs[mode].node.add_dependency(self.security_configuration, *self.log_groups)
        self.full_load_job, self.incremental_job = jobs[migration_job.FULL_LOAD], jobs[migration_job.INCREMENTAL]
        self.schedule = glue.CfnTrigger(
            self, "Schedule", name=f"keyspaces-migration-{name}-every-{schedule_minutes}-minutes", type="SCHEDULED",
            schedule=cron, start_on_creation=True,
            description=f"Incremental runs of the Keyspaces migration {name}",
            actions=[glue.CfnTrigger.ActionProperty(job_name=self.incremental_job_name)],
        )
        self.schedule.node.add_dependency(self.incremental_job)
        self.schedule.node.add_dependency(self.role)  # the first tick runs with the role's policy in place

        # ------------------------------------------------------------------ alarms
        self.topic: sns.ITopic = alarm_topic or sns.Topic(
            self, "Topic", display_name=f"Keyspaces migration {name}", master_key=self.key, enforce_ssl=True
        )
        self.failure_rule = events.Rule(
            self, "FailureRule", description=f"Failed, timed-out or stopped runs of the Keyspaces migration {name}",
            event_pattern=_job_failure_pattern([self.full_load_job_name, self.incremental_job_name]),
        )
        allow_service_to_use_key(self.key, "events.amazonaws.com", "AllowEventBridgeToPublishToEncryptedTopics")
        self.rule_dead_letter_queue = DeadLetterQueue(
            self, "RuleDlq", encryption_key=self.key, receives=f"the Keyspaces migration {name}'s failure rule"
        )
        self.failure_rule.add_target(targets.SnsTopic(
            self.topic, dead_letter_queue=self.rule_dead_letter_queue, retry_attempts=4, max_event_age=Duration.hours(2),
        ))
        action = cloudwatch_actions.SnsAction(self.topic)
        allow_service_to_use_key(self.key, "cloudwatch.amazonaws.com", "AllowCloudWatchAlarmsToPublish")
        self.rule_dead_letter_alarm = dead_letter_alarm(
            self, "RuleDlqAlarm", self.rule_dead_letter_queue, f"Failure events of the migration {name} not delivered"
        )
        self.rule_dead_letter_alarm.add_alarm_action(action)
        self.lag_alarm = self.metric("ReplicationLagSeconds", statistic="Maximum",
                                     period=Duration.minutes(schedule_minutes)).create_alarm(
            self, "LagAlarm", threshold=lag_seconds, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.MISSING,
            alarm_description=f"Keyspaces migration {name}: the target is more than {lag_seconds} s behind the "
                              "source, or incremental runs stopped reporting (INSUFFICIENT_DATA)",
        )
        self.lag_alarm.add_alarm_action(action)
        self.lag_alarm.add_insufficient_data_action(action)
        self.stalled_alarm: cloudwatch.Alarm | None = None
        if stall_seconds is not None:
            self.stalled_alarm = self.metric("RowsWritten", statistic="Sum", period=Duration.seconds(stall_seconds)
                                             ).create_alarm(
                self, "StalledAlarm", threshold=1, evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.MISSING,
                alarm_description=f"Keyspaces migration {name}: no row written in {stall_seconds} s",
            )
            self.stalled_alarm.add_alarm_action(action)
            self.stalled_alarm.add_insufficient_data_action(action)

    # ------------------------------------------------------------------------------------------ public API

    def metric(self, metric_name: str, *, mode: str = migration_job.INCREMENTAL, statistic: str = "Sum",
               period: Duration = Duration.minutes(15)) -> cloudwatch.Metric:
        """A job metric (``RowsRead``, ``RowsWritten``, ``ReplicationLagSeconds``, ``RunDurationSeconds``,
        ``Waiting``) of ``mode`` (``incremental`` or ``full_load``)."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE, metric_name=metric_name, statistic=statistic, period=period,
            dimensions_map={"Migration": self.migration_name, "Mode": mode},
        )

    def grant_start_full_load(self, grantee: iam.IGrantable) -> iam.Grant:
        """``glue:StartJobRun`` / ``GetJobRun(s)`` / ``BatchStopJobRun`` on the full-load job only."""
        stack = Stack.of(self)
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
            resource_arns=[stack.format_arn(service="glue", resource="job", resource_name=self.full_load_job_name)],
        )
        acknowledge_grant(grantee)
        return grant

    # ------------------------------------------------------------------------------------------ role

    def _grant_job_permissions(self, table: KeyspacesTable, secret: secretsmanager.ISecret) -> None:
        stack, role = Stack.of(self), self.role
        table.grant_write_data(role)
        secret.grant_read(role)
        iam.Grant.add_to_principal(grantee=role, actions=["s3:GetObject"], resource_arns=[
            self.script.bucket.arn_for_objects(self.script.s3_object_key)])
        for jar in self.connector_jar_keys:
            self.bucket.grant_read(role, jar)
        if self.source_trust_store_key:
            self.bucket.grant_read(role, self.source_trust_store_key)
        self.bucket.grant_read_write(role, f"temp/{self.migration_name}/*")
        self.bucket.grant_read_write(role, f"state/{self.migration_name}/*")
        self.key.grant_encrypt_decrypt(role)  # the security configuration's S3, log and bookmark encryption
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="PutJobMetrics", actions=["cloudwatch:PutMetricData"], resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": [METRICS_NAMESPACE, GLUE_METRICS_NAMESPACE]}},
        ))
        log_groups = stack.format_arn(service="logs", resource="log-group", resource_name="/aws-glue/*",
                                      arn_format=ArnFormat.COLON_RESOURCE_NAME)
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="WriteGlueLogs", resources=[log_groups, f"{log_groups}:log-stream:*"],
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"],
        ))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="SeeFullLoadRuns", actions=["glue:GetJobRuns"],  # increments wait while the full load runs
            resources=[stack.format_arn(service="glue", resource="job",
                                        resource_name=f"keyspaces-migration-{self.migration_name}-full-load")],
        ))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="ReadConnection", actions=["glue:GetConnection"], resources=[
                stack.format_arn(service="glue", resource="catalog"),
                stack.format_arn(service="glue", resource="connection", resource_name=self.connection_name),
            ],
        ))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="ConnectionNetworkInterfaces", resources=["*"], actions=[
                "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeVpcEndpoints", "ec2:DescribeRouteTables", "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups", "ec2:DescribeVpcAttribute",
            ],
        ))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="TagConnectionNetworkInterfaces", actions=["ec2:CreateTags", "ec2:DeleteTags"],
            resources=[stack.format_arn(service="ec2", resource="network-interface", resource_name="*")],
            conditions={"ForAllValues:StringEquals": {"aws:TagKeys": ["aws-glue-service-resource"]}},
        ))
        acknowledge_policies(role, [CDK_GRANT_ACTIONS, *_ROLE_RULES], extra={
            "NIST.800.53.R5-IAMNoInlinePolicy": "The migration's job role carries one policy, for these two Glue jobs."
        })


#: The job role's wildcards, each with its reason (acknowledged per finding at synth).
_ROLE_RULES = [
    (r"Resource::\*", "cloudwatch:PutMetricData has no resource-level permissions (condition: the migration's and "
     "Glue's namespaces only); the EC2 actions Glue uses for the connection's network interfaces act on interfaces "
     "created at run time and Describe* calls have no resource-level permissions (AWS Glue's documented policy)."),
    (r"Resource::" + arn("logs", r"log-group:/aws-glue/\*(:log-stream:\*)?"),
     "Glue writes job logs to log groups and streams under /aws-glue/ that it names per run and security "
     "configuration."),
    (r"Resource::" + arn("ec2", r"network-interface/\*"),
     "Tags on the network interfaces Glue creates at run time, only the aws-glue-service-resource tag key."),
    (r"Resource::(<[A-Za-z0-9]+\.Arn>|" + arn("s3", r"[a-z0-9.-]+", region="", account="") +
     r")/(temp|state)/[a-z0-9_-]+/\*",
     "Glue's temporary directory and the high-water-mark state of this migration, one prefix each."),
]


def schedule_expression(where: str, minutes: int) -> str:
    """Glue's cron for every ``minutes``: a divisor of 60 (5 to 60), or whole hours dividing 24."""
    if minutes < 60 and 60 % minutes == 0:
        return f"cron(0/{minutes} * * * ? *)"
    if minutes == 60:
        return "cron(0 * * * ? *)"
    if minutes % 60 == 0 and 24 % (minutes // 60) == 0:
        return f"cron(0 0/{minutes // 60} * * ? *)"
    raise ValueError(f"{where}: schedule={minutes} minutes: use 5 to 60 minutes dividing an hour (5, 10, 15, 20, 30, "
                     "60) or whole hours dividing a day (2, 3, 4, 6, 8, 12, 24)")


def _job_failure_pattern(job_names: list[str]) -> events.EventPattern:
    pattern = failure_pattern(JobService.GLUE)
    return events.EventPattern(
        source=pattern["source"], detail_type=pattern["detail-type"],
        detail={**pattern["detail"], "jobName": job_names},
    )


def _subnet_kwargs(selection: ec2.SubnetSelection) -> dict:
    return {key: getattr(selection, key) for key in (
        "availability_zones", "one_per_az", "subnet_filters", "subnet_group_name", "subnets", "subnet_type")
        if getattr(selection, key, None) is not None}


def _check_int(where: str, field: str, value: object, minimum: int, maximum: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum or (maximum and value > maximum):
        bound = f"{minimum} to {maximum:,}" if maximum else f">= {minimum}"
        raise ValueError(f"{where}: {field}={value!r}: give a whole number {bound}")


def _check_change_column(where: str, schema, change: ChangeColumn) -> None:  # noqa: ANN001 - KeyspacesTableSchema
    if not isinstance(change, ChangeColumn):
        raise ValueError(f"{where}: change_column={change!r}: give ChangeColumn('<column>', ChangeKind.UPDATED_AT)")
    if any(c.type == "counter" for c in schema.columns):
        raise ValueError(f"{where}: {schema.keyspace}.{schema.table} is a counter table: copying adds to counters, so "
                         "a re-run would count twice; migrate counter tables with a one-off export instead")
    names = [c.name for c in schema.columns]
    if change.name not in names:
        raise ValueError(f"{where}: change_column {change.name!r} is not a column of {schema.keyspace}.{schema.table} "
                         f"(columns: {', '.join(names)}): name the column every write sets")
    column = schema.column(change.name)
    keys = set(schema.partition_key) | {c.name for c in schema.clustering}
    kind = ChangeKind(change.kind)
    if kind == ChangeKind.UPDATED_AT and column.type != "timestamp":
        raise ValueError(f"{where}: change_column {change.name!r} is {column.type}; an UPDATED_AT column must be a "
                         "timestamp (or use ChangeKind.WRITETIME on a column every write sets)")
    if kind == ChangeKind.WRITETIME:
        from .cql_types import parse_cql_type

        parsed = parse_cql_type(column.type)
        if change.name in keys:
            raise ValueError(f"{where}: change_column {change.name!r} is a primary-key column, which has no write "
                             "time: name a regular column every write sets")
        if parsed.is_collection or parsed.is_udt:
            raise ValueError(f"{where}: change_column {change.name!r} is a non-frozen collection or type ({column.type}), "
                             "whose WRITETIME CQL refuses: name a scalar column every write sets")


def _check_capacity(where: str, table: KeyspacesTable, write_units: int) -> None:
    capacity = table.capacity
    if capacity is None:
        return
    ceiling = (capacity.max_write_capacity_units or capacity.write_capacity_units * 10) if capacity.auto_scaling \
        else capacity.write_capacity_units
    if write_units > ceiling:
        raise ValueError(f"{where}: max_writes_per_second needs {write_units} write units per second but the table's "
                         f"provisioned writes reach {ceiling}: lower max_writes_per_second or raise the table's "
                         "write capacity (or use on-demand with warm throughput)")
