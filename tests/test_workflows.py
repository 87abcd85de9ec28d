"""The GitHub workflows are valid (GitHub's workflow schema) and do what the README promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.harness import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _load(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def test_workflows_match_the_github_schema() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "deploy.yml"}
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    steps: []\n")  # no runs-on
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(broken)], capture_output=True)
    assert result.returncode != 0


def test_ci_runs_the_readme_commands_and_uploads_the_assembly() -> None:
    steps = _load("ci.yml")["jobs"]["test-and-synth"]["steps"]
    runs = [s.get("run") for s in steps]
    assert "make test" in runs and "make validate" in runs  # validate = make synth + the built-in validator
    makefile = (ROOT / "Makefile").read_text()
    synth = makefile.split("\nsynth:")[1].split("\n\n")[0]
    validate = makefile.split("\nvalidate:")[1].split("\n\n")[0]
    assert "cdk synth" in synth and "--no-validation" in synth  # each check once: cfn-lint runs in make test
    assert "cdk synth" in validate and "--validation " in validate
    assert any(s.get("uses", "").startswith("actions/upload-artifact") and s["with"]["path"] == "cdk.out/" for s in steps)
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make synth" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_deploy_uses_oidc_diff_before_deploy_and_gates_production() -> None:
    workflow = _load("deploy.yml")
    assert workflow["permissions"]["id-token"] == "write"
    job = workflow["jobs"]["deploy"]
    assert job["strategy"]["matrix"]["stage"] == ["staging", "production"]
    assert job["strategy"]["max-parallel"] == 1
    assert job["environment"] == "${{ matrix.stage }}"
    names = [s.get("name") for s in job["steps"]]
    assert names.index("Diff") < names.index("Deploy")
    assert any(s.get("uses", "").startswith("aws-actions/configure-aws-credentials") for s in job["steps"])
    assert not any("aws-access-key-id" in str(s) for s in job["steps"])
