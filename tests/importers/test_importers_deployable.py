"""``MeshHub`` + ``DataProduct`` in one stack, as the docstrings show, give a deployable template (issue 11,
item 3): every LF-tag key and value the product's association uses is created, and every resource depends
explicitly on what CloudFormation must create first (the database, the tags, the Lake Formation settings
that make the deployment role an admin, the data-access role and its policy).

Before the fix the association used five LF-tag keys of which the hub created one (``domain``), and the Glue
table named its database without depending on it.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from meshworks.constructs.mesh import DataProduct, MeshHub, SharingMode
from tests.mesh.mesh_fixtures import make_contract as contract_of
from tests.mesh.mesh_fixtures import new_stack

CONSUMER = "333333333333"


def _template(sharing_mode: SharingMode) -> dict[str, Any]:
    _, stack = new_stack()
    hub = MeshHub(stack, "Hub", name_prefix="acme", producer_buckets=["acme-sales-curated"])
    contract = contract_of(consumers=[CONSUMER], tags={"tier": "gold"})
    DataProduct(stack, "Orders", contract=contract, hub=hub, sharing_mode=sharing_mode,
                data_access_role_arn=hub.data_access_role.role_arn, allowed_consumer_accounts=[CONSUMER])
    return Template.from_stack(stack).to_json()["Resources"]


def _of(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def _depends(resources: dict[str, Any], name: str) -> set[str]:
    return set(resources[name].get("DependsOn", []))


@pytest.mark.parametrize("mode", list(SharingMode))
def test_product_with_its_hub_depends_on_everything_it_needs(mode: SharingMode) -> None:
    resources = _template(mode)
    (table,) = _of(resources, "AWS::Glue::Table")
    (database,) = _of(resources, "AWS::Glue::Database")
    (settings,) = _of(resources, "AWS::LakeFormation::DataLakeSettings")
    (location,) = _of(resources, "AWS::LakeFormation::Resource")
    assert {database, settings} <= _depends(resources, table)
    role_policy = next(n for n in _of(resources, "AWS::IAM::Policy") if n.startswith("HubDataAccessRoleDefaultPolicy"))
    assert {settings, role_policy} <= _depends(resources, location)
    for grant in _of(resources, "AWS::LakeFormation::PrincipalPermissions"):
        if grant.startswith("Orders"):
            assert {table, database, settings} <= _depends(resources, grant)


def test_every_lf_tag_the_product_uses_is_created_with_its_value() -> None:
    resources = _template(SharingMode.LF_TAGS)
    tags = {r["Properties"]["TagKey"]: (name, set(r["Properties"]["TagValues"])) for name, r in _of(resources, "AWS::LakeFormation::Tag").items()}
    associations = _of(resources, "AWS::LakeFormation::TagAssociation").keys() - {
        n for n in _of(resources, "AWS::LakeFormation::TagAssociation") if n.startswith("Hub")
    }  # one association per LF-tag key (adding a consumer never replaces another's)
    used = {}
    for association in associations:
        (pair,) = resources[association]["Properties"]["LFTags"]
        used[pair["TagKey"]] = (association, pair)
    assert set(used) == {"domain", "classification", "pii", "tier", f"meshworks:consumer:{CONSUMER}"}
    for association, pair in used.values():
        name, values = tags[pair["TagKey"]]
        assert set(pair["TagValues"]) <= values
        assert name in _depends(resources, association)


def test_a_product_outside_the_hubs_producer_locations_is_refused() -> None:
    """Found by a user test: the location was registered although the data-access role could not read it."""
    _, stack = new_stack()
    hub = MeshHub(stack, "Hub", name_prefix="acme", producer_locations=["s3://acme-sales-curated/"])
    contract = contract_of(consumers=[CONSUMER], location="s3://acme-sales-curated-eu-west-1/orders/")
    with pytest.raises(ValueError, match="outside the hub's producer locations"):
        DataProduct(stack, "Orders", contract=contract, hub=hub, data_access_role_arn=hub.data_access_role.role_arn,
                    allowed_consumer_accounts=[CONSUMER])
