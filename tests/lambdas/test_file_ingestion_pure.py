"""Pure parts of file ingestion: the key pattern, Avro schemas of CSV files and the header-to-schema plan."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshworks.lambdas.file_ingestion.avro import AvroSchemaError, Field, parse_avro_schema, plan_columns
from meshworks.lambdas.file_ingestion.keys import (
    DEFAULT_KEY_PATTERN,
    KeyPatternError,
    KeyRejected,
    compile_key_pattern,
    parse_key,
)


def test_the_default_pattern_reads_the_four_parts_of_a_key() -> None:
    parsed = parse_key(compile_key_pattern(DEFAULT_KEY_PATTERN), "acme/plant-7/2026-11-30/sensor_readings/r-1.csv.gz")
    assert (parsed.tenant, parsed.site, parsed.date, parsed.file_type, parsed.extra) == (
        "acme", "plant-7", "2026-11-30", "sensor_readings", {}
    )


def test_a_custom_pattern_with_another_date_format_and_extra_groups() -> None:
    pattern = compile_key_pattern(
        r"landing/(?P<tenant>\w+)-(?P<site>\w+)/(?P<file_type>\w+)_(?P<date>\d{8})_(?P<hour>\d{2})\.csv", "%Y%m%d"
    )
    parsed = parse_key(pattern, "landing/acme-plant7/alarms_20261130_07.csv", "%Y%m%d")
    assert parsed.date == "2026-11-30" and parsed.extra == {"hour": "07"}
    with pytest.raises(KeyRejected, match="does not match"):
        parse_key(pattern, "landing/acme-plant7/alarms_20261130_07.csv.bak", "%Y%m%d")  # the whole key must match


@pytest.mark.parametrize("pattern", ["", r"(?P<tenant>x)", "[", 42])
def test_unusable_patterns_are_refused(pattern: object) -> None:
    with pytest.raises(KeyPatternError):
        compile_key_pattern(pattern)  # type: ignore[arg-type]


@given(st.text(max_size=80))
def test_any_key_is_parsed_or_rejected_never_a_traceback(key: str) -> None:
    pattern = compile_key_pattern(DEFAULT_KEY_PATTERN)
    if pattern.fullmatch(key) is None:
        with pytest.raises(KeyRejected, match="does not match the landing pattern") as rejected:
            parse_key(pattern, key)
        assert repr(key) in str(rejected.value)
    else:
        try:
            assert parse_key(pattern, key).tenant
        except KeyRejected as error:  # a matching key with an impossible date
            message = str(error)
        else:
            message = "is not a valid date"
        assert "is not a valid date" in message


def test_avro_types_map_to_spark_types() -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "s", "type": "string"}, {"name": "i", "type": "int"}, {"name": "l", "type": ["null", "long"]},
        {"name": "d", "type": {"type": "int", "logicalType": "date"}},
        {"name": "t", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "m", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
        {"name": "b", "type": "boolean"},
    ]}
    assert parse_avro_schema(json.dumps(schema)) == [
        Field("s", "string", False), Field("i", "int", False), Field("l", "bigint", True), Field("d", "date", False),
        Field("t", "timestamp", False), Field("m", "decimal(12,2)", False), Field("b", "boolean", False),
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([{"name": "a", "type": ["null", "int", "string"]}], r"only \[\"null\", T\] unions"),
        ([{"name": "a", "type": "int"}, {"name": "A", "type": "int"}], "appears twice"),
        ([{"name": "a-b", "type": "int"}], "has no valid name"),
        ([{"name": "a", "type": {"type": "array", "items": "int"}}], "not supported for CSV"),
        ([{"name": "a", "type": {"type": "bytes", "logicalType": "decimal", "precision": 40}}], "precision <= 38"),
        ([], "has no fields"),
    ],
)
def test_schemas_csv_cannot_hold_are_refused(fields: list[object], message: str) -> None:
    with pytest.raises(AvroSchemaError, match=message):
        parse_avro_schema(json.dumps({"type": "record", "name": "R", "fields": fields}), "sensor")


def test_a_header_is_planned_against_the_schema() -> None:
    fields = [Field("sensor_id", "string", False), Field("value", "double", True), Field("unit", "string", True),
              Field("site", "string", False)]
    plan = plan_columns([" Sensor_ID ", "value", "comment"], fields)
    assert [f.name for f in plan.present] == ["sensor_id", "value"]
    assert [f.name for f in plan.absent_nullable] == ["unit"]
    assert plan.absent_required == ["site"] and plan.extra == ["comment"]
