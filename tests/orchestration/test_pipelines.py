"""AirflowProvisioningPipeline and AirflowProjectPipeline: V2 triggers, least privilege, checks that fail.

The buildspec commands are not only inspected: the project pipeline's DAG-import check and lint run here, as
written in the synthesized template, on a good and a broken DAG folder (Airflow from ``.venv-airflow``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from meshworks.constructs.core.offline import pin_availability_zones
from meshworks.constructs.network import PlatformVpc
from meshworks.constructs.orchestration import (
    DEFAULT_PROVISIONING_PATHS,
    AirflowEnvironment,
    AirflowProjectPipeline,
    AirflowProvisioningPipeline,
    CodeCommitSource,
    ConnectionSource,
    S3Source,
    constraints_url,
)
from tests.harness import ROOT

ENV = Environment(account="222222222222", region="eu-west-1")
AZS = ["eu-west-1a", "eu-west-1b"]
CONNECTION = "arn:aws:codeconnections:eu-west-1:222222222222:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
#: What must never appear in a check's command: it would turn a failing check into a passing stage.
SWALLOWED = re.compile(r"\|\|\s*(true|:)|exit 0|set \+e|on-failure.{0,5}CONTINUE", re.IGNORECASE)


def _stack(name: str) -> Stack:
    return Stack(App(), name, env=ENV)


def _environment(stack: Stack) -> AirflowEnvironment:
    pin_availability_zones(stack, AZS)
    network = PlatformVpc(stack, "Network", availability_zones=AZS, interface_endpoints=[])
    return AirflowEnvironment(stack, "Airflow", name="acme-airflow", vpc=network.vpc)


def _resources(template: Template, kind: str) -> dict[str, Any]:
    return template.find_resources(kind)


def _buildspecs(template: Template) -> dict[str, dict[str, Any]]:
    """Stage name (the project's description prefix is not stable: use the logical id) -> parsed buildspec."""
    specs = {}
    for logical_id, project in _resources(template, "AWS::CodeBuild::Project").items():
        text = project["Properties"]["Source"]["BuildSpec"]
        if isinstance(text, dict):  # tokens inside: Fn::Join of parts; keep the literal parts
            text = "".join(part if isinstance(part, str) else "TOKEN" for part in text["Fn::Join"][1])
        stage = next(name for name in ("Build", "Test", "Deploy", "Lint") if re.match(rf"^[A-Za-z]+{name}[0-9A-F]{{8}}$", logical_id))
        specs[stage] = json.loads(text)
    return specs


def _statements(template: Template) -> list[dict[str, Any]]:
    found = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for resource in _resources(template, kind).values():
            found += resource["Properties"]["PolicyDocument"]["Statement"]
    return found


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


@pytest.fixture(scope="module")
def provisioning() -> Template:
    stack = _stack("Provisioning")
    AirflowProvisioningPipeline(
        stack, "Provisioning", source=ConnectionSource(connection_arn=CONNECTION, repository="acme/data-platform"),
        stacks=["Foundation", "Orchestration"],
    )  # fmt: skip
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def project() -> Template:
    stack = _stack("Project")
    environment = _environment(stack)
    AirflowProjectPipeline(
        stack, "SalesDags", environment=environment,
        source=ConnectionSource(connection_arn=CONNECTION, repository="acme/sales-dags", branch="release"),
    )  # fmt: skip
    return Template.from_stack(stack)


def test_pipelines_are_v2_with_path_filtered_triggers(provisioning: Template, project: Template) -> None:
    for template, branch, paths in ((provisioning, "main", list(DEFAULT_PROVISIONING_PATHS)),
                                    (project, "release", ["dags/**", "tests/**"])):  # fmt: skip
        (pipeline,) = _resources(template, "AWS::CodePipeline::Pipeline").values()
        properties = pipeline["Properties"]
        assert properties["PipelineType"] == "V2"
        (trigger,) = properties["Triggers"]
        assert trigger["ProviderType"] == "CodeStarSourceConnection"
        (push,) = trigger["GitConfiguration"]["Push"]
        assert push["Branches"]["Includes"] == [branch]
        assert set(paths) <= set(push["FilePaths"]["Includes"])
        source = properties["Stages"][0]["Actions"][0]
        assert source["Configuration"]["DetectChanges"] is False  # only the filtered trigger starts a run


def test_provisioning_stages_build_test_and_deploy_the_full_app(provisioning: Template) -> None:
    (pipeline,) = _resources(provisioning, "AWS::CodePipeline::Pipeline").values()
    assert [stage["Name"] for stage in pipeline["Properties"]["Stages"]] == ["Source", "Build", "Test", "Deploy"]
    specs = _buildspecs(provisioning)
    assert specs["Build"]["phases"]["build"]["commands"] == ["make synth"]  # cdk.json as committed: the full config
    assert specs["Build"]["artifacts"]["base-directory"] == "cdk.out"
    assert specs["Test"]["phases"]["build"]["commands"] == ["make test"]
    (deploy,) = specs["Deploy"]["phases"]["build"]["commands"]
    # the assembly built (and tested) above is what is deployed, exactly the named stacks
    assert deploy.startswith('npx cdk deploy --app "$CODEBUILD_SRC_DIR_CloudAssembly" --require-approval never')
    assert deploy.endswith("--exclusively Foundation Orchestration")


def test_no_role_may_touch_cloudformation_or_iam_directly(provisioning: Template, project: Template) -> None:
    for template in (provisioning, project):
        for statement in _statements(template):
            for action in _actions(statement):
                assert not action.startswith(("cloudformation:", "iam:")), statement
                assert action != "*", statement


def test_the_deploy_role_only_assumes_the_bootstrap_roles(provisioning: Template) -> None:
    (policy,) = _resources(provisioning, "AWS::IAM::ManagedPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    names = sorted(json.dumps(arn).split("role/")[1].split('"')[0] for arn in statement["Resource"])
    assert names == [f"cdk-hnb659fds-{kind}-role-222222222222-eu-west-1"
                     for kind in ("deploy", "file-publishing", "image-publishing", "lookup")]  # fmt: skip
    (role,) = policy["Properties"]["Roles"]
    deploy = next(k for k in _resources(provisioning, "AWS::CodeBuild::Project") if "Deploy" in k)
    service_role = _resources(provisioning, "AWS::CodeBuild::Project")[deploy]["Properties"]["ServiceRole"]
    assert role["Ref"] == service_role["Fn::GetAtt"][0]
    # no other role of the pipeline may assume a bootstrap role
    assert len([s for s in _statements(provisioning) if "sts:AssumeRole" in _actions(s) and "cdk-" in json.dumps(s)]) == 1


def test_builds_are_encrypted_unprivileged_and_logged(provisioning: Template, project: Template) -> None:
    for template in (provisioning, project):
        groups = _resources(template, "AWS::Logs::LogGroup")
        for project_resource in _resources(template, "AWS::CodeBuild::Project").values():
            properties = project_resource["Properties"]
            assert "EncryptionKey" in properties
            assert properties["Environment"]["PrivilegedMode"] is False
            group = properties["LogsConfig"]["CloudWatchLogs"]["GroupName"]["Ref"]
            assert groups[group]["Properties"]["RetentionInDays"] == 365
            assert "KmsKeyId" in groups[group]["Properties"]
        buckets = [b for b in _resources(template, "AWS::S3::Bucket").values() if "BucketEncryption" in b["Properties"]]
        (pipeline,) = _resources(template, "AWS::CodePipeline::Pipeline").values()
        artifacts = pipeline["Properties"]["ArtifactStore"]
        assert artifacts["EncryptionKey"]["Type"] == "KMS"
        assert all(b["DeletionPolicy"] == "Retain" for b in buckets)


def test_project_checks_run_on_the_environments_airflow(project: Template) -> None:
    (pipeline,) = _resources(project, "AWS::CodePipeline::Pipeline").values()
    assert [stage["Name"] for stage in pipeline["Properties"]["Stages"]] == ["Source", "Lint", "Test", "Deploy"]
    specs = _buildspecs(project)
    assert specs["Lint"]["phases"]["build"]["commands"] == ["ruff check dags tests"]
    test = specs["Test"]
    assert test["env"]["variables"]["AIRFLOW_VERSION"] == "3.0.6"
    assert test["env"]["variables"]["AIRFLOW_CONSTRAINTS"] == constraints_url("3.0.6")
    assert '"apache-airflow==$AIRFLOW_VERSION"' in test["phases"]["install"]["commands"][0]
    assert '--constraint "$AIRFLOW_CONSTRAINTS"' in test["phases"]["install"]["commands"][0]
    assert test["phases"]["build"]["commands"][-1] == "python -m pytest tests"
    (sync,) = specs["Deploy"]["phases"]["build"]["commands"]
    assert sync.startswith('aws s3 sync "$DAGS_DIRECTORY" "s3://$DAGS_BUCKET/dags/" --delete')


def test_a_failing_command_fails_its_stage(provisioning: Template, project: Template) -> None:
    for template in (provisioning, project):
        for stage, spec in _buildspecs(template).items():
            assert spec["env"]["shell"] == "bash", stage
            assert spec["phases"]["install"]["runtime-versions"] == {"python": "3.12"}, stage  # MWAA's Python
            for phase in spec["phases"].values():
                assert phase["on-failure"] == "ABORT", stage
                for command in phase.get("commands", []):
                    assert not SWALLOWED.search(command), (stage, command)
                    assert "|" not in command.replace("||", ""), (stage, command)  # no pipe masks an exit code


def test_commands_that_hide_failures_are_refused() -> None:
    with pytest.raises(ValueError, match=r"test_commands entry 'pytest \|\| true' hides its exit code"):
        AirflowProvisioningPipeline(_stack("Bad"), "P", source=ConnectionSource(connection_arn=CONNECTION, repository="a/b"),
                                    stacks=["X"], test_commands=["pytest || true"])  # fmt: skip


def test_deploy_writes_only_under_dags(project: Template) -> None:
    writes = [s for s in _statements(project) if any(a.startswith(("s3:PutObject", "s3:DeleteObject")) for a in _actions(s))]
    dag_bucket = next(k for k in _resources(project, "AWS::S3::Bucket") if k.startswith("AirflowDagBucket"))
    for statement in writes:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            text = json.dumps(resource)
            if dag_bucket in text:
                assert text.endswith('"/dags/*"]]}'), statement


def _bucket() -> Any:
    return s3.Bucket.from_bucket_name(_stack("B"), "Src", "acme-pipeline-sources")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ConnectionSource(connection_arn="arn:aws:codestar:eu-west-1:1:x", repository="a/b"), "connection_arn"),
        (lambda: ConnectionSource(connection_arn=CONNECTION, repository="just-a-name"), "repository 'just-a-name'"),
        (lambda: S3Source(bucket=_bucket(), key="/dags.zip"), "key '/dags.zip'"),
        (lambda: S3Source(bucket=None, key="dags.zip"), "S3Source: bucket=None is not a bucket"),  # type: ignore[arg-type]
        (lambda: S3Source(bucket="acme-sources", key="dags.zip"), "bucket='acme-sources' is not a bucket"),  # type: ignore[arg-type]
        (lambda: CodeCommitSource(repository=None), "CodeCommitSource: repository=None is not a CodeCommit"),  # type: ignore[arg-type]
        (lambda: AirflowProvisioningPipeline(_stack("S"), "P", source=ConnectionSource(connection_arn=CONNECTION, repository="a/b"),
                                             stacks=["X"], encryption_key="alias/x"),  # type: ignore[arg-type]
         "AirflowProvisioningPipeline: encryption_key='alias/x' is not a KMS key"),
        (lambda: AirflowProvisioningPipeline(_stack("S"), "P", source=ConnectionSource(connection_arn=CONNECTION, repository="a/b"),
                                             stacks=["X"], log_retention=365),  # type: ignore[arg-type]
         "AirflowProvisioningPipeline: log_retention=365 is not a logs.RetentionDays"),
        (lambda: CodeCommitSource(repository="dags"), "repository='dags' is not a CodeCommit repository"),  # type: ignore[arg-type]
        (lambda: AirflowProvisioningPipeline(_stack("S"), "P", source="github", stacks=["X"]), "source must be"),  # type: ignore[arg-type]
        (lambda: AirflowProvisioningPipeline(_stack("S"), "P", source=ConnectionSource(connection_arn=CONNECTION, repository="a/b"),
                                             stacks="Orchestration"), "stacks must be"),  # fmt: skip
    ],
)
def test_bad_input_is_one_clear_message(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_every_source_kind_synthesizes_and_connections_get_both_prefixes() -> None:
    stack = _stack("Sources")
    bucket = s3.Bucket.from_bucket_name(stack, "Sources", "acme-pipeline-sources")
    repository = codecommit.Repository.from_repository_name(stack, "Repo", "data-platform")
    for name, source in (("S3", S3Source(bucket=bucket, key="platform.zip")),
                         ("CodeCommit", CodeCommitSource(repository=repository)),
                         ("Connection", ConnectionSource(connection_arn=CONNECTION.replace("codeconnections", "codestar-connections"),
                                                         repository="group/sub/repo"))):  # fmt: skip
        AirflowProvisioningPipeline(stack, name, source=source, stacks=["Orchestration"])
    template = Template.from_stack(stack)
    pipelines = _resources(template, "AWS::CodePipeline::Pipeline")
    assert {p["Properties"]["Stages"][0]["Actions"][0]["ActionTypeId"]["Provider"] for p in pipelines.values()} == {
        "S3", "CodeCommit", "CodeStarSourceConnection"}  # fmt: skip
    assert sum("Triggers" in p["Properties"] for p in pipelines.values()) == 1  # path filters: connections only
    rules = _resources(template, "AWS::Events::Rule").values()  # S3: the object's EventBridge event starts it
    (rule,) = [r for r in rules if r["Properties"]["EventPattern"]["source"] == ["aws.s3"]]
    assert rule["Properties"]["EventPattern"]["detail"]["object"]["key"] == ["platform.zip"]
    assert rule["Properties"]["EventPattern"]["detail-type"] == ["Object Created"]
    uses = {a for s in _statements(template) for a in _actions(s) if a.endswith(":UseConnection")}
    assert uses == {"codeconnections:UseConnection", "codestar-connections:UseConnection"}


# ------------------------------------------------------------------ the checks run, as the buildspec writes them

AIRFLOW_PYTHON = ROOT / ".venv-airflow" / "bin" / "python"


def _run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300)  # noqa: S603, S607


@pytest.mark.skipif(not AIRFLOW_PYTHON.exists(), reason="make install-airflow (make test runs it first)")
def test_the_dag_import_check_fails_on_a_broken_dag(project: Template, tmp_path: Path) -> None:
    spec = _buildspecs(project)["Test"]
    check = spec["phases"]["build"]["commands"][0]
    env = {**os.environ, **spec["env"]["variables"], "AIRFLOW_HOME": str(tmp_path / "home"),
           "PATH": f"{AIRFLOW_PYTHON.parent}{os.pathsep}{os.environ['PATH']}"}  # fmt: skip
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "dags", repo / "dags", ignore=shutil.ignore_patterns("tests", "__pycache__"))
    good = _run(check, repo, env)
    assert good.returncode == 0, good.stdout + good.stderr
    (repo / "dags" / "broken_dag.py").write_text("from airflow.sdk import DAG\nimport not_a_module\n")
    broken = _run(check, repo, env)
    assert broken.returncode == 1 and "broken_dag.py" in broken.stdout, broken.stdout + broken.stderr


def test_the_lint_command_fails_on_a_lint_error(project: Template, tmp_path: Path) -> None:
    (command,) = _buildspecs(project)["Lint"]["phases"]["build"]["commands"]
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    (tmp_path / "dags").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "dags" / "dag.py").write_text("import os\n")  # F401: unused import
    assert _run(command, tmp_path, env).returncode == 1
    (tmp_path / "dags" / "dag.py").write_text("VALUE = 1\n")
    assert _run(command, tmp_path, env).returncode == 0


def test_failed_executions_reach_an_encrypted_topic(provisioning: Template) -> None:
    (rule,) = _resources(provisioning, "AWS::CodeStarNotifications::NotificationRule").values()
    assert rule["Properties"]["EventTypeIds"] == ["codepipeline-pipeline-pipeline-execution-failed"]
    (topic,) = _resources(provisioning, "AWS::SNS::Topic").values()
    assert "KmsMasterKeyId" in topic["Properties"]
    (key,) = _resources(provisioning, "AWS::KMS::Key").values()
    services = {s["Principal"].get("Service") for s in key["Properties"]["KeyPolicy"]["Statement"]}
    assert "codestar-notifications.amazonaws.com" in services  # else the encrypted topic refuses the notification


@pytest.mark.parametrize(
    ("argument", "value"),
    [("stacks", "Orchestration"), ("trigger_file_paths", "dags/**"), ("test_commands", "make test"),
     ("targets", ("123456789012", "eu-west-1"))],  # fmt: skip
)
def test_a_bare_string_for_a_list_is_refused_by_name(argument: str, value: object) -> None:
    kwargs = {"stacks": ["Orchestration"], argument: value}
    with pytest.raises(ValueError, match=rf"^AirflowProvisioningPipeline: {argument} must be a list .*not one string .*pass a list, e\.g\. \["):
        AirflowProvisioningPipeline(_stack("Bare"), "P", source=ConnectionSource(connection_arn=CONNECTION, repository="a/b"), **kwargs)


def test_an_int_account_id_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"targets account.* 222222222222 is not a 12-digit AWS account id: pass it as a quoted string"):
        AirflowProvisioningPipeline(_stack("Int"), "P", source=ConnectionSource(connection_arn=CONNECTION, repository="a/b"),
                                    stacks=["X"], targets=[(222222222222, "eu-west-1")])  # fmt: skip
