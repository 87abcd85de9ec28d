"""moto set-up shared by the DAG tests: the Spark stack's routing parameters and an EMR Serverless application."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto import mock_aws

REGION = "eu-west-1"
PREFIX = "acme"  # AIRFLOW__MESHWORKS__ROUTING_PREFIX in conftest.py
JOB_ROLE = "arn:aws:iam::123456789012:role/acme-spark-jobs"
LIMITS = "--conf spark.dynamicAllocation.maxExecutors=20 --conf spark.executor.memory=14g"


@dataclass
class SparkPlatform:
    """What the Spark stack publishes, on moto."""

    ssm: Any
    emr_serverless: Any
    emr: Any
    application_id: str
    routed: dict[str, str] = field(default_factory=dict)

    def route(self, job: str, engine: str) -> None:
        """Publish ``job``'s routing as ``JobRollout`` does (contract version 1)."""
        document = {
            "version": 1, "job": job, "engine": engine, "ring": 0, "rollout_ring": 0 if engine == "emr-serverless" else -1,
            "spark_submit_parameters": LIMITS, "spark_defaults": {"spark.dynamicAllocation.maxExecutors": "20"},
            "owner": "team-orders", "job_class": "quick", "ring_name": "canary",
        }
        self.ssm.put_parameter(
            Name=f"/{PREFIX}/spark/jobs/{job}/routing", Type="String", Value=json.dumps(document), Overwrite=True
        )
        self.routed[job] = engine

    def job_runs(self) -> list[dict[str, Any]]:
        """The application's job runs (full ``GetJobRun`` descriptions)."""
        client = self.emr_serverless
        try:
            runs = client.list_job_runs(applicationId=self.application_id)["jobRuns"]
        except client.exceptions.ResourceNotFoundException:  # moto 5.1: an application with no run yet
            return []
        return [client.get_job_run(applicationId=self.application_id, jobRunId=run["id"])["jobRun"] for run in runs]


def spark_platform() -> Iterator[SparkPlatform]:
    with mock_aws():
        ssm = boto3.client("ssm", region_name=REGION)
        emr_serverless = boto3.client("emr-serverless", region_name=REGION)
        application_id = emr_serverless.create_application(name="acme", releaseLabel="emr-7.13.0", type="SPARK")[
            "applicationId"
        ]
        index = {
            "version": 1, "rollout_ring": 0, "jobs": 1,
            "targets": {"emr-serverless": {"application_id": application_id, "execution_role_arn": JOB_ROLE}},
        }
        ssm.put_parameter(Name=f"/{PREFIX}/spark/rollout", Type="String", Value=json.dumps(index))
        yield SparkPlatform(ssm, emr_serverless, boto3.client("emr", region_name=REGION), application_id)
