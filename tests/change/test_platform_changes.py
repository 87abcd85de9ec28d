"""Typical configuration changes of the reference app and how CloudFormation applies them.

Small apps: the foundation alone, or foundation + Spark (mesh and monitoring off), from the shipped
cdk.json; each variant differs from its baseline by one edit of the ``meshworks`` context object.
"""

from __future__ import annotations

from typing import Any

import pytest

from meshworks.stacks.config import _example_catalog
from tests.change.change_fixtures import changes, platform_assembly, shipped_context, stack_plans

EMR_SERVERLESS = "AWS::EMRServerless::Application"


def variant(edit, **parts: bool):
    context = shipped_context()
    edit(context)
    return platform_assembly(context, **parts)


@pytest.fixture(scope="module")
def foundation():
    return platform_assembly(shipped_context())


@pytest.fixture(scope="module")
def spark():
    return platform_assembly(shipped_context(), spark=True)


def test_adding_an_app_tag_never_updates_the_emr_serverless_application(spark) -> None:
    """Fault 2: Tags.of(app) reached the application; EMR Serverless refuses updates (tags included)
    while STARTED, so a tag in cdk.json failed the Spark stack while jobs ran."""
    found = changes(spark, variant(lambda c: c["tags"].update({"cost-center": "42"}), spark=True))
    assert found and {c.action for c in found} == {"modified"}
    assert all(c.properties == ("Tags",) for c in found)
    assert EMR_SERVERLESS not in {c.resource_type for c in found}
    assert not [c for c in found if c.destructive]


def test_changing_the_emr_release_needs_the_application_stopped(spark) -> None:
    """ReleaseLabel is not create-only (updated in place), but not while the application runs."""
    def edit(context: dict[str, Any]) -> None:
        context.setdefault("spark", {}).setdefault("serverless", {})["release_label"] = "emr-7.5.0"

    (change,) = changes(spark, variant(edit, spark=True))
    assert (change.resource_type, change.action) == (EMR_SERVERLESS, "modified")
    assert "ReleaseLabel" in change.properties  # (emr-7.5.0 also drops the job-concurrency scheduler settings)
    assert change.destructive and "STARTED" in change.note  # blocking in `meshworks plan` until acknowledged


def test_adding_a_spark_job_adds_its_routing_parameter(spark) -> None:
    def edit(context: dict[str, Any]) -> None:
        catalog = _example_catalog().model_dump(mode="json")
        catalog["jobs"].append({**catalog["jobs"][0], "name": "new_job"})
        context.setdefault("spark", {})["catalog"] = catalog

    found = changes(spark, variant(edit, spark=True))
    # the job's own parameter, and the rollout index (its job count) updated in place
    assert sorted((c.action, c.resource_type) for c in found) == [
        ("added", "AWS::SSM::Parameter"), ("modified", "AWS::SSM::Parameter"),
    ]  # fmt: skip


def test_adding_a_nat_gateway_adds_it_and_reroutes_in_place(foundation) -> None:
    """Route.NatGatewayId is not create-only: the private routes switch in place."""
    found = changes(foundation, variant(lambda c: c["network"].update({"nat_gateways": 2})))
    assert sorted((c.action, c.resource_type) for c in found) == [
        ("added", "AWS::EC2::EIP"), ("added", "AWS::EC2::NatGateway"), ("modified", "AWS::EC2::Route"),
    ]  # fmt: skip


def test_changing_the_prefix_is_a_new_environment(foundation) -> None:
    """Stack names derive from the prefix: CloudFormation sees new stacks, the old ones stay."""
    plans = stack_plans(foundation, variant(lambda c: c.update({"prefix": "acme-test"})))
    assert [(p.stack, p.status) for p in plans] == [("Foundation", "moved")]
    assert all(c.action == "replaced" for c in plans[0].changes)
    assert any(c.destructive for c in plans[0].changes)  # the lake buckets and the key
