"""``FeaturesStack``: the online feature store of the compute account (Keyspaces table from CQL, DynamoDB table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from meshworks.constructs.features import FeatureTable, Keyspace, KeyspacesTable, KeyspacesTableSchema

from .config import ConfigError, PlatformConfig


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


class FeaturesStack(Stack):
    """Composes ``Keyspace`` + ``KeyspacesTable`` (schema from CQL, evolution checked against the lock file next to
    it) and, when configured, a DynamoDB ``FeatureTable``, both encrypted with the foundation's platform key."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PlatformConfig, encryption_key: kms.IKey | None = None,
        **kwargs: Any,
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
