"""``JobFailureAlerts``: failed Glue, EMR (Serverless, steps, clusters) and Step Functions jobs alert once."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..core.dead_letter_queue import DeadLetterQueue
from ..core.inputs import account_ids, string_list, whole_duration
from ..core.nag import acknowledge, acknowledge_grant, acknowledge_policies, arn
from ..core.naming import fit_name
from ..core.platform_function import PlatformFunction
from ..core.platform_key import PlatformKey
from ..core.removal import resolve_removal_policy
from .job_events import JobService, failure_patterns
from .slo_monitor import allow_service_to_use_key, dlq_alarm, secure_topic


class JobFailureAlerts(Construct):
    """EventBridge rules for failed data jobs -> one readable, deduplicated alert on SNS and Slack.

    One rule per service (see ``job_events``: Glue FAILED/TIMEOUT/STOPPED, EMR Serverless job runs
    FAILED/CANCELLED, EMR steps FAILED, EMR clusters TERMINATED_WITH_ERRORS, Step Functions
    executions FAILED/TIMED_OUT/ABORTED, optionally only ``state_machine_arns``), each targeting
    ``function`` (``slo_monitor.job_alerts.main``) with ``retry_attempts`` retries and the rule
    dead-letter queue ``rule_dead_letter_queue``. The function formats the alert (job, run id, state,
    reason, console and log links), drops muted jobs (``fnmatch`` patterns of job names, ids or ARNs)
    and duplicates (``dedup_table``: key ``dedupe_key`` = service#run#state, TTL ``expires_at``), publishes to ``topic`` and posts to ``slack_channel``.

    Events from other accounts (jobs in the compute account) reach these rules when the accounts
    are listed in ``source_accounts`` (a default-bus policy lets them put events) and forward them
    with ``JobEventForwarder``. The policy statement ids are ``<stack name>-job-events-<account>``
    (at most 64 characters), so two environments can share an account.

    Example::

        from aws_cdk import App, Environment, Stack
        from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
        from aws_cdk import aws_dynamodb as dynamodb

        from meshworks.constructs.mesh import load_contracts
        from meshworks.constructs.monitoring import JobFailureAlerts, SloMonitor

        app = App()
        stack = Stack(app, "Monitoring", env=Environment(account="111111111111", region="eu-west-1"))
        deliveries = dynamodb.Table.from_table_name(stack, "Deliveries", "acme-deliveries")
        monitor = SloMonitor(stack, "Slo", contracts=load_contracts(["contracts/"]), delivery_table=deliveries)
        alerts = JobFailureAlerts(stack, "JobAlerts", muted_jobs=["nightly-sandbox"],
                                  slack_channel="#data-platform-alerts", slack_secret=monitor.slack_secret,
                                  alert_dead_letter_queue=monitor.alert_dead_letter_queue,
                                  emails=["oncall@acme.com"], source_accounts=["222222222222"])
        monitor.add_alarm_action(cloudwatch_actions.SnsAction(alerts.topic))  # the monitor's own alarms too
        app.synth()

    Args:
        encryption_key: Default: a new ``PlatformKey`` (``self.key``).
        services: which job kinds alert. Default: all five.
        state_machine_arns: only these state machines alert. Default: every state machine.
        muted_jobs: job names whose failures never alert. Default: none.
        slack_channel: Slack channel of the alerts (webhook from ``slack_secret``). Default: SNS only.
        slack_secret: the Slack webhook map. Default: none (no Slack).
        alert_dead_letter_queue: where undeliverable alerts go. Default: a new alarmed queue.
        topic_name: Default: generated.
        emails: e-mail subscribers of ``topic``. Default: none.
        source_accounts: other accounts allowed to forward job events to this account's default bus.
            Default: none.
        dedup_window: how long a (service, run, state) is remembered (whole days). Default: 7 days.
        retry_attempts: EventBridge retries of a failed invocation. Default: 4.
        max_event_age: Default: 2 hours.
        removal_policy: of the dedup table. Default: RETAIN.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey | None = None,
        services: Sequence[JobService] = tuple(JobService),
        state_machine_arns: Sequence[str] = (),
        muted_jobs: Sequence[str] = (),
        slack_channel: str | None = None,
        slack_secret: secretsmanager.ISecret | None = None,
        alert_dead_letter_queue: sqs.IQueue | None = None,
        topic_name: str | None = None,
        emails: Sequence[str] = (),
        source_accounts: Sequence[str] = (),
        dedup_window: Duration = Duration.days(7),
        retry_attempts: int = 4,
        max_event_age: Duration = Duration.hours(2),
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        whole_duration("JobFailureAlerts", "dedup_window", dedup_window, "days", minimum=1)
        whole_duration("JobFailureAlerts", "max_event_age", max_event_age, "seconds", minimum=60, maximum=86400)
        owner = "JobFailureAlerts"
        services = string_list(owner, "services", services, example=JobService.EMR_SERVERLESS.value)
        state_machine_arns = string_list(owner, "state_machine_arns", state_machine_arns, example="arn:aws:states:...")
        muted_jobs = string_list(owner, "muted_jobs", muted_jobs, example="sandbox-*")
        emails = string_list(owner, "emails", emails, example="oncall@acme.com")
        source_accounts = account_ids(owner, "source_accounts", source_accounts)
        super().__init__(scope, construct_id)
        if slack_channel and slack_secret is None:
            raise ValueError("slack_channel needs slack_secret (the Secrets Manager webhook map)")
        if state_machine_arns and JobService.STEP_FUNCTIONS not in [JobService(s) for s in services]:
            raise ValueError("state_machine_arns is set but Step Functions is not among services")
        self.key: kms.IKey = encryption_key or PlatformKey(self, "Key", description="meshworks job alerts key")
        self.muted_jobs = list(muted_jobs)
        stack = Stack.of(self)

        self.topic = secure_topic(self, "Topic", key=self.key, topic_name=topic_name, display_name="Failed data jobs")
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

        self.dedup_table = dynamodb.Table(
            self,
            "DedupTable",
            partition_key=dynamodb.Attribute(name="dedupe_key", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="expires_at",
            removal_policy=resolve_removal_policy(self, removal_policy),
        )
        acknowledge(
            self.dedup_table,
            {
                "NIST.800.53.R5-DynamoDBInBackupPlan": "Short-lived deduplication markers (TTL); point-in-time "
                "recovery covers accidental deletion, a backup plan would keep nothing of value.",
                "NIST.800.53.R5-DynamoDBAutoScalingEnabled": "On-demand (PAY_PER_REQUEST) capacity scales "
                "without provisioned-capacity auto scaling.",
            },
        )

        self._owns_alert_dlq = alert_dead_letter_queue is None
        if alert_dead_letter_queue is None:
            alert_dead_letter_queue = DeadLetterQueue(
                self, "AlertDeadLetterQueue", encryption_key=self.key, receives="undeliverable alerts"
            )
        self.alert_dead_letter_queue: sqs.IQueue = alert_dead_letter_queue

        environment = {
            "ALERT_DEDUP_TABLE": self.dedup_table.table_name,
            "DEDUP_TTL_DAYS": str(max(1, int(dedup_window.to_days()))),
            "TOPIC_ARN": self.topic.topic_arn,
            "MUTED_JOBS": json.dumps(sorted(self.muted_jobs), separators=(",", ":")),
            "ALERT_DLQ_URL": self.alert_dead_letter_queue.queue_url,
        }
        if slack_secret is not None:
            environment["SLACK_SECRET_ARN"] = slack_secret.secret_arn
        if slack_channel:
            environment["SLACK_CHANNEL"] = slack_channel
        self.function = PlatformFunction(
            self,
            "Function",
            package="slo_monitor",
            handler="slo_monitor.job_alerts.main",
            encryption_key=self.key,  # type: ignore[arg-type]
            description="Formats failed-job events into one deduplicated alert (SNS + Slack)",
            timeout=Duration.seconds(60),
            environment=environment,
        )
        role = self.function.role
        iam.Grant.add_to_principal(
            grantee=role,
            # claim (conditional put), re-claim after the lease / mark SENT (update), read a held claim
            actions=["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"],
            resource_arns=[self.dedup_table.table_arn],
        )
        if JobService.EMR_SERVERLESS in [JobService(s) for s in services]:
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReadFailedEmrServerlessRuns",  # the documented event has no failure reason
                    actions=["emr-serverless:GetJobRun"],
                    resources=[
                        stack.format_arn(
                            service="emr-serverless", resource="/applications", resource_name="*/jobruns/*"
                        )
                    ],
                )
            )
            acknowledge_policies(
                role,
                [
                    (r"Resource::" + arn("emr-serverless", r"/applications/\*/jobruns/\*"),
                     "GetJobRun (read-only) on the job runs of this account and region: failure events of any "
                     "application alert, and the event carries no reason."),
                ],
            )
        self.topic.grant_publish(role)
        if slack_secret is not None:
            slack_secret.grant_read(role)
        self.alert_dead_letter_queue.grant_send_messages(role)

        # ---- one rule per service, sharing a dead-letter queue
        self.rule_dead_letter_queue = DeadLetterQueue(
            self, "RuleDeadLetterQueue", encryption_key=self.key, receives="the job-failure rules' target"
        )
        allow_service_to_use_key(
            self.key,
            "events.amazonaws.com",
            "AllowEventBridgeJobAlertDeadLetters",
            stack.format_arn(service="events", resource="rule", resource_name="*"),
        )
        self.rules: dict[JobService, events.Rule] = {}
        for service, pattern in failure_patterns(services, state_machine_arns=state_machine_arns).items():
            self.rules[service] = events.Rule(
                self,
                f"Rule-{service.value}",
                description=f"Failed {service.title} -> job-failure alert",
                event_pattern=events.EventPattern(
                    source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern["detail"]
                ),
                targets=[
                    targets.LambdaFunction(
                        self.function.function,
                        dead_letter_queue=self.rule_dead_letter_queue,
                        retry_attempts=retry_attempts,
                        max_event_age=max_event_age,
                    )
                ],
            )

        self.source_accounts = sorted(set(source_accounts) - {stack.account})
        event_sources = sorted({p["source"][0] for p in failure_patterns(services).values()})
        bus_arn = stack.format_arn(service="events", resource="event-bus", resource_name="default")
        for account in self.source_accounts:
            # L1 through CfnResource: CfnEventBusPolicy warns about its deprecated props, and the L2
            # EventBusPolicy cannot render a PolicyStatement from Python (circular reference).
            CfnResource(
                self,
                f"AllowJobEventsFrom{account}",
                type="AWS::Events::EventBusPolicy",
                properties={
                    "EventBusName": "default",
                    # The default bus is shared by every stack of the account: the statement id carries the
                    # stack name (unique per account and region), so two environments never collide.
                    "StatementId": fit_name(f"{stack.stack_name}-job-events-{account}", 64),
                    "Statement": {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:{stack.partition}:iam::{account}:root"},
                        "Action": "events:PutEvents",
                        "Resource": bus_arn,
                        "Condition": {"StringEquals": {"events:source": event_sources}},
                    },
                },
            )

        self.function_errors_alarm = cloudwatch.Alarm(
            self,
            "FunctionErrors",
            alarm_description="The job-failure alert Lambda failed: failed jobs may not be announced.",
            metric=self.function.function.metric_errors(period=Duration.minutes(15), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarms: list[cloudwatch.Alarm] = [
            self.function_errors_alarm,
            dlq_alarm(self, "RuleDlqDepth", self.rule_dead_letter_queue, "Job-failure events not delivered"),
        ]
        if self.function.dead_letter_queue is not None:
            self.alarms.append(
                dlq_alarm(self, "FunctionDlqDepth", self.function.dead_letter_queue, "Job-failure events not processed")
            )
        if self._owns_alert_dlq:
            self.alarms.append(dlq_alarm(self, "AlertDlqDepth", self.alert_dead_letter_queue, "Undelivered job alerts"))
        # Used alone, the alarms still reach someone: the alert topic's subscribers (``add_alarm_action`` and
        # ``PlatformDashboard`` add an operations topic besides).
        allow_service_to_use_key(self.key, "cloudwatch.amazonaws.com", "AllowCloudWatchAlarms")
        own_topic = cloudwatch_actions.SnsAction(self.topic)
        for alarm in self.alarms:
            alarm.add_alarm_action(own_topic)
            alarm.add_ok_action(own_topic)

    def add_alarm_action(self, *actions: cloudwatch.IAlarmAction) -> None:
        """Add actions (e.g. ``SnsAction(ops_topic)``) to every alarm of the construct."""
        for alarm in self.alarms:
            alarm.add_alarm_action(*actions)

    def grant_subscribe(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` subscribe to the alert topic."""
        grant = self.topic.grant_subscribe(grantee)
        acknowledge_grant(grantee)
        return grant

    def metric_failures(self, service: JobService, *, period: Duration = Duration.hours(1)) -> cloudwatch.Metric:
        """Failed jobs of ``service`` seen by EventBridge (``AWS/Events`` ``TriggeredRules`` of its rule, Sum)."""
        rule = self.rules[JobService(service)]
        return cloudwatch.Metric(
            namespace="AWS/Events",
            metric_name="TriggeredRules",
            dimensions_map={"RuleName": rule.rule_name},
            statistic="Sum",
            period=period,
            label=JobService(service).title,
        )

    def metric_failed_invocations(self, *, period: Duration = Duration.hours(1)) -> cloudwatch.MathExpression:
        """Events EventBridge could not deliver to the function, all rules together (``FailedInvocations``)."""
        using = {
            f"f{i}": cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="FailedInvocations",
                dimensions_map={"RuleName": rule.rule_name},
                statistic="Sum",
                period=period,
            )
            for i, rule in enumerate(self.rules.values())
        }
        return cloudwatch.MathExpression(
            expression=" + ".join(f"FILL({k}, 0)" for k in using) or "0",
            using_metrics=using,
            label="failed deliveries",
            period=period,
        )

    def metric_function_errors(self, *, period: Duration = Duration.minutes(5)) -> cloudwatch.Metric:
        """Errors of the alert function (Sum)."""
        return self.function.function.metric_errors(period=period, statistic="Sum")
