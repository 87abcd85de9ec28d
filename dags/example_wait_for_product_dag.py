"""Wait for a data product's refresh, then run downstream work.

The hub's refresh topic delivers to an SQS queue the consumer owns (subscribed with a filter policy on
``domain``/``product``); the sensor waits for the ``sales/orders`` message of the day and passes the
delivered partition on.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from airflow import DAG
from airflow.decorators import task
from airflow.providers.amazon.aws.sensors.sqs import SqsSensor

with DAG(
    dag_id="example_wait_for_product",
    start_date=datetime(2026, 1, 1),
    schedule="@daily",
    catchup=False,
    tags=["meshworks", "mesh", "example"],
    default_args={"owner": "team-analytics", "retries": 1, "retry_delay": timedelta(minutes=5)},
) as dag:
    refreshed = SqsSensor(
        task_id="wait_for_orders",
        sqs_queue="{{ var.value.get('meshworks_refresh_queue_url', 'https://sqs.eu-west-1.amazonaws.com/333333333333/orders-refresh') }}",
        message_filtering="jsonpath",
        message_filtering_config="product",
        message_filtering_match_values=["orders"],
        mode="reschedule",
        poke_interval=300,
        timeout=6 * 3600,
    )

    @task
    def use_delivery(**context: Any) -> dict[str, Any]:
        """The refresh message (the hub's notifier publishes ``domain``, ``product``, ``partition``, ``location``)."""
        messages = context["ti"].xcom_pull(task_ids="wait_for_orders", key="messages") or []
        body = json.loads(messages[0]["Body"])
        return {"product": body["product"], "partition": body.get("partition")}

    refreshed >> use_delivery()
