"""Notifier -> SLO sweeper end to end on moto: a complete delivery is on time, a half-done one never is.

The notifier runs for real (``mesh_notifier.handler.process``) in the SLO tests' moto world
(``test_slo_monitor.env``: manifest, delivery and breach tables, alert topics); the sweeper then
reads only what the notifier wrote.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest
from test_slo_monitor import DEADLINE, DELIVERY, LAKE_BUCKET, PERIOD, REGION, Env, env, utc  # noqa: F401

from meshworks.lambdas.mesh_notifier import handler
from meshworks.lambdas.mesh_notifier.core import Config
from tests.lambdas.moto_hub import reused_notifier_clients

HUB = "111111111111"


class Crash(BaseException):
    """A hard crash of the notifier between two side effects."""


@pytest.fixture
def notifier(env: Env) -> Any:  # noqa: F811 - the SLO tests' moto world
    glue = boto3.client("glue", region_name=REGION)
    glue.create_database(DatabaseInput={"Name": "sales"})
    glue.create_table(
        DatabaseName="sales",
        TableInput={
            "Name": "orders",
            "StorageDescriptor": {"Location": f"s3://{LAKE_BUCKET}/sales/orders", "Columns": []},
            "PartitionKeys": [{"Name": "dt", "Type": "string"}],
            "Parameters": {"meshworks:producer_account": HUB},
        },
    )
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="mesh-refreshed")["TopicArn"]
    config = Config.from_env({"DELIVERY_TABLE": DELIVERY, "TOPIC_ARN": topic})
    with reused_notifier_clients():
        yield config, handler.get_clients(config)


def event() -> dict[str, Any]:
    return {
        "id": "evt-1",
        "account": HUB,
        "source": "meshworks.producer",
        "detail-type": "DataProductRefreshed",
        "detail": {"domain": "sales", "product": "orders", "partition": {"dt": PERIOD.removeprefix("dt=")}},
    }


def test_delivery_before_the_deadline_is_on_time(env: Env, notifier: Any) -> None:  # noqa: F811
    config, clients = notifier
    handler.process(event(), config, clients, utc(2026, 11, 25, 5, 30), "req-1")
    summary = env.run(DEADLINE + timedelta(minutes=2))
    assert (summary.due, summary.on_time, summary.breaches) == (1, 1, 0)


def test_half_done_delivery_is_never_on_time_and_recovers_once_finished(
    env: Env, notifier: Any, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """Fault 1: the partition is registered, then the notifier fails before publishing (e.g. Lake Formation
    or publish denied, then a crash). The sweeper must report the period late, not on time."""
    config, clients = notifier

    def crash(*_: Any, **__: Any) -> None:
        raise Crash("publish never happened")

    monkeypatch.setattr(handler, "publish", crash)
    with pytest.raises(Crash):
        handler.process(event(), config, clients, utc(2026, 11, 25, 5, 30), "req-1")
    summary = env.run(DEADLINE + timedelta(minutes=2))
    assert (summary.on_time, summary.breaches) == (0, 1)

    monkeypatch.undo()
    handler.process(event(), config, clients, utc(2026, 11, 25, 6, 40), "req-2")  # the retry completes it
    recovered = env.run(DEADLINE + timedelta(minutes=50), checked_at=utc(2026, 11, 25, 6, 52))
    assert recovered.breaches == 0 and env.breach("sales.orders", PERIOD)["status"]["S"] == "CLOSED"
