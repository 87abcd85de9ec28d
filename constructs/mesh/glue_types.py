"""Glue / Hive column types of the data-product contract: parsing, normalising, and per-format checks.

Part of :mod:`meshworks.constructs.mesh.contract` (which re-exports every public name).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from meshworks.lambdas.mesh_notifier.partition_values import PartitionValueError, check_key_type

if TYPE_CHECKING:
    from meshworks.constructs.mesh.contract import Column

def _suggest(value: str, choices: Any, cutoff: float = 0.6) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or an empty string."""
    matches = difflib.get_close_matches(value, list(choices), n=1, cutoff=cutoff)
    return f" (did you mean {matches[0]!r}?)" if matches else ""



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
