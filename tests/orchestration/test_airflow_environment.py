"""AirflowEnvironment: private by default, object versions wired in, least privilege, zero inherited findings."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack, Validations
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from meshworks.constructs.core.offline import pin_availability_zones
from meshworks.constructs.network import PlatformVpc
from meshworks.constructs.orchestration import DEFAULT_AIRFLOW_VERSION, AirflowEnvironment, requirements_txt
from tests.harness import _read_report

ENV = Environment(account="222222222222", region="eu-west-1")
AZS = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]


def build(tmp: Path, **kwargs: Any) -> tuple[Template, list[Any], Path]:
    """A user's app: one stack, a PlatformVpc and an AirflowEnvironment, both nag packs on."""
    app = App(outdir=str(tmp), builtin_cloud_formation_validation=False)
    stack = Stack(app, "Airflow", env=ENV)
    pin_availability_zones(stack, AZS)
    network = PlatformVpc(stack, "Network", availability_zones=AZS, interface_endpoints=[])
    AirflowEnvironment(stack, "Env", name="acme-airflow", vpc=network.vpc, **kwargs)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))
    with contextlib.suppress(RuntimeError):  # findings fail the synth; the report says which
        app.synth()
    template = json.loads((tmp / "Airflow.template.json").read_text())
    return Template.from_json(template), _read_report(tmp), tmp


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, list[Any], Path]:
    return build(tmp_path_factory.mktemp("default"), requirements=["apache-airflow-providers-amazon"], secrets_backend=True)


def test_used_alone_it_leaves_no_finding(default: tuple[Template, list[Any], Path]) -> None:
    _, findings, _ = default
    assert [str(f) for f in findings] == []


def test_secure_defaults(default: tuple[Template, list[Any], Path]) -> None:
    template, _, _ = default
    template.has_resource_properties(
        "AWS::MWAA::Environment",
        {
            "AirflowVersion": DEFAULT_AIRFLOW_VERSION,
            "WebserverAccessMode": "PRIVATE_ONLY",
            "KmsKey": Match.any_value(),
            "WorkerReplacementStrategy": "GRACEFUL",
            "WeeklyMaintenanceWindowStart": "SUN:03:00",
            "Schedulers": 2,
            "LoggingConfiguration": {
                kind: {"Enabled": True, "LogLevel": "INFO", "CloudWatchLogGroupArn": Match.any_value()}
                for kind in ("DagProcessingLogs", "SchedulerLogs", "TaskLogs", "WebserverLogs", "WorkerLogs")
            },
            "AirflowConfigurationOptions": {
                "secrets.backend": "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend",
                "secrets.backend_kwargs": Match.string_like_regexp("airflow/connections"),
            },
        },
    )
    groups = template.find_resources("AWS::Logs::LogGroup")
    names = sorted(g["Properties"].get("LogGroupName", "") for g in groups.values())
    assert [n for n in names if n.startswith("airflow-")] == [
        f"airflow-acme-airflow-{s}" for s in ("DAGProcessing", "Scheduler", "Task", "WebServer", "Worker")
    ]
    for group in groups.values():
        assert group["DeletionPolicy"] == "Retain" and group["Properties"]["RetentionInDays"] == 365
    (subnets,) = [e["Properties"]["NetworkConfiguration"]["SubnetIds"] for e in template.find_resources("AWS::MWAA::Environment").values()]
    assert len(subnets) == 2


def test_requirements_plugins_and_startup_object_versions_are_wired(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins.zip"
    plugins.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip archive
    template, findings, _ = build(tmp_path / "out", plugins_zip=plugins, startup_script="#!/bin/sh\nexport X=1\n")
    assert [str(f) for f in findings] == []
    (environment,) = template.find_resources("AWS::MWAA::Environment").values()
    properties = environment["Properties"]
    writers = template.find_resources("Custom::AWS")
    for field, key in (("RequirementsS3ObjectVersion", "requirements/requirements.txt"),
                       ("StartupScriptS3ObjectVersion", "startup/startup.sh")):
        logical_id, attribute = properties[field]["Fn::GetAtt"]
        assert attribute == "VersionId"
        call = json.loads(json.dumps(writers[logical_id]["Properties"]["Update"]))
        assert key in json.dumps(call)  # the object whose version the environment reads
    selected = properties["PluginsS3ObjectVersion"]["Fn::Select"]
    logical_id, attribute = selected[1]["Fn::GetAtt"]
    assert attribute == "SourceObjectVersionIds" and logical_id in template.find_resources("Custom::CDKBucketDeployment")
    assert properties["RequirementsS3Path"] == "requirements/requirements.txt"
    assert properties["StartupScriptS3Path"] == "startup/startup.sh"


def _requirements_writer(template: Template) -> str:
    (environment,) = template.find_resources("AWS::MWAA::Environment").values()
    logical_id = environment["Properties"]["RequirementsS3ObjectVersion"]["Fn::GetAtt"][0]
    return json.dumps(template.find_resources("Custom::AWS")[logical_id]["Properties"]["Update"])


def test_a_changed_requirements_file_changes_what_the_environment_points_at(tmp_path: Path) -> None:
    """A new text is a new physical id, hence a new PutObject and a new VersionId the environment reads."""
    first = _requirements_writer(build(tmp_path / "a", requirements=["pandas==2.2.3"])[0])
    second = _requirements_writer(build(tmp_path / "b", requirements=["pandas==2.3.0"])[0])
    again = _requirements_writer(build(tmp_path / "c", requirements=["pandas==2.2.3"])[0])
    assert "pandas==2.3.0" in second and first != second
    assert first == again  # an unchanged file triggers no update


def test_requirements_carry_the_constraint_line_of_the_version() -> None:
    text = requirements_txt("3.0.6", ["b", "a==1"])
    assert text.splitlines() == [
        '--constraint "https://raw.githubusercontent.com/apache/airflow/constraints-3.0.6/constraints-3.12.txt"',
        "a==1",
        "b",
    ]


def test_the_execution_role_is_least_privilege(default: tuple[Template, list[Any], Path]) -> None:
    template, _, _ = default
    statements = [
        s
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if "ExecutionRole" in json.dumps(policy["Properties"]["Roles"])
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    star = {a for s in statements if s["Resource"] == "*" for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert star == {"s3:GetAccountPublicAccessBlock", "logs:DescribeLogGroups", "cloudwatch:PutMetricData"}
    secrets = [s for s in statements if "secretsmanager:GetSecretValue" in s["Action"]]
    assert "airflow/connections/*" in json.dumps(secrets) and "airflow/variables/*" in json.dumps(secrets)
    assert not any(a.endswith(":*") for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"airflow_version": "3.2.1"}, "airflow_version '3.2.1' is not one CloudFormation accepts"),
        ({"name": "1bad"}, "name '1bad' is invalid"),
        ({"environment_class": "mw2.small"}, "environment_class 'mw2.small'"),
        ({"min_workers": 5, "max_workers": 2}, "min_workers=5, max_workers=2"),
        ({"schedulers": 1}, "schedulers=1: use 2 to 5"),
        ({"webserver_access_mode": "PUBLIC"}, "webserver_access_mode 'PUBLIC'"),
        ({"requirements": "pandas"}, "requirements must be a list"),
        ({"requirements": ["--index-url http://x"]}, "not a plain requirement specifier"),
        ({"weekly_maintenance_window_start": "SUN:03:15"}, "weekly_maintenance_window_start 'SUN:03:15'"),
        ({"plugins_zip": "missing.zip"}, "plugins_zip 'missing.zip' is not an existing .zip file"),
    ],
)
def test_bad_arguments_are_one_clear_message(kwargs: dict[str, Any], message: str) -> None:
    stack = Stack(App(builtin_cloud_formation_validation=False), "S", env=ENV)
    pin_availability_zones(stack, AZS)
    network = PlatformVpc(stack, "Network", availability_zones=AZS, interface_endpoints=[])
    with pytest.raises(ValueError, match=r"^AirflowEnvironment: .*" + re.escape(message)):
        AirflowEnvironment(stack, "Env", name=kwargs.pop("name", "acme"), vpc=network.vpc, **kwargs)
