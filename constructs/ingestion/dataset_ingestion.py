"""``DatasetIngestion``: one dataset file's stream, Firehose delivery, curation job and raw catalog.

What it deploys for a :class:`~meshworks.constructs.ingestion.dataset.Dataset` (see docs/ingestion.md):

* source ``kinesis``: a Kinesis data stream (KMS, on-demand by default, retained), or the existing one by ARN;
  source ``eventbridge``: a rule on the bus matching ``source`` / ``detail-type`` that targets the delivery stream;
  source ``firehose``: nothing (the existing stream already delivers into ``<domain>/<name>/`` of the raw zone);
* a Firehose delivery stream into the raw zone (``<domain>/<name>/[<key>=<value>/...]dt=YYYY-MM-DD/``, JSON lines,
  KMS, compression, error prefix ``_errors/<domain>/<name>/!{firehose:error-output-type}/dt=.../``, dynamic
  partitioning from JQ keys when asked, an encrypted log group), or to an HTTP endpoint with the access key from
  Secrets Manager and an S3 backup of all or failed records;
* the curation Glue job (PySpark, ``glue/curate_dataset.py`` shipped in the library; job bookmarks; a Glue
  security configuration encrypting its S3 output, logs and bookmarks with the key) on a scheduled trigger,
  writing Parquet into ``<domain>/<name>/`` of the curated zone;
* a crawler of the raw records (with the same security configuration) or, with an explicit schema, a Glue table.

The curated table becomes a data product of the mesh through its contract (``dataset_loader``): the reference
app reviews it with the contracts, places it in the shard lock and builds its hub table, grants and SLO monitor.

Example::

    from aws_cdk import App, Stack
    from aws_cdk import aws_iam as iam

    from meshworks.constructs.ingestion import DatasetIngestion, load_datasets
    from meshworks.constructs.storage import DataLakeStorage, Zone

    app = App()
    stack = Stack(app, "Ingestion")
    lake = DataLakeStorage(stack, "Lake", name_prefix="acme")
    raw, curated = lake.bucket(Zone.RAW), lake.bucket(Zone.CURATED)
    # the curated bucket's name as text (the dataset's contract names it): name_prefix + "-curated"
    [loaded] = load_datasets(["datasets/clickstream/app_events.yml"], curated_bucket_name="acme-curated")
    ingestion = DatasetIngestion(
        stack, "AppEvents", dataset=loaded.dataset, name_prefix="acme",
        raw_bucket=raw, curated_bucket=curated, encryption_key=lake.key,
    )
    producer_role = iam.Role(stack, "Producer", assumed_by=iam.AccountRootPrincipal())
    ingestion.grant_put_records(producer_role)
    app.synth()

Changing ``name``/``domain`` or the presence of dynamic partitioning keys replaces the delivery stream (Firehose
cannot switch dynamic partitioning on an existing stream: the stream's name changes with it, ``-dp``); see
docs/ingestion.md for what each field's change costs.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Size, Stack, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from meshworks.constructs.core.nag import (
    BUCKET_OBJECTS,
    CDK_GRANT_ACTIONS,
    acknowledge,
    acknowledge_grant,
    acknowledge_policies,
    arn,
)
from meshworks.constructs.core.platform_key import allow_cloudwatch_logs
from meshworks.constructs.core.removal import resolve_removal_policy
from meshworks.constructs.core.secure_log_group import SecureLogGroup
from meshworks.constructs.ingestion.dataset import ARRIVAL_DATE_KEY, Dataset, SourceType

__all__ = ["CURATION_SCRIPT", "DatasetIngestion"]

CURATION_SCRIPT = Path(__file__).with_name("glue") / "curate_dataset.py"
"""The curation job's PySpark script, shipped in the library."""


# Resource names allow letters, digits, '-' (Kinesis, Firehose, Glue); the prefix starts with a lower-case letter.
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_EVENT_BUS_ARN = re.compile(r"^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[A-Za-z0-9._/-]+$")


def _check_inputs(
    construct_id: str, dataset: object, name_prefix: object, raw_bucket: object, curated_bucket: object,
    encryption_key: object, refresh_bus_arn: object,
) -> None:
    """Mistakes a user makes calling the construct, as one ValueError each (never a jsii or attribute error)."""
    owner = f"DatasetIngestion {construct_id!r}"
    if not isinstance(dataset, Dataset):
        raise ValueError(f"{owner}: dataset={type(dataset).__name__}: give a Dataset, e.g. "
                         "the .dataset of a load_datasets([Path('datasets')]) item, or Dataset.model_validate(yaml_mapping)")
    if not isinstance(name_prefix, str) or not (Token.is_unresolved(name_prefix) or _PREFIX.match(name_prefix)):
        raise ValueError(f"{owner}: name_prefix={name_prefix!r}: use 1-40 lower-case letters, digits and '-', "
                         "starting with a letter, e.g. 'acme'")
    for field, value, attribute, kind in (("raw_bucket", raw_bucket, "bucket_name", "s3.IBucket"),
                                          ("curated_bucket", curated_bucket, "bucket_name", "s3.IBucket"),
                                          ("encryption_key", encryption_key, "key_arn", "kms.IKey, e.g. PlatformKey")):
        if not hasattr(value, attribute):
            raise ValueError(f"{owner}: {field}={value!r}: give a {kind}")
    if refresh_bus_arn is not None and not (
        isinstance(refresh_bus_arn, str)
        and (Token.is_unresolved(refresh_bus_arn) or _EVENT_BUS_ARN.match(refresh_bus_arn))
    ):
        raise ValueError(f"{owner}: refresh_bus_arn={refresh_bus_arn!r}: give the mesh hub's event bus ARN, "
                         "arn:aws:events:<region>:<account>:event-bus/<name>, or None")


_COMPRESSION = {
    "gzip": firehose.Compression.GZIP,
    "snappy": firehose.Compression.HADOOP_SNAPPY,
    "zip": firehose.Compression.ZIP,
    "none": firehose.Compression.UNCOMPRESSED,
}
#: Wildcards of the crawler's own statements: the tables it creates (named ``<dataset>_*``) and Glue's log groups.
_WILDCARDS = [
    ("Resource::" + arn("glue", r"table/[^/]+/[a-z0-9_]+_\*"),
     "The crawler creates the dataset's raw tables, named <dataset>_<folder>, in its raw database only."),
    ("Resource::" + arn("logs", r"log-group:/aws-glue/\*"),
     "Glue jobs and crawlers log into the service's fixed /aws-glue/ log groups (and their KMS-encrypted variants)."),
    (r"Resource::\*",
     "cloudwatch:PutMetricData has no resource-level permissions; the statement is limited to the Glue namespace."),
]
_WORKERS = {"G.1X": glue.WorkerType.G_1X, "G.2X": glue.WorkerType.G_2X, "G.4X": glue.WorkerType.G_4X,
            "G.8X": glue.WorkerType.G_8X}


class DatasetIngestion(Construct):
    """The ingestion resources of one dataset; every name is derived from ``<prefix>-<domain>-<name>``.

    Args:
        dataset: the validated dataset (``load_datasets``).
        name_prefix: prefix of every resource name, e.g. ``"acme"``.
        raw_bucket: the raw zone (Firehose writes ``<domain>/<name>/`` and ``_errors/<domain>/<name>/``).
        curated_bucket: the curated zone (the job writes ``<domain>/<name>/`` and ``<domain>/<name>__<child>/``).
        encryption_key: key of the stream, delivery, log groups and Glue security configuration; the buckets keep
            their own keys (granted through the buckets).
        raw_database: Glue database of the raw crawler/table. Default: a new database ``<prefix>_<domain>_<name>_raw``.
        access_key_secret: the HTTP endpoint's access key. Default: imported from
            ``http_endpoint.access_key_secret_arn`` (only with an ``http_endpoint``).
        refresh_bus_arn: the mesh hub's refresh bus (``<prefix>-mesh-refresh``): the job announces each partition
            it wrote there (``PutEvents``), so the hub registers it and the SLO monitor sees the delivery.
            Default: none (nothing announced).
        removal_policy: of the stream and log groups. Default: RETAIN (see ``core.removal``).

    Raises:
        ValueError: the resource names would exceed AWS's lengths (shorten the prefix or the dataset's name); a
            dataset that is not a ``Dataset``, a bucket or key that is None or not one, a ``name_prefix`` other than
            lower-case letters, digits and ``-``, or a ``refresh_bus_arn`` that is not an event bus ARN.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dataset: Dataset,
        name_prefix: str,
        raw_bucket: s3.IBucket,
        curated_bucket: s3.IBucket,
        encryption_key: kms.IKey,
        raw_database: glue.IDatabase | None = None,
        access_key_secret: secretsmanager.ISecret | None = None,
        refresh_bus_arn: str | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        _check_inputs(construct_id, dataset, name_prefix, raw_bucket, curated_bucket, encryption_key, refresh_bus_arn)
        self.dataset = dataset
        base = f"{name_prefix}-{dataset.domain}-{dataset.name}".replace("_", "-")
        if len(base) > 57:  # room for "-<6 hex>" (delivery stream) and "-curate" within AWS's 64 characters
            raise ValueError(
                f"DatasetIngestion {construct_id!r}: resource names '{base}-...' exceed AWS's 64 characters: "
                "shorten name_prefix or the dataset's name"
            )
        self.name = base
        removal = resolve_removal_policy(self, removal_policy, "Stream")
        self.stream: kinesis.IStream | None = None
        self.delivery_stream: firehose.IDeliveryStream | None = None
        self.rule: events.Rule | None = None
        self.log_group: SecureLogGroup | None = None
        self.raw_bucket, self.curated_bucket, self.encryption_key = raw_bucket, curated_bucket, encryption_key
        source = dataset.source
        if source.type is SourceType.KINESIS:
            self.stream = self._stream(encryption_key, removal)
        if source.type is SourceType.FIREHOSE:
            assert source.delivery_stream_arn is not None  # the model requires it
            self.delivery_stream = firehose.DeliveryStream.from_delivery_stream_arn(
                self, "DeliveryStream", source.delivery_stream_arn
            )
        else:
            self.delivery_stream = self._delivery(encryption_key, access_key_secret, removal)
        if source.type is SourceType.EVENTBRIDGE:
            bus = events.EventBus.from_event_bus_name(self, "Bus", source.event_bus_name)
            pattern: dict = {"source": list(source.event_source)}
            if source.detail_type:
                pattern["detail_type"] = list(source.detail_type)
            self.rule = events.Rule(
                self, "Events", event_bus=bus, rule_name=f"{base}-to-firehose",
                description=f"meshworks: events of dataset {dataset.qualified_name} into its Firehose stream",
                event_pattern=events.EventPattern(**pattern),
                targets=[targets.FirehoseDeliveryStream(self.delivery_stream)],
            )
        self.security_configuration: glue.SecurityConfiguration | None = None
        self.job: glue.PySparkEtlJob | None = None
        self.job_role: iam.Role | None = None
        self.trigger: glue.CfnTrigger | None = None
        self.crawler: glue.CfnCrawler | None = None
        self.raw_table: glue.CfnTable | None = None
        self.raw_database: glue.IDatabase | None = raw_database
        self.refresh_bus_arn = refresh_bus_arn
        if dataset.curated:
            self._curation(base, encryption_key)
            self._catalog(base)
        acknowledge_policies(self, [CDK_GRANT_ACTIONS, BUCKET_OBJECTS, *_WILDCARDS], extra={
            "NIST.800.53.R5-IAMNoInlinePolicy": "The roles (Firehose delivery, curation job and crawler) serve this "
            "dataset only; their default policies are written by CDK grants scoped to its stream, prefixes and key.",
        })

    # ---- stream and delivery ----------------------------------------------------------------------------

    def _stream(self, key: kms.IKey, removal: RemovalPolicy) -> kinesis.IStream:
        source = self.dataset.source
        if source.stream_arn is not None:
            return kinesis.Stream.from_stream_arn(self, "Stream", source.stream_arn)
        provisioned = source.stream_mode == "provisioned"
        stream = kinesis.Stream(
            self, "Stream", stream_name=self.name, encryption=kinesis.StreamEncryption.KMS, encryption_key=key,
            stream_mode=kinesis.StreamMode.PROVISIONED if provisioned else kinesis.StreamMode.ON_DEMAND,
            shard_count=source.shard_count if provisioned else None,
            retention_period=Duration.hours(source.retention_hours), removal_policy=removal,
        )
        acknowledge(stream, {
            "AwsSolutions-KDS3": "Encrypted with the platform's customer-managed key (rotated, its key policy under "
            "the platform's control) rather than the AWS-managed aws/kinesis key, like every meshworks store.",
        })
        return stream

    @property
    def delivery_stream_name(self) -> str:
        """``<prefix>-<domain>-<name>-<6 hex>``: the hex digits change with everything Firehose cannot change on an
        existing stream, so that such a change replaces the stream under a new name instead of failing.

        Firehose refuses to switch dynamic partitioning on an existing stream (CloudFormation would try an
        in-place update), and the source configuration is create-only: a replacement under the same custom name
        fails. The digits hash the source kind, the stream (new, or its ARN) and whether dynamic partitioning is on.
        """
        source = self.dataset.source
        identity = "|".join([source.type.value, source.stream_arn or "new", str(self.dataset.raw.partitioning.dynamic)])
        return f"{self.name}-{hashlib.sha256(identity.encode()).hexdigest()[:6]}"

    @property
    def raw_data_prefix(self) -> str:
        """Firehose's ``Prefix``: ``<domain>/<name>/`` + ``<key>=!{partitionKeyFromQuery:<key>}/`` per dynamic key +
        ``dt=!{timestamp:yyyy-MM-dd}/``."""
        keys = "".join(f"{k.name}=!{{partitionKeyFromQuery:{k.name}}}/" for k in self.dataset.raw.partitioning.keys)
        return f"{self.dataset.raw_prefix}{keys}{ARRIVAL_DATE_KEY}=!{{timestamp:yyyy-MM-dd}}/"

    @property
    def raw_error_prefix(self) -> str:
        """Firehose's ``ErrorOutputPrefix``: ``_errors/<domain>/<name>/<error type>/dt=.../`` (outside the data)."""
        return f"_errors/{self.dataset.raw_prefix}!{{firehose:error-output-type}}/{ARRIVAL_DATE_KEY}=!{{timestamp:yyyy-MM-dd}}/"

    def _delivery(
        self, key: kms.IKey, secret: secretsmanager.ISecret | None, removal: RemovalPolicy
    ) -> firehose.DeliveryStream:
        dataset, raw = self.dataset, self.dataset.raw
        self.log_group = SecureLogGroup(self, "DeliveryLogs", encryption_key=key, removal_policy=removal)
        logging = firehose.EnableLogging(self.log_group)
        partitioning = raw.partitioning
        s3_props = {
            "data_output_prefix": self.raw_data_prefix,
            "error_output_prefix": self.raw_error_prefix,
            "compression": _COMPRESSION[raw.compression],
            "encryption_key": key,
            "logging_config": logging,
        }
        endpoint = dataset.http_endpoint
        if endpoint is not None:
            if secret is None:
                secret = secretsmanager.Secret.from_secret_complete_arn(self, "AccessKey", endpoint.access_key_secret_arn)
            destination: firehose.IDestination = firehose.HttpEndpoint(
                endpoint_config=firehose.HttpEndpointConfig(url=endpoint.url, name=endpoint.name or dataset.name,
                                                            secret=secret),
                backup_mode=firehose.HttpBackupMode.ALL if endpoint.backup == "all" else firehose.HttpBackupMode.FAILED,
                buffering_hints=firehose.HttpBufferingHints(
                    interval=Duration.seconds(endpoint.buffering_interval_seconds),
                    size=Size.mebibytes(endpoint.buffering_size_mb),
                ),
                request_compression=firehose.HttpCompression.GZIP,
                retry_options=firehose.HttpRetryOptions(duration=Duration.seconds(endpoint.retry_seconds)),
                logging_config=logging,
                s3_backup=firehose.DestinationS3BackupProps(bucket=self.raw_bucket, **s3_props),
            )
        else:
            processors: list[firehose.IDataProcessor] = []
            if partitioning.dynamic:
                processors.append(firehose.MetadataExtractionProcessor.jq16({k.name: k.query for k in partitioning.keys}))
            processors.append(firehose.AppendDelimiterToRecordProcessor())  # JSON lines in the raw objects
            destination = firehose.S3Bucket(
                self.raw_bucket,
                buffering_interval=Duration.seconds(raw.buffering.interval_seconds),
                buffering_size=Size.mebibytes(raw.buffering.size_mb),
                dynamic_partitioning=firehose.DynamicPartitioningProps(enabled=True) if partitioning.dynamic else None,
                processors=processors,
                **s3_props,
            )
        kinesis_source = self.dataset.source.type is SourceType.KINESIS
        assert not kinesis_source or self.stream is not None
        stream = firehose.DeliveryStream(
            self, "DeliveryStream", delivery_stream_name=self.delivery_stream_name, destination=destination,
            source=firehose.KinesisStreamSource(self.stream) if kinesis_source else None,
            # A Kinesis source encrypts at rest itself (Firehose takes no SSE with one); Direct PUT uses the key.
            encryption=None if kinesis_source else firehose.StreamEncryption.customer_managed_key(key),
        )
        if kinesis_source:
            acknowledge(stream, {
                "AwsSolutions-KDF1": "The source is a Kinesis data stream encrypted with the customer-managed key; "
                "Firehose accepts no server-side encryption of its own with a Kinesis source.",
            })
        return stream

    # ---- curation -----------------------------------------------------------------------------------------

    def _curation(self, base: str, key: kms.IKey) -> None:
        dataset = self.dataset
        allow_cloudwatch_logs(key)  # the security configuration encrypts the job's and crawler's logs with it
        self.security_configuration = glue.SecurityConfiguration(
            self, "SecurityConfiguration", security_configuration_name=base,
            s3_encryption=glue.S3Encryption.kms(key),
            cloud_watch_encryption=glue.CloudWatchEncryption.kms(key),
            job_bookmarks_encryption=glue.JobBookmarksEncryption.client_side_kms(key),
        )
        role = iam.Role(
            self, "JobRole", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description=f"meshworks: curation job and crawler of dataset {dataset.qualified_name}",
        )
        self.job_role = role
        self.raw_bucket.grant_read(role, f"{dataset.raw_prefix}*")
        self.curated_bucket.grant_read_write(role, f"{dataset.domain}/{dataset.name}*")  # product and child tables
        self.curated_bucket.grant_read_write(role, f"_tmp/{dataset.raw_prefix}*")  # Relationalize's staging
        key.grant_encrypt_decrypt(role)
        stack = Stack.of(self)
        # Glue's fixed log groups (/aws-glue/jobs/..., /aws-glue/crawlers, with the security configuration's
        # KMS variants) and the job metrics the Job L2 turns on (namespace Glue); what AWSGlueServiceRole grants.
        role.add_to_principal_policy(iam.PolicyStatement(
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"],
            resources=[stack.format_arn(service="logs", resource="log-group", resource_name="/aws-glue/*",
                                        arn_format=ArnFormat.COLON_RESOURCE_NAME)],
        ))
        role.add_to_principal_policy(iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"], resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": "Glue"}},
        ))
        raw_path = f"s3://{self.raw_bucket.bucket_name}/{dataset.raw_prefix}"
        curation = dataset.curation
        self.job = glue.PySparkEtlJob(
            self, "Job", job_name=f"{base}-curate", role=role,
            script=glue.Code.from_asset(str(CURATION_SCRIPT)),
            glue_version=glue.GlueVersion.V5_0,
            worker_configuration=glue.WorkerConfiguration(
                worker_type=_WORKERS[curation.worker_type], number_of_workers=curation.workers
            ),
            timeout=Duration.minutes(curation.timeout_minutes), max_concurrent_runs=1, max_retries=1,
            security_configuration=self.security_configuration,
            description=f"meshworks: relationalize {dataset.qualified_name} raw JSON into Parquet",
            default_arguments={
                "--job-bookmark-option": "job-bookmark-enable",
                "--raw_path": raw_path,
                "--curated_path": f"s3://{self.curated_bucket.bucket_name}/{dataset.curated_prefix}",
                "--staging_path": f"s3://{self.curated_bucket.bucket_name}/_tmp/{dataset.raw_prefix}",
                "--partition_keys": ",".join(
                    str(k.get("name")) for k in (dataset.product or {}).get("partition_keys") or ()
                ),
                "--refresh_bus_arn": self.refresh_bus_arn or "",
                "--domain": dataset.domain,
                "--product": dataset.name,
            },
        )
        if self.refresh_bus_arn:
            role.add_to_principal_policy(iam.PolicyStatement(actions=["events:PutEvents"],
                                                             resources=[self.refresh_bus_arn]))
        self.trigger = glue.CfnTrigger(
            self, "Schedule", name=f"{base}-curate", type="SCHEDULED", schedule=curation.schedule,
            start_on_creation=True, actions=[glue.CfnTrigger.ActionProperty(job_name=self.job.job_name)],
            description=f"meshworks: curate {dataset.qualified_name} on its schedule (UTC)",
        )

    def _catalog(self, base: str) -> None:
        dataset = self.dataset
        if self.raw_database is None:
            self.raw_database = glue.Database(
                self, "RawDatabase", database_name=f"{self.name.replace('-', '_')}_raw",
                description=f"meshworks: raw records of dataset {dataset.qualified_name}",
                removal_policy=resolve_removal_policy(self, None, "RawDatabase"),
            )
        if dataset.catalog.crawled:
            assert self.job_role is not None
            assert self.security_configuration is not None
            schedule = dataset.catalog.crawler_schedule
            self.crawler = glue.CfnCrawler(
                self, "Crawler", name=f"{base}-raw", role=self.job_role.role_arn,
                database_name=self.raw_database.database_name, table_prefix=f"{dataset.name}_",
                targets=glue.CfnCrawler.TargetsProperty(s3_targets=[glue.CfnCrawler.S3TargetProperty(
                    path=f"s3://{self.raw_bucket.bucket_name}/{dataset.raw_prefix}")]),
                schedule=glue.CfnCrawler.ScheduleProperty(schedule_expression=schedule) if schedule else None,
                crawler_security_configuration=self.security_configuration.security_configuration_name,
                recrawl_policy=glue.CfnCrawler.RecrawlPolicyProperty(recrawl_behavior="CRAWL_NEW_FOLDERS_ONLY"),
                schema_change_policy=glue.CfnCrawler.SchemaChangePolicyProperty(
                    update_behavior="LOG", delete_behavior="LOG"
                ),
                configuration=(
                    '{"Version":1.0,"Grouping":{"TableGroupingPolicy":"CombineCompatibleSchemas"},'
                    '"CrawlerOutput":{"Partitions":{"AddOrUpdateBehavior":"InheritFromTable"}}}'
                ),
                description=f"meshworks: catalog the raw records of {dataset.qualified_name}",
            )
            stack = Stack.of(self)
            self.job_role.add_to_principal_policy(iam.PolicyStatement(
                actions=["glue:GetDatabase", "glue:GetTable", "glue:CreateTable", "glue:UpdateTable",
                         "glue:GetPartition", "glue:GetPartitions", "glue:BatchCreatePartition",
                         "glue:BatchGetPartition", "glue:UpdatePartition", "glue:BatchUpdatePartition"],
                resources=[
                    stack.format_arn(service="glue", resource="catalog"),
                    stack.format_arn(service="glue", resource="database", resource_name=self.raw_database.database_name),
                    stack.format_arn(service="glue", resource="table",
                                     resource_name=f"{self.raw_database.database_name}/{dataset.name}_*"),
                ],
            ))
        else:
            columns = [glue.CfnTable.ColumnProperty(name=c["name"], type=c["type"]) for c in dataset.catalog.columns]
            self.raw_table = glue.CfnTable(
                self, "RawTable", catalog_id=Stack.of(self).account, database_name=self.raw_database.database_name,
                table_input=glue.CfnTable.TableInputProperty(
                    name=f"{dataset.name}_raw", table_type="EXTERNAL_TABLE",
                    description=f"meshworks: raw records of {dataset.qualified_name} (explicit schema)",
                    parameters={"classification": "json", "compressionType": dataset.raw.compression},
                    partition_keys=[glue.CfnTable.ColumnProperty(name=n, type="string")
                                    for n in dataset.raw.partitioning.names],
                    storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                        columns=columns, location=f"s3://{self.raw_bucket.bucket_name}/{dataset.raw_prefix}",
                        input_format="org.apache.hadoop.mapred.TextInputFormat",
                        output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                        serde_info=glue.CfnTable.SerdeInfoProperty(
                            serialization_library="org.openx.data.jsonserde.JsonSerDe"
                        ),
                    ),
                ),
            )
            self.raw_table.apply_removal_policy(resolve_removal_policy(self, None, "RawTable"))
            if isinstance(self.raw_database, Construct):
                self.raw_table.node.add_dependency(self.raw_database)

    # ---- grants -----------------------------------------------------------------------------------------

    def grant_put_records(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` write records: into the Kinesis stream (``kinesis`` source) or the delivery stream."""
        acknowledge_grant(grantee, [CDK_GRANT_ACTIONS])  # the key's ReEncrypt*/GenerateDataKey* on the stream's key
        if self.stream is not None:
            return self.stream.grant_write(grantee)
        if self.delivery_stream is None:  # pragma: no cover - every source has one of them
            raise ValueError("no stream to write to")
        return self.delivery_stream.grant_put_records(grantee)

