"""The reference app's features stack: the Keyspaces table from the shipped CQL, the DynamoDB table, the off-switch."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import App

from meshworks.constructs.features import KeyspacesTableSchema
from meshworks.stacks.config import ConfigError, PlatformConfig, config_from_context, load_cdk_json
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
    online = sorted(r["Type"] for r in resources.values() if r["Type"].startswith(("AWS::Cassandra::", "AWS::DynamoDB::")))
    assert online == ["AWS::Cassandra::Keyspace", "AWS::Cassandra::Table", "AWS::Cassandra::Type",
                      "AWS::DynamoDB::GlobalTable"]


def test_features_stack_has_the_offline_store_and_the_scheduled_job(platform: SynthesizedPlatform) -> None:
    resources = platform.templates["Features"]["Resources"]
    prefix = platform.config.prefix
    (database,) = [r for r in resources.values() if r["Type"] == "AWS::Glue::Database"]
    assert database["Properties"]["DatabaseInput"]["Name"] == f"{prefix.replace('-', '_')}_features"
    (table,) = [r for r in resources.values() if r["Type"] == "AWS::Glue::Table"]
    assert table["Properties"]["TableInput"]["Parameters"]["table_type"] == "DELTA"
    (machine,) = [r for r in resources.values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    assert machine["Properties"]["StateMachineName"] == f"{prefix}-feature-job"
    roles = [r["Properties"].get("RoleName") for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    assert f"{prefix}-feature-creator" in roles
    (schedule,) = [r for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"]
    job = platform.config.feature_store.feature_job
    assert schedule["Properties"]["ScheduleExpression"] == job.schedule
    assert schedule["Properties"]["ScheduleExpressionTimezone"] == job.timezone
    (application,) = [r for r in resources.values() if r["Type"] == "AWS::EMRServerless::Application"]
    assert application["Properties"]["ReleaseLabel"].startswith("emr-7.")


def test_feature_job_and_offline_store_switch_off() -> None:
    config = load_cdk_json(ROOT / "cdk.json")
    data = config.model_dump()
    for section in ("mesh", "spark", "monitoring", "orchestration", "ingestion"):  # only Foundation + Features
        data[section]["enabled"] = False
    data["feature_store"]["feature_job"]["enabled"] = False
    app = App(builtin_cloud_formation_validation=False)
    features = build_platform(app, PlatformConfig.model_validate(data), policy_checks=False).extra["Features"]
    assert features.offline_store is not None and features.feature_job is None
    data["feature_store"]["offline_store"] = False
    data["feature_store"]["feature_job"]["enabled"] = True
    with pytest.raises(ConfigError, match=r"meshworks.feature_store.feature_job.enabled = true: needs offline_store"):
        config_from_context({"meshworks": data})
    data["feature_store"]["offline_store"] = True
    data["feature_store"]["feature_job"]["timezone"] = "CET+1"
    with pytest.raises(ConfigError, match=r'feature_store.feature_job.timezone = "CET\+1": must be an IANA time zone'):
        config_from_context({"meshworks": data})


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
    for section in ("mesh", "spark", "monitoring", "orchestration", "ingestion"):
        data[section]["enabled"] = False
    app = App(builtin_cloud_formation_validation=False)
    platform = build_platform(app, PlatformConfig.model_validate(data), policy_checks=False)
    assert "Features" not in platform.extra


# ------------------------------------------------------------------------------------------------ migration


MIGRATION = {"source_hosts": ["10.0.1.10"], "source_secret_name": "cassandra/features", "change_column": "computed_at",
             "max_writes_per_second": 2000}


def _with_migration(migration: dict | None) -> PlatformConfig:
    data = load_cdk_json(ROOT / "cdk.json").model_dump()
    for section in ("mesh", "spark", "monitoring", "orchestration", "ingestion"):  # only Foundation + Features
        data[section]["enabled"] = False
    data["feature_store"]["migration"] = migration
    return PlatformConfig.model_validate(data)


def test_migration_is_off_by_default() -> None:
    assert load_cdk_json(ROOT / "cdk.json").feature_store.migration is None


def test_migration_turned_on_by_config_synthesizes_with_zero_findings(tmp_path: Path) -> None:
    """``feature_store.migration`` set: the Glue jobs copy into the online table from the foundation VPC, and the
    app (cdk-nag's packs on) has no finding."""
    import json

    from aws_cdk.assertions import Template

    cdk_json = json.loads((ROOT / "cdk.json").read_text())
    app = App(outdir=str(tmp_path), context=cdk_json["context"], builtin_cloud_formation_validation=False)
    platform = build_platform(app, _with_migration(MIGRATION), policy_checks=True)
    app.synth()  # cdk-nag findings would raise here
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert [v for p in report["pluginReports"] for v in p.get("violations", [])] == []
    stack = platform.extra["Features"]
    templates = {"Features": Template.from_stack(stack).to_json(),
                 "Foundation": Template.from_stack(platform.foundation).to_json()}
    _audit(templates)
    template = templates["Features"]["Resources"]
    jobs = sorted(r["Properties"]["Name"] for r in template.values() if r["Type"] == "AWS::Glue::Job")
    assert jobs == ["keyspaces-migration-features-customer-features-full-load",
                    "keyspaces-migration-features-customer-features-incremental"]
    table = next(r for r in template.values() if r["Type"] == "AWS::Cassandra::Table")
    assert table["Properties"]["WarmThroughput"] == {"WriteUnitsPerSecond": 2000}
    assert stack.migration is not None and stack.migration.write_units_per_second == 2000


def _audit(templates: dict) -> None:
    """The app-wide audits on the migration's templates (off in the default app): retention, reviewed wildcards,
    watched dead-letter queues, rule targets with retries and a dead-letter queue."""
    from tests.policy.audit import iam_statements, not_retained, unreviewed, wildcard_actions
    from tests.policy.test_failure_paths_and_keys import alarmed, dead_letter_queues, targets

    assert not_retained(templates) == []
    assert [a for t in templates.values() for _, st in iam_statements(t) for a in wildcard_actions(st)
            if unreviewed(a)] == []
    features = templates["Features"]
    queues = dead_letter_queues(features)
    assert queues and set(queues) <= alarmed(features)
    found = list(targets(features))
    assert found and all("DeadLetterConfig" in t and t["RetryPolicy"]["MaximumRetryAttempts"] >= 1 for _, t in found)


def test_migration_config_errors_name_the_key() -> None:
    app = App(builtin_cloud_formation_validation=False)
    with pytest.raises(ConfigError, match=r"meshworks.feature_store.migration: .*change_column 'updated_at' is not a "
                                          r"column of features.customer_features"):
        build_platform(app, _with_migration({**MIGRATION, "change_column": "updated_at"}), policy_checks=False)
    app = App(builtin_cloud_formation_validation=False)
    with pytest.raises(ConfigError, match=r"meshworks.feature_store.migration: .*schedule=7 minutes"):
        build_platform(app, _with_migration({**MIGRATION, "schedule_minutes": 7}), policy_checks=False)
    with pytest.raises(ValueError, match="max_writes_per_second"):
        _with_migration({**MIGRATION, "max_writes_per_second": 0})
