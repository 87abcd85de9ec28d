"""The typed schema of an Amazon Keyspaces table: what a person writes (YAML/JSON/Python) or reads from CQL.

Example (YAML)::

    keyspace: features
    table: customer_features
    types:
      - name: address
        fields: [{name: street, type: text}, {name: city, type: text}]
    columns:
      - {name: customer_id, type: text}
      - {name: feature_set, type: text}
      - {name: computed_at, type: timestamp}
      - {name: scores, type: "map<text, double>"}
      - {name: home, type: "frozen<address>"}
    partition_key: [customer_id]
    clustering: [{name: feature_set}, {name: computed_at, order: DESC}]
    default_time_to_live: 604800
    client_side_timestamps: true
    cdc: {view_type: NEW_AND_OLD_IMAGES}

Errors are pydantic ``ValidationError``s (a ``ValueError``) naming the field, the value and the fix.
Name rules are CloudFormation's (``AWS::Cassandra::Table``: ``^[a-zA-Z0-9][a-zA-Z0-9_]{1,47}$`` for keyspace,
table and column names, i.e. 2 to 48 characters); CQL folds unquoted names to lower case, so names are kept
in lower case.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from meshworks.constructs.core.inputs import Choice, UserModel

from .cql_types import CqlTypeError, parse_cql_type

#: CloudFormation's pattern for keyspace, table and column names (AWS::Cassandra::Table schema).
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_]{1,47}")
#: CQL's unquoted identifier, for type and field names (CloudFormation sets no pattern for AWS::Cassandra::Type).
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,47}")
#: Keyspaces' maximum default TTL: 630,720,000 seconds (20 years), as Cassandra's.
MAX_TTL_SECONDS = 630_720_000


def _identifier(value: str, what: str) -> str:
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not a valid name: use up to 48 lower-case letters, digits and '_', "
                         "starting with a letter")
    return value


def _name(value: str, what: str) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} is not a valid Keyspaces name: use 2-48 lower-case letters, digits and '_', "
            "starting with a letter or digit (CloudFormation's pattern ^[a-zA-Z0-9][a-zA-Z0-9_]{1,47}$)"
        )
    return value


def _type(value: str) -> str:
    try:
        return str(parse_cql_type(value))
    except CqlTypeError as error:
        raise ValueError(str(error)) from None


def validation_message(error: ValidationError, where: str) -> str:
    """One readable message for a pydantic error: ``where``, then each field path and what is wrong."""
    lines = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"]) or "schema"
        message = str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"{path}: {message}")
    return f"{where}: " + ("; ".join(lines) if len(lines) < 3 else "\n- " + "\n- ".join(lines))


class _Model(UserModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(_Model):
    """One column: ``name``, CQL ``type`` (normalised, see ``cql_types``) and ``static`` (default False)."""

    name: str
    type: str
    static: bool = False

    _check_name = field_validator("name")(lambda v: _name(v, "column name"))
    _check_type = field_validator("type")(lambda v: _type(v))


class TypeField(_Model):
    """One field of a user-defined type: ``name`` and CQL ``type``."""

    name: str
    type: str

    _check_name = field_validator("name")(lambda v: _identifier(v, "field name"))
    _check_type = field_validator("type")(lambda v: _type(v))


class UserDefinedType(_Model):
    """A user-defined type (``CREATE TYPE``; ``AWS::Cassandra::Type``) of the table's keyspace."""

    name: str
    fields: list[TypeField] = Field(min_length=1)

    _check_name = field_validator("name")(lambda v: _identifier(v, "type name"))

    @model_validator(mode="after")
    def _unique_fields(self) -> UserDefinedType:
        names = [f.name for f in self.fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"type {self.name}: field(s) {', '.join(duplicates)} declared twice: keep one")
        return self


class ClusteringOrder(Choice):
    ASC = "ASC"
    DESC = "DESC"


class ClusteringColumn(_Model):
    """A clustering column (by name, declared in ``columns``) and its order (default ASC)."""

    name: str
    order: ClusteringOrder = ClusteringOrder.ASC

    @field_validator("order", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class Cdc(_Model):
    """Change data capture: the stream's ``view_type`` (default NEW_AND_OLD_IMAGES, as CloudFormation's)."""

    view_type: Literal["NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY", "NEW_AND_OLD_IMAGES"] = "NEW_AND_OLD_IMAGES"


class KeyspacesTableSchema(_Model):
    """A Keyspaces table: keyspace, name, columns, keys, user-defined types and table options.

    Args:
        keyspace: keyspace name. table: table name.
        columns: every column in declaration order (keys included).
        partition_key: column names of the partition key, in order (at least one).
        clustering: clustering columns with their order. Default: none.
        types: user-defined types the columns use (declared before use). Default: none.
        default_time_to_live: seconds, 1 to 630,720,000; None = no default TTL. Default: None.
        client_side_timestamps: Keyspaces' client-side timestamps (cannot be turned off once on). Default: False.
        cdc: change data capture stream settings; None = off. Default: None.
    """

    keyspace: str
    table: str
    columns: list[Column] = Field(min_length=1)
    partition_key: list[str] = Field(min_length=1)
    clustering: list[ClusteringColumn] = []
    types: list[UserDefinedType] = []
    default_time_to_live: int | None = Field(default=None, ge=1, le=MAX_TTL_SECONDS)
    client_side_timestamps: bool = False
    cdc: Cdc | None = None

    _check_keyspace = field_validator("keyspace")(lambda v: _name(v, "keyspace name"))
    _check_table = field_validator("table")(lambda v: _name(v, "table name"))

    @model_validator(mode="after")
    def _consistent(self) -> KeyspacesTableSchema:
        where = f"table {self.keyspace}.{self.table}"
        names = [c.name for c in self.columns]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"{where}: column(s) {', '.join(duplicates)} declared twice: keep one")
        by_name = {c.name: c for c in self.columns}
        keys = list(self.partition_key) + [c.name for c in self.clustering]
        for key in keys:
            if key not in by_name:
                raise ValueError(f"{where}: key column {key!r} is not declared in columns: add it with its type")
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ValueError(f"{where}: column(s) {', '.join(repeated)} used twice in the primary key: use each once")
        for key in keys:
            column = by_name[key]
            parsed = parse_cql_type(column.type)
            if column.static:
                raise ValueError(f"{where}: key column {key!r} cannot be STATIC: remove static from it")
            if parsed.name == "counter":
                raise ValueError(f"{where}: key column {key!r} cannot be a counter: use bigint")
            if parsed.is_collection or parsed.is_udt:
                raise ValueError(f"{where}: key column {key!r} of type {column.type} must be frozen: "
                                 f"write frozen<{column.type}>")
        if any(c.static for c in self.columns) and not self.clustering:
            raise ValueError(f"{where}: static columns need clustering columns (a partition holds one row "
                             "otherwise): add clustering or drop static")
        regular = [c for c in self.columns if c.name not in keys]
        counters = [c.name for c in regular if c.type == "counter"]
        if counters and len(counters) != len(regular):
            others = [c.name for c in regular if c.type != "counter"]
            raise ValueError(f"{where}: counter column(s) {', '.join(counters)} cannot share a table with regular "
                             f"column(s) {', '.join(others)}: move the counters to their own table")
        if counters and self.default_time_to_live:
            raise ValueError(f"{where}: a counter table cannot have default_time_to_live: remove it")
        declared: list[str] = []
        known = {t.name for t in self.types}
        for udt in self.types:
            for fld in udt.fields:
                parsed = parse_cql_type(fld.type)
                if parsed.name == "counter":
                    raise ValueError(f"type {udt.name}: field {fld.name} cannot be a counter: use bigint")
                for used in parsed.udt_names():
                    if used not in declared:
                        raise ValueError(f"type {udt.name}: field {fld.name} uses type {used!r}, which is not "
                                         "declared before it in types: declare it first")
                if parsed.is_udt:
                    raise ValueError(f"type {udt.name}: field {fld.name} must be frozen<{used}> (nested "
                                         "user-defined types are frozen)")
            declared.append(udt.name)
        for column in self.columns:
            for used in parse_cql_type(column.type).udt_names():
                if used not in known:
                    raise ValueError(f"{where}: column {column.name} uses type {used!r}, which is not declared in "
                                     f"types: add it under types (CREATE TYPE) or fix the type name")
        return self

    # ------------------------------------------------------------------------------------- views

    @property
    def regular_columns(self) -> list[Column]:
        """Columns outside the primary key, in declaration order."""
        keys = set(self.partition_key) | {c.name for c in self.clustering}
        return [c for c in self.columns if c.name not in keys]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def to_cql(self) -> str:
        """The ``CREATE TYPE``/``CREATE TABLE`` DDL, normalised (see ``cql.render_cql``)."""
        from .cql import render_cql

        return render_cql(self)

    @classmethod
    def from_cql(cls, text: str, *, keyspace: str | None = None) -> KeyspacesTableSchema:
        """Read the one ``CREATE TABLE`` (and its ``CREATE TYPE``\\s) of a CQL script (see ``cql.parse_cql``)."""
        from .cql import parse_cql

        return parse_cql(text, keyspace=keyspace)
