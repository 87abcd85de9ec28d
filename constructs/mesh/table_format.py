"""How each contract ``format`` becomes a Glue ``TableInput``: SerDe, input/output formats, parameters.

Pure functions (no CDK): :func:`table_input` returns the ``TableInput`` of a contract as a plain
dictionary in CloudFormation casing, which :class:`~meshworks.constructs.mesh.data_product.DataProduct`
hands to ``AWS::Glue::Table`` and which tests and the benchmark can inspect without synthesizing.

=========  ==========================================================================================
format     Glue table
=========  ==========================================================================================
parquet    ``ParquetHiveSerDe`` with the ``MapredParquet`` input/output formats
orc        ``OrcSerde`` with the ``Orc`` input/output formats
avro       ``AvroSerDe``; ``avro.schema.literal`` is generated from the columns (Athena requires it)
json       OpenX ``JsonSerDe`` over text files
csv        ``LazySimpleSerDe`` with ``field.delim=,``; ``skip.header.line.count=1`` unless told otherwise
hudi       Hive-style Hudi table: ``HoodieParquetInputFormat`` + ``ParquetHiveSerDe``, partitions in Glue
iceberg    ``OpenTableFormatInput.IcebergInput`` (Glue writes the Iceberg metadata); no Glue partitions
delta      native Delta Lake table (``table_type=DELTA``) read by Athena/Glue from the Delta log
=========  ==========================================================================================
"""

from __future__ import annotations

import json
from typing import Any

from meshworks.constructs.mesh.contract import Column, DataFormat, DataProductContract, GlueType

__all__ = ["GLUE_COMMENT_MAX", "avro_schema", "open_table_format_input", "table_input"]

#: Glue limits: column comments 255 characters, table descriptions 2,048.
GLUE_COMMENT_MAX = 255
GLUE_DESCRIPTION_MAX = 2048

_PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
_PARQUET_IN = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
_PARQUET_OUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
_TEXT_IN = "org.apache.hadoop.mapred.TextInputFormat"
_TEXT_OUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

_FORMATS: dict[DataFormat, dict[str, Any]] = {
    DataFormat.PARQUET: {"in": _PARQUET_IN, "out": _PARQUET_OUT, "serde": _PARQUET_SERDE, "params": {}},
    DataFormat.ORC: {
        "in": "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
        "out": "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
        "serde": "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
        "params": {},
    },
    DataFormat.AVRO: {
        "in": "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
        "out": "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
        "serde": "org.apache.hadoop.hive.serde2.avro.AvroSerDe",
        "params": {},
    },
    DataFormat.JSON: {
        "in": _TEXT_IN,
        "out": _TEXT_OUT,
        "serde": "org.openx.data.jsonserde.JsonSerDe",
        "params": {"paths": None},  # filled with the column names
    },
    DataFormat.CSV: {
        "in": _TEXT_IN,
        "out": _TEXT_OUT,
        "serde": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
        "params": {"field.delim": ",", "serialization.format": ","},
    },
    DataFormat.HUDI: {
        "in": "org.apache.hudi.hadoop.HoodieParquetInputFormat",
        "out": _PARQUET_OUT,
        "serde": _PARQUET_SERDE,
        "params": {},
    },
}


def _comment(column: Column) -> str:
    text = " ".join(column.description.split())
    if column.pii:
        category = column.pii_category.value if column.pii_category else "personal data"
        text = f"[PII {category}] {text}"
    return text if len(text) <= GLUE_COMMENT_MAX else text[: GLUE_COMMENT_MAX - 1] + "…"


def _column(column: Column) -> dict[str, str]:
    return {"Name": column.name, "Type": str(column.glue_type), "Comment": _comment(column)}


def _avro_type(glue: GlueType, path: str) -> Any:
    simple = {
        "string": "string",
        "varchar": "string",
        "char": "string",
        "int": "int",
        "smallint": "int",
        "tinyint": "int",
        "bigint": "long",
        "double": "double",
        "float": "float",
        "boolean": "boolean",
        "binary": "bytes",
    }
    if glue.name in simple:
        return simple[glue.name]
    if glue.name == "date":
        return {"type": "int", "logicalType": "date"}
    if glue.name == "timestamp":
        return {"type": "long", "logicalType": "timestamp-millis"}
    if glue.name == "decimal":
        precision, scale = glue.params
        return {"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": scale}
    if glue.name == "array":
        return {"type": "array", "items": _nullable(glue.children[0], f"{path}_item")}
    if glue.name == "map":
        return {"type": "map", "values": _nullable(glue.children[1], f"{path}_value")}
    # struct: a named record; names must be unique in the schema, so they follow the column path
    return {
        "type": "record",
        "name": f"{path}_record",
        "fields": [
            {"name": name, "type": _nullable(child, f"{path}_{name}"), "default": None}
            for name, child in zip(glue.field_names, glue.children, strict=True)
        ],
    }


def _nullable(glue: GlueType, path: str) -> list[Any]:
    return ["null", _avro_type(glue, path)]


def avro_schema(contract: DataProductContract) -> dict[str, Any]:
    """The Avro record schema of the contract's columns (every field nullable, default null)."""
    return {
        "type": "record",
        "name": contract.name,
        "namespace": f"meshworks.{contract.domain}",
        "fields": [
            {"name": c.name, "type": _nullable(c.glue_type, c.name), "default": None, "doc": c.description}
            for c in contract.columns
        ],
    }


def open_table_format_input(contract: DataProductContract) -> dict[str, Any] | None:
    """``OpenTableFormatInput`` for Iceberg (Glue creates the metadata), else ``None``."""
    if contract.format is DataFormat.ICEBERG:
        return {"IcebergInput": {"MetadataOperation": "CREATE", "Version": "2"}}
    return None


def table_input(contract: DataProductContract, *, csv_header: bool = True) -> dict[str, Any]:
    """The Glue ``TableInput`` of a contract (CloudFormation casing).

    Columns carry their description as comment (prefixed ``[PII <category>]`` for personal data);
    the contract's metadata (owner, contact, SLO, classification...) goes to the table parameters.
    Open table formats keep their partitioning in their own metadata, so their partition keys are
    ordinary columns and the table has no Glue ``PartitionKeys``.
    """
    description = " ".join(contract.description.split())[:GLUE_DESCRIPTION_MAX]
    parameters = {**contract.glue_table_parameters(), "EXTERNAL": "TRUE"}
    descriptor: dict[str, Any] = {"Location": contract.location}
    result: dict[str, Any] = {
        "Name": contract.table_name,
        "Description": description,
        "Owner": contract.owner,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "StorageDescriptor": descriptor,
    }
    if contract.format in (DataFormat.ICEBERG, DataFormat.DELTA):
        descriptor["Columns"] = [_column(c) for c in contract.all_columns]
        if contract.partition_keys:
            parameters["meshworks.partition_keys"] = ",".join(c.name for c in contract.partition_keys)
        if contract.format is DataFormat.DELTA:
            parameters["table_type"] = "DELTA"
            parameters["spark.sql.sources.provider"] = "delta"
        return result
    spec = _FORMATS[contract.format]
    serde_params = {k: v for k, v in spec["params"].items() if v is not None}
    if contract.format is DataFormat.JSON:
        serde_params["paths"] = ",".join(c.name for c in contract.columns)
    if contract.format is DataFormat.AVRO:
        serde_params["avro.schema.literal"] = json.dumps(avro_schema(contract), separators=(",", ":"))
    if contract.format is DataFormat.CSV and csv_header:
        parameters["skip.header.line.count"] = "1"
    descriptor.update(
        {
            "Columns": [_column(c) for c in contract.columns],
            "InputFormat": spec["in"],
            "OutputFormat": spec["out"],
            "Compressed": False,
            "SerdeInfo": {"SerializationLibrary": spec["serde"], "Parameters": serde_params},
        }
    )
    if contract.partition_keys:
        result["PartitionKeys"] = [_column(c) for c in contract.partition_keys]
    return result
