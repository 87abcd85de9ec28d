"""The file-metadata item: its key, states and the sparse work-queue index the Glue job reads (stdlib only).

One item per object *version*: partition key ``object_uri`` (``s3://bucket/key``), sort key ``version_id`` (the
S3 version id, or ``sequencer:<sequencer>`` in an unversioned bucket). States::

    PENDING --claim--> CLAIMED --mark_done--> DONE
                          |--mark_failed--> FAILED --claim (attempts < max)--> CLAIMED ...
                          |                   `-- attempts = max: stays FAILED, leaves the work queue
                          `--lease expired: claimable again (a crashed run)
    REJECTED (key does not follow the pattern; never queued)
    SUPERSEDED (a newer version of the same object was recorded before this one was converted)

``work_queue`` (``"0"`` .. ``"7"``) exists only while an item may still be processed (PENDING, CLAIMED,
FAILED with attempts left): the index ``work_queue`` + ``landed_at`` then holds exactly the job's work list,
spread over :data:`WORK_QUEUE_SHARDS` partitions.
"""

from __future__ import annotations

import zlib

PENDING = "PENDING"
CLAIMED = "CLAIMED"
DONE = "DONE"
FAILED = "FAILED"
REJECTED = "REJECTED"
SUPERSEDED = "SUPERSEDED"
STATES = (PENDING, CLAIMED, DONE, FAILED, REJECTED, SUPERSEDED)

#: The table's keys and the sparse index of files still to process.
PARTITION_KEY = "object_uri"
SORT_KEY = "version_id"
WORK_QUEUE_INDEX = "work_queue_landed_at"
WORK_QUEUE_ATTRIBUTE = "work_queue"
#: Partitions of the work-queue index (fixed: items carry their shard, the job reads them all).
WORK_QUEUE_SHARDS = 8


def object_uri(bucket: str, key: str) -> str:
    """``s3://<bucket>/<key>``."""
    return f"s3://{bucket}/{key}"


def split_uri(uri: str) -> tuple[str, str]:
    """``(bucket, key)`` of ``s3://bucket/key``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def work_queue_shard(uri: str, version_id: str) -> str:
    """The work-queue partition of one object version (stable: CRC-32 of ``uri#version_id``)."""
    return str(zlib.crc32(f"{uri}#{version_id}".encode()) % WORK_QUEUE_SHARDS)


def sequencer_key(sequencer: str | None, width: int = 32) -> str:
    """A sort key for the S3 sequencers of one object key: upper-case hexadecimal right-padded with zeros, so
    that a later event sorts higher (S3 user guide, event message structure: compare sequencers of the same key
    after padding the shorter one with zeros). ``""`` when absent (sorts first)."""
    text = (sequencer or "").upper()
    return text.ljust(max(width, len(text)), "0") if text else ""
