"""``FileIngestion``: landed CSV files recorded in DynamoDB, converted to Parquet by a Glue job (GE MDC's flow)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Duration, IgnoreMode, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from meshworks.lambdas.file_ingestion import items
from meshworks.lambdas.file_ingestion.avro import AvroSchemaError, parse_avro_schema
from meshworks.lambdas.file_ingestion.keys import (
    DEFAULT_DATE_FORMAT,
    DEFAULT_KEY_PATTERN,
    KeyPatternError,
    compile_key_pattern,
)

from ..core.dead_letter_queue import DeadLetterQueue, dead_letter_alarm
from ..core.inputs import whole_duration
from ..core.lambda_code import LAMBDAS_ROOT
from ..core.nag import (
    BUCKET_OBJECTS,
    CDK_ASSET_OBJECTS,
    CDK_GRANT_ACTIONS,
    acknowledge_grant,
    acknowledge_policies,
)
from ..core.platform_function import PlatformFunction
from ..core.platform_key import PlatformKey, allow_cloudwatch_logs, allow_service_to_use_key
from ..core.removal import resolve_removal_policy
from ..core.secure_log_group import SecureLogGroup
from ..features.feature_table import TABLE_INDEXES
from ..features.file_metadata_table import FileMetadataTable

# EventBridge Scheduler expressions: rate(...), cron(<6 fields>) or at(...) (AWS::Scheduler::Schedule ScheduleExpression).
_SCHEDULE = re.compile(r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+( \S+){5}\)|at\(\S+\))$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
_FILE_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_WORKER_TYPES = ("G.025X", "G.1X", "G.2X", "G.4X", "G.8X")
#: The metric namespace of the recorder (embedded metric format; see ``lambdas/file_ingestion/handler.py``).
METRIC_NAMESPACE = "meshworks/FileIngestion"

SchemaSource = str | Path


def _schema_versions(name: str, file_type: str, value: object) -> list[str]:
    """The schema texts of one file type (oldest first), each checked; ``value``: text, a path, or a list."""
    where = f"FileIngestion {name!r}: schemas[{file_type!r}]"
    versions = [value] if isinstance(value, (str, Path)) else value
    if not isinstance(versions, Sequence) or not versions:
        raise ValueError(f"{where} must be Avro schema text, a path to a .avsc file, or a list of them (oldest first)")
    texts: list[str] = []
    for index, version in enumerate(versions):
        label = f"{where} version {index + 1}"
        if isinstance(version, Path) or (isinstance(version, str) and version.strip().endswith(".avsc")):
            path = Path(version)
            if not path.is_file():
                raise ValueError(f"{label}: no file {str(path)!r}: give an existing .avsc file or the schema text")
            text = path.read_text()
            label = f"{label} ({path})"
        elif isinstance(version, str):
            text = version
        else:
            raise ValueError(f"{label}: {version!r} is neither schema text nor a path")
        try:
            parse_avro_schema(text, label)
        except AvroSchemaError as error:
            raise ValueError(str(error)) from None
        texts.append(text)
    return texts


class FileIngestion(Construct):
    """Landed CSV files (gzip too) -> a file-metadata table -> Parquet in the curated zone (GE MDC).

    What it deploys:

    - an EventBridge rule on the default bus for S3 ``Object Created`` events of ``landing_bucket`` (under
      ``landing_prefix``), targeting the recorder Lambda (8 retries over 24 h, then the dead-letter queue);
    - the recorder (``lambdas/file_ingestion/handler.py``): parses tenant / site / date / file type from the key
      with ``key_pattern`` and writes one item per object version with a conditional put (``FileMetadataTable``,
      sort key ``version_id``, plus the sparse ``work_queue_landed_at`` index). Delivery guarantee: S3 ->
      EventBridge -> Lambda is at least once, and the conditional put makes it exactly one record per object
      version; a re-upload (new version id or sequencer) is a new record. Keys that do not match are recorded
      ``REJECTED`` with the reason and counted (``FilesRejected``, alarmed), never retried. AWS errors are
      retried by Lambda (2) and EventBridge, then land in the dead-letter queue (alarmed), safe to redrive;
    - a Glue Schema Registry with one Avro schema per file type (``schemas``; later versions as schema versions);
    - a Glue 5.0 PySpark job ``<name>-csv-to-parquet`` (script and package shipped as assets) that claims pending
      files (conditional PENDING -> CLAIMED with a lease: two runs never convert the same file), converts them
      against the latest schema version, and marks them DONE or FAILED with the reason; FAILED files are retried
      up to ``max_attempts`` claims. KMS security configuration, its own least-privilege role, encrypted logs;
    - orchestration: an EventBridge Scheduler schedule starting the job (2 retries, dead-letter queue, alarmed),
      or none (``schedule_expression=None``) when MWAA drives the job (``dags/example_file_ingestion_dag.py``).

    Example::

        from pathlib import Path

        from aws_cdk import App, Environment, Stack
        from aws_cdk import aws_cloudwatch_actions as cw_actions
        from aws_cdk import aws_iam as iam
        from aws_cdk import aws_sns as sns

        from meshworks.constructs.ingestion import FileIngestion
        from meshworks.constructs.storage import DataLakeStorage, SecureBucket, Zone

        app = App()
        stack = Stack(app, "Files", env=Environment(account="111111111111", region="eu-west-1"))
        lake = DataLakeStorage(stack, "Lake")
        landing = SecureBucket(stack, "Landing", event_bridge_enabled=True)
        files = FileIngestion(stack, "SiteFiles", name="acme-sites", landing_bucket=landing,
                              curated_bucket=lake.bucket(Zone.CURATED),
                              schemas={"sensor_readings": Path("schemas/ingestion/sensor_readings.avsc")})
        ops_topic = sns.Topic(stack, "Ops", master_key=lake.key)
        files.add_alarm_action(cw_actions.SnsAction(ops_topic))
        airflow_role = iam.Role(stack, "AirflowExecution", assumed_by=iam.ServicePrincipal("airflow-env.amazonaws.com"))
        files.grant_start_job_run(airflow_role)
        app.synth()

    Args:
        name: the pipeline's name: 3-40 lower-case letters, digits and ``-``; names the job
            (``<name>-csv-to-parquet``), the registry (``<name>-files``) and the security configuration.
        landing_bucket: where files land. EventBridge notifications must be on: turned on here when it is a bucket
            of this app (``s3.Bucket``/``SecureBucket``); for an imported bucket, its owner must enable them.
        curated_bucket: where the Parquet goes, encrypted (Glue security configuration) with the bucket's own key
            when it has one (``s3.Bucket``/``SecureBucket`` of this app), else with ``encryption_key`` (``self.output_key``:
            readers of an imported curated bucket then need decrypt on it).
        schemas: file type -> Avro record schema: JSON text, a ``Path`` to a ``.avsc`` file, or a list of them
            (oldest first; append new versions, never edit a published one: a schema's definition cannot change
            in place in CloudFormation). Keys whose file type has no schema are rejected by the recorder.
        key_pattern: Python regular expression matched against the whole key, with the named groups ``tenant``,
            ``site``, ``date`` and ``file_type`` (others are recorded too). Default:
            ``<tenant>/<site>/<YYYY-MM-DD>/<file_type>/<name>.csv[.gz]`` (``keys.DEFAULT_KEY_PATTERN``).
        date_format: ``strptime`` format of the ``date`` group. Default: ``%Y-%m-%d``.
        landing_prefix: only keys under this prefix are recorded (the pattern still applies to the whole key).
            Default: the whole bucket.
        curated_prefix: key prefix of the output in ``curated_bucket``. Default: ``files/``.
        encryption_key: encrypts the table, function, queues, logs, schedule and job outputs. Default: a new
            ``PlatformKey`` (``self.encryption_key``).
        schedule_expression: EventBridge Scheduler expression starting the job. Default: ``rate(30 minutes)``;
            None leaves scheduling to MWAA (or anything calling ``glue:StartJobRun``).
        max_files: files a run claims at most. Default: 500.
        max_attempts: claims of one file before it stays FAILED. Default: 3.
        lease: how long a claim holds before another run may take the file over. Default: 2 hours (more than
            ``job_timeout``).
        worker_type / number_of_workers: Glue capacity. Default: ``G.1X`` x 2.
        job_timeout: Default: 1 hour.
        alarm_topic: where the alarms (dead letters, rejected files) go. Default: a new encrypted topic
            (``self.alarm_topic``) to subscribe the on-call to; ``add_alarm_action`` adds more actions.
        removal_policy: table and registry (and the key when created here). Default: RETAIN
            (DESTROY only with ``@meshworks/removeDataOnDestroy``).

    Raises:
        ValueError: a bad name, key pattern (not a regular expression, a required group missing), file type,
            schema (not an Avro record of CSV column types), or number; the message names the argument and fix.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        landing_bucket: s3.IBucket,
        curated_bucket: s3.IBucket,
        schemas: Mapping[str, SchemaSource | Sequence[SchemaSource]],
        key_pattern: str = DEFAULT_KEY_PATTERN,
        date_format: str = DEFAULT_DATE_FORMAT,
        landing_prefix: str | None = None,
        curated_prefix: str = "files/",
        encryption_key: kms.IKey | None = None,
        schedule_expression: str | None = "rate(30 minutes)",
        max_files: int = 500,
        max_attempts: int = 3,
        lease: Duration = Duration.hours(2),
        worker_type: str = "G.1X",
        number_of_workers: int = 2,
        job_timeout: Duration = Duration.hours(1),
        alarm_topic: sns.ITopic | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        owner = f"FileIngestion {name!r}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"FileIngestion: name={name!r}: use 3-40 lower-case letters, digits and '-', e.g. 'acme-sites'")
        try:
            compile_key_pattern(key_pattern, date_format)
        except KeyPatternError as error:
            raise ValueError(f"{owner}: {error}") from None
        for field, bucket in (("landing_bucket", landing_bucket), ("curated_bucket", curated_bucket)):
            if not hasattr(bucket, "bucket_name"):
                raise ValueError(f"{owner}: {field}={bucket!r}: give a bucket (s3.IBucket, e.g. SecureBucket or "
                                 "s3.Bucket.from_bucket_name)")
        if schedule_expression is not None and not (
            isinstance(schedule_expression, str)
            and (Token.is_unresolved(schedule_expression) or _SCHEDULE.match(schedule_expression))
        ):
            raise ValueError(f"{owner}: schedule_expression={schedule_expression!r}: give an EventBridge Scheduler "
                             "expression such as 'rate(30 minutes)' or 'cron(0 * * * ? *)', or None to leave the runs "
                             "to an Airflow DAG")
        if not isinstance(schemas, Mapping) or not schemas:
            raise ValueError(f"{owner}: schemas must map each file type to its Avro schema, e.g. "
                             "{'sensor_readings': Path('schemas/sensor_readings.avsc')}")
        for file_type in schemas:
            if not isinstance(file_type, str) or not _FILE_TYPE.match(file_type):
                raise ValueError(f"{owner}: file type {file_type!r}: use lower-case letters, digits and '_' "
                                 "(it is the schema's name and a folder of the output)")
        versions = {file_type: _schema_versions(name, file_type, value) for file_type, value in sorted(schemas.items())}
        for field, value, low, high in (("max_files", max_files, 1, 100_000), ("max_attempts", max_attempts, 1, 20),
                                        ("number_of_workers", number_of_workers, 2, 299)):
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"{owner}: {field}={value!r}: give a whole number from {low} to {high}")
        if worker_type not in _WORKER_TYPES:
            raise ValueError(f"{owner}: worker_type={worker_type!r}: use one of {', '.join(_WORKER_TYPES)}")
        timeout_minutes = whole_duration(owner, "job_timeout", job_timeout, "minutes", minimum=1, maximum=2880)
        lease_seconds = whole_duration(owner, "lease", lease, "seconds", minimum=60)
        if lease_seconds <= timeout_minutes * 60:
            raise ValueError(f"{owner}: lease ({lease.to_human_string()}) must exceed job_timeout "
                             f"({job_timeout.to_human_string()}), or a slow run's files could be taken over")
        if not isinstance(curated_prefix, str) or curated_prefix.startswith("/") or "*" in curated_prefix:
            raise ValueError(f"{owner}: curated_prefix={curated_prefix!r}: give a key prefix such as 'files/'")
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.name = name
        self.job_name = f"{name}-csv-to-parquet"
        self.registry_name = f"{name}-files"
        self.encryption_key: kms.IKey = encryption_key or PlatformKey(
            self, "Key", description=f"meshworks file ingestion {name}", removal_policy=removal_policy
        )
        self.alarms: list[cloudwatch.Alarm] = []
        self.alarm_topic: sns.ITopic = alarm_topic or sns.Topic(
            self, "Alarms", display_name=f"meshworks file ingestion {name} alarms", master_key=self.encryption_key,
            enforce_ssl=True,
        )
        if alarm_topic is None:
            allow_service_to_use_key(self.encryption_key, "cloudwatch.amazonaws.com", "AllowCloudWatchAlarms")

        # ---- the file-metadata table -------------------------------------------------------------------
        self.table = FileMetadataTable(
            self, "Files", encryption_key=self.encryption_key, removal_policy=removal_policy, sort_key=items.SORT_KEY
        )
        self.table.table.add_global_secondary_index(
            index_name=items.WORK_QUEUE_INDEX,
            partition_key=dynamodb.Attribute(name=items.WORK_QUEUE_ATTRIBUTE, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="landed_at", type=dynamodb.AttributeType.STRING),
        )

        # ---- the recorder: S3 events -> one item per object version ----------------------------------
        self.recorder = PlatformFunction(
            self,
            "Recorder",
            package="file_ingestion",
            handler="file_ingestion.handler.main",
            encryption_key=self.encryption_key,
            environment={
                "TABLE_NAME": self.table.table_name,
                "KEY_PATTERN": key_pattern,
                "DATE_FORMAT": date_format,
                "FILE_TYPES": ",".join(versions),
                "PIPELINE_NAME": name,
            },
            timeout=Duration.seconds(30),
            reserved_concurrency=10,
            description=f"meshworks file ingestion {name}: records landed files",
        )
        # One conditional put on the table itself (not its indexes), nothing else.
        self.recorder.add_to_role_policy(iam.PolicyStatement(
            sid="RecordFiles", actions=["dynamodb:PutItem"], resources=[self.table.table_arn]
        ))
        self.dead_letter_queue = self.recorder.dead_letter_queue
        assert self.dead_letter_queue is not None
        self.recorder.add_environment("REJECTED_QUEUE_URL", self.dead_letter_queue.queue_url)
        if isinstance(landing_bucket, s3.Bucket):
            landing_bucket.enable_event_bridge_notification()
        detail: dict[str, object] = {"bucket": {"name": [landing_bucket.bucket_name]}}
        if landing_prefix:
            detail["object"] = {"key": [{"prefix": landing_prefix}]}
        self.rule = events.Rule(
            self,
            "ObjectCreated",
            description=f"meshworks file ingestion {name}: files landed in the landing bucket",
            event_pattern=events.EventPattern(source=["aws.s3"], detail_type=["Object Created"], detail=detail),
            targets=[
                targets.LambdaFunction(
                    self.recorder.function,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=8,
                    max_event_age=Duration.hours(24),
                )
            ],
        )
        allow_service_to_use_key(
            self.encryption_key, "events.amazonaws.com", "AllowEventBridgeDeadLetters",
            stack.format_arn(service="events", resource="rule", resource_name="*"),
        )
        self._add_alarm(dead_letter_alarm(
            self, "RecorderDeadLetters", self.dead_letter_queue,
            f"Landed-file events of {name} that were not recorded (AWS errors after retries, or malformed events)",
        ))
        self._add_alarm(cloudwatch.Alarm(
            self,
            "RejectedFiles",
            metric=cloudwatch.Metric(
                namespace=METRIC_NAMESPACE, metric_name="FilesRejected", dimensions_map={"Pipeline": name},
                period=Duration.minutes(15), statistic="Sum",
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"Files landed in {name} whose key does not follow the pattern (or whose file type has "
            "no schema): they are never converted. Query the table for state = REJECTED; rename and re-upload.",
        ))

        # ---- the schema registry ------------------------------------------------------------------------
        retention = resolve_removal_policy(self, removal_policy, "Registry")
        self.registry = glue.CfnRegistry(
            self, "Registry", name=self.registry_name, description=f"meshworks file ingestion {name}: CSV schemas"
        )
        self.registry.apply_removal_policy(retention)
        self.schemas: dict[str, glue.CfnSchema] = {}
        self.schema_versions: dict[str, list[glue.CfnSchemaVersion]] = {}
        for file_type, texts in versions.items():
            schema = glue.CfnSchema(
                self,
                f"Schema-{file_type}",
                name=file_type,
                registry=glue.CfnSchema.RegistryProperty(arn=self.registry.attr_arn),
                data_format="AVRO",
                compatibility="BACKWARD",
                schema_definition=texts[0],
                description=f"CSV files of type {file_type}",
            )
            schema.apply_removal_policy(retention)
            self.schemas[file_type] = schema
            self.schema_versions[file_type] = []
            previous: glue.CfnSchemaVersion | None = None
            for number, text in enumerate(texts[1:], start=2):
                version = glue.CfnSchemaVersion(
                    self,
                    f"Schema-{file_type}-v{number}",
                    schema=glue.CfnSchemaVersion.SchemaProperty(schema_arn=schema.attr_arn),
                    schema_definition=text,
                )
                version.apply_removal_policy(retention)
                if previous is not None:  # versions are numbered in creation order
                    version.add_dependency(previous)
                previous = version
                self.schema_versions[file_type].append(version)

        # ---- the Glue job ---------------------------------------------------------------------------------
        self.job_role = iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description=f"meshworks file ingestion {name}: the CSV -> Parquet Glue job",
        )
        allow_cloudwatch_logs(self.encryption_key)
        # Glue encrypts what the job writes with the security configuration's key: the curated bucket's own key
        # when known, so that the bucket's readers (granted on that key) can read the Parquet.
        self.output_key: kms.IKey = curated_bucket.encryption_key or self.encryption_key
        self.security_configuration = glue.CfnSecurityConfiguration(
            self,
            "SecurityConfiguration",
            name=f"{name}-file-ingestion",
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                s3_encryptions=[glue.CfnSecurityConfiguration.S3EncryptionProperty(
                    s3_encryption_mode="SSE-KMS", kms_key_arn=self.output_key.key_arn
                )],
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=self.encryption_key.key_arn
                ),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=self.encryption_key.key_arn
                ),
            ),
        )
        log_prefix = f"/aws-glue/jobs/{self.job_name}"
        self.job_log_groups = [
            SecureLogGroup(self, f"JobLogs{kind.title()}", encryption_key=self.encryption_key,
                           log_group_name=f"{log_prefix}/{kind}")
            for kind in ("output", "error")
        ]
        self.job_role.add_to_policy(iam.PolicyStatement(
            sid="WriteOwnJobLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"],
            resources=[arn_ for group in self.job_log_groups
                       for arn_ in (group.log_group_arn, f"{group.log_group_arn}:log-stream:*")],
        ))
        script = s3_assets.Asset(self, "Script", path=str(LAMBDAS_ROOT / "file_ingestion" / "glue_main.py"))
        package = s3_assets.Asset(
            self, "Package", path=str(LAMBDAS_ROOT),
            exclude=["*", "!file_ingestion", "!file_ingestion/**", "**/__pycache__", "**/*.pyc"],
            ignore_mode=IgnoreMode.GLOB,
        )
        script.grant_read(self.job_role)
        package.grant_read(self.job_role)
        self.table.grant_read_data(self.job_role)
        self.table.grant_write_data(self.job_role)
        landing_bucket.grant_read(self.job_role, f"{landing_prefix}*" if landing_prefix else "*")
        curated_bucket.grant_read_write(self.job_role, f"{curated_prefix}*")
        curated_bucket.grant_delete(self.job_role, f"{curated_prefix}*")  # overwrite replaces a file's output
        self.encryption_key.grant_encrypt_decrypt(self.job_role)
        self.job_role.add_to_policy(iam.PolicyStatement(
            sid="ReadOwnSchemas",
            actions=["glue:GetSchemaVersion"],
            resources=[
                self.registry.attr_arn,
                *(schema.attr_arn for schema in self.schemas.values()),
            ],
        ))
        self.curated_uri = f"s3://{curated_bucket.bucket_name}/{curated_prefix}"
        self.job_arguments: dict[str, str] = {
            "--table_name": self.table.table_name,
            "--curated_uri": self.curated_uri,
            "--registry_name": self.registry_name,
            "--max_files": str(max_files),
            "--max_attempts": str(max_attempts),
            "--lease_seconds": str(lease_seconds),
        }
        self.job = glue.CfnJob(
            self,
            "Job",
            name=self.job_name,
            description=f"meshworks file ingestion {name}: pending CSV files -> Parquet (see file_ingestion.job)",
            role=self.job_role.role_arn,
            command=glue.CfnJob.JobCommandProperty(
                name="glueetl", python_version="3", script_location=script.s3_object_url
            ),
            glue_version="5.0",
            worker_type=worker_type,
            number_of_workers=number_of_workers,
            timeout=timeout_minutes,
            max_retries=0,  # retries are per file (max_attempts), not per run
            execution_property=glue.CfnJob.ExecutionPropertyProperty(max_concurrent_runs=2),
            security_configuration=self.security_configuration.ref,
            default_arguments={
                **self.job_arguments,
                "--extra-py-files": package.s3_object_url,
                "--job-language": "python",
                "--custom-logGroup-prefix": log_prefix,
            },
        )
        self.job.node.add_dependency(*self.job_log_groups)
        self.job_arn = stack.format_arn(service="glue", resource="job", resource_name=self.job_name)

        # ---- orchestration ----------------------------------------------------------------------------
        self.schedule: scheduler.Schedule | None = None
        self.schedule_dead_letter_queue: DeadLetterQueue | None = None
        if schedule_expression is not None:
            self._add_schedule(schedule_expression)

        acknowledge_policies(
            self.job_role,
            [CDK_GRANT_ACTIONS, BUCKET_OBJECTS, CDK_ASSET_OBJECTS, TABLE_INDEXES,
             (r"Resource::<[A-Za-z0-9]+\.Arn>:log-stream:\*", "Log streams of the job's own two log groups; Glue "
              "names streams after each run's id at run time.")],
            extra={"NIST.800.53.R5-IAMNoInlinePolicy": "The job role serves this one Glue job; its inline policy is "
                   "generated by grants scoped to the construct's table, buckets, schemas, key and log groups."},
        )

    def _add_schedule(self, expression: str) -> None:
        stack = Stack.of(self)
        role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"EventBridge Scheduler starts the {self.job_name} Glue job",
        )
        self.schedule_dead_letter_queue = DeadLetterQueue(
            self, "ScheduleDeadLetterQueue", encryption_key=self.encryption_key, receives=f"the {self.job_name} schedule"
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule=scheduler.ScheduleExpression.expression(expression),
            target=scheduler_targets.Universal(
                service="glue",
                action="startJobRun",
                input=scheduler.ScheduleTargetInput.from_object({"JobName": self.job_name}),
                role=role,
                policy_statements=[iam.PolicyStatement(actions=["glue:StartJobRun"], resources=[self.job_arn])],
                retry_attempts=2,  # a start the scheduler could not make (throttled, concurrent-run limit)
                max_event_age=Duration.minutes(30),
                dead_letter_queue=self.schedule_dead_letter_queue,
            ),
            key=self.encryption_key,
            description=f"meshworks file ingestion: starts {self.job_name}",
        )
        allow_service_to_use_key(self.encryption_key, "scheduler.amazonaws.com", "AllowSchedulerInput")
        # Dead letters are sent with this role, to a KMS-encrypted queue: SQS wants GenerateDataKey and Decrypt.
        self.encryption_key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")
        acknowledge_policies(
            role, [], extra={"NIST.800.53.R5-IAMNoInlinePolicy": "The scheduler role's only policy: start this one job."}
        )
        self._add_alarm(dead_letter_alarm(
            self, "ScheduleDeadLetters", self.schedule_dead_letter_queue,
            f"Scheduled starts of {self.job_name} that failed after retries",
        ))

    # ---- grants and alarms ------------------------------------------------------------------------------

    def _add_alarm(self, alarm: cloudwatch.Alarm) -> None:
        """Alarms made after the constructor (the schedule's) go to the alarm topic too."""
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))
        self.alarms.append(alarm)

    def add_alarm_action(self, *actions: cloudwatch.IAlarmAction) -> None:
        """Add actions (e.g. ``SnsAction(ops_topic)``) to every alarm (dead letters, rejected files)."""
        for alarm in self.alarms:
            alarm.add_alarm_action(*actions)

    def grant_start_job_run(self, grantee: iam.IGrantable) -> iam.Grant:
        """``glue:StartJobRun``/``GetJobRun``/``GetJobRuns``/``BatchStopJobRun`` on the job (an MWAA execution role:
        ``GlueJobOperator`` starts the run and polls it)."""
        acknowledge_grant(grantee)
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
            resource_arns=[self.job_arn],
        )

    def grant_read_files(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the file-metadata table and its indexes (dashboards, operators, a DAG checking the work list)."""
        return self.table.grant_read_data(grantee)


__all__ = ["METRIC_NAMESPACE", "FileIngestion"]
