"""PlatformDashboard: widgets present, alarms routed to an encrypted ops topic (ALARM and OK)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk.assertions import Match, Template

from meshworks.constructs.mesh.contract import DataProductContract
from meshworks.constructs.mesh.loader import load_contracts
from meshworks.constructs.monitoring import JobFailureAlerts, PlatformDashboard, SloMonitor
from meshworks.constructs.monitoring.platform_dashboard import DOMAINS_PER_GRAPH
from tests.harness import ROOT

ENV = Environment(account="111111111111", region="eu-west-1")


def _body(template: Template) -> str:
    """The dashboard body with its tokens left as JSON fragments (good enough to search)."""
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else json.dumps(p) for p in parts)


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Dash", env=ENV)
    monitor = SloMonitor(
        stack,
        "Slo",
        contracts=load_contracts([ROOT / "contracts"]),
        delivery_table=dynamodb.Table.from_table_name(stack, "Deliveries", "acme-deliveries"),
    )
    alerts = JobFailureAlerts(
        stack, "Jobs", slack_secret=monitor.slack_secret, alert_dead_letter_queue=monitor.alert_dead_letter_queue
    )
    dashboard = PlatformDashboard(
        stack,
        "Dashboard",
        slo_monitor=monitor,
        job_alerts=alerts,
        function_names=["acme-mesh-notifier"],
        dashboard_name="acme-platform",
        alarm_topic_name="acme-monitoring-ops",
        alarm_emails=["platform-oncall@example.com"],
    )
    return {"template": Template.from_stack(stack), "dashboard": dashboard, "monitor": monitor, "alerts": alerts}


@pytest.fixture(scope="module")
def template(built: dict[str, Any]) -> Template:
    return built["template"]


def test_widgets_present(template: Template) -> None:
    template.has_resource_properties("AWS::CloudWatch::Dashboard", {"DashboardName": "acme-platform"})
    body = _body(template)
    for title in (
        "Monitor alarms",
        "SLO compliance, last 24 h (%)",
        "SLO breaches, last 24 h",
        "SLO compliance per domain (%)",
        "SLO breaches per domain",
        "Lateness of late deliveries per domain (max, minutes)",
        "Job failures by service",
        "Job-failure events not delivered",
        "Platform Lambdas: errors",
        "Platform Lambdas: throttles",
        "SLO sweeper: invocations and duration",
    ):
        assert f'"title":"{title}"' in body, title
    assert "100 * ontime_marketing / checks_marketing" in body and "100 * ontime_sales / checks_sales" in body
    assert 'SEARCH(\'{meshworks/slo,Domain} MetricName=\\"Breaches\\"' in body
    assert "TriggeredRules" in body
    for label in ("Glue jobs", "EMR Serverless job runs", "EMR steps", "EMR clusters", "Step Functions executions"):
        assert label in body
    assert "acme-mesh-notifier" in body and '"Throttles"' in body


def test_every_monitor_alarm_notifies_the_ops_topic(built: dict[str, Any], template: Template) -> None:
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == len(built["dashboard"].alarms) == 8
    for alarm in alarms.values():
        topic = [{"Ref": Match.string_like_regexp("DashboardAlarmTopic")}]
        # The ops topic, besides the job-alert topic of JobFailureAlerts' own alarms (which notify it when used alone).
        assert any(action["Ref"].startswith("DashboardAlarmTopic") for action in alarm["Properties"]["AlarmActions"]), alarm
        assert alarm["Properties"]["OKActions"] == alarm["Properties"]["AlarmActions"], topic
    template.has_resource_properties(
        "AWS::SNS::Topic", {"TopicName": "acme-monitoring-ops", "KmsMasterKeyId": Match.any_value()}
    )
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "platform-oncall@example.com"}
    )


def test_cloudwatch_may_use_the_topic_key(template: Template) -> None:
    keys = template.find_resources("AWS::KMS::Key")  # the SLO monitor's (reused) and the job alerts' own
    statements = [s for key in keys.values() for s in key["Properties"]["KeyPolicy"]["Statement"]]
    cloudwatch = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    # One per key: the ops topic's (the SLO monitor's key) and the job-alert topic's (its alarms notify it too).
    assert len(cloudwatch) == len(keys) == 2
    for statement in cloudwatch:
        assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}


def test_many_domains_are_split_over_graphs() -> None:
    base = load_contracts([ROOT / "contracts"])[-1].model_dump(mode="json")
    contracts = [
        DataProductContract.model_validate({**base, "domain": f"domain_{i:02d}", "name": "orders"}) for i in range(30)
    ]
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Many", env=ENV)
    monitor = SloMonitor(
        stack,
        "Slo",
        contracts=contracts,
        delivery_table=dynamodb.Table.from_table_name(stack, "Deliveries", "acme-deliveries"),
    )
    PlatformDashboard(stack, "Dashboard", slo_monitor=monitor)
    body = _body(Template.from_stack(stack))
    assert f"SLO compliance per domain (%) (1-{DOMAINS_PER_GRAPH})" in body
    assert f"SLO compliance per domain (%) ({DOMAINS_PER_GRAPH + 1}-30)" in body


def test_slack_not_configured_is_shown_and_never_alarmed(platform: Any) -> None:
    """An unconfigured Slack (secret ``{}``) is visible on the dashboard and pages nobody."""
    body = json.dumps(platform.templates["Monitoring"])
    assert "SlackNotConfigured" in body and "Alerts without Slack (not configured)" in body
    alarms = [r for _, _, r in platform.resources("AWS::CloudWatch::Alarm")]
    assert not [a for a in alarms if "SlackNotConfigured" in json.dumps(a)]
