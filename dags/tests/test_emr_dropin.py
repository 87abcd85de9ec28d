"""The drop-in EMR operators run a migrated DAG both ways: on EMR Serverless when the job's ring is rolled out,
on EMR on EC2 (unchanged) otherwise — through ``dag.test()``, Airflow's own in-process runner, on moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from airflow.exceptions import AirflowException
from airflow.models.dagbag import DagBag
from meshworks_airflow import emr as dropin
from moto.emr import models as moto_emr

from tests.aws_fixtures import JOB_ROLE, SparkPlatform, spark_platform

DAG_ID = "daily_orders"


@pytest.fixture
def platform() -> Iterator[SparkPlatform]:
    yield from spark_platform()


@pytest.fixture(scope="module")
def dag(airflow_db: None) -> Any:
    bag = DagBag(include_examples=False) if "include_examples" in DagBag.__init__.__code__.co_varnames else DagBag()
    assert not bag.import_errors
    migrated = bag.get_dag(DAG_ID)
    for task in migrated.tasks:
        if hasattr(task, "poke_interval"):
            task.poke_interval = 0.05
    return migrated


def states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def test_a_rolled_out_job_runs_on_emr_serverless(platform: SparkPlatform, dag: Any) -> None:
    platform.route(DAG_ID, "emr-serverless")
    run = dag.test()
    assert states(run) == dict.fromkeys(["create_job_flow", "add_steps", "watch_step", "terminate_job_flow"], "success")
    assert platform.emr.list_clusters()["Clusters"] == []  # no cluster was created
    (job_run,) = platform.job_runs()
    assert job_run["executionRole"] == JOB_ROLE
    submit = job_run["jobDriver"]["sparkSubmit"]
    assert submit["entryPoint"] == "s3://acme-code/orders/aggregate.py"
    assert submit["entryPointArguments"][0] == "--date"
    assert "--deploy-mode" not in submit["sparkSubmitParameters"]
    assert "spark.executor.memory=14g" in submit["sparkSubmitParameters"]  # the job's limit wins over the step's 8g
    overrides = job_run["configurationOverrides"]
    assert overrides["monitoringConfiguration"]["s3MonitoringConfiguration"]["logUri"] == "s3://acme-logs/emr/"
    assert [c["classification"] for c in overrides["applicationConfiguration"]] == ["spark-defaults"]


@pytest.fixture
def steps_complete(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto leaves EMR steps RUNNING forever; let them complete so the step sensor finishes."""
    original = moto_emr.Step.__init__

    def completed(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.state = "COMPLETED"

    monkeypatch.setattr(moto_emr.Step, "__init__", completed)


def test_a_job_above_the_rollout_ring_stays_on_emr_on_ec2(
    platform: SparkPlatform, dag: Any, steps_complete: None
) -> None:
    platform.route(DAG_ID, "emr-ec2")
    run = dag.test()
    assert states(run) == dict.fromkeys(["create_job_flow", "add_steps", "watch_step", "terminate_job_flow"], "success")
    assert platform.job_runs() == []
    (cluster,) = platform.emr.list_clusters()["Clusters"]
    assert cluster["Name"] == "daily-orders"
    (step,) = platform.emr.list_steps(ClusterId=cluster["Id"])["Steps"]
    assert step["Config"]["Args"][:3] == ["spark-submit", "--deploy-mode", "cluster"]  # unchanged


class FakeTaskInstance:
    """Just enough of a task instance for ``execute``: XComs in a dict."""

    def __init__(self, task_id: str, store: dict[tuple[str, str], Any]) -> None:
        self.dag_id, self.run_id, self.task_id, self.map_index, self.try_number = DAG_ID, "manual__1", task_id, -1, 1
        self.store = store

    def xcom_push(self, key: str, value: Any) -> None:
        self.store[(self.task_id, key)] = value

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return self.store.get((task_ids, key))


def run_task(task: Any, store: dict[tuple[str, str], Any], **fields: Any) -> Any:
    for name, value in fields.items():
        setattr(task, name, value)
    return task.execute({"ti": FakeTaskInstance(task.task_id, store), "dag_run": None})


def test_a_failing_spark_job_run_fails_the_sensor_with_its_reason(
    platform: SparkPlatform, dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform.route(DAG_ID, "emr-serverless")
    store: dict[tuple[str, str], Any] = {}
    flow_id = run_task(dag.get_task("create_job_flow"), store)
    assert flow_id.startswith("emr-serverless:")
    run_ids = run_task(dag.get_task("add_steps"), store, job_flow_id=flow_id)
    assert len(run_ids) == 1

    real_get = dropin._client

    def failing(conn_id: Any, service: str, region: Any = None) -> Any:
        client = real_get(conn_id, service, region)
        if service == "emr-serverless":
            original = client.get_job_run

            def get_job_run(**kwargs: Any) -> Any:
                response = original(**kwargs)
                response["jobRun"].update(state="FAILED", stateDetails="Job failed: ExecutorLostFailure")
                return response

            client.get_job_run = get_job_run
        return client

    monkeypatch.setattr(dropin, "_client", failing)
    sensor = dag.get_task("watch_step")
    sensor.job_flow_id, sensor.step_id = flow_id, run_ids[0]
    with pytest.raises(AirflowException, match="FAILED: Job failed: ExecutorLostFailure"):
        sensor.poke({})
    assert run_task(dag.get_task("terminate_job_flow"), store, job_flow_id=flow_id) is None  # nothing to terminate


def test_the_same_task_try_sends_the_same_client_token(
    platform: SparkPlatform, dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """StartJobRun is idempotent per clientToken: a retried call within one try starts one run (in AWS)."""
    platform.route(DAG_ID, "emr-serverless")
    sent: list[dict[str, Any]] = []
    real_get = dropin._client

    def recording(conn_id: Any, service: str, region: Any = None) -> Any:
        client = real_get(conn_id, service, region)
        if service == "emr-serverless":
            original = client.start_job_run

            def start_job_run(**kwargs: Any) -> Any:
                sent.append(kwargs)
                return original(**kwargs)

            client.start_job_run = start_job_run
        return client

    monkeypatch.setattr(dropin, "_client", recording)
    store: dict[tuple[str, str], Any] = {}
    flow_id = run_task(dag.get_task("create_job_flow"), store)
    run_task(dag.get_task("add_steps"), store, job_flow_id=flow_id)
    run_task(dag.get_task("add_steps"), store, job_flow_id=flow_id)
    assert len(sent) == 2 and sent[0]["clientToken"] == sent[1]["clientToken"]
    assert sent[0]["tags"] == {"meshworks:job": DAG_ID}


def test_a_job_missing_from_the_catalog_runs_on_ec2(platform: SparkPlatform, dag: Any) -> None:
    store: dict[tuple[str, str], Any] = {}
    flow_id = run_task(dag.get_task("create_job_flow"), store)
    assert flow_id.startswith("j-")


def test_a_routing_prefix_must_be_known(monkeypatch: pytest.MonkeyPatch, platform: SparkPlatform, dag: Any) -> None:
    monkeypatch.delenv("AIRFLOW__MESHWORKS__ROUTING_PREFIX")
    monkeypatch.delenv("MESHWORKS_ROUTING_PREFIX", raising=False)
    with pytest.raises(AirflowException, match="routing prefix unknown"):
        run_task(dag.get_task("create_job_flow"), {})
