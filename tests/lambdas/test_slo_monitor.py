"""Tests of the SLO sweeper (moto for AWS, a real loopback HTTP server for Slack)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
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

from meshworks.lambdas.slo_monitor import handler as handler_module
from meshworks.lambdas.slo_monitor.aws import AwsClients, reset_clients
from meshworks.lambdas.slo_monitor.checker import (
    ManifestCache,
    Settings,
    Sweeper,
    due_checks,
    human_duration,
    parse_contract,
    parse_manifest,
)
from meshworks.lambdas.slo_monitor.notify import Alert, Notifier, sns_subject
from meshworks.lambdas.slo_monitor.slack import SlackSender, WebhookDirectory

UTC = timezone.utc
MANIFEST_BUCKET = "meshworks-manifests"
LAKE_BUCKET = "meshworks-lake"
DELIVERY = "deliveries"
BREACHES = "breaches"
SESSION = SharedClientSession()  # the sweeper's clients are created once for all tests


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def contract(product: str = "orders", domain: str = "sales", **overrides: Any) -> dict[str, Any]:
    entry = {
        "product_key": f"{domain}.{product}",
        "domain": domain,
        "product": product,
        "owner": "team-orders@example.com",
        "slack_channel": "#sales-data",
        "cron": "0 6 * * *",
        "timezone": "Europe/Berlin",
        "grace_minutes": 60,
        "location": f"s3://{LAKE_BUCKET}/{domain}/{product}",
        "partition_template": "dt={date}",
    }
    entry.update(overrides)
    return entry


def create_tables() -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    keys = [{"AttributeName": "product_key", "KeyType": "HASH"}, {"AttributeName": "period_key", "KeyType": "RANGE"}]
    attrs = [
        {"AttributeName": "product_key", "AttributeType": "S"},
        {"AttributeName": "period_key", "AttributeType": "S"},
    ]
    ddb.create_table(TableName=DELIVERY, KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST")
    ddb.create_table(
        TableName=BREACHES,
        KeySchema=keys,
        AttributeDefinitions=[
            *attrs,
            {"AttributeName": "open", "AttributeType": "N"},
            {"AttributeName": "deadline", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "open_breaches",
                "KeySchema": [
                    {"AttributeName": "open", "KeyType": "HASH"},
                    {"AttributeName": "deadline", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@dataclass
class Env:
    """A moto world plus a sweeper wired to it."""

    slack: SlackStub
    inbox: str
    dlq: str
    settings: Settings
    sleeps: list[float] = field(default_factory=list)
    manifest: ManifestCache = field(default_factory=ManifestCache)
    clients: AwsClients = field(default_factory=lambda: AwsClients(session=SESSION))
    clock_now: datetime | None = None

    def write_manifest(self, entries: list[dict[str, Any]]) -> None:
        boto3.client("s3", region_name=REGION).put_object(
            Bucket=MANIFEST_BUCKET, Key="slo/manifest.json", Body=json.dumps({"version": 1, "slos": entries})
        )

    def deliver(self, product_key: str, period: str, at: datetime | None) -> None:
        item: dict[str, Any] = {"product_key": {"S": product_key}, "period_key": {"S": period}}
        if at is not None:
            item["delivered_at"] = {"S": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
        boto3.client("dynamodb", region_name=REGION).put_item(TableName=DELIVERY, Item=item)

    def deliver_latest(self, product_key: str, at: datetime, previous: datetime | None = None) -> None:
        """The product's ``latest`` item as the hub's notifier writes it."""
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        item = {
            "product_key": {"S": product_key},
            "period_key": {"S": "latest"},
            "delivered_at": {"S": at.strftime(stamp)},
            "previous_delivered_at": {"S": (previous or at).strftime(stamp)},
            "source_period_key": {"S": f"snapshot={at:%Y%m%d%H%M}"},
        }
        boto3.client("dynamodb", region_name=REGION).put_item(TableName=DELIVERY, Item=item)

    def sweeper(self, **sender_kwargs: Any) -> Sweeper:
        sender = SlackSender(sleep=self.sleeps.append, rand=lambda: 0.5, **sender_kwargs)
        notifier = Notifier(
            self.clients,
            slack_secret_arn=self.settings.slack_secret_arn,
            dlq_url=self.settings.dlq_url,
            sender=sender,
            webhooks=WebhookDirectory(lambda: self.clients.secretsmanager),
        )
        return Sweeper(
            self.settings,
            self.clients,
            notifier,
            manifest=self.manifest,
            clock=lambda: self.clock_now or datetime.now(UTC),
            sleep=self.sleeps.append,
            rand=lambda: 0.5,
        )

    def run(self, now: datetime, checked_at: datetime | None = None, **sender_kwargs: Any) -> Any:
        self.clock_now = checked_at or now
        return self.sweeper(**sender_kwargs).run(now)

    def breach(self, product_key: str, period: str) -> dict[str, Any] | None:
        item = boto3.client("dynamodb", region_name=REGION).get_item(
            TableName=BREACHES, Key={"product_key": {"S": product_key}, "period_key": {"S": period}}
        )
        return item.get("Item")

    def published(self) -> list[dict[str, Any]]:
        return drain(self.inbox)


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws(), slack_server() as slack:
        reset_clients()
        handler_module.reset_caches()
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (MANIFEST_BUCKET, LAKE_BUCKET):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        create_tables()
        topic, inbox = make_topic_with_queue("sales-alerts")
        # No test reads what the default topic gets: a topic without a subscribed queue.
        default_topic = boto3.client("sns", region_name=REGION).create_topic(Name="default-alerts")["TopicArn"]
        dlq, _ = make_queue("alert-dlq")
        secret = make_webhook_secret("slack-webhooks", {"#sales-data": f"{slack.url}/services/T0/B0/sales"})
        settings = Settings(
            manifest_bucket=MANIFEST_BUCKET,
            manifest_key="slo/manifest.json",
            delivery_table=DELIVERY,
            breach_table=BREACHES,
            domain_topics={"sales": topic},
            default_topic_arn=default_topic,
            slack_secret_arn=secret,
            dlq_url=dlq,
            region=REGION,
        )
        world = Env(slack=slack, inbox=inbox, dlq=dlq, settings=settings)
        world.write_manifest([contract()])
        yield world
        SESSION.release(world.clients)
        reset_clients()


# Deadline of the 2026-11-25 period: 06:00 Berlin (CET, +01:00) + 60 min = 07:00 CET = 06:00 UTC.
DEADLINE = utc(2026, 11, 25, 6, 0)
PERIOD = "dt=2026-11-25"


# ----------------------------------------------------------------------------------------------- manifest


def test_manifest_validation_messages() -> None:
    contracts, errors = parse_manifest(
        {
            "slos": [
                contract(),
                contract(product="bad_cron", cron="61 * * * *"),
                contract(product="bad_tz", timezone="Europe/Atlantis"),
                contract(product="bad_loc", location="bucket/prefix"),
                contract(product="bad_tpl", partition_template="dt={day}"),
                contract(product="bad_grace", grace_minutes="60"),
                contract(),
            ]
        }
    )
    assert [c.product_key for c in contracts] == ["sales.orders"]
    assert errors == [
        "slos[1] (sales.bad_cron): cron: cron minute field '61': 61 is out of range; allowed values are 0-59",
        "slos[2] (sales.bad_tz): timezone: unknown IANA time zone 'Europe/Atlantis'",
        "slos[3] (sales.bad_loc): location: location must look like s3://bucket/prefix, got 'bucket/prefix'",
        "slos[4] (sales.bad_tpl): partition_template: 'dt={day}' is invalid ('day'); "
        "use {date}, {prev_date}, {local} or {utc} with optional strftime formats",
        "slos[5] (sales.bad_grace): grace_minutes: an integer between 0 and 10080 is required",
        "slos[6] (sales.orders): product_key: duplicate 'sales.orders'",
    ]


def test_default_partition_template_and_due_window() -> None:
    entry = contract()
    del entry["partition_template"]
    slo = parse_contract(entry)
    checks = due_checks([slo], DEADLINE - timedelta(minutes=15), DEADLINE)
    assert [(c.period_key, c.deadline, c.scheduled_utc) for c in checks] == [
        ("dt=2026-11-25", DEADLINE, utc(2026, 11, 25, 5, 0))
    ]
    assert due_checks([slo], DEADLINE, DEADLINE + timedelta(minutes=15)) == []  # half-open window
    hourly = parse_contract(contract(cron="15 * * * *", grace_minutes=0, partition_template="hr={local:%Y%m%d%H}"))
    checks = due_checks([hourly], utc(2026, 7, 1, 9, 0), utc(2026, 7, 1, 11, 15))
    assert [c.period_key for c in checks] == ["hr=2026070111", "hr=2026070112", "hr=2026070113"]


def test_due_checks_over_dst_days() -> None:
    slo = parse_contract(contract(cron="30 2 * * *", grace_minutes=0))
    spring = due_checks([slo], utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    assert [(c.period_key, c.deadline) for c in spring] == [("dt=2026-03-29", utc(2026, 3, 29, 1, 0))]
    autumn = due_checks([slo], utc(2026, 10, 24, 12), utc(2026, 10, 25, 12))
    assert [(c.period_key, c.deadline) for c in autumn] == [("dt=2026-10-25", utc(2026, 10, 25, 0, 30))]


def test_human_duration_and_subject() -> None:
    assert human_duration(timedelta(minutes=0)) == "0 min"
    assert human_duration(timedelta(minutes=135)) == "2 h 15 min"
    assert human_duration(timedelta(days=2, minutes=1)) == "2 d 1 min"
    assert human_duration(timedelta(minutes=-5)) == "0 min"
    subject = sns_subject("Ünïcode\nsubject " + "x" * 200)
    assert len(subject) == 100
    assert subject.startswith("?n?code subject xx")
    assert subject.endswith("...")


# ----------------------------------------------------------------------------------------------- sweeps


def test_on_time_delivery_no_alert(env: Env) -> None:
    env.deliver("sales.orders", PERIOD, utc(2026, 11, 25, 5, 30))
    summary = env.run(DEADLINE + timedelta(minutes=2))
    assert (summary.due, summary.checks, summary.on_time, summary.breaches) == (1, 1, 1, 0)
    assert summary.alerts == []
    assert env.published() == []
    assert env.slack.requests == []
    assert env.breach("sales.orders", PERIOD) is None


def test_success_marker_fallback_counts_as_delivered(env: Env) -> None:
    # Year 2035 so that moto's LastModified (the real clock) is before the deadline.
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=LAKE_BUCKET, Key="sales/orders/dt=2035-01-10/_SUCCESS", Body=b""
    )
    summary = env.run(utc(2035, 1, 10, 6, 3))
    assert (summary.due, summary.on_time, summary.breaches) == (1, 1, 0)
    assert summary.aws_calls["s3:HeadObject"] == 1


def test_late_delivery_breach_alert_content(env: Env) -> None:
    summary = env.run(DEADLINE + timedelta(minutes=3), checked_at=DEADLINE + timedelta(minutes=4))
    assert (summary.breaches, summary.on_time) == (1, 0)
    [message] = env.published()
    assert message["Subject"] == "[SLO BREACH] sales.orders dt=2026-11-25 late by 4 min"
    assert message["MessageAttributes"]["domain"]["Value"] == "sales"
    assert message["MessageAttributes"]["product"]["Value"] == "orders"
    assert message["MessageAttributes"]["severity"]["Value"] == "ERROR"
    text = message["Message"]
    assert "Owner: team-orders@example.com" in text
    assert (
        "Expected by: 2026-11-25 07:00 CET (UTC+01:00) / 2026-11-25 06:00 UTC "
        "(schedule '0 6 * * *' Europe/Berlin + 60 min grace)"
    ) in text
    assert "it is 4 min late (checked 2026-11-25 06:04 UTC)" in text
    assert "Location: s3://meshworks-lake/sales/orders/dt=2026-11-25/" in text
    assert (
        "Console: https://s3.console.aws.amazon.com/s3/buckets/meshworks-lake?region=eu-west-1"
        "&prefix=sales%2Forders%2Fdt%3D2026-11-25%2F&showversions=false"
    ) in text
    [request] = env.slack.requests
    assert request["path"] == "/services/T0/B0/sales"
    assert request["body"]["text"].startswith("*[SLO BREACH] sales.orders dt=2026-11-25 late by 4 min*\n")
    item = env.breach("sales.orders", PERIOD)
    assert item is not None
    assert item["status"]["S"] == "OPEN"
    assert item["open"]["N"] == "1"
    assert item["deadline"]["S"] == "2026-11-25T06:00:00Z"


def test_duplicate_and_overlapping_runs_alert_once(env: Env) -> None:
    first = env.run(DEADLINE + timedelta(minutes=1))
    duplicate = env.run(DEADLINE + timedelta(minutes=1))  # EventBridge at-least-once
    overlap = env.run(DEADLINE + timedelta(minutes=6))  # next run: deadline is in the overlap
    late_retry = env.run(DEADLINE + timedelta(minutes=14))  # still inside the 15 min window
    assert [s.breaches for s in (first, duplicate, overlap, late_retry)] == [1, 0, 0, 0]
    assert duplicate.duplicates == 1
    assert overlap.checks == 0  # outside this run's own 5 min slice: not counted twice
    assert len(env.published()) == 1
    assert len(env.slack.requests) == 1


def test_missed_invocation_is_caught_by_overlap(env: Env) -> None:
    # The run at 06:05 never happened; the 06:10 run still sees the 06:00 deadline.
    summary = env.run(DEADLINE + timedelta(minutes=10))
    assert summary.breaches == 1
    assert len(env.published()) == 1


def test_late_but_delivered_before_check(env: Env) -> None:
    env.deliver("sales.orders", PERIOD, DEADLINE + timedelta(minutes=2))
    summary = env.run(DEADLINE + timedelta(minutes=4))
    assert (summary.breaches, summary.late_deliveries) == (1, 1)
    [message] = env.published()
    assert message["Subject"] == "[SLO LATE] sales.orders dt=2026-11-25 delivered 2 min late"
    item = env.breach("sales.orders", PERIOD)
    assert item is not None
    assert item["status"]["S"] == "CLOSED"
    assert "open" not in item
    assert env.run(DEADLINE + timedelta(minutes=9)).alerts == []


def test_recovery_reports_lateness_once(env: Env) -> None:
    env.run(DEADLINE + timedelta(minutes=1))
    env.published()
    env.deliver("sales.orders", PERIOD, DEADLINE + timedelta(hours=2, minutes=15))
    summary = env.run(DEADLINE + timedelta(hours=2, minutes=20))
    assert summary.recoveries == 1
    [message] = env.published()
    assert message["Subject"] == "[SLO RECOVERED] sales.orders dt=2026-11-25 delivered 2 h 15 min late"
    assert message["MessageAttributes"]["severity"]["Value"] == "INFO"
    assert "was delivered at 2026-11-25 08:15 UTC, 2 h 15 min after its deadline" in message["Message"]
    item = env.breach("sales.orders", PERIOD)
    assert item is not None
    assert item["status"]["S"] == "CLOSED"
    assert item["lateness_minutes"]["N"] == "135"
    assert "open" not in item
    assert "expires_at" in item
    again = env.run(DEADLINE + timedelta(hours=2, minutes=25))
    assert again.recoveries == 0
    assert env.published() == []
    assert len(env.slack.requests) == 2  # breach + recovery


def test_very_late_escalates_once_per_further_period(env: Env) -> None:
    day = timedelta(days=1)
    env.run(DEADLINE + timedelta(minutes=1))
    assert [m["Subject"] for m in env.published()] == ["[SLO BREACH] sales.orders dt=2026-11-25 late by 1 min"]
    # Next day: the 26th is missed too -> one escalation of the 25th, no separate breach alert.
    for minutes in (1, 1, 6, 12):
        env.run(DEADLINE + day + timedelta(minutes=minutes))
    assert [m["Subject"] for m in env.published()] == [
        "[SLO ESCALATION #1] sales.orders still missing dt=2026-11-25; 2 periods missed"
    ]
    # Third day: escalation #2, and only once.
    for minutes in (2, 7):
        env.run(DEADLINE + 2 * day + timedelta(minutes=minutes))
    [third] = env.published()
    assert third["Subject"] == "[SLO ESCALATION #2] sales.orders still missing dt=2026-11-25; 3 periods missed"
    assert third["MessageAttributes"]["severity"]["Value"] == "CRITICAL"
    assert "Missed periods: dt=2026-11-25, dt=2026-11-26, dt=2026-11-27 (escalation 2)." in third["Message"]
    root = env.breach("sales.orders", PERIOD)
    assert root is not None
    assert root["escalations"]["N"] == "2"
    assert root["last_escalated_period"]["S"] == "dt=2026-11-27"
    # Everything arrives: one recovery per missed period.
    for offset in range(3):
        period = f"dt=2026-11-{25 + offset}"
        env.deliver("sales.orders", period, DEADLINE + 2 * day + timedelta(minutes=30))
    summary = env.run(DEADLINE + 2 * day + timedelta(minutes=35))
    assert summary.recoveries == 3
    subjects = sorted(m["Subject"] for m in env.published())
    assert subjects == [
        "[SLO RECOVERED] sales.orders dt=2026-11-25 delivered 2 d 30 min late",
        "[SLO RECOVERED] sales.orders dt=2026-11-26 delivered 1 d 30 min late",
        "[SLO RECOVERED] sales.orders dt=2026-11-27 delivered 30 min late",
    ]


def test_two_periods_in_one_window_escalate_within_the_run(env: Env) -> None:
    env.write_manifest([contract(cron="*/5 * * * *", grace_minutes=0, partition_template="ts={local:%H%M}")])
    summary = env.run(utc(2026, 11, 25, 6, 0))  # deadlines 05:50, 05:55, 06:00 all missing
    assert (summary.breaches, summary.escalations) == (3, 2)
    subjects = [m["Subject"] for m in env.published()]
    assert subjects[0].startswith("[SLO BREACH] sales.orders ts=0650")
    assert subjects[1:] == [
        "[SLO ESCALATION #1] sales.orders still missing ts=0650; 2 periods missed",
        "[SLO ESCALATION #2] sales.orders still missing ts=0650; 3 periods missed",
    ]


def test_domain_without_topic_uses_default(env: Env) -> None:
    env.write_manifest([contract(domain="finance", product="ledger", slack_channel=None)])
    summary = env.run(DEADLINE + timedelta(minutes=1))
    assert summary.alerts == [
        {"kind": "BREACH", "id": "BREACH:finance.ledger:dt=2026-11-25", "sns": "sent", "slack": "skipped"}
    ]
    assert env.published() == []  # the sales topic got nothing


def test_manifest_cached_by_etag(env: Env) -> None:
    env.run(DEADLINE - timedelta(hours=1))
    etag = env.manifest.etag
    summary = env.run(DEADLINE - timedelta(minutes=30))
    assert env.manifest.etag == etag
    assert summary.aws_calls["s3:GetObject"] == 1  # answered 304 Not Modified
    env.write_manifest([contract(), contract(product="refunds")])
    env.run(DEADLINE - timedelta(minutes=25))
    assert env.manifest.etag != etag
    assert [c.product_key for c in env.manifest.contracts] == ["sales.orders", "sales.refunds"]


def test_metrics_put_once_per_run(env: Env) -> None:
    env.write_manifest([contract(), contract(product="refunds")])
    env.deliver("sales.orders", PERIOD, DEADLINE - timedelta(minutes=30))
    summary = env.run(DEADLINE + timedelta(minutes=1))
    assert summary.aws_calls["cloudwatch:PutMetricData"] == 1
    metrics = boto3.client("cloudwatch", region_name=REGION).list_metrics(Namespace="meshworks/slo")["Metrics"]
    names = {(m["MetricName"], m["Dimensions"][0]["Value"]) for m in metrics}
    assert {("Checks", "sales"), ("OnTime", "sales"), ("Breaches", "sales"), ("LatenessMinutes", "sales")} <= names
    assert ("Checks", "ALL") in names


# ----------------------------------------------------------------------------------------------- unpartitioned

# sales.customers: a snapshot product scheduled at 06:00 Berlin (05:00 UTC), deadline 06:00 UTC.
SCHEDULED = utc(2026, 11, 25, 5, 0)
SNAPSHOT_PERIOD = "2026-11-25T05:00:00Z"


def customers(**overrides: Any) -> dict[str, Any]:
    return contract(product="customers", **{"partition_template": "", **overrides})


@pytest.fixture
def snapshots(env: Env) -> Env:
    env.write_manifest([customers()])
    return env


def test_unpartitioned_contract_and_due_checks() -> None:
    slo = parse_contract(customers())
    assert (slo.unpartitioned, slo.partition_template) == (True, "")
    [check] = due_checks([slo], DEADLINE - timedelta(minutes=15), DEADLINE)
    assert (check.period_key, check.scheduled_utc, check.deadline) == (SNAPSHOT_PERIOD, SCHEDULED, DEADLINE)
    assert (check.since, check.delivery_key, check.marker_partition) == (SCHEDULED, ("sales.customers", "latest"), "")
    partitioned = parse_contract(contract())
    assert not partitioned.unpartitioned
    [check] = due_checks([partitioned], DEADLINE - timedelta(minutes=15), DEADLINE)
    assert (check.since, check.delivery_key) == (None, ("sales.orders", PERIOD))


def test_unpartitioned_on_time(snapshots: Env) -> None:
    snapshots.deliver_latest("sales.customers", SCHEDULED + timedelta(minutes=30))
    summary = snapshots.run(DEADLINE + timedelta(minutes=2))
    assert (summary.due, summary.checks, summary.on_time, summary.breaches) == (1, 1, 1, 0)
    assert summary.aws_calls["dynamodb:BatchGetItem"] == 1
    assert "s3:HeadObject" not in summary.aws_calls
    assert snapshots.published() == []
    assert snapshots.breach("sales.customers", SNAPSHOT_PERIOD) is None


def test_unpartitioned_refresh_after_an_on_time_delivery_is_not_late(snapshots: Env) -> None:
    # On time at 05:10, refreshed again at 06:03: the replaced delivered_at still proves the period.
    on_time, refresh = SCHEDULED + timedelta(minutes=10), DEADLINE + timedelta(minutes=3)
    snapshots.deliver_latest("sales.customers", refresh, previous=on_time)
    assert snapshots.run(DEADLINE + timedelta(minutes=4)).on_time == 1
    # Refreshed once more: an overlapping run cannot see the on-time delivery any more, and does not judge.
    snapshots.deliver_latest("sales.customers", DEADLINE + timedelta(minutes=8), previous=refresh)
    summary = snapshots.run(DEADLINE + timedelta(minutes=9))
    assert (summary.due, summary.checks, summary.breaches) == (1, 0, 0)
    assert snapshots.published() == []
    assert snapshots.breach("sales.customers", SNAPSHOT_PERIOD) is None


def test_unpartitioned_breach_then_recovery_with_lateness(snapshots: Env) -> None:
    yesterday = SCHEDULED - timedelta(days=1) + timedelta(minutes=10)
    snapshots.deliver_latest("sales.customers", yesterday)  # the previous period's snapshot
    summary = snapshots.run(DEADLINE + timedelta(minutes=1))
    assert (summary.breaches, summary.on_time) == (1, 0)
    assert summary.aws_calls["s3:HeadObject"] == 1  # latest is stale: look at <location>/_SUCCESS
    [message] = snapshots.published()
    assert message["Subject"] == f"[SLO BREACH] sales.customers {SNAPSHOT_PERIOD} late by 1 min"
    text = message["Message"]
    assert (
        "Data product sales.customers refresh scheduled for 2026-11-25 06:00 CET (UTC+01:00) has not been "
        "delivered; it is 1 min late (checked 2026-11-25 06:01 UTC)."
    ) in text
    assert "Location: s3://meshworks-lake/sales/customers/\n" in text
    item = snapshots.breach("sales.customers", SNAPSHOT_PERIOD)
    assert item is not None
    assert (item["status"]["S"], item["open"]["N"], item["deadline"]["S"]) == ("OPEN", "1", "2026-11-25T06:00:00Z")
    assert (item["delivery_key"]["S"], item["scheduled_at"]["S"]) == ("latest", SNAPSHOT_PERIOD)

    snapshots.deliver_latest("sales.customers", DEADLINE + timedelta(hours=2, minutes=15), previous=yesterday)
    summary = snapshots.run(DEADLINE + timedelta(hours=2, minutes=20))
    assert summary.recoveries == 1
    [message] = snapshots.published()
    assert message["Subject"] == f"[SLO RECOVERED] sales.customers {SNAPSHOT_PERIOD} delivered 2 h 15 min late"
    assert "was delivered at 2026-11-25 08:15 UTC, 2 h 15 min after its deadline" in message["Message"]
    item = snapshots.breach("sales.customers", SNAPSHOT_PERIOD)
    assert item is not None
    assert (item["status"]["S"], item["lateness_minutes"]["N"]) == ("CLOSED", "135")
    assert "open" not in item
    assert snapshots.run(DEADLINE + timedelta(hours=2, minutes=25)).recoveries == 0
    assert snapshots.published() == []
    assert len(snapshots.slack.requests) == 2  # breach + recovery


def test_unpartitioned_late_but_delivered_before_check(snapshots: Env) -> None:
    snapshots.deliver_latest("sales.customers", DEADLINE + timedelta(minutes=2), previous=SCHEDULED - timedelta(days=1))
    summary = snapshots.run(DEADLINE + timedelta(minutes=4))
    assert (summary.breaches, summary.late_deliveries) == (1, 1)
    [message] = snapshots.published()
    assert message["Subject"] == f"[SLO LATE] sales.customers {SNAPSHOT_PERIOD} delivered 2 min late"
    item = snapshots.breach("sales.customers", SNAPSHOT_PERIOD)
    assert item is not None
    assert (item["status"]["S"], item["lateness_minutes"]["N"]) == ("CLOSED", "2")
    assert snapshots.run(DEADLINE + timedelta(minutes=9)).alerts == []


def test_unpartitioned_overlapping_runs_alert_once(snapshots: Env) -> None:
    runs = [snapshots.run(DEADLINE + timedelta(minutes=m)) for m in (1, 1, 6, 14)]
    assert [s.breaches for s in runs] == [1, 0, 0, 0]
    assert runs[1].duplicates == 1
    assert len(snapshots.published()) == 1
    assert len(snapshots.slack.requests) == 1


def test_unpartitioned_escalates_once_per_further_period(snapshots: Env) -> None:
    day = timedelta(days=1)
    snapshots.run(DEADLINE + timedelta(minutes=1))
    assert [m["Subject"] for m in snapshots.published()] == [
        f"[SLO BREACH] sales.customers {SNAPSHOT_PERIOD} late by 1 min"
    ]
    for minutes in (1, 1, 6, 12):
        snapshots.run(DEADLINE + day + timedelta(minutes=minutes))
    assert [m["Subject"] for m in snapshots.published()] == [
        f"[SLO ESCALATION #1] sales.customers still missing {SNAPSHOT_PERIOD}; 2 periods missed"
    ]
    for minutes in (2, 7):
        snapshots.run(DEADLINE + 2 * day + timedelta(minutes=minutes))
    [third] = snapshots.published()
    assert third["Subject"] == f"[SLO ESCALATION #2] sales.customers still missing {SNAPSHOT_PERIOD}; 3 periods missed"
    missed = "2026-11-25T05:00:00Z, 2026-11-26T05:00:00Z, 2026-11-27T05:00:00Z"
    assert f"Missed periods: {missed} (escalation 2)." in third["Message"]
    root = snapshots.breach("sales.customers", SNAPSHOT_PERIOD)
    assert root is not None
    assert (root["escalations"]["N"], root["last_escalated_period"]["S"]) == ("2", "2026-11-27T05:00:00Z")
    # One snapshot after the third period's schedule satisfies all three: one recovery each.
    snapshots.deliver_latest("sales.customers", DEADLINE + 2 * day + timedelta(minutes=30))
    summary = snapshots.run(DEADLINE + 2 * day + timedelta(minutes=35))
    assert summary.recoveries == 3
    assert sorted(m["Subject"] for m in snapshots.published()) == [
        "[SLO RECOVERED] sales.customers 2026-11-25T05:00:00Z delivered 2 d 30 min late",
        "[SLO RECOVERED] sales.customers 2026-11-26T05:00:00Z delivered 1 d 30 min late",
        "[SLO RECOVERED] sales.customers 2026-11-27T05:00:00Z delivered 30 min late",
    ]


def test_unpartitioned_success_marker_fallback(snapshots: Env) -> None:
    # moto stamps LastModified with the real clock: after a 2020 schedule, before a 2035 one.
    boto3.client("s3", region_name=REGION).put_object(Bucket=LAKE_BUCKET, Key="sales/customers/_SUCCESS", Body=b"")
    future = snapshots.run(utc(2035, 1, 10, 6, 3))
    assert (future.breaches, future.late_deliveries, future.aws_calls["s3:HeadObject"]) == (1, 0, 1)
    past = snapshots.run(utc(2020, 1, 10, 6, 3))
    assert (past.breaches, past.late_deliveries, past.open_breaches) == (1, 1, 1)
    assert past.aws_calls["s3:HeadObject"] == 1  # one marker read for the open breach and the new check
    breach, late = (m["Subject"] for m in snapshots.published())
    assert breach == "[SLO BREACH] sales.customers 2035-01-10T05:00:00Z late by 3 min"
    assert late.startswith("[SLO LATE] sales.customers 2020-01-10T05:00:00Z delivered ")


def test_unpartitioned_periods_share_one_key_and_one_marker_read(env: Env) -> None:
    env.write_manifest([customers(cron="*/5 * * * *", grace_minutes=0)])
    summary = env.run(utc(2026, 11, 25, 6, 0))  # scheduled 05:50, 05:55 and 06:00, all missing
    assert (summary.due, summary.breaches, summary.escalations) == (3, 3, 2)
    assert summary.aws_calls["dynamodb:BatchGetItem"] == 1
    assert summary.aws_calls["s3:HeadObject"] == 1


# ----------------------------------------------------------------------------------------------- AWS call counts


def test_calls_are_batched_for_1000_checks(env: Env) -> None:
    entries = [contract(product=f"p{i:04d}", slack_channel=None) for i in range(1000)]
    env.write_manifest(entries)
    ddb = boto3.client("dynamodb", region_name=REGION)
    late = {f"sales.p{i:04d}" for i in range(0, 1000, 100)}  # 10 products late
    requests = [
        {"PutRequest": {"Item": {"product_key": {"S": e["product_key"]}, "period_key": {"S": PERIOD}}}}
        for e in entries
        if e["product_key"] not in late
    ]
    for start in range(0, len(requests), 25):
        ddb.batch_write_item(RequestItems={DELIVERY: requests[start : start + 25]})
    summary = env.run(DEADLINE + timedelta(minutes=2))
    assert (summary.checks, summary.on_time, summary.breaches) == (1000, 990, 10)
    calls = summary.aws_calls
    assert calls["dynamodb:BatchGetItem"] == 10
    assert calls["dynamodb:Query"] == 2  # open breaches, and the alert outbox
    assert calls["s3:GetObject"] == 1
    assert calls["s3:HeadObject"] == 10  # fallback for the 10 misses only
    assert calls["dynamodb:TransactWriteItems"] == 10  # breach + its alert in the outbox, atomically
    assert calls["sns:Publish"] == 10
    assert calls["dynamodb:DeleteItem"] == 10  # the outbox, once the alert is sent
    assert calls["cloudwatch:PutMetricData"] == 1
    assert "dynamodb:GetItem" not in calls
    assert calls["total"] == 1 + 2 + 10 + 10 + 10 + 10 + 10 + 1


def test_calls_stay_batched_with_unpartitioned_products(env: Env) -> None:
    # 500 partitioned and 500 unpartitioned products; 5 of each late: the same calls as all partitioned.
    entries = [
        contract(product=f"p{i:04d}", slack_channel=None, **({"partition_template": ""} if i % 2 else {}))
        for i in range(1000)
    ]
    env.write_manifest(entries)
    late = {f"sales.p{i * 100 + i % 2:04d}" for i in range(10)}
    stamp = {"S": "2026-11-25T05:30:00Z"}
    requests = [
        {
            "PutRequest": {
                "Item": {"product_key": {"S": e["product_key"]}, "period_key": {"S": "latest"}, "delivered_at": stamp}
                if e.get("partition_template") == ""
                else {"product_key": {"S": e["product_key"]}, "period_key": {"S": PERIOD}}
            }
        }
        for e in entries
        if e["product_key"] not in late
    ]
    ddb = boto3.client("dynamodb", region_name=REGION)
    for start in range(0, len(requests), 25):
        ddb.batch_write_item(RequestItems={DELIVERY: requests[start : start + 25]})
    summary = env.run(DEADLINE + timedelta(minutes=2))
    assert (summary.checks, summary.on_time, summary.breaches) == (1000, 990, 10)
    calls = summary.aws_calls
    assert calls["dynamodb:BatchGetItem"] == 10
    assert calls["s3:HeadObject"] == 10
    assert calls["dynamodb:TransactWriteItems"] == 10
    assert calls["sns:Publish"] == 10
    assert calls["total"] == 1 + 2 + 10 + 10 + 10 + 10 + 10 + 1


class FlakyBatchGet:
    """Delegates to a real client; the first BatchGetItem returns half its keys as UnprocessedKeys."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.flaked = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 - boto3 name
        if self.flaked:
            return self.real.batch_get_item(RequestItems=RequestItems)
        self.flaked = True
        table, spec = next(iter(RequestItems.items()))
        keys = spec["Keys"]
        half = len(keys) // 2
        response = self.real.batch_get_item(RequestItems={table: {**spec, "Keys": keys[:half]}})
        response["UnprocessedKeys"] = {table: {**spec, "Keys": keys[half:]}}
        return response


def test_unprocessed_keys_are_retried(env: Env) -> None:
    env.write_manifest([contract(product=f"p{i}") for i in range(4)])
    for i in range(4):
        env.deliver(f"sales.p{i}", PERIOD, DEADLINE - timedelta(minutes=5))
    env.clients._clients["dynamodb"] = FlakyBatchGet(env.clients.dynamodb)
    summary = env.run(DEADLINE + timedelta(minutes=1))
    assert (summary.on_time, summary.breaches) == (4, 0)
    assert env.sleeps == [0.5 * 0.1]  # one jittered backoff, no real sleep


# ----------------------------------------------------------------------------------------------- Slack delivery


def test_slack_down_three_500s_goes_to_dlq(env: Env) -> None:
    env.slack.script = [500, 500, 500]
    summary = env.run(DEADLINE + timedelta(minutes=1))
    assert summary.alerts[0]["slack"] == "failed"
    assert summary.alerts[0]["sns"] == "sent"
    assert len(env.slack.requests) == 3
    assert env.sleeps == [0.25, 0.5]  # full jitter (rand=0.5) of 0.5 s, 1 s
    [dead] = drain(env.dlq)
    assert dead["target"] == "slack"
    assert dead["channel"] == "#sales-data"
    assert dead["reason"] == "HTTP 500 after 3 attempt(s)"
    assert dead["alert"]["subject"].startswith("[SLO BREACH] sales.orders")
    assert "hooks" not in json.dumps(dead)
    assert "127.0.0.1" not in json.dumps(dead)  # webhook URL never leaves the secret


def test_slack_outage_opens_circuit_for_the_rest_of_the_run(env: Env) -> None:
    env.write_manifest([contract(product=f"p{i}") for i in range(5)])
    env.slack.script = [500] * 9
    summary = env.run(DEADLINE + timedelta(minutes=1))
    assert [a["slack"] for a in summary.alerts] == ["failed"] * 5
    assert len(env.slack.requests) == 9  # 3 alerts x 3 attempts, then Slack is skipped
    reasons = [dead["reason"] for dead in drain(env.dlq)]
    assert reasons.count("HTTP 500 after 3 attempt(s)") == 3
    assert reasons.count("Slack unavailable: skipped after 3 consecutive failed deliveries") == 2
    assert [a["sns"] for a in summary.alerts] == ["sent"] * 5


def test_slack_429_retry_after_then_ok(env: Env) -> None:
    env.slack.script = [(429, {"Retry-After": "2"}), 200]
    summary = env.run(DEADLINE + timedelta(minutes=1))
    assert summary.alerts[0]["slack"] == "sent"
    assert env.sleeps == [2.0]
    assert len(env.slack.requests) == 2
    assert drain(env.dlq) == []


def test_slack_timeout_then_ok(env: Env) -> None:
    env.slack.script = ["hang", 200]
    summary = env.run(DEADLINE + timedelta(minutes=1), timeout=0.2)
    assert summary.alerts[0]["slack"] == "sent"
    assert len(env.slack.requests) == 2
    assert env.sleeps == [0.25]
    assert drain(env.dlq) == []


def test_slack_timeouts_exhausted_go_to_dlq(env: Env) -> None:
    env.slack.script = ["hang", "hang"]
    summary = env.run(DEADLINE + timedelta(minutes=1), timeout=0.1, max_attempts=2)
    assert summary.alerts[0]["slack"] == "failed"
    [dead] = drain(env.dlq)
    assert dead["reason"].startswith("timeout")


def test_slack_404_goes_to_dlq_without_retry(env: Env) -> None:
    env.slack.script = [404]
    env.run(DEADLINE + timedelta(minutes=1))
    assert len(env.slack.requests) == 1
    assert env.sleeps == []
    [dead] = drain(env.dlq)
    assert dead["reason"] == "HTTP 404 after 1 attempt(s)"


def test_unknown_channel_goes_to_dlq(env: Env) -> None:
    env.write_manifest([contract(slack_channel="#nobody")])
    env.run(DEADLINE + timedelta(minutes=1))
    assert env.slack.requests == []
    [dead] = drain(env.dlq)
    assert dead["reason"] == "no webhook configured for channel #nobody"


def test_sns_failure_goes_to_dlq(env: Env) -> None:
    notifier = Notifier(env.clients, slack_secret_arn=None, dlq_url=env.dlq)
    alert = Alert(
        kind="BREACH",
        subject="s",
        text="t",
        attributes={"domain": "sales"},
        topic_arn="arn:aws:sns:eu-west-1:123456789012:does-not-exist",
    )
    report = notifier.deliver(alert)
    assert report.sns == "failed"
    [dead] = drain(env.dlq)
    assert dead["target"] == "sns"
    assert "NotFound" in dead["reason"]


def test_sender_rejects_plain_http_to_remote_hosts() -> None:
    with pytest.raises(ValueError, match="https"):
        SlackSender().send("http://hooks.slack.example/x", {"text": "t"})


# ----------------------------------------------------------------------------------------------- handler


def test_handler_main_uses_event_time(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = env.settings
    for name, value in {
        "MANIFEST_BUCKET": settings.manifest_bucket,
        "MANIFEST_KEY": settings.manifest_key,
        "DELIVERY_TABLE": DELIVERY,
        "BREACH_TABLE": BREACHES,
        "DOMAIN_TOPIC_ARNS": json.dumps(dict(settings.domain_topics)),
        "DEFAULT_TOPIC_ARN": settings.default_topic_arn or "",
        "SLACK_SECRET_ARN": settings.slack_secret_arn or "",
        "ALERT_DLQ_URL": env.dlq,
    }.items():
        monkeypatch.setenv(name, value)
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "time": "2026-11-25T06:05:00Z"}
    result = handler_module.main(event, None)
    assert result["now"] == "2026-11-25T06:05:00Z"
    assert result["breaches"] == 1
    assert result["aws_calls"]["dynamodb:BatchGetItem"] == 1
    assert len(env.slack.requests) == 1
    # A second delivery of the same event: no new alert.
    assert handler_module.main(event, None)["breaches"] == 0


def test_settings_from_env_errors() -> None:
    with pytest.raises(ValueError, match="missing required environment variable\\(s\\): MANIFEST_BUCKET"):
        Settings.from_env({"MANIFEST_KEY": "k", "DELIVERY_TABLE": "d", "BREACH_TABLE": "b"})
    base = {"MANIFEST_BUCKET": "b", "MANIFEST_KEY": "k", "DELIVERY_TABLE": "d", "BREACH_TABLE": "b"}
    with pytest.raises(ValueError, match="SWEEP_MINUTES must be >= 1, got 0"):
        Settings.from_env({**base, "SWEEP_MINUTES": "0"})
    settings = Settings.from_env({**base, "DOMAIN_TOPIC_ARNS": "not json", "DEFAULT_TOPIC_ARN": "arn:x"})
    assert settings.topic_for("sales") == "arn:x"


# ------------------------------------------------------------------------- folders named by value (Hudi)


def test_marker_fallback_follows_the_marker_template(env: Env) -> None:
    """Hudi's default layout puts the period's data (and the notifier's marker) in ``2035-01-10/``,
    while the delivery is keyed ``dt=2035-01-10``: the manifest's ``marker_template`` says where to look."""
    env.write_manifest([contract(partition_template="dt={date:%Y-%m-%d}", marker_template="{date:%Y-%m-%d}")])
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=LAKE_BUCKET, Key="sales/orders/2035-01-10/_SUCCESS", Body=b""
    )
    summary = env.run(utc(2035, 1, 10, 6, 3))
    assert (summary.due, summary.on_time, summary.breaches) == (1, 1, 0)


def test_open_breach_is_rechecked_at_the_marker_template(env: Env) -> None:
    env.write_manifest([contract(partition_template="dt={date:%Y-%m-%d}", marker_template="{date:%Y-%m-%d}")])
    first = env.run(utc(2035, 1, 10, 6, 3))
    assert first.breaches == 1
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=LAKE_BUCKET, Key="sales/orders/2035-01-10/_SUCCESS", Body=b""
    )
    assert env.run(utc(2035, 1, 10, 6, 30)).recoveries == 1


# ----------------------------------------------------------------------------------------------- secrets, channels

TOKEN = "XoXb9SeCrEtToKeN42"


@pytest.mark.parametrize(
    "bad_url",
    [
        f"https://hooks.slack.com:{TOKEN}/services/T0/B0/x",  # http.client.InvalidURL (not a ValueError)
        f"https://hooks.slack.com/services/T0/B0/{TOKEN} x",  # a space: InvalidURL quoting the path
        f"https://[{TOKEN}/services",  # ValueError from urlsplit
        f"https://hooks.slack.com/services/T0/B0/{TOKEN}\u00e9",  # UnicodeEncodeError quoting the path
        f"hooks.slack.com/services/T0/B0/{TOKEN}",  # no scheme
    ],
)
def test_malformed_webhook_never_leaks_and_never_stops_the_sweep(
    env: Env, bad_url: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 9 item 7: one bad channel's URL (holding the token) fails that channel only, quoted nowhere."""
    secret = make_webhook_secret(
        "slack-webhooks-mixed", {"#sales-data": bad_url, "#finance-data": f"{env.slack.url}/services/T0/B0/finance"}
    )
    env.settings = replace(env.settings, slack_secret_arn=secret)
    env.write_manifest([contract(), contract(domain="finance", product="ledger", slack_channel="#finance-data")])
    caplog.set_level(logging.DEBUG)

    summary = env.run(DEADLINE + timedelta(minutes=1))

    assert sorted((a["id"].split(":")[1], a["slack"]) for a in summary.alerts) == [
        ("finance.ledger", "sent"),
        ("sales.orders", "failed"),
    ]
    assert len(env.slack.requests) == 1  # the good channel got its alert
    dead = drain(env.dlq)
    assert [d["channel"] for d in dead] == ["#sales-data"]
    captured = capsys.readouterr()
    everything = (
        json.dumps(dead)
        + caplog.text
        + captured.out
        + captured.err
        + json.dumps([r.__dict__ for r in caplog.records], default=str)
    )
    assert TOKEN not in everything


def test_sender_errors_never_quote_the_url() -> None:
    for url in (f"https://hooks.slack.com:{TOKEN}/x", f"https://h/services/{TOKEN} x", f"ftp://h/{TOKEN}"):
        with pytest.raises(ValueError, match="Slack webhook URL") as caught:
            SlackSender(max_attempts=1).send(url, {"text": "t"})
        assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


def test_unreadable_secret_json_is_not_quoted(env: Env) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.put_secret_value(SecretId=env.settings.slack_secret_arn, SecretString=f'{{"#sales-data": "{TOKEN}')
    env.run(DEADLINE + timedelta(minutes=1))
    [dead] = drain(env.dlq)
    assert dead["reason"].startswith("secret unreadable") and TOKEN not in json.dumps(dead)


def test_slack_not_configured_is_visible_and_does_not_page(env: Env) -> None:
    """The deployed placeholder secret ``{}``: no DLQ message (its alarm pages), a metric and a report instead."""
    client = boto3.client("secretsmanager", region_name=REGION)
    client.put_secret_value(SecretId=env.settings.slack_secret_arn, SecretString="{}")

    summary = env.run(DEADLINE + timedelta(minutes=1))

    assert summary.alerts[0]["slack"] == "not_configured"
    assert summary.alerts[0]["sns"] == "sent"
    assert drain(env.dlq) == []
    stats = boto3.client("cloudwatch", region_name=REGION).get_metric_statistics(
        Namespace=env.settings.metric_namespace,
        MetricName="SlackNotConfigured",
        Dimensions=[{"Name": "Domain", "Value": "ALL"}],
        StartTime=DEADLINE - timedelta(hours=1),
        EndTime=DEADLINE + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum"],
    )
    assert sum(p["Sum"] for p in stats["Datapoints"]) == 1


# ----------------------------------------------------------------------------------------------- crashes


def _crash_scenarios() -> list[tuple[str, Any]]:
    """(name, setup) for each alert kind; setup(env) returns the ``now`` of the run that alerts."""

    def breach(env: Env) -> datetime:
        return DEADLINE + timedelta(minutes=1)

    def late(env: Env) -> datetime:
        env.deliver("sales.orders", PERIOD, DEADLINE + timedelta(minutes=20))
        return DEADLINE + timedelta(minutes=1)

    def recovery(env: Env) -> datetime:
        env.run(DEADLINE + timedelta(minutes=1))  # the breach (and its alert) first
        env.published()
        env.slack.requests.clear()
        env.deliver("sales.orders", PERIOD, DEADLINE + timedelta(hours=2))
        return DEADLINE + timedelta(hours=3)

    def escalation(env: Env) -> datetime:
        env.run(DEADLINE + timedelta(minutes=1))
        env.published()
        env.slack.requests.clear()
        return DEADLINE + timedelta(days=1, minutes=1)

    return [("BREACH", breach), ("LATE", late), ("RECOVERY", recovery), ("ESCALATION", escalation)]


@pytest.mark.parametrize(("kind", "setup"), _crash_scenarios(), ids=[k for k, _ in _crash_scenarios()])
def test_the_side_effects_of_an_alert(env: Env, monkeypatch: pytest.MonkeyPatch, kind: str, setup: Any) -> None:
    """The points a crash can fall between: record + outbox, SNS, Slack, outbox cleared."""
    now = setup(env)
    with crash_after(monkeypatch, None) as clean:
        env.run(now)
    assert _count(env, kind) == (1, 1)
    assert clean == ["TransactWriteItems", "Publish", "slack", "DeleteItem"]


def _count(env: Env, kind: str) -> tuple[int, int]:
    sns = [m for m in env.published() if m["MessageAttributes"]["kind"]["Value"] == kind]
    slack = [r for r in env.slack.requests if f"[SLO {kind.replace('RECOVERY', 'RECOVERED')}" in r["body"]["text"]]
    return len(sns), len(slack)


@pytest.mark.parametrize(("kind", "setup"), _crash_scenarios(), ids=[k for k, _ in _crash_scenarios()])
@pytest.mark.parametrize("crash_at", [1, 2, 3, 4])
def test_the_next_sweep_delivers_what_a_crashed_sweep_left(
    env: Env, monkeypatch: pytest.MonkeyPatch, kind: str, setup: Any, crash_at: int
) -> None:
    now = setup(env)
    with crash_after(monkeypatch, crash_at), pytest.raises(SimulatedCrash):
        env.run(now)
    during = _count(env, kind)
    env.slack.requests.clear()
    later = now + timedelta(seconds=env.settings.alert_lease_seconds + 60)
    summary = env.run(later)
    after = _count(env, kind)
    total = (during[0] + after[0], during[1] + after[1])
    assert 1 <= total[0] <= 2 and 1 <= total[1] <= 2, (during, after)
    assert summary.resent == (1 if crash_at < 4 else 0)
    env.slack.requests.clear()
    assert _count(env, kind) == (0, 0) and env.run(later + timedelta(minutes=5)).resent == 0
