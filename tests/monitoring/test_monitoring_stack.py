"""The monitoring stacks from the shipped config and contracts: names, wiring, cdk-nag, config errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Match, Template

from meshworks.constructs.mesh.loader import load_contracts
from meshworks.stacks.config import ConfigError, PlatformConfig, config_from_context, load_cdk_json
from meshworks.stacks.monitoring_stack import monitoring_stacks
from meshworks.stacks.platform import add_policy_checks
from tests.harness import ROOT, _read_report


def _context(**monitoring: Any) -> dict[str, Any]:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {**context, "meshworks": {**context["meshworks"], "monitoring": monitoring}}


@pytest.fixture(scope="module")
def config() -> PlatformConfig:
    return load_cdk_json(ROOT / "cdk.json")


@pytest.fixture(scope="module")
def synthesized(config: PlatformConfig, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Only the monitoring stacks, synthesized once with both policy packs."""
    outdir: Path = tmp_path_factory.mktemp("monitoring.out")
    app = App(
        outdir=str(outdir),
        context=json.loads((ROOT / "cdk.json").read_text())["context"],
        builtin_cloud_formation_validation=False,
    )
    stacks = monitoring_stacks(app, config, load_contracts([ROOT / config.mesh.contracts_path]))
    add_policy_checks(app)
    error = None
    try:
        app.synth()
    except RuntimeError as exc:
        error = str(exc)
    return {
        "stacks": stacks,
        "error": error,
        "findings": [f for f in _read_report(outdir) if f.path.startswith(("Monitoring/", "MonitoringForwarder/"))],
        "hub": Template.from_json(json.loads((outdir / "Monitoring.template.json").read_text())),
        "compute": Template.from_json(json.loads((outdir / "MonitoringForwarder.template.json").read_text())),
    }


def test_no_unacknowledged_nag_findings(synthesized: dict[str, Any]) -> None:
    assert synthesized["findings"] == []
    assert synthesized["error"] is None


def test_stacks_environments_and_names(synthesized: dict[str, Any]) -> None:
    hub, forwarder = synthesized["stacks"]["monitoring"], synthesized["stacks"]["monitoring-forwarder"]
    assert (hub.stack_name, hub.account, hub.region) == ("meshworks-demo-monitoring", "111111111111", "eu-west-1")
    assert (forwarder.stack_name, forwarder.account) == ("meshworks-demo-monitoring-forwarder", "222222222222")


def test_deterministic_names_from_the_config(synthesized: dict[str, Any]) -> None:
    hub: Template = synthesized["hub"]
    for name in (
        "meshworks-demo-slo-marketing",
        "meshworks-demo-slo-sales",
        "meshworks-demo-job-alerts",
        "meshworks-demo-monitoring-ops",
    ):
        hub.has_resource_properties("AWS::SNS::Topic", {"TopicName": name})
    hub.has_resource_properties("AWS::SecretsManager::Secret", {"Name": "meshworks-demo/monitoring/slack-webhooks"})
    hub.has_resource_properties("AWS::CloudWatch::Dashboard", {"DashboardName": "meshworks-demo-platform"})
    hub.has_resource_properties(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": Match.object_like({"DELIVERY_TABLE": "meshworks-demo-deliveries"})}},
    )
    hub.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/meshworks-demo/monitoring"})


def test_one_key_and_the_shared_slack_secret_and_dlq(synthesized: dict[str, Any]) -> None:
    hub: Template = synthesized["hub"]
    hub.resource_count_is("AWS::KMS::Key", 1)
    hub.resource_count_is("AWS::SecretsManager::Secret", 1)
    queues = hub.find_resources("AWS::SQS::Queue")
    assert not [q for q in queues if q.startswith("JobAlertsAlertDeadLetterQueue")]  # reuses the SLO alert DLQ


def test_hub_accepts_job_events_from_compute_and_compute_forwards(synthesized: dict[str, Any]) -> None:
    hub: Template = synthesized["hub"]
    hub.has_resource_properties(
        "AWS::Events::EventBusPolicy",
        {"StatementId": "meshworks-demo-monitoring-job-events-222222222222", "EventBusName": "default"},
    )
    compute: Template = synthesized["compute"]
    compute.resource_count_is("AWS::Events::Rule", 5)
    assert "111111111111:event-bus/default" in json.dumps(compute.to_json())


def test_stateful_resources_retained(synthesized: dict[str, Any]) -> None:
    stateful = {
        "AWS::S3::Bucket",
        "AWS::DynamoDB::Table",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::SecretsManager::Secret",
    }
    for template in (synthesized["hub"], synthesized["compute"]):
        for logical_id, resource in template.to_json()["Resources"].items():
            if resource["Type"] in stateful:
                assert resource.get("DeletionPolicy") == "Retain", logical_id


def test_no_forwarder_when_jobs_run_in_the_hub(config: PlatformConfig) -> None:
    same = config.model_copy(
        update={"environments": config.environments.model_copy(update={"compute": config.environments.hub})}
    )
    app = App(builtin_cloud_formation_validation=False)
    stacks = monitoring_stacks(app, same, load_contracts([ROOT / config.mesh.contracts_path]))
    assert list(stacks) == ["monitoring"]
    Template.from_stack(stacks["monitoring"]).resource_count_is("AWS::Events::EventBusPolicy", 0)


def test_config_defaults(config: PlatformConfig) -> None:
    monitoring = config.monitoring
    assert (monitoring.sweep_minutes, monitoring.overlap_minutes, monitoring.breach_retention_days) == (5, 10, 90)
    assert monitoring.slack_secret("acme") == "acme/monitoring/slack-webhooks"
    assert monitoring.delivery_table("acme") == "acme-deliveries"
    assert monitoring.muted_jobs == [] and monitoring.state_machine_arns == [] and monitoring.ops_emails == []


def test_config_values_reach_the_stack() -> None:
    config = config_from_context(
        _context(
            sweep_minutes=2,
            muted_jobs=["sandbox-*"],
            job_alerts_slack_channel="#data-platform",
            state_machine_arns=["arn:aws:states:eu-west-1:111111111111:stateMachine:nightly"],
            partition_templates={"sales.orders": "order_date={prev_date:%Y-%m-%d}"},
            ops_emails=["ops@example.com"],
        )
    )
    app = App(builtin_cloud_formation_validation=False)
    stacks = monitoring_stacks(app, config, load_contracts([ROOT / config.mesh.contracts_path]))
    hub = Template.from_stack(stacks["monitoring"])
    hub.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(2 minutes)"})
    hub.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like({"MUTED_JOBS": '["sandbox-*"]', "SLACK_CHANNEL": "#data-platform"})
            }
        },
    )
    hub.has_resource_properties(
        "AWS::Events::Rule",
        {"EventPattern": Match.object_like({"detail": Match.object_like({"stateMachineArn": Match.any_value()})})},
    )
    entries = {e["product_key"]: e for e in stacks["monitoring"].slo_monitor.manifest.entries}
    assert entries["sales.orders"]["partition_template"] == "order_date={prev_date:%Y-%m-%d}"
    hub.has_resource_properties("AWS::SNS::Subscription", {"Endpoint": "ops@example.com"})


@pytest.mark.parametrize(
    ("monitoring", "expected"),
    [
        ({"sweep_minutes": 0}, "meshworks.monitoring.sweep_minutes = 0: "),
        ({"ops_emails": ["not-an-email"]}, 'meshworks.monitoring.ops_emails[0] = "not-an-email"'),
        ({"muted_jobs": ["a", "a"]}, "remove the repeated 'a'"),
        ({"job_alerts_slack_channel": "data-platform"}, "meshworks.monitoring.job_alerts_slack_channel"),
        (
            {"state_machine_arns": ["arn:aws:lambda:eu-west-1:1:function:x"]},
            "meshworks.monitoring.state_machine_arns[0]",
        ),
        ({"partition_templates": {"customers": "dt={date}"}}, "must be a product key 'domain.name'"),
        ({"partition_templates": {"sales.customers": "dt"}}, "must contain {date}"),
        ({"slack_webhook_url": "https://hooks.slack.com/x"}, "this key is not allowed here"),
    ],
)
def test_config_errors_name_the_key_and_the_fix(monitoring: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        config_from_context(_context(**monitoring))
    assert expected in str(error.value)
