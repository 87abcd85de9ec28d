"""``JobEventForwarder``: sends this account's failed-job events to the monitoring account's event bus."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from ..core.dead_letter_queue import DeadLetterQueue
from ..core.inputs import account_ids, string_list
from ..core.nag import acknowledge
from ..core.platform_key import PlatformKey
from .job_events import JobService, failure_patterns
from .slo_monitor import allow_service_to_use_key, dlq_alarm, secure_topic


class JobEventForwarder(Construct):
    """Forwards failed Glue / EMR / Step Functions job events to the monitoring account's default bus.

    Deploy it in each account that runs data jobs (the compute account); ``JobFailureAlerts`` in the
    monitoring account must list this account in ``source_accounts``. One rule per service with
    the same patterns as the alerts (``job_events``), an encrypted dead-letter queue and an alarm on
    it (to ``alarm_topic``, default a new encrypted topic with ``alarm_emails``).

    Example::

        from aws_cdk import App, Environment, Stack

        from meshworks.constructs.monitoring import JobEventForwarder

        app = App()
        stack = Stack(app, "Compute", env=Environment(account="222222222222", region="eu-west-1"))
        JobEventForwarder(stack, "JobEvents", target_account="111111111111", target_region="eu-west-1",
                          alarm_emails=["platform-oncall@acme.com"])
        app.synth()

    Args:
        target_account: the monitoring account.
        target_region: its region. Default: this stack's region.
        services: Default: all five job kinds.
        state_machine_arns: only these state machines. Default: every state machine.
        encryption_key: encrypts the DLQ and the alarm topic. Default: a new ``PlatformKey``.
        alarm_topic: Default: a new topic (``self.alarm_topic``).
        alarm_emails: subscribers of the new alarm topic. Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        target_account: str,
        target_region: str | None = None,
        services: Sequence[JobService] = tuple(JobService),
        state_machine_arns: Sequence[str] = (),
        encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
        alarm_emails: Sequence[str] = (),
    ) -> None:
        owner = "JobEventForwarder"
        services = string_list(owner, "services", services, example=JobService.EMR_SERVERLESS.value)
        (target_account,) = account_ids(owner, "target_account", [target_account])
        state_machine_arns = string_list(owner, "state_machine_arns", state_machine_arns, example="arn:aws:states:...")
        alarm_emails = string_list(owner, "alarm_emails", alarm_emails, example="oncall@acme.com")
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        region = target_region or stack.region
        self.key: kms.IKey = encryption_key or PlatformKey(
            self, "Key", description="meshworks job event forwarding key"
        )
        self.target_bus = events.EventBus.from_event_bus_arn(
            self, "TargetBus", f"arn:{stack.partition}:events:{region}:{target_account}:event-bus/default"
        )
        self.dead_letter_queue = DeadLetterQueue(
            self, "DeadLetterQueue", encryption_key=self.key, receives="the forwarding rules' target"
        )
        allow_service_to_use_key(
            self.key,
            "events.amazonaws.com",
            "AllowEventBridgeForwardingDeadLetters",
            stack.format_arn(service="events", resource="rule", resource_name="*"),
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="Puts failed-job events on the monitoring account's default event bus",
        )
        self.target_bus.grant_put_events_to(self.role)
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            {
                "NIST.800.53.R5-IAMNoInlinePolicy": "The role belongs to these forwarding rules; its one inline "
                "statement allows events:PutEvents on the monitoring account's default bus only.",
            },
        )
        self.rules: dict[JobService, events.Rule] = {}
        for service, pattern in failure_patterns(services, state_machine_arns=state_machine_arns).items():
            self.rules[service] = events.Rule(
                self,
                f"Rule-{service.value}",
                description=f"Forward failed {service.title} to the monitoring account {target_account}",
                event_pattern=events.EventPattern(
                    source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern["detail"]
                ),
                targets=[targets.EventBus(self.target_bus, role=self.role, dead_letter_queue=self.dead_letter_queue)],
            )
        if alarm_topic is None:
            topic = secure_topic(
                self, "AlarmTopic", key=self.key, topic_name=None, display_name="Job event forwarding alarms"
            )
            allow_service_to_use_key(self.key, "cloudwatch.amazonaws.com", "AllowCloudWatchAlarms")
            for email in alarm_emails:
                topic.add_subscription(subscriptions.EmailSubscription(email))
            alarm_topic = topic
        self.alarm_topic: sns.ITopic = alarm_topic
        self.alarm: cloudwatch.Alarm = dlq_alarm(
            self, "DlqDepth", self.dead_letter_queue, "Failed-job events not forwarded to the monitoring account"
        )
        self.alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))
