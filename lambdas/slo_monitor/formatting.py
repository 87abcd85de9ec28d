"""Times, durations and console links as alerts show them.

Part of :mod:`.checker` (the design is described there; it re-exports every name).
"""

from __future__ import annotations

import urllib.parse
from datetime import datetime, timedelta

from .constants import UTC
from .cron import resolve_timezone

# --------------------------------------------------------------------------------------------- formatting


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with ``Z`` (lexicographically sortable)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 timestamp (``Z`` accepted); naive values are taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def human_duration(delta: timedelta) -> str:
    """``timedelta`` -> ``"2 d 3 h 5 min"`` (minutes, rounded down; negative shown as 0 min)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if mins or not parts:
        parts.append(f"{mins} min")
    return " ".join(parts)


def local_text(moment: datetime, tz: str) -> str:
    """``2026-11-25 07:00 CET (UTC+01:00)``."""
    local = moment.astimezone(resolve_timezone(tz))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} (UTC{offset[:3]}:{offset[3:]})"


def utc_text(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def s3_console_url(bucket: str, prefix: str, region: str) -> str:
    """AWS console link to a folder."""
    query = urllib.parse.urlencode({"region": region, "prefix": f"{prefix.strip('/')}/", "showversions": "false"})
    return f"https://s3.console.aws.amazon.com/s3/buckets/{urllib.parse.quote(bucket)}?{query}"
