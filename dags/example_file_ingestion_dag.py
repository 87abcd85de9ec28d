"""GE MDC's file flow: new CSV files (recorded by the file-ingestion Lambda) are converted to Parquet by a
Glue job, then a crawler refreshes the catalog. Glue retries are bounded; the DAG retries whole tasks.

The job is ``FileIngestion(name=..., schedule_expression=None)``'s ``<name>-csv-to-parquet`` (Airflow variable
``meshworks_csv_job``; the default matches ``name="meshworks-demo"``). Its arguments are the construct's
defaults; ``--max_files`` and ``--logical_date`` (logged with the run summary) are overridden here. Retrying the
task is safe: the job claims each file with a lease and bounds its attempts (docs/file-ingestion.md).
FileIngestion creates no crawler: ``meshworks_curated_crawler`` names one over the curated output."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator

with DAG(
    dag_id="example_file_ingestion",
    start_date=datetime(2026, 1, 1),
    schedule="*/30 * * * *",
    catchup=False,
    max_active_runs=1,
    tags=["meshworks", "ingestion", "example"],
    default_args={"owner": "team-ingestion", "retries": 2, "retry_delay": timedelta(minutes=5)},
) as dag:
    convert = GlueJobOperator(
        task_id="csv_to_parquet",
        job_name="{{ var.value.get('meshworks_csv_job', 'meshworks-demo-csv-to-parquet') }}",
        script_args={"--max_files": "500", "--logical_date": "{{ ds }}"},
        wait_for_completion=True,
        verbose=False,
    )
    crawl = GlueCrawlerOperator(
        task_id="refresh_catalog",
        config={"Name": "{{ var.value.get('meshworks_curated_crawler', 'meshworks-demo-curated') }}"},
        wait_for_completion=True,
        poll_interval=15,
    )
    convert >> crawl
