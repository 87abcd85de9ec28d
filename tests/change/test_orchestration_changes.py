"""What replaces an MWAA environment, and replacements that cross stacks (``Fn::ImportValue``).

The create-only properties come from the resource schema cfn-lint ships: ``AWS::MWAA::Environment`` lists
``Name``, ``KmsKey``, ``NetworkConfiguration/SubnetIds`` and ``EndpointManagement``. ``SecurityGroupIds`` is
updatable: the schema does not list it and the resource provider's update handler sends it to
``UpdateEnvironment`` (aws-cloudformation-resource-providers-mwaa, ``UpdateTranslator``), although the
CloudFormation user guide's page still says "Replacement".

Before cross-stack references were followed, changing the VPC's CIDR showed the foundation's subnets
replaced, but the orchestration stack unchanged: its template text is the same (it imports the subnets by
export name), yet the environment is replaced (new subnet ids in a create-only property) and the foundation
deploy fails (CloudFormation refuses to update an export in use).
"""

from __future__ import annotations

import copy

import pytest

from meshworks.stacks import change_plan as cp
from tests.change.change_fixtures import changes, platform_assembly, shipped_context, stack_plans

MWAA = "AWS::MWAA::Environment"


def environment(**overrides: object) -> dict:
    properties = {
        "Name": "acme-airflow",
        "KmsKey": "arn:aws:kms:eu-west-1:1:key/a",
        "EndpointManagement": "SERVICE",
        "NetworkConfiguration": {"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-1"]},
        "MaxWorkers": 10,
    }
    properties.update(overrides)
    return {"Type": MWAA, "DeletionPolicy": "Retain", "Properties": properties}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Name": "acme-airflow-2"}, "Name"),
        ({"KmsKey": "arn:aws:kms:eu-west-1:1:key/b"}, "KmsKey"),
        ({"EndpointManagement": "CUSTOMER"}, "EndpointManagement"),
        ({"NetworkConfiguration": {"SubnetIds": ["subnet-a", "subnet-c"], "SecurityGroupIds": ["sg-1"]}},
         "NetworkConfiguration/SubnetIds"),
    ],
)
def test_settings_that_replace_the_environment_block_the_plan(change: dict, reason: str) -> None:
    (found,) = cp.compare_templates("S", {"Resources": {"Env": environment()}}, {"Resources": {"Env": environment(**change)}})
    assert (found.action, found.reasons, found.destructive) == ("replaced", (reason,), True)


@pytest.mark.parametrize(
    "change",
    [{"MaxWorkers": 20}, {"NetworkConfiguration": {"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-2"]}}],
)
def test_other_settings_update_in_place_with_the_restart_note(change: dict) -> None:
    (found,) = cp.compare_templates("S", {"Resources": {"Env": environment()}}, {"Resources": {"Env": environment(**change)}})
    assert found.action == "modified" and not found.destructive and "restart" in found.note


def _assembly(templates: dict[str, dict]) -> cp.Assembly:
    return cp.Assembly(templates=templates, identities={name: f"{name} @ 1/eu-west-1" for name in templates})


def test_a_replaced_export_replaces_its_importers_and_blocks_the_exporter() -> None:
    subnet = {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24"}}
    outputs = {"SubnetOut": {"Value": {"Ref": "Subnet"}, "Export": {"Name": "net:Subnet"}}}
    imported = environment(NetworkConfiguration={"SubnetIds": [{"Fn::ImportValue": "net:Subnet"}, "subnet-b"]})
    base = _assembly({"Net": {"Resources": {"Subnet": subnet}, "Outputs": outputs},
                      "Orch": {"Resources": {"Env": imported}}})  # fmt: skip
    moved = copy.deepcopy(subnet)
    moved["Properties"]["CidrBlock"] = "10.0.1.0/24"
    head = _assembly({"Net": {"Resources": {"Subnet": moved}, "Outputs": outputs}, "Orch": {"Resources": {"Env": imported}}})
    plans = {plan.stack: plan for plan in cp.compare_assemblies(base, head)}
    (env,) = plans["Orch"].changes
    assert env.action == "replaced" and env.destructive
    assert env.reasons == ("NetworkConfiguration/SubnetIds (imports net:Subnet: Net/Subnet replaced)",)
    export = next(c for c in plans["Net"].changes if c.resource_type == cp.EXPORT_TYPE)
    assert export.destructive and "imported by Orch" in export.reasons[0]
    assert "export in use" in cp.render_markdown(list(plans.values()))


def test_an_unchanged_export_changes_nothing_downstream() -> None:
    outputs = {"SubnetOut": {"Value": {"Ref": "Subnet"}, "Export": {"Name": "net:Subnet"}}}
    subnet = {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24"}}
    tagged = copy.deepcopy(subnet)
    tagged["Properties"]["Tags"] = [{"Key": "team", "Value": "data"}]  # updated in place: same subnet id
    imported = environment(NetworkConfiguration={"SubnetIds": [{"Fn::ImportValue": "net:Subnet"}, "subnet-b"]})
    base = _assembly({"Net": {"Resources": {"Subnet": subnet}, "Outputs": outputs}, "Orch": {"Resources": {"Env": imported}}})
    head = _assembly({"Net": {"Resources": {"Subnet": tagged}, "Outputs": outputs}, "Orch": {"Resources": {"Env": imported}}})
    assert [(p.stack, [c.action for c in p.changes]) for p in cp.compare_assemblies(base, head)] == [("Net", ["modified"])]


@pytest.fixture(scope="module")
def orchestration() -> cp.Assembly:
    return platform_assembly(shipped_context(), orchestration=True)


def test_a_new_vpc_cidr_replaces_the_airflow_environment_in_the_other_stack(orchestration: cp.Assembly) -> None:
    context = shipped_context()
    context["network"]["cidr"] = "10.50.0.0/16"
    head = platform_assembly(context, orchestration=True)
    found = changes(orchestration, head)
    (env,) = [c for c in found if c.resource_type == MWAA]
    assert env.stack == "Orchestration" and env.action == "replaced" and env.destructive
    assert all(reason.startswith("NetworkConfiguration/SubnetIds (imports ") for reason in env.reasons)
    exports = [c for c in found if c.resource_type == cp.EXPORT_TYPE]
    assert exports and all(c.stack == "Foundation" and c.destructive for c in exports)
    assert cp.blocking(stack_plans(orchestration, head), cp.Acknowledgements())


def test_more_workers_update_the_environment_in_place(orchestration: cp.Assembly) -> None:
    context = shipped_context()
    context.setdefault("orchestration", {})["max_workers"] = 20
    (change,) = changes(orchestration, platform_assembly(context, orchestration=True))
    assert (change.resource_type, change.action, change.properties) == (MWAA, "modified", ("MaxWorkers",))


@pytest.mark.parametrize(
    ("old", "new", "refused"),
    [
        ("2.10.3", "3.0.6", True),   # a major upgrade from 2.10.3 or older: a new environment (MWAA user guide)
        ("3.0.6", "2.10.3", True),   # 3.x downgrades only to 2.11.x
        ("2.11.0", "3.0.6", False),
        ("3.0.6", "2.11.0", False),
        ("2.10.1", "2.10.3", False),  # minor versions move both ways
        ("2.10.3", "2.9.2", False),
    ],
)
def test_airflow_version_changes_mwaa_refuses_block_the_plan(old: str, new: str, refused: bool) -> None:
    (found,) = cp.compare_templates("S", {"Resources": {"Env": environment(AirflowVersion=old)}},
                                    {"Resources": {"Env": environment(AirflowVersion=new)}})
    assert found.action == "modified" and found.destructive is refused
    assert ("2.11.0 first" in cp._why(found, cp.Acknowledgements())) is refused
