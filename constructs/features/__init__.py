"""Feature tables: Amazon Keyspaces tables from typed schemas (with CQL round trip and evolution checks) and
DynamoDB feature tables. See ``docs/features.md``."""

from .cql import CqlReadResult, CqlSyntaxError, parse_cql, read_cql, render_cql
from .cql_types import CqlType, CqlTypeError, normalise_cql_type, parse_cql_type
from .feature_job import FeatureJob, feature_job_spark_conf
from .feature_table import FeatureTable
from .file_metadata_table import FileMetadataTable
from .keyspace import Keyspace
from .keyspaces_migration import ChangeColumn, ChangeKind, KeyspacesMigration
from .keyspaces_schema import (
    Cdc,
    ClusteringColumn,
    ClusteringOrder,
    Column,
    KeyspacesTableSchema,
    UserDefinedType,
)
from .keyspaces_table import KeyspacesTable, ProvisionedCapacity, WarmThroughput
from .offline_schema import glue_type, offline_columns
from .offline_store import OfflineStore
from .schema_lock import SchemaEvolutionError, check_schema_lock, evolution_problems

__all__ = [
    "Cdc",
    "ChangeColumn",
    "ChangeKind",
    "ClusteringColumn",
    "ClusteringOrder",
    "Column",
    "CqlReadResult",
    "CqlSyntaxError",
    "CqlType",
    "CqlTypeError",
    "FeatureJob",
    "FeatureTable",
    "FileMetadataTable",
    "Keyspace",
    "KeyspacesMigration",
    "KeyspacesTable",
    "KeyspacesTableSchema",
    "OfflineStore",
    "ProvisionedCapacity",
    "SchemaEvolutionError",
    "UserDefinedType",
    "WarmThroughput",
    "check_schema_lock",
    "evolution_problems",
    "feature_job_spark_conf",
    "glue_type",
    "offline_columns",
    "normalise_cql_type",
    "parse_cql",
    "parse_cql_type",
    "read_cql",
    "render_cql",
]
