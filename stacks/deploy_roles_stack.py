"""``DeployRolesStack``: the GitHub OIDC deploy role of one stage (opt-in, deployed once by an administrator)."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from meshworks.constructs.deploy import GitHubDeployRole

from .config import PlatformConfig
from .creation_stacks import skip_creation_stack_traces


class DeployRolesStack(Stack):
    """``<prefix>-github-deploy``: trusted by ``repo:<repository>:environment:<github_environment>``, allowed only
    to assume the CDK bootstrap roles of every account and region of the configuration."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PlatformConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        skip_creation_stack_traces(self)
        settings = config.deploy_roles
        envs = config.environments
        targets = [(e.account, e.region) for e in (envs.hub, envs.compute, *envs.consumers)]
        provider = (
            iam.OidcProviderNative.from_oidc_provider_arn(self, "GitHubOidcProvider", settings.oidc_provider_arn)
            if settings.oidc_provider_arn
            else None
        )
        self.deploy_role = GitHubDeployRole(
            self,
            "GitHubDeploy",
            repository=str(settings.repository),
            environment=settings.github_environment,
            targets=targets,
            qualifier=settings.qualifier,
            oidc_provider=provider,
            role_name=config.stack_name("github-deploy"),
        )
        CfnOutput(self, "DeployRoleArn", value=self.deploy_role.role_arn, description="AWS_DEPLOY_ROLE_ARN of the GitHub environment")
