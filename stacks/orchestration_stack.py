"""``OrchestrationStack`` (``<prefix>-orchestration``, compute account): one MWAA environment on the foundation's
VPC and, unless ``orchestration.pipelines.enabled`` is false, the pipelines that deploy it and its DAGs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from meshworks.constructs.deploy import GitHubDeployRole
from meshworks.constructs.orchestration import (
    AirflowEnvironment,
    AirflowProjectPipeline,
    AirflowProvisioningPipeline,
    CodeCommitSource,
    ConnectionSource,
    PipelineSource,
    S3Source,
)
from meshworks.constructs.spark.job_rollout import JobRollout
from meshworks.constructs.storage import SecureBucket

from .config import PipelineSourceConfig, PlatformConfig
from .creation_stacks import skip_creation_stack_traces
from .foundation_stack import FoundationStack


class OrchestrationStack(Stack):
    """Composes an ``AirflowEnvironment`` (private web server, its own CMK, object versions wired) from the
    ``orchestration`` configuration, and lets its execution role read the Spark routing that the drop-in EMR
    operators (``dags/meshworks_airflow/emr.py``) consult at run time (``[meshworks] routing_prefix``).

    With ``orchestration.pipelines`` on (default): an ``AirflowProvisioningPipeline`` that builds, tests and
    deploys this stack from the app's repository (its full ``cdk.json``), and one ``AirflowProjectPipeline`` per
    entry of ``orchestration.pipelines.projects``. S3 sources read from ``pipeline_sources`` (a versioned
    ``SecureBucket`` that sends its events to EventBridge), so the default needs no lookup and no connection.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PlatformConfig, foundation: FoundationStack, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        skip_creation_stack_traces(self)
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

        pipelines = settings.pipelines
        self.pipeline_sources: SecureBucket | None = None
        self.provisioning: AirflowProvisioningPipeline | None = None
        self.projects: dict[str, AirflowProjectPipeline] = {}
        self.github_dags: GitHubDeployRole | None = None
        CfnOutput(self, "DagBucketName", value=self.airflow.bucket.bucket_name,
                  description="DAGS_BUCKET of .github/workflows/dags.yml (DAGs go under dags/)")  # fmt: skip
        if pipelines.github.enabled:
            github = pipelines.github
            provider = (
                iam.OidcProviderNative.from_oidc_provider_arn(self, "GitHubOidcProvider", github.oidc_provider_arn)
                if github.oidc_provider_arn else None
            )  # fmt: skip
            self.github_dags = GitHubDeployRole(
                self, "GitHubDags", repository=str(github.repository), environment=github.github_environment,
                oidc_provider=provider, assume_bootstrap_roles=False, role_name=config.stack_name("github-dags"),
            )  # fmt: skip
            self.airflow.grant_dags_write(self.github_dags.role)
            CfnOutput(self, "DagsRoleArn", value=self.github_dags.role_arn,
                      description="AWS_DAGS_ROLE_ARN of the GitHub environment of dags.yml")  # fmt: skip
        if not pipelines.enabled:
            return
        self.provisioning = AirflowProvisioningPipeline(
            self, "ProvisioningPipeline", source=self._source("Provisioning", pipelines.source), stacks=[construct_id],
        )  # fmt: skip
        for team, project in sorted(pipelines.projects.items()):
            self.projects[team] = AirflowProjectPipeline(
                self,
                f"DagPipeline-{team}",
                source=self._source(f"Dags-{team}", project.source),
                environment=self.airflow,
                dags_directory=project.dags_directory,
                tests_directory=project.tests_directory,
                requirements_file=project.requirements_file,
                test_commands=[project.test_command] if project.test_command else None,
            )

    def _source(self, name: str, source: PipelineSourceConfig) -> PipelineSource:
        if source.kind == "connection":
            return ConnectionSource(connection_arn=str(source.connection_arn), repository=str(source.repository),
                                    branch=source.branch)  # fmt: skip
        if source.kind == "codecommit":
            repository = codecommit.Repository.from_repository_name(self, f"{name}Repository", str(source.repository))
            return CodeCommitSource(repository=repository, branch=source.branch)
        if self.pipeline_sources is None:
            #: Where CI uploads source zips for the S3 sources (versioned, KMS, retained, events to EventBridge).
            self.pipeline_sources = SecureBucket(self, "PipelineSources", event_bridge_enabled=True)
        bucket: s3.IBucket = self.pipeline_sources
        return S3Source(bucket=bucket, key=source.key)
