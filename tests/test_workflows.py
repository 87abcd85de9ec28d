"""The GitHub workflows are valid (GitHub's workflow schema) and do what the README promises."""

from __future__ import annotations

import json
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


def _steps(workflow: dict) -> list[tuple[str, dict]]:
    return [(name, step) for name, job in workflow["jobs"].items() for step in job.get("steps", [])]


def test_deploy_runs_main_only_staging_then_production_each_behind_its_environment() -> None:
    workflow = _load("deploy.yml")
    assert workflow["permissions"] == {}  # nothing workflow-wide, in particular no id-token
    jobs = workflow["jobs"]
    assert set(jobs) == {"staging", "production"}
    assert jobs["production"]["needs"] == "staging"
    for stage, job in jobs.items():
        assert job["if"] == "github.ref == 'refs/heads/main'"  # a workflow_dispatch of another branch deploys nothing
        assert job["uses"] == "./.github/workflows/deploy-stage.yml" and job["with"] == {"stage": stage}
    stage = _load("deploy-stage.yml")
    job = stage["jobs"]["deploy"]
    assert job["environment"] == "${{ inputs.stage }}"  # every stage, staging included, waits for its reviewers
    assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_only_deploy_jobs_can_request_an_oidc_token() -> None:
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        assert "id-token" not in (workflow.get("permissions") or {}), path.name
        for name, job in workflow["jobs"].items():
            if (job.get("permissions") or {}).get("id-token") == "write":
                deploys = any(
                    "configure-aws-credentials" in s.get("uses", "") or "pypa/gh-action-pypi-publish" in s.get("uses", "")
                    for s in job.get("steps", [])
                )  # AWS deploys and PyPI trusted publishing
                assert deploys or job.get("uses", "").endswith("deploy-stage.yml"), f"{path.name}:{name}"


def test_deploy_installs_from_hash_pinned_locks_before_assuming_a_role() -> None:
    steps = _load("deploy-stage.yml")["jobs"]["deploy"]["steps"]
    runs = [s.get("run", "") + s.get("uses", "") for s in steps]
    install = runs.index("make install-locked")
    assume = next(i for i, r in enumerate(runs) if "configure-aws-credentials" in r)
    assert install < assume
    assert not any("pip install" in r or r.strip() == "make install" for r in runs[assume:])
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("install-locked:\n", 1)[1].split("\n\n", 1)[0]
    assert "--require-hashes --no-deps -r requirements-deploy.lock" in recipe and "npm ci" in recipe
    assert "--no-deps --no-build-isolation -e ." in recipe  # the package adds no unpinned dependency


def test_deploy_lock_pins_every_runtime_dependency_with_hashes() -> None:
    import tomllib
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    lock = (ROOT / "requirements-deploy.lock").read_text()
    entries = {}
    for block in lock.split("\n"):
        if block and not block[0].isspace() and "==" in block:
            name, version = block.split(" ")[0].split("==")
            entries[canonicalize_name(name)] = version
    assert lock.count("==") == len(entries) and lock.count("--hash=sha256:") >= len(entries)
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in map(Requirement, [*deps, "setuptools>=77", "wheel"]):
        name = canonicalize_name(dep.name)
        assert name in entries, f"{dep.name} missing from requirements-deploy.lock: run `make lock`"
        assert dep.specifier.contains(entries[name]), f"{dep.name}=={entries[name]} does not satisfy {dep}: run `make lock`"


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            if "uses:" in line and "./.github/workflows/" not in line:
                assert re.search(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), f"{path.name}: {line.strip()}"
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, path.name


def test_zizmor_finds_nothing_medium_or_high_in_any_workflow() -> None:
    """zizmor (offline audits) over the whole .github/workflows/ folder, so workflows added later are covered."""
    zizmor = Path(sys.executable).with_name("zizmor")
    result = subprocess.run(
        [str(zizmor), "--offline", "--format", "json", "--min-severity", "medium", str(ROOT / ".github" / "workflows")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], [(f["ident"], f["determinations"]["severity"], f["locations"][0]["symbolic"]["key"]) for f in findings]
    audited = {line.split("completed ")[-1].strip() for line in result.stderr.splitlines() if "completed" in line}
    assert {Path(a).name for a in audited} == {p.name for p in WORKFLOWS}


def test_zizmor_check_fails_on_the_old_deploy_workflow(tmp_path: Path) -> None:
    old = tmp_path / ".github" / "workflows" / "deploy.yml"
    old.parent.mkdir(parents=True)
    old.write_text(
        "on: {push: {branches: [main]}, workflow_dispatch: {}}\npermissions: {contents: read, id-token: write}\n"
        "jobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
        "      - uses: aws-actions/configure-aws-credentials@v4\n        with: {role-to-assume: x, aws-region: eu-west-1}\n"
    )
    zizmor = Path(sys.executable).with_name("zizmor")
    result = subprocess.run(
        [str(zizmor), "--offline", "--format", "json", "--min-severity", "medium", str(old.parent)],
        capture_output=True, text=True, timeout=120,
    )
    assert {f["ident"] for f in json.loads(result.stdout)} >= {"unpinned-uses", "artipacked"}


def test_codeowners_cover_contracts_and_workflows() -> None:
    rules = [line.split() for line in (ROOT / ".github" / "CODEOWNERS").read_text().splitlines() if line.strip() and not line.startswith("#")]
    owned = {rule[0]: rule[1:] for rule in rules}
    for path in ("/contracts/", "/.github/workflows/", "/.github/CODEOWNERS"):
        assert owned.get(path), f"CODEOWNERS has no owner for {path}"


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
