"""Avro record schemas for CSV files: checked at synth, turned into Spark column types by the job (stdlib only).

CSV has no nested values, so a schema is a ``record`` of primitive fields, each optionally nullable
(``["null", T]``): ``string``, ``int``, ``long``, ``float``, ``double``, ``boolean``, and the logical types
``date`` (on ``int``), ``timestamp-millis`` / ``timestamp-micros`` (on ``long``) and ``decimal`` (on ``bytes``,
with ``precision`` and ``scale``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_PRIMITIVES = {"string": "string", "int": "int", "long": "bigint", "float": "float", "double": "double",
               "boolean": "boolean"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class AvroSchemaError(ValueError):
    """A schema the file-ingestion job cannot apply to CSV."""


@dataclass(frozen=True)
class Field:
    """One column: its name, Spark SQL type (``"bigint"``, ``"decimal(10,2)"``...) and whether it may be null."""

    name: str
    spark_type: str
    nullable: bool


def _spark_type(where: str, avro_type: Any) -> str:
    if isinstance(avro_type, str):
        if avro_type in _PRIMITIVES:
            return _PRIMITIVES[avro_type]
        raise AvroSchemaError(f"{where}: type {avro_type!r} is not a CSV column type: use one of {', '.join(_PRIMITIVES)}")
    if isinstance(avro_type, dict):
        logical, base = avro_type.get("logicalType"), avro_type.get("type")
        if logical == "date" and base == "int":
            return "date"
        if logical in ("timestamp-millis", "timestamp-micros") and base == "long":
            return "timestamp"
        if logical == "decimal" and base == "bytes":
            precision, scale = avro_type.get("precision"), avro_type.get("scale", 0)
            if not isinstance(precision, int) or not isinstance(scale, int) or not 0 <= scale <= precision <= 38:
                raise AvroSchemaError(f"{where}: decimal needs 1 <= precision <= 38 and 0 <= scale <= precision")
            return f"decimal({precision},{scale})"
        if logical is None and base in _PRIMITIVES:
            return _spark_type(where, base)
    raise AvroSchemaError(
        f"{where}: type {json.dumps(avro_type)} is not supported for CSV (nested records, arrays, maps and enums "
        "have no CSV form): use a primitive, a nullable union [\"null\", T], or a date/timestamp/decimal logical type"
    )


def parse_avro_schema(text: str, where: str = "schema") -> list[Field]:
    """The fields of an Avro ``record`` schema given as JSON text.

    Raises:
        AvroSchemaError: not JSON, not a record, no fields, a duplicate or invalid field name, or a type CSV
            cannot hold; the message names ``where``, the field and the fix.
    """
    try:
        schema = json.loads(text)
    except (TypeError, json.JSONDecodeError) as error:
        raise AvroSchemaError(f"{where}: not valid JSON ({error}): give the Avro schema text or a .avsc file") from None
    if not isinstance(schema, dict) or schema.get("type") != "record" or not schema.get("name"):
        raise AvroSchemaError(f"{where}: the schema must be an Avro record: {{\"type\": \"record\", \"name\": ..., \"fields\": [...]}}")
    fields = schema.get("fields")
    if not isinstance(fields, list) or not fields:
        raise AvroSchemaError(f"{where}: the record has no fields: list the CSV columns in \"fields\"")
    result: list[Field] = []
    for index, field in enumerate(fields):
        name = field.get("name") if isinstance(field, dict) else None
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise AvroSchemaError(f"{where}: field #{index + 1} has no valid name ({name!r}): use letters, digits and _")
        if any(existing.name.lower() == name.lower() for existing in result):
            raise AvroSchemaError(f"{where}: field {name!r} appears twice (Parquet column names are case-insensitive)")
        avro_type = field.get("type")
        nullable = isinstance(avro_type, list)
        if nullable:
            others = [t for t in avro_type if t != "null"]
            if len(avro_type) != 2 or len(others) != 1:
                raise AvroSchemaError(f"{where}: field {name!r}: only [\"null\", T] unions are supported, got {json.dumps(avro_type)}")
            avro_type = others[0]
        result.append(Field(name, _spark_type(f"{where}: field {name!r}", avro_type), nullable))
    return result


@dataclass(frozen=True)
class ColumnPlan:
    """How a CSV header maps onto a schema: the columns read, the nullable ones absent (filled with null), the
    required ones absent (the file fails), and the extra columns (dropped)."""

    present: list[Field]
    absent_nullable: list[Field]
    absent_required: list[str]
    extra: list[str]


def plan_columns(header: list[str], fields: list[Field]) -> ColumnPlan:
    """Match a CSV header to the schema's fields (names compared case-insensitively, surrounding blanks ignored)."""
    columns = {column.strip().lower(): column for column in header}
    present = [f for f in fields if f.name.lower() in columns]
    absent = [f for f in fields if f.name.lower() not in columns]
    known = {f.name.lower() for f in fields}
    return ColumnPlan(
        present=present,
        absent_nullable=[f for f in absent if f.nullable],
        absent_required=[f.name for f in absent if not f.nullable],
        extra=[column for key, column in columns.items() if key not in known],
    )
