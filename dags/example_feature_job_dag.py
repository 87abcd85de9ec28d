"""Feature job on EMR Serverless (SumUp): one PySpark run writes the offline store and the online table.

The application and execution role come from the Spark stack's rollout index (``/<prefix>/spark/rollout``),
read at run time, so the DAG names no account-specific id.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.decorators import task
from airflow.providers.amazon.aws.operators.emr import EmrServerlessStartJobOperator

TARGET = "{{ ti.xcom_pull(task_ids='spark_target') }}"

with DAG(
    dag_id="example_feature_job",
    start_date=datetime(2026, 1, 1),
    schedule="0 2 * * *",
    catchup=False,
    tags=["meshworks", "features", "example"],
    default_args={"owner": "team-features", "retries": 2, "retry_delay": timedelta(minutes=10)},
    render_template_as_native_obj=True,
) as dag:

    @task
    def spark_target() -> dict[str, str]:
        """The EMR Serverless application and job role published by the Spark stack."""
        from airflow.configuration import conf
        from airflow.providers.amazon.aws.hooks.ssm import SsmHook
        from meshworks_airflow.routing import index_parameter_name, parse_serverless_target

        prefix = conf.get("meshworks", "routing_prefix")
        target = parse_serverless_target(SsmHook().get_parameter_value(index_parameter_name(prefix)))
        return {"application_id": target.application_id, "execution_role_arn": target.execution_role_arn}

    features = EmrServerlessStartJobOperator(
        task_id="compute_features",
        application_id="{{ ti.xcom_pull(task_ids='spark_target')['application_id'] }}",
        execution_role_arn="{{ ti.xcom_pull(task_ids='spark_target')['execution_role_arn'] }}",
        job_driver={
            "sparkSubmit": {
                "entryPoint": "{{ var.value.get('meshworks_feature_job_script', 's3://meshworks-demo-code/features/job.py') }}",
                "entryPointArguments": ["--date", "{{ ds }}"],
                "sparkSubmitParameters": "--conf spark.dynamicAllocation.maxExecutors=20",
            }
        },
        name="features-{{ ds }}",
        wait_for_completion=True,
        waiter_delay=30,
    )
    spark_target() >> features
