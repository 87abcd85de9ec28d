"""Monitoring: SLO monitors of data-product deliveries, job-failure alerts and the platform dashboard.

Example::

    from meshworks.constructs.monitoring import JobFailureAlerts, PlatformDashboard, SloMonitor

    monitor = SloMonitor(self, "Slo", contracts=contracts, delivery_table=deliveries)
    alerts = JobFailureAlerts(self, "JobAlerts", slack_secret=monitor.slack_secret,
                              alert_dead_letter_queue=monitor.alert_dead_letter_queue)
    PlatformDashboard(self, "Dashboard", slo_monitor=monitor, job_alerts=alerts)
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
