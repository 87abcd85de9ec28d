"""Stable sharding of data products over stacks, budgets, and the CloudFormation size limits."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from aws_cdk import App, CfnResource, Environment

from meshworks.constructs.mesh.data_product import SharingMode
from meshworks.constructs.mesh.data_product_catalog import (
    CONSUMER_RESOURCES,
    DataProductCatalog,
    ShardBudgetError,
    ShardLock,
    ShardLockError,
    plan_shards,
    shard_index,
    stack_id_of,
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


def place(contracts, lock=None, **kwargs) -> ShardLock:
    return ShardLock.place(contracts, lock, **kwargs)


def lock_placement(lock: ShardLock) -> dict[str, int]:
    return {f"{d}.{n}": i for d, names in lock.products.items() for n, i in names.items()}


@pytest.mark.parametrize("mode", [SharingMode.LF_TAGS, SharingMode.NAMED_RESOURCES])
def test_adding_removing_renaming_one_product_never_moves_another(mode: SharingMode) -> None:
    contracts = generate(300)
    lock = place(contracts, shards_per_domain=5, sharing_mode=mode)
    base = lock_placement(lock)
    assert placement(plan_shards(contracts, lock=lock, sharing_mode=mode)) == {
        k: stack_id_of(k.split(".")[0], i) for k, i in base.items()
    }
    assert len({(k.split(".")[0], i) for k, i in base.items()}) == 15  # 3 domains x 5 shards, all used

    added = lock_placement(place([*contracts, make_contract("domain_1", "brand_new")], lock, sharing_mode=mode))
    assert {k: v for k, v in added.items() if k != "domain_1.brand_new"} == base

    removed_name = contracts[42].qualified_name
    removed = lock_placement(place(contracts[:42] + contracts[43:], lock, sharing_mode=mode))
    assert removed == {k: v for k, v in base.items() if k != removed_name}

    renamed = list(contracts)
    renamed[7] = renamed[7].model_copy(update={"name": "product_renamed"})
    after = lock_placement(place(renamed, lock, sharing_mode=mode))
    old_name = contracts[7].qualified_name
    assert {k: v for k, v in after.items() if k != "domain_1.product_renamed"} == {
        k: v for k, v in base.items() if k != old_name
    }

    shuffled = list(contracts)
    random.Random(1).shuffle(shuffled)
    assert place(shuffled, shards_per_domain=5, sharing_mode=mode).dumps() == lock.dumps()


def test_a_domain_growing_past_its_shards_opens_new_ones_and_moves_nothing() -> None:
    """Before the lock, a full domain was an error whose fix (more shards) re-placed every product."""
    budget = {"max_resources": 30, "shards_per_domain": 2, "consumer_shards": 1}  # 10 products a shard
    first = generate(15, domains=1)
    lock = place(first, **budget)
    grown = generate(75, domains=1)  # first 15 included: same names and consumers
    assert grown[:15] == first
    new_lock = place(grown, lock, **budget)
    assert {k: v for k, v in lock_placement(new_lock).items() if k in lock_placement(lock)} == lock_placement(lock)
    assert new_lock.consumers == {**new_lock.consumers, **lock.consumers}  # recorded accounts stay too
    plans = plan_shards(grown, lock=new_lock, max_resources=30)
    product_shards = [p for p in plans if not p.is_consumer_shard]
    assert len(product_shards) >= 8 and max(p.index for p in product_shards) >= 7
    assert all(p.resources <= 30 for p in plans)
    # consumer accounts (12, 3 resources each) outgrow one consumer shard the same way
    assert len([p for p in plans if p.is_consumer_shard]) == 2


def test_new_products_go_where_the_hash_placed_them_before_the_lock() -> None:
    """A mesh deployed before the lock adopts it without a move: its first lock is the old placement."""
    contracts = generate(200)
    lock = place(contracts, shards_per_domain=4, domain_shards={"domain_2": 3}, consumer_shards=3)
    for contract in contracts:
        spread = 3 if contract.domain == "domain_2" else 4
        assert lock.product_shard(contract) == shard_index(f"{contract.domain}/{contract.name}", spread)
    assert lock.consumers == {a: shard_index(f"consumer:{a}", 3) for a in lock.consumers}


def test_lock_file_round_trip_one_entry_a_line(tmp_path: Path) -> None:
    lock = place(generate(30))
    path = tmp_path / "shards.lock.json"
    path.write_text(lock.dumps())
    assert ShardLock.load(path) == lock
    assert ShardLock.load(tmp_path / "missing.json") is None
    lines = path.read_text().splitlines()
    assert '   "product_0000": ' in "\n".join(lines)
    assert sum(1 for line in lines if '"product_' in line) == 30
    # adding one product adds its line; other entry lines change at most by a trailing comma
    more = place([*generate(30), make_contract("domain_0", "zzz_new")], lock).dumps().splitlines()
    added = [line for line in more if line not in lines]
    removed = [line for line in lines if line not in more]
    hashed = shard_index("domain_0/zzz_new", 4)
    assert [line for line in added if "zzz_new" in line] == [f'   "zzz_new": {hashed}']
    assert [line.rstrip(",") for line in removed] == [line.rstrip(",") for line in added if "zzz_new" not in line]


def test_plan_refuses_products_the_lock_does_not_record() -> None:
    contracts = generate(20)
    lock = place(contracts[:18])
    with pytest.raises(
        ShardLockError, match=r"does not place 2 new entries: domain_0/product_0018, domain_1/product_0019"
    ):
        plan_shards(contracts, lock=lock)
    with pytest.raises(ShardLockError, match="consumer 123412341234"):
        plan_shards(
            [*contracts[:18], make_contract("domain_0", "product_0000", consumers=["123412341234"])][1:], lock=lock
        )


def test_consumer_accounts_are_placed_by_their_own_identity() -> None:
    contracts = generate(200)
    lock = place(contracts, consumer_shards=3)
    plans = plan_shards(contracts, lock=lock)
    base = consumer_placement(plans)
    assert set(base) == set(POOL) and set(base.values()) <= {"MeshConsumers-00", "MeshConsumers-01", "MeshConsumers-02"}
    assert [p.is_consumer_shard for p in plans] == sorted((p.is_consumer_shard for p in plans), reverse=True)
    domains = {a: d for p in plans for a, d in p.consumers.items()}
    assert domains[POOL[0]] == sorted({c.domain for c in contracts if POOL[0] in c.consumers})
    extra = [*contracts, make_contract("domain_0", "extra", consumers=["123412341234"])]
    more = consumer_placement(plan_shards(extra, lock=place(extra, lock, consumer_shards=3)))
    assert {k: v for k, v in more.items() if k != "123412341234"} == base
    assert consumer_placement(plan_shards(contracts, sharing_mode="named_resources")) == {}


def test_plan_counts_resources_and_bytes() -> None:
    contracts = generate(60)
    plans = plan_shards(contracts, shards_per_domain=2, domain_shards={"domain_2": 3})
    assert {(p.group, p.index) for p in plans} >= {("domain_2", 2)}
    assert sum(len(p.products) for p in plans) == 60
    for plan in plans:
        # location + table + one tag association per LF-tag key (domain, classification, pii, tags, consumers)
        products = sum(2 + 3 + len(c.tags) + len(c.consumers) for c in plan.products)
        assert plan.resources == products + sum(CONSUMER_RESOURCES + len(d) for d in plan.consumers.values())
        assert all(c.domain == plan.domain for c in plan.products)
        assert not (plan.products and plan.consumers)
        assert plan.template_bytes > 2_000 + 1_000 * (len(plan.products) + len(plan.consumers))
    named = plan_shards(contracts, shards_per_domain=2, sharing_mode="named_resources", register_locations=False)
    assert sum(p.resources for p in named) == sum(1 + len(c.consumers) for c in contracts)


def test_overfull_recorded_shard_is_a_clear_error() -> None:
    contracts = generate(60, domains=1)
    lock = ShardLock(products={"domain_0": {c.name: 0 for c in contracts}}, consumers=dict.fromkeys(POOL, 0))
    with pytest.raises(ShardBudgetError) as error:
        plan_shards(contracts, lock=lock, max_resources=100)
    message = str(error.value)
    assert "1 data-product stack(s) exceed the budget of 100 resources" in message
    # 60 products: location, table, one tag association per LF-tag key (domain, classification, pii, tags, consumers)
    assert "mesh-products-domain-0-00: 389 resources" in message and "(60 products)" in message
    assert "mesh-consumers-00: 36 resources" not in message  # within budget
    assert "delete the lock entries of products not deployed yet" in message
    with pytest.raises(
        ShardBudgetError, match=r"mesh-products-domain-0-00: 389 resources, template up to [\d,]+ bytes"
    ):
        plan_shards(contracts, lock=lock, max_resources=400, max_template_bytes=100_000)


def test_duplicate_products_are_refused() -> None:
    with pytest.raises(ShardBudgetError, match="defined twice"):
        plan_shards([make_contract(), make_contract()])
    with pytest.raises(ShardBudgetError, match="defined twice"):
        ShardLock.place([make_contract(), make_contract()])


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


def synth_shards(contracts, outdir: Path, lock: ShardLock | None = None, max_bytes: int = 900_000) -> dict[str, bytes]:
    """Every shard stack of ``contracts`` as ``lock`` places them: stack id -> written template bytes."""
    app = App(outdir=str(outdir), builtin_cloud_formation_validation=False)
    env = Environment(account=HUB, region="eu-west-1")
    for plan in plan_shards(contracts, lock=lock, max_resources=60):
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
    app.synth()
    return {path.name.removesuffix(".template.json"): path.read_bytes() for path in outdir.glob("*.template.json")}


BUDGET = {"max_resources": 60, "shards_per_domain": 3, "consumer_shards": 2}  # 20 products a shard


@pytest.fixture(scope="module")
def before_after(tmp_path_factory: pytest.TempPathFactory):
    """40 products in 2 domains; then one removed, one renamed, and domain_1 grown past its 3 shards."""
    contracts = generate(40, domains=2)
    lock = ShardLock.place(contracts, **BUDGET)
    before = synth_shards(contracts, tmp_path_factory.mktemp("before"), lock)
    grown = [make_contract("domain_1", f"grown_{i:03d}", consumers=POOL[i % 12 : i % 12 + 1]) for i in range(50)]
    renamed = contracts[9].model_copy(update={"name": "renamed"})
    changed = [*contracts[:5], *contracts[6:9], renamed, *contracts[10:], *grown]
    after_lock = ShardLock.place(changed, lock, **BUDGET)
    after = synth_shards(changed, tmp_path_factory.mktemp("after"), after_lock)
    return contracts, lock, before, changed, after_lock, after


def test_untouched_shards_synthesize_byte_identical(before_after) -> None:
    contracts, lock, before, changed, after_lock, after = before_after
    kept = [c for c in contracts if c in changed]
    assert len(kept) == 38
    for contract in kept:  # no product moved
        assert after_lock.product_shard(contract) == lock.product_shard(contract)
    assert max(after_lock.products["domain_1"].values()) >= 3  # the grown domain got new stacks
    touched = {stack_id_of(c.domain, lock.product_shard(c)) for c in contracts if c not in changed} | {
        stack_id_of(c.domain, after_lock.product_shard(c)) for c in changed if c not in contracts
    }
    untouched = {s for s in before if s.startswith("MeshProducts-") and s not in touched}
    assert any(s.startswith("MeshProducts-domain-0") for s in untouched)  # the test compares something
    for stack in untouched:
        assert after[stack] == before[stack], stack
    # every product that stayed keeps its logical ids in its stack
    for stack, text in before.items():
        ids_before = set(json.loads(text)["Resources"])
        ids_after = set(json.loads(after[stack])["Resources"])
        lost = ids_before - ids_after
        assert all(contracts[5].name.replace("_", "") in k or contracts[9].name.replace("_", "") in k for k in lost)


def test_shards_stay_within_resource_and_size_limits(before_after) -> None:
    *_, after = before_after
    for text in after.values():
        assert len(json.loads(text)["Resources"]) <= 60
        assert len(text) < 1_000_000


SIZE_CASES = {
    "wide": lambda: [make_contract("sales", f"wide_{i}", columns=40, consumers=POOL[:3]) for i in range(12)],
    "avro": lambda: [make_contract("sales", f"avro_{i}", fmt="avro", columns=30) for i in range(10)],
    "iceberg": lambda: [
        make_contract("sales", f"ice_{i}", fmt="iceberg", columns=3, consumers=POOL) for i in range(10)
    ],
    "narrow": lambda: [make_contract("sales", f"tiny{i}", columns=0, partitions=False) for i in range(10)],
    "csv": lambda: [make_contract("sales", f"csv{i}", fmt="csv", columns=5, consumers=POOL[:1]) for i in range(10)],
    # 3 UTF-8 bytes a character: the written template's bytes are far more than its characters
    "non-ascii": lambda: [
        make_contract("sales", f"kanji_{i}", description="販売データの説明。" * 200, consumers=POOL[:1]) for i in range(10)
    ],
}


def synth_one_shard(contracts, outdir: Path, mode: SharingMode, max_bytes: int = 900_000):
    """The product shard of ``contracts`` (one domain), synthesized as `cdk synth` writes it (path metadata,
    CDKMetadata resource)."""
    context = {"aws:cdk:enable-path-metadata": True, "aws:cdk:version-reporting": True}
    app = App(outdir=str(outdir), builtin_cloud_formation_validation=False, context=context)
    plan = next(p for p in plan_shards(contracts, shards_per_domain=1, sharing_mode=mode) if not p.is_consumer_shard)
    stack = DataProductStack(
        app,
        plan.stack_id,
        env=Environment(account=HUB, region="eu-west-1"),
        plan=plan,
        catalog_id=HUB,
        data_access_role_arn=ROLE,
        allowed_consumer_accounts=POOL,
        sharing_mode=mode,
        max_template_bytes=max_bytes,
    )
    exact = estimate_template_bytes(stack)
    app.synth()
    return plan, stack, exact, (outdir / f"{plan.stack_id}.template.json").stat().st_size


@pytest.mark.parametrize("mode", [SharingMode.LF_TAGS, SharingMode.NAMED_RESOURCES])
@pytest.mark.parametrize("case", sorted(SIZE_CASES))
def test_size_estimates_are_never_below_the_written_template(tmp_path: Path, case: str, mode: SharingMode) -> None:
    plan, stack, exact, written = synth_one_shard(SIZE_CASES[case](), tmp_path, mode)
    assert written <= plan.template_bytes <= 2 * written
    assert written <= exact <= 2 * written
    # happy path: the check used the plan's bound and resolved nothing through jsii
    assert stack.size_check.estimate == plan.template_bytes and not stack.size_check.resolved


def test_size_check_resolves_a_stack_holding_more_than_its_plan(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    plan = next(p for p in plan_shards(SIZE_CASES["csv"]()) if not p.is_consumer_shard)
    stack = DataProductStack(
        app,
        plan.stack_id,
        env=Environment(account=HUB, region="eu-west-1"),
        plan=plan,
        catalog_id=HUB,
        data_access_role_arn=ROLE,
        allowed_consumer_accounts=POOL,
    )
    CfnResource(stack, "Extra", type="AWS::SQS::Queue")  # not in the plan's bound
    app.synth()
    assert stack.size_check.resolved


def test_size_check_resolves_only_when_the_bound_exceeds_the_budget(tmp_path: Path) -> None:
    contracts = SIZE_CASES["wide"]()
    plan, _, exact, written = synth_one_shard(contracts, tmp_path / "a", SharingMode.LF_TAGS)
    assert written < exact < plan.template_bytes  # the exact estimate is the tighter one here
    budget = (exact + plan.template_bytes) // 2
    _, stack, _, _ = synth_one_shard(contracts, tmp_path / "b", SharingMode.LF_TAGS, max_bytes=budget)
    assert stack.size_check.resolved and exact <= stack.size_check.estimate <= budget  # + CDKMetadata


def test_template_size_budget_is_checked_at_synth(tmp_path: Path) -> None:
    contracts = generate(10, domains=1)
    with pytest.raises(
        RuntimeError, match=r"MeshProducts-domain-0-0\d: template estimated at [\d,]+ bytes, over the budget of 5,000"
    ) as error:
        synth_shards(contracts, tmp_path, ShardLock.place(contracts, **BUDGET), max_bytes=5_000)
    assert "CloudFormation rejects templates over 1 MB" in str(error.value)
    assert "run `meshworks shards`" in str(error.value)
