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

# One module per concern (constants, settings, manifest, due_checks, formatting, breaches, sweeper); this module
# keeps the import path the handler, the tests and the benchmarks use, and every name it had.
from .breaches import (  # noqa: F401 - re-exported
    Breach,
)
from .constants import (  # noqa: F401 - re-exported
    _DESERIALIZER,
    _SERIALIZER,
    BATCH_GET_LIMIT,
    DEFAULT_PARTITION_TEMPLATE,
    LATEST_PERIOD_KEY,
    LOG,
    METRIC_BATCH_LIMIT,
    OUTBOX_KEY,
    UTC,
)
from .due_checks import (  # noqa: F401 - re-exported
    DueCheck,
    due_checks,
)
from .formatting import (  # noqa: F401 - re-exported
    human_duration,
    iso,
    local_text,
    parse_iso,
    s3_console_url,
    utc_text,
)
from .manifest import (  # noqa: F401 - re-exported
    ManifestCache,
    SloContract,
    parse_contract,
    parse_manifest,
    parse_s3_location,
    render_partition,
)
from .settings import (  # noqa: F401 - re-exported
    Settings,
    _int_env,
)
from .sweeper import (  # noqa: F401 - re-exported
    _MISSING,
    _NOT_DELIVERED,
    Delivered,
    RunSummary,
    Sweeper,
    _DomainStats,
    _parse_optional_time,
)
