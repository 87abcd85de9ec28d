"""Airflow test set-up: a throw-away AIRFLOW_HOME with a SQLite metadata database, the DAGs folder on
``sys.path`` as MWAA puts it, fake AWS credentials (every AWS call reaches moto), no example DAGs.

These tests run in the Airflow virtual environment (``.venv-airflow``: Airflow and its providers installed
against the constraints file of the version MWAA runs), never in the CDK one: ``make test`` runs both.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from pathlib import Path

DAGS = Path(__file__).resolve().parent.parent
_HOME = tempfile.mkdtemp(prefix="meshworks-airflow-")

os.environ.update(
    {
        "AIRFLOW_HOME": _HOME,
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME}/airflow.db",
        "AIRFLOW__MESHWORKS__ROUTING_PREFIX": "acme",
        "AIRFLOW_CONN_AWS_DEFAULT": "aws://",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
    }
)
os.environ.pop("AWS_PROFILE", None)
sys.path.insert(0, str(DAGS))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """The metadata database, created once per session for the tests that run DAGs (``airflow db migrate``)."""
    from airflow.sdk.execution_time import supervisor
    from airflow.utils import db

    db.resetdb()
    # `dag.test()` runs each task through an in-process Execution API that Airflow builds anew for every task:
    # a FastAPI app whose versioned routes (cadwyn) cost ~2 CPU s to generate, most of this suite's time. One
    # server for the session serves every task the same way (its DAG bag is replaced for each DAG run).
    supervisor.in_process_api_server = functools.cache(supervisor.in_process_api_server)
