"""A breach: one late or missing delivery of one product and period, and its messages.

Part of :mod:`.checker` (the design is described there; it re-exports every name).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .constants import _DESERIALIZER, _SERIALIZER, LATEST_PERIOD_KEY
from .due_checks import DueCheck
from .formatting import iso, local_text, parse_iso, s3_console_url
from .manifest import parse_s3_location

# --------------------------------------------------------------------------------------------- breaches


@dataclass
class Breach:
    """A breach item of the breach table (plain Python view)."""

    product_key: str
    period_key: str
    deadline: datetime
    domain: str
    product: str
    owner: str
    slack_channel: str | None
    location: str
    timezone: str
    cron: str
    grace_minutes: int
    escalations: int = 0
    last_escalated_deadline: str | None = None
    #: Unpartitioned products only: the period's scheduled instant (deliveries count from then on).
    scheduled: datetime | None = None
    #: Folder of the period's ``_SUCCESS`` marker when it is not the period key (``marker_template``).
    marker_path: str | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Breach:
        plain = {key: _DESERIALIZER.deserialize(value) for key, value in item.items()}
        scheduled = None
        if plain.get("delivery_key") == LATEST_PERIOD_KEY:
            deadline = parse_iso(plain["deadline"])
            stamp = plain.get("scheduled_at")
            scheduled = parse_iso(stamp) if stamp else deadline - timedelta(minutes=int(plain.get("grace_minutes", 0)))
        return cls(
            product_key=plain["product_key"],
            period_key=plain["period_key"],
            deadline=parse_iso(plain["deadline"]),
            domain=plain.get("domain", ""),
            product=plain.get("product", ""),
            owner=plain.get("owner", "unknown"),
            slack_channel=plain.get("slack_channel") or None,
            location=plain.get("location", ""),
            timezone=plain.get("timezone", "UTC"),
            cron=plain.get("cron", ""),
            grace_minutes=int(plain.get("grace_minutes", 0)),
            escalations=int(plain.get("escalations", 0)),
            last_escalated_deadline=plain.get("last_escalated_deadline"),
            scheduled=scheduled,
            marker_path=plain.get("marker_partition") or None,
        )

    @classmethod
    def from_check(cls, check: DueCheck) -> Breach:
        contract = check.contract
        return cls(
            product_key=contract.product_key,
            period_key=check.period_key,
            deadline=check.deadline,
            domain=contract.domain,
            product=contract.product,
            owner=contract.owner,
            slack_channel=contract.slack_channel,
            location=contract.location,
            timezone=contract.timezone,
            cron=contract.cron,
            grace_minutes=int(contract.grace.total_seconds() // 60),
            scheduled=check.since,
            marker_path=check.marker_partition if check.marker_partition != check.period_key else None,
        )

    @property
    def key(self) -> tuple[str, str]:
        return (self.product_key, self.period_key)

    @property
    def since(self) -> datetime | None:
        return self.scheduled

    @property
    def delivery_key(self) -> tuple[str, str]:
        return (self.product_key, LATEST_PERIOD_KEY) if self.scheduled else self.key

    @property
    def marker_partition(self) -> str:
        return "" if self.scheduled else (self.marker_path or self.period_key)

    @property
    def period_text(self) -> str:
        """``partition dt=2026-11-25`` or, unpartitioned, ``refresh scheduled for 2026-11-25 06:30 CET (UTC+01:00)``."""
        if self.scheduled:
            return f"refresh scheduled for {local_text(self.scheduled, self.timezone)}"
        return f"partition {self.period_key}"

    def partition_url(self, region: str) -> tuple[str, str]:
        """(``s3://`` URI of the partition folder, or of the location when unpartitioned; console link)."""
        try:
            bucket, prefix = parse_s3_location(self.location)
        except ValueError:
            return self.location, ""
        folder = "/".join(part for part in (prefix, self.marker_partition) if part)
        return f"s3://{bucket}/{folder}/", s3_console_url(bucket, folder, region)

    def item(self, now: datetime, *, is_open: bool, delivered_at: datetime | None) -> dict[str, Any]:
        """DynamoDB item (low-level format) of a new breach."""
        plain: dict[str, Any] = {
            "product_key": self.product_key,
            "period_key": self.period_key,
            "status": "OPEN" if is_open else "CLOSED",
            "deadline": iso(self.deadline),
            "domain": self.domain,
            "product": self.product,
            "owner": self.owner,
            "location": self.location,
            "timezone": self.timezone,
            "cron": self.cron,
            "grace_minutes": self.grace_minutes,
            "created_at": iso(now),
            "escalations": 0,
        }
        if self.slack_channel:
            plain["slack_channel"] = self.slack_channel
        if self.marker_path and not self.scheduled:
            plain["marker_partition"] = self.marker_path
        if self.scheduled:
            plain["delivery_key"] = LATEST_PERIOD_KEY
            plain["scheduled_at"] = iso(self.scheduled)
        if is_open:
            plain["open"] = 1
        if delivered_at is not None:
            plain["delivered_at"] = iso(delivered_at)
            plain["lateness_minutes"] = max(0, int((delivered_at - self.deadline).total_seconds() // 60))
            plain["closed_at"] = iso(now)
        return {key: _SERIALIZER.serialize(value) for key, value in plain.items()}
