"""CQL type grammar, CREATE TABLE/TYPE reading and writing, and the schema's own rules (pure, no synth)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshworks.constructs.features import (
    CqlSyntaxError,
    CqlTypeError,
    KeyspacesTableSchema,
    normalise_cql_type,
    parse_cql,
    read_cql,
)
from meshworks.constructs.features.cql_types import NATIVE_TYPES
from tests.features.cql_samples import CASSANDRA_DDL, NORMALISED_DDL


def test_cassandra_ddl_round_trips_to_normalised_cql() -> None:
    result = read_cql(CASSANDRA_DDL)
    assert result.schema.to_cql() == NORMALISED_DDL
    assert parse_cql(NORMALISED_DDL) == result.schema  # schema -> CQL -> schema
    assert set(result.ignored_options) == {"compaction", "gc_grace_seconds"}


@pytest.mark.parametrize(
    ("ddl", "partition", "clustering"),
    [
        ("CREATE TABLE ks.tt (id text PRIMARY KEY, val int)", ["id"], []),
        ("CREATE TABLE ks.tt (id text, cc int, val int, PRIMARY KEY (id, cc))", ["id"], [("cc", "ASC")]),
        ("CREATE TABLE ks.tt (aa text, bb int, cc int, dd int, PRIMARY KEY ((aa, bb), cc, dd)) "
         "WITH CLUSTERING ORDER BY (cc DESC, dd ASC)", ["aa", "bb"], [("cc", "DESC"), ("dd", "ASC")]),
        ("create table ks.tt (aa text, cc int, sx text static, primary key ((aa), cc)) with clustering order by (cc desc)",
         ["aa"], [("cc", "DESC")]),
    ],
)
def test_primary_key_forms(ddl: str, partition: list[str], clustering: list[tuple[str, str]]) -> None:
    schema = parse_cql(ddl)
    assert schema.partition_key == partition
    assert [(c.name, c.order.value) for c in schema.clustering] == clustering
    assert parse_cql(schema.to_cql()) == schema


def test_cdc_forms() -> None:
    """Keyspaces' documented form (custom_properties view_type + cdc = true), Cassandra's bare flag, and off."""
    base = "CREATE TABLE ks.tt (id text PRIMARY KEY, val int) WITH "
    documented = parse_cql(base + "CUSTOM_PROPERTIES={'cdc_specification': {'view_type': 'KEYS_ONLY'}} AND CDC = TRUE")
    assert documented.cdc is not None and documented.cdc.view_type == "KEYS_ONLY"
    assert documented.to_cql().endswith("custom_properties = {'cdc_specification': {'view_type': 'KEYS_ONLY'}}\n"
                                        "    AND cdc = true;\n")
    assert parse_cql(base + "cdc = true").cdc.view_type == "NEW_AND_OLD_IMAGES"  # type: ignore[union-attr]
    assert parse_cql(base + "cdc = false").cdc is None


def test_type_and_field_names_follow_cql_identifiers() -> None:
    schema = parse_cql("CREATE TYPE ks.pt (x double, y double); CREATE TABLE ks.tt (id text PRIMARY KEY, at frozen<pt>);")
    assert [f.name for f in schema.types[0].fields] == ["x", "y"]
    with pytest.raises(ValueError, match="types.0.fields.0.name: field name '_x' is not a valid name"):
        parse_cql('CREATE TYPE ks.pt ("_x" double); CREATE TABLE ks.tt (id text PRIMARY KEY);')


def test_static_column_and_counter_table_round_trip() -> None:
    schema = parse_cql("CREATE TABLE ks.tt (aa text, cc int, owner text STATIC, PRIMARY KEY (aa, cc));")
    assert schema.column("owner").static and "owner text STATIC," in schema.to_cql()
    counters = parse_cql("CREATE TABLE ks.hits (page text PRIMARY KEY, views counter, clicks counter);")
    assert parse_cql(counters.to_cql()) == counters


@pytest.mark.parametrize(
    ("ddl", "message"),
    [
        ("CREATE TABLE t (id text PRIMARY KEY)", "no keyspace: qualify it"),
        ("CREATE TABLE ks.tt (id text, val int)", "no PRIMARY KEY"),
        ("CREATE TABLE ks.tt (id text, val int, PRIMARY KEY (id)) WITH CLUSTERING ORDER BY (val DESC)",
         "CLUSTERING ORDER BY names val, which are not clustering columns"),
        ("CREATE INDEX ON ks.tt (v)", "expected CREATE TABLE, CREATE TYPE"),
        ("CREATE TABLE ks.a (id text PRIMARY KEY); CREATE TABLE ks.b (id text PRIMARY KEY)", "2 CREATE TABLE"),
        ("CREATE TABLE ks.tt (id text PRIMARY KEY, val list<list<int>>)", "must be frozen: write frozen<list<int>>"),
        ("CREATE TABLE ks.tt (id text PRIMARY KEY, val frozen<addr>)", "uses type 'addr', which is not declared"),
        ("CREATE TABLE ks.tt (id text PRIMARY KEY, val int, val text)", "column(s) val declared twice"),
        ("CREATE TABLE ks.tt (id list<int> PRIMARY KEY)", "key column 'id' of type list<int> must be frozen"),
        ("CREATE TABLE ks.tt (id text PRIMARY KEY, nn counter, val text)", "cannot share a table with regular column"),
        ("CREATE TABLE ks.tt (id text PRIMARY KEY, val int) WITH default_time_to_live = 700000000",
         "default_time_to_live"),
        ("CREATE TABLE ks.tt (i text PRIMARY KEY)", "columns.0.name: column name 'i' is not a valid Keyspaces name"),
        ("CREATE TABLE ks.tt (id text PRIMARY KEY, val text STATIC)", "static columns need clustering columns"),
        ("CREATE TABLE ks.tt (id text PRIMARY KEY, val int) WITH", "expected a name"),
        ("CREATE TABLE ks.tt (id text PRIMARY KEY, val int) junk", "expected the end of the statement"),
    ],
)
def test_bad_cql_is_one_clear_error(ddl: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_cql(ddl)


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("MAP<text,FROZEN<list<int>>>", "map<text, frozen<list<int>>>"),
        ("set<frozen<tuple<int,text>>>", "set<frozen<tuple<int, text>>>"),
        ("tuple<int, frozen<address>, list<text>>", "tuple<int, frozen<address>, list<text>>"),
        ("frozen<map<text, list<int>>>", "frozen<map<text, list<int>>>"),
        ("list<frozen<address>>", "list<frozen<address>>"),
    ],
)
def test_type_grammar_accepts_and_normalises(text: str, normal: str) -> None:
    assert normalise_cql_type(text) == normal


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("list<list<int>>", "a collection inside a collection must be frozen"),
        ("map<text>", "map takes 2 type argument(s)"),
        ("list<address>", "a user-defined type inside a list must be frozen"),
        ("frozen<int>", "frozen wraps only a collection, tuple or user-defined type"),
        ("list<counter>", "counter cannot be nested"),
        ("text<int>", "text takes no type arguments"),
        ("map<text, int", "missing '>'"),
        ("list<int>>", "unexpected '>'"),
        ("duration", "not a type Amazon Keyspaces supports"),
        ("int;", "unexpected character"),
    ],
)
def test_type_grammar_refuses(text: str, message: str) -> None:
    with pytest.raises(CqlTypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        normalise_cql_type(text)


def test_syntax_error_is_a_value_error() -> None:
    assert issubclass(CqlSyntaxError, ValueError) and issubclass(CqlTypeError, ValueError)


# Generated types: every valid type prints in normal form and reads back to itself.
_scalar = st.sampled_from(sorted(NATIVE_TYPES - {"counter"}))


def _nested(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    frozen = children.map(lambda t: f"frozen<{t}>" if t.split("<")[0] in ("list", "set", "map") else t)
    return st.one_of(
        frozen.map(lambda t: f"list<{t}>"),
        frozen.map(lambda t: f"set<{t}>"),
        st.tuples(_scalar, frozen).map(lambda kv: f"map<{kv[0]}, {kv[1]}>"),
        st.lists(children, min_size=1, max_size=3).map(lambda ts: f"tuple<{', '.join(ts)}>"),
    )


@settings(max_examples=200, deadline=None)
@given(st.recursive(_scalar, _nested, max_leaves=6))
def test_generated_types_round_trip(cql_type: str) -> None:
    assert normalise_cql_type(cql_type.upper()) == cql_type
    schema = KeyspacesTableSchema(keyspace="ks", table="tt", partition_key=["id"],
                                  columns=[{"name": "id", "type": "text"}, {"name": "value", "type": cql_type}])
    assert parse_cql(schema.to_cql()) == schema
