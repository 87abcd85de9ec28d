"""The example DAGs run for real under ``dag.test()`` against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from airflow.models.dagbag import DagBag

from tests.aws_fixtures import REGION, SparkPlatform, spark_platform
from tests.conftest import DAGS


@pytest.fixture(scope="module")
def bag(airflow_db: None) -> DagBag:
    return DagBag(dag_folder=str(DAGS))


@pytest.fixture
def platform() -> Iterator[SparkPlatform]:
    yield from spark_platform()


def run(bag: DagBag, dag_id: str) -> dict[str, str]:
    dag = bag.get_dag(dag_id)
    for task in dag.tasks:
        if hasattr(task, "poke_interval"):
            task.poke_interval = 0.05
        if hasattr(task, "waiter_delay"):
            task.waiter_delay = 1
    result = dag.test()
    return {ti.task_id: str(ti.state) for ti in result.get_task_instances()}


def test_saas_ingestion_lands_each_page_once(bag: DagBag, platform: SparkPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="raw-zone", CreateBucketConfiguration={"LocationConstraint": REGION})
    monkeypatch.setenv("AIRFLOW_VAR_MESHWORKS_RAW_BUCKET", "raw-zone")
    assert run(bag, "example_saas_ingestion") == {"land_pages": "success"}
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="raw-zone")["Contents"]]
    assert len(keys) == 3 and all(k.startswith("raw/crm_accounts/dt=") for k in keys)


def test_feature_job_runs_on_the_published_application(bag: DagBag, platform: SparkPlatform) -> None:
    assert run(bag, "example_feature_job") == {"spark_target": "success", "compute_features": "success"}
    (job_run,) = platform.job_runs()
    assert job_run["jobDriver"]["sparkSubmit"]["entryPointArguments"][0] == "--date"


def test_waiting_for_a_product_refresh(bag: DagBag, platform: SparkPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="orders-refresh")["QueueUrl"]
    monkeypatch.setenv("AIRFLOW_VAR_MESHWORKS_REFRESH_QUEUE_URL", url)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"domain": "sales", "product": "customers"}))
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps({"domain": "sales", "product": "orders", "partition": {"order_date": "2026-11-29"}}),
    )
    assert run(bag, "example_wait_for_product") == {"wait_for_orders": "success", "use_delivery": "success"}


def test_file_ingestion_runs_the_glue_job_then_the_crawler(
    bag: DagBag, platform: SparkPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.amazon.aws.hooks.glue_crawler import GlueCrawlerHook
    from moto.moto_api import state_manager

    # moto 5.1 implements neither UpdateCrawler nor GetCrawlerMetrics: skip the update of an existing
    # crawler and the metrics log lines; start, the crawler_ready waiter and LastCrawl stay real.
    monkeypatch.setattr(GlueCrawlerHook, "update_crawler", lambda self, **config: False)

    def wait(self: GlueCrawlerHook, crawler_name: str, poll_interval: int = 5) -> str:
        self.get_waiter("crawler_ready").wait(Name=crawler_name, WaiterConfig={"Delay": 1})
        return self.get_crawler(crawler_name)["LastCrawl"]["Status"]

    monkeypatch.setattr(GlueCrawlerHook, "wait_for_crawler_completion", wait)
    for model in ("glue::job_run", "glue::crawl"):  # moto would otherwise keep them RUNNING
        state_manager.set_transition(model_name=model, transition={"progression": "immediate"})
    glue = boto3.client("glue", region_name=REGION)
    glue.create_job(Name="csv-job", Role="arn:aws:iam::123456789012:role/glue", Command={"Name": "glueetl", "ScriptLocation": "s3://c/j.py"})
    glue.create_crawler(Name="curated", Role="arn:aws:iam::123456789012:role/glue", Targets={"S3Targets": [{"Path": "s3://curated/"}]})
    monkeypatch.setenv("AIRFLOW_VAR_MESHWORKS_CSV_JOB", "csv-job")
    monkeypatch.setenv("AIRFLOW_VAR_MESHWORKS_CURATED_CRAWLER", "curated")
    states: dict[str, Any] = run(bag, "example_file_ingestion")
    assert states == {"csv_to_parquet": "success", "refresh_catalog": "success"}
    assert [run["JobRunState"] for run in glue.get_job_runs(JobName="csv-job")["JobRuns"]] == ["SUCCEEDED"]
    assert glue.get_crawler(Name="curated")["Crawler"]["LastCrawl"]["Status"] in ("SUCCEEDED", "COMPLETED")  # moto says COMPLETED
