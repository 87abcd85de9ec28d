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
    """Two products of one domain; ``orders`` overrides fields of the first one's contract."""
    first = make_contract(consumers=[ALICE, BOB], tags={"tier": "gold"}).model_dump(mode="json")
    first.update(orders)
    return [DataProductContract.model_validate(first), make_contract(name="refunds", consumers=[ALICE, BOB])]


@pytest.fixture(scope="module")
def baseline():
    return mesh_assembly(products())


def test_adding_a_consumer_adds_access_and_replaces_nothing(baseline) -> None:
    """Fault 1: the product's single tag association (LFTags is create-only) was replaced, delete
    first: every existing consumer lost SELECT while CloudFormation recreated it."""
    head = mesh_assembly(products(consumers=[ALICE, BOB, CAROL]))
    found = changes(baseline, head)
    assert [c for c in found if c.action in ("replaced", "removed")] == []
    # In place: the table's meshworks:consumers parameter (who gets refresh messages); TableInput is updatable.
    assert [(c.resource_type, c.properties) for c in found if c.action == "modified"] == [
        ("AWS::Glue::Table", ("TableInput",))
    ]
    added = sorted(c.resource_type for c in found if c.action == "added")
    # the product's association for CAROL's key, and CAROL's tag key and two grants (consumer shard)
    assert added == [
        "AWS::LakeFormation::PrincipalPermissions", "AWS::LakeFormation::PrincipalPermissions",
        "AWS::LakeFormation::Tag", TAG_ASSOCIATION,
    ]  # fmt: skip


def test_removing_a_consumer_removes_only_its_association(baseline) -> None:
    head = mesh_assembly(products(consumers=[ALICE]))
    found = changes(baseline, head)
    assert sorted((c.action, c.resource_type) for c in found) == [
        ("modified", "AWS::Glue::Table"), ("removed", TAG_ASSOCIATION)
    ]  # fmt: skip
    (removed,) = [c for c in found if c.action == "removed"]
    assert "meshworksconsumer" + BOB in removed.logical_id
    assert removed.destructive  # access-granting: acknowledged on purpose in a pull request


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


# ---- schema, identity and placement ------------------------------------------------------------------

COLUMNS = [{"name": "id", "type": "bigint", "description": "Primary key of the row."}]


def test_adding_a_column_updates_the_table_in_place(baseline) -> None:
    """Glue table: only DatabaseName, CatalogId, Name and TableInput/Name are create-only."""
    wider = COLUMNS + [{"name": f"c{i}", "type": "string", "description": f"Attribute number {i}."} for i in range(4)]
    found = changes(baseline, mesh_assembly(products(columns=wider)))
    assert [(c.action, c.resource_type, c.properties) for c in found] == [
        ("modified", "AWS::Glue::Table", ("TableInput",))
    ]


def test_changing_a_column_type_updates_the_table_in_place(baseline) -> None:
    retyped = [{"name": "id", "type": "string", "description": "Primary key of the row."}] + [
        {"name": f"c{i}", "type": "string", "description": f"Attribute number {i}."} for i in range(3)
    ]
    found = changes(baseline, mesh_assembly(products(columns=retyped)))
    assert [(c.action, c.resource_type) for c in found] == [("modified", "AWS::Glue::Table")]
    assert not found[0].destructive  # in place for CloudFormation; readers of old files must cope (docs/mesh.md)


def test_changing_the_slo_updates_the_table_parameters_in_place(baseline) -> None:
    found = changes(baseline, mesh_assembly(products(slo={"cron": "0 7 * * *", "timezone": "UTC"})))
    assert [(c.action, c.resource_type, c.properties) for c in found] == [
        ("modified", "AWS::Glue::Table", ("TableInput",))
    ]


def test_renaming_a_product_removes_its_table_and_creates_another(baseline) -> None:
    """The name is the table's TableInput/Name and the product's construct id: a new resource; the old
    table (retained) leaves the stack, its grants go: blocking unless acknowledged."""
    found = changes(baseline, mesh_assembly(products(name="order_lines")))
    removed = {c.resource_type for c in found if c.action == "removed"}
    assert {"AWS::Glue::Table", TAG_ASSOCIATION, "AWS::LakeFormation::Resource"} <= removed
    table = next(c for c in found if c.action == "removed" and c.resource_type == "AWS::Glue::Table")
    assert table.retained and table.destructive
    assert not [c for c in found if c.action == "replaced"]


def test_adding_a_domain_adds_stacks_and_touches_no_product() -> None:
    base = mesh_assembly(products())
    head = mesh_assembly([*products(), make_contract(domain="marketing", name="campaigns")])
    found = changes(base, head)
    assert {c.action for c in found} == {"added"}
    assert {c.stack.rsplit("-", 1)[0] for c in found} == {"MeshProducts-marketing"}


def test_a_consumer_reaching_a_new_domain_keeps_its_database_grants() -> None:
    """A grant listing the consumer's domains (create-only Resource) was replaced when a domain was added."""
    base = mesh_assembly(products())
    head = mesh_assembly([*products(), make_contract(domain="marketing", name="campaigns", consumers=[ALICE])])
    assert [c for c in changes(base, head) if c.action in ("replaced", "removed")] == []


def test_changing_shards_per_domain_moves_products_between_stacks(baseline) -> None:
    """A product's stack is its shard: a new shard count moves tables (delete + create): blocking."""
    found = changes(baseline, mesh_assembly(products(), shards_per_domain=2))
    assert any(c.action == "removed" and c.resource_type == "AWS::Glue::Table" and c.destructive for c in found)
    assert any(c.action == "added" and c.resource_type == "AWS::Glue::Table" for c in found)
