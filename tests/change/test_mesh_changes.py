"""Typical data-product changes and how CloudFormation applies them (classified by ``change_plan``).

Each expectation names the resource schema property that decides it (``createOnlyProperties`` in the
schemas cfn-lint ships). The rule the mesh must keep: a routine contract change never replaces or
deletes what gives an existing consumer access.
"""

from __future__ import annotations

import pytest

from meshworks.constructs.mesh.contract import DataProductContract
from tests.change.change_fixtures import changes, mesh_assembly
from tests.mesh.mesh_fixtures import make_contract

ALICE, BOB, CAROL = "222233334444", "333344445555", "444455556666"
TAG_ASSOCIATION = "AWS::LakeFormation::TagAssociation"


def products(**orders: object) -> list[DataProductContract]:
    """Two products of one domain; ``orders`` overrides fields of the first one."""
    first = {"consumers": [ALICE, BOB], "tags": {"tier": "gold"}, **orders}
    return [make_contract(**first), make_contract(name="refunds", consumers=[ALICE, BOB])]


@pytest.fixture(scope="module")
def baseline():
    return mesh_assembly(products())


def test_adding_a_consumer_adds_access_and_replaces_nothing(baseline) -> None:
    """Fault 1: the product's single tag association (LFTags is create-only) was replaced, delete
    first: every existing consumer lost SELECT while CloudFormation recreated it."""
    head = mesh_assembly(products(consumers=[ALICE, BOB, CAROL]))
    found = changes(baseline, head)
    assert [c for c in found if c.action in ("replaced", "removed", "modified")] == []
    added = sorted(c.resource_type for c in found if c.action == "added")
    # the product's association for CAROL's key, and CAROL's tag key and two grants (consumer shard)
    assert added == [
        "AWS::LakeFormation::PrincipalPermissions", "AWS::LakeFormation::PrincipalPermissions",
        "AWS::LakeFormation::Tag", TAG_ASSOCIATION,
    ]  # fmt: skip


def test_removing_a_consumer_removes_only_its_association(baseline) -> None:
    head = mesh_assembly(products(consumers=[ALICE]))
    found = changes(baseline, head)
    assert [(c.action, c.resource_type) for c in found] == [("removed", TAG_ASSOCIATION)]
    assert "meshworksconsumer" + BOB in found[0].logical_id
    assert found[0].destructive  # access-granting: acknowledged on purpose in a pull request


@pytest.mark.parametrize(
    ("edit", "key"),
    [({"classification": "confidential"}, "classification"), ({"tags": {"tier": "silver"}}, "tier")],
)
def test_changing_a_tag_value_replaces_only_that_keys_association(baseline, edit, key) -> None:
    """The value is part of LFTags (create-only): its own association is replaced, no other."""
    found = changes(baseline, mesh_assembly(products(**edit)))
    replaced = [c for c in found if c.action == "replaced"]
    assert [(c.resource_type, c.reasons) for c in replaced] == [(TAG_ASSOCIATION, ("LFTags",))]
    assert f"LfTag{key}" in replaced[0].logical_id
    # the table only records the classification in its parameters, updated in place
    others = {(c.action, c.resource_type) for c in found if c.action != "replaced"}
    assert others <= {("modified", "AWS::Glue::Table")}
