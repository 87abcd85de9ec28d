"""The sweeper: one run reads deliveries, records breaches and recoveries, alerts and emits metrics.

Part of :mod:`.checker` (the design is described there; it re-exports every name).
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from .aws import AwsClients, error_code
from .breaches import Breach
from .constants import BATCH_GET_LIMIT, LOG, METRIC_BATCH_LIMIT, OUTBOX_KEY, UTC
from .due_checks import DueCheck, due_checks
from .formatting import human_duration, iso, local_text, parse_iso, utc_text
from .manifest import ManifestCache, parse_s3_location
from .notify import Alert, Notifier
from .settings import Settings

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
