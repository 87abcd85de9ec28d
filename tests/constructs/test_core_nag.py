"""``core.nag``: cdk-nag's rendering of policies and the synth-time acknowledgement of IAM wildcards.

One small app (two stacks, so a grant crosses stacks) is synthesized once with the AWS Solutions pack;
its validation report says which findings remain and which were acknowledged, with which id.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, CfnResource, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from meshworks.constructs.core import PlatformFunction, PlatformKey
from meshworks.constructs.core.nag import (
    BUCKET_OBJECTS,
    CDK_ASSET_OBJECTS,
    CDK_GRANT_ACTIONS,
    acknowledge,
    acknowledge_policies,
    arn,
    flatten,
    wildcard_findings,
)
from tests.jsii_calls import round_trips

Report = dict[str, list[tuple[str, str, str]]]  # "violations" / "suppressed" -> (rule, construct path, reason)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    outdir: Path = tmp_path_factory.mktemp("nag")
    app = App(outdir=str(outdir), builtin_cloud_formation_validation=False)
    data = Stack(app, "Data")
    bucket = s3.Bucket(data, "Lake")
    jobs = Stack(app, "Jobs")

    # Rules declared before the grants exist; the cross-stack grant renders as an export name.
    reader = Construct(jobs, "Reader")
    role = iam.Role(reader, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    acknowledge_policies(reader, [CDK_GRANT_ACTIONS, BUCKET_OBJECTS])
    bucket.grant_read(role)
    role.add_to_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=["*"]))  # nobody explains this

    # A PlatformFunction acknowledges its own findings; what the caller grants stays the caller's.
    function = PlatformFunction(
        jobs, "Fn", package="mesh_notifier", handler="mesh_notifier.handler.main", encryption_key=PlatformKey(jobs, "Key")
    )
    s3.Bucket.from_bucket_name(jobs, "Markers", "acme-markers").grant_read(function.role, "*_SUCCESS")

    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError):  # the remaining findings fail the synthesis; the report is written anyway
        app.synth()
    plugins = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]

    def rows(key: str) -> list[tuple[str, str, str]]:
        return [
            (violation["ruleName"], construct["constructPath"], violation.get("reason", ""))
            for plugin in plugins
            for violation in plugin.get(key, [])
            for construct in violation["violatingConstructs"]
        ]

    return {"violations": rows("violations"), "suppressed": rows("suppressedViolations")}


def _rules(rows: list[tuple[str, str, str]], path_prefix: str) -> set[str]:
    return {rule for rule, path, _ in rows if path.startswith(path_prefix) and rule.startswith("AwsSolutions-")}


def test_matching_wildcards_are_acknowledged_with_the_rule_reason(report: Report) -> None:
    suppressed = [row for row in report["suppressed"] if row[1] == "Jobs/Reader/Role/DefaultPolicy/Resource"]
    reasons = {rule: reason for rule, _, reason in suppressed}
    assert reasons["AwsSolutions-IAM5[Action::s3:GetObject*]"] == CDK_GRANT_ACTIONS[1]
    assert reasons["AwsSolutions-IAM5[Action::s3:List*]"] == CDK_GRANT_ACTIONS[1]


def test_an_unmatched_wildcard_remains_a_finding(report: Report) -> None:
    assert _rules(report["violations"], "Jobs/Reader/") == {"AwsSolutions-IAM5[Resource::*]"}


def test_cross_stack_references_render_as_cdk_nag_renders_them(report: Report) -> None:
    (object_rule,) = [
        rule
        for rule, path, _ in report["suppressed"]
        if path.startswith("Jobs/Reader/") and rule.startswith("AwsSolutions-IAM5[Resource::")
    ]
    # {"Fn::Join": ["", [{"Fn::ImportValue": "Data:ExportsOutputFnGetAttLake...Arn..."}, "/*"]]}
    assert re.fullmatch(r"AwsSolutions-IAM5\[Resource::Data:ExportsOutputFnGetAttLake\w+Arn\w+/\*\]", object_rule)


def test_platform_function_acknowledges_its_own_findings_only(report: Report) -> None:
    suppressed = _rules(report["suppressed"], "Jobs/Fn/")
    assert "AwsSolutions-L1" in suppressed
    assert {
        "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
        "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
    } <= suppressed
    assert any(rule.endswith(":log-stream:*]") for rule in suppressed)
    assert _rules(report["violations"], "Jobs/Fn/") == {  # the caller's grant, for the caller to explain
        "AwsSolutions-IAM5[Action::s3:GetObject*]",
        "AwsSolutions-IAM5[Action::s3:GetBucket*]",
        "AwsSolutions-IAM5[Action::s3:List*]",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::acme-markers/*_SUCCESS]",
    }


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ({"Fn::GetAtt": ["Logs1C30", "Arn"]}, "<Logs1C30.Arn>"),
        ({"Ref": "AWS::Partition"}, "<AWS::Partition>"),
        ({"Fn::Sub": "arn:${AWS::Partition}:s3:::b/*"}, "arn:<AWS::Partition>:s3:::b/*"),
        ({"Fn::ImportValue": "Data:ExportsOutputFnGetAttLakeArn"}, "Data:ExportsOutputFnGetAttLakeArn"),
        (
            {"Fn::Join": ["", [{"Fn::ImportValue": "Data:ExportsOutputFnGetAttLakeArn"}, "/*"]]},
            "Data:ExportsOutputFnGetAttLakeArn/*",
        ),
        ({"Fn::Select": [0, ["a", "b"]]}, '{"Fn::Select":[0,["a","b"]]}'),
    ],
)
def test_flatten_renders_like_cdk_nag(value: Any, rendered: str) -> None:
    assert flatten(value) == rendered


def test_wildcard_findings_of_a_document() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject*", "Resource": {"Fn::Join": ["", [{"Ref": "B"}, "/*"]]}},
            {"Effect": "Allow", "Action": ["s3:GetObject*", "sqs:SendMessage"], "Resource": ["*", "arn:aws:sqs:x"]},
            {"Effect": "Deny", "Action": "*", "Resource": "*"},
        ]
    }
    assert wildcard_findings(document) == ["Action::s3:GetObject*", "Resource::<B>/*", "Resource::*"]



@pytest.mark.parametrize(
    ("pattern", "token_form", "literal_form"),
    [
        (arn("sns", r"acme-mesh-refreshed-\*"), "arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:acme-mesh-refreshed-*",
         "arn:aws:sns:eu-west-1:123456789012:acme-mesh-refreshed-*"),
        (arn("elasticmapreduce", r"cluster/\*"), "arn:<AWS::Partition>:elasticmapreduce:<AWS::Region>:<AWS::AccountId>:cluster/*",
         "arn:aws-us-gov:elasticmapreduce:us-gov-west-1:123456789012:cluster/*"),
        (CDK_ASSET_OBJECTS[0].removeprefix("Resource::"), "arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*",
         "arn:aws:s3:::cdk-hnb659fds-assets-123456789012-eu-west-1/*"),
        (BUCKET_OBJECTS[0].removeprefix("Resource::"), "arn:<AWS::Partition>:s3:::acme-<AWS::AccountId>-<AWS::Region>/raw/*",
         "arn:aws-cn:s3:::acme-123456789012-cn-north-1/raw/*"),
    ],
)
def test_arn_patterns_accept_token_and_literal_forms(pattern: str, token_form: str, literal_form: str) -> None:
    """An env-agnostic stack renders ``<AWS::Region>``/``<AWS::AccountId>`` where a stack with ``env`` has literals."""
    assert re.fullmatch(pattern, token_form) and re.fullmatch(pattern, literal_form)
    assert not re.fullmatch(pattern, literal_form.replace("123456789012", "*"))  # still one account


def test_library_arn_patterns_are_built_from_the_shared_parts() -> None:
    """Hand-written region/account parts (``[^:]+``, ``\\d{12}``) missed the token form of env-agnostic stacks:
    every ``Resource::arn:`` pattern of the library uses ``arn()`` (or is an S3 ARN, which has neither part)."""
    library = Path(__file__).resolve().parents[2] / "constructs"
    offenders = [
        f"{path.relative_to(library)}: {match.group(0)}"
        for path in library.rglob("*.py")
        if path.name != "nag.py"
        for match in re.finditer(r"PARTITION \+ r\":(?!s3:::)[^\"]*\"", path.read_text())
    ]
    assert offenders == [], offenders


# ------------------------------------------------------------------------ what acknowledging costs (issue 15)
# Counted in jsii round trips, never timed: each is a JSON message each way to the Node kernel.


def test_acknowledging_many_rules_on_one_resource_is_one_call() -> None:
    stack = Stack(App(), "Cost")
    queue = CfnResource(stack, "Queue", type="AWS::SQS::Queue")
    reasons = {f"AwsSolutions-IAM5[Action::sqs:Op{index}*]": "Explained here, at length, for this test." for index in range(8)}
    with round_trips() as trips:
        acknowledge(queue, reasons)
    assert sum(trips.values()) == 2, trips  # Validations.of + acknowledge; before: 2 per rule (16)
    entries = [entry.data for entry in queue.node.metadata if entry.type == "aws:cdk:acknowledged-rules"]
    assert entries == [{f"AwsSolutions::{rule}": reason} for rule, reason in reasons.items()]  # one entry each, in order


def test_acknowledging_policies_calls_back_once_per_stage_not_per_construct(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    stack = Stack(app, "Cost")
    scope = Construct(stack, "Team")
    for index in range(30):  # constructs under the scope that are not policies
        CfnResource(scope, f"Queue{index}", type="AWS::SQS::Queue")
    role = iam.Role(scope, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["sqs:Send*"], resources=["*"]))
    acknowledge_policies(scope, [(r"Action::sqs:Send\*", "The team's queues are named at run time by its jobs.")])
    acknowledge_policies(stack, [(r"Action::sqs:Send\*", "The team's queues are named at run time by its jobs.")])
    with round_trips() as trips:
        app.synth()
    # one callback for the Stage's validation; an aspect called back once per construct below the scope (33)
    assert trips["_CompleteRequest"] <= 2, trips
    policy = role.node.find_child("DefaultPolicy").node.default_child
    acknowledged = [entry.data for entry in policy.node.metadata if entry.type == "aws:cdk:acknowledged-rules"]
    assert acknowledged == [{"AwsSolutions::AwsSolutions-IAM5[Action::sqs:Send*]":
                             "The team's queues are named at run time by its jobs."}]  # the same pair once


def _policy_app(tmp_path: Path, scopes: int) -> tuple[App, iam.Role]:
    """A role whose policy is held by ``scopes`` nested scopes, each acknowledging its wildcard."""
    app = App(outdir=str(tmp_path / str(scopes)), builtin_cloud_formation_validation=False)
    scope: Construct = Stack(app, "Cost")
    chain = []
    for index in range(scopes):
        scope = Construct(scope, f"Level{index}")
        chain.append(scope)
    role = iam.Role(scope, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["sqs:Send*"], resources=["*"]))
    for index, level in enumerate(reversed(chain)):  # registered innermost first
        acknowledge_policies(level, [(r"Action::sqs:Send\*", f"Reason of level {len(chain) - 1 - index}, long enough.")])
    return app, role


def test_a_policy_held_by_many_scopes_is_resolved_and_acknowledged_once(tmp_path: Path) -> None:
    costs = {}
    for scopes in (1, 12):
        app, role = _policy_app(tmp_path, scopes)
        with round_trips() as trips:
            app.synth()
        costs[scopes] = trips
    # each further scope costs its own listing (node + find_all), never the policy's resolve and acknowledgement:
    # before, each (scope, policy) pair was one more callback and five more round trips
    assert sum(costs[12].values()) - sum(costs[1].values()) <= 2 * 11, costs
    assert costs[12]["_CompleteRequest"] == costs[1]["_CompleteRequest"], costs


def test_reasons_of_several_scopes_are_kept_outermost_first(tmp_path: Path) -> None:
    app, role = _policy_app(tmp_path, 3)
    app.synth()
    policy = role.node.find_child("DefaultPolicy").node.default_child
    reasons = [
        reason
        for entry in policy.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
        for reason in entry.data.values()
    ]
    # the order the tree is validated in (outer scope first), as when each scope had a validation of its own
    assert reasons == [f"Reason of level {index}, long enough." for index in range(3)]


def test_grants_inside_a_nested_stage_are_acknowledged(tmp_path: Path) -> None:
    from aws_cdk import Stage

    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    stage = Stage(app, "Prod")
    stack = Stack(stage, "Jobs")
    function = PlatformFunction(
        stack, "Fn", package="mesh_notifier", handler="mesh_notifier.handler.main", encryption_key=PlatformKey(stack, "Key")
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises on any finding: the function's own wildcards are acknowledged inside the Stage too
    policy = function.role.node.find_child("DefaultPolicy").node.default_child
    assert any(entry.type == "aws:cdk:acknowledged-rules" for entry in policy.node.metadata)


def test_a_stage_acknowledging_on_itself_writes_them_into_its_own_assembly(tmp_path: Path) -> None:
    """A user's Stage calling ``acknowledge_policies(self, ...)``: the records are in that Stage's cloud assembly
    (written when the Stage synthesizes, before its parent's validations run), as each scope's own validation did."""
    from aws_cdk import Stage

    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    stage = Stage(app, "Prod")
    role = iam.Role(Stack(stage, "Jobs"), "Role", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["sqs:Send*"], resources=["arn:aws:sqs:eu-west-1:111111111111:q"]))
    acknowledge_policies(stage, [(r"Action::sqs:Send\*", "Queues are named at run time by the jobs.")])
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()
    (metadata_file,) = (tmp_path / "assembly-Prod").glob("*.metadata.json")
    entries = [entry for entries in json.loads(metadata_file.read_text()).values() for entry in entries]
    assert [entry["data"] for entry in entries if entry["type"] == "aws:cdk:acknowledged-rules"] == [
        {"AwsSolutions::AwsSolutions-IAM5[Action::sqs:Send*]": "Queues are named at run time by the jobs."}
    ]


def test_an_app_wide_reason_reaches_a_nested_stages_assembly_outermost_first(tmp_path: Path) -> None:
    """A nested Stage writes its assembly before the App is validated: its own validation applies the App's
    registrations too (found by review: the assembly held only the inner reason, the report the outer one)."""
    from aws_cdk import Stage

    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    role = iam.Role(Stack(Stage(app, "Prod"), "Jobs"), "Role", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["sqs:Send*"], resources=["arn:aws:sqs:eu-west-1:111111111111:q"]))
    acknowledge_policies(app, [(r"Action::sqs:Send\*", "OUTER: the app's reason, long enough.")])
    acknowledge_policies(role, [(r"Action::sqs:Send\*", "INNER: the role's reason, long enough.")])
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()
    (metadata_file,) = (tmp_path / "assembly-Prod").glob("*.metadata.json")
    entries = [entry for entries in json.loads(metadata_file.read_text()).values() for entry in entries]
    reasons = [reason for entry in entries if entry["type"] == "aws:cdk:acknowledged-rules" for reason in entry["data"].values()]
    assert reasons == ["OUTER: the app's reason, long enough.", "INNER: the role's reason, long enough."]
    policy = role.node.find_child("DefaultPolicy").node.default_child
    in_memory = [r for e in policy.node.metadata if e.type == "aws:cdk:acknowledged-rules" for r in e.data.values()]
    assert in_memory == reasons  # the App's validation found them done: nothing twice
