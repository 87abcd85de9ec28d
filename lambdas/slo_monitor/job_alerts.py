"""Job-failure alerts from EventBridge (handler ``slo_monitor.job_alerts.main``).

Handles these events (the CDK rules route only failures here; other states are ignored again here):

=========================================  ==========================  ====================================
detail-type                                source                      alerting states
=========================================  ==========================  ====================================
Glue Job State Change                      aws.glue                    FAILED, TIMEOUT, STOPPED
EMR Serverless Job Run State Change        aws.emr-serverless          FAILED, CANCELLED
EMR Step Status Change                     aws.emr                     FAILED
EMR Cluster State Change                   aws.emr                     TERMINATED_WITH_ERRORS
Step Functions Execution Status Change     aws.states                  FAILED, TIMED_OUT, ABORTED
=========================================  ==========================  ====================================

Flow: parse -> mute list (``MUTED_JOBS``: JSON list of job names / ids / ARNs, ``fnmatch`` patterns
allowed) -> EMR Serverless only: ``GetJobRun`` for the failure reason and run name (the documented
event carries neither) -> claim the alert in ``ALERT_DEDUP_TABLE`` -> SNS ``TOPIC_ARN`` (attributes
service/job/state/dedupe_id) and Slack ``SLACK_CHANNEL`` (webhook from ``SLACK_SECRET_ARN``); failed
deliveries go to ``ALERT_DLQ_URL`` -> mark the alert SENT.

Delivery guarantee: **at least once, with a dedupe key** (``dedupe_id`` message attribute =
``<service>#<run id>[#<attempt>]#<state>``; a Step Functions execution redriven and failed again is a
new attempt: ``redrive<redriveCount>``, else its ``stopDate``). The claim is a conditional ``PutItem``
of a PENDING record with a lease (``ALERT_LEASE_SECONDS``, 90), written *before* sending and marked
SENT after: a crash in between leaves a PENDING record, and the Lambda retry of the same event
(asynchronous invocation: 2 retries, then the function's dead-letter queue, alarmed) raises
:class:`AlertInProgress` while the lease runs and re-sends once it has expired. A duplicate event after
SENT is dropped. So an alert is never lost while retries remain, and is sent twice only when a crash
falls between sending and marking.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from .aws import AwsClients, error_code, get_clients
from .notify import Alert, Notifier
from .slack import SlackSender, WebhookDirectory

LOG = logging.getLogger(__name__)
logging.getLogger().setLevel(os.environ.get("LOG_LEVEL", "INFO"))
UTC = timezone.utc

ALERT_STATES: dict[str, frozenset[str]] = {
    "Glue Job State Change": frozenset({"FAILED", "TIMEOUT", "STOPPED"}),
    "EMR Serverless Job Run State Change": frozenset({"FAILED", "CANCELLED"}),
    "EMR Step Status Change": frozenset({"FAILED"}),
    "EMR Cluster State Change": frozenset({"TERMINATED_WITH_ERRORS"}),
    "Step Functions Execution Status Change": frozenset({"FAILED", "TIMED_OUT", "ABORTED"}),
}
REASON_MAX = 1500


@dataclass(frozen=True)
class JobEvent:
    """A failed job run, normalised across services."""

    service: str  # human name, e.g. "AWS Glue"
    service_key: str  # short id: glue | emr-serverless | emr-step | emr-cluster | states
    job_name: str
    job_id: str
    run_id: str
    state: str
    reason: str
    region: str
    account: str
    time: datetime
    console_url: str
    logs: str
    identifiers: tuple[str, ...]  # what MUTED_JOBS entries are matched against
    attempt: str = ""  # a new failure of the same run id (Step Functions redrive), part of the dedupe key

    @property
    def dedupe_key(self) -> str:
        parts = (self.service_key, self.run_id, self.attempt, self.state)
        return "#".join(part for part in parts if part)


class AlertInProgress(Exception):  # noqa: N818 - a state, raised so that Lambda retries the event
    """Another invocation claimed this alert and its lease has not expired: retry the event later."""


# --------------------------------------------------------------------------------------------- links


def _console(region: str, path: str) -> str:
    return f"https://{region}.console.aws.amazon.com/{path}"


def cloudwatch_logs_url(region: str, group: str, stream: str | None = None, prefix: bool = False) -> str:
    """CloudWatch console link to a log group / stream (the console's ``$25``-escaped path format)."""

    def enc(text: str) -> str:
        return urllib.parse.quote(text, safe="").replace("%", "$25")

    fragment = f"logsV2:log-groups/log-group/{enc(group)}"
    if stream and prefix:
        fragment += f"/log-events$3FlogStreamNameFilter$3D{enc(stream)}"
    elif stream:
        fragment += f"/log-events/{enc(stream)}"
    return _console(region, f"cloudwatch/home?region={region}#{fragment}")


# --------------------------------------------------------------------------------------------- parsing


def _time(event: Mapping[str, Any]) -> datetime:
    raw = str(event.get("time") or "")
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return datetime.now(UTC)


def _clip(text: str) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= REASON_MAX else text[: REASON_MAX - 3] + "..."


def _glue(detail: Mapping[str, Any], region: str) -> dict[str, Any]:
    name, run = str(detail.get("jobName", "")), str(detail.get("jobRunId", ""))
    quoted = urllib.parse.quote(name, safe="")
    return {
        "service": "AWS Glue",
        "service_key": "glue",
        "job_name": name,
        "job_id": name,
        "run_id": run,
        "reason": detail.get("message", ""),
        "console_url": _console(region, f"gluestudio/home?region={region}#/job/{quoted}/run/{run}"),
        "logs": cloudwatch_logs_url(region, "/aws-glue/jobs/error", run),
        "identifiers": (name,),
    }


def _emr_serverless(detail: Mapping[str, Any], region: str, env: Mapping[str, str]) -> dict[str, Any]:
    app, run = str(detail.get("applicationId", "")), str(detail.get("jobRunId", ""))
    name = str(detail.get("jobRunName") or detail.get("name") or run)
    group = env.get("EMR_SERVERLESS_LOG_GROUP") or "/aws/emr-serverless"
    return {
        "service": "EMR Serverless",
        "service_key": "emr-serverless",
        "job_name": name,
        "job_id": app,
        "run_id": run,
        "reason": detail.get("stateDetails", ""),
        "console_url": _console(region, f"emr/home?region={region}#/serverless/applications/{app}/job-runs/{run}"),
        "logs": cloudwatch_logs_url(region, group, f"/applications/{app}/jobs/{run}", prefix=True),
        "identifiers": tuple(x for x in (name, app, str(detail.get("arn", ""))) if x),
    }


def _emr_step(detail: Mapping[str, Any], region: str) -> dict[str, Any]:
    cluster, step = str(detail.get("clusterId", "")), str(detail.get("stepId", ""))
    name = str(detail.get("name", "")) or step
    return {
        "service": "EMR on EC2 step",
        "service_key": "emr-step",
        "job_name": name,
        "job_id": cluster,
        "run_id": step,
        "reason": detail.get("message", ""),
        "console_url": _console(region, f"emr/home?region={region}#/clusterDetails/{cluster}"),
        "logs": f"cluster LogUri, steps/{step}/stderr.gz (action on failure: {detail.get('actionOnFailure', '?')})",
        "identifiers": (name, cluster),
    }


def _emr_cluster(detail: Mapping[str, Any], region: str) -> dict[str, Any]:
    cluster, name = str(detail.get("clusterId", "")), str(detail.get("name", ""))
    reason = str(detail.get("message", ""))
    raw_change = detail.get("stateChangeReason")
    if raw_change:
        try:
            change = json.loads(raw_change) if isinstance(raw_change, str) else dict(raw_change)
            reason = f"{reason} [{change.get('code', '')}: {change.get('message', '')}]".strip()
        except (TypeError, ValueError):
            reason = f"{reason} [{raw_change}]"
    return {
        "service": "EMR on EC2 cluster",
        "service_key": "emr-cluster",
        "job_name": name or cluster,
        "job_id": cluster,
        "run_id": cluster,
        "reason": reason,
        "console_url": _console(region, f"emr/home?region={region}#/clusterDetails/{cluster}"),
        "logs": "cluster LogUri (node/ and containers/ prefixes)",
        "identifiers": (name, cluster),
    }


def _states(detail: Mapping[str, Any], region: str) -> dict[str, Any]:
    machine, execution = str(detail.get("stateMachineArn", "")), str(detail.get("executionArn", ""))
    machine_name = machine.rsplit(":", 1)[-1] if machine else ""
    error, cause = detail.get("error") or "", detail.get("cause") or ""
    reason = ": ".join(part for part in (str(error), str(cause)) if part)
    link = _console(region, f"states/home?region={region}#/v2/executions/details/{execution}")
    if detail.get("redriveCount") is not None:
        attempt = f"redrive{detail['redriveCount']}"
    else:
        attempt = str(detail.get("stopDate") or "")
    return {
        "service": "Step Functions",
        "service_key": "states",
        "job_name": machine_name,
        "job_id": machine,
        "run_id": execution or str(detail.get("name", "")),
        "reason": reason,
        "console_url": link,
        "logs": "execution event history (console link above)" if execution else "",
        "identifiers": (machine_name, machine),
        "attempt": attempt,
    }


def parse_event(event: Mapping[str, Any], env: Mapping[str, str] | None = None) -> JobEvent | None:
    """Normalise a supported failure event; None for other detail-types or non-alerting states."""
    env = os.environ if env is None else env
    detail_type = str(event.get("detail-type", ""))
    detail = event.get("detail") or {}
    if detail_type not in ALERT_STATES or not isinstance(detail, Mapping):
        return None
    state = str(detail.get("status") if detail_type.startswith("Step Functions") else detail.get("state", ""))
    if state not in ALERT_STATES[detail_type]:
        return None
    region = str(event.get("region") or env.get("AWS_REGION") or "")
    if detail_type == "Glue Job State Change":
        fields = _glue(detail, region)
    elif detail_type == "EMR Serverless Job Run State Change":
        fields = _emr_serverless(detail, region, env)
    elif detail_type == "EMR Step Status Change":
        fields = _emr_step(detail, region)
    elif detail_type == "EMR Cluster State Change":
        fields = _emr_cluster(detail, region)
    else:
        fields = _states(detail, region)
    fields["reason"] = _clip(fields["reason"]) or "(no reason given)"
    fields["identifiers"] = tuple(x for x in fields["identifiers"] if x)
    return JobEvent(state=state, region=region, account=str(event.get("account", "")), time=_time(event), **fields)


# --------------------------------------------------------------------------------------------- formatting


def format_alert(job: JobEvent) -> tuple[str, str]:
    """(subject, text) of the notification."""
    subject = f"[{job.service}] {job.job_name} {job.state}"
    lines = [
        f"{job.service} job {job.state}: {job.job_name}",
        f"Service: {job.service}",
        f"Job: {job.job_name}" + (f" ({job.job_id})" if job.job_id and job.job_id != job.job_name else ""),
        f"Run ID: {job.run_id}",
        f"State: {job.state}",
        f"Reason: {job.reason}",
        f"Account/Region: {job.account} / {job.region}",
        f"Time: {job.time:%Y-%m-%d %H:%M:%S} UTC",
        f"Console: {job.console_url}",
    ]
    if job.logs:
        lines.append(f"Logs: {job.logs}")
    return subject, "\n".join(lines)


def parse_muted(raw: str | None) -> tuple[str, ...]:
    """``MUTED_JOBS`` (JSON list of strings / fnmatch patterns); invalid -> nothing muted (logged)."""
    if not raw:
        return ()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        LOG.error("MUTED_JOBS is not valid JSON; nothing muted")
        return ()
    if not isinstance(data, list):
        LOG.error("MUTED_JOBS must be a JSON list; nothing muted")
        return ()
    return tuple(str(item) for item in data if item)


def is_muted(job: JobEvent, muted: tuple[str, ...]) -> str | None:
    """The mute entry matching ``job`` (by name, id or ARN), if any."""
    for pattern in muted:
        for identifier in job.identifiers:
            if fnmatch.fnmatchcase(identifier, pattern):
                return pattern
    return None


# --------------------------------------------------------------------------------------------- handler


@dataclass
class JobAlerter:
    """Processes one event; collaborators injected for tests."""

    clients: AwsClients
    notifier: Notifier
    env: Mapping[str, str]
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def _item_key(self, job: JobEvent) -> dict[str, Any]:
        return {"dedupe_key": {"S": job.dedupe_key}}

    def _claim(self, job: JobEvent) -> str:
        """``"new"``, ``"retry"`` (a PENDING claim whose lease expired) or ``"duplicate"`` (already SENT).

        Raises:
            AlertInProgress: PENDING under a live lease (another invocation is sending it).
        """
        table = self.env.get("ALERT_DEDUP_TABLE")
        if not table:
            LOG.warning("ALERT_DEDUP_TABLE not set: duplicates are not suppressed")
            return "new"
        days = int(self.env.get("DEDUP_TTL_DAYS") or 7)
        lease = int(self.env.get("ALERT_LEASE_SECONDS") or 90)
        now = self.clock()
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        until = {"N": str(int(now.timestamp()) + lease)}
        try:
            self.clients.dynamodb.put_item(
                TableName=table,
                Item={
                    **self._item_key(job),
                    "service": {"S": job.service_key},
                    "job": {"S": job.job_name or job.job_id or "?"},
                    "state": {"S": job.state},
                    "status": {"S": "PENDING"},
                    "lease_until": until,
                    "first_seen": {"S": stamp},
                    "expires_at": {"N": str(int((now + timedelta(days=days)).timestamp()))},
                },
                ConditionExpression="attribute_not_exists(dedupe_key)",
            )
            return "new"
        except Exception as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        try:
            self.clients.dynamodb.update_item(
                TableName=table,
                Key=self._item_key(job),
                UpdateExpression="SET lease_until = :until, attempts = if_not_exists(attempts, :zero) + :one",
                ConditionExpression="#status = :pending AND lease_until < :now",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":until": until,
                    ":now": {"N": str(int(now.timestamp()))},
                    ":pending": {"S": "PENDING"},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                },
            )
            return "retry"
        except Exception as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        item = self.clients.dynamodb.get_item(TableName=table, Key=self._item_key(job), ConsistentRead=True)
        if item.get("Item", {}).get("status", {}).get("S", "SENT") == "PENDING":
            raise AlertInProgress(f"alert {job.dedupe_key} is being sent by another invocation; retry later")
        return "duplicate"

    def _mark_sent(self, job: JobEvent) -> None:
        table = self.env.get("ALERT_DEDUP_TABLE")
        if not table:
            return
        self.clients.dynamodb.update_item(
            TableName=table,
            Key=self._item_key(job),
            UpdateExpression="SET #status = :sent, sent_at = :at REMOVE lease_until",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":sent": {"S": "SENT"}, ":at": {"S": self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")}},
        )

    def _with_run_details(self, job: JobEvent, event: Mapping[str, Any]) -> JobEvent:
        """EMR Serverless: the failure reason and run name from ``GetJobRun`` (the event carries neither)."""
        detail = event.get("detail") or {}
        if job.service_key != "emr-serverless" or detail.get("stateDetails"):
            return job
        try:
            run = self.clients.emr_serverless.get_job_run(applicationId=job.job_id, jobRunId=job.run_id)["jobRun"]
        except Exception as exc:  # noqa: BLE001 - the alert goes out anyway, saying why the reason is missing
            LOG.warning("GetJobRun failed", extra={"run_id": job.run_id, "error_code": error_code(exc)})
            reason = f"(not in the event; GetJobRun failed: {error_code(exc) or type(exc).__name__})"
            return replace(job, reason=reason)
        name = job.job_name
        if not detail.get("jobRunName") and run.get("name"):
            name = str(run["name"])
        reason = _clip(str(run.get("stateDetails") or "")) or "(no reason given by EMR Serverless)"
        return replace(job, reason=reason, job_name=name, identifiers=tuple(dict.fromkeys((name, *job.identifiers))))

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        job = parse_event(event, self.env)
        if job is None:
            LOG.info("event ignored", extra={"detail_type": event.get("detail-type"), "id": event.get("id")})
            return {"status": "ignored"}
        muted_by = is_muted(job, parse_muted(self.env.get("MUTED_JOBS")))
        if muted_by:
            LOG.info("job muted", extra={"job": job.job_name, "run_id": job.run_id, "pattern": muted_by})
            return {"status": "muted", "pattern": muted_by}
        claim = self._claim(job)
        if claim == "duplicate":
            LOG.info("duplicate event dropped", extra={"dedupe_key": job.dedupe_key})
            return {"status": "duplicate", "dedupe_key": job.dedupe_key}
        job = self._with_run_details(job, event)
        subject, text = format_alert(job)
        alert = Alert(
            kind="JOB_FAILURE",
            subject=subject,
            text=text,
            attributes={"service": job.service_key, "job": job.job_name, "state": job.state},
            topic_arn=self.env.get("TOPIC_ARN") or None,
            slack_channel=self.env.get("SLACK_CHANNEL") or None,
            dedupe_id=job.dedupe_key,
        )
        report = self.notifier.deliver(alert)
        self._mark_sent(job)
        status = "sent" if claim == "new" else "resent"
        return {"status": status, "dedupe_key": job.dedupe_key, "sns": report.sns, "slack": report.slack}


_WEBHOOKS: WebhookDirectory | None = None


def build_alerter(env: Mapping[str, str] | None = None) -> JobAlerter:
    """Wire clients, Slack sender and the container-cached webhook directory from ``env``."""
    global _WEBHOOKS
    env = dict(os.environ) if env is None else env
    clients = get_clients()
    if _WEBHOOKS is None:
        _WEBHOOKS = WebhookDirectory(
            lambda: clients.secretsmanager, ttl=float(env.get("SLACK_SECRET_TTL_SECONDS") or 300)
        )
    notifier = Notifier(
        clients,
        slack_secret_arn=env.get("SLACK_SECRET_ARN") or None,
        dlq_url=env.get("ALERT_DLQ_URL") or None,
        sender=SlackSender(
            max_attempts=int(env.get("SLACK_MAX_ATTEMPTS") or 3),
            timeout=float(env.get("SLACK_TIMEOUT_SECONDS") or 5),
        ),
        webhooks=_WEBHOOKS,
    )
    return JobAlerter(clients, notifier, env)


def reset_caches() -> None:
    """Forget the container caches (tests)."""
    global _WEBHOOKS
    _WEBHOOKS = None


def main(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point.

    Environment: ``TOPIC_ARN``, ``SLACK_SECRET_ARN``, ``SLACK_CHANNEL``, ``ALERT_DLQ_URL``,
    ``ALERT_DEDUP_TABLE``, ``MUTED_JOBS`` (JSON list), ``DEDUP_TTL_DAYS`` (7), ``SLACK_MAX_ATTEMPTS`` (3),
    ``SLACK_TIMEOUT_SECONDS`` (5), ``SLACK_SECRET_TTL_SECONDS`` (300), ``EMR_SERVERLESS_LOG_GROUP``
    (/aws/emr-serverless), ``ALERT_LEASE_SECONDS`` (90), ``LOG_LEVEL``.
    """
    result = build_alerter().handle(event)
    LOG.info("job alert processed", extra={"result": result, "event_id": event.get("id")})
    return result
