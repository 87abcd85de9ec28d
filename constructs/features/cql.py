"""CQL DDL ↔ :class:`KeyspacesTableSchema`: read a Cassandra user's ``CREATE TABLE`` and write it back.

Read (:func:`read_cql`): a script of ``CREATE KEYSPACE`` (only its name is used), ``USE``, ``CREATE TYPE`` and
one ``CREATE TABLE`` statement, with ``--``, ``//`` and ``/* */`` comments, quoted or unquoted names
(unquoted ones fold to lower case), ``IF NOT EXISTS``, every PRIMARY KEY form (``id text PRIMARY KEY``,
``PRIMARY KEY (id, c)``, ``PRIMARY KEY ((a, b), c)``), ``STATIC`` columns and the table options
``CLUSTERING ORDER BY``, ``default_time_to_live``, ``cdc = true`` and Keyspaces' ``custom_properties``
(``client_side_timestamps``, ``cdc_specification`` with its ``view_type``; Keyspaces' documented form is
``WITH custom_properties = {'cdc_specification': {'view_type': 'NEW_IMAGE'}} AND cdc = true``). Options Keyspaces ignores
or sets otherwise (``compaction``, ``caching``, ``gc_grace_seconds``…; capacity, encryption and PITR come from
the construct) are returned in ``ignored_options``.

Write (:func:`render_cql`): the normal form cqlsh's ``DESCRIBE`` uses — types first, one column per line in
declaration order, ``PRIMARY KEY (id, c)`` or ``PRIMARY KEY ((a, b), c)``, ``WITH CLUSTERING ORDER BY`` for
every clustering column, then ``default_time_to_live``, ``custom_properties`` and ``cdc = true``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .keyspaces_schema import KeyspacesTableSchema, validation_message

_TOKENS = re.compile(
    r"""(?P<space>\s+)|(?P<comment>--[^\n]*|//[^\n]*|/\*.*?\*/)|(?P<string>'(?:[^']|'')*'|\$\$.*?\$\$)"""
    r"""|(?P<quoted>"(?:[^"]|"")+")|(?P<number>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"""
    r"""|(?P<punct>[(),;<>={}:.\[\]])""",
    re.DOTALL,
)


class CqlSyntaxError(ValueError):
    """CQL the reader cannot take; the message quotes the statement and says what was expected."""


@dataclass(frozen=True)
class _Token:
    kind: str  # word, quoted, string, number, punct
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else self.text


@dataclass
class CqlReadResult:
    """What :func:`read_cql` found: the schema and the table options it did not use (name → value)."""

    schema: KeyspacesTableSchema
    ignored_options: dict[str, Any] = field(default_factory=dict)


def _tokenize(text: str) -> list[list[_Token]]:
    statements: list[list[_Token]] = [[]]
    position = 0
    while position < len(text):
        match = _TOKENS.match(text, position)
        if not match:
            line = text.count("\n", 0, position) + 1
            raise CqlSyntaxError(f"CQL line {line}: unexpected character {text[position]!r}")
        position = match.end()
        kind = match.lastgroup or ""
        if kind in ("space", "comment"):
            continue
        value = match.group(kind)
        if kind == "punct" and value == ";":
            statements.append([])
            continue
        statements[-1].append(_Token(kind, value))
    return [s for s in statements if s]


class _Reader:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.statement = " ".join(t.text for t in tokens)

    def fail(self, expected: str) -> CqlSyntaxError:
        found = self.tokens[self.index].text if self.index < len(self.tokens) else "the end of the statement"
        return CqlSyntaxError(f"CQL statement '{self.statement[:80]}...': expected {expected}, found {found!r}")

    def peek(self, offset: int = 0) -> _Token | None:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def accept(self, *words: str) -> bool:
        for offset, word in enumerate(words):
            token = self.peek(offset)
            if token is None or token.upper != word:
                return False
        self.index += len(words)
        return True

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise self.fail(" ".join(words))

    def name(self) -> str:
        token = self.peek()
        if token is None or token.kind not in ("word", "quoted"):
            raise self.fail("a name")
        self.index += 1
        return token.text.lower() if token.kind == "word" else token.text[1:-1].replace('""', '"')

    def qualified(self, keyspace: str | None) -> tuple[str | None, str]:
        first = self.name()
        if self.accept("."):
            return first, self.name()
        return keyspace, first

    def cql_type(self) -> str:
        parts: list[str] = []
        depth = 0
        while (token := self.peek()) is not None:
            if depth == 0 and (token.text in (",", ")") or token.upper in ("STATIC", "PRIMARY")):
                break
            depth += {"<": 1, ">": -1}.get(token.text, 0)
            parts.append(token.text if token.kind != "quoted" else token.text[1:-1])
            self.index += 1
        if not parts:
            raise self.fail("a CQL type")
        return "".join(p if p in "<>," else p for p in parts).replace(",", ", ")

    def names_in_parentheses(self) -> list[str]:
        self.expect("(")
        names = [self.name()]
        while self.accept(","):
            names.append(self.name())
        self.expect(")")
        return names

    def value(self) -> Any:
        token = self.peek()
        if token is None:
            raise self.fail("a value")
        if token.text == "{":
            self.index += 1
            result: dict[Any, Any] = {}
            while not self.accept("}"):
                key = self.value()
                self.expect(":")
                result[key] = self.value()
                if not self.accept(","):
                    self.expect("}")
                    break
            return result
        self.index += 1
        if token.kind == "string":
            return token.text[2:-2] if token.text.startswith("$$") else token.text[1:-1].replace("''", "'")
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.upper in ("TRUE", "FALSE"):
            return token.upper == "TRUE"
        return token.text


def read_cql(text: str, *, keyspace: str | None = None) -> CqlReadResult:
    """Read a CQL script's one ``CREATE TABLE`` (and the ``CREATE TYPE``\\s it uses) into a schema.

    Args:
        text: the CQL script (statements separated by ``;``).
        keyspace: keyspace for unqualified names when the script has no ``USE`` / ``CREATE KEYSPACE``.
    Raises:
        CqlSyntaxError (a ValueError) for CQL outside the subset, naming the statement and what was expected;
        ValueError (pydantic's) when the table breaks a schema rule.
    """
    types: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    ignored: dict[str, Any] = {}
    for tokens in _tokenize(text):
        reader = _Reader(tokens)
        if reader.accept("USE"):
            keyspace = reader.name()
        elif reader.accept("CREATE", "KEYSPACE"):
            reader.accept("IF", "NOT", "EXISTS")
            keyspace = reader.name()
            continue  # replication settings are Keyspaces' own
        elif reader.accept("CREATE", "TYPE"):
            reader.accept("IF", "NOT", "EXISTS")
            _, type_name = reader.qualified(keyspace)
            reader.expect("(")
            fields = []
            while True:
                field_name = reader.name()
                fields.append({"name": field_name, "type": reader.cql_type()})
                if not reader.accept(","):
                    break
            reader.expect(")")
            types.append({"name": type_name, "fields": fields})
        elif reader.accept("CREATE", "TABLE") or reader.accept("CREATE", "COLUMNFAMILY"):
            tables.append(_table(reader, keyspace, ignored))
        else:
            raise reader.fail("CREATE TABLE, CREATE TYPE, CREATE KEYSPACE or USE (other statements are not read)")
        if reader.peek() is not None:
            raise reader.fail("the end of the statement (;)")
    if len(tables) != 1:
        raise CqlSyntaxError(f"the CQL script has {len(tables)} CREATE TABLE statements: give exactly one per schema")
    table = tables[0]
    if table["keyspace"] is None:
        raise CqlSyntaxError(f"table {table['table']}: no keyspace: qualify it (ks.{table['table']}), add USE ks; "
                             "or pass keyspace=")
    try:
        schema = KeyspacesTableSchema.model_validate({**table, "types": types})
    except ValidationError as error:
        raise ValueError(validation_message(error, f"CQL table {table['keyspace']}.{table['table']}")) from None
    return CqlReadResult(schema=schema, ignored_options=ignored)


def parse_cql(text: str, *, keyspace: str | None = None) -> KeyspacesTableSchema:
    """:func:`read_cql`'s schema only."""
    return read_cql(text, keyspace=keyspace).schema


def _table(reader: _Reader, keyspace: str | None, ignored: dict[str, Any]) -> dict[str, Any]:
    reader.accept("IF", "NOT", "EXISTS")
    table_keyspace, table_name = reader.qualified(keyspace)
    reader.expect("(")
    columns: list[dict[str, Any]] = []
    partition: list[str] = []
    clustering: list[str] = []
    while True:
        if reader.accept("PRIMARY", "KEY"):
            if partition:
                raise reader.fail("one PRIMARY KEY only")
            reader.expect("(")
            if reader.peek() is not None and reader.peek().text == "(":  # type: ignore[union-attr]
                partition = reader.names_in_parentheses()
            else:
                partition = [reader.name()]
            while reader.accept(","):
                clustering.append(reader.name())
            reader.expect(")")
        else:
            column: dict[str, Any] = {"name": reader.name(), "type": reader.cql_type()}
            if reader.accept("STATIC"):
                column["static"] = True
            if reader.accept("PRIMARY", "KEY"):
                if partition:
                    raise reader.fail("one PRIMARY KEY only")
                partition = [column["name"]]
            columns.append(column)
        if not reader.accept(","):
            break
    reader.expect(")")
    if not partition:
        raise CqlSyntaxError(f"table {table_name}: no PRIMARY KEY: add PRIMARY KEY (partition_column, ...)")
    orders: dict[str, str] = {}
    options: dict[str, Any] = {}
    if reader.accept("WITH"):
        while True:
            if reader.accept("CLUSTERING", "ORDER", "BY"):
                reader.expect("(")
                while True:
                    name = reader.name()
                    token = reader.peek()
                    order = "ASC"
                    if token is not None and token.upper in ("ASC", "DESC"):
                        order = token.upper
                        reader.index += 1
                    orders[name] = order
                    if not reader.accept(","):
                        break
                reader.expect(")")
            elif reader.accept("COMPACT", "STORAGE"):
                ignored["COMPACT STORAGE"] = True
            else:
                option = reader.name()
                reader.expect("=")
                options[option] = reader.value()
            if not reader.accept("AND"):
                break
    unknown = sorted(set(orders) - set(clustering))
    if unknown:
        raise CqlSyntaxError(f"table {table_name}: CLUSTERING ORDER BY names {', '.join(unknown)}, which are not "
                             f"clustering columns ({', '.join(clustering) or 'none'}): fix the names")
    table: dict[str, Any] = {
        "keyspace": table_keyspace,
        "table": table_name,
        "columns": columns,
        "partition_key": partition,
        "clustering": [{"name": name, "order": orders.get(name, "ASC")} for name in clustering],
    }
    cdc_enabled = False
    view_type: dict[str, Any] = {}
    for option, value in options.items():
        if option == "default_time_to_live":
            if value:
                table["default_time_to_live"] = value
        elif option == "cdc":
            cdc_enabled = value is True or str(value).lower() == "true"
        elif option == "custom_properties" and isinstance(value, dict):
            for name, setting in value.items():
                status = str(setting.get("status", "")).lower() if isinstance(setting, dict) else ""
                if name == "client_side_timestamps":
                    table["client_side_timestamps"] = status == "enabled"
                elif name == "cdc_specification" and isinstance(setting, dict):
                    view_type = {k: v for k, v in setting.items() if k == "view_type"}
                    cdc_enabled = cdc_enabled or status == "enabled"
                else:
                    ignored[f"custom_properties.{name}"] = setting
        else:
            ignored[option] = value
    if cdc_enabled:
        table["cdc"] = view_type
    return table


def render_cql(schema: KeyspacesTableSchema) -> str:
    """The schema as normalised CQL DDL (``CREATE TYPE`` statements, then ``CREATE TABLE``)."""
    statements = []
    for udt in schema.types:
        fields = ",\n".join(f"    {f.name} {f.type}" for f in udt.fields)
        statements.append(f"CREATE TYPE {schema.keyspace}.{udt.name} (\n{fields}\n);")
    lines = [f"    {c.name} {c.type}{' STATIC' if c.static else ''}," for c in schema.columns]
    partition = ", ".join(schema.partition_key)
    key = [partition if len(schema.partition_key) == 1 else f"({partition})"] + [c.name for c in schema.clustering]
    lines.append(f"    PRIMARY KEY ({', '.join(key)})")
    options = []
    if schema.clustering:
        order = ", ".join(f"{c.name} {c.order.value}" for c in schema.clustering)
        options.append(f"CLUSTERING ORDER BY ({order})")
    if schema.default_time_to_live:
        options.append(f"default_time_to_live = {schema.default_time_to_live}")
    custom = []
    if schema.client_side_timestamps:
        custom.append("'client_side_timestamps': {'status': 'enabled'}")
    if schema.cdc is not None:
        custom.append(f"'cdc_specification': {{'view_type': '{schema.cdc.view_type}'}}")
    if custom:
        options.append(f"custom_properties = {{{', '.join(custom)}}}")
    if schema.cdc is not None:
        options.append("cdc = true")
    table = f"CREATE TABLE {schema.keyspace}.{schema.table} (\n" + "\n".join(lines) + "\n)"
    if options:
        table += " WITH " + "\n    AND ".join(options)
    statements.append(table + ";")
    return "\n\n".join(statements) + "\n"
