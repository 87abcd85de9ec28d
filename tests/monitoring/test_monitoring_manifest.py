"""The SLO manifest built from contracts, and the failed-job event patterns (plain data, no CDK)."""

from __future__ import annotations

import pytest

from meshworks.constructs.mesh.contract import DataProductContract
from meshworks.constructs.mesh.loader import load_contracts
from meshworks.constructs.monitoring.job_events import JobService, failure_pattern, failure_patterns
from meshworks.constructs.monitoring.slo_manifest import build_manifest, partition_template
from meshworks.lambdas.slo_monitor.checker import parse_manifest
from tests.harness import ROOT


@pytest.fixture(scope="module")
def contracts() -> list[DataProductContract]:
    return load_contracts([ROOT / "contracts"])


def _contract(base: DataProductContract, **changes: object) -> DataProductContract:
    return DataProductContract.model_validate({**base.model_dump(mode="json"), **changes})


def test_manifest_from_the_example_contracts(contracts: list[DataProductContract]) -> None:
    manifest = build_manifest(contracts)
    assert manifest.document == {
        "version": 1,
        "slos": [
            {
                "product_key": "marketing.campaigns",
                "domain": "marketing",
                "product": "campaigns",
                "owner": "growth-analytics",
                "slack_channel": "#growth-analytics",
                "cron": "0 */4 * * *",
                "timezone": "America/New_York",
                "grace_minutes": 30,
                "location": "s3://acme-marketing-lake/iceberg/campaigns/",
                "partition_template": "",
            },
            {
                "product_key": "marketing.web_sessions",
                "domain": "marketing",
                "product": "web_sessions",
                "owner": contracts[1].owner,
                "slack_channel": "#growth-analytics",
                "cron": "15 * * * *",
                "timezone": "UTC",
                "grace_minutes": 45,
                "location": "s3://acme-marketing-lake/raw/web_sessions/",
                "partition_template": "dt={date:%Y-%m-%d}/hour={local:%H}",
            },
            {
                "product_key": "sales.customers",
                "domain": "sales",
                "product": "customers",
                "owner": "sales-data",
                "slack_channel": "#sales-data-alerts",
                "cron": "30 6 * * *",
                "timezone": "Europe/Berlin",
                "grace_minutes": 60,
                "location": "s3://acme-sales-curated-eu-west-1/customers/",
                "partition_template": "",
            },
            {
                "product_key": "sales.orders",
                "domain": "sales",
                "product": "orders",
                "owner": "sales-data",
                "slack_channel": "#sales-data-alerts",
                "cron": "0 6 * * *",
                "timezone": "UTC",
                "grace_minutes": 90,
                "location": "s3://acme-sales-curated-eu-west-1/orders/",
                "partition_template": "order_date={date:%Y-%m-%d}",
            },
        ],
    }
    assert manifest.domains == ["marketing", "sales"]
    assert manifest.buckets == ["acme-marketing-lake", "acme-sales-curated-eu-west-1"]
    assert manifest.skipped == {}  # unpartitioned products are monitored by their latest delivery


def test_the_runtime_accepts_the_manifest(contracts: list[DataProductContract]) -> None:
    parsed, errors = parse_manifest(build_manifest(contracts).document)
    assert errors == []
    assert [(c.product_key, c.unpartitioned) for c in parsed] == [
        ("marketing.campaigns", True),
        ("marketing.web_sessions", False),
        ("sales.customers", True),
        ("sales.orders", False),
    ]
    customers = next(c for c in parsed if c.product_key == "sales.customers")
    assert (customers.timezone, customers.cron, customers.grace.total_seconds()) == (
        "Europe/Berlin",
        "30 6 * * *",
        3600,
    )
    manifest = build_manifest(contracts, {"sales.orders": "order_date={prev_date:%Y-%m-%d}"})
    parsed, errors = parse_manifest(manifest.document)
    assert errors == []
    orders = next(c for c in parsed if c.product_key == "sales.orders")
    assert (orders.unpartitioned, orders.partition_template) == (False, "order_date={prev_date:%Y-%m-%d}")
    # A partition template on an unpartitioned product would breach every period (the notifier keys
    # its deliveries by snapshot/event id): refused at synth.
    with pytest.raises(ValueError, match=r"partition_templates\['sales.customers'\].*not the product's \[\]"):
        build_manifest(contracts, {"sales.customers": "dt={date:%Y-%m-%d}"})


def test_partition_templates_override_and_errors(contracts: list[DataProductContract]) -> None:
    manifest = build_manifest(contracts, {"sales.orders": "order_date={prev_date:%Y-%m-%d}"})
    orders = next(e for e in manifest.entries if e["product_key"] == "sales.orders")
    assert orders["partition_template"] == "order_date={prev_date:%Y-%m-%d}"
    with pytest.raises(ValueError, match="unknown data products: sales.refunds"):
        build_manifest(contracts, {"sales.refunds": "dt={date}"})
    with pytest.raises(ValueError, match="two contracts define the data product 'sales.orders'"):
        build_manifest([*contracts, contracts[-1]])


def test_partition_template_rules(contracts: list[DataProductContract]) -> None:
    orders = contracts[-1]
    column = {"type": "string", "description": "A partition column of the test."}
    assert partition_template(orders) == "order_date={date:%Y-%m-%d}"
    assert (
        partition_template(_contract(orders, partition_keys=[{**column, "name": "ds"}, {**column, "name": "hr"}]))
        == "ds={date:%Y-%m-%d}/hr={local:%H}"
    )
    by_region = _contract(orders, partition_keys=[{**column, "name": "region"}])
    assert partition_template(by_region) is None
    assert partition_template(_contract(orders, partition_keys=[])) == ""
    # Keys that map to no period are still left out (with the reason), unless overridden.
    assert build_manifest([by_region]).skipped == {
        "sales.orders": "partition keys ['region'] do not map to a period (date keys and day/hour-named keys of matching types only); "
        "set monitoring.partition_templates['sales.orders'] to monitor it"
    }
    [entry] = build_manifest([by_region], {"sales.orders": ""}).entries
    assert entry["partition_template"] == ""


def test_failure_patterns_per_service() -> None:
    assert failure_patterns() == {
        JobService.GLUE: {
            "source": ["aws.glue"],
            "detail-type": ["Glue Job State Change"],
            "detail": {"state": ["FAILED", "TIMEOUT", "STOPPED"]},
        },
        JobService.EMR_SERVERLESS: {
            "source": ["aws.emr-serverless"],
            "detail-type": ["EMR Serverless Job Run State Change"],
            "detail": {"state": ["FAILED", "CANCELLED"]},
        },
        JobService.EMR_STEP: {
            "source": ["aws.emr"],
            "detail-type": ["EMR Step Status Change"],
            "detail": {"state": ["FAILED"]},
        },
        JobService.EMR_CLUSTER: {
            "source": ["aws.emr"],
            "detail-type": ["EMR Cluster State Change"],
            "detail": {"state": ["TERMINATED_WITH_ERRORS"]},
        },
        JobService.STEP_FUNCTIONS: {
            "source": ["aws.states"],
            "detail-type": ["Step Functions Execution Status Change"],
            "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"]},
        },
    }
    arn = "arn:aws:states:eu-west-1:111111111111:stateMachine:nightly"
    assert failure_pattern(JobService.STEP_FUNCTIONS, state_machine_arns=[arn])["detail"]["stateMachineArn"] == [arn]
    assert "stateMachineArn" not in failure_pattern(JobService.GLUE, state_machine_arns=[arn])["detail"]


def test_patterns_agree_with_the_runtime() -> None:
    """Every state a rule routes is one the job-alert Lambda alerts on (and vice versa)."""
    from meshworks.lambdas.slo_monitor.job_alerts import ALERT_STATES

    routed = {p["detail-type"][0]: frozenset(next(iter(p["detail"].values()))) for p in failure_patterns().values()}
    assert routed == ALERT_STATES
