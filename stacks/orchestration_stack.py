"""``OrchestrationStack`` (``<prefix>-orchestration``, compute account): one MWAA environment on the foundation's VPC."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from meshworks.constructs.orchestration import AirflowEnvironment
from meshworks.constructs.spark.job_rollout import JobRollout

from .config import PlatformConfig
from .foundation_stack import FoundationStack


class OrchestrationStack(Stack):
    """Composes an ``AirflowEnvironment`` (private web server, its own CMK, object versions wired) from the
    ``orchestration`` configuration, and lets its execution role read the Spark routing that the drop-in EMR
    operators (``dags/meshworks_airflow/emr.py``) consult at run time (``[meshworks] routing_prefix``)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PlatformConfig, foundation: FoundationStack, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = config.orchestration
        self.airflow = AirflowEnvironment(
            self,
            "Airflow",
            name=f"{config.prefix}-airflow",
            vpc=foundation.network.vpc,
            airflow_version=settings.airflow_version,
            environment_class=settings.environment_class,
            min_workers=settings.min_workers,
            max_workers=settings.max_workers,
            webserver_access_mode=settings.webserver_access_mode,
            requirements=settings.requirements,
            secrets_backend=settings.secrets_backend,
            airflow_configuration_options={"meshworks.routing_prefix": config.prefix},
        )
        JobRollout.grant_read_routing(self.airflow.role, self, config.prefix)
