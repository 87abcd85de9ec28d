"""change_plan: classification of two template dictionaries, acknowledgements, the report, the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from meshworks.stacks import change_plan as cp
from meshworks.stacks.cli import main


def template(**resources: dict) -> dict:
    return {"Resources": resources}


def bucket(name: str = "acme-raw", **extra) -> dict:
    return {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "Properties": {"BucketName": name, **extra}}


def by_id(changes: list[cp.ResourceChange]) -> dict[str, cp.ResourceChange]:
    return {change.logical_id: change for change in changes}


def test_create_only_properties_come_from_the_shipped_schemas() -> None:
    assert ("LFTags",) in cp.create_only_properties("AWS::LakeFormation::TagAssociation")
    assert ("TableInput", "Name") in cp.create_only_properties("AWS::Glue::Table")
    assert ("StatementId",) in cp.create_only_properties("AWS::Events::EventBusPolicy")
    assert cp.create_only_properties("Custom::Anything") == ()


def test_identical_templates_have_no_changes() -> None:
    assert cp.compare_templates("S", template(B=bucket()), template(B=bucket())) == []


def test_in_place_update_names_the_properties() -> None:
    (change,) = cp.compare_templates("S", template(B=bucket()), template(B=bucket(VersioningConfiguration={})))
    assert (change.action, change.properties, change.reasons) == ("modified", ("VersioningConfiguration",), ())
    assert not change.destructive


def test_create_only_change_replaces_and_names_the_property() -> None:
    (change,) = cp.compare_templates("S", template(B=bucket("a")), template(B=bucket("b")))
    assert (change.action, change.reasons, change.risk) == ("replaced", ("BucketName",), "stateful")
    assert change.destructive


def test_nested_create_only_property_and_list_wildcards() -> None:
    def table(name: str, comment: str) -> dict:
        columns = [{"Name": "id", "Type": "bigint", "Comment": comment}]
        return {"Type": "AWS::Glue::Table", "Properties": {"DatabaseName": "sales", "CatalogId": "1",
                "TableInput": {"Name": name, "StorageDescriptor": {"Columns": columns}}}}  # fmt: skip

    comment = cp.compare_templates("S", template(T=table("a", "x")), template(T=table("a", "y")))
    assert [(c.action, c.properties) for c in comment] == [("modified", ("TableInput",))]
    renamed = cp.compare_templates("S", template(T=table("a", "x")), template(T=table("b", "x")))
    assert [(c.action, c.reasons) for c in renamed] == [("replaced", ("TableInput/Name",))]


def test_replacement_cascades_through_create_only_references() -> None:
    subnet = {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24"}}
    moved = {**subnet, "Properties": {**subnet["Properties"], "CidrBlock": "10.0.1.0/24"}}
    nat = {"Type": "AWS::EC2::NatGateway", "Properties": {"SubnetId": {"Ref": "Subnet"}}}
    found = by_id(cp.compare_templates("S", template(Subnet=subnet, Nat=nat), template(Subnet=moved, Nat=nat)))
    assert found["Subnet"].reasons == ("CidrBlock",)
    assert found["Nat"].action == "replaced" and found["Nat"].reasons == ("SubnetId (refers to replaced Subnet)",)


def test_added_removed_and_retained() -> None:
    found = by_id(cp.compare_templates("S", template(Old=bucket("o")), template(New=bucket("n"))))
    assert found["New"].action == "added" and not found["New"].destructive
    assert found["Old"].action == "removed" and found["Old"].retained and found["Old"].destructive


def test_type_change_replaces_and_metadata_alone_is_no_change() -> None:
    queue = {"Type": "AWS::SQS::Queue", "Properties": {}}
    topic = {"Type": "AWS::SNS::Topic", "Properties": {}}
    (change,) = cp.compare_templates("S", template(X=queue), template(X=topic))
    assert change.action == "replaced" and change.reasons == ("Type AWS::SQS::Queue -> AWS::SNS::Topic",)
    moved = {**queue, "Metadata": {"aws:cdk:path": "S/Other"}}
    assert cp.compare_templates("S", template(X=queue), template(X=moved)) == []


def test_emr_serverless_updates_need_the_application_stopped() -> None:
    app = {"Type": "AWS::EMRServerless::Application", "Properties": {"Type": "SPARK", "ReleaseLabel": "emr-7.5.0"}}
    newer = {**app, "Properties": {**app["Properties"], "ReleaseLabel": "emr-7.6.0"}}
    (change,) = cp.compare_templates("S", template(A=app), template(A=newer))
    assert change.action == "modified" and change.destructive and "STARTED" in change.note


def test_moved_stack_recreates_everything() -> None:
    base = cp.Assembly({"Hub": template(B=bucket())}, {"Hub": "acme-dev-hub @ 1/eu-west-1"})
    head = cp.Assembly({"Hub": template(B=bucket())}, {"Hub": "acme-test-hub @ 1/eu-west-1"})
    (plan,) = cp.compare_assemblies(base, head)
    assert plan.status == "moved" and [c.action for c in plan.changes] == ["replaced"]
    assert "acme-dev-hub" in plan.changes[0].reasons[0]


def test_acknowledgements_file_and_allow(tmp_path: Path) -> None:
    change = cp.ResourceChange("Hub", "Bucket1", "AWS::S3::Bucket", "removed")
    ack_file = tmp_path / "acks.yml"
    ack_file.write_text("- resource: Hub/Bucket*\n  reason: data moved to the new lake (ticket 42)\n")
    acks = cp.Acknowledgements.load(ack_file)
    assert acks.find(change).reason == "data moved to the new lake (ticket 42)"
    assert cp.blocking([cp.StackPlan("Hub", [change])], acks) == []
    assert cp.blocking([cp.StackPlan("Hub", [change])], cp.Acknowledgements()) == [change]
    ack_file.write_text("- resource: Hub/Bucket1\n")
    with pytest.raises(cp.PlanError, match="entry 1: needs 'resource: <stack>/<logical id>' and a non-empty 'reason'"):
        cp.Acknowledgements.load(ack_file)
    with pytest.raises(cp.PlanError, match="expected <stack>/<logical id>"):
        cp.Acknowledgements().add(["Bucket1"])
    assert cp.Acknowledgements.load(tmp_path / "missing.yml").entries == []


def test_markdown_report_says_what_blocks_and_why() -> None:
    base = cp.Assembly({"S": template(B=bucket("a"))}, {"S": "s @ 1/r"})
    head = cp.Assembly({"S": template(B=bucket("b"))}, {"S": "s @ 1/r"})
    report = cp.render_markdown(cp.compare_assemblies(base, head))
    assert "This change replaces 1 resource." in report
    assert "**1 blocking change**" in report and "plan-acknowledgements.yml" in report
    assert "| replaced | `B` | AWS::S3::Bucket |" in report and "create-only `BucketName`" in report
    assert cp.render_markdown([]).splitlines()[2] == "No resource changes."


def test_the_headline_never_reads_all_clear_next_to_a_blocking_change() -> None:
    export = cp.ResourceChange("Foundation", "ExportVpcId", cp.EXPORT_TYPE, "modified")
    refused = cp.ResourceChange("Orchestration", "Env", "AWS::MWAA::Environment", "modified", refused="AWS refuses it")
    queue = cp.ResourceChange("Hub", "Queue", "AWS::SQS::Queue", "modified")
    (headline,) = [line for line in cp.render_markdown([cp.StackPlan("Foundation", [export, queue]), cp.StackPlan(
        "Orchestration", [refused])]).splitlines() if line.startswith("This change")]
    assert headline == (
        "This change modifies 3 resources; nothing is replaced or removed, but 2 changes would be refused by AWS "
        "or stop a running resource (see the blocking changes below)."
    )
    assert cp.render_markdown([cp.StackPlan("Hub", [queue])]).splitlines()[2] == (
        "This change modifies 1 resource; nothing is replaced or removed."
    )


# ---- the command -----------------------------------------------------------------------------------


def write_assembly(directory: Path, templates: dict[str, dict], names: dict[str, str] | None = None) -> Path:
    directory.mkdir()
    artifacts = {}
    for stack, body in templates.items():
        (directory / f"{stack}.template.json").write_text(json.dumps(body))
        artifacts[stack] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://111111111111/eu-west-1",
            "properties": {"templateFile": f"{stack}.template.json", "stackName": (names or {}).get(stack, stack)},
        }
    (directory / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    return directory


def test_cli_exit_codes_allow_and_summary_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = write_assembly(tmp_path / "base", {"S": template(B=bucket("a"))})
    head = write_assembly(tmp_path / "head", {"S": template(B=bucket("b"))})
    args = ["plan", "--repo", str(tmp_path), "--base-assembly", str(base), "--head-assembly", str(head)]
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert "| replaced | `B` |" in out and "1 blocking change(s)" in err
    summary = tmp_path / "summary.md"
    assert main([*args, "--allow", "S/B", "--output", str(summary)]) == 0
    assert "acknowledged: --allow" in summary.read_text()
    assert main(["plan", "--base-assembly", str(tmp_path / "nope"), "--head-assembly", str(head)]) == 2
    assert "is not a cloud assembly" in capsys.readouterr().err


def test_cli_unknown_ref_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert main(["plan", "--repo", str(tmp_path), "--base", "no-such-ref"]) == 2
    assert "--base 'no-such-ref' is not a commit" in capsys.readouterr().err
