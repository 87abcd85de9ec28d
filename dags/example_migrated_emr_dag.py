"""A DAG written for EMR on EC2, migrated to the meshworks drop-in operators by changing its imports only.

The Spark stack's job catalog decides at run time where ``daily_orders`` runs: on EMR Serverless once its
ring is rolled out, on a transient EMR on EC2 cluster otherwise (``docs/orchestration.md``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from meshworks_airflow.emr import (
    EmrAddStepsOperator,
    EmrCreateJobFlowOperator,
    EmrStepSensor,
    EmrTerminateJobFlowOperator,
)

JOB_FLOW_OVERRIDES = {
    "Name": "daily-orders",
    "ReleaseLabel": "emr-7.13.0",
    "LogUri": "s3n://acme-logs/emr/",
    "Applications": [{"Name": "Spark"}],
    "Configurations": [
        {"Classification": "spark-defaults", "Properties": {"spark.sql.shuffle.partitions": "200"}},
        {"Classification": "yarn-site", "Properties": {"yarn.nodemanager.vmem-check-enabled": "false"}},
    ],
    "Instances": {
        "InstanceGroups": [
            {"Name": "Primary", "InstanceRole": "MASTER", "InstanceType": "m7g.xlarge", "InstanceCount": 1},
            {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "m7g.2xlarge", "InstanceCount": 2},
        ],
        "KeepJobFlowAliveWhenNoSteps": True,
    },
    "JobFlowRole": "EMR_EC2_DefaultRole",
    "ServiceRole": "EMR_DefaultRole",
}

SPARK_STEPS = [
    {
        "Name": "aggregate-orders",
        "ActionOnFailure": "CANCEL_AND_WAIT",
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": [
                "spark-submit", "--deploy-mode", "cluster", "--conf", "spark.executor.memory=8g",
                "--py-files", "s3://acme-code/orders/libs.zip",
                "s3://acme-code/orders/aggregate.py", "--date", "{{ ds }}",
            ],
        },
    }
]

with DAG(
    dag_id="daily_orders",
    start_date=datetime(2026, 1, 1),
    schedule="@daily",
    catchup=False,
    tags=["meshworks", "spark", "example"],
    default_args={"owner": "team-orders", "retries": 2, "retry_delay": timedelta(minutes=5)},
) as dag:
    create = EmrCreateJobFlowOperator(task_id="create_job_flow", job_flow_overrides=JOB_FLOW_OVERRIDES)
    add_steps = EmrAddStepsOperator(
        task_id="add_steps",
        job_flow_id="{{ task_instance.xcom_pull(task_ids='create_job_flow', key='return_value') }}",
        steps=SPARK_STEPS,
    )
    watch = EmrStepSensor(
        task_id="watch_step",
        job_flow_id="{{ task_instance.xcom_pull(task_ids='create_job_flow', key='return_value') }}",
        step_id="{{ task_instance.xcom_pull(task_ids='add_steps', key='return_value')[0] }}",
        poke_interval=30,
    )
    terminate = EmrTerminateJobFlowOperator(
        task_id="terminate_job_flow",
        job_flow_id="{{ task_instance.xcom_pull(task_ids='create_job_flow', key='return_value') }}",
        trigger_rule="all_done",
    )
    create >> add_steps >> watch >> terminate
