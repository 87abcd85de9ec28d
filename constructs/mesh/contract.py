"""The data-product contract: one YAML file describes one data product of the mesh.

A producer team writes the contract; the platform turns it into a Glue table in the hub catalog, Lake
Formation grants for the consumer accounts, and an SLO monitor. The model checks every field on its own
(types, names, formats); the governance rules that look at several fields or several contracts live in
:mod:`meshworks.constructs.mesh.review`.

Example::

    from pathlib import Path

    import yaml

    from meshworks.constructs.mesh.contract import DataProductContract

    text = Path("contracts/sales/orders.yaml").read_text()
    contract = DataProductContract.model_validate(yaml.safe_load(text))
    contract.database_name        # "sales"
    contract.glue_table_parameters()["meshworks.owner"]

Regenerate the committed JSON Schema (``data_product.schema.json``) after changing the model::

    meshworks schema --output constructs/mesh/data_product.schema.json
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from meshworks.constructs.mesh.trust import check_s3_folder
from meshworks.lambdas.mesh_notifier.partition_values import PartitionValueError, check_key_type
from meshworks.lambdas.slo_monitor.cron import parse_cron, resolve_timezone

__all__ = [
    "CONSUMERS_PARAMETER",
    "PRODUCER_ACCOUNT_PARAMETER",
    "SCHEMA_PATH",
    "Classification",
    "Column",
    "Contact",
    "DataFormat",
    "DataProductContract",
    "GlueType",
    "PartitionPathStyle",
    "PiiCategory",
    "Slo",
    "json_schema",
    "parse_glue_type",
    "render_json_schema",
]

SCHEMA_PATH = Path(__file__).with_name("data_product.schema.json")
"""Where the generated JSON Schema of :class:`DataProductContract` is committed."""

PRODUCER_ACCOUNT_PARAMETER = "meshworks:producer_account"
#: Glue table parameter listing the product's consumer accounts (the hub notifier publishes to each one's topic).
CONSUMERS_PARAMETER = "meshworks:consumers"
"""Glue table parameter holding the product's producer account: the only account whose refresh events the
hub's notifier accepts for the table (set from the reviewed contract, see :mod:`~meshworks.constructs.mesh.trust`)."""

LOCATED_ERROR = "meshworks_located"
"""Error type of validators that report several problems, each at its own place (see ``_located``)."""


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _located(issues: list[tuple[tuple[str | int, ...], str]]) -> PydanticCustomError:
    """One validation error that carries several problems, each with a location relative to the field.

    pydantic reports a validator's error at the field itself; the loader unpacks ``ctx["issues"]`` so that
    every problem points at its own YAML line (for example the second column with a duplicate name).
    """
    summary = "; ".join(message for _, message in issues)
    return PydanticCustomError(LOCATED_ERROR, "{summary}", {"summary": summary, "issues": tuple(issues)})


def _suggest(value: str, choices: Any, cutoff: float = 0.6) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or an empty string."""
    matches = difflib.get_close_matches(value, list(choices), n=1, cutoff=cutoff)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


_SNAKE_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def _snake_case(min_length: int, max_length: int, what: str) -> Any:
    """Build a validator for a snake_case identifier of bounded length."""

    def check(value: str) -> str:
        if not _SNAKE_RE.match(value):
            hint = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")
            example = f" such as {hint!r}" if hint and _SNAKE_RE.match(hint) else ""
            raise ValueError(
                f"{what} {value!r} is not snake_case: use lowercase letters, digits and single underscores, "
                f"starting with a letter{example}"
            )
        if not min_length <= len(value) <= max_length:
            raise ValueError(f"{what} {value!r} must be {min_length}-{max_length} characters long")
        return value

    return check


_PLACEHOLDER_RE = re.compile(
    r"^\W*(?:todo|tbd|tba|fixme|xxx+|n/?a|none|null|description|desc|placeholder|lorem ipsum.*|test|"
    r"same as above|see above|-+|\?+|\.+)\W*$|\b(?:todo|tbd|fixme|lorem ipsum)\b",
    re.IGNORECASE,
)


def _description(min_length: int, what: str) -> Any:
    """Build a validator for a human description: long enough, not a placeholder."""

    def check(value: str) -> str:
        text = " ".join(value.split())
        if _PLACEHOLDER_RE.search(text):
            raise ValueError(f"{what} looks like a placeholder ({text[:40]!r}): say what the data means")
        if len(text) < min_length:
            raise ValueError(
                f"{what} is too short ({len(text)} characters; at least {min_length}): say what the data "
                "is, where it comes from and how to use it"
            )
        return value

    return check


# --------------------------------------------------------------------------------------------------
# Glue / Hive column types
# --------------------------------------------------------------------------------------------------

PRIMITIVE_TYPES: frozenset[str] = frozenset(
    {
        "string",
        "int",
        "bigint",
        "smallint",
        "tinyint",
        "double",
        "float",
        "boolean",
        "date",
        "timestamp",
        "binary",
    }
)
"""Glue/Hive primitive types accepted without parameters (``decimal``, ``varchar``, ``char`` take them)."""

_TYPE_ALIASES = {
    "integer": "int",
    "long": "bigint",
    "short": "smallint",
    "byte": "tinyint",
    "text": "string",
    "str": "string",
    "varchar2": "varchar(n)",
    "bool": "boolean",
    "datetime": "timestamp",
    "timestamptz": "timestamp",
    "real": "float",
    "number": "decimal(p,s)",
    "numeric": "decimal(p,s)",
    "list": "array<...>",
    "dict": "map<k,v>",
    "object": "struct<...>",
    "record": "struct<...>",
    "bytes": "binary",
    "blob": "binary",
}
_KEYWORDS = sorted(PRIMITIVE_TYPES | {"decimal", "varchar", "char", "array", "map", "struct"})
_TOKEN_RE = re.compile(r"\s*(?:(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<number>[0-9]+)|(?P<punct>[<>(),:]))")
_MAX_TYPE_DEPTH = 16
_MAX_TYPE_LENGTH = 4000


@dataclass(frozen=True)
class GlueType:
    """A parsed Glue/Hive column type; ``str()`` gives its canonical text (lowercase, no spaces).

    Attributes:
        name: ``string``, ``decimal``, ``array``, ``map``, ``struct`` ...
        params: numeric parameters: ``(precision, scale)`` for decimal, ``(length,)`` for varchar/char.
        children: element type (array), key and value types (map) or field types (struct).
        field_names: struct field names, parallel to ``children``.
    """

    name: str
    params: tuple[int, ...] = ()
    children: tuple[GlueType, ...] = ()
    field_names: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.name == "struct":
            inner = ",".join(f"{n}:{c}" for n, c in zip(self.field_names, self.children, strict=True))
            return f"struct<{inner}>"
        if self.children:
            return f"{self.name}<{','.join(str(c) for c in self.children)}>"
        if self.params:
            return f"{self.name}({','.join(str(p) for p in self.params)})"
        return self.name

    @property
    def is_primitive(self) -> bool:
        """True unless this is an ``array``, ``map`` or ``struct``."""
        return self.name not in {"array", "map", "struct"}

    def struct_fields(self, prefix: str = "") -> Iterator[str]:
        """Yield the dotted paths of every struct field, at any depth (``address.street``)."""
        for index, child in enumerate(self.children):
            if self.name == "struct":
                path = f"{prefix}{self.field_names[index]}"
                yield path
                yield from child.struct_fields(path + ".")
            else:
                yield from child.struct_fields(prefix)


class _TypeParser:
    """Recursive-descent parser for Glue/Hive type strings."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        position = 0
        while position < len(text):
            match = _TOKEN_RE.match(text, position)
            if not match or match.end() == position:
                if text[position:].strip() == "":
                    break
                offending = text[position:].lstrip()[:1]
                column = len(text) - len(text[position:].lstrip()) + 1
                raise ValueError(f"unexpected character {offending!r} at position {column}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind), match.start(kind) + 1))
            position = match.end()
        self.index = 0

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _next(self, expected: str) -> tuple[str, str, int]:
        token = self._peek()
        if token is None:
            raise ValueError(f"unexpected end of type; expected {expected}")
        self.index += 1
        return token

    def _expect(self, punct: str) -> None:
        kind, value, position = self._next(repr(punct))
        if kind != "punct" or value != punct:
            raise ValueError(f"expected {punct!r} at position {position}, found {value!r}")

    def _number(self, what: str, low: int, high: int) -> int:
        kind, value, position = self._next(what)
        if kind != "number":
            raise ValueError(f"expected {what} at position {position}, found {value!r}")
        number = int(value)
        if not low <= number <= high:
            raise ValueError(f"{what} must be {low}-{high}, got {number}")
        return number

    def parse(self) -> GlueType:
        result = self._type(0)
        token = self._peek()
        if token is not None:
            raise ValueError(f"unexpected {token[1]!r} at position {token[2]} after a complete type")
        return result

    def _type(self, depth: int) -> GlueType:
        if depth > _MAX_TYPE_DEPTH:
            raise ValueError(f"types nest deeper than {_MAX_TYPE_DEPTH} levels")
        kind, value, position = self._next("a type name")
        if kind != "ident":
            raise ValueError(f"expected a type name at position {position}, found {value!r}")
        name = value.lower()
        if name in PRIMITIVE_TYPES:
            return GlueType(name)
        if name == "decimal":
            return self._decimal()
        if name in {"varchar", "char"}:
            high = 65535 if name == "varchar" else 255
            self._expect("(")
            length = self._number(f"{name} length", 1, high)
            self._expect(")")
            return GlueType(name, (length,))
        if name == "array":
            self._expect("<")
            element = self._type(depth + 1)
            self._expect(">")
            return GlueType("array", children=(element,))
        if name == "map":
            return self._map(depth)
        if name == "struct":
            return self._struct(depth)
        hint = f" (did you mean {_TYPE_ALIASES[name]!r}?)" if name in _TYPE_ALIASES else _suggest(name, _KEYWORDS)
        raise ValueError(f"unknown type {value!r}{hint}")

    def _decimal(self) -> GlueType:
        token = self._peek()
        if token is None or token[1] != "(":
            return GlueType("decimal", (10, 0))
        self._expect("(")
        precision = self._number("decimal precision", 1, 38)
        scale = 0
        token = self._peek()
        if token is not None and token[1] == ",":
            self._expect(",")
            scale = self._number("decimal scale", 0, 38)
        self._expect(")")
        if scale > precision:
            raise ValueError(f"decimal scale {scale} is larger than its precision {precision}")
        return GlueType("decimal", (precision, scale))

    def _map(self, depth: int) -> GlueType:
        self._expect("<")
        key = self._type(depth + 1)
        if not key.is_primitive:
            raise ValueError(f"map keys must be a primitive type, not {key}")
        self._expect(",")
        value = self._type(depth + 1)
        self._expect(">")
        return GlueType("map", children=(key, value))

    def _struct(self, depth: int) -> GlueType:
        self._expect("<")
        names: list[str] = []
        children: list[GlueType] = []
        while True:
            kind, value, position = self._next("a struct field name")
            if kind != "ident":
                raise ValueError(f"expected a struct field name at position {position}, found {value!r}")
            field_name = value.lower()
            if field_name in names:
                raise ValueError(f"duplicate struct field {field_name!r}")
            self._expect(":")
            names.append(field_name)
            children.append(self._type(depth + 1))
            kind, value, position = self._next("',' or '>'")
            if value == ">":
                break
            if value != ",":
                raise ValueError(f"expected ',' or '>' at position {position}, found {value!r}")
        return GlueType("struct", children=tuple(children), field_names=tuple(names))


@lru_cache(maxsize=4096)  # pure, and its GlueType is immutable: a mesh repeats a few hundred types
def parse_glue_type(text: str) -> GlueType:
    """Parse a Glue/Hive column type such as ``map<string,array<struct<id:bigint,at:timestamp>>>``.

    Raises:
        ValueError: with a readable message (unknown type, missing ``>``, bad decimal ...).
    """
    if not isinstance(text, str):
        raise ValueError(f"a type must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("the type is empty")
    if len(text) > _MAX_TYPE_LENGTH:
        raise ValueError(f"the type is longer than {_MAX_TYPE_LENGTH} characters")
    return _TypeParser(text).parse()


def _check_glue_type(value: str) -> str:
    try:
        return str(parse_glue_type(value))
    except ValueError as exc:
        raise ValueError(f"invalid Glue type {value!r}: {exc}") from None


#: Types each format cannot store, at any depth, with the type to use instead. Iceberg's types are
#: boolean, int, long, float, double, decimal, date, time, timestamp(tz), string, uuid, fixed, binary,
#: list, map and struct (Iceberg table spec, "Schemas and Data Types"); Delta's protocol has byte and
#: short but no char/varchar (Spark stores those as string); Hudi's schema is an Avro schema, like the
#: avro format's: no 8/16-bit integers, no char/varchar, and map keys are always strings.
_FORMAT_MISSING_TYPES: dict[str, dict[str, str]] = {
    "iceberg": {"tinyint": "int", "smallint": "int", "char": "string", "varchar": "string"},
    "delta": {"char": "string", "varchar": "string"},
    "hudi": {"tinyint": "int", "smallint": "int", "char": "string", "varchar": "string"},
}
_STRING_MAP_KEYS = frozenset({"hudi", "avro"})


def format_type_problem(fmt: str, glue_type: GlueType) -> str | None:
    """Why ``fmt`` cannot store a column of ``glue_type`` (with the type to use), or None when it can.

    CSV has no nested types; Iceberg, Delta and Hudi lack some Hive types (``_FORMAT_MISSING_TYPES``);
    Avro and Hudi maps have string keys.
    """
    if fmt == "csv" and not glue_type.is_primitive:
        return f"csv files have no nested types: {glue_type} is not a primitive type (flatten it, or use parquet/json)"
    missing = _FORMAT_MISSING_TYPES.get(fmt, {})
    stack = [glue_type]
    while stack:
        current = stack.pop()
        if current.name in missing:
            inside = f" (in {glue_type})" if current is not glue_type else ""
            return f"{fmt} has no type {current}{inside}: use {missing[current.name]}"
        if current.name == "map" and fmt in _STRING_MAP_KEYS and current.children[0].name != "string":
            return f"{fmt} maps have string keys: use map<string,{current.children[1]}> instead of {current}"
        stack.extend(reversed(current.children))
    return None


def _format_issues(
    columns: tuple[Column, ...], fmt: Any, *, partition_keys: bool = False
) -> list[tuple[tuple[str | int, ...], str]]:
    issues: list[tuple[tuple[str | int, ...], str]] = []
    fmt_name = getattr(fmt, "value", fmt)
    for index, column in enumerate(columns):
        problem = format_type_problem(fmt_name, column.glue_type) if isinstance(fmt_name, str) else None
        if problem is None and partition_keys:
            try:
                check_key_type(column.name, column.type)
            except PartitionValueError as error:
                problem = str(error)
        if problem is not None:
            issues.append(((index, "type"), f"column {column.name!r}: {problem}" if not partition_keys else problem))
    return issues


# --------------------------------------------------------------------------------------------------
# Field types
# --------------------------------------------------------------------------------------------------

_COLUMN_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_SLACK_RE = re.compile(r"^#[a-z0-9]+(?:-[a-z0-9]+)*$")
_OWNER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9 _.-]*[A-Za-z0-9]$")
_ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
_TAG_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
_TAG_VALUE_RE = re.compile(r"^[A-Za-z0-9 _.:/=+@%-]+$")
RESERVED_TAG_KEYS: frozenset[str] = frozenset({"domain", "classification", "product", "pii"})
"""LF-tag keys the platform sets itself from the contract (see :meth:`DataProductContract.lf_tags`)."""
#: Lake Formation: LF-tag keys and values are at most 50 characters; a resource carries at most 50 LF-tags
#: (developer guide, "Lake Formation tag-based access control notes and restrictions").
MAX_LF_TAG_LENGTH = 50
MAX_LF_TAGS_PER_RESOURCE = 50
#: LF-tags every table carries besides the contract's tags and one per consumer: domain, classification, pii.
PLATFORM_LF_TAGS = 3


def _check_column_name(value: str) -> str:
    if not _COLUMN_RE.match(value):
        hint = re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_")
        example = f" such as {hint!r}" if hint and _COLUMN_RE.match(hint) else ""
        raise ValueError(
            f"column name {value!r} is not valid in Glue/Athena: use lowercase letters, digits and underscores{example}"
        )
    if len(value) > 128:
        raise ValueError(f"column name {value[:20]!r}... is longer than 128 characters")
    return value


def _check_email(value: str) -> str:
    local = value.rpartition("@")[0]
    if len(value) > 254 or len(local) > 64 or not _EMAIL_RE.match(value):
        raise ValueError(f"{value!r} is not a valid email address (for example 'sales-data@example.com')")
    return value


def _check_slack(value: str) -> str:
    if not _SLACK_RE.match(value) or len(value) > 81:
        hint = "#" + re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
        example = f" such as {hint!r}" if len(hint) > 1 else ""
        raise ValueError(f"Slack channel {value!r} must be '#' followed by lowercase words joined by '-'{example}")
    return value


def _check_owner(value: str) -> str:
    if not 2 <= len(value) <= 64 or not _OWNER_RE.match(value):
        raise ValueError(
            f"owner {value!r} must be a team name of 2-64 characters: letters, digits, spaces, '.', '_', '-'"
        )
    return value


def _check_account(value: str) -> str:
    if not _ACCOUNT_RE.match(value):
        raise ValueError(f"{value!r} is not a 12-digit AWS account id")
    return value


def _check_account_type(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        source = getattr(value, "source", None)  # the loader's YamlInt: the digits as written
        if source is not None and re.fullmatch(r"[0-9_]+", source) and source != str(int(value)):
            # YAML 1.1 read a leading-zero number as octal: the value is another number, never suggest it.
            raise ValueError(
                f"account id {source} must be quoted ('{source}'): YAML reads an unquoted number with a leading 0 "
                f"as octal ({int(value)}), a different account"
            )
        if len(str(int(value))) == 12:
            raise ValueError(
                f"account id {int(value)} must be quoted ('{int(value)}'): YAML reads unquoted numbers as integers"
            )
        raise ValueError(
            f"account id {int(value)} must be quoted, with all 12 digits as written (e.g. '012345678901'): "
            "YAML reads unquoted numbers as integers, dropping leading zeros"
        )
    return value


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix/`` into ``("bucket", "prefix/")`` (no validation)."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix


def _check_location(value: str) -> str:
    return check_s3_folder(value, what="location")


def _check_cron(value: str) -> str:
    parse_cron(value)  # raises ValueError with a readable message
    return " ".join(value.split())


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


#: Abbreviations people write instead of an IANA zone: they name an offset, not a place with its DST rules.
_TZ_ABBREVIATION_RE = re.compile(r"^[A-Z]{2,5}([+-]\d{1,2})?$")


def _timezone_hint(value: str, known: frozenset[str]) -> str:
    """A suggestion only when it is right: a different letter case, or one clearly closest real zone."""
    by_lower = {name.lower(): name for name in known}
    if value.lower() in by_lower:
        return f" (did you mean {by_lower[value.lower()]!r}?)"
    if _TZ_ABBREVIATION_RE.match(value):
        return (
            f": {value!r} looks like an abbreviation, which names an offset, not a zone with its daylight-saving "
            "rules; use the IANA name of the place, e.g. 'Europe/Berlin' for CET/CEST or 'America/New_York' for EST/EDT"
        )
    # Typos only: a high cutoff and a single candidate ("Europe/Berlinn"), never a different city.
    close = difflib.get_close_matches(value, list(known), n=2, cutoff=0.85)
    if len(close) == 1:
        return f" (did you mean {close[0]!r}?)"
    return " (IANA names are Area/City of one main city per zone, e.g. 'Europe/Berlin', 'America/Phoenix' or 'UTC')"


def _check_timezone(value: str) -> str:
    known = _timezones()
    if known and value not in known:
        raise ValueError(f"unknown IANA time zone {value!r}{_timezone_hint(value, known)}")
    resolve_timezone(value)
    return value


def _check_tags(value: dict[str, str]) -> dict[str, str]:
    issues: list[tuple[tuple[str | int, ...], str]] = []
    if len(value) > 40:
        issues.append(((), f"at most 40 tags are allowed (Lake Formation limit with platform tags), got {len(value)}"))
    for key, tag in value.items():
        if not _TAG_KEY_RE.match(key) or len(key) > MAX_LF_TAG_LENGTH:
            issues.append(
                ((key,), f"tag key {key!r} must be 1-50 lowercase letters, digits, '_' or '-', starting with a letter")
            )
        elif key in RESERVED_TAG_KEYS:
            issues.append(((key,), f"tag key {key!r} is set by the platform from the contract; remove it"))
        if not tag or len(tag) > MAX_LF_TAG_LENGTH or not _TAG_VALUE_RE.match(tag):
            issues.append(((key,), f"tag value {tag[:40]!r} must be 1-50 letters, digits, spaces or _.:/=+@%-"))
    if issues:
        raise _located(issues)
    return value


SnakeName = Annotated[
    str,
    AfterValidator(_snake_case(3, 64, "name")),
    Field(
        description="Data product (and Glue table) name: snake_case, 3-64 characters.",
        json_schema_extra={"pattern": _SNAKE_RE.pattern, "minLength": 3, "maxLength": 64},
        examples=["orders"],
    ),
]
DomainName = Annotated[
    str,
    AfterValidator(_snake_case(2, 50, "domain")),  # also the value of the LF-tag `domain`: at most 50
    Field(
        description="Owning business domain (and Glue database name): snake_case, 2-50 characters.",
        json_schema_extra={"pattern": _SNAKE_RE.pattern, "minLength": 2, "maxLength": 50},
        examples=["sales"],
    ),
]
ColumnName = Annotated[
    str,
    AfterValidator(_check_column_name),
    Field(
        description="Column name as Glue/Athena stores it: lowercase letters, digits and underscores.",
        json_schema_extra={"pattern": _COLUMN_RE.pattern, "maxLength": 128},
    ),
]
GlueTypeText = Annotated[
    str,
    AfterValidator(_check_glue_type),
    Field(
        description=(
            "Glue/Hive type: string, int, bigint, smallint, tinyint, double, float, boolean, date, timestamp, "
            "binary, decimal(p,s), varchar(n), char(n), array<t>, map<k,v>, struct<a:t,...>."
        ),
        examples=["bigint", "decimal(12,2)", "array<struct<sku:string,quantity:int>>"],
    ),
]
AccountId = Annotated[
    str,
    BeforeValidator(_check_account_type),
    AfterValidator(_check_account),
    Field(description="12-digit AWS account id (quoted in YAML).", json_schema_extra={"pattern": "^[0-9]{12}$"}),
]


# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


class DataFormat(str, Enum):
    """Storage format of the data: a file format, or an open table format."""

    PARQUET = "parquet"
    JSON = "json"
    CSV = "csv"
    AVRO = "avro"
    ORC = "orc"
    ICEBERG = "iceberg"
    HUDI = "hudi"
    DELTA = "delta"

    @property
    def is_table_format(self) -> bool:
        """True for the open table formats (iceberg, hudi, delta), which keep their own metadata."""
        return self in {DataFormat.ICEBERG, DataFormat.HUDI, DataFormat.DELTA}


class PartitionPathStyle(str, Enum):
    """How partition folders are named under the table location."""

    HIVE = "hive"  # order_date=2026-11-25/
    VALUES = "values"  # 2026-11-25/


class Classification(str, Enum):
    """Sensitivity of the data product, from least to most sensitive."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


class PiiCategory(str, Enum):
    """Kind of personal data a column holds."""

    EMAIL = "email"
    PHONE = "phone"
    GOVERNMENT_ID = "government_id"
    ADDRESS = "address"
    BIRTH_DATE = "birth_date"
    IP_ADDRESS = "ip_address"
    PERSON_NAME = "person_name"
    FINANCIAL = "financial"
    HEALTH = "health"
    LOCATION = "location"
    DEVICE_ID = "device_id"
    OTHER = "other"


_FROZEN = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Contact(BaseModel):
    """How consumers and the SLO monitor reach the producer team."""

    model_config = _FROZEN

    email: Annotated[
        str,
        AfterValidator(_check_email),
        Field(description="Team email address.", examples=["sales-data@example.com"]),
    ]
    slack_channel: Annotated[
        str,
        AfterValidator(_check_slack),
        Field(
            description="Slack channel for SLO alerts: '#' and lowercase words joined by '-'.",
            json_schema_extra={"pattern": _SLACK_RE.pattern},
            examples=["#sales-data-alerts"],
        ),
    ]


class Column(BaseModel):
    """One column (or partition key) of the data product's table."""

    model_config = _FROZEN

    name: ColumnName
    type: GlueTypeText
    description: Annotated[
        str,
        AfterValidator(_description(5, "column description")),
        Field(description="What the column means (unit, source, null semantics); at least 5 characters."),
    ]
    pii: StrictBool = Field(default=False, description="The column holds personal data.")
    pii_category: PiiCategory | None = Field(default=None, description="Kind of personal data; only with `pii: true`.")

    @field_validator("pii_category")
    @classmethod
    def _category_needs_pii(cls, value: PiiCategory | None, info: ValidationInfo) -> PiiCategory | None:
        if value is not None and info.data.get("pii") is False:
            raise ValueError(f"pii_category {value.value!r} is set but pii is false: set 'pii: true'")
        return value

    @property
    def glue_type(self) -> GlueType:
        """The parsed column type."""
        return parse_glue_type(self.type)


class Slo(BaseModel):
    """When the producer promises a new delivery: a cron schedule in a time zone, plus a grace period."""

    model_config = _FROZEN

    cron: Annotated[
        str,
        AfterValidator(_check_cron),
        Field(
            description=(
                "5-field cron (minute hour day-of-month month day-of-week) of the expected deliveries, in `timezone`."
            ),
            examples=["0 6 * * *", "*/15 * * * *", "30 7 * * MON-FRI"],
        ),
    ]
    timezone: Annotated[
        str,
        AfterValidator(_check_timezone),
        Field(description="IANA time zone of the cron schedule.", examples=["UTC", "America/Phoenix"]),
    ]
    grace_minutes: StrictInt = Field(
        default=60, ge=0, le=1440, description="Minutes after a scheduled time before an alert fires."
    )


def _check_unique_columns(columns: tuple[Column, ...], what: str) -> None:
    seen: dict[str, int] = {}
    issues: list[tuple[tuple[str | int, ...], str]] = []
    for index, column in enumerate(columns):
        if column.name in seen:
            issues.append(((index, "name"), f"duplicate {what} {column.name!r} (also {what}s[{seen[column.name]}])"))
        else:
            seen[column.name] = index
    if issues:
        raise _located(issues)


class DataProductContract(BaseModel):
    """One data product: what it is, who owns it, where it lives, its schema, SLO and consumers.

    Example::

        from meshworks.constructs.mesh import DataProductContract

        contract = DataProductContract.model_validate(
            {
                "name": "orders",
                "domain": "sales",
                "description": "Every confirmed web-shop order, one row per order line.",
                "owner": "sales-data",
                "contact": {"email": "sales-data@example.com", "slack_channel": "#sales-data"},
                "location": "s3://acme-sales-curated/orders/",
                "format": "parquet",
                "columns": [{"name": "order_id", "type": "bigint", "description": "Order number."}],
                "slo": {"cron": "0 6 * * *", "timezone": "UTC"},
                "classification": "internal",
            }
        )
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        title="DataProductContract",
        json_schema_extra={"$id": "https://meshworks.dev/schemas/data_product.schema.json"},
    )

    name: SnakeName
    domain: DomainName
    description: Annotated[
        str,
        AfterValidator(_description(20, "description")),
        Field(description="What the data product is and how to use it; at least 20 characters."),
    ]
    owner: Annotated[
        str,
        AfterValidator(_check_owner),
        Field(description="Producer team that owns the data product.", examples=["sales-data"]),
    ]
    contact: Contact = Field(description="How to reach the producer team (email, Slack channel for SLO alerts).")
    location: Annotated[
        str,
        AfterValidator(_check_location),
        Field(
            description="S3 folder of the data: s3://bucket/prefix/ (trailing slash).",
            json_schema_extra={"pattern": r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([A-Za-z0-9!_.'()=+-]+/)+$"},
            examples=["s3://acme-sales-curated/orders/"],
        ),
    ]
    format: DataFormat = Field(description="Storage format of the data.")
    columns: tuple[Column, ...] = Field(min_length=1, description="Columns of the table (not partition keys).")
    partition_keys: tuple[Column, ...] = Field(
        default=(), description="Partition columns (Hive-style); none may repeat a column name."
    )
    partition_path_style: PartitionPathStyle | None = Field(
        default=None,
        description=(
            "Folder layout of the partitions: 'hive' (key=value/) or 'values' (value/). Default: 'values' "
            "for hudi (Hudi's default unless hoodie.datasource.write.hive_style_partitioning is true), "
            "'hive' for the other file formats; not for iceberg/delta, which keep partitions in their metadata."
        ),
    )
    slo: Slo = Field(description="Delivery promise: cron schedule, time zone and grace period.")
    consumers: tuple[AccountId, ...] = Field(
        default=(),
        description="AWS accounts the product is shared with (12-digit ids, unique); each must be an allowed "
        "consumer of the mesh (the platform's configuration).",
    )
    producer_account: AccountId | None = Field(
        default=None,
        description="Account that produces the data and announces its refreshes: one of the domain's producer "
        "accounts in the platform's configuration. Required when the domain has several; default: its only one.",
    )
    classification: Classification = Field(description="Sensitivity of the data.")
    tags: Annotated[dict[str, str], AfterValidator(_check_tags)] = Field(
        default_factory=dict,
        description="Extra Lake Formation tags (lowercase keys); domain and classification are added.",
    )

    @field_validator("consumers")
    @classmethod
    def _unique_consumers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        seen: dict[str, int] = {}
        issues: list[tuple[tuple[str | int, ...], str]] = []
        for index, account in enumerate(value):
            if account in seen:
                issues.append(((index,), f"account {account} is listed twice (also consumers[{seen[account]}])"))
            seen.setdefault(account, index)
        if issues:
            raise _located(issues)
        return value

    @field_validator("tags")
    @classmethod
    def _lf_tags_fit(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        consumers = len(info.data.get("consumers", ()))
        total = PLATFORM_LF_TAGS + len(value) + consumers
        if total > MAX_LF_TAGS_PER_RESOURCE:
            raise ValueError(
                f"the table would carry {total} LF-tags (domain, classification, pii, {len(value)} tags and one per "
                f"consumer: {consumers}); Lake Formation assigns at most {MAX_LF_TAGS_PER_RESOURCE} to a table: "
                f"keep tags + consumers at or below {MAX_LF_TAGS_PER_RESOURCE - PLATFORM_LF_TAGS} (share with more "
                "accounts through one consumer account that re-grants, or drop tags)"
            )
        return value

    @field_validator("columns")
    @classmethod
    def _unique_columns(cls, value: tuple[Column, ...], info: ValidationInfo) -> tuple[Column, ...]:
        _check_unique_columns(value, "column")
        issues = _format_issues(value, info.data.get("format"))
        if issues:
            raise _located(issues)
        return value

    @field_validator("partition_keys")
    @classmethod
    def _partition_keys(cls, value: tuple[Column, ...], info: ValidationInfo) -> tuple[Column, ...]:
        _check_unique_columns(value, "partition_key")
        columns = {column.name for column in info.data.get("columns", ())}
        issues: list[tuple[tuple[str | int, ...], str]] = []
        for index, key in enumerate(value):
            if key.name in columns:
                issues.append(((index, "name"), f"partition key {key.name!r} is also a column; list it only once"))
            elif not key.glue_type.is_primitive:
                issues.append(((index, "type"), f"partition key {key.name!r} must have a primitive type"))
        issues += [
            issue
            for issue in _format_issues(value, info.data.get("format"), partition_keys=True)
            if issue[0] not in {i[0] for i in issues}
        ]
        if issues:
            raise _located(issues)
        return value

    @field_validator("partition_path_style")
    @classmethod
    def _path_style_needs_hive_partitions(
        cls, value: PartitionPathStyle | None, info: ValidationInfo
    ) -> PartitionPathStyle | None:
        fmt = info.data.get("format")
        if value is not None and fmt in {DataFormat.ICEBERG, DataFormat.DELTA}:
            raise ValueError(
                f"partition_path_style does not apply to {fmt.value} tables, whose partitions live in their own "
                "metadata: remove it"
            )
        return value

    @property
    def path_style(self) -> PartitionPathStyle:
        """The partition folder layout (``partition_path_style`` or the format's default)."""
        if self.partition_path_style is not None:
            return self.partition_path_style
        return PartitionPathStyle.VALUES if self.format is DataFormat.HUDI else PartitionPathStyle.HIVE

    # ---- derived names and metadata ---------------------------------------------------------------

    @property
    def qualified_name(self) -> str:
        """``domain.name``: unique across the mesh."""
        return f"{self.domain}.{self.name}"

    @property
    def database_name(self) -> str:
        """Glue database of the product in the hub catalog: one database per domain."""
        return self.domain

    @property
    def table_name(self) -> str:
        """Glue table of the product, inside :attr:`database_name`."""
        return self.name

    @property
    def bucket_name(self) -> str:
        """S3 bucket of :attr:`location`."""
        return split_s3_uri(self.location)[0]

    @property
    def prefix(self) -> str:
        """Key prefix of :attr:`location` inside the bucket (ends with ``/``)."""
        return split_s3_uri(self.location)[1]

    @property
    def all_columns(self) -> tuple[Column, ...]:
        """Columns followed by partition keys."""
        return self.columns + self.partition_keys

    @property
    def has_pii(self) -> bool:
        """True when any column or partition key holds personal data."""
        return any(column.pii for column in self.all_columns)

    def glue_table_parameters(self) -> dict[str, str]:
        """Glue table ``Parameters``: the contract's metadata as strings (GoDaddy keeps it there too).

        ``classification`` is Glue's and Athena's *data format* key; the sensitivity is under
        ``meshworks.classification``. Open table formats get no ``classification`` (their table
        construct sets the format-specific parameters).
        """
        parameters = {
            "meshworks.product": self.qualified_name,
            "meshworks.domain": self.domain,
            "meshworks.owner": self.owner,
            "meshworks.contact_email": self.contact.email,
            "meshworks.slack_channel": self.contact.slack_channel,
            "meshworks.slo_cron": self.slo.cron,
            "meshworks.slo_timezone": self.slo.timezone,
            "meshworks.slo_grace_minutes": str(self.slo.grace_minutes),
            "meshworks.classification": self.classification.value,
            "meshworks.pii": "true" if self.has_pii else "false",
            "meshworks.format": self.format.value,
        }
        if self.producer_account is not None:
            parameters[PRODUCER_ACCOUNT_PARAMETER] = self.producer_account
        parameters[CONSUMERS_PARAMETER] = ",".join(sorted(self.consumers))
        if not self.format.is_table_format:
            parameters["classification"] = self.format.value
        return parameters

    def lf_tags(self) -> dict[str, str]:
        """Lake Formation tags of the table: ``domain``, ``classification``, ``pii`` and the contract's tags."""
        return {
            **self.tags,
            "domain": self.domain,
            "classification": self.classification.value,
            "pii": "true" if self.has_pii else "false",
        }


# --------------------------------------------------------------------------------------------------
# JSON Schema
# --------------------------------------------------------------------------------------------------


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a contract file, for editors and other tools."""
    schema = DataProductContract.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render_json_schema() -> str:
    """:func:`json_schema` as stable, indented JSON text (what ``data_product.schema.json`` holds)."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
