"""The reference app's ``orchestration.pipelines``: every source kind and the GitHub DAG role from cdk.json,
with the policy packs on (zero findings), and the off-switch."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from meshworks.stacks.config import ConfigError, config_from_context
from meshworks.stacks.platform import build_platform
from tests.harness import ROOT, _read_report

CONNECTION = "arn:aws:codeconnections:eu-west-1:222222222222:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"


def _context(pipelines: dict[str, Any]) -> dict[str, Any]:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    meshworks = copy.deepcopy(context["meshworks"])
    for part in ("mesh", "spark", "monitoring", "feature_store", "ingestion"):  # Orchestration.template.json is the same
        meshworks.setdefault(part, {})["enabled"] = False
    meshworks.setdefault("orchestration", {})["pipelines"] = pipelines
    return {**context, "meshworks": meshworks}


def _synth(tmp: Path, pipelines: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    context = _context(pipelines)
    app = App(outdir=str(tmp), context=context, builtin_cloud_formation_validation=False)
    build_platform(app, config_from_context(context), policy_checks=True)
    with contextlib.suppress(RuntimeError):  # findings fail the synth; the report says which
        app.synth()
    return json.loads((tmp / "Orchestration.template.json").read_text()), _read_report(tmp)


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[Any]]:
    return _synth(tmp_path_factory.mktemp("kinds"), {
        "source": {"kind": "connection", "connection_arn": CONNECTION, "repository": "acme/data-platform"},
        "projects": {
            "sales": {"source": {"kind": "codecommit", "repository": "sales-dags"}},
            "finance": {"source": {"kind": "s3", "key": "finance/dags.zip"}},
        },
        "github": {"enabled": True, "repository": "acme/sales-dags"},
    })  # fmt: skip


def test_every_source_kind_and_the_github_role_leave_no_finding(every_kind: tuple[dict[str, Any], list[Any]]) -> None:
    template, findings = every_kind
    assert [f"{f.rule} {f.path}" for f in findings if "Orchestration" in f.path] == []
    pipelines = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    providers = sorted(p["Properties"]["Stages"][0]["Actions"][0]["ActionTypeId"]["Provider"] for p in pipelines)
    assert providers == ["CodeCommit", "CodeStarSourceConnection", "S3"]


def test_the_github_role_may_only_write_dags(every_kind: tuple[dict[str, Any], list[Any]]) -> None:
    template, _ = every_kind
    resources = template["Resources"]
    (role_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role" and k.startswith("GitHubDags")]
    trust = resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == "repo:acme/sales-dags:environment:dags"
    policies = [r for r in resources.values() if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
                and {"Ref": role_id} in r["Properties"].get("Roles", [])]  # fmt: skip
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    actions = {a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert not any(a.startswith(("sts:", "iam:", "cloudformation:")) for a in actions)  # no bootstrap roles
    writes = [s for s in statements if any(a.startswith(("s3:PutObject", "s3:DeleteObject")) for a in s["Action"])]
    for statement in writes:
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert all(json.dumps(t).endswith('"/dags/*"]]}') for t in targets), statement


def test_pipelines_can_be_switched_off(tmp_path: Path) -> None:
    template, _ = _synth(tmp_path, {"enabled": False})
    types = {r["Type"] for r in template["Resources"].values()}
    assert "AWS::MWAA::Environment" in types and "AWS::CodePipeline::Pipeline" not in types


def test_a_connection_source_without_its_arn_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"orchestration\.pipelines\.source\.connection_arn = null: is required"):
        config_from_context(_context({"source": {"kind": "connection", "repository": "acme/x"}}))


def test_two_github_oidc_providers_in_one_account_are_refused() -> None:
    context = _context({"github": {"enabled": True, "repository": "acme/dags"}})
    context["meshworks"]["environments"]["compute"] = dict(context["meshworks"]["environments"]["hub"])
    context["meshworks"]["deploy_roles"] = {"enabled": True, "repository": "acme/data"}
    with pytest.raises(ConfigError, match=r"pipelines\.github\.oidc_provider_arn = null: is required when deploy_roles"):
        config_from_context(context)
