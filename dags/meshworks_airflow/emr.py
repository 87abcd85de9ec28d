"""Drop-in replacements for the Amazon provider's EMR on EC2 operators and sensors.

A DAG written for EMR on EC2 migrates by changing its imports only::

    # from airflow.providers.amazon.aws.operators.emr import (
    #     EmrAddStepsOperator, EmrCreateJobFlowOperator, EmrTerminateJobFlowOperator)
    # from airflow.providers.amazon.aws.sensors.emr import EmrStepSensor
    from meshworks_airflow.emr import (
        EmrAddStepsOperator, EmrCreateJobFlowOperator, EmrStepSensor, EmrTerminateJobFlowOperator)

At run time ``EmrCreateJobFlowOperator`` reads the job's routing, published by the Spark stack's
``JobRollout`` (``/<prefix>/spark/jobs/<job>/routing``, ``docs/spark.md``). When the job's ring is rolled
out (``engine: emr-serverless``) no cluster is created: the steps run as EMR Serverless job runs on the
platform's application with the job's execution role and limits. Otherwise — or when the job is not in
the catalog — every operator behaves exactly as the provider's.

The job is the DAG id (``-`` and ``.`` read as ``_``) unless ``meshworks_job=`` names it. The routing prefix
comes from ``routing_prefix=``, else the Airflow option ``[meshworks] routing_prefix`` (set by
``AirflowEnvironment`` in the reference app), else the environment variable ``MESHWORKS_ROUTING_PREFIX``.

XCom contract (what downstream tasks read keeps its meaning):

======================================  =====================================  ===========================================
task                                    EMR on EC2 (unchanged)                 EMR Serverless
======================================  =====================================  ===========================================
``EmrCreateJobFlowOperator``            ``return_value``: cluster id ``j-…``   ``return_value``: ``emr-serverless:<app id>:<job>:<task id>``;
                                                                               key ``meshworks_emr_serverless``: the run spec
``EmrAddStepsOperator``                 ``return_value``: step ids ``s-…``     ``return_value``: job run ids, same order
``EmrStepSensor``                       waits for the step                     waits for the job run (SUCCESS; FAILED or
                                                                               CANCELLED fail the task with the reason)
``EmrJobFlowSensor``                    waits for the cluster state            succeeds at once (no cluster)
``EmrTerminateJobFlowOperator``         terminates the cluster                 no-op (the application auto-stops)
======================================  =====================================  ===========================================
"""

from __future__ import annotations

import ast
import os
from typing import Any

from airflow.exceptions import AirflowException
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.operators import emr as provider_operators
from airflow.providers.amazon.aws.sensors import emr as provider_sensors
from airflow.sensors.base import BaseSensorOperator

from meshworks_airflow.routing import (
    JobRouting,
    RoutingError,
    ServerlessTarget,
    client_token,
    configuration_overrides,
    index_parameter_name,
    job_name_from,
    job_run_request,
    parse_pseudo_job_flow_id,
    parse_routing,
    parse_serverless_target,
    pseudo_job_flow_id,
    routing_parameter_name,
    steps_of,
)

SERVERLESS_XCOM_KEY = "meshworks_emr_serverless"
FAILED_STATES = ("FAILED", "CANCELLED")


def _routing_prefix(explicit: str | None) -> str:
    if explicit:
        return explicit
    try:
        from airflow.configuration import conf

        configured = conf.get("meshworks", "routing_prefix", fallback=None)
    except Exception:  # noqa: BLE001 - no [meshworks] section: fall through to the environment
        configured = None
    prefix = configured or os.environ.get("MESHWORKS_ROUTING_PREFIX")
    if not prefix:
        raise AirflowException(
            "meshworks routing prefix unknown: pass routing_prefix= to EmrCreateJobFlowOperator, or set the Airflow "
            "option [meshworks] routing_prefix (AIRFLOW__MESHWORKS__ROUTING_PREFIX) to the Spark stack's prefix"
        )
    return prefix


def _client(conn_id: str | None, service: str, region: str | None = None) -> Any:
    return AwsBaseHook(aws_conn_id=conn_id, client_type=service, region_name=region).conn


def _as_dict(value: Any) -> dict[str, Any]:
    """A templated dict field, parsed as the provider parses it (``ast.literal_eval`` of a string)."""
    if isinstance(value, str):
        return ast.literal_eval(value) if value.strip() else {}
    return dict(value or {})


class EmrCreateJobFlowOperator(provider_operators.EmrCreateJobFlowOperator):
    """The provider's ``EmrCreateJobFlowOperator``, routed to EMR Serverless when the job's ring is rolled out.

    Args (besides the provider's):
        meshworks_job: the catalog job this DAG runs. Default: the DAG id.
        routing_prefix: the Spark stack's prefix. Default: ``[meshworks] routing_prefix`` /
            ``MESHWORKS_ROUTING_PREFIX``.
    """

    def __init__(self, *, meshworks_job: str | None = None, routing_prefix: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.meshworks_job = meshworks_job
        self.routing_prefix = routing_prefix

    def _route(self, context: Any) -> tuple[JobRouting, ServerlessTarget] | None:
        try:
            job = job_name_from(self.dag_id, self.meshworks_job)
        except RoutingError as error:
            raise AirflowException(str(error)) from None
        prefix = _routing_prefix(self.routing_prefix)
        ssm = _client(self.aws_conn_id, "ssm", self.region_name)
        try:
            text = ssm.get_parameter(Name=routing_parameter_name(prefix, job))["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            self.log.info("job %s has no routing under /%s: running on EMR on EC2", job, prefix)
            return None
        try:
            routing = parse_routing(text, job)
            if not routing.serverless:
                self.log.info("job %s routes to EMR on EC2 (ring above the rollout ring)", job)
                return None
            index = ssm.get_parameter(Name=index_parameter_name(prefix))["Parameter"]["Value"]
            return routing, parse_serverless_target(index)
        except RoutingError as error:
            raise AirflowException(str(error)) from None

    def execute(self, context: Any) -> str | None:
        routed = self._route(context)
        if routed is None:
            return super().execute(context)
        routing, target = routed
        spec = {
            "job": routing.job,
            "application_id": target.application_id,
            "execution_role_arn": target.execution_role_arn,
            "spark_submit_parameters": routing.spark_submit_parameters,
            "configuration_overrides": configuration_overrides(_as_dict(self.job_flow_overrides)),
        }
        context["ti"].xcom_push(key=SERVERLESS_XCOM_KEY, value=spec)
        self.log.info("job %s runs on EMR Serverless application %s", routing.job, target.application_id)
        return pseudo_job_flow_id(target.application_id, routing.job, self.task_id)


class EmrAddStepsOperator(provider_operators.EmrAddStepsOperator):
    """The provider's ``EmrAddStepsOperator``; on a Serverless-routed flow each ``spark-submit`` step becomes a
    ``StartJobRun`` (mapping in ``routing.job_driver``) with an idempotent client token per task try and step."""

    def execute(self, context: Any) -> list[str]:
        parsed = parse_pseudo_job_flow_id(str(self.job_flow_id or ""))
        if parsed is None:
            return super().execute(context)
        application_id, job, create_task_id = parsed
        spec = context["ti"].xcom_pull(task_ids=create_task_id, key=SERVERLESS_XCOM_KEY)
        if not spec:
            raise AirflowException(
                f"no EMR Serverless run spec from task {create_task_id!r}: the job flow id must come from "
                "meshworks_airflow.emr.EmrCreateJobFlowOperator"
            )
        routing = JobRouting(job=job, engine="emr-serverless", spark_submit_parameters=spec["spark_submit_parameters"])
        target = ServerlessTarget(application_id, spec["execution_role_arn"])
        client = _client(self.aws_conn_id, "emr-serverless")
        ti = context["ti"]
        run_ids = []
        if self.do_xcom_push:
            ti.xcom_push(key="job_flow_id", value=self.job_flow_id)
        steps = ast.literal_eval(self.steps) if isinstance(self.steps, str) else self.steps
        for index, step in enumerate(steps_of(steps)):
            token = client_token(ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", -1), ti.try_number, index)
            try:
                request = job_run_request(
                    step=step, routing=routing, target=target, overrides=spec["configuration_overrides"], token=token
                )
            except RoutingError as error:
                raise AirflowException(str(error)) from None
            run_ids.append(client.start_job_run(**request)["jobRunId"])
        if self.wait_for_completion:
            for run_id in run_ids:
                _wait(client, application_id, run_id, self.waiter_delay, self.waiter_max_attempts)
        return run_ids


def _job_run_state(client: Any, application_id: str, run_id: str) -> bool:
    """True when the run succeeded, False while it runs; raises AirflowException when it failed."""
    run = client.get_job_run(applicationId=application_id, jobRunId=run_id)["jobRun"]
    state = run["state"]
    if state == "SUCCESS":
        return True
    if state in FAILED_STATES:
        details = run.get("stateDetails") or "no details given"
        raise AirflowException(f"EMR Serverless job run {run_id} of application {application_id} {state}: {details}")
    return False


def _wait(client: Any, application_id: str, run_id: str, delay: int, attempts: int) -> None:
    import time

    for _ in range(attempts):
        if _job_run_state(client, application_id, run_id):
            return
        time.sleep(delay)
    raise AirflowException(f"EMR Serverless job run {run_id} did not finish within {attempts} checks")


class EmrStepSensor(provider_sensors.EmrStepSensor):
    """The provider's ``EmrStepSensor``; on a Serverless-routed flow it waits for the job run instead."""

    def execute(self, context: Any) -> Any:
        if parse_pseudo_job_flow_id(str(self.job_flow_id)) is not None:
            return BaseSensorOperator.execute(self, context)  # poke mode; the provider's trigger knows no job runs
        return super().execute(context)

    def poke(self, context: Any) -> bool:
        parsed = parse_pseudo_job_flow_id(str(self.job_flow_id))
        if parsed is None:
            return super().poke(context)
        return _job_run_state(_client(self.aws_conn_id, "emr-serverless"), parsed[0], str(self.step_id))


class EmrJobFlowSensor(provider_sensors.EmrJobFlowSensor):
    """The provider's ``EmrJobFlowSensor``; a Serverless-routed flow has no cluster: done at once."""

    def execute(self, context: Any) -> Any:
        if parse_pseudo_job_flow_id(str(self.job_flow_id)) is not None:
            self.log.info("no cluster to wait for: the job ran on EMR Serverless")
            return None
        return super().execute(context)


class EmrTerminateJobFlowOperator(provider_operators.EmrTerminateJobFlowOperator):
    """The provider's ``EmrTerminateJobFlowOperator``; a no-op for a Serverless-routed flow (auto-stop)."""

    def execute(self, context: Any) -> None:
        if parse_pseudo_job_flow_id(str(self.job_flow_id)) is not None:
            self.log.info("nothing to terminate: the job ran on EMR Serverless, whose application stops when idle")
            return None
        return super().execute(context)


__all__ = [
    "EmrAddStepsOperator",
    "EmrCreateJobFlowOperator",
    "EmrJobFlowSensor",
    "EmrStepSensor",
    "EmrTerminateJobFlowOperator",
]
