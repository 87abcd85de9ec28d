"""The GitHub workflows are valid (GitHub's workflow schema) and do what the README promises."""

from __future__ import annotations

import re
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
    assert "make test" in runs and "make synth" in runs
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


def test_release_publishes_tagged_builds_through_trusted_publishing() -> None:
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    workflow = _load("release.yml")
    triggers = workflow[True]  # PyYAML reads the key `on` as True
    assert set(triggers) == {"push"} and triggers["push"] == {"tags": ["v*.*.*"]}
    assert workflow["permissions"] == {}
    build, publish = workflow["jobs"]["build"], workflow["jobs"]["publish"]
    assert build["permissions"] == {"contents": "read"}
    assert publish["permissions"] == {"id-token": "write"} and publish["needs"] == "build"
    assert publish["environment"]["name"] == "pypi"
    runs = "\n".join(s.get("run", "") for s in build["steps"])
    assert "make test" in runs and "-m build" in runs and "pyproject.toml" in runs and "CHANGELOG.md" in runs
    uploader = next(s for s in publish["steps"] if s.get("uses", "").startswith("pypa/gh-action-pypi-publish@"))
    assert not {"password", "user"} & set(uploader.get("with", {})), "trusted publishing needs no token"
    assert "secrets." not in text
    checkout = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
    # Every action pinned to a full commit SHA, its version in a comment.
    uses = re.findall(r"uses: (\S+)(.*)", text)
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref) for ref, _ in uses), uses
    assert all(re.fullmatch(r" # v\d+\.\d+\.\d+", comment) for _, comment in uses), uses


def test_version_scheme_and_changelog() -> None:
    version = re.search(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "SemVer MAJOR.MINOR.PATCH (the release tag is v<version>)"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{version}]" in changelog and "## [Unreleased]" in changelog
