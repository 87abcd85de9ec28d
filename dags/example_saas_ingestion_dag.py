"""Batch ingestion from a SaaS API into the raw zone (ENGIE's pattern), page by page, with retries.

``fetch_pages`` stands for the SaaS client (an ``HttpHook`` in production); each page lands as one
newline-delimited JSON object under ``raw/<source>/dt=<ds>/``, named by page so a retried task overwrites
instead of duplicating.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from airflow import DAG
from airflow.decorators import task

SOURCE = "crm_accounts"


def fetch_pages(since: str, page_size: int = 2) -> Iterator[list[dict[str, Any]]]:
    """A fake SaaS source: three pages of accounts changed since ``since`` (replace with the real client)."""
    records = [{"id": n, "name": f"account-{n}", "updated_at": since} for n in range(5)]
    for start in range(0, len(records), page_size):
        yield records[start : start + page_size]


with DAG(
    dag_id="example_saas_ingestion",
    start_date=datetime(2026, 1, 1),
    schedule="@hourly",
    catchup=False,
    tags=["meshworks", "ingestion", "example"],
    default_args={"owner": "team-ingestion", "retries": 3, "retry_delay": timedelta(minutes=2),
                  "retry_exponential_backoff": True},
) as dag:

    @task
    def land_pages(ds: str | None = None, **context: Any) -> list[str]:
        """Write each page to the raw zone; returns the object keys written."""
        from airflow.models import Variable
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        bucket = Variable.get("meshworks_raw_bucket", default_var="meshworks-demo-raw")
        s3 = S3Hook()
        keys = []
        for number, page in enumerate(fetch_pages(since=str(ds))):
            key = f"raw/{SOURCE}/dt={ds}/page-{number:05d}.json"
            s3.load_string("\n".join(json.dumps(r, sort_keys=True) for r in page), key, bucket, replace=True)
            keys.append(key)
        return keys

    land_pages()
