"""Core building blocks: Lambda assets, PlatformFunction defaults, nag acknowledgements, keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from meshworks.constructs.core import LAMBDAS_ROOT, PlatformFunction, PlatformKey, acknowledge, lambda_code

PACKAGE = "mesh_notifier"


@pytest.fixture(scope="module")
def function_stack(tmp_path_factory: pytest.TempPathFactory) -> tuple[Stack, Path]:
    outdir = tmp_path_factory.mktemp("fn")
    (LAMBDAS_ROOT / PACKAGE / "__pycache__").mkdir(exist_ok=True)
    stray = LAMBDAS_ROOT / PACKAGE / "__pycache__" / "stray.cpython-311.pyc"
    stray.write_bytes(b"bytecode")
    try:
        app = App(outdir=str(outdir), builtin_cloud_formation_validation=False)
        stack = Stack(app, "Fn")
        PlatformFunction(stack, "Fn", package=PACKAGE, handler=f"{PACKAGE}.handler.main", encryption_key=PlatformKey(stack, "Key"))
        app.synth()
    finally:
        stray.unlink()
    return stack, outdir


def test_function_defaults(function_stack: tuple[Stack, Path]) -> None:
    template = Template.from_stack(function_stack[0])
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.12",
            "Architectures": ["arm64"],
            "Handler": f"{PACKAGE}.handler.main",
            "ReservedConcurrentExecutions": 5,
            "DeadLetterConfig": {"TargetArn": Match.any_value()},
            "KmsKeyArn": Match.any_value(),
            "LoggingConfig": {"LogGroup": Match.any_value()},
        },
    )
    template.has_resource_properties("AWS::Lambda::EventInvokeConfig", {"MaximumRetryAttempts": 2})
    template.has_resource_properties("AWS::SQS::Queue", {"KmsMasterKeyId": Match.any_value()})
    roles = template.find_resources("AWS::IAM::Role")
    assert all("ManagedPolicyArns" not in r["Properties"] for r in roles.values())


def test_asset_holds_only_its_package_without_bytecode(function_stack: tuple[Stack, Path]) -> None:
    outdir = function_stack[1]
    assets = json.loads((outdir / "Fn.assets.json").read_text())["files"]
    (asset,) = [a for a in assets.values() if a["source"]["packaging"] == "zip"]
    folder = outdir / asset["source"]["path"]
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert f"{PACKAGE}/handler.py" in files
    assert all(f.startswith(f"{PACKAGE}/") for f in files), files
    assert not any("__pycache__" in f or f.endswith(".pyc") for f in files)


def test_unknown_lambda_package_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no Lambda package 'nope'"):
        lambda_code("nope")


def test_acknowledge_needs_a_known_pack_and_a_real_reason() -> None:
    stack = Stack(App(builtin_cloud_formation_validation=False), "Nag")
    bucket = s3.Bucket(stack, "B")
    with pytest.raises(ValueError, match="needs a real reason"):
        acknowledge(bucket, {"AwsSolutions-S1": "ok"})
    with pytest.raises(ValueError, match="unknown cdk-nag rule id"):
        acknowledge(bucket, {"Made-Up-1": "a sufficiently long reason for the test"})
    acknowledge(bucket, {"AwsSolutions-S1": "a sufficiently long reason for the test"})
    metadata = [m.data for m in bucket.node.default_child.node.metadata]
    assert any("AwsSolutions::AwsSolutions-S1" in json.dumps(d, default=str) for d in metadata)


def test_platform_key_rotates_and_admits_logs_once() -> None:
    stack = Stack(App(builtin_cloud_formation_validation=False), "Key")
    key = PlatformKey(stack, "Key")
    key.allow_cloudwatch_logs()
    key.allow_cloudwatch_logs()
    template = Template.from_stack(stack)
    template.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Retain", "Properties": Match.object_like({"EnableKeyRotation": True})})
    statements = template.find_resources("AWS::KMS::Key")
    (resource,) = statements.values()
    sids = [s.get("Sid") for s in resource["Properties"]["KeyPolicy"]["Statement"]]
    assert sids.count("AllowCloudWatchLogsOfThisAccount") == 1
