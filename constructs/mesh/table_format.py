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
csv        ``OpenCSVSerde`` (quoted fields, ``"`` quote, ``\\`` escape): every column is declared ``string``
           (see below); ``skip.header.line.count=1`` unless told otherwise
hudi       Hudi table: ``HoodieParquetInputFormat`` + ``ParquetHiveSerDe``, partitions in Glue; folders named
           by value (``2026-11-25/``, Hudi's default) unless ``partition_path_style: hive``
iceberg    ``OpenTableFormatInput.IcebergInput.IcebergTableInput`` only (no ``TableInput``): Iceberg schema
           with field ids and an identity partition spec on the partition keys; Glue writes the metadata
delta      native Delta Lake table (``table_type=DELTA``) read by Athena/Glue from the Delta log
=========  ==========================================================================================

Decisions (``docs/mesh.md``, "Table formats end to end"):

* **CSV**: Athena's OpenCSVSerDe is the SerDe that reads quoted fields (LazySimpleSerDe splits
  ``"Smith, John"`` in two). It parses only a few non-string types, fails on empty numeric fields and
  reads dates/timestamps only as UNIX numbers (Athena, "Open CSV SerDe for processing CSV"), so every
  CSV column is declared ``string`` and the contract's types are kept in the table parameter
  ``meshworks.declared_types`` (JSON) for consumers to ``CAST`` in a view. Partition keys keep their
  types: their values come from the partition, not from the file. Nested types are contract errors.
* **Iceberg**: the table is defined by ``IcebergTableInput`` alone (location, schema, partition spec,
  properties). A ``TableInput`` next to it is refused by Glue ("table metadata present at multiple
  parts"), and a table created from ``TableInput`` + ``IcebergInput`` loses ``table_type=ICEBERG`` on
  its first CloudFormation update (aws-cloudformation/cloudformation-coverage-roadmap#1919). The
  contract's metadata goes to the Iceberg properties.
* **Partition folders**: Hive-style tables carry ``meshworks.partition_path_style`` (``hive`` or
  ``values``), which the notifier reads to derive a delivery's location.
"""

from __future__ import annotations

import json
from typing import Any

from meshworks.constructs.mesh.contract import Column, DataFormat, DataProductContract, GlueType

__all__ = [
    "GLUE_COMMENT_MAX",
    "ICEBERG_TO_GLUE",
    "avro_schema",
    "iceberg_schema",
    "open_table_format_input",
    "table_input",
]

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
        "serde": "org.apache.hadoop.hive.serde2.OpenCSVSerde",
        "params": {"separatorChar": ",", "quoteChar": '"', "escapeChar": "\\"},
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


#: Glue primitive type -> Iceberg primitive type (``decimal(p,s)`` keeps its text).
ICEBERG_TO_GLUE: dict[str, str] = {
    "string": "string",
    "int": "int",
    "bigint": "long",
    "float": "float",
    "double": "double",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "binary": "binary",
}
#: Partition field ids start here (the Iceberg spec's convention), schema field ids at 1.
_PARTITION_FIELD_ID = 1000


def _iceberg_type(glue: GlueType, next_id: list[int]) -> Any:
    """The Iceberg type of ``glue``: a name for primitives, a JSON object for nested types.

    Nested field ids are taken from ``next_id`` (after the top-level ids), depth first.
    """
    if glue.name == "decimal":
        return str(glue)
    if glue.is_primitive:
        return ICEBERG_TO_GLUE[glue.name]

    def new_id() -> int:
        next_id[0] += 1
        return next_id[0] - 1

    if glue.name == "array":
        element_id = new_id()
        return {
            "type": "list",
            "element-id": element_id,
            "element": _iceberg_type(glue.children[0], next_id),
            "element-required": False,
        }
    if glue.name == "map":
        key_id, value_id = new_id(), new_id()
        return {
            "type": "map",
            "key-id": key_id,
            "key": _iceberg_type(glue.children[0], next_id),
            "value-id": value_id,
            "value": _iceberg_type(glue.children[1], next_id),
            "value-required": False,
        }
    ids = [new_id() for _ in glue.children]
    return {
        "type": "struct",
        "fields": [
            {"id": field_id, "name": name, "required": False, "type": _iceberg_type(child, next_id)}
            for field_id, name, child in zip(ids, glue.field_names, glue.children, strict=True)
        ],
    }


def iceberg_schema(contract: DataProductContract) -> dict[str, Any]:
    """The ``IcebergSchema`` of the contract's columns then partition keys (field ids 1..n, all optional).

    CloudFormation types ``IcebergStructField.Type`` as a string: nested types are the Iceberg
    spec's JSON form of the type, as text.
    """
    columns = contract.all_columns
    next_id = [len(columns) + 1]
    fields = []
    for field_id, column in enumerate(columns, start=1):
        iceberg_type = _iceberg_type(column.glue_type, next_id)
        fields.append(
            {
                "Id": field_id,
                "Name": column.name,
                "Type": iceberg_type
                if isinstance(iceberg_type, str)
                else json.dumps(iceberg_type, separators=(",", ":")),
                "Required": False,
                "Doc": _comment(column),
            }
        )
    return {"SchemaId": 0, "Type": "struct", "Fields": fields}


def open_table_format_input(contract: DataProductContract) -> dict[str, Any] | None:
    """``OpenTableFormatInput`` for Iceberg (schema, identity partition spec, properties), else ``None``.

    Glue writes the Iceberg metadata from it (``MetadataOperation: CREATE``, format version 2). Each
    partition key becomes an ``identity`` partition field on its column, so a partition value is the
    column's value: the notifier validates the same values and keys the delivery ``key=value``.
    """
    if contract.format is not DataFormat.ICEBERG:
        return None
    schema = iceberg_schema(contract)
    source_ids = {f["Name"]: f["Id"] for f in schema["Fields"]}
    properties = {
        **contract.glue_table_parameters(),
        "comment": " ".join(contract.description.split())[:GLUE_DESCRIPTION_MAX],
    }
    table: dict[str, Any] = {"Location": contract.location, "Schema": schema, "Properties": properties}
    if contract.partition_keys:
        properties["meshworks.partition_keys"] = ",".join(c.name for c in contract.partition_keys)
        table["PartitionSpec"] = {
            "SpecId": 0,
            "Fields": [
                {
                    "Name": key.name,
                    "SourceId": source_ids[key.name],
                    "FieldId": _PARTITION_FIELD_ID + i,
                    "Transform": "identity",
                }
                for i, key in enumerate(contract.partition_keys)
            ],
        }
    return {"IcebergInput": {"MetadataOperation": "CREATE", "Version": "2", "IcebergTableInput": table}}


def table_input(contract: DataProductContract, *, csv_header: bool = True) -> dict[str, Any] | None:
    """The Glue ``TableInput`` of a contract (CloudFormation casing); None for Iceberg (see above).

    Columns carry their description as comment (prefixed ``[PII <category>]`` for personal data);
    the contract's metadata (owner, contact, SLO, classification...) goes to the table parameters.
    Open table formats keep their partitioning in their own metadata, so their partition keys are
    ordinary columns and the table has no Glue ``PartitionKeys``.
    """
    if contract.format is DataFormat.ICEBERG:
        return None
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
    if contract.format is DataFormat.DELTA:
        descriptor["Columns"] = [_column(c) for c in contract.all_columns]
        if contract.partition_keys:
            parameters["meshworks.partition_keys"] = ",".join(c.name for c in contract.partition_keys)
        parameters["table_type"] = "DELTA"
        parameters["spark.sql.sources.provider"] = "delta"
        return result
    spec = _FORMATS[contract.format]
    serde_params = {k: v for k, v in spec["params"].items() if v is not None}
    if contract.format is DataFormat.JSON:
        serde_params["paths"] = ",".join(c.name for c in contract.columns)
    if contract.format is DataFormat.AVRO:
        serde_params["avro.schema.literal"] = json.dumps(avro_schema(contract), separators=(",", ":"))
    columns = [_column(c) for c in contract.columns]
    if contract.format is DataFormat.CSV:
        if csv_header:
            parameters["skip.header.line.count"] = "1"
        declared = {c.name: str(c.glue_type) for c in contract.columns}
        parameters["meshworks.declared_types"] = json.dumps(declared, sort_keys=True, separators=(",", ":"))
        columns = [{**column, "Type": "string"} for column in columns]
    descriptor.update(
        {
            "Columns": columns,
            "InputFormat": spec["in"],
            "OutputFormat": spec["out"],
            "Compressed": False,
            "SerdeInfo": {"SerializationLibrary": spec["serde"], "Parameters": serde_params},
        }
    )
    if contract.partition_keys:
        result["PartitionKeys"] = [_column(c) for c in contract.partition_keys]
        parameters["meshworks.partition_path_style"] = contract.path_style.value
    return result
