"""Every DAG the platform ships imports on the exact MWAA runtime, quickly, without touching AWS, and
follows the house rules (owner, tags, retries). Import errors include DagBag's import timeout
(``[core] dagbag_import_timeout``, 30 s here as on MWAA by default) and cycle detection."""

from __future__ import annotations

from typing import Any

import botocore.client
import pytest
from airflow.models.dagbag import DagBag

from tests.conftest import DAGS

EXPECTED = {"daily_orders", "example_feature_job", "example_saas_ingestion", "example_wait_for_product",
            "example_file_ingestion"}


@pytest.fixture(scope="module")
def bag() -> DagBag:
    """The DagBag of dags/, filled while any AWS API call fails the import."""

    def no_aws_at_import(client: Any, operation: str, params: Any) -> Any:
        raise AssertionError(f"AWS call at DAG import time: {client.meta.service_model.service_name}.{operation}")

    original = botocore.client.BaseClient._make_api_call
    botocore.client.BaseClient._make_api_call = no_aws_at_import
    try:
        return DagBag(dag_folder=str(DAGS))
    finally:
        botocore.client.BaseClient._make_api_call = original


def test_every_dag_imports_without_errors(bag: DagBag) -> None:
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == EXPECTED


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_house_rules(bag: DagBag, dag_id: str) -> None:
    dag = bag.dags[dag_id]
    assert dag.tags, f"{dag_id}: give the DAG tags"
    assert "meshworks" in dag.tags
    for task in dag.tasks:
        assert task.owner not in ("", "airflow"), f"{dag_id}.{task.task_id}: set default_args owner to the team"
        assert task.retries >= 1, f"{dag_id}.{task.task_id}: set retries >= 1"
    assert dag.catchup is False, f"{dag_id}: catchup must be explicit and off for examples"


def test_a_broken_dag_is_reported(tmp_path: Any) -> None:
    """The check above can fail: a DAG file that raises at import is an import error."""
    (tmp_path / "broken_dag.py").write_text("from airflow import DAG\nraise RuntimeError('boom')\n")
    assert "boom" in next(iter(DagBag(dag_folder=str(tmp_path)).import_errors.values()))
