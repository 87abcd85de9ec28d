"""meshworks example feature job (PySpark, EMR Serverless 7.x): one DataFrame written to Keyspaces and to Delta.

Reads raw customer events (Parquet: ``customer_id`` string, ``event_type`` string, ``amount`` double,
``event_time`` timestamp) from ``--source``, computes one feature row per customer for the run's date and writes
the same rows to

* the online store, an Amazon Keyspaces table (Spark Cassandra connector + SigV4 plugin: no passwords), and
* the offline store, a Delta table partitioned by ``--partition-column``.

Delivery guarantee: at-least-once runs, idempotent outputs. A retried run (Spark task retries, the state
machine's retries, a re-run by hand) rewrites the same rows: Keyspaces writes are upserts by primary key, and
the Delta write replaces only the run's partition (``replaceWhere``), so no row is duplicated.

The connector packages and the Keyspaces settings (LOCAL_QUORUM, one-row batches, retries) come from the job
run's ``spark-defaults`` (``FeatureJob`` in ``meshworks.constructs.features``); this script renders the Java
driver profile (contact point, SigV4, TLS) from ``--region`` and checks the account's partitioner first.

The functions above ``main`` are pure (no Spark) and tested in ``tests/features/test_feature_job_code.py``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

#: Keyspaces' partitioner the Spark Cassandra connector needs (an account setting, ``system.local``).
MURMUR3_PARTITIONER = "org.apache.cassandra.dht.Murmur3Partitioner"
CASSANDRA_FORMAT = "org.apache.spark.sql.cassandra"
#: File name of the rendered driver profile (``spark.cassandra.connection.config.profile.path``).
PROFILE_FILE = "keyspaces-driver.conf"
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The job's arguments (``EntryPointArguments`` of the job run); argparse exits with a usage message."""
    parser = argparse.ArgumentParser(prog="feature_job", description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="s3:// folder of the raw events (Parquet)")
    parser.add_argument("--keyspace", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--delta-location", required=True, help="s3:// folder of the Delta table")
    parser.add_argument("--glue-database", required=True)
    parser.add_argument("--glue-table", required=True)
    parser.add_argument("--partition-column", default="feature_date")
    parser.add_argument("--region", required=True, help="AWS Region of the Keyspaces table")
    parser.add_argument("--endpoint", default=None, help="Keyspaces endpoint; default cassandra.<region>.amazonaws.com")
    parser.add_argument("--run-time", required=True, help="ISO 8601 time of the scheduled run (UTC)")
    parser.add_argument("--lookback-days", type=int, default=30)
    parser.add_argument("--feature-set", default="behaviour_v1")
    parser.add_argument("--schema", required=True,
                        help="Spark DDL of the rows (the offline table's columns), e.g. 'customer_id string, ...'")
    return parser.parse_args(list(argv))


def run_date(run_time: str) -> date:
    """The run's logical date (UTC) from an ISO 8601 time (EventBridge Scheduler's ``scheduled-time`` or the
    execution's start time), e.g. ``2026-11-30T06:00:00Z`` -> 2026-11-30.

    Raises:
        ValueError: not an ISO 8601 time, naming the value.
    """
    try:
        moment = datetime.fromisoformat(run_time.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ValueError(f"--run-time {run_time!r} is not an ISO 8601 time, e.g. 2026-11-30T06:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


def window(day: date, lookback_days: int) -> tuple[datetime, datetime]:
    """``[start, end)`` of the events a run reads: the ``lookback_days`` days up to the end of ``day`` (UTC).

    Raises:
        ValueError: ``lookback_days`` below 1.
    """
    if lookback_days < 1:
        raise ValueError(f"--lookback-days {lookback_days}: give at least 1 day")
    end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    return end - timedelta(days=lookback_days), end


def customer_features(
    customer_id: str,
    events: Iterable[Mapping[str, Any]],
    *,
    day: date,
    lookback_days: int,
    feature_set: str,
    computed_at: datetime,
    partition_column: str = "feature_date",
) -> dict[str, Any] | None:
    """One feature row (the Keyspaces table's columns plus the Delta partition column) from a customer's events.

    Events outside the window (``window``) or without an amount are ignored; a customer with no event in the
    window gets no row (None). ``scores``: ``spend`` (sum of amounts), ``events``, ``purchases`` (count of
    ``purchase`` events) and ``avg_purchase`` (0.0 without purchases); ``flags``: the event types seen plus
    ``high_value`` when spend reaches 1,000.
    """
    start, end = window(day, lookback_days)
    spend = 0.0
    count = 0
    purchases = 0
    purchase_total = 0.0
    kinds: set[str] = set()
    for event in events:
        moment = event.get("event_time")
        if moment is None:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if not start <= moment < end:
            continue
        amount = event.get("amount")
        amount = float(amount) if amount is not None else 0.0
        kind = str(event.get("event_type") or "unknown")
        count += 1
        spend += amount
        kinds.add(kind)
        if kind == "purchase":
            purchases += 1
            purchase_total += amount
    if count == 0:
        return None
    flags = set(kinds)
    if spend >= 1000.0:
        flags.add("high_value")
    return {
        "customer_id": customer_id,
        "feature_set": feature_set,
        "computed_at": computed_at,
        "scores": {
            "spend": round(spend, 6),
            "events": float(count),
            "purchases": float(purchases),
            "avg_purchase": round(purchase_total / purchases, 6) if purchases else 0.0,
        },
        "flags": sorted(flags),
        "model": {"name": "rules", "version": 1},
        partition_column: day,
    }


def keyspaces_endpoint(region: str, endpoint: str | None = None) -> str:
    """The Keyspaces service endpoint of ``region`` (``.amazonaws.com.cn`` in China), or ``endpoint`` as given.

    Raises:
        ValueError: a malformed region.
    """
    if endpoint:
        return endpoint
    if not _REGION.match(region or ""):
        raise ValueError(f"--region {region!r} is not an AWS Region, e.g. eu-west-1")
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"cassandra.{region}.{suffix}"


def driver_profile(region: str, endpoint: str | None = None) -> str:
    """The DataStax Java driver profile (HOCON) for Keyspaces: TLS on port 9142, SigV4 with the job role's
    credentials (``software.aws.mcs.auth.SigV4AuthProvider``), the Region as local data centre, LOCAL_QUORUM
    (Keyspaces' write consistency), and no token-aware routing that assumes Cassandra's ring.
    Source: Amazon Keyspaces developer guide, "Using the Spark Cassandra Connector" (step 3)."""
    host = keyspaces_endpoint(region, endpoint)
    return "\n".join([
        "datastax-java-driver {",
        f'  basic.contact-points = ["{host}:9142"]',
        "  basic.load-balancing-policy {",
        "    class = DefaultLoadBalancingPolicy",
        f"    local-datacenter = {region}",
        "    slow-replica-avoidance = false",
        "  }",
        "  basic.request.consistency = LOCAL_QUORUM",
        "  advanced.auth-provider {",
        "    class = software.aws.mcs.auth.SigV4AuthProvider",
        f"    aws-region = {region}",
        "  }",
        "  advanced.ssl-engine-factory {",
        "    class = DefaultSslEngineFactory",
        "    hostname-validation = false",
        "  }",
        "  advanced.connection.pool.local.size = 3",
        "}",
        "",
    ])


def check_partitioner(partitioner: str | None) -> None:
    """Fail fast unless the account uses the Murmur3 partitioner, which the Spark Cassandra connector needs.

    Raises:
        RuntimeError: naming the partitioner found and the CQL that switches it (an account-wide setting,
            changed once by an administrator, not by this job's least-privilege role).
    """
    if partitioner != MURMUR3_PARTITIONER:
        fix = f"UPDATE system.local SET partitioner='{MURMUR3_PARTITIONER}' WHERE key='local'"  # noqa: S608 - text of a message
        raise RuntimeError(
            f"Keyspaces partitioner is {partitioner!r}, but the Spark Cassandra connector needs {MURMUR3_PARTITIONER}: "
            f"have an administrator run, once per account and Region: {fix}"
        )


def delta_write_options(partition_column: str, day: date) -> dict[str, str]:
    """Options of the Delta write: overwrite only the run's partition (idempotent re-runs)."""
    return {"replaceWhere": f"{partition_column} = '{day.isoformat()}'"}


def keyspaces_write_options(keyspace: str, table: str) -> dict[str, str]:
    """Options of the Keyspaces write (the batching, consistency and retries come from spark-defaults)."""
    return {"keyspace": keyspace, "table": table}


def check_catalog_location(table: Mapping[str, Any], delta_location: str) -> None:
    """The Glue table (``glue.get_table()["Table"]``) must be the Delta table this job writes.

    Raises:
        RuntimeError: another location or not a Delta table, naming both.
    """
    location = table.get("StorageDescriptor", {}).get("Location", "")
    kind = table.get("Parameters", {}).get("table_type", "")
    if location.rstrip("/") != delta_location.rstrip("/") or kind.upper() != "DELTA":
        raise RuntimeError(f"Glue table {table.get('DatabaseName')}.{table.get('Name')} is a {kind or 'non-Delta'} table "
                           f"at {location!r}, but this job writes Delta to {delta_location!r}: fix --delta-location or "
                           "the OfflineStore")


# ---------------------------------------------------------------------------------------------- Spark


def feature_frame(spark: Any, events: Any, *, schema: str, day: date, lookback_days: int, feature_set: str,
                  computed_at: datetime, partition_column: str) -> Any:  # pragma: no cover - needs Spark
    """The feature rows of ``events`` (a DataFrame of raw events) as a DataFrame with ``schema`` (Spark DDL of the
    offline table's columns): ``customer_features`` per customer, customers without events in the window dropped."""
    options = {"day": day, "lookback_days": lookback_days, "feature_set": feature_set, "computed_at": computed_at,
               "partition_column": partition_column}
    rows = (
        events.rdd.map(lambda r: (r["customer_id"], r.asDict()))
        .groupByKey()
        .map(lambda item: customer_features(item[0], item[1], **options))
        .filter(lambda row: row is not None)
    )
    return spark.createDataFrame(rows, schema=schema)


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - runs on EMR Serverless
    import os
    import sys
    import tempfile

    import boto3
    from pyspark.sql import SparkSession

    args = parse_args(sys.argv[1:] if argv is None else argv)
    day = run_date(args.run_time)
    computed_at = datetime.now(UTC)
    spark = SparkSession.builder.appName(f"feature-job-{args.table}-{day}").getOrCreate()

    glue = boto3.client("glue", region_name=args.region)
    check_catalog_location(glue.get_table(DatabaseName=args.glue_database, Name=args.glue_table)["Table"],
                           args.delta_location)  # fail before writing anything when the catalog disagrees

    profile = os.path.join(tempfile.mkdtemp(), PROFILE_FILE)
    with open(profile, "w", encoding="utf-8") as handle:
        handle.write(driver_profile(args.region, args.endpoint))
    spark.sparkContext.addFile(profile)
    spark.conf.set("spark.cassandra.connection.config.profile.path", PROFILE_FILE)

    local = spark.read.format(CASSANDRA_FORMAT).options(keyspace="system", table="local").load()
    check_partitioner(local.select("partitioner").first()["partitioner"])

    start, end = window(day, args.lookback_days)
    events = (
        spark.read.parquet(args.source)
        .where(f"event_time >= timestamp'{start:%Y-%m-%d %H:%M:%S}' AND event_time < timestamp'{end:%Y-%m-%d %H:%M:%S}'")
        .select("customer_id", "event_type", "amount", "event_time")
    )
    features = feature_frame(
        spark, events, schema=args.schema, day=day, lookback_days=args.lookback_days, feature_set=args.feature_set,
        computed_at=computed_at, partition_column=args.partition_column,
    ).persist()

    (features.drop(args.partition_column).write.format(CASSANDRA_FORMAT)
     .options(**keyspaces_write_options(args.keyspace, args.table)).mode("append").save())
    (features.write.format("delta").mode("overwrite").partitionBy(args.partition_column)
     .options(**delta_write_options(args.partition_column, day)).save(args.delta_location))
    print(f"feature job {args.keyspace}.{args.table} {day}: {features.count()} rows written to Keyspaces and Delta")
    spark.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
