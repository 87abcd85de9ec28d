"""What building data products costs in jsii round trips (issue 15): counted, never timed.

Building the constructs is where a large mesh spends its time: every Python call into aws-cdk-lib is a
round trip to the jsii Node kernel (a JSON message each way), about 0.2 ms of CPU on each side. A product
needs one per resource it creates and one per dependency it declares; anything else (reading back
``node.path``, context, ``cfn_options``, ``Token.is_unresolved`` on a literal) is waste that multiplies by
10,000. Before the fix a product cost 2 R + 8 round trips plus one per allowed consumer account (R its
resources): 96 per product in the benchmark's mesh, against 19 now.
"""

from __future__ import annotations

import pytest
from aws_cdk import Aws, Token

from meshworks.constructs.core.inputs import account_ids, bucket_names, kms_key_arns, role_arns
from meshworks.constructs.mesh.data_product import DataProduct, SharingMode
from meshworks.constructs.mesh.data_product_catalog import DataProductCatalog, ShardLock, plan_shards
from meshworks.stacks.data_product_stack import DataProductStack
from tests.jsii_calls import round_trips
from tests.mesh.mesh_fixtures import ENV, HUB, make_contract, new_stack

ROLE = "arn:aws:iam::111111111111:role/acme-lf-data-access"
NOTIFIER = "arn:aws:iam::111111111111:role/acme-notifier"
POOL = [f"{700000000000 + i}" for i in range(60)]


def test_literal_inputs_are_checked_without_a_round_trip() -> None:
    kms = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    with round_trips() as trips:
        assert account_ids("T", "accounts", POOL) == POOL
        assert role_arns("T", "roles", [ROLE]) == [ROLE]
        assert bucket_names("T", "buckets", ["acme-sales-curated"]) == ["acme-sales-curated"]
        assert kms_key_arns("T", "keys", [kms]) == [kms]
    assert sum(trips.values()) == 0, trips  # before: one Token.is_unresolved per value (63)
    # tokens are still accepted (they cost the round trip that tells them apart)
    assert account_ids("T", "accounts", [Aws.ACCOUNT_ID]) == [Aws.ACCOUNT_ID]
    token_role = Token.as_string(Aws.ACCOUNT_ID)
    assert role_arns("T", "roles", [token_role]) == [token_role]
    with pytest.raises(ValueError, match="not a 12-digit AWS account id"):
        account_ids("T", "accounts", ["12345"])


@pytest.mark.parametrize("mode", list(SharingMode))
def test_a_product_costs_one_round_trip_per_resource_and_dependency(mode: SharingMode) -> None:
    from meshworks.constructs.core import partition

    partition._partition_of_region.cache_clear()
    _, stack = new_stack()
    contracts = [
        make_contract(name="orders", consumers=POOL[:3], tags={"tier": "gold"}),
        make_contract(name="refunds", fmt="iceberg", consumers=[]),
        make_contract(name="events", fmt="csv", consumers=POOL[5:6]),
    ]
    for index, contract in enumerate(contracts):
        with round_trips() as trips:
            DataProduct(
                stack,
                contract.name,
                contract=contract,
                catalog_id=HUB,
                data_access_role_arn=ROLE,
                sharing_mode=mode,
                allowed_consumer_accounts=POOL,
                location_access_role_arns=[NOTIFIER],
            )
        resources = DataProduct.resource_count(contract, mode, location_access_grants=1)
        # the construct, each resource, each resource's dependency (all but the location) and the removal policy;
        # the first product of a scope also reads its context (two round trips) and its stack's partition (the
        # stack's region, then the region's partition, once per process: four), the others reuse them
        context = (2 if mode is SharingMode.LF_TAGS else 0) + 4 if index == 0 else 0
        assert sum(trips.values()) == 1 + resources + (resources - 1) + 1 + context, (contract.name, trips)


def test_product_shards_record_no_creation_stacks() -> None:
    """In a Python app a resource's creation stack is jsii's own JavaScript frames ("no user code"); product
    shards skip capturing it (10 % of building a shard), as the platform's other stacks do
    (tests/test_creation_stacks.py). A user's own stack keeps CDK's default."""
    contracts = [make_contract(name=f"product_{i}", consumers=POOL[:2]) for i in range(3)]
    lock = ShardLock.place(contracts, sharing_mode=SharingMode.LF_TAGS)
    (plan,) = [p for p in plan_shards(contracts, lock=lock) if not p.is_consumer_shard]
    app, _ = new_stack("Other")
    shard = DataProductStack(
        app, plan.stack_id, plan=plan, env=ENV, catalog_id=HUB, data_access_role_arn=ROLE,
        allowed_consumer_accounts=POOL, render_resources=False,  # constructs (rendered shards have none)
    )
    other = DataProductCatalog(app.node.find_child("Other"), "Products", contracts=contracts, catalog_id=HUB,
                               data_access_role_arn=ROLE, allowed_consumer_accounts=POOL)

    def creation_stacks(scope) -> int:
        return sum(
            entry.type == "aws:cdk:creationStack" for child in scope.node.find_all() for entry in child.node.metadata
        )

    assert creation_stacks(shard.catalog) == 0  # (the stack itself records one: it exists before its context)
    assert creation_stacks(other) > 0
