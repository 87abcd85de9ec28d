"""Stable sharding of data products over stacks, budgets, and the CloudFormation size limits."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from aws_cdk import App, Environment

from meshworks.constructs.mesh.data_product import SharingMode
from meshworks.constructs.mesh.data_product_catalog import (
    CONSUMER_RESOURCES,
    DataProductCatalog,
    ShardBudgetError,
    plan_shards,
    shard_index,
)
from meshworks.stacks.data_product_stack import DataProductStack, estimate_template_bytes
from tests.mesh.mesh_fixtures import HUB, make_contract, new_stack

ROLE = "arn:aws:iam::111111111111:role/acme-lf-data-access"
POOL = [f"{900000000000 + i}" for i in range(12)]


def generate(count: int, domains: int = 3, seed: int = 7) -> list:
    rng = random.Random(seed)
    return [
        make_contract(
            domain=f"domain_{i % domains}",
            name=f"product_{i:04d}",
            consumers=rng.sample(POOL, rng.randint(0, 3)),
            columns=1,
        )
        for i in range(count)
    ]


def placement(plans) -> dict[str, str]:
    return {c.qualified_name: plan.stack_id for plan in plans for c in plan.products}


def consumer_placement(plans) -> dict[str, str]:
    return {account: plan.stack_id for plan in plans for account in plan.consumers}


def test_shard_index_is_a_stable_hash() -> None:
    assert shard_index("sales/orders", 4) == shard_index("sales/orders", 4)
    assert [shard_index(f"d/p{i}", 7) for i in range(500)] == [shard_index(f"d/p{i}", 7) for i in range(500)]
    assert all(0 <= shard_index(f"d/p{i}", 5) < 5 for i in range(500))
    # pinned values: a change of the hash function would move every deployed product
    assert shard_index("sales/orders", 4) == 3
    assert shard_index("marketing/web_sessions", 4) == 3
    assert shard_index("sales/customers", 16) == 4
    assert shard_index("marketing/campaigns", 16) == 1
    with pytest.raises(ValueError, match="at least 1"):
        shard_index("x", 0)


@pytest.mark.parametrize("mode", [SharingMode.LF_TAGS, SharingMode.NAMED_RESOURCES])
def test_adding_removing_renaming_one_product_never_moves_another(mode: SharingMode) -> None:
    contracts = generate(300)
    base = placement(plan_shards(contracts, shards_per_domain=5, sharing_mode=mode))
    assert len(set(base.values())) == 15  # 3 domains x 5 shards, all used

    added = placement(
        plan_shards([*contracts, make_contract("domain_1", "brand_new")], shards_per_domain=5, sharing_mode=mode)
    )
    assert {k: v for k, v in added.items() if k != "domain_1.brand_new"} == base

    removed_name = contracts[42].qualified_name
    removed = placement(plan_shards(contracts[:42] + contracts[43:], shards_per_domain=5, sharing_mode=mode))
    assert removed == {k: v for k, v in base.items() if k != removed_name}

    renamed = list(contracts)
    renamed[7] = renamed[7].model_copy(update={"name": "product_renamed"})
    after = placement(plan_shards(renamed, shards_per_domain=5, sharing_mode=mode))
    old_name = contracts[7].qualified_name
    assert {k: v for k, v in after.items() if k != "domain_1.product_renamed"} == {
        k: v for k, v in base.items() if k != old_name
    }

    shuffled = list(contracts)
    random.Random(1).shuffle(shuffled)
    assert placement(plan_shards(shuffled, shards_per_domain=5, sharing_mode=mode)) == base


def test_consumer_accounts_are_placed_by_their_own_identity() -> None:
    contracts = generate(200)
    plans = plan_shards(contracts, shards_per_domain=4, consumer_shards=3)
    base = consumer_placement(plans)
    assert set(base) == set(POOL) and set(base.values()) <= {"MeshConsumers-00", "MeshConsumers-01", "MeshConsumers-02"}
    assert [p.is_consumer_shard for p in plans] == sorted((p.is_consumer_shard for p in plans), reverse=True)
    domains = {a: d for p in plans for a, d in p.consumers.items()}
    assert domains[POOL[0]] == sorted({c.domain for c in contracts if POOL[0] in c.consumers})
    more = consumer_placement(
        plan_shards([*contracts, make_contract("domain_0", "extra", consumers=["123412341234"])], consumer_shards=3)
    )
    assert {k: v for k, v in more.items() if k != "123412341234"} == base
    assert consumer_placement(plan_shards(contracts, sharing_mode="named_resources")) == {}


def test_plan_counts_resources_and_per_domain_overrides() -> None:
    contracts = generate(60)
    plans = plan_shards(contracts, shards_per_domain=2, domain_shards={"domain_2": 3})
    assert {p.group: p.shards for p in plans} == {"consumers": 2, "domain_0": 2, "domain_1": 2, "domain_2": 3}
    assert sum(len(p.products) for p in plans) == 60
    for plan in plans:
        # location + table + one tag association per LF-tag key (domain, classification, pii, tags, consumers)
        products = sum(2 + 3 + len(c.tags) + len(c.consumers) for c in plan.products)
        assert plan.resources == products + CONSUMER_RESOURCES * len(plan.consumers)
        assert all(c.domain == plan.domain for c in plan.products)
        assert not (plan.products and plan.consumers)
    named = plan_shards(contracts, shards_per_domain=2, sharing_mode="named_resources", register_locations=False)
    assert sum(p.resources for p in named) == sum(1 + len(c.consumers) for c in contracts)


def test_overfull_consumer_shard_is_a_clear_error() -> None:
    with pytest.raises(ShardBudgetError, match=r"mesh-consumers-00: \d+ resources \(\d+ consumer accounts\)") as error:
        plan_shards(generate(60), consumer_shards=1, max_resources=30)
    assert "raise mesh.consumer_shards (now 1) to 2" in str(error.value)


def test_overfull_shard_is_a_clear_error() -> None:
    with pytest.raises(ShardBudgetError) as error:
        plan_shards(generate(60), shards_per_domain=2, max_resources=25)
    message = str(error.value)
    assert "exceed the budget of 25 resources per stack" in message
    assert "mesh-products-domain-0-0" in message
    assert "domain_shards" in message and "'domain_0': 4" in message
    assert "before the group's first deployment" in message


def test_duplicate_products_are_refused() -> None:
    with pytest.raises(ShardBudgetError, match="defined twice"):
        plan_shards([make_contract(), make_contract()])


def test_catalog_refuses_more_than_its_budget() -> None:
    _, stack = new_stack("TooBig")
    with pytest.raises(ShardBudgetError, match="more than 10"):
        DataProductCatalog(
            stack,
            "Products",
            contracts=generate(6, domains=1),
            catalog_id=HUB,
            data_access_role_arn=ROLE,
            max_resources=10,
            allowed_consumer_accounts=POOL,
        )


# ---- synthesized shards --------------------------------------------------------------------------------


def synth_shards(contracts, outdir: Path, max_bytes: int = 900_000) -> dict[str, dict]:
    app = App(outdir=str(outdir), builtin_cloud_formation_validation=False)
    env = Environment(account=HUB, region="eu-west-1")
    for plan in plan_shards(contracts, shards_per_domain=3, consumer_shards=2, max_resources=150):
        DataProductStack(
            app,
            plan.stack_id,
            env=env,
            plan=plan,
            catalog_id=HUB,
            data_access_role_arn=ROLE,
            max_resources=150,
            max_template_bytes=max_bytes,
            allowed_consumer_accounts=POOL,
        )
    assembly = app.synth()
    return {s.stack_name: s.template for s in assembly.stacks}


@pytest.fixture(scope="module")
def before_after(tmp_path_factory: pytest.TempPathFactory):
    contracts = generate(40, domains=2)
    before = synth_shards(contracts, tmp_path_factory.mktemp("before"))
    after = synth_shards(
        [*contracts[:5], *contracts[6:], make_contract("domain_1", "newcomer", consumers=POOL[:2])],
        tmp_path_factory.mktemp("after"),
    )
    return contracts, before, after


def test_untouched_shards_synthesize_identically(before_after) -> None:
    contracts, before, after = before_after
    removed, added = contracts[5], "newcomer"
    touched = set()
    for stack, template in after.items():
        if stack not in before or template != before[stack]:
            touched.add(stack)
    # only the stacks of the removed and the added product (and the added consumers' grants) change
    assert 1 <= len(touched) <= 4, touched
    for stack in set(before) - touched:
        assert json.dumps(before[stack], sort_keys=True) == json.dumps(after[stack], sort_keys=True)
    # every product that stayed keeps its logical ids
    ids_before = {k for t in before.values() for k in t["Resources"]}
    ids_after = {k for t in after.values() for k in t["Resources"]}
    lost = ids_before - ids_after
    assert all(removed.name.replace("_", "") in k for k in lost), lost
    assert any(added in k for k in ids_after - ids_before)


def test_shards_stay_within_resource_and_size_limits(before_after) -> None:
    _, before, _ = before_after
    for template in before.values():
        assert len(template["Resources"]) <= 150
        assert len(json.dumps(template, indent=1)) < 1_000_000


def test_size_estimate_is_never_below_the_written_template(tmp_path: Path) -> None:
    contracts = [make_contract("sales", f"wide_{i}", columns=40, consumers=POOL[:3]) for i in range(12)]
    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    plan = next(p for p in plan_shards(contracts, shards_per_domain=1) if not p.is_consumer_shard)
    stack = DataProductStack(
        app,
        plan.stack_id,
        env=Environment(account=HUB, region="eu-west-1"),
        plan=plan,
        catalog_id=HUB,
        data_access_role_arn=ROLE,
        allowed_consumer_accounts=POOL,
    )
    estimate = estimate_template_bytes(stack)
    app.synth()
    written = (tmp_path / f"{plan.stack_id}.template.json").stat().st_size
    assert written <= estimate <= 2 * written


def test_template_size_budget_is_checked_at_synth(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="over the budget of 5,000") as error:
        synth_shards(generate(10, domains=1), tmp_path, max_bytes=5_000)
    assert "raise mesh.shards_per_domain" in str(error.value)
