"""The CQL data-type grammar Amazon Keyspaces accepts: parse, validate and print a column type.

Grammar (Keyspaces' "Cassandra data type support" and CQL 3.11's ``cql_type``)::

    cql_type   ::= native | collection | tuple | frozen | udt
    native     ::= ascii | bigint | blob | boolean | counter | date | decimal | double | float | inet
                 | int | smallint | text | time | timestamp | timeuuid | tinyint | uuid | varchar | varint
    collection ::= list<cql_type> | set<cql_type> | map<cql_type, cql_type>
    tuple      ::= tuple<cql_type (, cql_type)*>
    frozen     ::= frozen<collection | tuple | udt>
    udt        ::= identifier   (a user-defined type of the same keyspace)

Rules checked (Cassandra's, which Keyspaces follows): a collection nested inside a non-frozen collection must
be ``frozen``; a UDT inside a collection or tuple must be ``frozen``; ``counter`` cannot appear inside a
collection, tuple or UDT; ``frozen`` wraps only collections, tuples and UDTs. Types are printed in one
normal form: lower case, ``map<k, v>`` with one space after commas, ``varchar`` kept as written (it is an
alias of ``text`` in Cassandra, but a user's DDL keeps its words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NATIVE_TYPES = frozenset(
    {
        "ascii", "bigint", "blob", "boolean", "counter", "date", "decimal", "double", "float", "inet",
        "int", "smallint", "text", "time", "timestamp", "timeuuid", "tinyint", "uuid", "varchar", "varint",
    }
)  # fmt: skip
COLLECTIONS = {"list": 1, "set": 1, "map": 2}
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(<|>|,))")


class CqlTypeError(ValueError):
    """A CQL type that does not parse or breaks a nesting rule; the message says where and how to fix it."""


@dataclass(frozen=True)
class CqlType:
    """A parsed CQL type: ``name`` is a native type, ``list``/``set``/``map``/``tuple``/``frozen`` or a UDT name."""

    name: str
    args: tuple[CqlType, ...] = field(default=())

    @property
    def is_native(self) -> bool:
        return self.name in NATIVE_TYPES

    @property
    def is_collection(self) -> bool:
        return self.name in COLLECTIONS

    @property
    def is_udt(self) -> bool:
        return not self.args and self.name not in NATIVE_TYPES and self.name not in COLLECTIONS

    @property
    def is_frozen(self) -> bool:
        return self.name == "frozen"

    def walk(self) -> list[CqlType]:
        """This type and every type nested in it, outermost first."""
        found = [self]
        for arg in self.args:
            found += arg.walk()
        return found

    def udt_names(self) -> set[str]:
        """Names of the user-defined types this type refers to."""
        return {t.name for t in self.walk() if t.is_udt}

    def __str__(self) -> str:
        if not self.args:
            return self.name
        return f"{self.name}<{', '.join(str(a) for a in self.args)}>"


def parse_cql_type(text: str) -> CqlType:
    """Parse and validate one CQL type (case-insensitive); raise :class:`CqlTypeError` naming the fault.

    >>> str(parse_cql_type("MAP<text, FROZEN<list<int>>>"))
    'map<text, frozen<list<int>>>'
    """
    tokens: list[str] = []
    position = 0
    source = text.strip()
    while position < len(source):
        match = _TOKEN.match(source, position)
        if not match or match.end() == position:
            raise CqlTypeError(f"CQL type {text!r}: unexpected character {source[position:].strip()[:1]!r}")
        tokens.append((match.group(1) or match.group(2)).lower())
        position = match.end()
        while position < len(source) and source[position].isspace():
            position += 1
    if not tokens:
        raise CqlTypeError("CQL type is empty: give a type such as 'text', 'list<int>' or 'frozen<address>'")
    parsed, rest = _parse(tokens, 0, text)
    if rest != len(tokens):
        raise CqlTypeError(f"CQL type {text!r}: unexpected {' '.join(tokens[rest:])!r} after {str(parsed)!r}")
    _check(parsed, text, inside=None, frozen=False)
    return parsed


def _parse(tokens: list[str], index: int, text: str) -> tuple[CqlType, int]:
    name = tokens[index]
    if not _IDENTIFIER.fullmatch(name):
        raise CqlTypeError(f"CQL type {text!r}: expected a type name, found {name!r}")
    index += 1
    if index < len(tokens) and tokens[index] == "<":
        args: list[CqlType] = []
        index += 1
        while True:
            if index >= len(tokens):
                raise CqlTypeError(f"CQL type {text!r}: missing '>' after {name}<...")
            arg, index = _parse(tokens, index, text)
            args.append(arg)
            if index < len(tokens) and tokens[index] == ",":
                index += 1
                continue
            if index < len(tokens) and tokens[index] == ">":
                index += 1
                break
            raise CqlTypeError(f"CQL type {text!r}: missing '>' after {name}<...")
        return CqlType(name, tuple(args)), index
    return CqlType(name), index


def _check(t: CqlType, text: str, *, inside: str | None, frozen: bool) -> None:
    where = f"CQL type {text!r}"
    if t.name in COLLECTIONS:
        if len(t.args) != COLLECTIONS[t.name]:
            raise CqlTypeError(f"{where}: {t.name} takes {COLLECTIONS[t.name]} type argument(s), e.g. "
                               f"{'map<text, int>' if t.name == 'map' else t.name + '<text>'}")
        if inside in COLLECTIONS and not frozen:
            raise CqlTypeError(f"{where}: a collection inside a collection must be frozen: write frozen<{t}>")
        for arg in t.args:
            _check(arg, text, inside=t.name, frozen=frozen)
        return
    if t.name == "tuple":
        if not t.args:
            raise CqlTypeError(f"{where}: tuple needs at least one type, e.g. tuple<int, text>")
        for arg in t.args:
            _check(arg, text, inside="tuple", frozen=True)  # tuples are always frozen
        return
    if t.name == "frozen":
        if len(t.args) != 1:
            raise CqlTypeError(f"{where}: frozen takes one type, e.g. frozen<list<int>>")
        inner = t.args[0]
        if inner.is_native or inner.is_frozen:
            raise CqlTypeError(f"{where}: frozen wraps only a collection, tuple or user-defined type, not {inner}")
        _check(inner, text, inside=None, frozen=True)
        return
    if t.args:
        raise CqlTypeError(f"{where}: {t.name} takes no type arguments")
    if t.name == "counter" and inside is not None:
        raise CqlTypeError(f"{where}: counter cannot be nested in a collection or tuple; use bigint")
    if t.name == "duration":
        raise CqlTypeError(f"{where}: duration is not a type Amazon Keyspaces supports; store bigint nanoseconds")
    if t.is_udt and inside is not None and not frozen:
        raise CqlTypeError(f"{where}: a user-defined type inside a {inside} must be frozen: write frozen<{t}>")


def normalise_cql_type(text: str) -> str:
    """The type in normal form (see the module docstring); raises :class:`CqlTypeError` for a bad type."""
    return str(parse_cql_type(text))
