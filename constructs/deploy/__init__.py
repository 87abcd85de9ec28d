"""Deployment constructs: the GitHub OIDC role a CI job assumes to run ``cdk deploy``."""

from .github_deploy_role import CDK_BOOTSTRAP_ROLES, GITHUB_OIDC_URL, GitHubDeployRole, cdk_bootstrap_role_arns

__all__ = ["CDK_BOOTSTRAP_ROLES", "GITHUB_OIDC_URL", "GitHubDeployRole", "cdk_bootstrap_role_arns"]
