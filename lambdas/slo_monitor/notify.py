"""Alert fan-out: SNS (with filterable message attributes) and Slack, with an SQS dead-letter queue.

A delivery that fails on a channel (SNS error after botocore retries, Slack 4xx / exhausted retries,
unknown Slack channel, malformed webhook URL, unreadable Slack secret) sends the alert payload to
``ALERT_DLQ_URL`` so the CloudWatch alarm on that queue pages someone. Nothing is raised to the caller:
one failing alert or channel must not stop a sweep over thousands of products.

Slack not configured at all (the secret holds no webhook: the deployed placeholder ``{}``) is a
visible, non-paging state: the Slack part is reported as ``not_configured``, logged as a warning and
counted (``DeliveryReport``, the sweeper's ``SlackNotConfigured`` metric), never dead-lettered.

Every SNS message carries the alert's ``dedupe_id`` as a message attribute: delivery is at least once
(a resend after a crash between sending and recording), and consumers deduplicate on that key.
Webhook URLs never reach logs, DLQ messages or exception texts.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .aws import AwsClients, error_code
from .slack import InvalidWebhookError, SlackSender, WebhookDirectory

LOG = logging.getLogger(__name__)

SUBJECT_MAX = 100
_SUBJECT_BAD = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True)
class Alert:
    """One notification, rendered for both SNS (subject + text) and Slack (text, mrkdwn)."""

    kind: str  # BREACH, LATE, ESCALATION, RECOVERY, JOB_FAILURE
    subject: str
    text: str
    attributes: Mapping[str, str]
    topic_arn: str | None = None
    slack_channel: str | None = None
    dedupe_id: str = ""

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Alert:
        """The alert :meth:`payload` describes (the sweeper's outbox keeps payloads)."""
        return cls(
            kind=str(data["kind"]),
            subject=str(data["subject"]),
            text=str(data["text"]),
            attributes=dict(data.get("attributes") or {}),
            topic_arn=data.get("topic_arn"),
            slack_channel=data.get("slack_channel"),
            dedupe_id=str(data.get("dedupe_id") or ""),
        )

    def payload(self) -> dict[str, Any]:
        """JSON-serialisable form (used for the DLQ)."""
        return {
            "kind": self.kind,
            "subject": self.subject,
            "text": self.text,
            "attributes": dict(self.attributes),
            "topic_arn": self.topic_arn,
            "slack_channel": self.slack_channel,
            "dedupe_id": self.dedupe_id,
        }


@dataclass
class DeliveryReport:
    """What happened to one alert."""

    sns: str = "skipped"  # sent | failed | skipped
    slack: str = "skipped"  # sent | failed | skipped | not_configured
    dead_lettered: list[str] = field(default_factory=list)


def sns_subject(text: str) -> str:
    """An SNS-valid subject: printable ASCII, one line, at most 100 characters."""
    clean = _SUBJECT_BAD.sub("?", " ".join(text.split())).strip() or "Alert"
    return clean if len(clean) <= SUBJECT_MAX else clean[: SUBJECT_MAX - 3].rstrip() + "..."


class Notifier:
    """Delivers :class:`Alert` objects; clients and Slack sender are injected for testing."""

    def __init__(
        self,
        clients: AwsClients,
        *,
        slack_secret_arn: str | None,
        dlq_url: str | None,
        sender: SlackSender | None = None,
        webhooks: WebhookDirectory | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        slack_circuit_threshold: int = 3,
    ) -> None:
        self.clients = clients
        self.slack_secret_arn = slack_secret_arn
        self.dlq_url = dlq_url
        self.sender = sender or SlackSender()
        self.webhooks = webhooks or WebhookDirectory(lambda: clients.secretsmanager)
        self.clock = clock
        # After this many consecutive retryable Slack failures (one run = one Notifier), further alerts
        # skip Slack and go straight to the DLQ, so a Slack outage cannot eat the Lambda's time budget.
        self.slack_circuit_threshold = slack_circuit_threshold
        self._slack_failures = 0
        #: Alerts whose Slack part was skipped because no webhook is configured at all.
        self.slack_not_configured = 0

    def deliver(self, alert: Alert) -> DeliveryReport:
        """Send ``alert`` to SNS and Slack; failures go to the DLQ. Never raises for delivery errors."""
        report = DeliveryReport()
        if alert.topic_arn:
            report.sns = self._publish_sns(alert, report)
        if alert.slack_channel and self.slack_secret_arn:
            report.slack = self._send_slack(alert, report)
        LOG.info(
            "alert delivered",
            extra={"kind": alert.kind, "dedupe_id": alert.dedupe_id, "sns": report.sns, "slack": report.slack},
        )
        return report

    def _publish_sns(self, alert: Alert, report: DeliveryReport) -> str:
        attributes = {
            key: {"DataType": "String", "StringValue": str(value)[:256]}
            for key, value in {**alert.attributes, "dedupe_id": alert.dedupe_id}.items()
            if value not in (None, "")
        }
        try:
            self.clients.sns.publish(
                TopicArn=alert.topic_arn,
                Subject=sns_subject(alert.subject),
                Message=alert.text,
                MessageAttributes=attributes,
            )
        except Exception as exc:  # noqa: BLE001 - any failure must reach the DLQ, not abort the run
            LOG.error("sns publish failed", extra={"error_code": error_code(exc), "error": str(exc)})
            self._dead_letter(alert, "sns", f"{type(exc).__name__}: {error_code(exc) or exc}", report)
            return "failed"
        return "sent"

    def _send_slack(self, alert: Alert, report: DeliveryReport) -> str:
        channel = alert.slack_channel or ""
        try:
            if not self.webhooks.configured(self.slack_secret_arn or ""):
                self.slack_not_configured += 1
                LOG.warning("slack not configured: the webhook secret holds no webhook", extra={"channel": channel})
                return "not_configured"
            url = self.webhooks.lookup(self.slack_secret_arn or "", channel)
        except Exception as exc:  # noqa: BLE001
            LOG.error("slack secret unreadable", extra={"error_code": error_code(exc)})
            self._dead_letter(alert, "slack", f"secret unreadable: {error_code(exc) or type(exc).__name__}", report)
            return "failed"
        if not url:
            LOG.error("no slack webhook for channel", extra={"channel": channel})
            self._dead_letter(alert, "slack", f"no webhook configured for channel {channel}", report)
            return "failed"
        if self._slack_failures >= self.slack_circuit_threshold:
            reason = f"Slack unavailable: skipped after {self._slack_failures} consecutive failed deliveries"
            self._dead_letter(alert, "slack", reason, report)
            return "failed"
        try:
            result = self.sender.send(url, {"text": f"*{alert.subject}*\n{alert.text}"}, channel=channel)
        except InvalidWebhookError as exc:  # its message names no part of the URL
            LOG.error("slack webhook malformed", extra={"channel": channel, "error": str(exc)})
            self._dead_letter(alert, "slack", f"webhook for {channel}: {exc}", report)
            return "failed"
        except Exception as exc:  # noqa: BLE001 - one bad channel never stops the others; never quote the error
            LOG.error("slack delivery crashed", extra={"channel": channel, "error_type": type(exc).__name__})
            self._dead_letter(alert, "slack", f"webhook for {channel} unusable ({type(exc).__name__})", report)
            return "failed"
        if result.ok:
            self._slack_failures = 0
            return "sent"
        if result.retryable:
            self._slack_failures += 1
        self._dead_letter(alert, "slack", f"{result.error} after {result.attempts} attempt(s)", report)
        return "failed"

    def _dead_letter(self, alert: Alert, target: str, reason: str, report: DeliveryReport) -> None:
        report.dead_lettered.append(target)
        if not self.dlq_url:
            LOG.error("alert lost: no ALERT_DLQ_URL", extra={"target": target, "dedupe_id": alert.dedupe_id})
            return
        body = {
            "alert": alert.payload(),
            "target": target,
            "channel": alert.slack_channel if target == "slack" else None,
            "reason": reason,
            "failed_at": self.clock().isoformat(),
        }
        try:
            self.clients.sqs.send_message(QueueUrl=self.dlq_url, MessageBody=json.dumps(body, default=str))
        except Exception as exc:  # noqa: BLE001
            LOG.error(
                "alert lost: DLQ send failed",
                extra={"target": target, "dedupe_id": alert.dedupe_id, "error_code": error_code(exc)},
            )


def parse_topic_map(raw: str | None) -> dict[str, str]:
    """Parse ``DOMAIN_TOPIC_ARNS`` (JSON object domain -> topic ARN); empty/invalid -> {} (logged)."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        LOG.error("DOMAIN_TOPIC_ARNS is not valid JSON; using DEFAULT_TOPIC_ARN only")
        return {}
    if not isinstance(data, dict):
        LOG.error("DOMAIN_TOPIC_ARNS must be a JSON object; using DEFAULT_TOPIC_ARN only")
        return {}
    return {str(k): str(v) for k, v in data.items() if v}
