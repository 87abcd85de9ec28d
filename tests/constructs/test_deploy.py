"""GitHubDeployRole and the reference app's deploy-role stack: exact OIDC trust, only the bootstrap roles, no findings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk import App, Environment, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from meshworks.constructs.deploy import GitHubDeployRole, cdk_bootstrap_role_arns
from meshworks.stacks.config import ConfigError, config_from_context
from meshworks.stacks.deploy_roles_stack import DeployRolesStack
from tests.harness import ROOT

ENV = Environment(account="111111111111", region="eu-west-1")
CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]


def _resolved_arns(template: Template) -> list[str]:
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole" and statement["Effect"] == "Allow"
    return ["".join(p if isinstance(p, str) else "aws" for p in r["Fn::Join"][1]) for r in statement["Resource"]]


def _nag_report(app: App, outdir: Path) -> list[str]:
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))
    app.synth()  # raises on any unacknowledged finding
    report = outdir / "validation-report.json"
    if not report.exists():
        return []
    plugins = json.loads(report.read_text())["pluginReports"]
    return [v["ruleName"] for p in plugins for v in p.get("violations", [])]


def test_trust_is_exactly_one_repository_environment_and_audience(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    stack = Stack(app, "Ci", env=ENV)
    deploy = GitHubDeployRole(stack, "Prod", repository="acme/data-platform", environment="production")
    template = Template.from_stack(stack)
    (role,) = template.find_resources("AWS::IAM::Role").values()
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:acme/data-platform:environment:production",
        }
    }
    (provider_id,) = template.find_resources("AWS::IAM::OIDCProvider", {"Properties": {"Url": "https://token.actions.githubusercontent.com", "ClientIdList": ["sts.amazonaws.com"]}})
    assert trust["Principal"] == {"Federated": {"Ref": provider_id}}
    assert role["Properties"]["MaxSessionDuration"] == 3600
    assert "Policies" not in role["Properties"] and not template.find_resources("AWS::IAM::Policy")
    # Default target: the stack's own account and region, all four bootstrap roles and nothing else.
    assert _resolved_arns(template) == [
        f"arn:aws:iam::111111111111:role/cdk-hnb659fds-{kind}-role-111111111111-eu-west-1"
        for kind in ("deploy", "file-publishing", "image-publishing", "lookup")
    ]
    assert deploy.subject == "repo:acme/data-platform:environment:production"
    assert _nag_report(app, tmp_path) == []


def test_imported_provider_and_several_targets(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    stack = Stack(app, "Ci", env=ENV)
    arn = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
    GitHubDeployRole(
        stack, "Staging", repository="acme/data", environment="staging", qualifier="acme",
        targets=[("222222222222", "eu-central-1"), ("111111111111", "eu-west-1")],
        oidc_provider=iam.OidcProviderNative.from_oidc_provider_arn(stack, "Gh", arn),
    )
    template = Template.from_stack(stack)
    assert not template.find_resources("AWS::IAM::OIDCProvider")
    (role,) = template.find_resources("AWS::IAM::Role").values()
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Federated": arn}
    assert _resolved_arns(template) == cdk_bootstrap_role_arns(
        [("111111111111", "eu-west-1"), ("222222222222", "eu-central-1")], qualifier="acme"
    )
    assert _nag_report(app, tmp_path) == []


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"repository": "https://github.com/acme/data"}, "repository='https://github.com/acme/data' must be '<owner>/<repo>'"),
        ({"environment": "prod*"}, "environment='prod*' must be a GitHub environment name"),
        ({"targets": [("1234", "eu-west-1")]}, "target ('1234', 'eu-west-1') must be a 12-digit account id"),
    ],
)
def test_bad_props_are_named(props: dict, expected: str) -> None:
    stack = Stack(App(), "Ci", env=ENV)
    with pytest.raises(ValueError, match=re.escape(expected)):
        GitHubDeployRole(stack, "R", **{"repository": "acme/data", "environment": "production", **props})


def test_reference_app_stack_is_opt_in_and_covers_every_platform_account(tmp_path: Path) -> None:
    assert config_from_context(CONTEXT).deploy_roles.enabled is False
    with pytest.raises(ConfigError, match="meshworks.deploy_roles.repository = null: is required when"):
        config_from_context({**CONTEXT, "meshworks.deploy_roles.enabled": "true"})
    config = config_from_context(
        {**CONTEXT, "meshworks.deploy_roles.enabled": "true", "meshworks.deploy_roles.repository": "acme/data"}
    )
    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    stack = DeployRolesStack(app, "DeployRoles", config=config, env=ENV)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::IAM::Role", {"RoleName": "meshworks-demo-github-deploy"})
    accounts = {arn.split(":")[4] for arn in _resolved_arns(template)}
    assert accounts == {"111111111111", "222222222222", "333333333333"}
    assert len(_resolved_arns(template)) == 4 * 3
    assert _nag_report(app, tmp_path) == []


def test_roles_in_one_stack_share_one_oidc_provider() -> None:
    """Found by a user test: a staging and a production role side by side made two providers for one issuer
    URL, which an account does not allow (the deploy fails)."""
    stack = Stack(App(builtin_cloud_formation_validation=False), "Deploy", env=Environment(account="111122223333", region="eu-west-1"))
    staging = GitHubDeployRole(stack, "Staging", repository="acme/data", environment="staging")
    production = GitHubDeployRole(stack, "Production", repository="acme/data", environment="production")
    providers = Template.from_stack(stack).find_resources("AWS::IAM::OIDCProvider")
    assert len(providers) == 1
    assert stack.resolve(staging.oidc_provider_arn) == stack.resolve(production.oidc_provider_arn)
