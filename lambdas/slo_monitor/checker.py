"""The SLO sweeper: one run checks every data-product delivery whose deadline just passed.

Design (one Lambda, one EventBridge rule, a manifest in S3 instead of one schedule per product):

* A run at ``now`` checks every SLO deadline (cron occurrence + grace) in
  ``(now - SWEEP_MINUTES - OVERLAP_MINUTES, now]``. The overlap re-checks recent deadlines so a late
  or missed invocation loses nothing; all writes are conditional, so re-checking is idempotent.
* Deliveries are read with ``BatchGetItem`` (100 keys per call) from the delivery table; misses fall
  back to ``HeadObject <location>/<partition>/_SUCCESS``.
* Unpartitioned products (manifest ``partition_template`` ``""``) deliver snapshots keyed by snapshot or
  event id, so a period is identified by its scheduled instant (the breach ``period_key`` is that
  instant in ISO UTC) and read from the product's ``latest`` delivery item (written by the hub's
  notifier, fetched in the same ``BatchGetItem`` calls, one key per product): the period is delivered
  when ``delivered_at`` (or ``previous_delivered_at``) is at or after the scheduled instant, and the
  earliest such time counts. Fallback: ``HeadObject <location>/_SUCCESS`` with ``LastModified`` at or
  after the scheduled instant. Because a later refresh replaces ``latest``, "delivered late" is decided
  only by the run whose own slice holds the deadline (an overlapping run cannot tell a late delivery
  from a refresh that followed an on-time one); "not delivered" is decided by any run.
* A late delivery creates a breach item with a conditional ``PutItem``; only the creator alerts, so a
  product and period alert once however many runs overlap.
* Open breaches (sparse GSI ``open_breaches``: ``open`` = 1, sorted by ``deadline``) are re-checked in
  the same batched reads. When data arrives: one recovery message (conditional close). When another
  period of the same product is missed while a breach is open, the oldest open breach is escalated
  once for that period (conditional on ``last_escalated_deadline``) instead of a fresh breach alert.
* Metrics go out in one ``PutMetricData`` per run. ``Checks``/``OnTime`` count only deadlines in the
  run's own ``SWEEP_MINUTES`` slice (no double counting across overlapping runs); ``Breaches`` and
  ``LatenessMinutes`` are recorded once, by the run that writes the breach/recovery.

AWS calls per run: 1 GetObject (304 when the manifest is unchanged) + 1..n Query (open breaches) +
ceil(keys / 100) BatchGetItem (+ retries of unprocessed keys) + HeadObject per miss + one write per
new breach / escalation / recovery + 1 PutMetricData; plus SNS/SQS/Secrets Manager per alert only.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from .aws import AwsClients, error_code
from .cron import CronSchedule, occurrences_between, parse_cron, resolve_timezone
from .notify import Alert, Notifier, parse_topic_map

LOG = logging.getLogger(__name__)
UTC = timezone.utc

DEFAULT_PARTITION_TEMPLATE = "dt={date:%Y-%m-%d}"
#: Delivery-table sort key of a product's newest delivery (unpartitioned products).
LATEST_PERIOD_KEY = "latest"
#: Breach-table partition of the alert outbox: one item per alert written but not yet known sent.
OUTBOX_KEY = "#outbox"
BATCH_GET_LIMIT = 100
METRIC_BATCH_LIMIT = 1000
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


# --------------------------------------------------------------------------------------------- settings


def _int_env(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Configuration of the sweeper, read from the environment by :meth:`from_env`."""

    manifest_bucket: str
    manifest_key: str
    delivery_table: str
    breach_table: str
    open_breach_index: str = "open_breaches"
    sweep_minutes: int = 5
    overlap_minutes: int = 10
    domain_topics: Mapping[str, str] = field(default_factory=dict)
    default_topic_arn: str | None = None
    slack_secret_arn: str | None = None
    dlq_url: str | None = None
    metric_namespace: str = "meshworks/slo"
    breach_retention_days: int = 90
    region: str = "eu-west-1"
    #: How long a run holds an alert it is sending before another run may resend it (outbox lease).
    alert_lease_seconds: int = 300

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default ``os.environ``); raises ``ValueError`` naming the variable."""
        env = os.environ if env is None else env
        missing = [n for n in ("MANIFEST_BUCKET", "MANIFEST_KEY", "DELIVERY_TABLE", "BREACH_TABLE") if not env.get(n)]
        if missing:
            raise ValueError(f"missing required environment variable(s): {', '.join(missing)}")
        return cls(
            manifest_bucket=env["MANIFEST_BUCKET"],
            manifest_key=env["MANIFEST_KEY"],
            delivery_table=env["DELIVERY_TABLE"],
            breach_table=env["BREACH_TABLE"],
            open_breach_index=env.get("OPEN_BREACH_INDEX") or "open_breaches",
            sweep_minutes=_int_env(env, "SWEEP_MINUTES", 5, minimum=1),
            overlap_minutes=_int_env(env, "OVERLAP_MINUTES", 10),
            domain_topics=parse_topic_map(env.get("DOMAIN_TOPIC_ARNS")),
            default_topic_arn=env.get("DEFAULT_TOPIC_ARN") or None,
            slack_secret_arn=env.get("SLACK_SECRET_ARN") or None,
            dlq_url=env.get("ALERT_DLQ_URL") or None,
            metric_namespace=env.get("METRIC_NAMESPACE") or "meshworks/slo",
            breach_retention_days=_int_env(env, "BREACH_RETENTION_DAYS", 90, minimum=1),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-west-1",
            alert_lease_seconds=_int_env(env, "ALERT_LEASE_SECONDS", 300, minimum=1),
        )

    def topic_for(self, domain: str) -> str | None:
        """SNS topic of ``domain`` (``DOMAIN_TOPIC_ARNS``), else ``DEFAULT_TOPIC_ARN``."""
        return self.domain_topics.get(domain) or self.default_topic_arn


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


# --------------------------------------------------------------------------------------------- due checks


@dataclass(frozen=True)
class DueCheck:
    """One (product, period) whose deadline falls inside the run's window.

    ``period_key`` is the partition, or for an unpartitioned product the scheduled instant (ISO UTC).
    """

    contract: SloContract
    scheduled_utc: datetime
    deadline: datetime
    period_key: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.contract.product_key, self.period_key)

    @property
    def location(self) -> str:
        return self.contract.location

    @property
    def since(self) -> datetime | None:
        """Deliveries count only at or after this instant (unpartitioned); None: any delivery of the key."""
        return self.scheduled_utc if self.contract.unpartitioned else None

    @property
    def delivery_key(self) -> tuple[str, str]:
        """Delivery-table key answering this check."""
        return (self.contract.product_key, LATEST_PERIOD_KEY) if self.contract.unpartitioned else self.key

    @property
    def marker_partition(self) -> str:
        """Folder under the location holding the ``_SUCCESS`` marker ("" when unpartitioned)."""
        return self.contract.marker_for(self.scheduled_utc, self.period_key)


def due_checks(contracts: Iterable[SloContract], window_start: datetime, window_end: datetime) -> list[DueCheck]:
    """Deadlines ``d`` (occurrence + grace) with ``window_start < d <= window_end``, sorted by deadline.

    Occurrences are computed once per distinct (cron, timezone, grace), so 10,000 contracts sharing a
    few schedules cost a few cron evaluations.
    """
    groups: dict[tuple[str, str, timedelta], list[SloContract]] = defaultdict(list)
    for contract in contracts:
        groups[(contract.cron, contract.timezone, contract.grace)].append(contract)
    result: list[DueCheck] = []
    for (_, tz, grace), members in groups.items():
        occurrences = occurrences_between(members[0].schedule, window_start - grace, window_end - grace, tz)
        for occurrence in occurrences:
            partitions: dict[str, str] = {"": iso(occurrence)}  # unpartitioned: the scheduled instant
            for contract in members:
                template = contract.partition_template
                if template not in partitions:
                    partitions[template] = contract.partition_for(occurrence)
                result.append(DueCheck(contract, occurrence, occurrence + grace, partitions[template]))
    result.sort(key=lambda check: (check.deadline, check.contract.product_key))
    return result


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


# --------------------------------------------------------------------------------------------- sweeper


@dataclass
class _DomainStats:
    checks: int = 0
    on_time: int = 0
    breaches: int = 0
    lateness: list[float] = field(default_factory=list)


@dataclass
class RunSummary:
    """Result of one sweep (returned by the handler; also handy in tests)."""

    now: str
    window_start: str
    due: int = 0
    checks: int = 0
    on_time: int = 0
    breaches: int = 0
    late_deliveries: int = 0
    escalations: int = 0
    recoveries: int = 0
    duplicates: int = 0
    unknown: int = 0
    resent: int = 0
    open_breaches: int = 0
    alerts: list[dict[str, str]] = field(default_factory=list)
    aws_calls: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_MISSING = object()
_NOT_DELIVERED = object()


@dataclass(frozen=True)
class Delivered:
    """What a delivery item says: ``delivered_at`` and, on ``latest`` items, the one it replaced."""

    at: datetime | None
    previous: datetime | None = None

    def satisfying(self, moment: datetime | None) -> Any:
        """Delivery time that satisfies a period starting at ``moment`` (None: any), or ``_NOT_DELIVERED``.

        With ``moment``, the earliest known delivery at or after it (so a refresh that followed an
        on-time delivery does not hide it).
        """
        if moment is None:
            return self.at
        times = [t for t in (self.previous, self.at) if t is not None and t >= moment]
        return min(times) if times else _NOT_DELIVERED


class Sweeper:
    """Runs one SLO sweep. All collaborators (clients, notifier, clock, sleep) are injectable."""

    def __init__(
        self,
        settings: Settings,
        clients: AwsClients,
        notifier: Notifier,
        *,
        manifest: ManifestCache | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        batch_attempts: int = 5,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.notifier = notifier
        self.manifest = manifest or ManifestCache()
        self.clock = clock
        self.sleep = sleep
        self.rand = rand
        self.batch_attempts = batch_attempts

    # ---- reads

    def _open_breaches(self) -> list[Breach]:
        """All open breaches from the sparse GSI (one Query per 1 MB page)."""
        breaches: list[Breach] = []
        kwargs: dict[str, Any] = {
            "TableName": self.settings.breach_table,
            "IndexName": self.settings.open_breach_index,
            "KeyConditionExpression": "#open = :one",
            "ExpressionAttributeNames": {"#open": "open"},
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
        while True:
            response = self.clients.dynamodb.query(**kwargs)
            breaches.extend(Breach.from_item(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return breaches
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _batch_deliveries(self, keys: list[tuple[str, str]]) -> tuple[dict[tuple[str, str], Delivered], set]:
        """Delivery items found for ``keys``; also the keys never read (throttled)."""
        found: dict[tuple[str, str], Delivered] = {}
        unread: set[tuple[str, str]] = set()
        table = self.settings.delivery_table
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            chunk = keys[start : start + BATCH_GET_LIMIT]
            request: dict[str, Any] = {
                table: {
                    "Keys": [{"product_key": {"S": pk}, "period_key": {"S": sk}} for pk, sk in chunk],
                    "ProjectionExpression": "product_key, period_key, delivered_at, previous_delivered_at",
                }
            }
            for attempt in range(1, self.batch_attempts + 1):
                response = self.clients.dynamodb.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(table, []):
                    key = (item["product_key"]["S"], item["period_key"]["S"])
                    found[key] = Delivered(
                        _parse_optional_time(item.get("delivered_at", {}).get("S")),
                        _parse_optional_time(item.get("previous_delivered_at", {}).get("S")),
                    )
                request = response.get("UnprocessedKeys") or {}
                if not request.get(table, {}).get("Keys"):
                    break
                if attempt < self.batch_attempts:
                    self.sleep(self.rand() * min(2.0, 0.05 * 2**attempt))
            else:
                for key in request.get(table, {}).get("Keys", []):
                    unread.add((key["product_key"]["S"], key["period_key"]["S"]))
        return found, unread

    def _head_success(self, location: str, partition: str) -> Any:
        """``LastModified`` of the ``_SUCCESS`` marker, None if absent, ``_MISSING`` if unknown (error)."""
        try:
            bucket, prefix = parse_s3_location(location)
        except ValueError:
            return None
        key = "/".join(part for part in (prefix, partition, "_SUCCESS") if part)
        try:
            response = self.clients.s3.head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            code = error_code(exc)
            if code in ("404", "NoSuchKey", "NotFound"):
                return None
            if code in ("403", "AccessDenied", "Forbidden"):
                LOG.warning(
                    "head _SUCCESS denied; grant s3:ListBucket so a missing key reads as 404", extra={"bucket": bucket}
                )
                return None
            LOG.error("head _SUCCESS failed", extra={"bucket": bucket, "error_code": code})
            return _MISSING
        return response["LastModified"].astimezone(UTC)

    def _resolve(
        self, subjects: Iterable[DueCheck | Breach], found: Mapping[tuple[str, str], Delivered]
    ) -> tuple[dict[tuple[str, str], datetime | None], set[tuple[str, str]]]:
        """Delivery time per subject key (None: delivered, time unknown) and the keys whose state is unknown.

        Subjects not satisfied by the delivery table fall back to their ``_SUCCESS`` marker (one
        HeadObject per marker, shared by an unpartitioned product's periods).
        """
        deliveries: dict[tuple[str, str], datetime | None] = {}
        unknown: set[tuple[str, str]] = set()
        markers: dict[tuple[str, str], Any] = {}
        for subject in subjects:
            if subject.key in deliveries or subject.key in unknown:
                continue
            item = found.get(subject.delivery_key)
            at = item.satisfying(subject.since) if item is not None else _NOT_DELIVERED
            if at is not _NOT_DELIVERED:
                deliveries[subject.key] = at
                continue
            marker = (subject.location, subject.marker_partition)
            if marker not in markers:
                markers[marker] = self._head_success(*marker)
            result = markers[marker]
            if result is _MISSING:
                unknown.add(subject.key)
            elif result is not None and (subject.since is None or result >= subject.since):
                deliveries[subject.key] = result
        return deliveries, unknown

    # ---- writes

    def _outbox_put(self, alert: Alert, now: datetime) -> dict[str, Any]:
        lease = int(now.timestamp()) + self.settings.alert_lease_seconds
        return {
            "Put": {
                "TableName": self.settings.breach_table,
                "Item": {
                    "product_key": {"S": OUTBOX_KEY},
                    "period_key": {"S": alert.dedupe_id},
                    "payload": {"S": json.dumps(alert.payload(), default=str)},
                    "lease_until": {"N": str(lease)},
                    "created_at": {"S": iso(now)},
                },
            }
        }

    def _write_with_alert(self, writes: list[dict[str, Any]], alert: Alert, now: datetime) -> int | None:
        """Apply the conditional ``writes`` and record ``alert`` in the outbox, atomically.

        Returns None when done, else the index of the write whose condition failed (another run made
        that write, and its alert is that run's).
        """
        try:
            self.clients.dynamodb.transact_write_items(TransactItems=[*writes, self._outbox_put(alert, now)])
        except Exception as exc:
            reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
            failed = [i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"]
            if error_code(exc) == "TransactionCanceledException" and failed:
                return failed[0]
            raise
        return None

    def _put_breach(
        self, breach: Breach, now: datetime, alert: Alert, *, is_open: bool, delivered_at: datetime | None
    ) -> bool:
        return self._write_with_alert([self._breach_put(breach, now, is_open, delivered_at)], alert, now) is None

    def _breach_put(self, breach: Breach, now: datetime, is_open: bool, delivered_at: datetime | None) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.settings.breach_table,
                "Item": breach.item(now, is_open=is_open, delivered_at=delivered_at),
                "ConditionExpression": "attribute_not_exists(product_key)",
            }
        }

    def _escalate(self, breach: Breach, root: Breach, check: DueCheck, alert: Alert, now: datetime) -> str:
        """Record ``breach`` (a further missed period) and count one escalation of ``root`` for it, with
        its alert, atomically. Returns ``"escalated"``, ``"duplicate"`` (``breach`` exists: another run's)
        or ``"recorded"`` (``root`` closed or already escalated for it: ``breach`` recorded, no alert)."""
        write = {
            "Update": {
                "TableName": self.settings.breach_table,
                "Key": {"product_key": {"S": root.product_key}, "period_key": {"S": root.period_key}},
                "UpdateExpression": (
                    "SET escalations = if_not_exists(escalations, :zero) + :one, "
                    "last_escalated_period = :period, last_escalated_deadline = :deadline"
                ),
                "ConditionExpression": (
                    "attribute_exists(#open) AND (attribute_not_exists(last_escalated_deadline) "
                    "OR last_escalated_deadline < :deadline)"
                ),
                "ExpressionAttributeNames": {"#open": "open"},
                "ExpressionAttributeValues": {
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    ":period": {"S": check.period_key},
                    ":deadline": {"S": iso(check.deadline)},
                },
            }
        }
        failed = self._write_with_alert([self._breach_put(breach, now, True, None), write], alert, now)
        if failed == 0:
            return "duplicate"
        if failed == 1:
            return "recorded" if self._put_breach_quietly(breach, now) else "duplicate"
        root.escalations += 1
        root.last_escalated_deadline = iso(check.deadline)
        return "escalated"

    def _close(self, breach: Breach, delivered_at: datetime, now: datetime, alert: Alert) -> bool:
        lateness = max(0, int((delivered_at - breach.deadline).total_seconds() // 60))
        expires = int((now + timedelta(days=self.settings.breach_retention_days)).timestamp())
        write = {
            "Update": {
                "TableName": self.settings.breach_table,
                "Key": {"product_key": {"S": breach.product_key}, "period_key": {"S": breach.period_key}},
                "UpdateExpression": (
                    "SET #status = :closed, delivered_at = :delivered, lateness_minutes = :late, "
                    "closed_at = :now, expires_at = :expires REMOVE #open"
                ),
                "ConditionExpression": "attribute_exists(#open)",
                "ExpressionAttributeNames": {"#open": "open", "#status": "status"},
                "ExpressionAttributeValues": {
                    ":closed": {"S": "CLOSED"},
                    ":delivered": {"S": iso(delivered_at)},
                    ":late": {"N": str(lateness)},
                    ":now": {"S": iso(now)},
                    ":expires": {"N": str(expires)},
                },
            }
        }
        return self._write_with_alert([write], alert, now) is None

    def _clear_outbox(self, alert: Alert) -> None:
        self.clients.dynamodb.delete_item(
            TableName=self.settings.breach_table,
            Key={"product_key": {"S": OUTBOX_KEY}, "period_key": {"S": alert.dedupe_id}},
        )

    def _resend_pending(self, now: datetime, summary: RunSummary) -> None:
        """Send again the alerts of the outbox whose lease expired (a run crashed before clearing them)."""
        kwargs: dict[str, Any] = {
            "TableName": self.settings.breach_table,
            "KeyConditionExpression": "product_key = :outbox",
            "ExpressionAttributeValues": {":outbox": {"S": OUTBOX_KEY}},
            "ConsistentRead": True,
        }
        pending: list[dict[str, Any]] = []
        while True:
            response = self.clients.dynamodb.query(**kwargs)
            pending += [i for i in response.get("Items", []) if int(i["lease_until"]["N"]) < now.timestamp()]
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        for item in pending:
            try:  # claim it: only one run resends
                self.clients.dynamodb.update_item(
                    TableName=self.settings.breach_table,
                    Key={"product_key": item["product_key"], "period_key": item["period_key"]},
                    UpdateExpression="SET lease_until = :until",
                    ConditionExpression="lease_until = :seen",
                    ExpressionAttributeValues={
                        ":until": {"N": str(int(now.timestamp()) + self.settings.alert_lease_seconds)},
                        ":seen": item["lease_until"],
                    },
                )
            except Exception as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    continue
                raise
            alert = Alert.from_payload(json.loads(item["payload"]["S"]))
            LOG.warning("resending an alert left in the outbox", extra={"dedupe_id": alert.dedupe_id})
            summary.resent += 1
            self._send(alert, summary)
            self._clear_outbox(alert)

    # ---- alerts

    def _alert(self, kind: str, severity: str, breach: Breach, subject: str, lines: list[str]) -> Alert:
        uri, console = breach.partition_url(self.settings.region)
        body = [
            *lines,
            f"Product: {breach.product_key} (domain {breach.domain}, product {breach.product})",
            f"Owner: {breach.owner}",
            f"Expected by: {local_text(breach.deadline, breach.timezone)} / {utc_text(breach.deadline)}"
            f" (schedule '{breach.cron}' {breach.timezone} + {breach.grace_minutes} min grace)",
            f"Location: {uri}",
        ]
        if console:
            body.append(f"Console: {console}")
        return Alert(
            kind=kind,
            subject=subject,
            text="\n".join(body),
            attributes={"domain": breach.domain, "product": breach.product, "severity": severity, "kind": kind},
            topic_arn=self.settings.topic_for(breach.domain),
            slack_channel=breach.slack_channel,
            dedupe_id=f"{kind}:{breach.product_key}:{breach.period_key}",
        )

    def _send_and_clear(self, alert: Alert, summary: RunSummary) -> None:
        """Send an alert recorded in the outbox, then clear it (a crash in between: resent by a later run)."""
        self._send(alert, summary)
        self._clear_outbox(alert)

    def _put_breach_quietly(self, breach: Breach, now: datetime) -> bool:
        """Record an open breach whose news is an escalation of an older one (no alert of its own)."""
        try:
            self.clients.dynamodb.put_item(
                TableName=self.settings.breach_table,
                Item=breach.item(now, is_open=True, delivered_at=None),
                ConditionExpression="attribute_not_exists(product_key)",
            )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _send(self, alert: Alert, summary: RunSummary) -> None:
        report = self.notifier.deliver(alert)
        summary.alerts.append({"kind": alert.kind, "id": alert.dedupe_id, "sns": report.sns, "slack": report.slack})

    # ---- the run

    def run(self, now: datetime) -> RunSummary:
        """Sweep the window ending at ``now`` (aware). Returns counts, alerts sent and AWS calls made."""
        self.clients.reset_calls()
        now = now.astimezone(UTC).replace(microsecond=0)
        sweep = timedelta(minutes=self.settings.sweep_minutes)
        window_start = now - sweep - timedelta(minutes=self.settings.overlap_minutes)
        primary_start = now - sweep
        summary = RunSummary(now=iso(now), window_start=iso(window_start))
        stats: dict[str, _DomainStats] = defaultdict(_DomainStats)
        self._resend_pending(self.clock().astimezone(UTC), summary)

        contracts = self.manifest.load(self.clients.s3, self.settings.manifest_bucket, self.settings.manifest_key)
        checks = due_checks(contracts, window_start, now)
        summary.due = len(checks)
        open_breaches = self._open_breaches()

        # Open breaches first: a breach and a check of the same period share the breach's location.
        subjects: list[DueCheck | Breach] = [*open_breaches, *checks]
        found, unread = self._batch_deliveries(list(dict.fromkeys(s.delivery_key for s in subjects)))
        if unread:
            LOG.warning("delivery keys unread after retries; using S3", extra={"count": len(unread)})
        deliveries, unknown = self._resolve(subjects, found)

        checked_at = self.clock().astimezone(UTC)

        # 1. Recoveries: open breaches whose data has arrived.
        still_open: dict[str, list[Breach]] = defaultdict(list)
        breach_keys = {breach.key for breach in open_breaches}
        for breach in sorted(open_breaches, key=lambda b: b.deadline):
            if breach.key in unknown:
                still_open[breach.product_key].append(breach)
            elif breach.key in deliveries:
                delivered_at = deliveries[breach.key] or checked_at
                lateness = delivered_at - breach.deadline
                alert = self._alert(
                    "RECOVERY",
                    "INFO",
                    breach,
                    f"[SLO RECOVERED] {breach.product_key} {breach.period_key} delivered "
                    f"{human_duration(lateness)} late",
                    [
                        f"Data product {breach.product_key} {breach.period_text} was delivered "
                        f"at {utc_text(delivered_at)}, {human_duration(lateness)} after its deadline.",
                    ],
                )
                if self._close(breach, delivered_at, checked_at, alert):
                    summary.recoveries += 1
                    stats[breach.domain].lateness.append(max(0.0, lateness.total_seconds() / 60))
                    self._send_and_clear(alert, summary)
            else:
                still_open[breach.product_key].append(breach)
        summary.open_breaches = sum(len(v) for v in still_open.values())

        # 2. Due checks, oldest deadline first.
        for check in checks:
            contract = check.contract
            domain = stats[contract.domain]
            primary = check.deadline > primary_start
            if check.key in unknown:
                summary.unknown += 1
                continue
            if primary:
                summary.checks += 1
                domain.checks += 1
            if check.key in breach_keys:
                # Already a breach (an overlapping or repeated run): handled by the open-breach path.
                summary.duplicates += 1
                continue
            if check.key in deliveries:
                delivered_at = deliveries[check.key]
                if delivered_at is None or delivered_at <= check.deadline:
                    if primary:
                        summary.on_time += 1
                        domain.on_time += 1
                        domain.lateness.append(0.0)
                    continue
                if contract.unpartitioned and not primary:
                    # Only the run whose slice holds the deadline decides "late" (see the module docstring).
                    continue
                breach = Breach.from_check(check)
                lateness = delivered_at - check.deadline
                alert = self._alert(
                    "LATE",
                    "WARNING",
                    breach,
                    f"[SLO LATE] {contract.product_key} {check.period_key} delivered "
                    f"{human_duration(lateness)} late",
                    [
                        f"Data product {contract.product_key} {breach.period_text} missed its "
                        f"deadline and arrived at {utc_text(delivered_at)} ({human_duration(lateness)} late).",
                    ],
                )
                if not self._put_breach(breach, checked_at, alert, is_open=False, delivered_at=delivered_at):
                    summary.duplicates += 1
                    continue
                summary.breaches += 1
                summary.late_deliveries += 1
                domain.breaches += 1
                domain.lateness.append(lateness.total_seconds() / 60)
                self._send_and_clear(alert, summary)
                continue

            breach = Breach.from_check(check)
            late_by = checked_at - check.deadline
            older = [b for b in still_open.get(contract.product_key, []) if b.deadline < check.deadline]
            if older:
                # The root breach escalates (its alert is written with the escalation); this period's
                # breach is recorded without an alert of its own.
                root = older[0]
                missed = [b.period_key for b in still_open[contract.product_key]] + [check.period_key]
                count = root.escalations + 1
                root_late = checked_at - root.deadline
                alert = self._alert(
                    "ESCALATION",
                    "CRITICAL",
                    root,
                    f"[SLO ESCALATION #{count}] {contract.product_key} still missing "
                    f"{root.period_key}; {len(missed)} periods missed",
                    [
                        f"Data product {contract.product_key} is still missing {root.period_key} "
                        f"({human_duration(root_late)} late) and has now also missed {check.period_key} "
                        f"(deadline {utc_text(check.deadline)}).",
                        f"Missed periods: {', '.join(missed)} (escalation {count}).",
                    ],
                )
                alert = replace(alert, dedupe_id=f"ESCALATION:{root.product_key}:{root.period_key}:{check.period_key}")
                outcome = self._escalate(breach, root, check, alert, checked_at)
                if outcome == "duplicate":
                    summary.duplicates += 1
                    continue
                summary.breaches += 1
                domain.breaches += 1
                still_open[contract.product_key].append(breach)
                if outcome == "escalated":
                    summary.escalations += 1
                    self._send_and_clear(alert, summary)
            else:
                alert = self._alert(
                    "BREACH",
                    "ERROR",
                    breach,
                    f"[SLO BREACH] {contract.product_key} {check.period_key} late by {human_duration(late_by)}",
                    [
                        f"Data product {contract.product_key} {breach.period_text} has not been "
                        f"delivered; it is {human_duration(late_by)} late (checked {utc_text(checked_at)}).",
                    ],
                )
                if not self._put_breach(breach, checked_at, alert, is_open=True, delivered_at=None):
                    summary.duplicates += 1
                    continue
                summary.breaches += 1
                domain.breaches += 1
                still_open[contract.product_key].append(breach)
                self._send_and_clear(alert, summary)

        self._put_metrics(stats, now, summary)
        summary.aws_calls = self.clients.call_counts()
        LOG.info("sweep finished", extra={"summary": {k: v for k, v in summary.as_dict().items() if k != "alerts"}})
        return summary

    def _put_metrics(self, stats: Mapping[str, _DomainStats], now: datetime, summary: RunSummary) -> None:
        totals = _DomainStats()
        for item in stats.values():
            totals.checks += item.checks
            totals.on_time += item.on_time
            totals.breaches += item.breaches
            totals.lateness.extend(item.lateness)
        data: list[dict[str, Any]] = []
        for domain, item in [*sorted(stats.items()), ("ALL", totals)]:
            dims = [{"Name": "Domain", "Value": domain}]
            for name, value in (("Checks", item.checks), ("OnTime", item.on_time), ("Breaches", item.breaches)):
                data.append({"MetricName": name, "Dimensions": dims, "Timestamp": now, "Value": value, "Unit": "Count"})
            if item.lateness:
                data.append(
                    {
                        "MetricName": "LatenessMinutes",
                        "Dimensions": dims,
                        "Timestamp": now,
                        "Unit": "None",
                        "StatisticValues": {
                            "SampleCount": len(item.lateness),
                            "Sum": sum(item.lateness),
                            "Minimum": min(item.lateness),
                            "Maximum": max(item.lateness),
                        },
                    }
                )
        data.append(
            {
                "MetricName": "SlackNotConfigured",
                "Dimensions": [{"Name": "Domain", "Value": "ALL"}],
                "Timestamp": now,
                "Value": self.notifier.slack_not_configured,
                "Unit": "Count",
            }
        )
        for start in range(0, len(data), METRIC_BATCH_LIMIT):
            try:
                self.clients.cloudwatch.put_metric_data(
                    Namespace=self.settings.metric_namespace, MetricData=data[start : start + METRIC_BATCH_LIMIT]
                )
            except Exception as exc:  # noqa: BLE001 - metrics must not fail the sweep
                LOG.error("put_metric_data failed", extra={"error_code": error_code(exc)})


def _parse_optional_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_iso(text)
    except ValueError:
        LOG.warning("unparseable delivered_at", extra={"value": text})
        return None
