"""The SLO manifest: one entry per contract (location, schedule, grace, partitions), parsed and cached.

Part of :mod:`.checker` (the design is described there; it re-exports every name).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from .aws import error_code
from .constants import DEFAULT_PARTITION_TEMPLATE, LOG, UTC
from .cron import CronSchedule, parse_cron, resolve_timezone

# --------------------------------------------------------------------------------------------- manifest


@dataclass(frozen=True)
class SloContract:
    """One product's delivery SLO, validated from a manifest entry.

    An empty ``partition_template`` means unpartitioned: periods are matched by time against the
    product's ``latest`` delivery item instead of by partition.
    """

    product_key: str
    domain: str
    product: str
    owner: str
    slack_channel: str | None
    cron: str
    schedule: CronSchedule
    timezone: str
    grace: timedelta
    location: str
    bucket: str
    prefix: str
    partition_template: str = DEFAULT_PARTITION_TEMPLATE
    #: Folder of a period's ``_SUCCESS`` marker when it differs from the period key (tables whose
    #: partition folders are named by value, e.g. Hudi's default ``2026-11-25/``); None: the period key.
    marker_template: str | None = None

    @property
    def unpartitioned(self) -> bool:
        """True when deliveries are snapshots matched by time (``partition_template`` is ``""``)."""
        return not self.partition_template

    def partition_for(self, scheduled_utc: datetime) -> str:
        """Partition string of the period scheduled at ``scheduled_utc`` (formatted in local time)."""
        return render_partition(self.partition_template, scheduled_utc, self.timezone)

    def marker_for(self, scheduled_utc: datetime, period_key: str) -> str:
        """Folder (under the location) of the ``_SUCCESS`` marker of the period ``period_key``."""
        if self.unpartitioned:
            return ""
        if self.marker_template:
            return render_partition(self.marker_template, scheduled_utc, self.timezone)
        return period_key

    def success_key(self, partition: str) -> str:
        """S3 key of the ``_SUCCESS`` marker of ``partition``."""
        return "/".join(part for part in (self.prefix, partition, "_SUCCESS") if part)


def render_partition(template: str, scheduled_utc: datetime, tz: str) -> str:
    """Format ``template`` with ``date``, ``prev_date``, ``local`` (naive wall clock) and ``utc``."""
    local = scheduled_utc.astimezone(resolve_timezone(tz)).replace(tzinfo=None)
    day: date = local.date()
    return template.format(date=day, prev_date=day - timedelta(days=1), local=local, utc=scheduled_utc)


def parse_s3_location(location: str) -> tuple[str, str]:
    """``s3://bucket/prefix/`` -> (bucket, prefix without slashes at the ends)."""
    parsed = urllib.parse.urlsplit(location)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"location must look like s3://bucket/prefix, got {location!r}")
    return parsed.netloc, parsed.path.strip("/")


def parse_contract(entry: Mapping[str, Any]) -> SloContract:
    """Validate one manifest entry; raises ``ValueError`` with one message naming the bad field."""
    if not isinstance(entry, Mapping):
        raise ValueError("entry must be a JSON object")

    def text(name: str, required: bool = True, default: str = "") -> str:
        value = entry.get(name, default)
        if value is None:
            value = default
        if not isinstance(value, str) or (required and not value.strip()):
            raise ValueError(f"{name}: a non-empty string is required")
        return value.strip()

    domain, product = text("domain"), text("product")
    product_key = text("product_key", required=False) or f"{domain}.{product}"
    cron = text("cron")
    try:
        schedule = parse_cron(cron)
    except ValueError as exc:
        raise ValueError(f"cron: {exc}") from exc
    tz = text("timezone", required=False, default="UTC") or "UTC"
    try:
        resolve_timezone(tz)
    except ValueError as exc:
        raise ValueError(f"timezone: {exc}") from exc
    grace = entry.get("grace_minutes", 0)
    if isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= 7 * 24 * 60:
        raise ValueError("grace_minutes: an integer between 0 and 10080 is required")
    location = text("location")
    try:
        bucket, prefix = parse_s3_location(location)
    except ValueError as exc:
        raise ValueError(f"location: {exc}") from exc
    # Absent (or null): the default daily template; "" (explicit): unpartitioned.
    template = DEFAULT_PARTITION_TEMPLATE
    if entry.get("partition_template") is not None:
        template = text("partition_template", required=False)
    try:
        render_partition(template, datetime(2026, 1, 1, tzinfo=UTC), "UTC")
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise ValueError(
            f"partition_template: {template!r} is invalid ({exc}); "
            "use {date}, {prev_date}, {local} or {utc} with optional strftime formats"
        ) from exc
    marker = text("marker_template", required=False) or None
    if marker is not None:
        try:
            render_partition(marker, datetime(2026, 1, 1, tzinfo=UTC), "UTC")
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise ValueError(f"marker_template: {marker!r} is invalid ({exc})") from exc
    channel = text("slack_channel", required=False) or None
    return SloContract(
        product_key=product_key,
        domain=domain,
        product=product,
        owner=text("owner", required=False) or "unknown",
        slack_channel=channel,
        cron=schedule.expression,
        schedule=schedule,
        timezone=tz,
        grace=timedelta(minutes=grace),
        location=location,
        bucket=bucket,
        prefix=prefix,
        partition_template=template,
        marker_template=marker,
    )


def parse_manifest(data: Any) -> tuple[list[SloContract], list[str]]:
    """Parse a manifest (``{"version": 1, "slos": [...]}`` or a bare list); bad entries are skipped.

    Returns the valid contracts and one error message per rejected entry.
    """
    entries = data.get("slos") if isinstance(data, Mapping) else data
    if not isinstance(entries, list):
        raise ValueError('manifest must be {"slos": [...]} or a JSON list of SLO entries')
    contracts: list[SloContract] = []
    errors: list[str] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        label = "?"
        if isinstance(entry, Mapping):
            label = entry.get("product_key") or f"{entry.get('domain')}.{entry.get('product')}"
        try:
            contract = parse_contract(entry)
        except ValueError as exc:
            errors.append(f"slos[{index}] ({label}): {exc}")
            continue
        if contract.product_key in seen:
            errors.append(f"slos[{index}] ({label}): product_key: duplicate {contract.product_key!r}")
            continue
        seen.add(contract.product_key)
        contracts.append(contract)
    return contracts, errors


class ManifestCache:
    """Keeps the parsed manifest per container; re-reads only when the S3 ETag changes (1 call per run)."""

    def __init__(self) -> None:
        self.etag: str | None = None
        self.location: tuple[str, str] | None = None
        self.contracts: list[SloContract] = []
        self.errors: list[str] = []

    def load(self, s3: Any, bucket: str, key: str) -> list[SloContract]:
        """Contracts of ``s3://bucket/key`` (conditional GET with ``IfNoneMatch``)."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if self.etag and self.location == (bucket, key):
            kwargs["IfNoneMatch"] = self.etag
        try:
            response = s3.get_object(**kwargs)
        except Exception as exc:
            if error_code(exc) in ("304", "NotModified"):
                return self.contracts
            raise
        data = json.loads(response["Body"].read())
        contracts, errors = parse_manifest(data)
        for message in errors:
            LOG.error("manifest entry rejected", extra={"error": message})
        self.etag, self.location = response.get("ETag"), (bucket, key)
        self.contracts, self.errors = contracts, errors
        LOG.info("manifest loaded", extra={"contracts": len(contracts), "rejected": len(errors)})
        return contracts

    def clear(self) -> None:
        """Forget the cached manifest."""
        self.__init__()
