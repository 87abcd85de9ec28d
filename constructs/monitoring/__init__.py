"""Monitoring: SLO monitors of data-product deliveries, job-failure alerts and the platform dashboard.

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
    PlatformDashboard(stack, "Dashboard", slo_monitor=monitor, job_alerts=alerts)
    app.synth()
"""

from .job_event_forwarder import JobEventForwarder
from .job_events import JobService, failure_pattern, failure_patterns
from .job_failure_alerts import JobFailureAlerts
from .platform_dashboard import PlatformDashboard
from .slo_manifest import Manifest, build_manifest, partition_template
from .slo_monitor import OPEN_BREACH_INDEX, SloMonitor

__all__ = [
    "OPEN_BREACH_INDEX",
    "JobEventForwarder",
    "JobFailureAlerts",
    "JobService",
    "Manifest",
    "PlatformDashboard",
    "SloMonitor",
    "build_manifest",
    "failure_pattern",
    "failure_patterns",
    "partition_template",
]
