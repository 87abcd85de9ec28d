"""A user's own app with the feature constructs, as their docstrings show: zero cdk-nag findings.

Both packs the reference app runs (AWS Solutions, NIST 800-53 R5). The grantees are the user's roles:
the system-keyspaces wildcard of the Keyspaces grants is acknowledged by the library on the grantee's policy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Environment, Stack, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from meshworks.constructs.features import (
    FeatureTable,
    FileMetadataTable,
    Keyspace,
    KeyspacesTable,
    KeyspacesTableSchema,
)
from tests.features.cql_samples import CASSANDRA_DDL
from tests.policy.audit import iam_statements, not_retained, unreviewed, wildcard_actions
from tests.policy.test_cfn_lint import _lint


def _templates(outdir: Path) -> dict[str, dict]:
    return {path.name.split(".")[0]: json.loads(path.read_text()) for path in outdir.glob("*.template.json")}


def _report(outdir: Path) -> tuple[list[str], list[str]]:
    plugins = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    violations = [f"{v['ruleName']} on {c['constructPath']}" for p in plugins for v in p.get("violations", [])
                  for c in v.get("violatingConstructs", [])]
    suppressed = [f"{s['ruleName']} on {c['constructPath']}" for p in plugins for s in p.get("suppressedViolations", [])
                  for c in s.get("violatingConstructs", [])]
    return violations, suppressed


@pytest.fixture(scope="module")
def nag_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[str], bool, dict]:
    outdir = tmp_path_factory.mktemp("features-nag")
    app = App(outdir=str(outdir), builtin_cloud_formation_validation=False)
    env = Environment(account="111111111111", region="eu-west-1")
    data = Stack(app, "FeatureStore", env=env)
    keyspace = Keyspace(data, "Keyspace", keyspace_name="features")
    table = KeyspacesTable(data, "CustomerFeatures", keyspace=keyspace,
                           schema=KeyspacesTableSchema.from_cql(CASSANDRA_DDL))
    online = FeatureTable(data, "OnlineFeatures")
    files = FileMetadataTable(data, "LandedFiles")
    service = Stack(app, "Service", env=env)  # the grantee lives in another stack, as in most user apps
    reader = iam.Role(service, "ServingRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    writer = iam.Role(data, "FeatureJobRole", assumed_by=iam.ServicePrincipal("emr-serverless.amazonaws.com"))
    table.grant_read_data(reader)
    table.grant_write_data(writer)
    table.grant_read_data(writer)
    online.grant_read_data(reader)
    online.grant_write_data(writer)
    files.grant_read_data(writer)
    files.grant_write_data(reader)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))
    failed = False
    try:
        app.synth()
    except RuntimeError:
        failed = True
    violations, suppressed = _report(outdir)
    return violations, suppressed, failed, _templates(outdir)


def test_user_app_has_zero_findings(nag_report: tuple[list[str], list[str], bool, dict]) -> None:
    violations, _, failed, _ = nag_report
    assert violations == [] and not failed, "\n".join(violations)


def test_only_the_system_keyspaces_wildcard_is_acknowledged(nag_report: tuple[list[str], list[str], bool, dict]) -> None:
    _, suppressed, _, _ = nag_report
    system = "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cassandra:eu-west-1:111111111111:/keyspace/system*]"
    kms = {f"AwsSolutions-IAM5[Action::kms:{a}*]" for a in ("ReEncrypt", "GenerateDataKey", "Describe")}
    iam5 = {s.split(" on ")[0] for s in suppressed if "IAM5" in s}
    indexes = {"AwsSolutions-IAM5[Resource::<LandedFiles38F103CC.Arn>/index/*]",
               "AwsSolutions-IAM5[Resource::FeatureStore:ExportsOutputFnGetAttLandedFiles38F103CCArnC48C5326/index/*]"}
    assert system in iam5 and indexes <= iam5 and iam5 <= {system} | kms | indexes, iam5  # nothing else waved through
    assert f"{system} on Service/ServingRole/DefaultPolicy/Resource" in suppressed
    assert f"{system} on FeatureStore/FeatureJobRole/DefaultPolicy/Resource" in suppressed


def test_user_app_passes_retention_wildcard_and_cfn_lint_audits(nag_report: tuple) -> None:
    templates = nag_report[3]
    assert set(templates) == {"FeatureStore", "Service"}
    assert not_retained(templates) == []
    kinds = {r["Type"] for t in templates.values() for r in t["Resources"].values()}
    assert {"AWS::Cassandra::Keyspace", "AWS::Cassandra::Table", "AWS::Cassandra::Type"} <= kinds
    wildcards = [a for t in templates.values() for _, s in iam_statements(t) for a in wildcard_actions(s) if unreviewed(a)]
    assert wildcards == []
    problems = [f"{name}: {m.rule.id} {m.message}" for name, t in templates.items() for m in _lint(t)]
    assert problems == []


def test_resources_per_feature_table(nag_report: tuple) -> None:
    """Figures for the docs: a Keyspaces table costs its table, one type per UDT and its key (unless shared)."""
    resources = nag_report[3]["FeatureStore"]["Resources"]
    counts: dict[str, int] = {}
    for logical_id in resources:
        owner = "keyspaces" if logical_id.startswith("CustomerFeatures") else logical_id[:14]
        counts[owner] = counts.get(owner, 0) + 1
    assert counts["keyspaces"] == 3  # CfnTable + CfnType(address) + PlatformKey
    assert counts["OnlineFeatures"] == 2  # TableV2 + PlatformKey
