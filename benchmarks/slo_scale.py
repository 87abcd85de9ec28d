#!/usr/bin/env python3
"""CloudFormation cost of SLO monitoring per data product: one sweeper + manifest vs one schedule per product.

Both designs are synthesized (offline, no nag) for N synthetic products spread over D domains
(one bucket per domain), and the script prints resources, stacks, template bytes, manifest bytes
and synth time:

* **sweeper** (what ``SloMonitor`` does): the SLOs are compiled into one S3 manifest (a CDK asset);
  one EventBridge rate rule runs one Lambda that evaluates every cron in its time zone.
* **scheduler**: one ``AWS::Scheduler::Schedule`` per product in one schedule group (cron +
  ``ScheduleExpressionTimezone``, the product as the target input) invoking one checker Lambda.
  CDK refuses a stack over 500 resources, so schedules are spread over shard stacks of at most
  ``--per-stack`` schedules (a product's shard is a hash of its key, so products do not move).

    .venv/bin/python benchmarks/slo_scale.py [--products 1000 10000] [--domains 20]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
os.environ["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

from aws_cdk import App, Environment, Stack  # noqa: E402
from aws_cdk import aws_dynamodb as dynamodb  # noqa: E402
from aws_cdk import aws_iam as iam  # noqa: E402
from aws_cdk import aws_scheduler as scheduler  # noqa: E402
from aws_cdk import aws_sqs as sqs  # noqa: E402

from meshworks.constructs.core.platform_function import PlatformFunction  # noqa: E402
from meshworks.constructs.core.platform_key import PlatformKey  # noqa: E402
from meshworks.constructs.mesh.contract import DataProductContract  # noqa: E402
from meshworks.constructs.monitoring import SloMonitor  # noqa: E402
from meshworks.constructs.monitoring.slo_manifest import build_manifest  # noqa: E402
from meshworks.constructs.monitoring.slo_monitor import secure_topic  # noqa: E402

ENV = Environment(account="111111111111", region="eu-west-1")
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]


def synthetic_contracts(count: int, domains: int) -> list[DataProductContract]:
    """``count`` valid daily-partitioned contracts over ``domains`` domains (one bucket each)."""
    template = {
        "description": "Synthetic data product for the SLO scale benchmark; one row per event.",
        "owner": "bench-team",
        "contact": {"email": "bench@example.com", "slack_channel": "#bench-alerts"},
        "format": "parquet",
        "columns": [{"name": "event_id", "type": "bigint", "description": "Event identifier."}],
        "partition_keys": [{"name": "dt", "type": "string", "description": "Day of the events."}],
        "classification": "internal",
    }
    contracts = []
    for i in range(count):
        domain = f"domain_{i % domains:02d}"
        contracts.append(
            DataProductContract.model_validate(
                {
                    **template,
                    "name": f"product_{i:05d}",
                    "domain": domain,
                    "location": f"s3://bench-{domain.replace('_', '-')}-lake/product_{i:05d}/",
                    "slo": {"cron": f"{i % 60} {i % 12} * * *", "timezone": ZONES[i % len(ZONES)], "grace_minutes": 60},
                }
            )
        )
    return contracts


def eventbridge_cron(cron: str, grace_minutes: int) -> str:
    """The deadline (cron + grace) as an EventBridge Scheduler cron, for the daily crons used here.

    General crons cannot always be shifted by a grace period inside one cron expression (a shift
    across midnight changes day-of-week / day-of-month lists, across month ends it is not
    expressible at all); the sweeper evaluates ``occurrence + grace`` in code instead.
    """
    minute, hour, dom, month, dow = cron.split()
    total = int(hour) * 60 + int(minute) + grace_minutes
    if total >= 24 * 60 or dom != "*" or dow != "*":
        raise ValueError(f"{cron!r} + {grace_minutes} min is not expressible as one daily cron")
    return f"cron({total % 60} {total // 60} * {month} ? *)"


def sweeper_design(app: App, contracts: list[DataProductContract]) -> list[Stack]:
    stack = Stack(app, "SweeperDesign", env=ENV)
    SloMonitor(
        stack,
        "Slo",
        contracts=contracts,
        delivery_table=dynamodb.Table.from_table_name(stack, "Deliveries", "bench-deliveries"),
        name_prefix="b",
    )
    return [stack]


def scheduler_design(app: App, contracts: list[DataProductContract], per_stack: int) -> list[Stack]:
    base = Stack(app, "SchedulerDesign", env=ENV)
    key = PlatformKey(base, "Key")
    checker = PlatformFunction(
        base, "Checker", package="slo_monitor", handler="slo_monitor.handler.main", encryption_key=key
    )
    group = scheduler.CfnScheduleGroup(base, "Group", name="bench-slo")
    role = iam.Role(
        base,
        "SchedulerRole",
        assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
        role_name="bench-slo-scheduler",
    )
    checker.function.grant_invoke(role)
    dlq = sqs.Queue(base, "ScheduleDlq", queue_name="bench-slo-schedules-dlq", encryption_master_key=key)
    dlq.grant_send_messages(role)
    for domain in sorted({c.domain for c in contracts}):
        secure_topic(base, f"Topic-{domain}", key=key, topic_name=f"b-{domain}", display_name=domain)
    # Shards refer to the base by deterministic names (no exports), as the platform does.
    function_arn = f"arn:aws:lambda:{ENV.region}:{ENV.account}:function:bench-slo-checker"
    role_arn = f"arn:aws:iam::{ENV.account}:role/bench-slo-scheduler"
    dlq_arn = f"arn:aws:sqs:{ENV.region}:{ENV.account}:bench-slo-schedules-dlq"
    entries = {e["product_key"]: e for e in build_manifest(contracts).entries}
    shard_count = max(1, -(-len(contracts) * 10 // (per_stack * 9)))  # 10 % headroom for hash imbalance
    shards: dict[int, list[DataProductContract]] = {}
    for contract in contracts:
        digest = int(hashlib.sha256(contract.qualified_name.encode()).hexdigest(), 16)
        shards.setdefault(digest % shard_count, []).append(contract)
    stacks: list[Stack] = [base]
    for index in sorted(shards):
        shard = Stack(app, f"SchedulerDesignShard{index:03d}", env=ENV)
        shard.add_stack_dependency(base)
        for contract in shards[index]:
            scheduler.CfnSchedule(
                shard,
                contract.qualified_name.replace(".", "-"),
                group_name=group.name,
                schedule_expression=eventbridge_cron(contract.slo.cron, contract.slo.grace_minutes),
                schedule_expression_timezone=contract.slo.timezone,
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=function_arn,
                    role_arn=role_arn,
                    input=json.dumps(entries[contract.qualified_name], separators=(",", ":")),
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=2),
                    dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=dlq_arn),
                ),
            )
        stacks.append(shard)
    return stacks


def measure(design: str, products: int, domains: int, per_stack: int) -> dict[str, Any]:
    contracts = synthetic_contracts(products, domains)
    with tempfile.TemporaryDirectory() as outdir:
        start = time.perf_counter()
        app = App(outdir=outdir, builtin_cloud_formation_validation=False)
        stacks = sweeper_design(app, contracts) if design == "sweeper" else scheduler_design(app, contracts, per_stack)
        assembly = app.synth()
        seconds = time.perf_counter() - start
        resources, sizes = 0, []
        for stack in stacks:
            text = Path(assembly.directory, f"{stack.artifact_id}.template.json").read_text()
            resources += len(json.loads(text)["Resources"])
            sizes.append(len(text.encode()))
        manifest = build_manifest(contracts).document if design == "sweeper" else None
    return {
        "design": design,
        "products": products,
        "domains": domains,
        "stacks": len(stacks),
        "resources": resources,
        "resources_per_product": resources / products,
        "template_bytes": sum(sizes),
        "largest_template_bytes": max(sizes),
        "manifest_bytes": len(json.dumps(manifest, separators=(",", ":")).encode()) if manifest else 0,
        "synth_seconds": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument(
        "--per-stack", type=int, default=450, help="schedules per shard stack (CDK limit: 500 resources)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per measurement")
    args = parser.parse_args(argv)
    header = (
        f"{'design':<10} {'products':>8} {'stacks':>6} {'resources':>9} {'res/product':>11} "
        f"{'templates KB':>12} {'largest KB':>10} {'manifest KB':>11} {'synth s':>8}"
    )
    if not args.json:
        print(f"Python {sys.version.split()[0]}, {args.domains} domains (one SNS topic each in both designs)")
        print(header)
    for products in args.products:
        for design in ("sweeper", "scheduler"):
            row = measure(design, products, args.domains, args.per_stack)
            if args.json:
                print(json.dumps(row))
                continue
            print(
                f"{row['design']:<10} {row['products']:>8} {row['stacks']:>6} {row['resources']:>9} "
                f"{row['resources_per_product']:>11.3f} {row['template_bytes'] / 1024:>12.1f} "
                f"{row['largest_template_bytes'] / 1024:>10.1f} {row['manifest_bytes'] / 1024:>11.1f} "
                f"{row['synth_seconds']:>8.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
