"""An importer using each pipeline construct alone, as its docstring shows, inherits no cdk-nag finding.

Both packs through the public ``add_policy_checks``; each construct in its own stack, with every source kind,
with an ``env`` and env-agnostic (cdk-nag then renders ARNs with ``<AWS::Region>`` tokens).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_codecommit as codecommit

from meshworks.constructs.core import pin_availability_zones
from meshworks.constructs.core.nag import add_policy_checks
from meshworks.constructs.network import PlatformVpc
from meshworks.constructs.orchestration import (
    AirflowEnvironment,
    AirflowProjectPipeline,
    AirflowProvisioningPipeline,
    CodeCommitSource,
    ConnectionSource,
    S3Source,
)
from meshworks.constructs.storage import SecureBucket

ENV = Environment(account="123456789012", region="eu-west-1")
AZS = ["eu-west-1a", "eu-west-1b"]
CONNECTION = "arn:aws:codeconnections:eu-west-1:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
STACKS = ["Provisioning", "ProvisioningS3", "Project", "ProjectCodeCommit"]


def _build(app: App, prefix: str, env: Environment | None) -> None:
    stack = Stack(app, f"{prefix}Provisioning", env=env)
    AirflowProvisioningPipeline(
        stack, "AirflowProvisioning",
        source=ConnectionSource(connection_arn=CONNECTION, repository="acme/data-platform"), stacks=["Orchestration"],
    )  # fmt: skip

    stack = Stack(app, f"{prefix}ProvisioningS3", env=env)
    sources = SecureBucket(stack, "Sources", event_bridge_enabled=True)
    AirflowProvisioningPipeline(stack, "AirflowProvisioning", source=S3Source(bucket=sources, key="platform.zip"),
                                stacks=["Orchestration"], targets=[("123456789012", "eu-west-1")])  # fmt: skip

    for name, make_source in (
        ("Project", lambda s: ConnectionSource(connection_arn=CONNECTION, repository="acme/sales-dags")),
        ("ProjectCodeCommit", lambda s: CodeCommitSource(repository=codecommit.Repository.from_repository_name(s, "Repo", "dags"))),
    ):
        stack = Stack(app, f"{prefix}{name}", env=env)
        if env is not None:
            pin_availability_zones(stack, AZS)
        network = PlatformVpc(stack, "Network", availability_zones=AZS, interface_endpoints=[])
        airflow = AirflowEnvironment(stack, "Airflow", name="acme-airflow", vpc=network.vpc)
        AirflowProjectPipeline(stack, "SalesDags", environment=airflow, source=make_source(stack))


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    outdir: Path = tmp_path_factory.mktemp("pipelines")
    app = App(outdir=str(outdir), builtin_cloud_formation_validation=False)
    _build(app, "", ENV)
    _build(app, "NoEnv", None)
    add_policy_checks(app)
    with contextlib.suppress(RuntimeError):  # findings fail the synth; the report is written anyway
        app.synth()
    manifest = json.loads((outdir / "manifest.json").read_text())
    found = [("lookup", entry["key"]) for entry in manifest.get("missing", [])]
    report = outdir / "validation-report.json"
    if report.exists():
        found += [
            (violation["ruleName"], construct["constructPath"])
            for plugin in json.loads(report.read_text())["pluginReports"]
            for violation in plugin.get("violations", [])
            for construct in violation["violatingConstructs"]
        ]
    return found


def test_synthesizes_offline(findings: list[tuple[str, str]]) -> None:
    assert [key for kind, key in findings if kind == "lookup"] == []


@pytest.mark.parametrize("stack", STACKS + [f"NoEnv{name}" for name in STACKS])
def test_pipeline_used_alone_has_no_finding(findings: list[tuple[str, str]], stack: str) -> None:
    mine = [f"{rule} {path}" for rule, path in findings if path.startswith(f"{stack}/")]
    assert mine == [], "\n".join(mine)
