"""``IngestionStack``: the self-service datasets of the compute account (``<prefix>-ingestion``).

One ``DatasetIngestion`` per dataset file under ``ingestion.datasets_path``, with the id ``<domain>-<name>``:
adding or removing a dataset never renames another's resources. The datasets' curated tables become data
products of the mesh through :func:`dataset_contracts`, which ``read_contracts`` reviews with the contracts.
The file-ingestion pipeline (``FileIngestion``) is added here by its own configuration block.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_glue as glue
from constructs import Construct

from meshworks.constructs.core.partition import partition_of
from meshworks.constructs.core.removal import resolve_removal_policy
from meshworks.constructs.ingestion.dataset_loader import DatasetError, LoadedDataset, load_datasets
from meshworks.constructs.mesh.loader import LoadedContract

from .config import ConfigError, PlatformConfig
from .creation_stacks import skip_creation_stack_traces

#: Resources one dataset adds at most: stream, or rule with its role and policy; delivery stream, log group and stream,
#: 3 roles and policies, security configuration, job, trigger, crawler or table (14 for the example, 16 for EventBridge).
RESOURCES_PER_DATASET = 16
#: Datasets one ingestion stack holds: 28 x 16 = 448 of CloudFormation's 500, room for the shared database and FileIngestion.
MAX_DATASETS = 28


def curated_bucket_name(config: PlatformConfig) -> str:
    """The compute account's curated zone (``FoundationStack``'s ``<prefix>-<account>-curated``)."""
    return f"{config.prefix}-{config.environments.compute.account}-curated"


def read_datasets(config: PlatformConfig) -> list[LoadedDataset]:
    """The datasets of ``ingestion.datasets_path`` (none when ingestion is off).

    Raises:
        ConfigError: listing every problem as ``file:line: field: message``.
    """
    settings = config.ingestion
    if not settings.enabled:
        return []
    path = Path(settings.datasets_path)
    if not path.exists():
        raise ConfigError(
            f"Invalid meshworks configuration: meshworks.ingestion.datasets_path = {settings.datasets_path!r}: no "
            f"such file or folder (relative to {os.getcwd()}); point it at the dataset files, or set "
            "ingestion.enabled to false"
        )
    try:
        datasets = load_datasets(  # the compute account runs the ingestion and announces the refreshes
            [path], curated_bucket_name=curated_bucket_name(config), producer_account=config.environments.compute.account
        )
    except DatasetError as error:
        raise ConfigError(f"Invalid dataset files under {settings.datasets_path}:\n{error}") from None
    if len(datasets) > MAX_DATASETS:
        raise ConfigError(
            f"Invalid dataset files under {settings.datasets_path}: {len(datasets)} datasets; one ingestion stack "
            f"holds at most {MAX_DATASETS} (about {RESOURCES_PER_DATASET} resources each, CloudFormation allows 500)"
        )
    return datasets


def dataset_contracts(config: PlatformConfig) -> list[LoadedContract]:
    """The data-product contracts of the curated datasets (reviewed with the contracts by ``read_contracts``)."""
    return [item.loaded_contract for item in read_datasets(config) if item.loaded_contract is not None]


def read_file_schemas(schemas_path: str) -> dict[str, Path]:
    """``{file_type: path}`` of the ``<file_type>.avsc`` files in ``ingestion.files.schemas_path``; a
    ``ConfigError`` names the key, the value and the fix."""
    key = "meshworks.ingestion.files.schemas_path"
    folder = Path(schemas_path)
    schemas = {path.stem: path for path in sorted(folder.glob("*.avsc"))} if folder.is_dir() else {}
    if not schemas:
        raise ConfigError(
            f"Invalid meshworks configuration: {key} = {schemas_path!r}: no <file_type>.avsc files there (relative "
            f"to {Path.cwd()}); add one Avro schema per file type, or set meshworks.ingestion.files.enabled to false"
        )
    return schemas


def build_file_ingestion(scope: Construct, config: PlatformConfig, *, curated_bucket: Any, encryption_key: Any) -> Any:
    """``FileIngestion`` (``name=<prefix>``: its job is ``<prefix>-csv-to-parquet``, the example DAG's default) over
    a landing bucket of its own, from ``ingestion.files``; ``None`` when turned off."""
    from meshworks.constructs.ingestion.file_ingestion import FileIngestion
    from meshworks.constructs.storage.secure_bucket import SecureBucket

    settings = config.ingestion.files
    if not settings.enabled:
        return None
    schemas = read_file_schemas(settings.schemas_path)
    landing = SecureBucket(scope, "Landing", encryption_key=encryption_key, event_bridge_enabled=True)
    options = {"key_pattern": settings.key_pattern} if settings.key_pattern else {}
    try:
        return FileIngestion(
            scope, "Files", name=config.prefix, landing_bucket=landing, curated_bucket=curated_bucket,
            schemas=schemas, schedule_expression=settings.schedule, **options,
        )
    except ValueError as error:
        raise ConfigError(f"Invalid meshworks configuration: meshworks.ingestion.files: {error}") from None


class IngestionStack(Stack):
    """Composes one ``DatasetIngestion`` per dataset over the foundation's raw and curated zones and key, and the
    ``FileIngestion`` pipeline (``ingestion.files``) with its landing bucket."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PlatformConfig, foundation: Any, **kwargs: Any
    ) -> None:
        from meshworks.constructs.ingestion.dataset_ingestion import DatasetIngestion
        from meshworks.constructs.storage.data_lake_storage import Zone

        super().__init__(scope, construct_id, **kwargs)
        skip_creation_stack_traces(self)
        lake, key = foundation.lake, foundation.key
        self.raw_database = glue.Database(
            self, "RawDatabase", database_name=f"{config.prefix.replace('-', '_')}_raw",
            description="meshworks: raw records of the self-service datasets (crawled or explicit tables)",
            removal_policy=resolve_removal_policy(self, None, "RawDatabase"),
        )
        hub = config.environments.hub
        refresh_bus_arn = (  # the hub's refresh bus (MeshHub's deterministic name): the jobs announce partitions
            f"arn:{partition_of(self)}:events:{hub.region}:{hub.account}:event-bus/{config.prefix}-mesh-refresh"
            if config.mesh.enabled else None
        )
        self.datasets: dict[str, DatasetIngestion] = {}
        for item in read_datasets(config):
            dataset = item.dataset
            construct_id_ = f"{dataset.domain}-{dataset.name}"
            self.datasets[dataset.qualified_name] = DatasetIngestion(
                self, construct_id_, dataset=dataset, name_prefix=config.prefix, raw_bucket=lake.bucket(Zone.RAW),
                curated_bucket=lake.bucket(Zone.CURATED), encryption_key=key, raw_database=self.raw_database,
                refresh_bus_arn=refresh_bus_arn,
            )
        #: ``ingestion.files``: landed CSV files → DynamoDB records → Parquet in the curated zone (GE MDC).
        self.files = build_file_ingestion(self, config, curated_bucket=lake.bucket(Zone.CURATED), encryption_key=key)
