"""``MonitoringStack`` (hub): SLO monitors, job-failure alerts, dashboard; ``JobEventForwarderStack`` (compute).

Names other stacks and people rely on are derived from the config (no CloudFormation exports):
``<prefix>-slo-<domain>`` (SLO topics), ``<prefix>-job-alerts``, ``<prefix>-monitoring-ops`` (alarm
topic), ``<prefix>-platform`` (dashboard), ``<prefix>/monitoring/slack-webhooks`` (secret) and the
hub's delivery table ``<prefix>-deliveries`` (written by the mesh hub's notifier, read here).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from meshworks.constructs.core.platform_key import PlatformKey
from meshworks.constructs.mesh.contract import DataProductContract
from meshworks.constructs.mesh.mesh_hub import role_names
from meshworks.constructs.monitoring import JobEventForwarder, JobFailureAlerts, PlatformDashboard, SloMonitor

from .config import PlatformConfig
from .creation_stacks import skip_creation_stack_traces


class MonitoringStack(Stack):
    """Composes ``SloMonitor``, ``JobFailureAlerts`` and ``PlatformDashboard`` in the hub account."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PlatformConfig,
        contracts: Sequence[DataProductContract],
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        skip_creation_stack_traces(self)
        settings = config.monitoring
        prefix = config.prefix
        self.key = PlatformKey(self, "Key", alias=f"alias/{prefix}/monitoring", description="meshworks monitoring key")
        deliveries = dynamodb.Table.from_table_name(self, "DeliveryTable", settings.delivery_table(prefix))
        self.slo_monitor = SloMonitor(
            self,
            "Slo",
            contracts=contracts,
            delivery_table=deliveries,
            encryption_key=self.key,
            sweep_interval=Duration.minutes(settings.sweep_minutes),
            overlap=Duration.minutes(settings.overlap_minutes),
            breach_retention=Duration.days(settings.breach_retention_days),
            slack_secret_name=settings.slack_secret(prefix),
            name_prefix=f"{prefix}-slo",
            domain_alert_emails=settings.domain_alert_emails,
            partition_templates=settings.partition_templates,
            sweeper_role_name=role_names(prefix)["slo_sweeper"],  # named in producers' bucket policies
        )
        compute = config.environments.compute.account
        self.job_alerts = JobFailureAlerts(
            self,
            "JobAlerts",
            encryption_key=self.key,
            state_machine_arns=settings.state_machine_arns,
            muted_jobs=settings.muted_jobs,
            slack_channel=settings.job_alerts_slack_channel,
            slack_secret=self.slo_monitor.slack_secret,
            alert_dead_letter_queue=self.slo_monitor.alert_dead_letter_queue,
            topic_name=f"{prefix}-job-alerts",
            emails=settings.job_alert_emails,
            source_accounts=[compute] if forwards_job_events(config) else [],
        )
        self.dashboard = PlatformDashboard(
            self,
            "Dashboard",
            slo_monitor=self.slo_monitor,
            job_alerts=self.job_alerts,
            dashboard_name=f"{prefix}-platform",
            alarm_topic_name=f"{prefix}-monitoring-ops",
            alarm_emails=settings.ops_emails,
        )


class JobEventForwarderStack(Stack):
    """Composes ``JobEventForwarder`` in the compute account: its failed jobs alert from the hub."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PlatformConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        skip_creation_stack_traces(self)
        hub = config.environments.hub
        self.forwarder = JobEventForwarder(
            self,
            "JobEvents",
            target_account=hub.account,
            target_region=hub.region,
            state_machine_arns=config.monitoring.state_machine_arns,
            encryption_key=PlatformKey(
                self, "Key", alias=f"alias/{config.prefix}/job-events", description="meshworks job event forwarding key"
            ),
            alarm_emails=config.monitoring.ops_emails,
        )


def forwards_job_events(config: PlatformConfig) -> bool:
    """True when jobs run in another account or region than the monitors (a forwarder is needed)."""
    hub, compute = config.environments.hub, config.environments.compute
    return (hub.account, hub.region) != (compute.account, compute.region)


def monitoring_stacks(app: App, config: PlatformConfig, contracts: Sequence[DataProductContract]) -> dict[str, Stack]:
    """The monitoring stack (hub) and, when jobs run elsewhere, the job-event forwarder (compute)."""
    hub, compute = config.environments.hub, config.environments.compute
    stacks: dict[str, Stack] = {
        "monitoring": MonitoringStack(
            app,
            "Monitoring",
            stack_name=config.stack_name("monitoring"),
            env=Environment(account=hub.account, region=hub.region),
            config=config,
            contracts=contracts,
            description="meshworks monitoring: SLO sweeper, breach table, alerts, job-failure alerts, dashboard",
        )
    }
    if forwards_job_events(config):
        stacks["monitoring-forwarder"] = JobEventForwarderStack(
            app,
            "MonitoringForwarder",
            stack_name=config.stack_name("monitoring-forwarder"),
            env=Environment(account=compute.account, region=compute.region),
            config=config,
            description="meshworks monitoring: forwards failed-job events to the hub's job-failure alerts",
        )
    return stacks
