"""The reference app's features stack: the Keyspaces table from the shipped CQL, the DynamoDB table, the off-switch."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import App

from meshworks.constructs.features import KeyspacesTableSchema
from meshworks.stacks.config import ConfigError, PlatformConfig, load_cdk_json
from meshworks.stacks.features_stack import read_feature_schema
from meshworks.stacks.platform import build_platform
from tests.harness import ROOT, SynthesizedPlatform


def test_features_stack_deploys_the_shipped_cql(platform: SynthesizedPlatform) -> None:
    template = platform.templates["Features"]
    resources = template["Resources"]
    tables = [r for r in resources.values() if r["Type"] == "AWS::Cassandra::Table"]
    assert len(tables) == 1
    schema = KeyspacesTableSchema.from_cql((ROOT / "schemas/features/customer_features.cql").read_text())
    props = tables[0]["Properties"]
    assert props["TableName"] == schema.table
    assert [c["ColumnName"] for c in props["RegularColumns"]] == [c.name for c in schema.regular_columns]
    assert props["ClientSideTimestampsEnabled"] is True and props["PointInTimeRecoveryEnabled"] is True
    # encrypted with the foundation's platform key (no extra key per table)
    assert "Fn::ImportValue" in props["EncryptionSpecification"]["KmsKeyIdentifier"]
    kinds = sorted(r["Type"] for r in resources.values())
    assert kinds == ["AWS::Cassandra::Keyspace", "AWS::Cassandra::Table", "AWS::Cassandra::Type",
                     "AWS::DynamoDB::GlobalTable"]


def test_the_shipped_lock_matches_the_shipped_cql() -> None:
    """The lock committed next to the CQL is current (CI synthesizes with @meshworks/schemaLock=verify)."""
    from meshworks.constructs.features import check_schema_lock

    schema = read_feature_schema(str(ROOT / "schemas/features/customer_features.cql"))
    assert check_schema_lock(schema, ROOT / "schemas/features/customer_features.lock.json", where="T", verify=True) is False


def test_missing_schema_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"meshworks.feature_store.schema_path = 'nope.cql': no such file"):
        read_feature_schema("nope.cql")
    bad = tmp_path / "bad.cql"
    bad.write_text("CREATE TABLE ks.tt (id text PRIMARY KEY, val list<list<int>>);")
    with pytest.raises(ConfigError, match=r"schema_path = .*bad.cql.*must be frozen"):
        read_feature_schema(str(bad))


def test_off_switch() -> None:
    config = load_cdk_json(ROOT / "cdk.json")
    data = config.model_dump()
    data["feature_store"]["enabled"] = False
    for section in ("mesh", "spark", "monitoring"):
        data[section]["enabled"] = False
    app = App(builtin_cloud_formation_validation=False)
    platform = build_platform(app, PlatformConfig.model_validate(data), policy_checks=False)
    assert "Features" not in platform.extra
