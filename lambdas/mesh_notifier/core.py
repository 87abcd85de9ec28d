"""Pure logic of the mesh notifier: configuration, event parsing, paths, keys and messages.

Nothing in this module talks to AWS, so every rule here is unit-testable without moto.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .partition_values import (
    PartitionValueError,
    check_key_type,
    normalise_key,
    normalise_partition,
    safe_relative_path,
)
from .partition_values import (
    partition_path as render_partition_path,
)

LOGGER = logging.getLogger("meshworks.mesh_notifier")
LOGGER.setLevel(logging.INFO)

EVENT_SOURCE = "meshworks.producer"
EVENT_DETAIL_TYPE = "DataProductRefreshed"
MARKER_NAME = "_SUCCESS"
#: Sort key of the per-product item pointing at the newest delivery (read by the SLO sweeper for
#: unpartitioned products, whose deliveries are keyed by snapshot/event id rather than by period).
LATEST_PERIOD_KEY = "latest"

_NAME_RE = re.compile(r"^[a-z0-9_-]{1,128}$")
_PREFIX_RE = re.compile(r"^[a-z0-9_-]{0,64}$")
#: Snapshot ids: also ISO-8601 timestamps (``2026-11-25T06:00:00Z``, ``...+01:00``); never part of a path.
_SNAPSHOT_RE = re.compile(r"^[A-Za-z0-9_.:+\-]{1,256}$")
_CATALOG_RE = re.compile(r"^\d{12}$")
_ACCOUNT_RE = _CATALOG_RE
#: Glue table parameter naming the one account allowed to announce the product (written by the
#: platform from its configuration, never by the producer's event).
PRODUCER_ACCOUNT_PARAMETER = "meshworks:producer_account"
#: Glue table parameter listing the consumer accounts of the product (comma-separated, written by
#: ``DataProduct``); each gets the notification on its own topic ``<CONSUMER_TOPIC_PREFIX><account>``.
CONSUMERS_PARAMETER = "meshworks:consumers"
#: Sort-key prefix of the item that tracks an unfinished delivery (claim, lease, published targets).
#: The SLO sweeper never reads it: the delivery record (``period_key``) is written only when complete.
CLAIM_PREFIX = "claim#"
#: Default publish lease: longer than the function timeout plus Lambda's first retry delay (60 s).
DEFAULT_LEASE_SECONDS = 180


class MeshNotifierError(Exception):
    """Base class of every error this function raises on purpose."""


class NonRetryableEventError(MeshNotifierError):
    """The event (or the configuration) can never succeed as is: retrying will not help.

    Lambda's bounded asynchronous retries then send the event to the function's on-failure
    destination / DLQ, where ``errorType`` names this class so operators can triage it.
    """


class RetryableDeliveryError(MeshNotifierError):
    """A transient or fixable AWS failure (access denied, throttling, publish failure): retry later."""


def log(level: int, message: str, **fields: Any) -> None:
    """Emit one structured JSON log line."""
    LOGGER.log(level, json.dumps({"message": message, **fields}, default=str, sort_keys=True))


@dataclass(frozen=True)
class Config:
    """Settings read from the environment.

    Example:
        >>> Config.from_env({"DELIVERY_TABLE": "t", "TOPIC_ARN": "arn:aws:sns:eu-west-1:1:x"}).is_fifo
        False
    """

    delivery_table: str
    topic_arn: str
    catalog_id: str | None = None
    database_prefix: str = ""
    consumer_topic_prefix: str = ""
    producer_accounts: tuple[str, ...] = ()
    lease_seconds: int = DEFAULT_LEASE_SECONDS

    @property
    def is_fifo(self) -> bool:
        """True when the topic is a FIFO topic (its name ends with ``.fifo``)."""
        return self.topic_arn.endswith(".fifo")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Build the configuration, raising one clear error per missing or bad variable."""
        missing = [name for name in ("DELIVERY_TABLE", "TOPIC_ARN") if not env.get(name)]
        if missing:
            raise NonRetryableEventError(f"missing required environment variable(s): {', '.join(missing)}")
        catalog_id = env.get("CATALOG_ID") or None
        if catalog_id is not None and not _CATALOG_RE.match(catalog_id):
            raise NonRetryableEventError(f"CATALOG_ID must be a 12-digit account id, got {catalog_id!r}")
        prefix = env.get("DATABASE_PREFIX", "")
        if not _PREFIX_RE.match(prefix):
            raise NonRetryableEventError(
                f"DATABASE_PREFIX may hold only lowercase letters, digits, '_' and '-', got {prefix!r}"
            )
        accounts = tuple(a for a in (env.get("PRODUCER_ACCOUNTS") or "").split(",") if a)
        bad = [a for a in accounts if not _ACCOUNT_RE.match(a)]
        if bad:
            raise NonRetryableEventError(f"PRODUCER_ACCOUNTS must list 12-digit account ids, got {bad}")
        lease = env.get("LEASE_SECONDS") or str(DEFAULT_LEASE_SECONDS)
        if not lease.isdigit() or int(lease) < 1:
            raise NonRetryableEventError(f"LEASE_SECONDS must be a positive number of seconds, got {lease!r}")
        topic_prefix = env.get("CONSUMER_TOPIC_PREFIX", "")
        if topic_prefix and not topic_prefix.startswith("arn:"):
            raise NonRetryableEventError(f"CONSUMER_TOPIC_PREFIX must be an SNS ARN prefix, got {topic_prefix!r}")
        return cls(env["DELIVERY_TABLE"], env["TOPIC_ARN"], catalog_id, prefix, topic_prefix, accounts, int(lease))


@dataclass(frozen=True)
class RefreshEvent:
    """A validated ``DataProductRefreshed`` event."""

    event_id: str
    domain: str
    product: str
    partition: dict[str, str] = field(default_factory=dict)
    snapshot_id: str | None = None
    location: str | None = None
    account: str | None = None

    @property
    def product_key(self) -> str:
        """DynamoDB partition key: ``domain.product``."""
        return f"{self.domain}.{self.product}"


def parse_event(event: Mapping[str, Any]) -> RefreshEvent:
    """Validate an EventBridge event and return its typed detail.

    Raises:
        NonRetryableEventError: wrong source/detail-type or a malformed detail.
    """
    if event.get("source") != EVENT_SOURCE or event.get("detail-type") != EVENT_DETAIL_TYPE:
        raise NonRetryableEventError(
            f"expected source={EVENT_SOURCE!r} detail-type={EVENT_DETAIL_TYPE!r}, got "
            f"source={event.get('source')!r} detail-type={event.get('detail-type')!r}"
        )
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise NonRetryableEventError("event.detail must be an object")
    domain, product = detail.get("domain"), detail.get("product")
    for name, value in (("domain", domain), ("product", product)):
        if not isinstance(value, str) or not _NAME_RE.match(value):
            raise NonRetryableEventError(
                f"detail.{name} must be 1-128 lowercase letters, digits, '_' or '-', got {value!r}"
            )
    partition = detail.get("partition") or {}
    if not isinstance(partition, Mapping):
        raise NonRetryableEventError('detail.partition must be an object such as {"dt": "2026-11-25"}')
    for key, value in partition.items():
        try:
            normalise_key(key)
        except PartitionValueError as error:
            raise NonRetryableEventError(f"detail.partition: {error}") from None
        if not isinstance(value, str):
            raise NonRetryableEventError(f"detail.partition[{key!r}]={value!r}: values are strings (JSON text)")
    snapshot_id = detail.get("snapshot_id")
    if snapshot_id is not None and (not isinstance(snapshot_id, str) or not _SNAPSHOT_RE.match(snapshot_id)):
        raise NonRetryableEventError(
            f"detail.snapshot_id must be 1-256 of [A-Za-z0-9_.:+-] (an id or an ISO-8601 timestamp), got {snapshot_id!r}"
        )
    location = detail.get("location")
    if location is not None and (not isinstance(location, str) or not location.startswith("s3://")):
        raise NonRetryableEventError(f"detail.location must be an s3:// URI, got {location!r}")
    event_id = (
        event.get("id")
        or "sha256-" + hashlib.sha256(json.dumps(detail, sort_keys=True, default=str).encode()).hexdigest()
    )
    account = event.get("account")
    if account is not None and (not isinstance(account, str) or not _ACCOUNT_RE.match(account)):
        raise NonRetryableEventError(f"event.account must be a 12-digit account id, got {account!r}")
    return RefreshEvent(str(event_id), domain, product, dict(partition), snapshot_id, location, account)


def check_producer_account(event: RefreshEvent, table: Mapping[str, Any], allowed: tuple[str, ...]) -> str:
    """Reject an announcement whose EventBridge ``account`` is not the product's producer.

    The product's producer is the table parameter ``meshworks:producer_account`` (written from the
    platform's configuration). Older tables without it fall back to the bus's allowed producer
    accounts (``PRODUCER_ACCOUNTS``), and the fallback is logged. Returns how the check passed
    (``"table"`` or ``"bus"``).

    Raises:
        NonRetryableEventError: no account on the event, or an account that may not announce this product.
    """
    name = f"{event.domain}.{event.product}"
    if not event.account:
        raise NonRetryableEventError(f"rejected refresh of {name}: the event has no 'account' (EventBridge sets it)")
    parameters = table.get("Parameters") or {}
    producer = parameters.get(PRODUCER_ACCOUNT_PARAMETER)
    if producer:
        if event.account != producer:
            raise NonRetryableEventError(
                f"rejected refresh of {name}: sent by account {event.account}, but the product's producer "
                f"account ({PRODUCER_ACCOUNT_PARAMETER} on the Glue table) is {producer}"
            )
        return "table"
    if event.account not in allowed:
        raise NonRetryableEventError(
            f"rejected refresh of {name}: account {event.account} is not one of the hub bus's producer accounts "
            f"{sorted(allowed)} (and the table has no {PRODUCER_ACCOUNT_PARAMETER} parameter)"
        )
    log(logging.WARNING, "producer account checked against the bus's accounts only", product_key=name,
        account=event.account, missing_parameter=PRODUCER_ACCOUNT_PARAMETER)
    return "bus"


def consumer_accounts(table: Mapping[str, Any]) -> list[str]:
    """The product's consumer accounts from the table parameter ``meshworks:consumers`` (sorted, valid ids only)."""
    raw = str((table.get("Parameters") or {}).get(CONSUMERS_PARAMETER) or "")
    accounts = sorted({a.strip() for a in raw.split(",") if a.strip()})
    bad = [a for a in accounts if not _ACCOUNT_RE.match(a)]
    if bad:
        log(logging.ERROR, "ignoring malformed consumer accounts", parameter=CONSUMERS_PARAMETER, values=bad)
    return [a for a in accounts if _ACCOUNT_RE.match(a)]


def publish_targets(config: Config, table: Mapping[str, Any]) -> list[str]:
    """Topics one delivery is published to: the hub topic, then one topic per consumer account."""
    targets = [config.topic_arn]
    if config.consumer_topic_prefix:
        targets += [f"{config.consumer_topic_prefix}{account}" for account in consumer_accounts(table)]
    return targets


#: Glue ``table_type`` parameters of the open table formats that keep partitions in their own metadata.
OPEN_TABLE_TYPES = frozenset({"iceberg", "delta"})
#: Table parameters the hub sets (``constructs/mesh/table_format.py``) and the notifier reads.
PARTITION_KEYS_PARAMETER = "meshworks.partition_keys"
PATH_STYLE_PARAMETER = "meshworks.partition_path_style"


@dataclass(frozen=True)
class TableInfo:
    """What the notifier needs from a Glue table.

    ``partition_keys``/``partition_types`` are the Glue ``PartitionKeys`` of a Hive-style table, or
    for Iceberg/Delta the keys named by the ``meshworks.partition_keys`` parameter, typed by their
    columns (``()`` when that parameter is absent: any primitive column may then be announced).
    ``path_style`` is ``hive`` (``k=v/``) or ``values`` (``v/``, Hudi's default layout).
    """

    database: str
    name: str
    location: str
    partition_keys: tuple[str, ...]
    storage_descriptor: dict[str, Any]
    registers_partitions: bool
    partition_types: tuple[str, ...] = ()
    path_style: str = "hive"
    open_table_format: bool = False
    column_types: tuple[tuple[str, str], ...] = ()


def table_info(table: Mapping[str, Any]) -> TableInfo:
    """Extract location, typed partition keys and StorageDescriptor from a Glue ``GetTable`` result.

    Iceberg and Delta tables and tables using partition projection keep no partitions in Glue, so
    the notifier only validates, marks and records their deliveries.
    """
    descriptor = dict(table.get("StorageDescriptor") or {})
    location = str(descriptor.get("Location") or "").rstrip("/")
    label = f"{table.get('DatabaseName')}.{table.get('Name')}"
    if not location.startswith("s3://") or len(location) <= len("s3://"):
        raise NonRetryableEventError(f"table {label} has no s3:// location ({location!r})")
    params = {str(k).lower(): str(v).lower() for k, v in (table.get("Parameters") or {}).items()}
    open_format = params.get("table_type") in OPEN_TABLE_TYPES
    registers = not open_format and params.get("projection.enabled") != "true"
    columns = tuple((str(c["Name"]).lower(), str(c.get("Type") or "")) for c in descriptor.get("Columns") or [])
    if open_format:
        by_name = dict(columns)
        names = [k.strip() for k in params.get(PARTITION_KEYS_PARAMETER, "").split(",") if k.strip()]
        missing = [k for k in names if k not in by_name]
        if missing:
            raise NonRetryableEventError(f"table {label} names partition keys {missing} that are not columns")
        typed = [(k, by_name[k]) for k in names]
    else:
        typed = [(str(k["Name"]).lower(), str(k.get("Type") or "string")) for k in table.get("PartitionKeys") or []]
    style = params.get(PATH_STYLE_PARAMETER, "hive")
    if style not in {"hive", "values"}:
        raise NonRetryableEventError(f"table {label} has {PATH_STYLE_PARAMETER}={style!r}: use 'hive' or 'values'")
    return TableInfo(
        str(table["DatabaseName"]),
        str(table["Name"]),
        location,
        tuple(k for k, _ in typed),
        descriptor,
        registers,
        tuple(t for _, t in typed),
        style,
        open_format,
        columns,
    )


def typed_event(info: TableInfo, event: RefreshEvent) -> RefreshEvent:
    """The event with its partition matched to the table's keys and every value normalised.

    Keys are matched case-insensitively and returned in the table's key order; values are checked
    against their key's Glue type (:mod:`.partition_values`). An Iceberg/Delta table without the
    ``meshworks.partition_keys`` parameter accepts any of its primitive columns as keys.

    Raises:
        NonRetryableEventError: keys that differ from the table's, or a value its type rejects.
    """
    label = f"table {info.database}.{info.name}"
    key_types = list(zip(info.partition_keys, info.partition_types, strict=True))
    try:
        if info.open_table_format and not key_types and event.partition:
            announced = {normalise_key(k) for k in event.partition}
            key_types = [(name, glue_type) for name, glue_type in info.column_types if name in announced]
            for name, glue_type in key_types:
                check_key_type(name, glue_type)
        partition = normalise_partition(event.partition, key_types) if (event.partition or key_types) else {}
    except PartitionValueError as error:
        raise NonRetryableEventError(f"{label}: {error}") from None
    return RefreshEvent(event.event_id, event.domain, event.product, partition, event.snapshot_id, event.location)


def ordered_partition_values(info: TableInfo, partition: Mapping[str, str]) -> list[str]:
    """Return the (normalised) partition values in the table's key order, or fail if the keys differ."""
    if set(partition) != set(info.partition_keys):
        raise NonRetryableEventError(
            f"partition keys {sorted(partition)} do not match the partition keys "
            f"{list(info.partition_keys)} of table {info.database}.{info.name}"
        )
    return [partition[key] for key in info.partition_keys]


def partition_path(info: TableInfo, partition: Mapping[str, str]) -> str:
    """Hive-style ``k1=v1/k2=v2`` of a normalised partition in its key order ('' when unpartitioned).

    This is the delivery's period key (the SLO manifest renders the same); values are escaped as Hive
    and Spark escape them in directory names.
    """
    return render_partition_path(partition)


def data_location(info: TableInfo, event: RefreshEvent) -> str:
    """Where this delivery's data lives, derived from the table location and the validated values.

    ``<table>/<k=v/...>`` (or ``<table>/<v/...>`` for ``values``-style tables such as Hudi's default
    layout). An explicit ``detail.location`` must be that folder or a folder below it whose segments
    are neither empty nor ``.``/``..`` (also percent-encoded), so an event can never make the hub
    register partitions or write markers outside its partition (``orders/../customers`` is refused).
    """
    path = render_partition_path(event.partition, style=info.path_style) if event.partition else ""
    derived = f"{info.location}/{path}" if path else info.location
    if not event.location:
        return derived
    location = event.location.rstrip("/")
    below = location[len(derived) + 1 :] if location.startswith(derived + "/") else None
    if location != derived and (below is None or not safe_relative_path(below)):
        raise NonRetryableEventError(
            f"detail.location {event.location!r} is outside the delivery's location {derived!r}: give that "
            "folder or a folder below it (no '.', '..' or empty segments), or omit detail.location"
        )
    return location


def period_key(info: TableInfo, event: RefreshEvent) -> str:
    """DynamoDB sort key identifying one delivery of a product.

    ``dt=2026-11-25`` for a partition (Hive-style whatever the table's path style, as the SLO
    manifest expects), ``snapshot=<id>`` for a snapshot (both joined with ``#`` when a partition is
    re-delivered as a new snapshot), else ``event=<id>``.
    """
    parts = [partition_path(info, event.partition)] if event.partition else []
    if event.snapshot_id:
        parts.append(f"snapshot={event.snapshot_id}")
    return "#".join(parts) if parts else f"event={event.event_id}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> ``("bucket", "a/b")``."""
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def marker_key(location: str) -> tuple[str, str]:
    """Bucket and key of the ``_SUCCESS`` marker for a data location."""
    bucket, prefix = split_s3_uri(location)
    return bucket, f"{prefix}/{MARKER_NAME}" if prefix else MARKER_NAME


def utc_now_iso(now: datetime) -> str:
    """ISO-8601 UTC timestamp with a ``Z`` suffix and second precision."""
    return now.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def period_of(item: Mapping[str, Any]) -> str:
    """The period key of a delivery or claim item (a claim's sort key is ``claim#<period_key>``)."""
    return str(item["period_key"]).removeprefix(CLAIM_PREFIX)


def delivery_id(product_key: str, period: str, revision: int) -> str:
    """The consumer-side dedupe key: the same for every copy of one delivery, new for a correction.

    ``sales.orders/dt=2026-11-25/r1``; a re-announced partition (a producer's correction) is ``r2``.
    """
    return f"{product_key}/{period}/r{revision}"


def build_message(claim: Mapping[str, Any]) -> dict[str, Any]:
    """The SNS message body, built only from the stored claim (so re-publishes are identical).

    ``delivery_id`` is the dedupe key (delivery is at least once); ``revision`` counts the
    announcements of the same period (``> 1``: a correction replacing the earlier data).
    """
    revision = int(claim.get("revision", 1))
    return {
        "event_type": "refresh",
        "domain": claim["domain"],
        "product": claim["product"],
        "product_key": claim["product_key"],
        "partition": dict(claim.get("partition") or {}),
        "snapshot_id": claim.get("snapshot_id"),
        "location": claim["location"],
        "delivered_at": claim["revision_at"],
        "event_id": claim["event_id"],
        "revision": revision,
        "correction": revision > 1,
        "delivery_id": delivery_id(claim["product_key"], period_of(claim), revision),
    }


def deduplication_id(delivery: str) -> str:
    """Deterministic FIFO ``MessageDeduplicationId`` of a delivery id (64 hex characters)."""
    return hashlib.sha256(delivery.encode()).hexdigest()
