"""Tests of the stdlib cron used by the SLO sweeper: parsing, errors, calendar and DST edge cases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshworks.lambdas.slo_monitor.cron import local_to_utc, occurrences_between, parse_cron

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ----------------------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("expr", "field", "expected"),
    [
        ("*/15 * * * *", "minutes", {0, 15, 30, 45}),
        ("0 9-17/4 * * *", "hours", {9, 13, 17}),
        ("0 0 1,15 * *", "days_of_month", {1, 15}),
        ("0 0 * JAN-MAR,dec *", "months", {1, 2, 3, 12}),
        ("0 0 * * MON-FRI", "days_of_week", {1, 2, 3, 4, 5}),
        ("0 0 * * 7", "days_of_week", {0}),
        ("0 0 * * 5-7", "days_of_week", {5, 6, 0}),
        ("0 0 * * sun,SAT", "days_of_week", {0, 6}),
        ("30 */6 * * *", "hours", {0, 6, 12, 18}),
        ("5/20 * * * *", "minutes", {5, 25, 45}),
    ],
)
def test_parse_valid_fields(expr: str, field: str, expected: set[int]) -> None:
    assert set(getattr(parse_cron(expr), field)) == expected


def test_macros_and_whitespace() -> None:
    assert parse_cron("@daily").expression == "0 0 * * *"
    assert parse_cron("  0   6 *  * * ").expression == "0 6 * * *"


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("60 * * * *", "cron minute field '60': 60 is out of range; allowed values are 0-59"),
        ("0 24 * * *", "cron hour field '24': 24 is out of range; allowed values are 0-23"),
        ("0 0 0 * *", "cron day-of-month field '0': 0 is out of range; allowed values are 1-31"),
        ("0 0 * 13 *", "cron month field '13': 13 is out of range; allowed values are 1-12 or JAN-DEC"),
        ("0 0 * FOO *", "cron month field 'FOO': 'FOO' is not a number or name; allowed values are 1-12"),
        ("0 0 * * 8", "cron day-of-week field '8': 8 is out of range; allowed values are 0-7 or SUN-SAT"),
        ("5-1 * * * *", "cron minute field '5-1': range '5-1' is reversed"),
        ("*/0 * * * *", "cron minute field '*/0': step must be at least 1"),
        ("1,,2 * * * *", "cron minute field '1,,2': cannot parse ''"),
        ("* * * *", "has 4 field(s); expected 5: minute hour day-of-month month day-of-week"),
        ("", "has 0 field(s); expected 5"),
        ("0 0 30 2 *", "never fires: day-of-month [30] does not exist in month(s) [2]"),
    ],
)
def test_parse_errors_name_field_and_range(expr: str, message: str) -> None:
    with pytest.raises(ValueError) as info:  # noqa: PT011 - message checked below
        parse_cron(expr)
    assert message in str(info.value)


def test_30_feb_with_dow_is_allowed_by_or_semantics() -> None:
    # Both day fields restricted: fires on any Monday in February.
    schedule = parse_cron("0 0 30 2 MON")
    assert schedule.next(datetime(2026, 1, 31)) == datetime(2026, 2, 2)


# ----------------------------------------------------------------------------------------------- next/previous


def test_next_previous_basic() -> None:
    schedule = parse_cron("*/15 9-17 * * MON-FRI")
    assert schedule.next(datetime(2026, 5, 1, 17, 50)) == datetime(2026, 5, 4, 9, 0)  # Fri -> Mon
    assert schedule.next(datetime(2026, 5, 4, 9, 0)) == datetime(2026, 5, 4, 9, 15)
    assert schedule.next(datetime(2026, 5, 4, 9, 0), inclusive=True) == datetime(2026, 5, 4, 9, 0)
    assert schedule.next(datetime(2026, 5, 4, 9, 0, 30), inclusive=True) == datetime(2026, 5, 4, 9, 15)
    assert schedule.previous(datetime(2026, 5, 4, 9, 0)) == datetime(2026, 5, 1, 17, 45)
    assert schedule.previous(datetime(2026, 5, 4, 9, 0), inclusive=True) == datetime(2026, 5, 4, 9, 0)
    assert schedule.previous(datetime(2026, 5, 4, 9, 0, 1)) == datetime(2026, 5, 4, 9, 0)


def test_vixie_dom_or_dow() -> None:
    schedule = parse_cron("0 0 13 * FRI")
    fired = list(schedule.iter_between(datetime(2026, 2, 1), datetime(2026, 3, 1)))
    assert [d.day for d in fired] == [6, 13, 20, 27]  # Fridays and Friday the 13th
    # DOM restricted, DOW '*': AND semantics (only the 13th)
    assert [d.day for d in parse_cron("0 0 13 * *").iter_between(datetime(2026, 2, 1), datetime(2026, 3, 1))] == [13]
    # A step starting with '*' counts as unrestricted (Vixie): odd days AND Fridays.
    both = parse_cron("0 0 */2 * FRI").iter_between(datetime(2026, 2, 1), datetime(2026, 3, 1))
    assert [d.day for d in both] == [13, 27]


def test_month_end_and_leap_days() -> None:
    month_end = parse_cron("0 6 28-31 * *")
    feb_2028 = list(month_end.iter_between(datetime(2028, 2, 1), datetime(2028, 3, 1)))
    assert feb_2028 == [datetime(2028, 2, 28, 6), datetime(2028, 2, 29, 6)]
    feb_2027 = list(month_end.iter_between(datetime(2027, 2, 1), datetime(2027, 3, 1)))
    assert feb_2027 == [datetime(2027, 2, 28, 6)]
    assert month_end.next(datetime(2027, 2, 28, 6)) == datetime(2027, 3, 28, 6)
    assert month_end.previous(datetime(2026, 5, 1)) == datetime(2026, 4, 30, 6)

    leap = parse_cron("0 0 29 2 *")
    assert leap.next(datetime(2026, 1, 1)) == datetime(2028, 2, 29)
    assert leap.next(datetime(2028, 2, 29)) == datetime(2032, 2, 29)
    assert leap.next(datetime(2096, 3, 1)) == datetime(2104, 2, 29)  # 2100 is not a leap year
    assert leap.previous(datetime(2028, 2, 28)) == datetime(2024, 2, 29)


def test_naive_required() -> None:
    with pytest.raises(ValueError, match="naive"):
        parse_cron("* * * * *").next(utc(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        occurrences_between("* * * * *", datetime(2026, 1, 1), utc(2026, 1, 2), "UTC")
    with pytest.raises(ValueError, match="unknown IANA time zone 'Mars/Olympus'"):
        occurrences_between("* * * * *", utc(2026, 1, 1), utc(2026, 1, 2), "Mars/Olympus")


# ----------------------------------------------------------------------------------------------- DST


def test_berlin_spring_forward_gap_fires_once_after_gap() -> None:
    got = occurrences_between("30 2 * * *", utc(2026, 3, 28, 12), utc(2026, 3, 29, 12), "Europe/Berlin")
    assert got == [utc(2026, 3, 29, 1, 0)]  # 03:00 CEST, the first valid instant after the gap
    # Two non-existent times in the same gap collapse into one firing.
    got = occurrences_between("0,30 2 * * *", utc(2026, 3, 28, 12), utc(2026, 3, 29, 12), "Europe/Berlin")
    assert got == [utc(2026, 3, 29, 1, 0)]
    # 03:00 exists and coincides with the gap end: still one firing.
    got = occurrences_between("30 2,3 * * *", utc(2026, 3, 28, 12), utc(2026, 3, 29, 12), "Europe/Berlin")
    assert got == [utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30)]


def test_berlin_fall_back_fires_once_at_first_occurrence() -> None:
    got = occurrences_between("30 2 * * *", utc(2026, 10, 24, 12), utc(2026, 10, 25, 12), "Europe/Berlin")
    assert got == [utc(2026, 10, 25, 0, 30)]  # 02:30 CEST (fold=0), not 01:30 UTC
    hourly = occurrences_between("0 * * * *", utc(2026, 10, 24, 22), utc(2026, 10, 25, 3), "Europe/Berlin")
    # Wall-clock 00..05 -> 02:00 happens twice but fires once; UTC spacing has a 2 h step.
    assert hourly == [utc(2026, 10, 24, 23), utc(2026, 10, 25, 0), utc(2026, 10, 25, 2), utc(2026, 10, 25, 3)]


def test_every_day_has_exactly_one_deadline_across_dst() -> None:
    for day in (datetime(2026, 3, 29), datetime(2026, 10, 25)):
        zone = ZoneInfo("Europe/Berlin")
        start = day.replace(tzinfo=zone).astimezone(UTC)
        end = (day + timedelta(days=1)).replace(tzinfo=zone).astimezone(UTC)
        assert len(occurrences_between("30 2 * * *", start, end, "Europe/Berlin")) == 1


def test_new_york_dst_days() -> None:
    # 2026-03-08: 02:00 -> 03:00 EDT; 02:30 fires at 03:00 EDT = 07:00 UTC.
    got = occurrences_between("30 2 * * *", utc(2026, 3, 7, 12), utc(2026, 3, 9, 12), "America/New_York")
    assert got == [utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)]
    # 2026-11-01: 01:30 happens twice; first is EDT (05:30 UTC).
    got = occurrences_between("30 1 * * *", utc(2026, 10, 31, 12), utc(2026, 11, 2, 12), "America/New_York")
    assert got == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]
    # A daily 09:00 job keeps local time: 13:00 UTC in summer, 14:00 UTC in winter.
    got = occurrences_between("0 9 * * *", utc(2026, 10, 31, 0), utc(2026, 11, 2, 23), "America/New_York")
    assert got == [utc(2026, 10, 31, 13), utc(2026, 11, 1, 14), utc(2026, 11, 2, 14)]


def test_lord_howe_half_hour_dst() -> None:
    # DST starts 2026-10-04 02:00 -> 02:30 (+10:30 -> +11): 02:00 and 02:15 map to the gap end.
    got = occurrences_between("0,15 2 4 10 *", utc(2026, 10, 3), utc(2026, 10, 4), "Australia/Lord_Howe")
    assert got == [utc(2026, 10, 3, 15, 30)]
    # DST ends 2026-04-05 02:00 -> 01:30: 01:45 happens twice, fires once at +11.
    got = occurrences_between("45 1 5 4 *", utc(2026, 4, 4), utc(2026, 4, 5), "Australia/Lord_Howe")
    assert got == [utc(2026, 4, 4, 14, 45)]


def test_local_to_utc_rules() -> None:
    assert local_to_utc(datetime(2026, 3, 29, 2, 30), "Europe/Berlin") == utc(2026, 3, 29, 1, 0)
    assert local_to_utc(datetime(2026, 10, 25, 2, 30), "Europe/Berlin") == utc(2026, 10, 25, 0, 30)
    assert local_to_utc(datetime(2026, 7, 1, 12, 0), "Europe/Berlin") == utc(2026, 7, 1, 10, 0)


def test_window_is_half_open() -> None:
    got = occurrences_between("0 * * * *", utc(2026, 1, 1, 0), utc(2026, 1, 1, 2), "UTC")
    assert got == [utc(2026, 1, 1, 1), utc(2026, 1, 1, 2)]
    assert occurrences_between("0 * * * *", utc(2026, 1, 1, 2), utc(2026, 1, 1, 2), "UTC") == []


# ----------------------------------------------------------------------------------------------- properties

_ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "Pacific/Chatham",
    "Europe/London",
]


@st.composite
def cron_exprs(draw: st.DrawFn) -> str:
    def field(low: int, high: int) -> str:
        kind = draw(st.sampled_from(["star", "value", "range", "step", "list"]))
        if kind == "star":
            return "*"
        if kind == "value":
            return str(draw(st.integers(low, high)))
        if kind == "range":
            a = draw(st.integers(low, high))
            return f"{a}-{draw(st.integers(a, high))}"
        if kind == "step":
            return f"*/{draw(st.integers(1, high - low + 1))}"
        values = draw(st.lists(st.integers(low, high), min_size=1, max_size=4, unique=True))
        return ",".join(map(str, values))

    minute, hour = field(0, 59), field(0, 23)
    dom = draw(st.sampled_from(["*", "1", "1-15", "28-31", "*/3", "13"]))
    month = draw(st.sampled_from(["*", "1-6", "3,10", "*/2", "11"]))
    dow = draw(st.sampled_from(["*", "0", "1-5", "6,7", "*/2"]))
    return f"{minute} {hour} {dom} {month} {dow}"


@settings(max_examples=150, deadline=None)
@given(
    expr=cron_exprs(),
    tz=st.sampled_from(_ZONES),
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)),
    hours=st.integers(1, 72),
)
def test_property_increasing_and_matching(expr: str, tz: str, start: datetime, hours: int) -> None:
    schedule = parse_cron(expr)
    begin = start.replace(tzinfo=UTC)
    got = occurrences_between(schedule, begin, begin + timedelta(hours=hours), tz)
    zone = ZoneInfo(tz)
    assert all(a < b for a, b in zip(got, got[1:], strict=False))
    for instant in got:
        assert begin < instant <= begin + timedelta(hours=hours)
        wall = instant.astimezone(zone).replace(tzinfo=None)
        if schedule.matches(wall):
            # A normal (or first-of-fold) time maps back to itself.
            assert local_to_utc(wall, zone) == instant
        else:
            # Only a gap can move a firing: some non-existent matching wall time maps to this instant.
            before = instant - timedelta(seconds=1)
            gap_start = before.astimezone(zone).replace(tzinfo=None) + timedelta(seconds=1)
            assert gap_start < wall
            assert schedule.previous(wall) >= gap_start


@settings(max_examples=100, deadline=None)
@given(expr=cron_exprs(), start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)))
def test_property_next_previous_roundtrip(expr: str, start: datetime) -> None:
    schedule = parse_cron(expr)
    nxt = schedule.next(start)
    assert nxt > start
    assert schedule.matches(nxt)
    assert schedule.previous(nxt) <= start
    assert schedule.previous(nxt, inclusive=True) == nxt
    assert schedule.next(schedule.previous(nxt)) == nxt
