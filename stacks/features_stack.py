"""``FeaturesStack``: the feature store of the compute account (Keyspaces table from CQL, DynamoDB table, offline
Delta store and the scheduled feature job)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from meshworks.constructs.core.offline import pin_availability_zones
from meshworks.constructs.core.platform_key import PlatformKey
from meshworks.constructs.features import (
    ChangeColumn,
    ChangeKind,
    FeatureJob,
    FeatureTable,
    Keyspace,
    KeyspacesMigration,
    KeyspacesTable,
    KeyspacesTableSchema,
    OfflineStore,
)
from meshworks.constructs.features.offline_schema import offline_prefix, offline_product_input
from meshworks.constructs.mesh.loader import LoadedContract
from meshworks.constructs.spark.emr_serverless_application import EmrServerlessApplication
from meshworks.constructs.storage.data_lake_storage import Zone

from .config import ConfigError, KeyspacesMigrationConfig, PlatformConfig
from .creation_stacks import skip_creation_stack_traces
from .foundation_stack import FoundationStack, network_props
from .ingestion_stack import curated_bucket_name

#: Where the offline product's problems are reported (its fields are this configuration key's).
OFFLINE_PRODUCT_KEY = "meshworks.feature_store.offline_product"


def read_feature_schema(schema_path: str) -> KeyspacesTableSchema:
    """The Keyspaces schema of ``feature_store.schema_path`` (CQL); a ``ConfigError`` names the file and the fault."""
    path = Path(schema_path)
    key = "meshworks.feature_store.schema_path"
    if not path.is_file():
        raise ConfigError(f"Invalid meshworks configuration: {key} = {schema_path!r}: no such file (relative to "
                          f"{Path.cwd()}); point it at a CQL file with one CREATE TABLE")
    try:
        return KeyspacesTableSchema.from_cql(path.read_text())
    except ValueError as error:
        raise ConfigError(f"Invalid meshworks configuration: {key} = {schema_path!r}: {error}") from None


def offline_store_contracts(config: PlatformConfig) -> list[LoadedContract]:
    """The offline store's data product (``feature_store.offline_product``; none when absent or the store is off),
    derived without CDK: the ``delta`` contract of ``OfflineStore.data_product_contract`` at
    ``s3://<prefix>-<compute account>-curated/features/<table>/`` with the Glue table's columns, produced by the
    compute account. ``read_contracts`` reviews it with the contracts against the configuration's trust.

    Raises:
        ConfigError: one line per bad field, naming ``meshworks.feature_store.offline_product.<field>``.
    """
    from pydantic import ValidationError

    from meshworks.constructs.mesh.contract import DataProductContract

    settings = config.feature_store
    product = settings.offline_product
    if not settings.enabled or not settings.offline_store or product is None:
        return []
    schema = read_feature_schema(settings.schema_path)
    location = f"s3://{curated_bucket_name(config)}/{offline_prefix(schema.table)}"
    fields = product.model_dump(exclude_none=True)
    names = [column.name for column in schema.columns]
    unknown = [name for name in product.pii_columns if name not in names]
    if unknown:
        raise ConfigError(f"Invalid meshworks configuration: {OFFLINE_PRODUCT_KEY}.pii_columns = {unknown!r}: not "
                          f"columns of {schema.keyspace}.{schema.table}; use some of {names}")
    try:
        data = offline_product_input(schema, location=location, producer_account=config.environments.compute.account,
                                     **fields)
        contract = DataProductContract.model_validate(data)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            loc = ".".join(str(part) for part in problem["loc"])
            value = f" = {problem['input']!r}" if loc.split(".")[0] in fields else ""
            lines.append(f"Invalid meshworks configuration: {OFFLINE_PRODUCT_KEY}.{loc}{value}: {problem['msg']}")
        raise ConfigError("\n".join(lines)) from None
    except ValueError as error:
        raise ConfigError(f"Invalid meshworks configuration: meshworks.feature_store.schema_path = "
                          f"{settings.schema_path!r}: {error}") from None
    return [LoadedContract(OFFLINE_PRODUCT_KEY, contract, data)]


def build_migration(
    scope: Construct, settings: KeyspacesMigrationConfig, table: KeyspacesTable, vpc: ec2.IVpc | None
) -> KeyspacesMigration:
    """``KeyspacesMigration`` into ``table`` from ``feature_store.migration``; a ``ConfigError`` names the key."""
    key = "meshworks.feature_store.migration"
    if vpc is None:
        raise ConfigError(f"Invalid meshworks configuration: {key}: the migration runs in the foundation VPC, which "
                          "this stack was not given: build it through build_platform (or pass vpc=)")
    try:
        return KeyspacesMigration(
            scope, "Migration", table=table, vpc=vpc, source_hosts=settings.source_hosts,
            source_credentials=secretsmanager.Secret.from_secret_name_v2(scope, "MigrationSource",
                                                                         settings.source_secret_name),
            change_column=ChangeColumn(settings.change_column, ChangeKind(settings.change_kind)),
            max_writes_per_second=settings.max_writes_per_second,
            average_row_size_bytes=settings.average_row_size_bytes,
            schedule=Duration.minutes(settings.schedule_minutes), source_keyspace=settings.source_keyspace,
            source_table=settings.source_table, source_port=settings.source_port, source_tls=settings.source_tls,
        )
    except ValueError as error:
        raise ConfigError(f"Invalid meshworks configuration: {key}: {error}") from None


class FeaturesStack(Stack):
    """Composes ``Keyspace`` + ``KeyspacesTable`` (schema from CQL, evolution checked against the lock file next to
    it) and, when configured, a DynamoDB ``FeatureTable``, both encrypted with the foundation's platform key; the
    ``OfflineStore`` (Delta in the foundation lake's curated zone, Glue database ``<prefix>_features``) and the
    ``FeatureJob`` (its own EMR Serverless application on the foundation's VPC, key ``alias/<prefix>/features``,
    state machine ``<prefix>-feature-job``, role ``<prefix>-feature-creator``); and a ``KeyspacesMigration`` into
    the Keyspaces table in the foundation's VPC (or ``vpc``) when ``feature_store.migration`` is set."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PlatformConfig, encryption_key: kms.IKey | None = None,
        foundation: FoundationStack | None = None, vpc: ec2.IVpc | None = None, **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        skip_creation_stack_traces(self)
        settings = config.feature_store
        if foundation is not None and settings.offline_store and settings.feature_job.enabled:
            # the job's application uses the foundation's VPC: its zones are pinned first (no context lookup)
            pin_availability_zones(self, network_props(config.network, config.environments.compute.region)["availability_zones"])
        schema = read_feature_schema(settings.schema_path)
        schema_path = Path(settings.schema_path)
        self.keyspace = Keyspace(self, "Keyspace", keyspace_name=schema.keyspace)
        self.online_table = KeyspacesTable(
            self, "OnlineTable", keyspace=self.keyspace, schema=schema, encryption_key=encryption_key,
            schema_lock_file=schema_path.with_name(schema_path.stem + ".lock.json"),
        )
        self.feature_table = (
            FeatureTable(self, "FeatureTable", table_name=f"{config.prefix}-features", encryption_key=encryption_key)
            if settings.dynamodb_table else None
        )
        #: ``feature_store.migration``: Glue jobs copying a Cassandra table into the online table (off when absent).
        if vpc is None and foundation is not None:
            vpc = foundation.network.vpc
        self.migration = (
            build_migration(self, settings.migration, self.online_table, vpc) if settings.migration else None
        )
        self.offline_store: OfflineStore | None = None
        self.feature_job: FeatureJob | None = None
        if not settings.offline_store or foundation is None:
            return
        lake = foundation.lake
        self.offline_store = OfflineStore(
            self, "OfflineStore", schema=schema, bucket=lake.bucket(Zone.CURATED),
            database_name=f"{config.prefix.replace('-', '_')}_features",
        )
        job = settings.feature_job
        if not job.enabled:
            return
        self.job_key = PlatformKey(self, "FeaturesKey", alias=f"alias/{config.prefix}/features",
                                   description="meshworks feature job: state machine, logs, schedule")
        self.application = EmrServerlessApplication(
            self, "FeatureJobApplication", vpc=foundation.network.vpc, name=f"{config.prefix}-features",
            encryption_key=self.job_key, https_egress_cidrs=config.spark.https_egress_cidrs,
            https_egress_prefix_list_ids=config.spark.https_egress_prefix_list_ids,
            application_tags={"meshworks:prefix": config.prefix},  # stable: app tags would need it stopped
        )
        self.feature_job = FeatureJob(
            self, "FeatureJob", application=self.application, online_table=self.online_table,
            offline_store=self.offline_store, source_bucket=lake.bucket(Zone.RAW), source_prefix=job.source_prefix,
            encryption_key=self.job_key, schedule=job.schedule, schedule_time_zone=job.timezone,
            role_name=f"{config.prefix}-feature-creator"[:64], state_machine_name=f"{config.prefix}-feature-job",
        )
