"""Tests of the job-failure alert Lambda (``slo_monitor.job_alerts``): formatting, mute, dedupe, Slack/DLQ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from crash_points import SimulatedCrash, crash_after
from moto import mock_aws
from slo_fixtures import (
    REGION,
    SharedClientSession,
    SlackStub,
    drain,
    make_queue,
    make_topic_with_queue,
    make_webhook_secret,
    slack_server,
)

from meshworks.lambdas.slo_monitor import job_alerts
from meshworks.lambdas.slo_monitor.aws import AwsClients, reset_clients
from meshworks.lambdas.slo_monitor.job_alerts import JobAlerter, format_alert, is_muted, parse_event, parse_muted
from meshworks.lambdas.slo_monitor.notify import Notifier
from meshworks.lambdas.slo_monitor.slack import SlackSender, WebhookDirectory

FIXTURES = Path(__file__).parent / "fixtures" / "job_events"
SESSION = SharedClientSession()
DEDUP_TABLE = "alert-dedup"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


# ----------------------------------------------------------------------------------------------- golden formatting

GOLDEN = {
    "glue_failed": (
        "[AWS Glue] sales-orders-nightly FAILED",
        """AWS Glue job FAILED: sales-orders-nightly
Service: AWS Glue
Job: sales-orders-nightly
Run ID: jr_3c9f2b7e1d0a4b6c8e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d
State: FAILED
Reason: An error occurred while calling o112.pyWriteDynamicFrame. Access Denied (Service: Amazon S3; \
Status Code: 403; Error Code: AccessDenied)
Account/Region: 111122223333 / eu-west-1
Time: 2026-11-25 05:42:17 UTC
Console: https://eu-west-1.console.aws.amazon.com/gluestudio/home?region=eu-west-1#/job/sales-orders-nightly/run/\
jr_3c9f2b7e1d0a4b6c8e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d
Logs: https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/\
$252Faws-glue$252Fjobs$252Ferror/log-events/jr_3c9f2b7e1d0a4b6c8e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d""",
    ),
    "glue_timeout": (
        "[AWS Glue] engine wash/analytics TIMEOUT",
        """AWS Glue job TIMEOUT: engine wash/analytics
Service: AWS Glue
Job: engine wash/analytics
Run ID: jr_0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
State: TIMEOUT
Reason: Job run timed out after 2880 minutes
Account/Region: 111122223333 / eu-west-1
Time: 2026-11-25 07:00:05 UTC
Console: https://eu-west-1.console.aws.amazon.com/gluestudio/home?region=eu-west-1#/job/engine%20wash%2Fanalytics/\
run/jr_0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
Logs: https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/\
$252Faws-glue$252Fjobs$252Ferror/log-events/jr_0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0""",
    ),
    "emr_serverless_failed": (
        "[EMR Serverless] features-daily-aggregate FAILED",
        """EMR Serverless job FAILED: features-daily-aggregate
Service: EMR Serverless
Job: features-daily-aggregate (00fk3a1b2c3d4e05)
Run ID: 00fk4g2h8b9c0d01
State: FAILED
Reason: Job failed, please check complete logs in configured logging destination. ExitCode: 1. \
Last few exceptions: java.lang.OutOfMemoryError: Java heap space
Account/Region: 111122223333 / eu-west-1
Time: 2026-11-25 06:15:42 UTC
Console: https://eu-west-1.console.aws.amazon.com/emr/home?region=eu-west-1#/serverless/applications/\
00fk3a1b2c3d4e05/job-runs/00fk4g2h8b9c0d01
Logs: https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/\
$252Faws$252Femr-serverless/log-events$3FlogStreamNameFilter$3D$252Fapplications$252F00fk3a1b2c3d4e05$252Fjobs\
$252F00fk4g2h8b9c0d01""",
    ),
    "emr_step_failed": (
        "[EMR on EC2 step] orders-compaction FAILED",
        """EMR on EC2 step job FAILED: orders-compaction
Service: EMR on EC2 step
Job: orders-compaction (j-1A2B3C4D5E6F7)
Run ID: s-2ZYXWVUTSRQPO
State: FAILED
Reason: Step s-2ZYXWVUTSRQPO (orders-compaction) in Amazon EMR cluster j-1A2B3C4D5E6F7 (batch-cluster) \
failed at 2026-11-25 04:53 UTC.
Account/Region: 111122223333 / eu-west-1
Time: 2026-11-25 04:53:09 UTC
Console: https://eu-west-1.console.aws.amazon.com/emr/home?region=eu-west-1#/clusterDetails/j-1A2B3C4D5E6F7
Logs: cluster LogUri, steps/s-2ZYXWVUTSRQPO/stderr.gz (action on failure: CONTINUE)""",
    ),
    "emr_cluster_terminated_with_errors": (
        "[EMR on EC2 cluster] batch-cluster TERMINATED_WITH_ERRORS",
        """EMR on EC2 cluster job TERMINATED_WITH_ERRORS: batch-cluster
Service: EMR on EC2 cluster
Job: batch-cluster (j-1A2B3C4D5E6F7)
Run ID: j-1A2B3C4D5E6F7
State: TERMINATED_WITH_ERRORS
Reason: Amazon EMR Cluster j-1A2B3C4D5E6F7 (batch-cluster) has terminated with errors at 2026-11-25 03:00 UTC \
with a reason of BOOTSTRAP_FAILURE. [BOOTSTRAP_FAILURE: On the master instance (i-0a1b2c3d4e5f67890), \
bootstrap action 1 returned a non-zero return code]
Account/Region: 111122223333 / eu-west-1
Time: 2026-11-25 03:00:00 UTC
Console: https://eu-west-1.console.aws.amazon.com/emr/home?region=eu-west-1#/clusterDetails/j-1A2B3C4D5E6F7
Logs: cluster LogUri (node/ and containers/ prefixes)""",
    ),
    "sfn_failed": (
        "[Step Functions] mesh-refresh FAILED",
        """Step Functions job FAILED: mesh-refresh
Service: Step Functions
Job: mesh-refresh (arn:aws:states:eu-west-1:111122223333:stateMachine:mesh-refresh)
Run ID: arn:aws:states:eu-west-1:111122223333:execution:mesh-refresh:run-2026-11-25
State: FAILED
Reason: States.TaskFailed: Glue job sales-orders-nightly failed
Account/Region: 111122223333 / eu-west-1
Time: 2026-11-25 06:30:21 UTC
Console: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/\
arn:aws:states:eu-west-1:111122223333:execution:mesh-refresh:run-2026-11-25
Logs: execution event history (console link above)""",
    ),
    "sfn_timed_out": (
        "[Step Functions] mesh-refresh TIMED_OUT",
        """Step Functions job TIMED_OUT: mesh-refresh
Service: Step Functions
Job: mesh-refresh (arn:aws:states:eu-west-1:111122223333:stateMachine:mesh-refresh)
Run ID: arn:aws:states:eu-west-1:111122223333:execution:mesh-refresh:run-2026-11-25b
State: TIMED_OUT
Reason: (no reason given)
Account/Region: 111122223333 / eu-west-1
Time: 2026-11-25 08:00:00 UTC
Console: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/\
arn:aws:states:eu-west-1:111122223333:execution:mesh-refresh:run-2026-11-25b
Logs: execution event history (console link above)""",
    ),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_formatting(name: str) -> None:
    job = parse_event(load(name), {})
    assert job is not None
    assert format_alert(job) == GOLDEN[name]


def test_non_alerting_events_are_ignored() -> None:
    assert parse_event(load("glue_succeeded"), {}) is None
    assert parse_event({"detail-type": "Scheduled Event", "detail": {}}, {}) is None
    running = load("sfn_failed")
    running["detail"]["status"] = "RUNNING"
    assert parse_event(running, {}) is None


def test_dedupe_keys_and_reason_clipping() -> None:
    event = load("glue_failed")
    event["detail"]["message"] = "x" * 5000
    job = parse_event(event, {})
    assert job is not None
    assert job.dedupe_key.startswith("glue#jr_3c9f")
    assert job.dedupe_key.endswith("#FAILED")
    assert len(job.reason) == 1500


def test_mute_matching() -> None:
    muted = parse_muted(json.dumps(["sales-*", "00fk3a1b2c3d4e05", "arn:aws:states:*:stateMachine:mesh-refresh"]))
    assert is_muted(parse_event(load("glue_failed"), {}), muted) == "sales-*"  # type: ignore[arg-type]
    assert is_muted(parse_event(load("emr_serverless_failed"), {}), muted) == "00fk3a1b2c3d4e05"  # type: ignore[arg-type]
    sfn = parse_event(load("sfn_failed"), {})
    assert is_muted(sfn, muted) == "arn:aws:states:*:stateMachine:mesh-refresh"  # type: ignore[arg-type]
    assert is_muted(parse_event(load("emr_step_failed"), {}), muted) is None  # type: ignore[arg-type]
    assert parse_muted("not json") == ()
    assert parse_muted('{"a": 1}') == ()


# ----------------------------------------------------------------------------------------------- end to end (moto)


@dataclass
class World:
    slack: SlackStub
    inbox: str
    dlq: str
    env: dict[str, str]
    sleeps: list[float] = field(default_factory=list)
    clients: list[AwsClients] = field(default_factory=list)

    def alerter(self, **env_overrides: str) -> JobAlerter:
        clients = AwsClients(session=SESSION)
        self.clients.append(clients)
        notifier = Notifier(
            clients,
            slack_secret_arn=self.env["SLACK_SECRET_ARN"],
            dlq_url=self.dlq,
            sender=SlackSender(sleep=self.sleeps.append, rand=lambda: 0.5),
            webhooks=WebhookDirectory(lambda: clients.secretsmanager),
        )
        return JobAlerter(clients, notifier, {**self.env, **env_overrides})


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws(), slack_server() as slack:
        reset_clients()
        job_alerts.reset_caches()
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=DEDUP_TABLE,
            KeySchema=[{"AttributeName": "dedupe_key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "dedupe_key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        topic, inbox = make_topic_with_queue("job-alerts")
        dlq, _ = make_queue("job-alert-dlq")
        secret = make_webhook_secret("job-webhooks", {"#data-alerts": f"{slack.url}/services/T0/B1/jobs"})
        env = {
            "TOPIC_ARN": topic,
            "SLACK_SECRET_ARN": secret,
            "SLACK_CHANNEL": "#data-alerts",
            "ALERT_DLQ_URL": dlq,
            "ALERT_DEDUP_TABLE": DEDUP_TABLE,
            "MUTED_JOBS": json.dumps(["legacy-*"]),
        }
        world = World(slack=slack, inbox=inbox, dlq=dlq, env=env)
        yield world
        for clients in world.clients:
            SESSION.release(clients)
        reset_clients()


def test_alert_sent_to_sns_and_slack(world: World) -> None:
    result = world.alerter().handle(load("glue_failed"))
    assert result["status"] == "sent"
    assert (result["sns"], result["slack"]) == ("sent", "sent")
    [message] = drain(world.inbox)
    assert message["Subject"] == "[AWS Glue] sales-orders-nightly FAILED"
    assert message["Message"] == GOLDEN["glue_failed"][1]
    attrs = {k: v["Value"] for k, v in message["MessageAttributes"].items()}
    assert attrs == {
        "service": "glue",
        "job": "sales-orders-nightly",
        "state": "FAILED",
        "dedupe_id": result["dedupe_key"],
    }
    [request] = world.slack.requests
    assert request["path"] == "/services/T0/B1/jobs"
    assert request["body"]["text"] == f"*[AWS Glue] sales-orders-nightly FAILED*\n{GOLDEN['glue_failed'][1]}"
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=DEDUP_TABLE, Key={"dedupe_key": {"S": result["dedupe_key"]}}
    )["Item"]
    assert int(item["expires_at"]["N"]) > 0


def test_duplicate_event_alerts_once(world: World) -> None:
    alerter = world.alerter()
    event = load("emr_serverless_failed")
    results = [alerter.handle(event) for _ in range(3)]  # EventBridge at-least-once redelivery
    assert [r["status"] for r in results] == ["sent", "duplicate", "duplicate"]
    assert len(drain(world.inbox)) == 1
    assert len(world.slack.requests) == 1
    # Same run, different state (e.g. a later CANCELLED) is a different alert.
    event["detail"]["state"] = "CANCELLED"
    assert alerter.handle(event)["status"] == "sent"


def test_muted_job_is_dropped(world: World) -> None:
    event = load("glue_failed")
    event["detail"]["jobName"] = "legacy-orders"
    assert world.alerter().handle(event) == {"status": "muted", "pattern": "legacy-*"}
    assert drain(world.inbox) == []
    assert world.slack.requests == []


def test_long_subject_is_trimmed_to_100(world: World) -> None:
    event = load("sfn_failed")
    machine = "arn:aws:states:eu-west-1:111122223333:stateMachine:" + "a" * 80
    event["detail"]["stateMachineArn"] = machine
    world.alerter().handle(event)
    [message] = drain(world.inbox)
    assert len(message["Subject"]) == 100
    assert message["Subject"].endswith("...")


def test_slack_failure_goes_to_dlq(world: World) -> None:
    world.slack.script = [500, 500, 500]
    result = world.alerter().handle(load("emr_step_failed"))
    assert (result["sns"], result["slack"]) == ("sent", "failed")
    assert world.sleeps == [0.25, 0.5]
    [dead] = drain(world.dlq)
    assert dead["target"] == "slack"
    assert dead["reason"] == "HTTP 500 after 3 attempt(s)"
    assert dead["alert"]["subject"] == "[EMR on EC2 step] orders-compaction FAILED"
    assert dead["alert"]["attributes"] == {"service": "emr-step", "job": "orders-compaction", "state": "FAILED"}


def test_handler_main(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in world.env.items():
        monkeypatch.setenv(key, value)
    assert job_alerts.main(load("sfn_failed"), None)["status"] == "sent"
    assert job_alerts.main(load("sfn_failed"), None)["status"] == "duplicate"
    assert job_alerts.main(load("glue_succeeded"), None) == {"status": "ignored"}
    assert len(world.slack.requests) == 1


# ----------------------------------------------------------------------------------------------- guarantees


def documented_emr_serverless_event(application_id: str, job_run_id: str) -> dict[str, Any]:
    """The event as AWS documents it: no ``stateDetails``, no ``jobRunName``."""
    event = load("emr_serverless_failed")
    detail = event["detail"]
    for key in ("stateDetails", "jobRunName"):
        detail.pop(key)
    detail.update(applicationId=application_id, jobRunId=job_run_id)
    return event


def failed_emr_serverless_run(reason: str) -> tuple[str, str]:
    """A moto EMR Serverless job run in state FAILED with ``reason`` (moto's runs always succeed)."""
    from moto.emrserverless.models import emrserverless_backends

    client = boto3.client("emr-serverless", region_name=REGION)
    app = client.create_application(name="features", releaseLabel="emr-7.2.0", type="SPARK")["applicationId"]
    run = client.start_job_run(
        applicationId=app,
        executionRoleArn="arn:aws:iam::123456789012:role/job",
        name="features-daily-aggregate",
        jobDriver={"sparkSubmit": {"entryPoint": "s3://bucket/job.py"}},
    )["jobRunId"]
    [job_run] = emrserverless_backends["123456789012"][REGION].job_runs[app]
    job_run.state, job_run.state_details = "FAILED", reason
    return app, run


def test_emr_serverless_reason_comes_from_get_job_run(world: World) -> None:
    """Fault 7: the documented event has no details; the alert used to say '(no reason given)'."""
    app, run = failed_emr_serverless_run("ExitCode: 1. java.lang.OutOfMemoryError: Java heap space")
    world.alerter().handle(documented_emr_serverless_event(app, run))
    [message] = drain(world.inbox)
    assert "Reason: ExitCode: 1. java.lang.OutOfMemoryError: Java heap space" in message["Message"]
    assert message["Subject"] == "[EMR Serverless] features-daily-aggregate FAILED"


def test_emr_serverless_get_job_run_failure_still_alerts(world: World) -> None:
    world.alerter().handle(documented_emr_serverless_event("00nosuchapp00000", "00nosuchrun00000"))
    [message] = drain(world.inbox)
    assert "Reason: (not in the event; GetJobRun failed: ResourceNotFoundException)" in message["Message"]


def test_redriven_step_functions_execution_that_fails_again_alerts_again(world: World) -> None:
    """Fault 6: same execution ARN, so the redriven failure was deduplicated away."""
    alerter = world.alerter()
    event = load("sfn_failed")
    first = alerter.handle(event)
    redriven = json.loads(json.dumps(event))
    redriven["detail"].update(redriveCount=1, stopDate=event["detail"].get("stopDate", 0) + 600_000)
    second = alerter.handle(redriven)
    assert [first["status"], second["status"], alerter.handle(redriven)["status"]] == ["sent", "sent", "duplicate"]
    assert len(drain(world.inbox)) == 2


def test_a_crash_at_every_point_never_loses_the_alert(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault 6: at least once. Side effects: claim, SNS publish, Slack post, mark SENT."""
    event = load("glue_failed")
    with crash_after(monkeypatch, None) as clean_run:
        world.alerter().handle(event)
    assert clean_run == ["PutItem", "Publish", "slack", "UpdateItem"]
    boto3.client("dynamodb", region_name=REGION).delete_item(
        TableName=DEDUP_TABLE,
        Key={"dedupe_key": {"S": parse_event(event, {}).dedupe_key}},  # type: ignore[union-attr]
    )
    drain(world.inbox)
    world.slack.requests.clear()

    for n in range(1, len(clean_run) + 1):
        start = datetime(2026, 11, 25, 6, 0, tzinfo=timezone.utc) + timedelta(hours=n)
        event = load("glue_failed")
        event["detail"]["jobRunId"] = f"jr_crash_{n}"
        crashed = world.alerter()
        crashed.clock = lambda start=start: start
        with crash_after(monkeypatch, n), pytest.raises(SimulatedCrash):
            crashed.handle(event)
        # Lambda retries the event (1 min later: lease still held -> retried again), then 3 min later.
        retry = world.alerter()
        retry.clock = lambda start=start: start + timedelta(minutes=1)
        if n < len(clean_run):
            with pytest.raises(job_alerts.AlertInProgress):
                retry.handle(event)
        retry.clock = lambda start=start: start + timedelta(minutes=3)
        retry.handle(event)
        sns = [m for m in drain(world.inbox) if f"jr_crash_{n}" in m["Message"]]
        slack = [r for r in world.slack.requests if f"jr_crash_{n}" in r["body"]["text"]]
        assert 1 <= len(sns) <= 2 and 1 <= len(slack) <= 2, (n, len(sns), len(slack))
        assert all(m["MessageAttributes"]["dedupe_id"]["Value"].startswith("glue#jr_crash_") for m in sns)
        assert retry.handle(event)["status"] == "duplicate"  # and never again after SENT
