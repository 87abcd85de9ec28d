"""Curation job of a dataset (AWS Glue 5.0, PySpark): raw nested JSON -> relationalized Parquet in the curated zone.

Run by :class:`~meshworks.constructs.ingestion.dataset_ingestion.DatasetIngestion` on its schedule with job
bookmarks on: each run reads only the raw files that arrived since the last committed run (at-least-once: a run
that fails after writing and before ``job.commit()`` writes those files again on the next run).

Steps: read the raw JSON under ``--raw_path`` with the source file attached; take the partition values
(``<key>=<value>/`` folders that Firehose wrote) from each record's file path; Relationalize (AWS Glue) flattens
nested structs into ``a_b`` columns and turns each nested array into a child table joined by id; the root table
is written to ``--curated_path`` partitioned by ``--partition_keys``, each child table next to it
(``<curated_path without slash>__<child>/``).

Arguments: ``--raw_path s3://raw/<domain>/<name>/``, ``--curated_path s3://curated/<domain>/<name>/``,
``--staging_path s3://.../tmp/``, ``--partition_keys event_type,dt`` (may be empty).

The functions above ``main`` are pure (no Spark, no awsglue) and tested in ``tests/ingestion``.
"""

from __future__ import annotations

import re
import sys

SOURCE_FILE_COLUMN = "_meshworks_source_file"
ROOT_FRAME = "root"
_SEGMENT_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=([^/]*)$")


def partition_values(path: str) -> dict[str, str]:
    """``key=value`` folders of an object path: ``s3://b/d/n/event_type=tap/dt=2026-01-02/f.gz`` ->
    ``{"event_type": "tap", "dt": "2026-01-02"}`` (the last folder of a key wins; the file name is ignored)."""
    folders = path.split("?", 1)[0].split("/")[:-1]
    values: dict[str, str] = {}
    for folder in folders:
        match = _SEGMENT_RE.match(folder)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def partition_pattern(key: str) -> str:
    """Java regular expression whose group 1 is ``key``'s value in an object path (for ``regexp_extract``)."""
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
        raise ValueError(f"partition key {key!r} is not an identifier")
    return f"/{key}=([^/]*)/"


def curated_column(name: str) -> str:
    """Column name in the curated table: Relationalize's ``a.b`` paths become ``a_b``, lower case (Glue/Athena)."""
    text = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
    return text or "_"


def child_path(curated_path: str, frame_name: str) -> str:
    """Where a Relationalize frame goes: the root frame at ``curated_path``; ``root_items`` (the array ``items``)
    at ``<curated_path without the slash>__items/``, outside the product's folder."""
    if frame_name == ROOT_FRAME:
        return curated_path
    suffix = frame_name[len(ROOT_FRAME) + 1:] if frame_name.startswith(ROOT_FRAME + "_") else frame_name
    return f"{curated_path.rstrip('/')}__{curated_column(suffix)}/"


def parse_partition_keys(text: str) -> list[str]:
    """``"event_type,dt"`` -> ``["event_type", "dt"]``; empty text gives no keys."""
    return [key.strip() for key in text.split(",") if key.strip()]


def refresh_entries(
    bus_arn: str, domain: str, product: str, partitions: list[dict[str, str]]
) -> list[list[dict[str, str]]]:
    """The mesh's refresh events for the partitions a run wrote, in ``PutEvents`` batches of at most 10.

    One event per partition (``detail: {"domain", "product", "partition": {key: value}}``, ``source:
    meshworks.producer``, ``detail-type: DataProductRefreshed``; docs/mesh.md); an unpartitioned product gets
    one event without ``partition``. Partitions are deduplicated and sorted (the same run announces each once).
    """
    import json

    unique = sorted({tuple(sorted(p.items())) for p in partitions}) if partitions else [()]
    entries = []
    for items in unique:
        detail: dict[str, object] = {"domain": domain, "product": product}
        if items:
            detail["partition"] = dict(items)
        entries.append({"EventBusName": bus_arn, "Source": "meshworks.producer",
                        "DetailType": "DataProductRefreshed", "Detail": json.dumps(detail, sort_keys=True)})
    return [entries[i:i + 10] for i in range(0, len(entries), 10)]


def main(argv: list[str]) -> None:  # pragma: no cover - runs on AWS Glue only
    from awsglue.context import GlueContext
    from awsglue.dynamicframe import DynamicFrame
    from awsglue.job import Job
    from awsglue.transforms import Relationalize
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext
    from pyspark.sql import functions as F

    args = getResolvedOptions(argv, ["JOB_NAME", "raw_path", "curated_path", "staging_path", "partition_keys",
                                     "refresh_bus_arn", "domain", "product"])
    glue = GlueContext(SparkContext.getOrCreate())
    job = Job(glue)
    job.init(args["JOB_NAME"], args)
    keys = parse_partition_keys(args["partition_keys"])
    raw = glue.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options={"paths": [args["raw_path"]], "recurse": True, "attachFilename": SOURCE_FILE_COLUMN},
        format="json",
        transformation_ctx="raw",  # the job bookmark's key: only new files are read
    )
    if raw.count() == 0:
        job.commit()
        return
    frame = raw.toDF()
    for key in keys:
        frame = frame.withColumn(key, F.regexp_extract(F.col(SOURCE_FILE_COLUMN), partition_pattern(key), 1))
    frame = frame.drop(SOURCE_FILE_COLUMN)
    frames = Relationalize.apply(
        frame=DynamicFrame.fromDF(frame, glue, "records"), staging_path=args["staging_path"], name=ROOT_FRAME
    )
    written: list[dict[str, str]] = []
    for name in sorted(frames.keys()):
        table = frames.select(name).toDF()
        table = table.toDF(*[curated_column(column) for column in table.columns])
        writer = table.write.mode("append").format("parquet").option("compression", "snappy")
        if name == ROOT_FRAME and keys:
            writer = writer.partitionBy(*keys)
            written = [row.asDict() for row in table.select(*keys).distinct().collect()]
        writer.save(child_path(args["curated_path"], name))
    if args["refresh_bus_arn"]:  # announce the new partitions to the mesh hub (notifier, SLO monitor, consumers)
        import boto3

        client = boto3.client("events")
        for batch in refresh_entries(args["refresh_bus_arn"], args["domain"], args["product"], written):
            failed = client.put_events(Entries=batch).get("FailedEntryCount", 0)
            if failed:
                raise RuntimeError(f"{failed} refresh event(s) refused by {args['refresh_bus_arn']}; the run is retried")
    job.commit()  # after the announcements: a crash before it re-reads (and re-announces) the same files


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv)
