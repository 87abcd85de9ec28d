""".github/workflows/dags.yml runs the project pipeline's checks and deploys like it, with OIDC on one job only."""

from __future__ import annotations

import shlex

import yaml

from meshworks.constructs.orchestration import DEFAULT_AIRFLOW_VERSION
from meshworks.constructs.orchestration.airflow_project_pipeline import DEFAULT_SYNC_EXCLUDES, RUFF_VERSION
from meshworks.stacks.config import OrchestrationConfig
from tests.harness import ROOT

WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "dags.yml").read_text())


def _runs(job: str) -> list[str]:
    return [step.get("run", "") for step in WORKFLOW["jobs"][job]["steps"]]


def test_checks_are_the_pipelines_ruff_and_the_makefiles_dag_tests() -> None:
    runs = "\n".join(_runs("check"))
    assert f"ruff=={RUFF_VERSION}" in runs and "ruff check dags" in runs
    makefile = (ROOT / "Makefile").read_text()
    dag_tests = makefile.split("\nDAG_TESTS = ")[1].split("\n")[0].strip()
    assert "$(DAG_TESTS)" in makefile.split("\ntest:")[1].split("\n\n")[0]  # `make test` runs it
    assert dag_tests.replace("$(AIRFLOW_VENV)", ".venv-airflow") in runs  # the same command `make test` runs
    assert "make install-airflow" in runs  # Airflow from the constraints file of the deployed version
    constraints = makefile.split("AIRFLOW_CONSTRAINTS := ")[1].split("\n")[0]
    assert constraints == f"dags/constraints-{DEFAULT_AIRFLOW_VERSION}-py3.12.txt"
    assert OrchestrationConfig().airflow_version == DEFAULT_AIRFLOW_VERSION
    assert "|| true" not in runs and "continue-on-error" not in yaml.safe_dump(WORKFLOW)


def test_only_the_deploy_job_gets_a_token_and_only_after_the_checks_on_main() -> None:
    assert WORKFLOW["permissions"] == {}
    check, deploy = WORKFLOW["jobs"]["check"], WORKFLOW["jobs"]["deploy"]
    assert check["permissions"] == {"contents": "read"}
    assert deploy["permissions"] == {"contents": "read", "id-token": "write"}
    assert deploy["needs"] == "check" and deploy["environment"] == "dags"
    assert deploy["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"


def test_the_sync_matches_the_project_pipeline() -> None:
    (sync,) = [run for run in _runs("deploy") if "aws s3 sync" in run]
    words = shlex.split(sync)
    assert words[:4] == ["aws", "s3", "sync", "dags/"] and words[4].endswith("/dags/") and "--delete" in words
    excludes = {words[i + 1] for i, word in enumerate(words) if word == "--exclude"}
    assert excludes == set(DEFAULT_SYNC_EXCLUDES)
