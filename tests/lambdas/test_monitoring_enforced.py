"""The SLO sweeper and the job-alert handler on moto with IAM enforced, under their synthesized policies.

Each handler runs as its role from the reference app's ``Monitoring`` template (``tests/aws_enforcement``):
a missing action fails the call in moto, every call's resource is checked against the statements.
Conditions are not evaluated (the outbox's ``dynamodb:LeadingKeys`` condition and the metric
namespace condition are asserted on the template in ``tests/monitoring``). Happy paths and AWS errors
(a deleted topic, an unreadable secret, a job run GetJobRun cannot find) both run enforced.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from slo_fixtures import REGION, SlackStub, drain, make_queue, make_topic_with_queue, make_webhook_secret, slack_server

from meshworks.lambdas.slo_monitor import aws as aws_module
from meshworks.lambdas.slo_monitor import handler as sweeper_handler
from meshworks.lambdas.slo_monitor import job_alerts
from tests.aws_enforcement import EnforcedRole, find_function, placeholder_refs, resolve
from tests.harness import SynthesizedPlatform

SWEEPER = "slo_monitor.handler.main"
JOB_ALERTS = "slo_monitor.job_alerts.main"
LAKE = "acme-sales-curated-eu-west-1"


@dataclass
class Monitoring:
    template: dict[str, Any]
    account: str
    refs: dict[str, str]
    slack: SlackStub
    alert_dlq: str
    inbox: str

    def role(self, handler: str) -> EnforcedRole:
        return EnforcedRole.from_template(self.template, handler=handler, refs=self.refs, account=self.account)

    def environment(self, handler: str, monkeypatch: pytest.MonkeyPatch) -> None:
        _, function = find_function(self.template, handler)
        variables = resolve(function["Properties"]["Environment"]["Variables"], self.refs, account=self.account)
        for name, value in variables.items():
            monkeypatch.setenv(name, str(value))


def _logical(template: dict[str, Any], resource_type: str, prefix: str) -> str:
    """The logical id ``<prefix><8-hex hash>`` of a resource of ``resource_type``."""
    return next(
        lid for lid, r in template["Resources"].items()
        if r["Type"] == resource_type and lid.startswith(prefix) and len(lid) == len(prefix) + 8
    )


@pytest.fixture
def monitoring(platform: SynthesizedPlatform, monkeypatch: pytest.MonkeyPatch) -> Iterator[Monitoring]:
    template = platform.templates["Monitoring"]
    account = platform.config.environments.hub.account  # the Monitoring stack's account (see its ARNs)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", account)
    with mock_aws(), slack_server() as slack:
        aws_module.reset_clients()
        sweeper_handler.reset_caches()
        job_alerts.reset_caches()
        ddb = boto3.client("dynamodb", region_name=REGION)
        s3 = boto3.client("s3", region_name=REGION)
        refs = placeholder_refs(template, account=account, region=REGION)

        bucket = "slo-manifests"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.create_bucket(Bucket=LAKE, CreateBucketConfiguration={"LocationConstraint": REGION})
        refs[_logical(template, "AWS::S3::Bucket", "SloManifestBucket")] = bucket
        refs[_logical(template, "AWS::S3::Bucket", "SloManifestBucket") + ".Arn"] = f"arn:aws:s3:::{bucket}"

        keys = [{"AttributeName": "product_key", "KeyType": "HASH"}, {"AttributeName": "period_key", "KeyType": "RANGE"}]
        attrs = [{"AttributeName": n, "AttributeType": "S"} for n in ("product_key", "period_key", "deadline")]
        breach_table = ddb.create_table(
            TableName="breaches", KeySchema=keys, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[*attrs, {"AttributeName": "open", "AttributeType": "N"}],
            GlobalSecondaryIndexes=[{
                "IndexName": "open_breaches", "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [{"AttributeName": "open", "KeyType": "HASH"}, {"AttributeName": "deadline", "KeyType": "RANGE"}],
            }],
        )["TableDescription"]
        logical = _logical(template, "AWS::DynamoDB::Table", "SloBreachTable")
        refs[logical], refs[f"{logical}.Arn"] = "breaches", breach_table["TableArn"]
        ddb.create_table(TableName="meshworks-demo-deliveries", KeySchema=keys, AttributeDefinitions=attrs[:2],
                         BillingMode="PAY_PER_REQUEST")
        dedup = ddb.create_table(
            TableName="job-alert-dedup", KeySchema=[{"AttributeName": "dedupe_key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "dedupe_key", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        )["TableDescription"]
        logical = _logical(template, "AWS::DynamoDB::Table", "JobAlertsDedupTable")
        refs[logical], refs[f"{logical}.Arn"] = "job-alert-dedup", dedup["TableArn"]

        inbox = ""
        for prefix in ("SloTopicsales", "SloTopicmarketing", "JobAlertsTopic"):
            topic, queue = make_topic_with_queue(prefix.lower())
            refs[_logical(template, "AWS::SNS::Topic", prefix)] = topic
            inbox = queue if prefix == "SloTopicsales" else inbox
        refs["job-inbox"] = queue
        dlq_url, dlq_arn = make_queue("alert-dlq")
        logical = _logical(template, "AWS::SQS::Queue", "SloAlertDeadLetterQueue")
        refs[logical], refs[f"{logical}.Arn"] = dlq_url, dlq_arn
        secret = make_webhook_secret("webhooks", {"#sales-data": f"{slack.url}/services/T0/B0/sales",
                                                  "default": f"{slack.url}/services/T0/B0/default"})
        refs[_logical(template, "AWS::SecretsManager::Secret", "SloSlackWebhooks")] = secret
        yield Monitoring(template, account, refs, slack, dlq_url, inbox)
        aws_module.reset_clients()


def _manifest(monitoring: Monitoring) -> None:
    entry = {
        "product_key": "sales.orders", "domain": "sales", "product": "orders", "owner": "sales-data",
        "slack_channel": "#sales-data", "cron": "0 6 * * *", "timezone": "UTC", "grace_minutes": 0,
        "location": f"s3://{LAKE}/orders", "partition_template": "dt={date}",
    }
    boto3.client("s3", region_name=REGION).put_object(
        Bucket="slo-manifests", Key="slo/manifest.json", Body=json.dumps({"version": 1, "slos": [entry]})
    )


def _sweep(monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch, time: str) -> tuple[dict[str, Any], EnforcedRole]:
    monitoring.environment(SWEEPER, monkeypatch)
    role = monitoring.role(SWEEPER)
    with role.enforced(monkeypatch):
        aws_module.reset_clients()
        result = sweeper_handler.main({"time": time}, None)
    aws_module.reset_clients()
    role.check_resources()
    assert not role.unchecked(), role.unchecked()
    return result, role


def test_sweeper_breach_and_recovery_with_iam_enforced(monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch) -> None:
    _manifest(monitoring)
    breach, role = _sweep(monitoring, monkeypatch, "2026-11-25T06:05:00Z")
    assert breach["breaches"] == 1 and breach["alerts"][0] | {"id": ""} == {
        "kind": "BREACH", "id": "", "sns": "sent", "slack": "sent"
    }
    assert {"dynamodb:TransactWriteItems", "dynamodb:DeleteItem", "sns:Publish", "cloudwatch:PutMetricData"} <= role.actions()

    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName="meshworks-demo-deliveries",
        Item={"product_key": {"S": "sales.orders"}, "period_key": {"S": "dt=2026-11-25"},
              "delivered_at": {"S": "2026-11-25T07:00:00Z"}},
    )
    recovery, _ = _sweep(monitoring, monkeypatch, "2026-11-25T07:10:00Z")
    assert recovery["recoveries"] == 1
    assert [json.loads(m["Message"] if m["Message"].startswith("{") else "{}") for m in drain(monitoring.inbox)]
    assert drain(monitoring.alert_dlq) == []


def test_sweeper_aws_errors_with_iam_enforced(monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch) -> None:
    """A deleted topic and an unreadable secret: both alerts reach the DLQ; nothing is denied."""
    _manifest(monitoring)
    boto3.client("sns", region_name=REGION).delete_topic(TopicArn=monitoring.refs[
        _logical(monitoring.template, "AWS::SNS::Topic", "SloTopicsales")])
    boto3.client("secretsmanager", region_name=REGION).delete_secret(
        SecretId=monitoring.refs[_logical(monitoring.template, "AWS::SecretsManager::Secret", "SloSlackWebhooks")],
        ForceDeleteWithoutRecovery=True,
    )
    result, _ = _sweep(monitoring, monkeypatch, "2026-11-25T06:05:00Z")
    assert result["alerts"][0]["sns"] == "failed" and result["alerts"][0]["slack"] == "failed"
    assert sorted(d["target"] for d in drain(monitoring.alert_dlq)) == ["slack", "sns"]


def _job_alert(monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch, event: dict[str, Any]) -> dict[str, Any]:
    monitoring.environment(JOB_ALERTS, monkeypatch)
    monkeypatch.setenv("SLACK_CHANNEL", "#sales-data")
    role = monitoring.role(JOB_ALERTS)
    with role.enforced(monkeypatch):
        aws_module.reset_clients()
        result = job_alerts.main(event, None)
    aws_module.reset_clients()
    role.check_resources()
    assert not role.unchecked(), role.unchecked()
    return result


def test_job_alert_emr_serverless_with_iam_enforced(monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.emrserverless.models import emrserverless_backends

    client = boto3.client("emr-serverless", region_name=REGION)
    app = client.create_application(name="features", releaseLabel="emr-7.2.0", type="SPARK")["applicationId"]
    run = client.start_job_run(
        applicationId=app, executionRoleArn=f"arn:aws:iam::{monitoring.account}:role/job", name="features-daily",
        jobDriver={"sparkSubmit": {"entryPoint": "s3://bucket/job.py"}},
    )["jobRunId"]
    [job_run] = emrserverless_backends[monitoring.account][REGION].job_runs[app]
    job_run.state, job_run.state_details = "FAILED", "ExitCode: 1. OutOfMemoryError"
    event = {
        "detail-type": "EMR Serverless Job Run State Change", "source": "aws.emr-serverless",
        "account": monitoring.account, "region": REGION, "time": "2026-11-25T06:15:42Z",
        "detail": {"jobRunId": run, "applicationId": app, "state": "FAILED", "previousState": "RUNNING"},
    }
    assert _job_alert(monitoring, monkeypatch, event)["status"] == "sent"
    assert _job_alert(monitoring, monkeypatch, event)["status"] == "duplicate"
    [message] = drain(monitoring.refs["job-inbox"])
    assert "Reason: ExitCode: 1. OutOfMemoryError" in message["Message"], message["Message"]


def test_job_alert_aws_errors_with_iam_enforced(monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch) -> None:
    """GetJobRun cannot find the run and the topic is gone: the alert still goes out (to the DLQ)."""
    boto3.client("sns", region_name=REGION).delete_topic(
        TopicArn=monitoring.refs[_logical(monitoring.template, "AWS::SNS::Topic", "JobAlertsTopic")]
    )
    event = {
        "detail-type": "EMR Serverless Job Run State Change", "source": "aws.emr-serverless",
        "account": monitoring.account, "region": REGION, "time": "2026-11-25T06:15:42Z",
        "detail": {"jobRunId": "00missing0000001", "applicationId": "00missing0000000", "state": "FAILED"},
    }
    result = _job_alert(monitoring, monkeypatch, event)
    assert (result["sns"], result["slack"]) == ("failed", "sent")
    [dead] = drain(monitoring.alert_dlq)
    assert "GetJobRun failed: ResourceNotFoundException" in dead["alert"]["text"]
