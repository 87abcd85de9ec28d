"""The mesh in the reference app: its stacks, limits, wiring, and the mesh configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from aws_cdk import App

from meshworks.constructs.mesh.data_product import SharingMode
from meshworks.constructs.mesh.data_product_catalog import plan_shards
from meshworks.stacks.cli import main as cli
from meshworks.stacks.config import ConfigError, MeshConfig, config_from_context
from meshworks.stacks.mesh_hub_stack import build_mesh, place_shards, read_contracts, read_shard_lock
from meshworks.stacks.platform import build_platform
from tests.harness import ROOT, SynthesizedPlatform
from tests.mesh.mesh_fixtures import make_contract

MESH_PREFIXES = ("MeshHub", "MeshProducts-", "MeshConsumers-", "Spoke-")
SALES = "s3://acme-sales-curated-eu-west-1/"  # the sales folder of cdk.json's domain map
CONSUMER = "333333333333"  # cdk.json's allowed consumer


def mesh_templates(platform: SynthesizedPlatform) -> dict[str, dict]:
    return {k: v for k, v in platform.templates.items() if k.startswith(MESH_PREFIXES)}


def test_hub_shards_and_spoke_are_synthesized(platform: SynthesizedPlatform) -> None:
    names = set(mesh_templates(platform))
    assert {"MeshHub", "Spoke-analytics"} <= names
    assert any(n.startswith("MeshProducts-sales-") for n in names)
    assert any(n.startswith("MeshProducts-marketing-") for n in names)


def test_shards_hold_exactly_the_planned_products(platform: SynthesizedPlatform) -> None:
    mesh = platform.config.mesh
    plans = plan_shards(
        read_contracts(platform.config),
        lock=read_shard_lock(mesh),
        sharing_mode=mesh.sharing_mode,
        location_access_grants=1 if mesh.register_locations else 0,  # the notifier's DATA_LOCATION_ACCESS
    )
    templates = mesh_templates(platform)
    assert {p.stack_id for p in plans} == {n for n in templates if n.startswith(("MeshProducts-", "MeshConsumers-"))}
    for plan in plans:
        resources = templates[plan.stack_id]["Resources"]
        assert len(resources) == plan.resources
        tables = sorted(
            r["Properties"].get("Name") or r["Properties"]["TableInput"]["Name"] for r in resources.values() if r["Type"] == "AWS::Glue::Table"
        )
        assert tables == [c.name for c in plan.products]


def test_mesh_stacks_within_limits_and_without_exports(platform: SynthesizedPlatform) -> None:
    for name, template in mesh_templates(platform).items():
        assert len(template["Resources"]) <= 500, name
        assert len(json.dumps(template, indent=1)) < 1_000_000, name
        text = json.dumps(template)
        assert "Fn::ImportValue" not in text, f"{name} imports a CloudFormation export"
        assert "Export" not in json.dumps(template.get("Outputs", {})), f"{name} exports a value"


def test_default_sharing_mode_is_lf_tags(platform: SynthesizedPlatform) -> None:
    assert MeshConfig().sharing_mode == SharingMode.LF_TAGS.value
    shards = {n: t for n, t in mesh_templates(platform).items() if n.startswith("MeshProducts-")}
    types = {r["Type"] for t in shards.values() for r in t["Resources"].values()}
    assert "AWS::LakeFormation::TagAssociation" in types
    hub = platform.templates["MeshHub"]["Resources"]
    keys = {r["Properties"]["TagKey"] for r in hub.values() if r["Type"] == "AWS::LakeFormation::Tag"}
    assert {"domain", "classification", "pii", "tier", "cost_center"} <= keys
    consumers = {n: t for n, t in mesh_templates(platform).items() if n.startswith("MeshConsumers-")}
    consumer_keys = {
        r["Properties"]["TagKey"]
        for t in consumers.values()
        for r in t["Resources"].values()
        if r["Type"] == "AWS::LakeFormation::Tag"
    }
    assert consumer_keys == {f"meshworks:consumer:{c.account}" for c in platform.config.environments.consumers}


def test_spoke_trusts_the_configured_hub(platform: SynthesizedPlatform) -> None:
    spoke = platform.templates["Spoke-analytics"]["Resources"]
    function = next(
        r["Properties"]
        for r in spoke.values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == "share_acceptor.handler.main"
    )
    env = function["Environment"]["Variables"]
    assert env["HUB_ACCOUNT_ID"] == platform.config.environments.hub.account
    assert env["LOCAL_PRINCIPAL_ARNS"] == ",".join(platform.config.environments.consumers[0].principals)


# ---- configuration ------------------------------------------------------------------------------------


def base_context(**mesh: object) -> dict:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context["meshworks"] = {**context["meshworks"], "mesh": {**context["meshworks"]["mesh"], **mesh}}
    if "contracts_path" in mesh:  # a test's own contracts: its products come from them only, not the datasets
        context["meshworks"]["ingestion"] = {"enabled": False}
        context["meshworks"]["feature_store"] = {**context["meshworks"].get("feature_store", {}), "offline_product": None}
    return context


@pytest.mark.parametrize(
    ("mesh", "key", "hint"),
    [
        ({"sharing_mode": "ram"}, "meshworks.mesh.sharing_mode", "lf_tags"),
        ({"shards_per_domain": 0}, "meshworks.mesh.shards_per_domain", "greater than or equal to 1"),
        ({"max_resources_per_stack": 900}, "meshworks.mesh.max_resources_per_stack", "less than or equal to 500"),
        ({"lf_admin_role_arns": ["admins"]}, "meshworks.mesh.lf_admin_role_arns[0]", "must be an IAM role ARN"),
        ({"shard_count": 3}, "meshworks.mesh.shard_count", "not allowed"),
    ],
)
def test_bad_mesh_configuration_names_the_key(mesh: dict, key: str, hint: str) -> None:
    with pytest.raises(ConfigError) as error:
        config_from_context(base_context(**mesh))
    assert key in str(error.value) and hint in str(error.value)


def test_missing_contracts_folder_is_a_config_error() -> None:
    config = config_from_context(base_context(contracts_path="no/such/folder"))
    with pytest.raises(ConfigError, match=r"meshworks.mesh.contracts_path = 'no/such/folder': no such"):
        build_mesh(App(), config)


def write_contracts(folder: Path, count: int) -> None:
    for i in range(count):
        contract = make_contract("sales", f"p{i:02d}", consumers=[CONSUMER], location=f"{SALES}p{i:02d}/")
        (folder / f"p{i:02d}.yaml").write_text(yaml.safe_dump(contract.model_dump(mode="json"), sort_keys=False))


def test_shipped_shard_lock_is_current() -> None:
    """The reference app's lock records every example contract (CI runs `meshworks shards --check`)."""
    config = config_from_context(base_context())
    mesh = config.mesh
    lock = read_shard_lock(mesh)
    assert lock is not None and lock.dumps() == place_shards(mesh, read_contracts(config), lock).dumps()
    assert cli(["shards", "--check", "--cdk-json", str(ROOT / "cdk.json")]) == 0


def test_products_missing_from_the_shard_lock_are_a_config_error(tmp_path: Path, capsys) -> None:
    write_contracts(tmp_path, 3)
    context = base_context(contracts_path=str(tmp_path))
    config = config_from_context(context)
    with pytest.raises(ConfigError) as error:
        build_mesh(App(), config)
    message = str(error.value)
    assert "mesh sharding" in message and str(tmp_path / "shards.lock.json") in message
    assert "does not place 4 new entries: consumer 333333333333, sales/p00, sales/p01, sales/p02" in message
    assert "Run `meshworks shards`" in message
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"context": context}))
    assert cli(["shards", "--check", "--cdk-json", str(cdk_json)]) == 1
    assert "is not current" in capsys.readouterr().err
    assert cli(["shards", "--cdk-json", str(cdk_json)]) == 0
    assert "+ sales/p00 -> mesh-products-sales-0" in capsys.readouterr().out
    assert cli(["shards", "--check", "--cdk-json", str(cdk_json)]) == 0
    stacks = build_mesh(App(), config)  # the lock now places them
    assert any(name.startswith("MeshProducts-sales-") for name in stacks)


def test_overfull_recorded_shard_is_a_config_error(tmp_path: Path) -> None:
    write_contracts(tmp_path, 6)
    config = config_from_context(base_context(contracts_path=str(tmp_path), max_resources_per_stack=10))
    (tmp_path / "shards.lock.json").write_text(
        json.dumps(
            {"version": 1, "products": {"sales": {f"p{i:02d}": 0 for i in range(6)}}, "consumers": {"333333333333": 0}}
        )
    )
    with pytest.raises(ConfigError) as error:
        build_mesh(App(), config)
    message = str(error.value)
    assert "mesh-products-sales-00: 42 resources" in message and "(6 products)" in message
    assert "delete the lock entries of products not deployed yet" in message


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("{", "not valid JSON"),
        ('{"version": 2}', "version = 2"),
        ('{"version": 1, "products": {"sales": {"p00": -1}}}', "products.sales.p00 = -1"),
        ('{"version": 1, "products": ["sales"]}', "products must map each domain"),
    ],
)
def test_bad_shard_lock_is_a_config_error(tmp_path: Path, text: str, hint: str) -> None:
    write_contracts(tmp_path, 1)
    (tmp_path / "shards.lock.json").write_text(text)
    with pytest.raises(ConfigError, match="Invalid meshworks shard lock") as error:
        build_mesh(App(), config_from_context(base_context(contracts_path=str(tmp_path))))
    assert hint in str(error.value) and "shards.lock.json" in str(error.value)


def test_bad_contracts_are_a_config_error(tmp_path: Path) -> None:
    write_contracts(tmp_path, 1)
    (tmp_path / "broken.yaml").write_text("name: Not Snake\n")
    config = config_from_context(base_context(contracts_path=str(tmp_path)))
    with pytest.raises(ConfigError, match="Invalid data-product contracts") as error:
        build_mesh(App(), config)
    assert "broken.yaml:1" in str(error.value)


def test_too_many_values_of_one_tag_is_a_config_error(tmp_path: Path) -> None:
    for i in range(51):
        contract = make_contract("sales", f"t{i:02d}", tags={"cost_center": f"cc-{i}"}, location=f"{SALES}t{i:02d}/")
        (tmp_path / f"t{i:02d}.yaml").write_text(yaml.safe_dump(contract.model_dump(mode="json"), sort_keys=False))
    config = config_from_context(base_context(contracts_path=str(tmp_path)))
    with pytest.raises(ConfigError, match=r"tags.cost_center: LF-tag 'cost_center' would have 51 values"):
        build_mesh(App(), config)


def test_the_demo_spoke_receives_shares(platform: SynthesizedPlatform) -> None:
    """The shipped contracts share products with the shipped consumer account, so the demo is end to end."""
    consumer = platform.config.environments.consumers[0].account
    consumers = {n: t for n, t in mesh_templates(platform).items() if n.startswith("MeshConsumers-")}
    grants = [
        r["Properties"]
        for t in consumers.values()
        for r in t["Resources"].values()
        if r["Type"] == "AWS::LakeFormation::PrincipalPermissions"
        and r["Properties"]["Principal"]["DataLakePrincipalIdentifier"] == consumer
    ]
    assert grants, f"no grant to the configured consumer {consumer}"


def test_every_queue_of_the_hub_stack_is_alarmed(platform: SynthesizedPlatform) -> None:
    """Issue 8 fault 7: every dead-letter queue of the hub stack has an alarm (none did before)."""
    resources = platform.templates["MeshHub"]["Resources"]
    queues = {k for k, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    watched = {
        d["Value"]["Fn::GetAtt"][0]
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        for d in r["Properties"].get("Dimensions", [])
        if d["Name"] == "QueueName"
    }
    assert queues and queues <= watched


def test_configuration_errors_are_found_before_any_stack_is_built(tmp_path: Path) -> None:
    """A bad contract is refused before a construct is made: the error comes first and costs no synth work (the
    foundation stack was built before the contracts were read)."""
    write_contracts(tmp_path, 1)
    (tmp_path / "broken.yaml").write_text("name: Not Snake\n")
    app = App()
    with pytest.raises(ConfigError, match="Invalid data-product contracts"):
        build_platform(app, config_from_context(base_context(contracts_path=str(tmp_path))), policy_checks=False)
    assert [child.node.id for child in app.node.children] == []
