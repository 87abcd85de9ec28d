"""The EventBridge patterns of failed data jobs, per service (shared by the alerting and forwarding constructs).

Checked against the EventBridge events reference (``source`` / ``detail-type`` / ``detail`` field):

=================  ======================  =========================================  ===========================
service            source                  detail-type                                detail field: values
=================  ======================  =========================================  ===========================
Glue               ``aws.glue``            ``Glue Job State Change``                  ``state``: FAILED, TIMEOUT, STOPPED
EMR Serverless     ``aws.emr-serverless``  ``EMR Serverless Job Run State Change``    ``state``: FAILED, CANCELLED
EMR step           ``aws.emr``             ``EMR Step Status Change``                 ``state``: FAILED
EMR cluster        ``aws.emr``             ``EMR Cluster State Change``               ``state``: TERMINATED_WITH_ERRORS
Step Functions     ``aws.states``          ``Step Functions Execution Status Change``  ``status``: FAILED, TIMED_OUT, ABORTED
=================  ======================  =========================================  ===========================

Step Functions events can be limited to given state machines (``detail.stateMachineArn``).
This module has no CDK import, so the patterns are plain data that tests and other tools can read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshworks.constructs.core.inputs import Choice, string_list


class JobService(Choice):
    """A kind of data job whose failures alert."""

    GLUE = "glue"
    EMR_SERVERLESS = "emr-serverless"
    EMR_STEP = "emr-step"
    EMR_CLUSTER = "emr-cluster"
    STEP_FUNCTIONS = "step-functions"

    @property
    def title(self) -> str:
        """Human name used in descriptions and on the dashboard."""
        return {
            "glue": "Glue jobs",
            "emr-serverless": "EMR Serverless job runs",
            "emr-step": "EMR steps",
            "emr-cluster": "EMR clusters",
            "step-functions": "Step Functions executions",
        }[self.value]


_PATTERNS: dict[JobService, tuple[str, str, str, tuple[str, ...]]] = {
    JobService.GLUE: ("aws.glue", "Glue Job State Change", "state", ("FAILED", "TIMEOUT", "STOPPED")),
    JobService.EMR_SERVERLESS: (
        "aws.emr-serverless",
        "EMR Serverless Job Run State Change",
        "state",
        ("FAILED", "CANCELLED"),
    ),
    JobService.EMR_STEP: ("aws.emr", "EMR Step Status Change", "state", ("FAILED",)),
    JobService.EMR_CLUSTER: ("aws.emr", "EMR Cluster State Change", "state", ("TERMINATED_WITH_ERRORS",)),
    JobService.STEP_FUNCTIONS: (
        "aws.states",
        "Step Functions Execution Status Change",
        "status",
        ("FAILED", "TIMED_OUT", "ABORTED"),
    ),
}


def failure_pattern(service: JobService, *, state_machine_arns: Sequence[str] = ()) -> dict[str, Any]:
    """The event pattern (CloudFormation JSON form) of ``service``'s failures."""
    state_machine_arns = string_list("failure_pattern", "state_machine_arns", state_machine_arns, example="arn:aws:states:...")
    source, detail_type, field, states = _PATTERNS[JobService(service)]
    detail: dict[str, list[str]] = {field: list(states)}
    if service == JobService.STEP_FUNCTIONS and state_machine_arns:
        detail["stateMachineArn"] = list(state_machine_arns)
    return {"source": [source], "detail-type": [detail_type], "detail": detail}


def failure_patterns(
    services: Sequence[JobService] = tuple(JobService), *, state_machine_arns: Sequence[str] = ()
) -> dict[JobService, dict[str, Any]]:
    """Patterns of every requested service, in ``JobService`` order."""
    wanted = {JobService(s) for s in string_list("failure_patterns", "services", services, example="glue")}
    return {s: failure_pattern(s, state_machine_arns=state_machine_arns) for s in JobService if s in wanted}
