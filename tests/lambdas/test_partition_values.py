"""The shared partition-value rules (``mesh_notifier.partition_values``): parse, normalise, render."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshworks.lambdas.mesh_notifier.partition_values import (
    PartitionValueError,
    escape_path_value,
    normalise_key,
    normalise_partition,
    normalise_value,
    partition_path,
    safe_relative_path,
)


@pytest.mark.parametrize(
    ("glue_type", "value", "canonical"),
    [
        ("date", "2024-02-29", "2024-02-29"),
        ("timestamp", "2026-11-25 06:00:00", "2026-11-25 06:00:00"),
        ("timestamp", "2026-11-25T06:00:00Z", "2026-11-25 06:00:00"),
        ("timestamp", "2026-11-25T06:00Z", "2026-11-25 06:00:00"),
        ("timestamp", "2026-11-25T00:30:00.500+0100", "2026-11-24 23:30:00.5"),
        ("int", "-7", "-7"),
        ("int", "0", "0"),
        ("bigint", "9223372036854775807", "9223372036854775807"),
        ("decimal(5,2)", "123.45", "123.45"),
        ("boolean", "TRUE", "true"),
        ("string", "eu west:1", "eu west:1"),
        ("varchar(3)", "abc", "abc"),
        ("long", "12", "12"),  # Iceberg/Delta names as Glue may show them
    ],
)
def test_accepted_values(glue_type: str, value: str, canonical: str) -> None:
    assert normalise_value("k", glue_type, value) == canonical


@pytest.mark.parametrize(
    ("glue_type", "value"),
    [
        ("date", "2026-13-45"),
        ("date", "2023-02-29"),
        ("timestamp", "2026-11-25 25:00:00"),
        ("timestamp", "yesterday"),
        ("tinyint", "128"),
        ("int", "+1"),
        ("int", "007"),
        ("decimal(5,2)", "1234.5"),
        ("decimal(5,2)", "1.234"),
        ("boolean", "yes"),
        ("varchar(3)", "abcd"),
        ("string", "é" * 513),  # 1,026 bytes: over Glue's 1,024-byte partition value limit
        ("string", "a/b"),
        ("string", ".."),
        ("string", "tab\there"),
        ("double", "1.5"),
    ],
)
def test_refused_values_name_the_key_the_value_and_the_form(glue_type: str, value: str) -> None:
    with pytest.raises(PartitionValueError, match=r"k=|partition key 'k'"):
        normalise_value("k", glue_type, value)


def test_keys_match_case_insensitively_in_table_order() -> None:
    assert normalise_partition({"HOUR": "7", "Dt": "2026-11-25"}, [("dt", "date"), ("hour", "int")]) == {
        "dt": "2026-11-25",
        "hour": "7",
    }
    with pytest.raises(PartitionValueError, match="given twice"):
        normalise_partition({"dt": "2026-11-25", "DT": "2026-11-25"}, [("dt", "date")])
    with pytest.raises(PartitionValueError, match="do not match"):
        normalise_partition({"day": "2026-11-25"}, [("dt", "date")])
    with pytest.raises(PartitionValueError, match="column name"):
        normalise_key("order-date")


def test_paths_escape_what_hive_and_spark_escape() -> None:
    assert partition_path({"ts": "2026-11-25 05:30:00", "q": "a=b#%"}) == "ts=2026-11-25 05%3A30%3A00/q=a%3Db%23%25"
    assert partition_path({"dt": "2026-11-25", "h": "7"}, style="values") == "2026-11-25/7"
    assert not safe_relative_path("a/../b") and not safe_relative_path("%2E%2e") and not safe_relative_path("a//b")
    assert safe_relative_path("run=2/part-0")


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2999, 12, 31)))
def test_canonical_values_are_fixed_points(moment: datetime) -> None:
    """What the notifier stores normalises to itself, so a re-announced value keys the same delivery."""
    for glue_type, text in (
        ("date", moment.date().isoformat()),
        ("timestamp", moment.isoformat()),
        ("timestamp", moment.isoformat() + "Z"),
    ):
        canonical = normalise_value("k", glue_type, text)
        assert normalise_value("k", glue_type, canonical) == canonical


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_every_int_renders_as_python_does(number: int) -> None:
    assert normalise_value("k", "int", str(number)) == str(number)


@given(st.text(min_size=1, max_size=50))
def test_strings_are_refused_or_kept_and_their_path_never_has_a_slash(text: str) -> None:
    try:
        canonical = normalise_value("k", "string", text)
    except PartitionValueError:
        return
    assert canonical == text
    segment = escape_path_value(canonical)
    assert "/" not in segment and safe_relative_path(segment)


def test_timestamps_with_offsets_land_on_the_utc_instant() -> None:
    base = datetime(2026, 3, 29, 0, 30)
    for hours in range(-12, 13):
        offset = f"{'+' if hours >= 0 else '-'}{abs(hours):02d}:00"
        expected = (base - timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S")
        assert normalise_value("k", "timestamp", f"2026-03-29T00:30:00{offset}") == expected
