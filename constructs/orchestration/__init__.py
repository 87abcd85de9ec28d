"""Orchestration: Amazon MWAA environments and the pipelines that deploy DAGs, plugins and requirements."""

from .airflow_environment import (
    DEFAULT_AIRFLOW_VERSION,
    SUPPORTED_AIRFLOW_VERSIONS,
    AirflowEnvironment,
    constraints_url,
    requirements_txt,
)

__all__ = [
    "DEFAULT_AIRFLOW_VERSION",
    "SUPPORTED_AIRFLOW_VERSIONS",
    "AirflowEnvironment",
    "constraints_url",
    "requirements_txt",
]
