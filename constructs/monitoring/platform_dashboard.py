"""``PlatformDashboard``: one CloudWatch dashboard of SLOs, job failures and the platform Lambdas, plus ops alarms."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from ..core.inputs import object_list, string_list
from ..core.platform_key import PlatformKey
from .job_events import JobService
from .job_failure_alerts import JobFailureAlerts
from .slo_monitor import SloMonitor, allow_service_to_use_key, secure_topic

#: Domains per compliance graph (each domain costs 2 metrics + 1 expression; a graph takes up to 100).
DOMAINS_PER_GRAPH = 25
WIDTH = 24


class PlatformDashboard(Construct):
    """The operators' view of the platform, and the alarms that page them when a monitor fails.

    Widgets: SLO compliance (``100 * OnTime / Checks``) overall and per domain, breaches and
    lateness per domain (CloudWatch ``SEARCH``: constant size whatever the number of domains), job
    failures by service (EventBridge ``TriggeredRules`` of each job rule), errors and throttles of
    the platform Lambdas, the monitors' dead-letter queues, and the status of every alarm.

    Alarms: every alarm of the given monitors (sweeper errors, sweeper not running, dead-letter
    queue depths, job-alert errors) notifies ``alarm_topic`` (an encrypted, TLS-only topic;
    default a new one with ``alarm_emails``), on ALARM and on OK.

    Example::

        from aws_cdk import App, Environment, Stack
        from aws_cdk import aws_dynamodb as dynamodb

        from meshworks.constructs.mesh import load_contracts
        from meshworks.constructs.monitoring import JobFailureAlerts, PlatformDashboard, SloMonitor

        app = App()
        stack = Stack(app, "Monitoring", env=Environment(account="111111111111", region="eu-west-1"))
        deliveries = dynamodb.Table.from_table_name(stack, "Deliveries", "acme-deliveries")
        monitor = SloMonitor(stack, "Slo", contracts=load_contracts(["contracts/"]), delivery_table=deliveries)
        alerts = JobFailureAlerts(stack, "JobAlerts", slack_secret=monitor.slack_secret,
                                  alert_dead_letter_queue=monitor.alert_dead_letter_queue)
        PlatformDashboard(stack, "Dashboard", slo_monitor=monitor, job_alerts=alerts,
                          function_names=["acme-mesh-notifier"], alarm_emails=["platform-oncall@acme.com"])
        app.synth()

    Args:
        slo_monitor: Default: none (no SLO widgets).
        job_alerts: Default: none (no job widgets).
        domains: domains graphed one by one. Default: ``slo_monitor.domains``.
        functions: other platform Lambdas graphed (errors, throttles). Default: none.
        function_names: Lambdas of other stacks, by name. Default: none.
        alarm_topic: Default: a new topic (``self.alarm_topic``).
        alarm_emails: subscribers of the new alarm topic. Default: none.
        encryption_key: encrypts the new alarm topic. Default: the monitor's key, else a new ``PlatformKey``.
        dashboard_name: Default: generated.
        alarm_topic_name: Default: generated.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        slo_monitor: SloMonitor | None = None,
        job_alerts: JobFailureAlerts | None = None,
        domains: Sequence[str] | None = None,
        functions: Sequence[lambda_.IFunction] = (),
        function_names: Sequence[str] = (),
        alarm_topic: sns.ITopic | None = None,
        alarm_emails: Sequence[str] = (),
        encryption_key: kms.IKey | None = None,
        dashboard_name: str | None = None,
        alarm_topic_name: str | None = None,
    ) -> None:
        owner = "PlatformDashboard"
        domains = None if domains is None else string_list(owner, "domains", domains, example="sales")
        functions = object_list(owner, "functions", functions, kind="lambda_.IFunction objects")
        function_names = string_list(owner, "function_names", function_names, example="acme-ingest")
        alarm_emails = string_list(owner, "alarm_emails", alarm_emails, example="oncall@acme.com")
        super().__init__(scope, construct_id)
        self.slo_monitor = slo_monitor
        self.job_alerts = job_alerts
        if alarm_topic is None:
            key: kms.IKey = (
                encryption_key
                or (slo_monitor.key if slo_monitor else None)
                or (job_alerts.key if job_alerts else None)
                or PlatformKey(self, "Key", description="meshworks ops alarms key")
            )
            topic = secure_topic(
                self, "AlarmTopic", key=key, topic_name=alarm_topic_name, display_name="meshworks monitoring alarms"
            )
            allow_service_to_use_key(key, "cloudwatch.amazonaws.com", "AllowCloudWatchAlarms")
            for email in alarm_emails:
                topic.add_subscription(subscriptions.EmailSubscription(email))
            alarm_topic = topic
        self.alarm_topic: sns.ITopic = alarm_topic
        action = cloudwatch_actions.SnsAction(self.alarm_topic)
        self.alarms: list[cloudwatch.Alarm] = [
            *(slo_monitor.alarms if slo_monitor else []),
            *(job_alerts.alarms if job_alerts else []),
        ]
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=Duration.days(7),
            period_override=cloudwatch.PeriodOverride.AUTO,
        )
        rows: list[list[cloudwatch.IWidget]] = [
            [
                cloudwatch.TextWidget(
                    markdown="# meshworks platform\nSLO compliance, job failures, Lambda health and the "
                    "monitors' own alarms.",
                    width=WIDTH,
                    height=2,
                )
            ]
        ]
        if self.alarms:
            rows.append(
                [cloudwatch.AlarmStatusWidget(title="Monitor alarms", alarms=self.alarms, width=WIDTH, height=4)]
            )
        if slo_monitor is not None:
            rows += self._slo_rows(slo_monitor, list(domains) if domains is not None else slo_monitor.domains)
        if job_alerts is not None:
            rows.append(self._job_row(job_alerts))
        lambda_rows = self._lambda_rows(slo_monitor, job_alerts, functions, function_names)
        rows += lambda_rows
        for row in rows:
            self.dashboard.add_widgets(*row)

    # ------------------------------------------------------------------------------------------ widgets

    def _slo_rows(self, monitor: SloMonitor, domains: list[str]) -> list[list[cloudwatch.IWidget]]:
        day = Duration.days(1)
        rows: list[list[cloudwatch.IWidget]] = [
            [
                cloudwatch.SingleValueWidget(
                    title="SLO compliance, last 24 h (%)",
                    metrics=[monitor.metric_compliance(period=day)],
                    width=6,
                    height=4,
                ),
                cloudwatch.SingleValueWidget(
                    title="SLO breaches, last 24 h",
                    metrics=[monitor.metric_breaches(period=day)],
                    width=6,
                    height=4,
                ),
                cloudwatch.SingleValueWidget(
                    title="Undelivered alerts (DLQ)",
                    metrics=[monitor.metric_alert_dead_letters()],
                    width=6,
                    height=4,
                ),
                cloudwatch.SingleValueWidget(
                    title="Alerts without Slack (not configured), 24 h",
                    metrics=[monitor.metric_slack_not_configured(period=day)],
                    width=6,
                    height=4,
                ),
            ]
        ]
        for start in range(0, len(domains), DOMAINS_PER_GRAPH):
            chunk = domains[start : start + DOMAINS_PER_GRAPH]
            suffix = f" ({start + 1}-{start + len(chunk)})" if len(domains) > DOMAINS_PER_GRAPH else ""
            rows.append(
                [
                    cloudwatch.GraphWidget(
                        title=f"SLO compliance per domain (%){suffix}",
                        left=[monitor.metric_compliance(domain) for domain in chunk],
                        left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                        width=WIDTH,
                        height=6,
                    )
                ]
            )
        rows.append(
            [
                cloudwatch.GraphWidget(
                    title="SLO breaches per domain",
                    left=[monitor.metric_breaches_by_domain()],
                    stacked=True,
                    width=12,
                    height=6,
                ),
                cloudwatch.GraphWidget(
                    title="Lateness of late deliveries per domain (max, minutes)",
                    left=[monitor.metric_lateness_by_domain()],
                    width=12,
                    height=6,
                ),
            ]
        )
        return rows

    @staticmethod
    def _job_row(alerts: JobFailureAlerts) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title="Job failures by service",
                left=[alerts.metric_failures(service) for service in JobService if service in alerts.rules],
                stacked=True,
                width=16,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="Job-failure events not delivered",
                left=[alerts.metric_failed_invocations()],
                width=8,
                height=6,
            ),
        ]

    def _lambda_rows(
        self,
        monitor: SloMonitor | None,
        alerts: JobFailureAlerts | None,
        functions: Sequence[lambda_.IFunction],
        function_names: Sequence[str],
    ) -> list[list[cloudwatch.IWidget]]:
        named: list[tuple[str, str | None, lambda_.IFunction | None]] = []
        if monitor is not None:
            named.append(("SLO sweeper", None, monitor.sweeper.function))
        if alerts is not None:
            named.append(("job alerts", None, alerts.function.function))
        named += [(f.node.id, None, f) for f in functions]
        named += [(name, name, None) for name in function_names]
        if not named:
            return []
        errors: list[cloudwatch.IMetric] = []
        throttles: list[cloudwatch.IMetric] = []
        for label, name, function in named:
            if function is not None:
                errors.append(function.metric_errors(statistic="Sum", label=label))
                throttles.append(function.metric_throttles(statistic="Sum", label=label))
            else:
                for metric_name, target in (("Errors", errors), ("Throttles", throttles)):
                    target.append(
                        cloudwatch.Metric(
                            namespace="AWS/Lambda",
                            metric_name=metric_name,
                            dimensions_map={"FunctionName": name or label},
                            statistic="Sum",
                            label=label,
                        )
                    )
        rows: list[list[cloudwatch.IWidget]] = [
            [
                cloudwatch.GraphWidget(title="Platform Lambdas: errors", left=errors, width=12, height=6),
                cloudwatch.GraphWidget(title="Platform Lambdas: throttles", left=throttles, width=12, height=6),
            ]
        ]
        if monitor is not None:
            rows.append(
                [
                    cloudwatch.GraphWidget(
                        title="SLO sweeper: invocations and duration",
                        left=[monitor.metric_sweeper_invocations(period=Duration.minutes(15))],
                        right=[monitor.sweeper.function.metric_duration(statistic="Maximum")],
                        width=WIDTH,
                        height=6,
                    )
                ]
            )
        return rows
