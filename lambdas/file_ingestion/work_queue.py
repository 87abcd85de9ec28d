"""The Glue job's work list on the file-metadata table: claim, mark done/failed, bounded retries (boto3 only).

Every transition is one conditional ``UpdateItem`` on the base table (the index is only a hint, eventually
consistent), so two runs never hold the same file: a claim succeeds only on a ``PENDING`` item, a ``FAILED``
one with attempts left, or a ``CLAIMED`` one whose lease expired (its run died); marks succeed only for the
run that holds the claim. ``attempts`` counts claims; at ``max_attempts`` a failed (or abandoned) file leaves
the work queue and stays ``FAILED`` with its reason. See :mod:`.items` for the states.

``table`` is a boto3 DynamoDB ``Table`` resource; times are epoch seconds (``now``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from . import items

#: Longest failure reason kept on an item (characters).
MAX_REASON = 1000
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _conditional(call: Any, **kwargs: Any) -> dict[str, Any] | None:
    """Run an ``update_item``; ``None`` when its condition failed (another run won), other errors raise."""
    try:
        return call(**kwargs).get("Attributes", {})
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return None
        raise


def _key(item: dict[str, Any]) -> dict[str, Any]:
    return {items.PARTITION_KEY: item[items.PARTITION_KEY], items.SORT_KEY: item[items.SORT_KEY]}


def queued(table: Any, limit: int) -> Iterator[dict[str, Any]]:
    """Items on the work queue, oldest ``landed_at`` first within each shard, at most ``limit`` in all."""
    left = limit
    for shard in range(items.WORK_QUEUE_SHARDS):
        kwargs: dict[str, Any] = {
            "IndexName": items.WORK_QUEUE_INDEX,
            "KeyConditionExpression": Key(items.WORK_QUEUE_ATTRIBUTE).eq(str(shard)),
        }
        while left > 0:
            page = table.query(Limit=min(left, 1000), **kwargs)
            for item in page.get("Items", []):
                left -= 1
                yield item
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def is_claimable(item: dict[str, Any], now: float, max_attempts: int) -> bool:
    """Whether a claim of ``item`` can succeed now (the same test as the claim's condition)."""
    state, attempts = item.get("state"), int(item.get("attempts", 0))
    if state == items.PENDING:
        return True
    if state in (items.FAILED, items.CLAIMED) and attempts >= max_attempts:
        return False
    return state == items.FAILED or (state == items.CLAIMED and float(item.get("lease_expires_at", 0)) < now)


def claim(table: Any, item: dict[str, Any], run_id: str, now: float, lease_seconds: int, max_attempts: int) -> dict[str, Any] | None:
    """Claim ``item`` for ``run_id`` until ``now + lease_seconds``; the claimed item, or ``None`` if not claimable.

    ``attempts`` is incremented: a claim is an attempt, so a file whose runs keep dying is bounded too.
    """
    return _conditional(
        table.update_item,
        Key=_key(item),
        UpdateExpression="SET #state = :claimed, claim_owner = :run, claimed_at = :now_iso, "
        "lease_expires_at = :lease, attempts = if_not_exists(attempts, :zero) + :one",
        ConditionExpression="attribute_exists(object_uri) AND (#state = :pending OR (#state = :failed AND "
        "attempts < :max) OR (#state = :claimed AND lease_expires_at < :now AND attempts < :max))",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues={
            ":claimed": items.CLAIMED, ":pending": items.PENDING, ":failed": items.FAILED, ":run": run_id,
            ":now_iso": _iso(now), ":now": int(now), ":lease": int(now) + lease_seconds, ":zero": 0, ":one": 1,
            ":max": max_attempts,
        },
        ReturnValues="ALL_NEW",
    )


def _update_own_claim(table: Any, item: dict[str, Any], run_id: str, update: str, values: dict[str, Any]) -> bool:
    """Apply ``update`` to ``item`` only while it is ``CLAIMED`` by ``run_id``; False: the claim was lost."""
    return _conditional(
        table.update_item,
        Key=_key(item),
        UpdateExpression=update,
        ConditionExpression="#state = :claimed AND claim_owner = :run",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues={":claimed": items.CLAIMED, ":run": run_id, **values},
    ) is not None


def mark_done(table: Any, item: dict[str, Any], run_id: str, now: float, output_uri: str, rows: int) -> bool:
    """``CLAIMED`` by ``run_id`` -> ``DONE`` (off the queue), with the output and its row count. False: the
    claim was lost (lease expired and taken over); the other run's output replaces this one."""
    return _update_own_claim(
        table, item, run_id,
        "SET #state = :done, output_uri = :output, output_rows = :rows, done_at = :now_iso "
        "REMOVE work_queue, lease_expires_at, failure_reason",
        {":done": items.DONE, ":output": output_uri, ":rows": rows, ":now_iso": _iso(now)},
    )


def mark_failed(table: Any, item: dict[str, Any], run_id: str, now: float, reason: str, max_attempts: int) -> bool:
    """``CLAIMED`` by ``run_id`` -> ``FAILED`` with ``failure_reason``; the file stays queued for a retry while
    ``attempts < max_attempts``, else leaves the queue (``retries_exhausted``). False: the claim was lost."""
    exhausted = int(item.get("attempts", 0)) >= max_attempts
    update = "SET #state = :failed, failure_reason = :reason, failed_at = :now_iso REMOVE lease_expires_at"
    if exhausted:
        update = update.replace("SET ", "SET retries_exhausted = :true, ").replace("REMOVE ", "REMOVE work_queue, ")
    values: dict[str, Any] = {":failed": items.FAILED, ":reason": reason[:MAX_REASON], ":now_iso": _iso(now)}
    if exhausted:
        values[":true"] = True
    return _update_own_claim(table, item, run_id, update, values)


def release(table: Any, item: dict[str, Any], run_id: str) -> bool:
    """Give a claim back without counting it (``CLAIMED`` by ``run_id`` -> ``PENDING``, ``attempts`` - 1): the run
    could not work at all (e.g. the schema registry was unavailable), which is not the file's fault."""
    return _update_own_claim(
        table, item, run_id,
        "SET #state = :pending, attempts = attempts - :one REMOVE lease_expires_at, claim_owner",
        {":pending": items.PENDING, ":one": 1},
    )


def abandon_expired(table: Any, item: dict[str, Any], now: float, max_attempts: int) -> bool:
    """A ``CLAIMED`` item whose lease expired after its last allowed attempt -> ``FAILED``, off the queue
    (its runs died every time: it must not block the queue nor be retried forever)."""
    return _conditional(
        table.update_item,
        Key=_key(item),
        UpdateExpression="SET #state = :failed, retries_exhausted = :true, failed_at = :now_iso, failure_reason = "
        ":reason REMOVE work_queue, lease_expires_at",
        ConditionExpression="#state = :claimed AND lease_expires_at < :now AND attempts >= :max",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues={
            ":failed": items.FAILED, ":claimed": items.CLAIMED, ":true": True, ":now_iso": _iso(now), ":now": int(now),
            ":max": max_attempts,
            ":reason": f"lease expired {max_attempts} time(s): the job run that claimed the file never finished "
            "(out of memory or timeout?); see the run's logs",
        },
    ) is not None


def newer_version(table: Any, item: dict[str, Any]) -> str | None:
    """The version id of a later recorded version of the same object (by S3 sequencer), or ``None``."""
    own = items.sequencer_key(item.get("sequencer"))
    response = table.query(
        KeyConditionExpression=Key(items.PARTITION_KEY).eq(item[items.PARTITION_KEY]),
        ProjectionExpression="version_id, sequencer, #state",
        ExpressionAttributeNames={"#state": "state"},
        ConsistentRead=True,
    )
    later = [
        other for other in response.get("Items", [])
        if other[items.SORT_KEY] != item[items.SORT_KEY] and other.get("state") != items.REJECTED
        and items.sequencer_key(other.get("sequencer")) > own
    ]
    return max(later, key=lambda o: items.sequencer_key(o.get("sequencer")))[items.SORT_KEY] if later else None


def mark_superseded(table: Any, item: dict[str, Any], newer: str, now: float) -> bool:
    """A not-yet-converted version -> ``SUPERSEDED`` by ``newer`` (off the queue): converting it would overwrite
    the newer version's output with older data."""
    return _conditional(
        table.update_item,
        Key=_key(item),
        UpdateExpression="SET #state = :superseded, superseded_by = :newer, superseded_at = :now_iso "
        "REMOVE work_queue, lease_expires_at",
        ConditionExpression="#state IN (:pending, :failed)",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues={
            ":superseded": items.SUPERSEDED, ":newer": newer, ":now_iso": _iso(now), ":pending": items.PENDING,
            ":failed": items.FAILED,
        },
    ) is not None


def output_uri(curated_uri: str, item: dict[str, Any]) -> str:
    """Where a file's Parquet goes: one folder per source object (not version), so a re-run or a newer version
    overwrites it: ``<curated>/<file_type>/tenant=<t>/site=<s>/date=<d>/source_file=<file name>/``."""
    name = _UNSAFE.sub("_", str(item["key"]).rsplit("/", 1)[-1])
    return (
        f"{curated_uri.rstrip('/')}/{item['file_type']}/tenant={item['tenant']}/site={item['site']}/"
        f"date={item['date']}/source_file={name}/"
    )


def take_work(
    table: Any, run_id: str, now: float, *, limit: int, lease_seconds: int, max_attempts: int
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Claim up to ``limit`` files for this run; returns (claimed items, counts of what else was seen).

    Older versions of an object with a newer recorded version are superseded, expired claims past their last
    attempt are abandoned (``FAILED``), items another run claimed first are skipped.
    """
    claimed: list[dict[str, Any]] = []
    counts = {"superseded": 0, "abandoned": 0, "lost_race": 0, "not_claimable": 0}
    for item in queued(table, limit * 2):
        if len(claimed) >= limit:
            break
        if not is_claimable(item, now, max_attempts):
            if item.get("state") == items.CLAIMED and float(item.get("lease_expires_at", 0)) < now:
                counts["abandoned"] += abandon_expired(table, item, now, max_attempts)
            else:
                counts["not_claimable"] += 1
            continue
        newer = newer_version(table, item) if item.get("state") != items.CLAIMED else None
        if newer is not None:
            counts["superseded"] += mark_superseded(table, item, newer, now)
            continue
        got = claim(table, item, run_id, now, lease_seconds, max_attempts)
        if got is None:
            counts["lost_race"] += 1
        else:
            claimed.append(got)
    return claimed, counts
