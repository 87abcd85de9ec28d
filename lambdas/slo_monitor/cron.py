"""A small, dependency-free 5-field cron implementation (stdlib only).

Expression syntax (Vixie cron)::

    minute  hour  day-of-month  month  day-of-week
    0-59    0-23  1-31          1-12   0-7 (0 and 7 are Sunday)

Each field accepts ``*``, a value, a range ``a-b``, a step ``*/n`` / ``a-b/n`` / ``a/n`` (``a/n`` means
``a-<max>/n``) and comma-separated lists of those. Months accept ``JAN``-``DEC`` and days of week accept
``SUN``-``SAT`` (case-insensitive). The macros ``@yearly``/``@annually``, ``@monthly``, ``@weekly``,
``@daily``/``@midnight`` and ``@hourly`` are accepted.

Day matching follows Vixie cron: when *both* day-of-month and day-of-week are restricted (neither field
starts with ``*``) a day matches if *either* matches; otherwise both must match (``0 6 13 * FRI`` fires
on every 13th and every Friday; ``0 6 */2 * *`` fires on odd days of the month).

Time zones and daylight-saving time
-----------------------------------
:class:`CronSchedule` itself works on naive wall-clock datetimes. :func:`occurrences_between` maps the
wall-clock occurrences of a time zone to UTC instants with these rules:

* **Gap (spring forward)**: a wall-clock time that does not exist fires once, at the first valid instant
  after the gap. ``30 2 * * *`` in Europe/Berlin on 2026-03-29 fires at 03:00 CEST = 01:00 UTC. Several
  non-existent times of the same gap collapse into that single instant (one firing, not several).
* **Fold (fall back)**: a wall-clock time that happens twice fires once, at its first occurrence
  (``fold=0``). ``30 2 * * *`` in Europe/Berlin on 2026-10-25 fires at 02:30 CEST = 00:30 UTC only.

The mapping wall-clock -> UTC is therefore monotonic (non-decreasing), and :func:`occurrences_between`
returns strictly increasing, de-duplicated UTC instants.
"""

from __future__ import annotations

import bisect
import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "CronSchedule",
    "local_to_utc",
    "occurrences_between",
    "parse_cron",
    "resolve_timezone",
]

UTC = timezone.utc

_MONTH_NAMES = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_DOW_NAMES = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# Longest search for a matching day: 29 February can be 8 years away (e.g. 2096 -> 2104).
_MAX_SEARCH_DAYS = 366 * 9
_ITEM_RE = re.compile(r"^(?P<base>\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/(?P<step>[0-9]+))?$")


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _FieldSpec("minute", 0, 59, {}),
    _FieldSpec("hour", 0, 23, {}),
    _FieldSpec("day-of-month", 1, 31, {}),
    _FieldSpec("month", 1, 12, _MONTH_NAMES),
    _FieldSpec("day-of-week", 0, 7, _DOW_NAMES),
)


def _allowed(spec: _FieldSpec) -> str:
    text = f"{spec.low}-{spec.high}"
    if spec.names:
        first, last = min(spec.names, key=spec.names.get), max(spec.names, key=spec.names.get)  # type: ignore[arg-type]
        text += f" or {first}-{last}"
    if spec.name == "day-of-week":
        text += " (0 and 7 are Sunday)"
    return text


def _field_error(spec: _FieldSpec, text: str, problem: str) -> ValueError:
    return ValueError(f"cron {spec.name} field {text!r}: {problem}; allowed values are {_allowed(spec)}")


def _value(spec: _FieldSpec, token: str, whole: str) -> int:
    upper = token.upper()
    if upper in spec.names:
        return spec.names[upper]
    if not token.isdigit():
        raise _field_error(spec, whole, f"{token!r} is not a number or name")
    number = int(token)
    if not spec.low <= number <= spec.high:
        raise _field_error(spec, whole, f"{number} is out of range")
    return number


def _parse_field(spec: _FieldSpec, text: str) -> frozenset[int]:
    if not text:
        raise _field_error(spec, text, "empty field")
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM_RE.match(item)
        if not match:
            raise _field_error(spec, text, f"cannot parse {item!r}")
        base, step_text = match.group("base"), match.group("step")
        step = 1
        if step_text is not None:
            step = int(step_text)
            if step < 1:
                raise _field_error(spec, text, "step must be at least 1")
        if base == "*":
            low, high = spec.low, spec.high
        elif "-" in base:
            first, last = base.split("-", 1)
            low, high = _value(spec, first, text), _value(spec, last, text)
            if low > high:
                raise _field_error(spec, text, f"range {base!r} is reversed")
        else:
            low = _value(spec, base, text)
            high = spec.high if step_text is not None else low
        values.update(range(low, high + 1, step))
    if spec.name == "day-of-week" and 7 in values:
        values.discard(7)
        values.add(0)
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed 5-field cron expression; all methods take and return naive wall-clock datetimes."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]  # 0 = Sunday ... 6 = Saturday
    dom_restricted: bool
    dow_restricted: bool

    @property
    def _times(self) -> list[int]:
        """Sorted minutes-of-day at which the schedule fires on a matching day."""
        cached = self.__dict__.get("_times_cache")
        if cached is None:
            cached = sorted(h * 60 + m for h in self.hours for m in self.minutes)
            object.__setattr__(self, "_times_cache", cached)
        return cached

    def matches_day(self, day: date) -> bool:
        """Whether ``day`` is a day on which the schedule fires (month, day-of-month, day-of-week)."""
        if day.month not in self.months:
            return False
        dom_ok = day.day in self.days_of_month
        dow_ok = (day.isoweekday() % 7) in self.days_of_week
        if self.dom_restricted and self.dow_restricted:
            return dom_ok or dow_ok
        return dom_ok and dow_ok

    def matches(self, moment: datetime) -> bool:
        """Whether the wall-clock ``moment`` (seconds ignored) is an occurrence."""
        return moment.minute in self.minutes and moment.hour in self.hours and self.matches_day(moment.date())

    def _days(self, start: date, forward: bool) -> Iterator[date]:
        step = timedelta(days=1 if forward else -1)
        day = start
        for _ in range(_MAX_SEARCH_DAYS):
            if self.matches_day(day):
                yield day
            try:
                day = day + step
            except OverflowError:
                return

    def next(self, after: datetime, *, inclusive: bool = False) -> datetime:
        """First occurrence strictly after ``after`` (at or after it when ``inclusive``)."""
        _require_naive(after)
        base = after.replace(second=0, microsecond=0)
        # Minutes-of-day on base's day that are acceptable: >= threshold.
        threshold = base.hour * 60 + base.minute + (0 if inclusive and base == after else 1)
        times = self._times
        for day in self._days(base.date(), forward=True):
            index = bisect.bisect_left(times, threshold) if day == base.date() else 0
            if index < len(times):
                minute_of_day = times[index]
                return datetime(day.year, day.month, day.day, minute_of_day // 60, minute_of_day % 60)
        raise ValueError(f"cron {self.expression!r} has no occurrence after {after.isoformat()}")

    def previous(self, before: datetime, *, inclusive: bool = False) -> datetime:
        """Last occurrence strictly before ``before`` (at or before it when ``inclusive``)."""
        _require_naive(before)
        base = before.replace(second=0, microsecond=0)
        # Minutes-of-day on base's day that are acceptable: < cutoff.
        cutoff = base.hour * 60 + base.minute + (1 if inclusive or base != before else 0)
        times = self._times
        for day in self._days(base.date(), forward=False):
            index = bisect.bisect_left(times, cutoff) if day == base.date() else len(times)
            if index > 0:
                minute_of_day = times[index - 1]
                return datetime(day.year, day.month, day.day, minute_of_day // 60, minute_of_day % 60)
        raise ValueError(f"cron {self.expression!r} has no occurrence before {before.isoformat()}")

    def iter_between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Naive occurrences ``t`` with ``start < t <= end``, in order (scans only the days in range)."""
        _require_naive(start)
        _require_naive(end)
        times = self._times
        day, last = start.date(), end.date()
        while day <= last:
            if self.matches_day(day):
                for minute_of_day in times:
                    moment = datetime(day.year, day.month, day.day, minute_of_day // 60, minute_of_day % 60)
                    if moment <= start:
                        continue
                    if moment > end:
                        return
                    yield moment
            day += timedelta(days=1)

    def occurrences_between(self, start_utc: datetime, end_utc: datetime, tz: str) -> list[datetime]:
        """See the module-level :func:`occurrences_between`."""
        return occurrences_between(self, start_utc, end_utc, tz)


def _require_naive(moment: datetime) -> None:
    if moment.tzinfo is not None:
        raise ValueError("CronSchedule.next/previous take naive wall-clock times; use occurrences_between")


def _require_aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC)")
    return moment.astimezone(UTC)


def parse_cron(expr: str) -> CronSchedule:
    """Parse a 5-field cron expression; raises ``ValueError`` naming the bad field and its allowed range."""
    if not isinstance(expr, str):
        raise ValueError(f"cron expression must be a string, got {type(expr).__name__}")
    text = " ".join(expr.split())
    text = _MACROS.get(text.lower(), text)
    parts = text.split(" ") if text else []
    if len(parts) != 5:
        raise ValueError(
            f"cron expression {expr!r} has {len(parts)} field(s); expected 5: "
            "minute hour day-of-month month day-of-week"
        )
    fields = [_parse_field(spec, part) for spec, part in zip(_FIELDS, parts, strict=True)]
    minutes, hours, doms, months, dows = fields
    schedule = CronSchedule(
        expression=text,
        minutes=minutes,
        hours=hours,
        days_of_month=doms,
        months=months,
        days_of_week=dows,
        dom_restricted=not parts[2].startswith("*"),
        dow_restricted=not parts[4].startswith("*"),
    )
    if not (schedule.dom_restricted and schedule.dow_restricted):
        # Day-of-month must exist in at least one selected month (February counts as 29 days).
        longest = max(calendar.monthrange(2028, month)[1] for month in months)
        if min(doms) > longest:
            raise ValueError(
                f"cron expression {expr!r} never fires: day-of-month {sorted(doms)} "
                f"does not exist in month(s) {sorted(months)}"
            )
    return schedule


def resolve_timezone(tz: str) -> ZoneInfo:
    """Return the IANA zone ``tz``; raises ``ValueError`` for unknown names."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown IANA time zone {tz!r}") from exc


def _wall(instant_utc: datetime, zone: ZoneInfo) -> datetime:
    return instant_utc.astimezone(zone).replace(tzinfo=None, fold=0)


def local_to_utc(wall: datetime, tz: str | ZoneInfo) -> datetime:
    """Map a naive wall-clock time in ``tz`` to a UTC instant with the module's DST rules.

    Ambiguous times resolve to their first occurrence; non-existent times resolve to the first valid
    instant after the gap (the transition instant).
    """
    zone = tz if isinstance(tz, ZoneInfo) else resolve_timezone(tz)
    naive = wall.replace(tzinfo=None, fold=0)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall(first, zone) == naive:
        return first
    # ``naive`` is in a gap: fold=0 used the offset before the transition (instant after the gap),
    # fold=1 the offset after it (instant before the gap). Binary-search the transition instant.
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = min(first, second), max(first, second)
    after_offset = high.astimezone(zone).utcoffset()
    lo_s, hi_s = 0, int((high - low).total_seconds())
    while lo_s < hi_s:
        mid = (lo_s + hi_s) // 2
        if (low + timedelta(seconds=mid)).astimezone(zone).utcoffset() == after_offset:
            hi_s = mid
        else:
            lo_s = mid + 1
    return low + timedelta(seconds=lo_s)


def occurrences_between(
    schedule: CronSchedule | str, start_utc: datetime, end_utc: datetime, tz: str
) -> list[datetime]:
    """UTC instants ``t`` of ``schedule`` in time zone ``tz`` with ``start_utc < t <= end_utc``.

    Results are aware UTC datetimes, strictly increasing; DST gaps and folds follow the module rules.
    """
    sched = parse_cron(schedule) if isinstance(schedule, str) else schedule
    start, end = _require_aware(start_utc, "start_utc"), _require_aware(end_utc, "end_utc")
    if end <= start:
        return []
    zone = resolve_timezone(tz)
    # Wall-clock window that can map into (start, end]: W > start + min offset, W <= end + max offset.
    # Offsets are sampled around the window so that a transition inside it is accounted for.
    probes = (start - timedelta(hours=26), start, end, end + timedelta(hours=26))
    offsets = [probe.astimezone(zone).utcoffset() or timedelta(0) for probe in probes]
    wall_start = (start + min(offsets)).replace(tzinfo=None) - timedelta(minutes=1)
    wall_end = (end + max(offsets)).replace(tzinfo=None)
    result: list[datetime] = []
    for wall in sched.iter_between(wall_start, wall_end):
        instant = local_to_utc(wall, zone)
        if start < instant <= end and (not result or instant > result[-1]):
            result.append(instant)
    return result
