"""``FeatureJob``: a scheduled PySpark job on EMR Serverless that writes one DataFrame to Keyspaces and to Delta.

SumUp's pattern (``docs/features.md``, "Feature job"): Step Functions submits one Spark job under a
``feature_creator`` role; the job computes the features once and writes them to the online store (Keyspaces)
and the offline store (Delta on S3). What the Keyspaces docs ask of Spark jobs is in the job run's
configuration, not in users' heads: the connector packages, LOCAL_QUORUM, one-row unlogged writes, few
concurrent writes per task and many retries of throttled ("timed out") writes. Step Functions runs the job with
the optimized ``emr-serverless:startJobRun.sync`` integration, retries failed runs with exponential back-off
and jitter, and fails the execution when retries are exhausted, which the job-failure alerts pick up
(EventBridge "Step Functions Execution Status Change", ``monitoring.JobFailureAlerts``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aws_cdk import Duration, Names, RemovalPolicy, Stack, TimeZone
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ..core.dead_letter_queue import DeadLetterQueue, dead_letter_alarm
from ..core.inputs import collaborator, retention_days, whole_duration
from ..core.lambda_code import LAMBDAS_ROOT
from ..core.nag import CDK_GRANT_ACTIONS, acknowledge_policies, arn
from ..core.platform_key import PlatformKey, allow_service_to_use_key
from ..core.secure_log_group import SecureLogGroup
from ..spark.emr_serverless_application import EmrServerlessApplication
from ..spark.spark_job_role import SparkJobRole
from ..spark.spark_job_runner import integration_arn
from .keyspaces_table import KeyspacesTable
from .offline_store import OfflineStore

#: Spark Cassandra connector for Spark 3.5 / Scala 2.12 (EMR 7.x) and the Keyspaces SigV4 authentication plugin
#: for the DataStax Java driver 4.x (Maven coordinates; EMR Serverless resolves them at job start).
SPARK_CASSANDRA_CONNECTOR = "com.datastax.spark:spark-cassandra-connector_2.12:3.5.1"
KEYSPACES_SIGV4_PLUGIN = "software.aws.mcs:aws-sigv4-auth-cassandra-java-driver-plugin:4.0.9"
#: Delta Lake as shipped in EMR 7.x images (``delta-spark.jar`` since EMR 7.0; EMR Serverless user guide).
DELTA_JARS = "/usr/share/aws/delta/lib/delta-spark.jar,/usr/share/aws/delta/lib/delta-storage.jar"
#: The job script shipped with meshworks (an example: adapt the feature computation to your schema).
DEFAULT_SCRIPT = LAMBDAS_ROOT / "feature_job" / "job.py"
_SCHEDULE = re.compile(r"^(cron|rate)\(.+\)$")


def feature_job_spark_conf(
    *, concurrent_writes: int = 3, query_retries: int = 500, max_write_mb_per_core: float | None = None,
    task_max_failures: int = 10,
) -> dict[str, str]:
    """The ``spark-defaults`` of a feature job run: Delta and the Spark Cassandra connector configured for Keyspaces.

    ======================================================  ==================  =================================
    property                                                value               why
    ======================================================  ==================  =================================
    ``spark.jars.packages``                                 connector 3.5.1,    Spark 3.5 / Scala 2.12 (EMR 7.x);
                                                            SigV4 plugin 4.0.9  SigV4: no service passwords
    ``spark.jars``, ``spark.sql.extensions``,               EMR's Delta jars    Delta writes (EMR Serverless guide)
    ``spark.sql.catalog.spark_catalog``
    ``spark.cassandra.output.consistency.level``            ``LOCAL_QUORUM``    the only write consistency Keyspaces
                                                                                accepts
    ``spark.cassandra.output.batch.size.rows``              ``1``               Keyspaces: no multi-row batches
    ``spark.cassandra.output.batch.grouping.key``           ``none``            (AWS's Keyspaces examples)
    ``spark.cassandra.output.concurrent.writes``            3                   few writes per task, so retries do
    ``spark.cassandra.query.retry.count``                   500                 not exhaust the connection pool;
                                                                                throttled writes come back as
                                                                                timeouts and are retried (Keyspaces
                                                                                guide, Spark step 2)
    ``spark.task.maxFailures``                              10                  a task that still fails is retried
                                                                                by Spark (writes are upserts)
    ``spark.sql.session.timeZone``                          ``UTC``             run dates and windows are UTC
    ``spark.cassandra.output.throughputMBPerSec``           optional            per-core write rate limit
    ======================================================  ==================  =================================

    The driver profile (contact point, TLS, SigV4, LOCAL_QUORUM) is rendered by the job from its Region
    (``job.driver_profile``) and set as ``spark.cassandra.connection.config.profile.path``; the job also checks
    the account's Murmur3 partitioner before writing.
    """
    conf = {
        "spark.jars.packages": f"{SPARK_CASSANDRA_CONNECTOR},{KEYSPACES_SIGV4_PLUGIN}",
        "spark.jars": DELTA_JARS,
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension,com.datastax.spark.connector.CassandraSparkExtensions",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.cassandra.output.consistency.level": "LOCAL_QUORUM",
        "spark.cassandra.input.consistency.level": "LOCAL_QUORUM",
        "spark.cassandra.output.batch.size.rows": "1",
        "spark.cassandra.output.batch.grouping.key": "none",
        "spark.cassandra.output.concurrent.writes": str(concurrent_writes),
        "spark.cassandra.query.retry.count": str(query_retries),
        "spark.task.maxFailures": str(task_max_failures),
        "spark.sql.session.timeZone": "UTC",  # the run date, the window and the Delta partition are UTC
    }
    if max_write_mb_per_core is not None:
        conf["spark.cassandra.output.throughputMBPerSec"] = f"{max_write_mb_per_core:g}"
    return dict(sorted(conf.items()))


class FeatureJob(Construct):
    """Runs the feature job on a schedule: EventBridge Scheduler -> Step Functions -> EMR Serverless (``.sync``).

    Example::

        from pathlib import Path

        from aws_cdk import App, Environment, Stack

        from meshworks.constructs.core.offline import pin_availability_zones
        from meshworks.constructs.features import FeatureJob, Keyspace, KeyspacesTable, KeyspacesTableSchema, OfflineStore
        from meshworks.constructs.network import PlatformVpc
        from meshworks.constructs.spark import EmrServerlessApplication
        from meshworks.constructs.storage import DataLakeStorage, Zone

        app = App()
        stack = Stack(app, "Features", env=Environment(account="111111111111", region="eu-west-1"))
        pin_availability_zones(stack, ["eu-west-1a", "eu-west-1b"])
        schema = KeyspacesTableSchema.from_cql(Path("schemas/features/customer_features.cql").read_text())
        table = KeyspacesTable(stack, "CustomerFeatures", schema=schema,
                               keyspace=Keyspace(stack, "Keyspace", keyspace_name=schema.keyspace))
        lake = DataLakeStorage(stack, "Lake")
        offline = OfflineStore(stack, "Offline", schema=schema, bucket=lake.bucket(Zone.CURATED), database_name="features")
        spark = EmrServerlessApplication(stack, "Spark", vpc=PlatformVpc(stack, "Network").vpc)
        job = FeatureJob(stack, "FeatureJob", application=spark, online_table=table, offline_store=offline,
                         source_bucket=lake.bucket(Zone.RAW), source_prefix="events/",
                         schedule="cron(0 5 * * ? *)", schedule_time_zone="Europe/Berlin")
        job.role               # the feature_creator role (the job run's execution role)
        job.state_machine      # failures: EventBridge "Step Functions Execution Status Change" -> job alerts
        app.synth()

    The ``feature_creator`` role may only: write the Keyspaces table (``KeyspacesTable.grant_write_data``), write
    the Delta table's prefix and read its Glue definition (``OfflineStore.grant_write_data``), read the source
    prefix and the job script, and deliver the application's logs (``SparkJobRole``). Execution input (optional):
    ``{"runTime": "2026-11-30T05:00:00Z"}``; the schedule passes its scheduled time, a manual run defaults to
    the execution's start time. The run's date (UTC) is the Delta partition it replaces.

    Args:
        application: the EMR Serverless application (EMR 7.x: Spark 3.5, Scala 2.12).
        online_table: the Keyspaces table the job upserts.
        offline_store: the Delta table the job writes.
        source_bucket / source_prefix: where the raw events are read (read-only grant on the prefix).
            Default prefix: ``events/``.
        encryption_key: encrypts the state machine, its logs, the schedule and its dead-letter queue.
            Default: a new ``PlatformKey`` (``self.key``).
        schedule: EventBridge Scheduler expression (``cron(...)`` or ``rate(...)``); None = no schedule.
            Default: ``cron(0 5 * * ? *)`` (daily 05:00).
        schedule_time_zone: IANA time zone of ``schedule``. Default: ``UTC``.
        role_name: name of the feature_creator role. Default: generated.
        state_machine_name: Default: derived from the construct path (the job-alert filters can name it).
        job_timeout: longest run of one attempt (whole minutes). Default: 2 hours.
        retry_attempts: retries of a failed run (``States.TaskFailed``: throttled API calls, transient service
            errors, failed runs; not timeouts), 0-5. Default: 2.
        retry_interval: wait before the first retry (doubled each time, full jitter). Default: 5 minutes.
        concurrent_writes / query_retries / max_write_mb_per_core: Keyspaces write tuning
            (``feature_job_spark_conf``). Default: 3 / 500 / no rate limit.
        lookback_days: days of events each run reads. Default: 30.
        script: the PySpark entry point. Default: ``DEFAULT_SCRIPT`` (meshworks' example job).
        alarm_topic: where the schedule's dead-letter alarm goes. Default: a new encrypted topic (``self.alarm_topic``).
        log_retention: of the state machine's logs. Default: one year.
        removal_policy: of the log group. Default: RETAIN.

    Raises:
        ValueError: a bad schedule, time zone, duration, retry count or tuning value (naming it and the fix).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        application: EmrServerlessApplication,
        online_table: KeyspacesTable,
        offline_store: OfflineStore,
        source_bucket: s3.IBucket,
        source_prefix: str = "events/",
        encryption_key: kms.IKey | None = None,
        schedule: str | None = "cron(0 5 * * ? *)",
        schedule_time_zone: str = "UTC",
        role_name: str | None = None,
        state_machine_name: str | None = None,
        job_timeout: Duration = Duration.hours(2),
        retry_attempts: int = 2,
        retry_interval: Duration = Duration.minutes(5),
        concurrent_writes: int = 3,
        query_retries: int = 500,
        max_write_mb_per_core: float | None = None,
        lookback_days: int = 30,
        script: str | Path | None = None,
        alarm_topic: sns.ITopic | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        owner = "FeatureJob"
        collaborator(owner, "application", application, has="grant_log_delivery", kind="an EmrServerlessApplication",
                     example="EmrServerlessApplication(stack, 'Spark', vpc=vpc)")
        collaborator(owner, "online_table", online_table, has="grant_write_data", kind="a KeyspacesTable",
                     example="KeyspacesTable(stack, 'CustomerFeatures', keyspace=keyspace, schema=schema)")
        collaborator(owner, "offline_store", offline_store, has="grant_write_data", kind="an OfflineStore",
                     example="OfflineStore(stack, 'Offline', schema=schema, bucket=..., database_name='features')")
        if script is not None and not (isinstance(script, (str, Path)) and Path(script).is_file()):
            raise ValueError(f"{owner}: script={script!r} is not a file: give the path of your PySpark entry point "
                             f"(relative to {Path.cwd()}), or leave it out for meshworks' example job")
        retention_days(owner, "log_retention", log_retention)
        if encryption_key is not None:
            collaborator(owner, "encryption_key", encryption_key, has="key_arn", kind="a KMS key (kms.IKey)",
                         example="PlatformKey(stack, 'Key') or kms.Key.from_key_arn(...), or leave it out")
        collaborator(owner, "source_bucket", source_bucket, has="bucket_arn", kind="a bucket (s3.IBucket)",
                     example="DataLakeStorage.bucket(Zone.RAW), a SecureBucket or s3.Bucket.from_bucket_name(...)")
        minutes = whole_duration(owner, "job_timeout", job_timeout, "minutes", minimum=1, maximum=10080)
        whole_duration(owner, "retry_interval", retry_interval, "minutes", minimum=1)
        for name, value, low, high in (("retry_attempts", retry_attempts, 0, 5),
                                       ("concurrent_writes", concurrent_writes, 1, 64),
                                       ("query_retries", query_retries, 1, 10000),
                                       ("lookback_days", lookback_days, 1, 3650)):
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"{owner}: {name}={value!r}: give a whole number from {low} to {high}")
        if max_write_mb_per_core is not None and not (isinstance(max_write_mb_per_core, int | float) and max_write_mb_per_core > 0):
            raise ValueError(f"{owner}: max_write_mb_per_core={max_write_mb_per_core!r}: give a positive number of MB/s, e.g. 0.5")
        if schedule is not None and not (isinstance(schedule, str) and _SCHEDULE.match(schedule)):
            raise ValueError(f"{owner}: schedule={schedule!r} is not an EventBridge Scheduler expression: use "
                             "'cron(0 5 * * ? *)' or 'rate(1 day)' (or None for no schedule)")
        if schedule is not None and schedule.startswith("cron("):
            # EventBridge Scheduler cron: 6 fields; day-of-month or day-of-week (not both, not neither) is '?'
            # (source: EventBridge Scheduler user guide, "Cron-based schedules").
            fields = schedule[5:-1].split()
            if len(fields) != 6 or [fields[2], fields[4]].count("?") != 1:
                raise ValueError(f"{owner}: schedule={schedule!r}: a Scheduler cron has 6 fields (minutes hours "
                                 "day-of-month month day-of-week year) and exactly one of day-of-month and day-of-week "
                                 "is '?', e.g. 'cron(0 5 * * ? *)'")
        if not re.fullmatch(r"([A-Za-z0-9!_.'()=+-]+/)+", source_prefix or ""):
            raise ValueError(f"{owner}: source_prefix={source_prefix!r} must be a folder ending in '/', e.g. 'events/'")
        try:
            time_zone = TimeZone.of(schedule_time_zone)
            _check_time_zone(schedule_time_zone)
        except (ValueError, TypeError):
            raise ValueError(f"{owner}: schedule_time_zone={schedule_time_zone!r} is not an IANA time zone, "
                             "e.g. 'UTC' or 'Europe/Berlin'") from None
        if state_machine_name is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", state_machine_name):
            raise ValueError(f"{owner}: state_machine_name={state_machine_name!r}: use 1-80 letters, digits, '-' or '_'")
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key: kms.IKey = encryption_key or PlatformKey(self, "Key", description=f"{self.node.path} feature job")
        self.script = s3_assets.Asset(self, "Script", path=str(script or DEFAULT_SCRIPT))

        # ---- feature_creator: the job run's execution role, least privilege on both stores
        self.job_role = SparkJobRole(
            self, "FeatureCreator", applications=[application], role_name=role_name,
            description=f"feature_creator: writes {online_table.keyspace_name}.{online_table.table_name} and its "
                        "offline Delta table",
        )
        #: The feature_creator role.
        self.role: iam.Role = self.job_role.role
        online_table.grant_write_data(self.role)
        offline_store.grant_write_data(self.role)
        source_bucket.grant_read(self.role, f"{source_prefix}*")
        self.script.bucket.grant_read(self.role, self.script.s3_object_key)

        self.spark_conf = feature_job_spark_conf(
            concurrent_writes=concurrent_writes, query_retries=query_retries, max_write_mb_per_core=max_write_mb_per_core
        )
        #: The job's arguments (the run time is added per execution).
        self.arguments: dict[str, str] = {
            "--source": f"s3://{source_bucket.bucket_name}/{source_prefix}",
            "--keyspace": online_table.keyspace_name,
            "--table": online_table.table_name,
            "--delta-location": offline_store.location,
            "--glue-database": offline_store.database_name,
            "--glue-table": offline_store.table_name,
            "--partition-column": offline_store.partition_column,
            "--schema": ", ".join(f"{name} {kind}" for name, kind in offline_store.columns),
            "--region": stack.region,
            "--lookback-days": str(lookback_days),
        }

        # ---- the state machine
        self.log_group = SecureLogGroup(
            self, "Logs", encryption_key=self.key, retention=log_retention, removal_policy=removal_policy
        )
        defaults = sfn.Pass(
            self, "ApplyDefaults", comment="The run time defaults to the execution's start time",
            parameters={"defaults": {"runTime.$": "$$.Execution.StartTime"}, "input.$": "$"},
        )
        merge = sfn.Pass(self, "MergeInput", parameters={"job.$": "States.JsonMerge($.defaults, $.input, false)"})
        run = sfn.CustomState(self, "RunFeatureJob", state_json={
            "Type": "Task",
            "Resource": integration_arn(self, "emr-serverless"),
            "Parameters": self._job_run_parameters(application, minutes),
            "ResultPath": "$.jobRun",
            "TimeoutSeconds": minutes * 60 + 600,
        })
        if retry_attempts:
            run.add_retry(errors=["States.TaskFailed"], max_attempts=retry_attempts, interval=retry_interval,
                          backoff_rate=2, jitter_strategy=sfn.JitterType.FULL)
        failed = sfn.Fail(self, "FeatureJobFailed", error="FeatureJobFailed",
                          cause="The feature job run failed after its retries; see the execution's error and the job run's logs")
        run.add_catch(failed, errors=["States.ALL"], result_path="$.error")
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=state_machine_name or Names.unique_resource_name(self, max_length=80, separator="-"),
            definition_body=sfn.DefinitionBody.from_chainable(defaults.next(merge).next(run).next(sfn.Succeed(self, "Succeeded"))),
            timeout=Duration.minutes((minutes + 15) * (retry_attempts + 1) + int(retry_interval.to_minutes()) * 2 ** retry_attempts),
            tracing_enabled=True,
            encryption_configuration=sfn.CustomerManagedEncryptionConfiguration(self.key),
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        role = self.state_machine.role
        self.job_role.grant_start_job_run(role, application)
        role.add_to_principal_policy(iam.PolicyStatement(
            actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            resources=[stack.format_arn(service="events", resource="rule",
                                        resource_name="StepFunctionsGetEventsForEMRServerlessJobRule")],
        ))
        acknowledge_policies(
            self.state_machine,
            [CDK_GRANT_ACTIONS,
             (r"Resource::\*", "X-Ray trace segments and CloudWatch Logs vended-log delivery (CreateLogDelivery, "
              "PutResourcePolicy...) have no resource-level permissions."),
             (r"Resource::<[A-Za-z0-9]+\.Arn>/jobruns/\*|Resource::" + arn("emr-serverless", r"/applications/.+/jobruns/\*"),
              "Job runs of the one application this job runs on; run ids are created at run time.")],
            extra={"NIST.800.53.R5-IAMNoInlinePolicy": "The role belongs to this state machine only; its inline policy "
                   "is generated from the states it runs, scoped to the application, role and key it uses."},
        )

        # ---- the schedule, with retries and a watched dead-letter queue
        self.schedule: scheduler.Schedule | None = None
        self.schedule_dead_letter_queue: DeadLetterQueue | None = None
        self.schedule_dead_letter_alarm: cloudwatch.Alarm | None = None
        self.alarm_topic: sns.ITopic | None = alarm_topic
        if schedule is not None:
            self.schedule_dead_letter_queue = DeadLetterQueue(
                self, "ScheduleDeadLetterQueue", encryption_key=self.key, receives="the feature job's schedule"
            )
            self.schedule_dead_letter_alarm = dead_letter_alarm(
                self, "ScheduleDeadLetterAlarm", self.schedule_dead_letter_queue, "Feature job runs not started"
            )
            self.alarm_topic = alarm_topic or sns.Topic(
                self, "Alarms", display_name="meshworks feature job alarms", master_key=self.key, enforce_ssl=True
            )
            self.schedule_dead_letter_alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))
            allow_service_to_use_key(self.key, "cloudwatch.amazonaws.com", "AllowCloudWatchAlarms")
            scheduler_role = iam.Role(
                self, "SchedulerRole",
                assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com",
                                                conditions={"StringEquals": {"aws:SourceAccount": stack.account}}),
                description="EventBridge Scheduler starts the feature job",
            )
            self.schedule = scheduler.Schedule(
                self,
                "Schedule",
                schedule=scheduler.ScheduleExpression.expression(schedule, time_zone),
                target=scheduler_targets.StepFunctionsStartExecution(
                    self.state_machine,
                    input=scheduler.ScheduleTargetInput.from_object({"runTime": scheduler.ContextAttribute.scheduled_time}),
                    retry_attempts=3,  # a start the scheduler could not make (throttled, unavailable)
                    max_event_age=Duration.hours(1),
                    dead_letter_queue=self.schedule_dead_letter_queue,
                    role=scheduler_role,
                ),
                key=self.key,
                description=f"meshworks feature job {online_table.keyspace_name}.{online_table.table_name}",
            )
            # The scheduler sends dead letters with this role: SQS encrypts them with the queue's key, which a
            # producer must be allowed to use (the L2 target grants sqs:SendMessage only).
            self.key.grant(scheduler_role, "kms:GenerateDataKey", "kms:Decrypt")
            allow_service_to_use_key(self.key, "scheduler.amazonaws.com", "AllowSchedulerFeatureJob",
                                     stack.format_arn(service="scheduler", resource="schedule", resource_name="*"))
            acknowledge_policies(scheduler_role, [CDK_GRANT_ACTIONS], extra={
                "NIST.800.53.R5-IAMNoInlinePolicy": "The scheduler role's only policy: start this one state machine "
                "and send to its dead-letter queue."})

    # ------------------------------------------------------------------------------------------------
    def _job_run_parameters(self, application: EmrServerlessApplication, minutes: int) -> dict[str, Any]:
        quoted = ", ".join(f"{_literal(key, key)}, {_literal(key, value)}" for key, value in self.arguments.items())
        return {
            "ApplicationId": application.application_id,
            "ExecutionRoleArn": self.role.role_arn,
            "Name": f"feature-job-{self.arguments['--table']}",
            "ClientToken.$": "States.UUID()",
            "ExecutionTimeoutMinutes": minutes,
            "JobDriver": {
                "SparkSubmit": {
                    "EntryPoint": self.script.s3_object_url,
                    "EntryPointArguments.$": f"States.Array({quoted}, '--run-time', $.job.runTime)",
                }
            },
            "ConfigurationOverrides": {
                "ApplicationConfiguration": [{"Classification": "spark-defaults", "Properties": self.spark_conf}]
            },
            "Tags": {"meshworks:feature-job": self.node.path[-120:]},
        }

    @property
    def state_machine_arn(self) -> str:
        """The state machine's ARN (list it in ``monitoring.state_machine_arns`` if alerts are filtered)."""
        return self.state_machine.state_machine_arn


_TOKEN = re.compile(r"\$\{Token\[[^\]]+\]\}")


def _literal(name: str, text: str) -> str:
    """``text`` as a single-quoted string of an intrinsic function: its literal parts may not hold ``\\ ' { }``
    (they would need escaping; none of the job's names, locations or types does); tokens are left whole."""
    if re.search(r"[\\'{}]", _TOKEN.sub("", text)):
        raise ValueError(f"FeatureJob: job argument {name} = {text!r} holds a quote, brace or backslash: use names "
                         "and locations without them")
    return f"'{text}'"


def _check_time_zone(name: str) -> None:
    from zoneinfo import available_timezones

    if name not in available_timezones():
        raise ValueError(name)

