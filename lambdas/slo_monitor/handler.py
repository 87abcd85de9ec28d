"""SLO sweeper Lambda entry point (handler ``slo_monitor.handler.main``).

Invoked by one EventBridge schedule every ``SWEEP_MINUTES``; the event's ``time`` is the run's ``now``
(so consecutive runs tile time exactly), falling back to the clock for manual invocations.
See :mod:`.checker` for the design and :func:`main` for the environment variables.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from typing import Any

from .aws import get_clients
from .checker import ManifestCache, Settings, Sweeper, parse_iso
from .notify import Notifier
from .slack import SlackSender, WebhookDirectory

LOG = logging.getLogger(__name__)
logging.getLogger().setLevel(os.environ.get("LOG_LEVEL", "INFO"))

# Container-wide caches (survive warm invocations).
_MANIFEST = ManifestCache()
_WEBHOOKS: WebhookDirectory | None = None


def event_time(event: Any, clock: Any = None) -> datetime:
    """``now`` of a run: the EventBridge event ``time`` if present and valid, else the clock."""
    raw = event.get("time") if isinstance(event, dict) else None
    if isinstance(raw, str) and raw:
        try:
            return parse_iso(raw)
        except ValueError:
            LOG.warning("unparseable event time; using the clock", extra={"time": raw})
    return (clock or (lambda: datetime.now(timezone.utc)))()


def build_sweeper(env: dict[str, str] | None = None) -> Sweeper:
    """Wire settings, clients, the Slack sender and the container caches."""
    global _WEBHOOKS
    env = dict(os.environ) if env is None else env
    settings = Settings.from_env(env)
    clients = get_clients()
    if _WEBHOOKS is None:
        _WEBHOOKS = WebhookDirectory(
            lambda: clients.secretsmanager, ttl=float(env.get("SLACK_SECRET_TTL_SECONDS") or 300)
        )
    sender = SlackSender(
        max_attempts=int(env.get("SLACK_MAX_ATTEMPTS") or 3),
        timeout=float(env.get("SLACK_TIMEOUT_SECONDS") or 5),
    )
    notifier = Notifier(
        clients,
        slack_secret_arn=settings.slack_secret_arn,
        dlq_url=settings.dlq_url,
        sender=sender,
        webhooks=_WEBHOOKS,
    )
    return Sweeper(settings, clients, notifier, manifest=_MANIFEST)


def reset_caches() -> None:
    """Forget container caches (tests)."""
    global _WEBHOOKS
    _WEBHOOKS = None
    _MANIFEST.clear()


def main(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point.

    Environment: ``MANIFEST_BUCKET``, ``MANIFEST_KEY``, ``DELIVERY_TABLE``, ``BREACH_TABLE`` (required);
    ``OPEN_BREACH_INDEX`` (open_breaches), ``SWEEP_MINUTES`` (5), ``OVERLAP_MINUTES`` (10),
    ``DOMAIN_TOPIC_ARNS``, ``DEFAULT_TOPIC_ARN``, ``SLACK_SECRET_ARN``, ``ALERT_DLQ_URL``,
    ``METRIC_NAMESPACE`` (meshworks/slo), ``BREACH_RETENTION_DAYS`` (90), ``SLACK_MAX_ATTEMPTS`` (3),
    ``SLACK_TIMEOUT_SECONDS`` (5), ``SLACK_SECRET_TTL_SECONDS`` (300), ``LOG_LEVEL`` (INFO).
    """
    sweeper = build_sweeper()
    now = event_time(event)
    LOG.info("sweep starting", extra={"now": now.isoformat(), "request_id": getattr(context, "aws_request_id", "")})
    return sweeper.run(now).as_dict()
