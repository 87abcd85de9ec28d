"""The offline (Delta / Glue) schema of a Keyspaces feature table: CQL types mapped to Glue (Hive DDL) types.

Pure functions, no CDK. The mapping follows what the Spark Cassandra connector reads a column as, so the
DataFrame the feature job writes to Keyspaces has the types the Delta table declares:

==========================================  =====================================
CQL                                         Glue / Spark SQL
==========================================  =====================================
``text``, ``varchar``, ``ascii``            ``string``
``uuid``, ``timeuuid``, ``inet``            ``string``
``int`` / ``bigint``, ``counter``           ``int`` / ``bigint``
``smallint`` / ``tinyint``                  ``smallint`` / ``tinyint``
``float`` / ``double`` / ``boolean``        same name
``decimal`` / ``varint``                    ``decimal(38,18)`` / ``decimal(38,0)``
``timestamp`` / ``date``                    ``timestamp`` / ``date``
``time``                                    ``bigint`` (nanoseconds since midnight)
``blob``                                    ``binary``
``list<T>``, ``set<T>``                     ``array<T>``
``map<K, V>``                               ``map<K,V>``
``frozen<T>``                               ``T``
``tuple<A, B>``                             ``struct<_1:A,_2:B>`` (the connector's tuple fields)
user-defined type                           ``struct<field:type,...>``
==========================================  =====================================
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from .cql_types import CqlType, parse_cql_type
from .keyspaces_schema import KeyspacesTableSchema

_NATIVE = {
    "ascii": "string", "text": "string", "varchar": "string", "uuid": "string", "timeuuid": "string",
    "inet": "string", "int": "int", "bigint": "bigint", "counter": "bigint", "smallint": "smallint",
    "tinyint": "tinyint", "float": "float", "double": "double", "boolean": "boolean",
    "decimal": "decimal(38,18)", "varint": "decimal(38,0)", "timestamp": "timestamp", "date": "date",
    "time": "bigint", "blob": "binary",
}  # fmt: skip

#: The Delta partition column the feature job adds to every row (the run's logical date).
DEFAULT_PARTITION_COLUMN = "feature_date"


def glue_type(cql_type: str | CqlType, schema: KeyspacesTableSchema) -> str:
    """The Glue type of one CQL type of ``schema`` (its user-defined types become structs).

    Raises:
        ValueError: a type without a Glue equivalent (a user-defined type the schema does not declare), naming it.
    """
    parsed = parse_cql_type(cql_type) if isinstance(cql_type, str) else cql_type
    if parsed.name in _NATIVE:
        return _NATIVE[parsed.name]
    if parsed.name == "frozen":
        return glue_type(parsed.args[0], schema)
    if parsed.name in ("list", "set"):
        return f"array<{glue_type(parsed.args[0], schema)}>"
    if parsed.name == "map":
        return f"map<{glue_type(parsed.args[0], schema)},{glue_type(parsed.args[1], schema)}>"
    if parsed.name == "tuple":
        return "struct<" + ",".join(f"_{i}:{glue_type(arg, schema)}" for i, arg in enumerate(parsed.args, 1)) + ">"
    udts = {udt.name: udt for udt in schema.types}
    if parsed.is_udt and parsed.name in udts:
        fields = ",".join(f"{f.name}:{glue_type(f.type, schema)}" for f in udts[parsed.name].fields)
        return f"struct<{fields}>"
    raise ValueError(f"CQL type {str(parsed)!r} of {schema.keyspace}.{schema.table} has no Glue type in the offline "
                     "store: use one of the mapped types (docs/features.md, 'Offline store')")


def offline_columns(schema: KeyspacesTableSchema, partition_column: str = DEFAULT_PARTITION_COLUMN) -> list[tuple[str, str]]:
    """``(name, glue type)`` of every column of the Delta table: the Keyspaces columns in declaration order, then
    ``partition_column`` (``date``), which the Delta table is partitioned by.

    Raises:
        ValueError: ``partition_column`` is also a Keyspaces column, or a column type has no Glue type.
    """
    if any(c.name == partition_column for c in schema.columns):
        raise ValueError(f"partition_column={partition_column!r} is also a column of {schema.keyspace}.{schema.table}: "
                         "choose another name for the Delta partition column")
    return [(c.name, glue_type(c.type, schema)) for c in schema.columns] + [(partition_column, "date")]


def offline_prefix(table_name: str) -> str:
    """The default folder of a feature table's Delta table in its bucket: ``features/<table_name>/``."""
    return f"features/{table_name}/"


def offline_description(schema: KeyspacesTableSchema, partition_column: str = DEFAULT_PARTITION_COLUMN) -> str:
    """The default description of the offline store's Glue table (and of its data product)."""
    return (f"Offline feature store (Delta) of Keyspaces table {schema.keyspace}.{schema.table}, "
            f"partitioned by {partition_column}; written by the feature job.")


def offline_product_input(
    schema: KeyspacesTableSchema,
    *,
    location: str,
    table_name: str | None = None,
    partition_column: str = DEFAULT_PARTITION_COLUMN,
    description: str | None = None,
    column_descriptions: Mapping[str, str] | None = None,
    pii_columns: Collection[str] = (),
    **fields: Any,
) -> dict[str, Any]:
    """The input of a ``delta`` ``DataProductContract`` sharing the offline store at ``location``
    (``s3://<bucket>/<prefix>``): name, description, location, format, the columns of :func:`offline_columns`
    (``partition_column`` as the partition key; those of ``pii_columns`` with ``pii: true``), plus ``fields`` (domain, owner, contact, slo, classification,
    consumers, tags...) as given. Validate it with ``DataProductContract.model_validate``.

    Raises:
        ValueError: as :func:`offline_columns`.
    """
    texts = dict(column_descriptions or {})
    cql = {c.name: c.type for c in schema.columns}

    def column(name: str, kind: str) -> dict[str, str]:
        default = (f"Keyspaces column {name} ({cql[name]})." if name in cql
                   else "Logical date of the feature job run that wrote the row.")
        entry = {"name": name, "type": kind, "description": texts.get(name, default)}
        return {**entry, "pii": True} if name in pii_columns else entry

    columns = offline_columns(schema, partition_column)
    return {
        "name": table_name or schema.table,
        "description": description or offline_description(schema, partition_column),
        "location": location,
        "format": "delta",
        "columns": [column(n, k) for n, k in columns if n != partition_column],
        "partition_keys": [column(partition_column, "date")],
        **fields,
    }
