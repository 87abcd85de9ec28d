"""The job's Spark conversion on a real local Spark, when PySpark is installed (skipped otherwise).

Not part of the default install (PySpark is ~300 MB): run it with Glue 5.0's Spark,
``.venv/bin/pip install pyspark==3.5.4 && .venv/bin/python -m pytest tests/lambdas/test_file_ingestion_spark.py``
(Java 17 on the PATH). Gzip CSV with a header in another case, types cast, a missing nullable column filled,
an extra one dropped; values that do not convert, missing required columns and empty required values fail the
file with the reason; a re-run overwrites instead of duplicating rows.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pyspark = pytest.importorskip("pyspark")

from meshworks.lambdas.file_ingestion.avro import parse_avro_schema  # noqa: E402
from meshworks.lambdas.file_ingestion.job import FileFailed, convert  # noqa: E402

FIELDS = parse_avro_schema(json.dumps({"type": "record", "name": "R", "fields": [
    {"name": "sensor_id", "type": "string"},
    {"name": "reading_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "value", "type": ["null", "double"]},
    {"name": "day", "type": ["null", {"type": "int", "logicalType": "date"}]},
    {"name": "amount", "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}]},
    {"name": "unit", "type": ["null", "string"]},
]}))


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    session = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
    yield session
    session.stop()


def test_a_gzip_csv_becomes_typed_parquet_and_a_rerun_overwrites(spark: Any, tmp_path: Path) -> None:
    source = tmp_path / "readings.csv.gz"
    with gzip.open(source, "wt") as handle:
        handle.write("Sensor_ID,reading_time,value,day,amount,extra\n"
                     "s1,2026-11-30 10:00:00,1.5,2026-11-30,12.34,x\ns2,2026-11-30 10:01:00,,2026-11-30,,y\n")
    output = str(tmp_path / "out")
    assert convert(spark, str(source), FIELDS, output) == 2
    assert convert(spark, str(source), FIELDS, output) == 2
    frame = spark.read.parquet(output)
    assert frame.count() == 2 and frame.columns == [f.name for f in FIELDS]
    assert dict(frame.dtypes) == {"sensor_id": "string", "reading_time": "timestamp", "value": "double",
                                  "day": "date", "amount": "decimal(10,2)", "unit": "string"}


@pytest.mark.parametrize(
    ("csv", "reason"),
    [
        ("sensor_id,reading_time,value\ns1,notatime,abc\ns2,2026-11-30 10:00:00,2.0\n",
         "do not convert to their schema type: reading_time: 1 row(s), value: 1 row(s)"),
        ("value\n1.0\n", "required column(s) sensor_id, reading_time missing"),
        ("sensor_id,reading_time\n,2026-11-30 10:00:00\n", "1 row(s) have no value in a required column"),
    ],
)
def test_a_bad_file_fails_with_its_reason(spark: Any, tmp_path: Path, csv: str, reason: str) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(csv)
    with pytest.raises(FileFailed) as failure:
        convert(spark, str(source), FIELDS, str(tmp_path / "out"))
    assert reason in str(failure.value)
