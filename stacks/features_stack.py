"""``FeaturesStack``: the online feature store of the compute account (Keyspaces table from CQL, DynamoDB table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from meshworks.constructs.features import (
    ChangeColumn,
    ChangeKind,
    FeatureTable,
    Keyspace,
    KeyspacesMigration,
    KeyspacesTable,
    KeyspacesTableSchema,
)

from .config import ConfigError, KeyspacesMigrationConfig, PlatformConfig


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
    it) and, when configured, a DynamoDB ``FeatureTable``, both encrypted with the foundation's platform key, and a
    ``KeyspacesMigration`` into the Keyspaces table in ``vpc`` (``feature_store.migration``)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PlatformConfig, encryption_key: kms.IKey | None = None,
        vpc: ec2.IVpc | None = None, **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = config.feature_store
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
        self.migration = (
            build_migration(self, settings.migration, self.online_table, vpc) if settings.migration else None
        )
