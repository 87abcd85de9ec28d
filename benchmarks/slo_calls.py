"""AWS API calls (and CPU time) of one SLO sweep for 1,000 and 10,000 synthetic contracts, under moto.

Run: ``.venv/bin/python benchmarks/slo_calls.py [--late-percent 1] [--unpartitioned-percent 50]``

Every contract has a deadline inside the run's window; ``--late-percent`` of them have no delivery
(breach path: HeadObject fallback + conditional PutItem + SNS publish). ``--unpartitioned-percent`` of
them are unpartitioned (manifest ``partition_template`` ``""``; delivery = the product's ``latest`` item). Slack is not configured (its
cost is one HTTPS POST per alert, no AWS call). Prints calls per operation and per 1,000 checks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto's fake credentials
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
    }
)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

try:
    from meshworks.lambdas.slo_monitor.aws import AwsClients
    from meshworks.lambdas.slo_monitor.checker import ManifestCache, Settings, Sweeper
    from meshworks.lambdas.slo_monitor.notify import Notifier
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambdas"))
    from slo_monitor.aws import AwsClients  # type: ignore[no-redef]
    from slo_monitor.checker import ManifestCache, Settings, Sweeper  # type: ignore[no-redef]
    from slo_monitor.notify import Notifier  # type: ignore[no-redef]

REGION = "eu-west-1"
UTC = timezone.utc
NOW = datetime(2026, 11, 25, 6, 5, tzinfo=UTC)
ZONES = [("Europe/Berlin", 6, 60), ("UTC", 5, 60), ("America/New_York", 0, 60), ("Asia/Kolkata", 10, 60)]
# Every (zone, local hour, grace) above, at minute m (+30 in Kolkata, UTC+05:30), gives a deadline of
# 06:0m UTC on 2026-11-25, i.e. inside the window of the run at 06:05 UTC.


def _contracts(count: int, unpartitioned_every: int = 0) -> list[dict[str, Any]]:
    entries = []
    for i in range(count):
        zone, hour, grace = ZONES[i % len(ZONES)]
        minute = 1 + i % 4
        if zone == "Asia/Kolkata":
            minute += 30
        entries.append(
            {
                "product_key": f"d{i % 40}.p{i:05d}",
                "domain": f"d{i % 40}",
                "product": f"p{i:05d}",
                "owner": "owner@example.com",
                "cron": f"{minute} {hour} * * *",
                "timezone": zone,
                "grace_minutes": grace,
                "location": f"s3://lake/d{i % 40}/p{i:05d}",
            }
        )
        # Shifted every 100 contracts so that the late ones (i % 100 == 0) are mixed as well.
        if unpartitioned_every and (i + i // 100) % unpartitioned_every == 0:
            entries[-1]["partition_template"] = ""
    return entries


def _setup(count: int, late_every: int, unpartitioned_every: int = 0) -> tuple[Settings, list[dict[str, Any]]]:
    s3 = boto3.client("s3", region_name=REGION)
    for bucket in ("manifests", "lake"):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    ddb = boto3.client("dynamodb", region_name=REGION)
    keys = [{"AttributeName": "product_key", "KeyType": "HASH"}, {"AttributeName": "period_key", "KeyType": "RANGE"}]
    attrs = [
        {"AttributeName": "product_key", "AttributeType": "S"},
        {"AttributeName": "period_key", "AttributeType": "S"},
    ]
    ddb.create_table(TableName="deliveries", KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST")
    ddb.create_table(
        TableName="breaches",
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
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="slo")["TopicArn"]
    entries = _contracts(count, unpartitioned_every)
    s3.put_object(Bucket="manifests", Key="manifest.json", Body=json.dumps({"version": 1, "slos": entries}))
    puts = [
        {
            "PutRequest": {
                "Item": {
                    "product_key": {"S": e["product_key"]},
                    "period_key": {"S": "latest" if e.get("partition_template") == "" else "dt=2026-11-25"},
                    "delivered_at": {"S": "2026-11-25T05:30:00Z"},
                }
            }
        }
        for i, e in enumerate(entries)
        if not late_every or i % late_every
    ]
    for start in range(0, len(puts), 25):
        ddb.batch_write_item(RequestItems={"deliveries": puts[start : start + 25]})
    settings = Settings(
        manifest_bucket="manifests",
        manifest_key="manifest.json",
        delivery_table="deliveries",
        breach_table="breaches",
        default_topic_arn=topic,
        region=REGION,
    )
    return settings, entries


def measure(count: int, late_percent: float, unpartitioned_percent: float = 0) -> dict[str, Any]:
    late_every = int(100 / late_percent) if late_percent else 0
    unpartitioned_every = int(100 / unpartitioned_percent) if unpartitioned_percent else 0
    with mock_aws():
        settings, _ = _setup(count, late_every, unpartitioned_every)
        clients = AwsClients(region=REGION)
        notifier = Notifier(clients, slack_secret_arn=None, dlq_url=None)
        sweeper = Sweeper(settings, clients, notifier, manifest=ManifestCache(), clock=lambda: NOW)
        started = time.perf_counter()
        first = sweeper.run(NOW)
        elapsed = time.perf_counter() - started
        second = sweeper.run(NOW + timedelta(minutes=5))  # overlap re-check, cached manifest
        idle = sweeper.run(NOW + timedelta(hours=3))  # nothing due
    return {"count": count, "first": first, "second": second, "idle": idle, "seconds": elapsed}


def _print(result: dict[str, Any]) -> None:
    for label in ("first", "second", "idle"):
        summary = result[label]
        calls = summary.aws_calls
        checks = summary.due
        per_k = calls["total"] * 1000 / checks if checks else float("nan")
        print(
            f"{result['count']:>6} contracts  {label:<6} due={checks:<6} breaches={summary.breaches:<4} "
            f"calls={calls['total']:<5} per 1,000 checks={per_k:7.1f}"
        )
        print("        " + ", ".join(f"{k}={v}" for k, v in calls.items() if k != "total"))
    print(f"        first run wall time under moto: {result['seconds']:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--late-percent", type=float, default=1.0)
    parser.add_argument("--unpartitioned-percent", type=float, default=0.0)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000])
    args = parser.parse_args()
    for size in args.sizes:
        _print(measure(size, args.late_percent, args.unpartitioned_percent))


if __name__ == "__main__":
    main()
