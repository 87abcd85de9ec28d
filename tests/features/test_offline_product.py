"""``feature_store.offline_product``: the offline store as a data product of the mesh (issue 13), reviewed by
``read_contracts`` with the contracts and the datasets' products."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from meshworks.stacks.config import ConfigError, config_from_context
from meshworks.stacks.mesh_hub_stack import read_contracts
from tests.harness import ROOT, SynthesizedPlatform

CDK_JSON = json.loads((ROOT / "cdk.json").read_text())
KEY = "meshworks.feature_store.offline_product"


def context(**overrides: Any) -> dict[str, Any]:
    result = copy.deepcopy(CDK_JSON["context"])
    for key, value in overrides.items():
        result[f"meshworks.{key}"] = value if isinstance(value, str) else json.dumps(value)
    return result


def product(**changes: Any) -> dict[str, Any]:
    return {**CDK_JSON["context"]["meshworks"]["feature_store"]["offline_product"], **changes}


def resolve_location(platform: SynthesizedPlatform, value: Any) -> str:
    """The Glue table's ``Fn::Join`` location with the foundation's exported bucket name put in (its ``BucketName``)."""
    foundation = platform.templates["Foundation"]
    exports = {out["Export"]["Name"]: out["Value"] for out in foundation.get("Outputs", {}).values() if "Export" in out}
    parts = []
    for part in value["Fn::Join"][1]:
        if isinstance(part, dict):
            ref = exports[part["Fn::ImportValue"]]["Ref"]
            part = foundation["Resources"][ref]["Properties"]["BucketName"]
        parts.append(part)
    return "".join(parts)


def test_the_switch_on_shares_the_offline_store_as_its_glue_table(platform: SynthesizedPlatform) -> None:
    config = platform.config
    assert config.feature_store.offline_product is not None  # the reference app shows it
    (contract,) = [c for c in read_contracts(config) if c.domain == "features"]
    (table,) = [r for r in platform.templates["Features"]["Resources"].values() if r["Type"] == "AWS::Glue::Table"]
    descriptor = table["Properties"]["TableInput"]["StorageDescriptor"]
    bucket = f"{config.prefix}-{config.environments.compute.account}-curated"
    assert contract.location == f"s3://{bucket}/features/{contract.name}/"
    assert resolve_location(platform, descriptor["Location"]) == contract.location  # the Glue table's own
    assert contract.format.value == "delta"
    assert [(c.name, c.type) for c in contract.all_columns] == [(c["Name"], c["Type"]) for c in descriptor["Columns"]]
    assert contract.producer_account == config.environments.compute.account
    assert [c.name for c in contract.columns if c.pii] == ["customer_id", "model"]
    lock = json.loads((ROOT / "contracts/shards.lock.json").read_text())
    assert contract.name in lock["products"]["features"]  # placed by `meshworks shards`


def test_the_switch_off_shares_nothing() -> None:
    config = config_from_context(context(**{"feature_store.offline_product": "null"}))
    assert config.feature_store.offline_product is None
    assert [c for c in read_contracts(config) if c.domain == "features"] == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"classification": "secret"}, "classification"),
        ({"slo": {"cron": "every day", "timezone": "UTC"}}, "slo.cron"),
        ({"contact": {"email": "not-an-email", "slack_channel": "#ml"}}, "contact.email"),
        ({"domain": "Features!"}, "domain"),
    ],
)
def test_a_bad_field_is_one_line_naming_the_key(changes: dict[str, Any], field: str) -> None:
    config = config_from_context(context(**{"feature_store.offline_product": product(**changes)}))
    with pytest.raises(ConfigError) as error:
        read_contracts(config)
    lines = str(error.value).splitlines()
    assert len(lines) == 1, lines
    assert f"{KEY}.{field}" in lines[0]


def test_a_domain_whose_folders_do_not_hold_the_store_is_refused() -> None:
    config = config_from_context(context(**{"feature_store.offline_product": product(domain="clickstream")}))
    with pytest.raises(ConfigError) as error:
        read_contracts(config)
    assert KEY in str(error.value) and "location" in str(error.value)


def test_an_unknown_pii_column_names_the_key() -> None:
    config = config_from_context(context(**{"feature_store.offline_product": product(pii_columns=["nope"])}))
    with pytest.raises(ConfigError, match=rf"{KEY}.pii_columns = \['nope'\]"):
        read_contracts(config)


def test_the_product_needs_the_offline_store() -> None:
    with pytest.raises(ConfigError, match="offline_product"):
        config_from_context(context(**{"feature_store.offline_store": "false", "feature_store.feature_job.enabled": "false"}))


def test_validate_finds_a_contract_overlapping_the_offline_store(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    from meshworks.stacks.cli import main
    from tests.mesh.contract_data import minimal_contract

    location = "s3://meshworks-demo-222222222222-curated/features/customer_features/"
    path = tmp_path / "copy.yaml"
    path.write_text(yaml.safe_dump(minimal_contract(name="copy", domain="features", location=location)))
    code = main(["validate", "--config", str(ROOT / "cdk.json"), str(path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "meshworks.feature_store.offline_product" in err and "the same location" in err, err
