"""Glue 5.0 PySpark job: copy one Apache Cassandra table to an Amazon Keyspaces table (full load or incremental run).

Started by the Glue jobs of ``meshworks.constructs.features.KeyspacesMigration``, which pass every setting as a job
argument (``--NAME value``, listed in ``ARGUMENTS``). The pure functions come first and are tested without Spark
(``tests/features/test_keyspaces_migration_job.py``); ``main`` is the thin Spark part.

What a run does:

1. Reads the high-water mark (``state_key`` in the state bucket, JSON ``{"high_water_mark": ISO-8601 UTC, ...}``).
   An incremental run without a mark, or while a full-load run is going (the first one or a re-run), copies nothing,
   emits ``Waiting`` = 1 and succeeds: the two jobs never write at the same time.
2. Refuses a Keyspaces account whose partitioner is not Murmur3 (the Spark Cassandra connector's token ranges need it).
3. Reads the source table (credentials from Secrets Manager, ``LOCAL_QUORUM`` so a write acknowledged by the source
   is seen before the mark moves past it). A full load takes every row; an incremental run the rows whose change
   column (an updated-at ``timestamp`` column, or the write time of a column) is in ``[mark - overlap, run start)``.
4. Writes them to Keyspaces through the SigV4 plugin (no service-specific password), ``LOCAL_QUORUM``, one row per
   batch, at most ``throughputMBPerSec`` per core and ``concurrent.writes`` per task (computed from the target's
   capacity by the construct, see :func:`write_rate`).
5. Moves the mark to the run's start and emits ``RowsRead``, ``RowsWritten``, ``RunDurationSeconds`` and (incremental
   runs) ``ReplicationLagSeconds`` to CloudWatch (namespace ``--METRICS_NAMESPACE``, dimensions ``Migration`` and ``Mode``).

Delivery guarantee: at least once. The mark moves only after the write succeeded; a failed or stopped run leaves it,
and the next run copies the same window again. Cassandra writes are upserts, so a row copied twice is the same row
(idempotent); the overlap re-reads late-arriving writes (client clocks, in-flight requests).
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

#: The two kinds of run.
FULL_LOAD = "full_load"
INCREMENTAL = "incremental"
MODES = (FULL_LOAD, INCREMENTAL)

#: How a row's change time is known: an updated-at ``timestamp`` column, or the write time (``WRITETIME``) of a column.
UPDATED_AT = "updated_at"
WRITETIME = "writetime"
CHANGE_KINDS = (UPDATED_AT, WRITETIME)

#: The Spark Cassandra connector's data source.
CASSANDRA_FORMAT = "org.apache.spark.sql.cassandra"
#: The column the connector adds for ``writetime.<column>`` (microseconds since the epoch); never written to the target.
WRITETIME_ALIAS = "meshworks_change_writetime"
#: The partitioner the connector needs on the Keyspaces account (Keyspaces' developer guide, "Working with partitioners").
MURMUR3 = "org.apache.cassandra.dht.Murmur3Partitioner"
#: The CQL statement that sets it (run once, e.g. in the Keyspaces console's CQL editor).
SET_MURMUR3 = "UPDATE system.local SET partitioner='org.apache.cassandra.dht.Murmur3Partitioner' WHERE key='local';"
#: File name of the driver profile for Keyspaces, shipped to the executors with ``SparkContext.addFile``.
PROFILE_FILE = "keyspaces-driver.conf"

#: Executor cores per Glue worker type for Spark jobs (Glue's worker types: 4, 8, 16 and 32 vCPUs); Glue runs one
#: executor per worker and the driver on one more worker.
WORKER_CORES = {"G.1X": 4, "G.2X": 8, "G.4X": 16, "G.8X": 32}
#: Keyspaces bills a LOCAL_QUORUM write of up to 1 KB as one write unit, each further KB one more.
WRITE_UNIT_BYTES = 1024
#: Keyspaces' single-digit-millisecond write latency, rounded up: in-flight writes = rate x latency (Little's law).
WRITE_LATENCY_SECONDS = 0.010
#: Upper bound of ``spark.cassandra.output.concurrent.writes`` (per task) this job sets.
MAX_CONCURRENT_WRITES = 16

#: Job arguments (``--NAME value``) and whether each is required.
ARGUMENTS: dict[str, bool] = {
    "MODE": True,
    "MIGRATION_NAME": True,
    "SOURCE_HOSTS": True,
    "SOURCE_PORT": True,
    "SOURCE_SECRET_ARN": True,
    "SOURCE_TLS": True,
    "SOURCE_LOCAL_DATACENTER": False,
    "SOURCE_TRUST_STORE": False,
    "SOURCE_KEYSPACE": True,
    "SOURCE_TABLE": True,
    "SOURCE_READS_PER_SECOND_PER_CORE": False,
    "TARGET_KEYSPACE": True,
    "TARGET_TABLE": True,
    "COLUMNS": True,
    "CHANGE_COLUMN": True,
    "CHANGE_KIND": True,
    "OVERLAP_SECONDS": True,
    "WRITE_THROUGHPUT_MB_PER_SEC": True,
    "CONCURRENT_WRITES": True,
    "STATE_BUCKET": True,
    "STATE_KEY": True,
    "METRICS_NAMESPACE": True,
    "FULL_LOAD_JOB_NAME": True,
}
#: Glue job-run states of a run that is still going (an increment then waits: the two never write together).
ACTIVE_RUN_STATES = frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING"})

_NAME = re.compile(r"[a-z0-9][a-z0-9_]{0,47}")


class MigrationError(ValueError):
    """A setting or state the job cannot run with; the message says what and how to fix it."""


# ------------------------------------------------------------------------------------------------ arguments


def parse_arguments(argv: Sequence[str]) -> dict[str, str]:
    """The job arguments of ``ARGUMENTS`` from Glue's ``argv`` (``--NAME value`` or ``--NAME=value``).

    Other arguments Glue adds (``--JOB_ID``, ``--job-bookmark-option``...) are ignored.

    Raises:
        MigrationError: a required argument is missing (naming every missing one).
    """
    found: dict[str, str] = {}
    index = 0
    while index < len(argv):
        item = argv[index]
        if item.startswith("--"):
            name, equals, value = item[2:].partition("=")
            if not equals:
                value = argv[index + 1] if index + 1 < len(argv) else ""
                index += 1
            if name in ARGUMENTS:
                found[name] = value
        index += 1
    missing = [name for name, required in ARGUMENTS.items() if required and not found.get(name)]
    if missing:
        raise MigrationError(f"missing job argument(s) {', '.join('--' + m for m in missing)}: start the job "
                             "through its Glue job definition (KeyspacesMigration sets them all)")
    if found["MODE"] not in MODES:
        raise MigrationError(f"--MODE {found['MODE']!r}: use one of {', '.join(MODES)}")
    if found["CHANGE_KIND"] not in CHANGE_KINDS:
        raise MigrationError(f"--CHANGE_KIND {found['CHANGE_KIND']!r}: use one of {', '.join(CHANGE_KINDS)}")
    return found


# ------------------------------------------------------------------------------------------------ rate limiting


@dataclass(frozen=True)
class WriteRate:
    """Connector settings that hold a job's writes at a rate.

    Attributes:
        throughput_mb_per_sec: ``spark.cassandra.output.throughputMBPerSec``, per core (the connector's unit).
        concurrent_writes: ``spark.cassandra.output.concurrent.writes``, per task.
        write_units_per_second: Keyspaces write units per second the rate consumes at the given row size.
    """

    throughput_mb_per_sec: float
    concurrent_writes: int
    write_units_per_second: int


def write_units_per_row(average_row_size_bytes: int) -> int:
    """Keyspaces write units one row of that size costs (1 per started KB)."""
    return max(1, math.ceil(average_row_size_bytes / WRITE_UNIT_BYTES))


def executor_cores(worker_type: str, number_of_workers: int) -> int:
    """Executor cores of a Glue Spark job: (workers - 1, the driver's) x cores per worker."""
    if worker_type not in WORKER_CORES:
        raise MigrationError(f"worker type {worker_type!r}: use one of {', '.join(WORKER_CORES)}")
    if number_of_workers < 2:
        raise MigrationError(f"{number_of_workers} worker(s): a Glue Spark job needs 2 or more (one is the driver)")
    return (number_of_workers - 1) * WORKER_CORES[worker_type]


def write_rate(writes_per_second: int, average_row_size_bytes: int, cores: int) -> WriteRate:
    """The connector settings that keep ``cores`` concurrent tasks under ``writes_per_second`` rows per second.

    The connector limits bytes, per core: ``throughputMBPerSec = rows/s x row bytes / cores / 2^20``. Each task keeps
    enough writes in flight to reach its share at Keyspaces' write latency, doubled for headroom, 1 to 16.

    Raises:
        MigrationError: a rate, size or core count below 1.
    """
    for name, value in (("writes_per_second", writes_per_second), ("average_row_size_bytes", average_row_size_bytes),
                        ("cores", cores)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise MigrationError(f"{name}={value!r}: give a whole number >= 1")
    per_core_rows = writes_per_second / cores
    megabytes = writes_per_second * average_row_size_bytes / cores / 1_048_576
    in_flight = math.ceil(per_core_rows * WRITE_LATENCY_SECONDS * 2)
    return WriteRate(
        throughput_mb_per_sec=max(round(megabytes, 6), 0.000001),
        concurrent_writes=min(MAX_CONCURRENT_WRITES, max(1, in_flight)),
        write_units_per_second=writes_per_second * write_units_per_row(average_row_size_bytes),
    )


# ------------------------------------------------------------------------------------------------ change window


@dataclass(frozen=True)
class Window:
    """Rows whose change time is in ``[lower, upper)``; ``lower`` None = every row (the full load)."""

    lower: datetime | None
    upper: datetime


def change_window(mode: str, mark: datetime | None, run_start: datetime, overlap: timedelta) -> Window:
    """The window a run copies: everything for the full load, ``[mark - overlap, run_start)`` for an increment.

    Raises:
        MigrationError: an incremental window without a mark (the caller waits for the full load instead).
    """
    if mode == FULL_LOAD:
        return Window(None, run_start)
    if mark is None:
        raise MigrationError("no high-water mark yet: run the full load job first (incremental runs copy what "
                             "changed after it)")
    return Window(mark - overlap, run_start)


def _micros(moment: datetime) -> int:
    return int(moment.astimezone(timezone.utc).timestamp() * 1_000_000)


def _timestamp_literal(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("TIMESTAMP '%Y-%m-%d %H:%M:%S.%f'")


def change_predicate(kind: str, column: str, window: Window) -> str | None:
    """The Spark SQL filter of ``window`` on the change column (session time zone UTC), or None (full load).

    ``updated_at``: ``column >= TIMESTAMP '<lower>' AND column < TIMESTAMP '<upper>'``;
    ``writetime``: the same on the connector's ``writetime.<column>`` alias, in microseconds since the epoch.
    Rows whose change column is null never match an increment (the full load copies them).
    """
    if not _NAME.fullmatch(column):
        raise MigrationError(f"change column {column!r} is not a Keyspaces column name")
    if window.lower is None:
        return None
    if kind == UPDATED_AT:
        return (f"`{column}` >= {_timestamp_literal(window.lower)} AND "
                f"`{column}` < {_timestamp_literal(window.upper)}")
    if kind == WRITETIME:
        return f"`{WRITETIME_ALIAS}` >= {_micros(window.lower)} AND `{WRITETIME_ALIAS}` < {_micros(window.upper)}"
    raise MigrationError(f"change kind {kind!r}: use one of {', '.join(CHANGE_KINDS)}")


# ------------------------------------------------------------------------------------------------ connector settings


def keyspaces_endpoint(region: str) -> str:
    """Keyspaces' TLS endpoint (port 9142) in ``region`` (``amazonaws.com.cn`` in the China regions)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"cassandra.{region}.{suffix}"


def keyspaces_driver_profile(region: str) -> str:
    """The DataStax Java driver 4 profile (HOCON) for Keyspaces: SigV4, TLS, LOCAL_QUORUM, idempotent requests.

    SigV4 (``software.aws.mcs.auth.SigV4AuthProvider``, the aws-sigv4-auth-cassandra-java-driver-plugin) signs with
    the job role's credentials: no service-specific password exists anywhere. Host-name validation is off because
    Keyspaces answers for the regional name and for VPC endpoint names alike (AWS's own connector samples do so).
    """
    endpoint = keyspaces_endpoint(region)
    return "\n".join([
        "datastax-java-driver {",
        f'  basic.contact-points = ["{endpoint}:9142"]',
        f'  basic.load-balancing-policy.local-datacenter = "{region}"',
        '  basic.request.consistency = "LOCAL_QUORUM"',
        "  basic.request.default-idempotence = true",
        "  advanced.reconnect-on-init = true",
        "  advanced.auth-provider {",
        "    class = software.aws.mcs.auth.SigV4AuthProvider",
        f'    aws-region = "{region}"',
        "  }",
        "  advanced.ssl-engine-factory {",
        "    class = DefaultSslEngineFactory",
        "    hostname-validation = false",
        "  }",
        "}",
        "",
    ])


def keyspaces_write_options(throughput_mb_per_sec: float, concurrent_writes: int) -> dict[str, str]:
    """Connector options of the write to Keyspaces (Spark Cassandra connector 3.5 names, per DataFrame).

    The driver profile carries contact point, SigV4 and TLS; LOCAL_QUORUM is the only write consistency Keyspaces
    accepts; one row per batch (Keyspaces bills and throttles per row, and batches over partitions are refused).
    """
    return {
        "spark.cassandra.connection.config.profile.path": PROFILE_FILE,
        "spark.cassandra.output.consistency.level": "LOCAL_QUORUM",
        "spark.cassandra.output.batch.size.rows": "1",
        "spark.cassandra.output.batch.grouping.key": "none",
        "spark.cassandra.output.concurrent.writes": str(concurrent_writes),
        "spark.cassandra.output.throughputMBPerSec": f"{throughput_mb_per_sec:g}",
    }


def source_read_options(
    *, hosts: Sequence[str], port: int, username: str, password: str, tls: bool,
    local_datacenter: str | None = None, reads_per_second_per_core: int | None = None,
    trust_store: str | None = None, trust_store_password: str | None = None,
) -> dict[str, str]:
    """Connector options of the read from the source cluster (password authentication from Secrets Manager).

    ``LOCAL_QUORUM`` reads: a write the source acknowledged at quorum is seen before the mark moves past it.
    ``trust_store``: file name of a JKS trust store shipped with ``--extra-files`` (a source whose node
    certificates a private CA signed); its password comes from the same secret.
    """
    options = {
        "spark.cassandra.connection.host": ",".join(hosts),
        "spark.cassandra.connection.port": str(port),
        "spark.cassandra.connection.ssl.enabled": "true" if tls else "false",
        "spark.cassandra.auth.username": username,
        "spark.cassandra.auth.password": password,
        "spark.cassandra.input.consistency.level": "LOCAL_QUORUM",
    }
    if local_datacenter:
        options["spark.cassandra.connection.localDC"] = local_datacenter
    if reads_per_second_per_core:
        options["spark.cassandra.input.readsPerSec"] = str(reads_per_second_per_core)
    if trust_store:
        if not tls:
            raise MigrationError("a trust store was given but source TLS is off: turn TLS on or drop the trust store")
        options["spark.cassandra.connection.ssl.trustStore.path"] = trust_store
        options["spark.cassandra.connection.ssl.trustStore.type"] = "JKS"
        if trust_store_password:
            options["spark.cassandra.connection.ssl.trustStore.password"] = trust_store_password
    return options


def check_partitioner(partitioner: str | None) -> None:
    """Refuse a Keyspaces account whose partitioner is not Murmur3 (the connector computes Murmur3 tokens)."""
    if partitioner != MURMUR3:
        raise MigrationError(
            f"the Keyspaces account's partitioner is {partitioner!r}; the Spark Cassandra connector needs {MURMUR3}. "
            "Change it once per account and Region (takes about 10 minutes, every table keeps its data): " + SET_MURMUR3
        )


# ------------------------------------------------------------------------------------------------ state and metrics


def full_load_running(glue: Any, job_name: str) -> bool:
    """Whether a run of the full-load job is still going (its first page of runs, newest first, is enough: a job
    with ``MaxConcurrentRuns`` 1 has at most one active run)."""
    runs = glue.get_job_runs(JobName=job_name, MaxResults=10).get("JobRuns", [])
    return any(run.get("JobRunState") in ACTIVE_RUN_STATES for run in runs)


def parse_mark(document: Mapping[str, Any] | None) -> datetime | None:
    """The high-water mark of a state document (``high_water_mark``: ISO-8601 with offset), or None."""
    if not document or not document.get("high_water_mark"):
        return None
    try:
        moment = datetime.fromisoformat(str(document["high_water_mark"]).replace("Z", "+00:00"))
    except ValueError:
        raise MigrationError(f"state: high_water_mark {document['high_water_mark']!r} is not an ISO-8601 time: "
                             "fix or delete the state object (deleting it waits for a new full load)") from None
    if moment.tzinfo is None:
        raise MigrationError("state: high_water_mark has no UTC offset: write it as 2026-01-31T12:00:00+00:00")
    return moment


def state_document(mark: datetime, *, mode: str, run_id: str, rows_written: int) -> dict[str, Any]:
    """The state object a successful run writes: the new mark and who moved it."""
    return {
        "high_water_mark": mark.astimezone(timezone.utc).isoformat(),
        "mode": mode,
        "run_id": run_id,
        "rows_written": rows_written,
    }


def read_state(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The state object, or None when it does not exist yet."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return json.loads(body)


def write_state(s3: Any, bucket: str, key: str, document: Mapping[str, Any]) -> None:
    """Replace the state object (the bucket's default KMS encryption and versioning keep every earlier mark)."""
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document, sort_keys=True).encode(),
                  ContentType="application/json")


def source_credentials(secrets: Any, secret_id: str) -> tuple[str, str, str | None]:
    """``(username, password, trust store password or None)`` of the source cluster from a Secrets Manager secret
    ``{"username", "password"[, "truststore_password"]}``."""
    value = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
    try:
        document = json.loads(value)
        trust = document.get("truststore_password")
        return str(document["username"]), str(document["password"]), str(trust) if trust else None
    except (ValueError, KeyError, TypeError):
        raise MigrationError(f"secret {secret_id}: expected JSON with 'username' and 'password' keys (the source "
                             "cluster's login); store it as {\"username\": \"...\", \"password\": \"...\"}") from None


def replication_lag_seconds(previous_mark: datetime, finished: datetime) -> float:
    """How long the oldest change this run copied may have waited: run end - the mark the run started from.

    Between two healthy 15-minute runs this is about 15 minutes plus one run's duration; it grows when runs fail,
    stop or cannot keep up (the lag alarm's metric).
    """
    return max(0.0, (finished - previous_mark).total_seconds())


def metric_data(
    *, migration: str, mode: str, values: Mapping[str, float], timestamp: datetime
) -> list[dict[str, Any]]:
    """CloudWatch ``MetricData`` for ``values`` (``RowsRead``/``RowsWritten``: Count; ``*Seconds``: Seconds)."""
    dimensions = [{"Name": "Migration", "Value": migration}, {"Name": "Mode", "Value": mode}]
    return [
        {"MetricName": name, "Dimensions": dimensions, "Timestamp": timestamp, "Value": float(value),
         "Unit": "Seconds" if name.endswith("Seconds") else "Count"}
        for name, value in values.items()
    ]


def put_metrics(cloudwatch: Any, namespace: str, data: list[dict[str, Any]]) -> None:
    """Send ``data`` (at most 1,000 items per request, CloudWatch's limit)."""
    for start in range(0, len(data), 1000):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start:start + 1000])


# ------------------------------------------------------------------------------------------------ Spark


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - runs on Glue (Spark, the connector jars)
    import os
    import tempfile

    import boto3
    from pyspark import StorageLevel
    from pyspark.sql import SparkSession

    args = parse_arguments(list(sys.argv[1:] if argv is None else argv))
    mode, name, namespace = args["MODE"], args["MIGRATION_NAME"], args["METRICS_NAMESPACE"]
    started = time.monotonic()
    run_start = datetime.now(timezone.utc)
    session = boto3.session.Session()
    region = session.region_name or os.environ.get("AWS_REGION", "")
    s3, cloudwatch = session.client("s3"), session.client("cloudwatch")

    mark = parse_mark(read_state(s3, args["STATE_BUCKET"], args["STATE_KEY"]))
    if mode == INCREMENTAL and (mark is None or full_load_running(session.client("glue"), args["FULL_LOAD_JOB_NAME"])):
        print(f"{name}: the full load has not finished; waiting for it (nothing copied)")
        put_metrics(cloudwatch, namespace, metric_data(migration=name, mode=mode, values={"Waiting": 1}, timestamp=run_start))
        return
    window = change_window(mode, mark, run_start, timedelta(seconds=int(args["OVERLAP_SECONDS"])))

    spark = SparkSession.builder.config("spark.sql.session.timeZone", "UTC").getOrCreate()
    profile = os.path.join(tempfile.mkdtemp(), PROFILE_FILE)
    with open(profile, "w", encoding="utf-8") as handle:
        handle.write(keyspaces_driver_profile(region))
    spark.sparkContext.addFile(profile)
    target = keyspaces_write_options(float(args["WRITE_THROUGHPUT_MB_PER_SEC"]), int(args["CONCURRENT_WRITES"]))
    try:
        local = spark.read.format(CASSANDRA_FORMAT).options(keyspace="system", table="local", **target).load()
        partitioner = local.select("partitioner").first()[0]
    except Exception as error:  # noqa: BLE001 - the connector itself refuses an unsupported partitioner on write
        print(f"{name}: could not read system.local ({error}); the connector checks the partitioner itself")
    else:
        check_partitioner(partitioner)

    username, password, trust_password = source_credentials(session.client("secretsmanager"), args["SOURCE_SECRET_ARN"])
    reads = args.get("SOURCE_READS_PER_SECOND_PER_CORE")
    reader = spark.read.format(CASSANDRA_FORMAT).options(
        keyspace=args["SOURCE_KEYSPACE"], table=args["SOURCE_TABLE"],
        **source_read_options(
            hosts=args["SOURCE_HOSTS"].split(","), port=int(args["SOURCE_PORT"]), username=username,
            password=password, tls=args["SOURCE_TLS"] == "true", local_datacenter=args.get("SOURCE_LOCAL_DATACENTER"),
            reads_per_second_per_core=int(reads) if reads else None,
            trust_store=args.get("SOURCE_TRUST_STORE"), trust_store_password=trust_password,
        ),
    )
    if args["CHANGE_KIND"] == WRITETIME and mode == INCREMENTAL:
        reader = reader.option(f"writetime.{args['CHANGE_COLUMN']}", WRITETIME_ALIAS)
    frame = reader.load()
    predicate = change_predicate(args["CHANGE_KIND"], args["CHANGE_COLUMN"], window)
    if predicate:
        frame = frame.where(predicate)
    frame = frame.select(*args["COLUMNS"].split(",")).persist(StorageLevel.MEMORY_AND_DISK)
    rows = frame.count()  # one scan of the source; the write reads the persisted rows
    put_metrics(cloudwatch, namespace, metric_data(migration=name, mode=mode, values={"RowsRead": rows},
                                                   timestamp=datetime.now(timezone.utc)))
    frame.write.format(CASSANDRA_FORMAT).mode("append").options(
        keyspace=args["TARGET_KEYSPACE"], table=args["TARGET_TABLE"], **target
    ).save()
    frame.unpersist()

    write_state(s3, args["STATE_BUCKET"], args["STATE_KEY"],
                state_document(run_start, mode=mode, run_id=os.environ.get("JOB_RUN_ID", ""), rows_written=rows))
    finished = datetime.now(timezone.utc)
    values = {"RowsWritten": rows, "RunDurationSeconds": time.monotonic() - started}
    if mode == INCREMENTAL and mark is not None:
        values["ReplicationLagSeconds"] = replication_lag_seconds(mark, finished)
    put_metrics(cloudwatch, namespace, metric_data(migration=name, mode=mode, timestamp=finished, values=values))


if __name__ == "__main__":  # pragma: no cover
    main()
