"""Orchestration: Amazon MWAA environments and the pipelines that deploy DAGs, plugins and requirements."""

from .airflow_environment import (
    DEFAULT_AIRFLOW_VERSION,
    SUPPORTED_AIRFLOW_VERSIONS,
    AirflowEnvironment,
    constraints_url,
    requirements_txt,
)
from .airflow_project_pipeline import DEFAULT_PROJECT_PATHS, AirflowProjectPipeline
from .airflow_provisioning_pipeline import DEFAULT_PROVISIONING_PATHS, AirflowProvisioningPipeline
from .pipeline_source import CodeCommitSource, ConnectionSource, PipelineSource, S3Source

__all__ = [
    "DEFAULT_PROJECT_PATHS",
    "DEFAULT_PROVISIONING_PATHS",
    "AirflowProjectPipeline",
    "AirflowProvisioningPipeline",
    "CodeCommitSource",
    "ConnectionSource",
    "PipelineSource",
    "S3Source",
    "DEFAULT_AIRFLOW_VERSION",
    "SUPPORTED_AIRFLOW_VERSIONS",
    "AirflowEnvironment",
    "constraints_url",
    "requirements_txt",
]
