"""The example feature job's logic as pure functions (no Spark): dates, windows, features, driver profile, checks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from meshworks.lambdas.feature_job import job

DAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 5, 7, tzinfo=UTC)


def _event(kind: str, amount: float | None, when: datetime) -> dict:
    return {"customer_id": "c1", "event_type": kind, "amount": amount, "event_time": when}


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-11-30T05:00:00Z", DAY),  # EventBridge Scheduler's scheduled-time
        ("2026-11-30T05:00:00.123Z", DAY),  # $$.Execution.StartTime
        ("2026-11-30T00:30:00+01:00", date(2026, 11, 29)),  # the date is UTC's
        ("2026-11-30T23:00:00", DAY),  # no zone: UTC
    ],
)
def test_run_date(text: str, day: date) -> None:
    assert job.run_date(text) == day


def test_bad_run_time_names_the_value() -> None:
    with pytest.raises(ValueError, match=r"--run-time 'yesterday' is not an ISO 8601 time"):
        job.run_date("yesterday")


def test_window_ends_with_the_run_date() -> None:
    assert job.window(DAY, 30) == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="--lookback-days 0"):
        job.window(DAY, 0)


def test_customer_features_from_events_in_the_window_only() -> None:
    events = [
        _event("purchase", 600.0, datetime(2026, 11, 30, 23, 59, tzinfo=UTC)),
        _event("purchase", 500.0, datetime(2026, 11, 2)),  # naive: UTC
        _event("page_view", None, datetime(2026, 11, 15, tzinfo=UTC)),
        _event("purchase", 9999.0, datetime(2026, 10, 31, 23, 59, tzinfo=UTC)),  # before the window
        _event("purchase", 9999.0, datetime(2026, 12, 1, tzinfo=UTC)),  # after the run date
        {"customer_id": "c1", "event_type": "purchase", "amount": 1.0, "event_time": None},  # no time
    ]
    row = job.customer_features("c1", events, day=DAY, lookback_days=30, feature_set="behaviour_v1", computed_at=NOW)
    assert row == {
        "customer_id": "c1",
        "feature_set": "behaviour_v1",
        "computed_at": NOW,
        "scores": {"spend": 1100.0, "events": 3.0, "purchases": 2.0, "avg_purchase": 550.0},
        "flags": ["high_value", "page_view", "purchase"],
        "model": {"name": "rules", "version": 1},
        "feature_date": DAY,
    }


def test_row_has_the_offline_columns_of_the_shipped_schema() -> None:
    """The row the job builds has exactly the Delta table's columns (the schema the construct passes)."""
    from pathlib import Path

    from meshworks.constructs.features import KeyspacesTableSchema, offline_columns

    schema = KeyspacesTableSchema.from_cql(
        (Path(__file__).resolve().parents[2] / "schemas/features/customer_features.cql").read_text()
    )
    row = job.customer_features("c1", [_event("x", 1.0, datetime(2026, 11, 30, tzinfo=UTC))], day=DAY,
                                lookback_days=1, feature_set="f", computed_at=NOW)
    assert row is not None and list(row) == [name for name, _ in offline_columns(schema)]


def test_no_events_no_row_and_no_purchase_no_average() -> None:
    assert job.customer_features("c1", [], day=DAY, lookback_days=30, feature_set="f", computed_at=NOW) is None
    row = job.customer_features("c1", [_event("page_view", None, datetime(2026, 11, 30, tzinfo=UTC))], day=DAY,
                                lookback_days=1, feature_set="f", computed_at=NOW, partition_column="ds")
    assert row is not None and row["scores"]["avg_purchase"] == 0.0 and row["flags"] == ["page_view"] and row["ds"] == DAY


def test_driver_profile_uses_sigv4_tls_and_local_quorum() -> None:
    profile = job.driver_profile("eu-west-1")
    assert 'basic.contact-points = ["cassandra.eu-west-1.amazonaws.com:9142"]' in profile
    assert "class = software.aws.mcs.auth.SigV4AuthProvider" in profile and "aws-region = eu-west-1" in profile
    assert "local-datacenter = eu-west-1" in profile
    assert "basic.request.consistency = LOCAL_QUORUM" in profile
    assert "class = DefaultSslEngineFactory" in profile
    assert "password" not in profile and "username" not in profile  # SigV4 only
    assert profile.count("{") == profile.count("}")
    assert "cassandra.cn-north-1.amazonaws.com.cn:9142" in job.driver_profile("cn-north-1")
    assert "vpce.example:9142" in job.driver_profile("eu-west-1", "vpce.example")
    with pytest.raises(ValueError, match="--region 'Ireland' is not an AWS Region"):
        job.driver_profile("Ireland")


def test_partitioner_check() -> None:
    job.check_partitioner("org.apache.cassandra.dht.Murmur3Partitioner")
    with pytest.raises(RuntimeError, match=r"partitioner is 'com.amazonaws.cassandra.DefaultPartitioner'.*UPDATE system.local"):
        job.check_partitioner("com.amazonaws.cassandra.DefaultPartitioner")


def test_writes_are_idempotent() -> None:
    assert job.delta_write_options("feature_date", DAY) == {"replaceWhere": "feature_date = '2026-11-30'"}
    assert job.keyspaces_write_options("features", "customer_features") == {"keyspace": "features", "table": "customer_features"}


def test_catalog_check() -> None:
    table = {"DatabaseName": "features", "Name": "cf", "Parameters": {"table_type": "DELTA"},
             "StorageDescriptor": {"Location": "s3://lake/features/cf/"}}
    job.check_catalog_location(table, "s3://lake/features/cf")
    with pytest.raises(RuntimeError, match="Glue table features.cf is a DELTA table at 's3://lake/features/cf/'"):
        job.check_catalog_location(table, "s3://lake/other/")
    with pytest.raises(RuntimeError, match="is a non-Delta table"):
        job.check_catalog_location({**table, "Parameters": {}}, "s3://lake/features/cf/")


def test_arguments_the_construct_passes_parse() -> None:
    args = job.parse_args([
        "--source", "s3://raw/events/", "--keyspace", "features", "--table", "customer_features",
        "--delta-location", "s3://cur/features/customer_features/", "--glue-database", "features",
        "--glue-table", "customer_features", "--partition-column", "feature_date",
        "--schema", "customer_id string, feature_date date", "--region", "eu-west-1", "--lookback-days", "30",
        "--run-time", "2026-11-30T05:00:00Z",
    ])
    assert args.lookback_days == 30 and args.partition_column == "feature_date" and args.endpoint is None
    with pytest.raises(SystemExit):
        job.parse_args(["--keyspace", "features"])
