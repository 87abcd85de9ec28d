"""The CSV -> Parquet Glue job of ``FileIngestion`` (entry script ``glue_main.py``; this package comes from
``--extra-py-files``). Spark is imported inside :func:`convert` and :func:`main` only, so the rest is
importable and tested without it.

One run: claim up to ``--max_files`` files from the work queue (:mod:`.work_queue`), and for each: read the
latest version of its file type's Avro schema from the Glue Schema Registry, read the CSV (gzip too: by the
``.gz`` extension) as text, check the header against the schema (required columns present), cast every column,
fail the file if a non-empty value does not convert, write Parquet (overwriting that object's output folder),
and mark the file ``DONE`` or ``FAILED`` with the reason. The run fails (non-zero) only when it could not
work at all, or when every file failed, so an orchestrator's retry is for outages, not for bad files.

Arguments (``--name value``; the job's defaults are set by the construct):
``--table_name``, ``--curated_uri`` (``s3://bucket/prefix``), ``--registry_name``, ``--max_files`` (500),
``--max_attempts`` (3), ``--lease_seconds`` (3600), and optional ``--logical_date`` (logged only).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from . import work_queue
from .avro import Field, parse_avro_schema, plan_columns

REQUIRED_ARGUMENTS = ("table_name", "curated_uri", "registry_name")
DEFAULTS = {"max_files": "500", "max_attempts": "3", "lease_seconds": "3600", "logical_date": ""}


class JobArgumentError(ValueError):
    """A missing or malformed job argument."""


class FileFailed(Exception):
    """One file cannot be converted (its reason is recorded; other files go on)."""


@dataclass(frozen=True)
class JobArguments:
    table_name: str
    curated_uri: str
    registry_name: str
    max_files: int
    max_attempts: int
    lease_seconds: int
    logical_date: str
    run_id: str


def parse_arguments(argv: Sequence[str]) -> JobArguments:
    """Glue passes ``--name value`` pairs (plus its own ``--JOB_RUN_ID`` ...); unknown names are ignored."""
    values = dict(DEFAULTS)
    args = list(argv)
    for index, token in enumerate(args):
        if token.startswith("--") and index + 1 < len(args) and not args[index + 1].startswith("--"):
            values[token[2:]] = args[index + 1]
        elif token.startswith("--") and "=" in token:
            name, _, value = token[2:].partition("=")
            values[name] = value
    missing = [name for name in REQUIRED_ARGUMENTS if not values.get(name)]
    if missing:
        raise JobArgumentError(f"missing job argument(s) {', '.join('--' + m for m in missing)}")
    if not values["curated_uri"].startswith("s3://"):
        raise JobArgumentError(f"--curated_uri {values['curated_uri']!r} must be an s3:// URI")
    numbers = {}
    for name in ("max_files", "max_attempts", "lease_seconds"):
        try:
            numbers[name] = int(values[name])
        except ValueError:
            raise JobArgumentError(f"--{name} {values[name]!r} is not a whole number") from None
        if numbers[name] < 1:
            raise JobArgumentError(f"--{name} must be at least 1, got {numbers[name]}")
    return JobArguments(
        table_name=values["table_name"], curated_uri=values["curated_uri"], registry_name=values["registry_name"],
        logical_date=values["logical_date"], run_id=values.get("JOB_RUN_ID") or f"local-{uuid.uuid4()}", **numbers,
    )


def latest_schema(glue: Any, registry_name: str, file_type: str) -> list[Field]:
    """The fields of the latest version of schema ``file_type`` in ``registry_name``."""
    response = glue.get_schema_version(
        SchemaId={"RegistryName": registry_name, "SchemaName": file_type}, SchemaVersionNumber={"LatestVersion": True}
    )
    return parse_avro_schema(response["SchemaDefinition"], f"schema {registry_name}/{file_type}")


def convert(spark: Any, source_uri: str, fields: list[Field], output: str) -> int:
    """Read one CSV as text, check and cast it to ``fields``, write Parquet to ``output``; the row count.

    Raises:
        FileFailed: a required column is missing, or values that do not convert to their column's type.
    """
    from pyspark.sql import functions as F  # noqa: N812 - Spark's convention

    frame = spark.read.option("header", True).option("mode", "FAILFAST").option("inferSchema", False).csv(source_uri)
    plan = plan_columns(frame.columns, fields)
    if plan.absent_required:
        raise FileFailed(f"required column(s) {', '.join(plan.absent_required)} missing from the header {frame.columns}")
    by_name = {c.strip().lower(): c for c in frame.columns}
    typed = [F.col(f"`{by_name[f.name.lower()]}`").cast(f.spark_type).alias(f.name) for f in plan.present]
    typed += [F.lit(None).cast(f.spark_type).alias(f.name) for f in plan.absent_nullable]
    checks = [
        F.sum(F.when(F.trim(F.col(f"`{by_name[f.name.lower()]}`")) != "", 1).otherwise(0)
              - F.when(F.col(f"`{by_name[f.name.lower()]}`").cast(f.spark_type).isNotNull(), 1).otherwise(0)).alias(f.name)
        for f in plan.present if f.spark_type != "string"
    ]
    if checks:
        bad = {name: int(count or 0) for name, count in frame.agg(*checks).first().asDict().items()}
        bad = {name: count for name, count in bad.items() if count}
        if bad:
            raise FileFailed("values that do not convert to their schema type: " + ", ".join(f"{k}: {v} row(s)" for k, v in bad.items()))
    result = frame.select(*typed).select(*[f.name for f in fields])
    nulls = [f.name for f in fields if not f.nullable]
    if nulls:
        missing = result.filter(" OR ".join(f"`{n}` IS NULL" for n in nulls)).count()
        if missing:
            raise FileFailed(f"{missing} row(s) have no value in a required column ({', '.join(nulls)})")
    result.write.mode("overwrite").parquet(output)
    return result.count()


def run(args: JobArguments, table: Any, glue: Any, converter: Any, now: Any = time.time) -> dict[str, Any]:
    """Claim, convert and mark; ``converter(source_uri, fields, output) -> rows`` does the Spark part.

    Raises:
        ClientError: the schema registry failed (other than a missing schema, which fails the file); the
            unprocessed claims were given back uncounted first.
    """
    claimed, counts = work_queue.take_work(
        table, args.run_id, now(), limit=args.max_files, lease_seconds=args.lease_seconds, max_attempts=args.max_attempts
    )
    schemas: dict[str, list[Field]] = {}
    done = failed = 0
    for index, item in enumerate(claimed):
        output = work_queue.output_uri(args.curated_uri, item)
        try:
            if item["file_type"] not in schemas:
                schemas[item["file_type"]] = latest_schema(glue, args.registry_name, item["file_type"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "EntityNotFoundException":
                # The registry is unreachable or denied: no file is at fault. Give the rest back, fail the run.
                for rest in claimed[index:]:
                    work_queue.release(table, rest, args.run_id)
                raise
        try:
            if item["file_type"] not in schemas:
                raise FileFailed(f"no schema {item['file_type']!r} in the registry {args.registry_name}")
            rows = converter(item["object_uri"], schemas[item["file_type"]], output)
        except Exception as error:  # one bad file must not stop the others; the reason is recorded
            reason = f"{type(error).__name__}: {error}"
            failed += work_queue.mark_failed(table, item, args.run_id, now(), reason, args.max_attempts)
            print(json.dumps({"message": "file failed", "object_uri": item["object_uri"], "reason": reason[:500]}))
            continue
        done += work_queue.mark_done(table, item, args.run_id, now(), output, rows)
    summary = {"run_id": args.run_id, "logical_date": args.logical_date, "claimed": len(claimed), "done": done,
               "failed": failed, **counts}
    print(json.dumps({"message": "file ingestion run", **summary}))
    return summary


def main(argv: Sequence[str]) -> None:  # pragma: no cover - runs in Glue
    import boto3
    from pyspark.sql import SparkSession

    args = parse_arguments(argv)
    spark = SparkSession.builder.getOrCreate()
    table = boto3.resource("dynamodb").Table(args.table_name)
    summary = run(args, table, boto3.client("glue"), lambda uri, fields, out: convert(spark, uri, fields, out))
    if summary["claimed"] and summary["failed"] == summary["claimed"]:
        sys.exit(f"every claimed file failed ({summary['failed']}): see the failure_reason of each item")
