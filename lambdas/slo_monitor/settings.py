"""The sweeper's settings, read from the Lambda environment.

Part of :mod:`.checker` (the design is described there; it re-exports every name).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from .notify import parse_topic_map

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
