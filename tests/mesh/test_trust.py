"""Issue 9, items 1 and 2: trust between accounts comes from the platform's configuration, never from a contract.

Each test goes through a real path: ``meshworks validate --config``, the configuration with ``-c``-style
context overrides, ``build_mesh`` (the synth path) and the synthesized templates.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import App
from aws_cdk.assertions import Template

from meshworks.stacks.cli import main
from meshworks.stacks.config import ConfigError, config_from_context
from meshworks.stacks.mesh_hub_stack import build_mesh, place_shards, read_contracts
from tests.harness import ROOT, SynthesizedPlatform
from tests.mesh.contract_data import minimal_contract

CDK_JSON = json.loads((ROOT / "cdk.json").read_text())
CONTRACTS = ROOT / "contracts"
ALLOWED = "333333333333"  # environments.consumers[0] of cdk.json
OUTSIDER = "999988887777"
SALES_PRODUCER = "444444444444"
SALES_BUCKET = "s3://acme-sales-curated-eu-west-1/"


def context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's context plus ``meshworks.<dotted key>`` overrides, as ``cdk synth -c`` passes them."""
    result = copy.deepcopy(CDK_JSON["context"])
    for key, value in overrides.items():
        result[f"meshworks.{key}"] = value if isinstance(value, str) else json.dumps(value)
    return result


def sales_contract(**overrides: Any) -> dict[str, Any]:
    return minimal_contract(**{"location": f"{SALES_BUCKET}orders/", **overrides})


def write(folder: Path, name: str, data: dict[str, Any]) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def validate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(["validate", "--config", str(ROOT / "cdk.json"), *argv])
    return code, capsys.readouterr().err.splitlines()


# ---- item 1: consumers come from the platform's allowlist ---------------------------------------------


def test_validate_rejects_a_consumer_outside_the_allowlist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "orders", sales_contract(consumers=[ALLOWED, OUTSIDER]))
    code, err = validate(capsys, str(path))
    assert code == 1
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if OUTSIDER in text)
    assert err[0].startswith(f"{path}:{line}: consumers[1]: account {OUTSIDER} is not an allowed consumer")
    assert "environments.consumers" in err[0] and ALLOWED in err[0]


def test_synth_rejects_a_consumer_outside_the_allowlist(tmp_path: Path) -> None:
    write(tmp_path, "orders", sales_contract(consumers=[OUTSIDER]))
    config = config_from_context(context(**{"mesh.contracts_path": str(tmp_path)}))
    with pytest.raises(ConfigError, match=rf"orders.yaml:\d+: consumers\[0\]: account {OUTSIDER} is not an allowed"):
        build_mesh(App(), config)


def test_a_consumer_added_to_the_allowlist_is_accepted(tmp_path: Path) -> None:
    write(tmp_path, "orders", sales_contract(consumers=[OUTSIDER]))
    consumers = [*CDK_JSON["context"]["meshworks"]["environments"]["consumers"]]
    consumers.append({"name": "finance", "account": OUTSIDER, "region": "eu-west-1"})
    config = config_from_context(context(**{"mesh.contracts_path": str(tmp_path), "environments.consumers": consumers}))
    stacks = build_mesh(App(), config, lock=place_shards(config.mesh, read_contracts(config)))
    assert "Spoke-finance" in stacks
    # an allowed consumer that launches the spoke product itself gets no Spoke stack from the app
    consumers[-1] = {**consumers[-1], "spoke": False}
    config = config_from_context(context(**{"mesh.contracts_path": str(tmp_path), "environments.consumers": consumers}))
    stacks = build_mesh(App(), config, lock=place_shards(config.mesh, read_contracts(config)))
    assert "Spoke-finance" not in stacks
    grants = [
        r["Properties"]["Principal"]["DataLakePrincipalIdentifier"]
        for name, stack in stacks.items()
        if name.startswith("MeshConsumers-")
        for r in Template.from_stack(stack).find_resources("AWS::LakeFormation::PrincipalPermissions").values()
    ]
    assert OUTSIDER in grants


def _principal_accounts(value: Any) -> set[str]:
    text = json.dumps(value)
    return {a for a in ("111111111111", "222222222222", ALLOWED, "444455556666", "777788889999", OUTSIDER) if a in text}


def test_hub_admits_only_allowlisted_consumers(platform: SynthesizedPlatform) -> None:
    """SNS subscribe, the Service Catalog portfolio share and the hub-key grants name allowlisted accounts only."""
    allowed = {c.account for c in platform.config.environments.consumers}
    hub = platform.templates["MeshHub"]["Resources"]
    topic_policies = [r for r in hub.values() if r["Type"] == "AWS::SNS::TopicPolicy"]
    subscribe = [
        s
        for r in topic_policies
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if "sns:Subscribe" in json.dumps(s.get("Action"))
    ]
    assert subscribe and set().union(*(_principal_accounts(s["Principal"]) for s in subscribe)) == allowed
    shares = [r for r in hub.values() if r["Type"] == "AWS::ServiceCatalog::PortfolioShare"]
    assert shares and {r["Properties"]["AccountId"] for r in shares} == allowed
    key_accounts = set()
    for resource in hub.values():
        if resource["Type"] == "AWS::KMS::Key":
            for statement in resource["Properties"]["KeyPolicy"]["Statement"]:
                key_accounts |= _principal_accounts(statement.get("Principal", {})) - {"111111111111"}
    assert key_accounts <= allowed
    for name, template in platform.templates.items():
        if name.startswith("MeshConsumers-"):
            for resource in template["Resources"].values():
                if resource["Type"] == "AWS::LakeFormation::PrincipalPermissions":
                    assert resource["Properties"]["Principal"]["DataLakePrincipalIdentifier"] in allowed


def test_catalog_refuses_consumers_outside_its_allowlist() -> None:
    from aws_cdk import Stack

    from meshworks.constructs.mesh.contract import DataProductContract
    from meshworks.constructs.mesh.data_product_catalog import DataProductCatalog

    contract = DataProductContract.model_validate(sales_contract(consumers=[OUTSIDER]))
    stack = Stack(App(), "Catalog", env={"account": "111111111111", "region": "eu-west-1"})
    with pytest.raises(ValueError, match=rf"{OUTSIDER} .*allowed_consumer_accounts"):
        DataProductCatalog(
            stack, "Products", contracts=[contract], catalog_id="111111111111", data_access_role_arn=None
        )
    with pytest.raises(ValueError, match=rf"{OUTSIDER} .*allowed_consumer_accounts"):
        DataProductCatalog(
            stack,
            "Products2",
            contracts=[contract],
            catalog_id="111111111111",
            data_access_role_arn=None,
            allowed_consumer_accounts=[ALLOWED],
        )
    catalog = DataProductCatalog(
        stack,
        "Products3",
        contracts=[contract],
        catalog_id="111111111111",
        data_access_role_arn=None,
        allowed_consumer_accounts=[OUTSIDER],
    )
    assert list(catalog.consumer_tags) == [OUTSIDER]


# ---- item 2: the domain map -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"domain": "finance"}, "domain", "domain 'finance' is not in the platform's domain map"),
        (
            {"location": "s3://acme-sales-archive/orders/"},
            "location",
            "is outside the locations of domain 'sales'",
        ),
        (
            {"location": "s3://acme-sales-curated-eu-west-1-copy/orders/"},
            "location",
            "is outside the locations of domain 'sales'",
        ),
        ({"location": f"{SALES_BUCKET}orders*/"}, "location", "glob character '*'"),
        ({"location": f"{SALES_BUCKET}orders/../customers/"}, "location", "segment '..'"),
        ({"location": f"{SALES_BUCKET}./orders/"}, "location", "segment '.'"),
        ({"location": f"{SALES_BUCKET}orders//x/"}, "location", "empty segment"),
        ({"producer_account": "123456789012"}, "producer_account", "is not a producer account of domain 'sales'"),
    ],
)
def test_validate_rejects_contracts_outside_the_domain_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], overrides: dict[str, Any], field: str, message: str
) -> None:
    path = write(tmp_path, "orders", sales_contract(**overrides))
    code, err = validate(capsys, str(path))
    assert code == 1, err
    assert any(line.startswith(f"{path}:") and f": {field}: " in line and message in line for line in err), err


def test_marketing_products_must_name_their_producer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """marketing has two producer accounts in cdk.json: a contract must say which one announces it."""
    data = minimal_contract(domain="marketing", location="s3://acme-marketing-lake/raw/orders/")
    path = write(tmp_path, "orders", data)
    code, err = validate(capsys, str(path))
    assert code == 1
    assert f"{path}:1: producer_account: domain 'marketing' has several producer accounts" in err[0]


def test_validate_needs_a_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--config", str(tmp_path / "cdk.json"), str(CONTRACTS)]) == 2
    assert "cdk.json" in capsys.readouterr().err


def test_validate_reports_a_bad_domain_map_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = copy.deepcopy(CDK_JSON)
    data["context"]["meshworks"]["mesh"]["domains"]["sales"]["buckets"] = ["s3://acme-sales/*/"]
    config = tmp_path / "cdk.json"
    config.write_text(json.dumps(data), encoding="utf-8")
    assert main(["validate", "--config", str(config), str(CONTRACTS)]) == 2
    err = capsys.readouterr().err
    assert 'meshworks.mesh.domains.sales.buckets[0] = "s3://acme-sales/*/": ' in err and "glob" in err


@pytest.mark.parametrize(
    ("domain", "key", "message"),
    [
        ({"producer_accounts": [], "buckets": [SALES_BUCKET]}, "producer_accounts", "at least 1"),
        ({"producer_accounts": ["123"], "buckets": [SALES_BUCKET]}, "producer_accounts[0]", "12-digit AWS account id"),
        ({"producer_accounts": [SALES_PRODUCER], "buckets": []}, "buckets", "at least 1"),
        ({"producer_accounts": [SALES_PRODUCER]}, "buckets", "required"),
        ({"producer_accounts": [SALES_PRODUCER], "buckets": ["s3://Bad_Bucket/"]}, "buckets[0]", "bucket"),
        ({"producer_accounts": [SALES_PRODUCER], "buckets": ["s3://acme/a*/"]}, "buckets[0]", "glob character"),
        ({"producer_accounts": [SALES_PRODUCER], "buckets": ["s3://acme/a/../b/"]}, "buckets[0]", "segment '..'"),
        ({"producer_accounts": [SALES_PRODUCER], "buckets": ["s3://acme/a//b/"]}, "buckets[0]", "empty segment"),
        ({"producer_accounts": [SALES_PRODUCER], "buckets": ["s3://acme/sales"]}, "buckets[0]", "end with '/'"),
        ({"producer_accounts": [SALES_PRODUCER], "buckets": ["acme-sales"]}, "buckets[0]", "s3://"),
        (
            {"producer_accounts": [SALES_PRODUCER], "buckets": [SALES_BUCKET], "kms_key_arns": ["alias/x"]},
            "kms_key_arns[0]",
            "must be a KMS key ARN",
        ),
        (
            {"producer_accounts": [SALES_PRODUCER, SALES_PRODUCER], "buckets": [SALES_BUCKET]},
            "producer_accounts",
            "repeats",
        ),
    ],
)
def test_bad_domain_map_is_a_one_line_config_error(domain: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        config_from_context(context(**{"mesh.domains": {"sales": domain}}))
    lines = [line.strip() for line in str(error.value).splitlines()[1:]]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"meshworks.mesh.domains.sales.{key}"), lines
    assert message in lines[0], lines


@pytest.mark.parametrize(
    ("sales", "marketing", "message"),
    [
        (["s3://acme-lake/"], ["s3://acme-lake/marketing/"], "s3://acme-lake/marketing/ (domain 'marketing') is inside"),
        (["s3://acme-lake/m/"], ["s3://acme-lake/m/"], "is listed by domains"),
        (["s3://acme-lake/s/", "s3://acme-lake/s/x/"], ["s3://other/"], "both of domain 'sales'"),
    ],
)
def test_domains_must_not_share_locations(sales: list[str], marketing: list[str], message: str) -> None:
    domains = {
        "sales": {"producer_accounts": [SALES_PRODUCER], "buckets": sales},
        "marketing": {"producer_accounts": [SALES_PRODUCER], "buckets": marketing},
    }
    with pytest.raises(ConfigError, match=r"meshworks.mesh.domains = ") as error:
        config_from_context(context(**{"mesh.domains": domains}))
    assert message in str(error.value)


def test_old_producer_keys_point_to_the_domain_map() -> None:
    with pytest.raises(ConfigError, match=r"meshworks.mesh.producer_buckets.*mesh.domains"):
        config_from_context(context(**{"mesh.producer_buckets": {"sales": ["acme-sales"]}}))


def test_synth_rejects_a_location_outside_the_domain_map(tmp_path: Path) -> None:
    write(tmp_path, "orders", minimal_contract(location="s3://attacker-sales-bucket/orders/"))
    config = config_from_context(context(**{"mesh.contracts_path": str(tmp_path)}))
    with pytest.raises(ConfigError, match=r"orders.yaml:\d+: location: .*outside the locations of domain 'sales'"):
        build_mesh(App(), config)


def _data_access_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    role = next(
        logical
        for logical, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and "lf-data-access" in json.dumps(r["Properties"].get("RoleName"))
    )
    return [
        s
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_data_access_role_reads_only_the_configured_locations(platform: SynthesizedPlatform) -> None:
    """The role's S3 and KMS resources are exactly the domain map's, whatever the contracts say."""
    statements = _data_access_statements(platform.templates["MeshHub"])
    domains = platform.config.mesh.domains
    expected_objects = set()
    expected_buckets = set()
    for domain in domains.values():
        for uri in domain.buckets:
            bucket, _, prefix = uri.removeprefix("s3://").partition("/")
            expected_objects.add(f"arn:aws:s3:::{bucket}/{prefix}*")
            expected_buckets.add(f"arn:aws:s3:::{bucket}")
    objects = {r for s in statements if "s3:GetObject" in json.dumps(s["Action"]) for r in _list(s["Resource"])}
    buckets = {r for s in statements if "s3:ListBucket" in json.dumps(s["Action"]) for r in _list(s["Resource"])}
    keys = {r for s in statements if "kms:Decrypt" in json.dumps(s["Action"]) for r in _list(s["Resource"])}
    assert objects == expected_objects
    assert buckets == expected_buckets
    assert keys == {k for d in domains.values() for k in d.kms_key_arns}
    listing = next(  # the marketing bucket's listing (each bucket has its own statement)
        s for s in statements
        if "s3:ListBucket" in json.dumps(s["Action"]) and "arn:aws:s3:::acme-marketing-lake" in _list(s["Resource"])
    )
    prefixes = set(_list(listing["Condition"]["StringLike"]["s3:prefix"]))
    assert "marketing/*" not in prefixes and "iceberg/*" in prefixes


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_hub_domains_and_producers_come_from_the_configuration(platform: SynthesizedPlatform) -> None:
    template = Template.from_json(platform.templates["MeshHub"])
    databases = template.find_resources("AWS::Glue::Database")
    names = {r["Properties"]["DatabaseInput"]["Name"] for r in databases.values()}
    assert names == set(platform.config.mesh.domains)
    rules = template.find_resources("AWS::Events::Rule")
    for rule in rules.values():
        pattern = rule["Properties"].get("EventPattern", {})
        if "detail" in pattern:
            domain = pattern["detail"]["domain"][0]
            assert sorted(pattern["account"]) == sorted(platform.config.mesh.domains[domain].producer_accounts)


# ---- producer account on the table ------------------------------------------------------------------


def _parameters(properties: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, parameters) of a Glue table; an Iceberg table keeps them among its Iceberg properties."""
    if "TableInput" in properties:
        return properties["TableInput"]["Name"], properties["TableInput"]["Parameters"]
    iceberg = properties["OpenTableFormatInput"]["IcebergInput"]["IcebergTableInput"]
    return properties["Name"], iceberg["Properties"]


def _tables(platform: SynthesizedPlatform) -> dict[str, dict[str, Any]]:
    return dict(
        _parameters(r["Properties"])
        for name, t in platform.templates.items()
        if name.startswith("MeshProducts-")
        for r in t["Resources"].values()
        if r["Type"] == "AWS::Glue::Table"
    )


def test_tables_record_their_producer_account(platform: SynthesizedPlatform) -> None:
    tables = _tables(platform)
    domains = platform.config.mesh.domains
    assert tables["orders"]["meshworks:producer_account"] == domains["sales"].producer_accounts[0]
    assert tables["customers"]["meshworks:producer_account"] == domains["sales"].producer_accounts[0]
    marketing = set(domains["marketing"].producer_accounts)
    assert tables["campaigns"]["meshworks:producer_account"] in marketing
    assert tables["web_sessions"]["meshworks:producer_account"] in marketing
    assert tables["orders"]["meshworks.owner"]  # the existing parameters stay


def test_single_producer_is_the_default_and_an_explicit_one_is_kept(tmp_path: Path) -> None:
    from meshworks.constructs.mesh.loader import load_contracts

    write(tmp_path, "orders", sales_contract())
    write(
        tmp_path,
        "campaigns",
        minimal_contract(
            name="campaigns",
            domain="marketing",
            location="s3://acme-marketing-lake/raw/campaigns/",
            producer_account="666666666666",
        ),
    )
    config = config_from_context(context())
    contracts = {c.name: c for c in load_contracts([tmp_path], trust=config.mesh_trust())}
    assert contracts["orders"].producer_account == SALES_PRODUCER
    assert contracts["orders"].glue_table_parameters()["meshworks:producer_account"] == SALES_PRODUCER
    assert contracts["campaigns"].producer_account == "666666666666"


def test_cdk_synth_applies_the_trust_of_its_context_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`cdk synth -c meshworks.environments.consumers=[] -c meshworks.mesh.domains={...}` as the CLI runs app.py:
    the shipped contracts then share with a removed consumer and live in a removed domain."""
    from tests.app_run import run_app

    sales_only = {"sales": CDK_JSON["context"]["meshworks"]["mesh"]["domains"]["sales"]}
    overrides = context(**{"environments.consumers": [], "mesh.domains": sales_only})
    returncode, stderr = run_app(overrides, tmp_path, capsys)
    assert returncode == 1, stderr[-2000:]
    assert "Traceback" not in stderr
    assert f"contracts/sales/orders.yaml:52: consumers[0]: account {ALLOWED} is not an allowed consumer" in stderr
    assert "contracts/marketing/campaigns.yaml:3: domain: domain 'marketing' is not in the platform's domain map" in (
        stderr
    )


# ---- the folder rules themselves ---------------------------------------------------------------------


def test_hub_refuses_a_producer_location_with_wildcards() -> None:
    """Library users of MeshHub get the same folder rules as the configuration."""
    from aws_cdk import Stack

    from meshworks.constructs.mesh.mesh_hub import MeshHub

    hub = MeshHub(Stack(App(), "Hub", env={"account": "111111111111", "region": "eu-west-1"}), "Hub")
    for bad, message in (
        ("s3://acme-lake/*", "glob character"),
        ("s3://acme-lake/a/../b/", "segment '..'"),
        ("acme-lake", "must be an S3 folder URI"),
        ("s3://acme-lake/a//b/", "empty segment"),
    ):
        with pytest.raises(ValueError, match=message):
            hub.add_producer_location(bad)
    hub.add_producer_location("s3://acme-lake/sales/")


_FOLDER_CHARS = "ab9-./*?[]{}:/"


@pytest.mark.parametrize("allow_root", [True, False])
def test_accepted_folders_are_plain(allow_root: bool) -> None:
    """Property: whatever string check_s3_folder accepts is an s3:// folder without patterns or relative
    segments, and location_within on accepted folders is a whole-segment prefix test."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from meshworks.constructs.mesh.trust import check_s3_folder, location_within

    @settings(max_examples=400, deadline=None)
    @given(st.text(alphabet=_FOLDER_CHARS, max_size=30), st.text(alphabet=_FOLDER_CHARS, max_size=30))
    def check(a: str, b: str) -> None:
        accepted = []
        for tail in (a, b):
            uri = "s3://" + tail
            try:
                value = check_s3_folder(uri, allow_bucket_root=allow_root)
            except ValueError:
                continue
            path = value.removeprefix("s3://")
            assert value.endswith("/") and not any(ch in path for ch in "*?[]{}")
            segments = path[:-1].split("/")
            assert all(s not in {"", ".", ".."} for s in segments), value
            accepted.append(value)
        if len(accepted) == 2:
            outer, inner = accepted
            if location_within(inner, outer):
                assert inner.split("/")[: outer.count("/")] == outer.split("/")[: outer.count("/")]

    check()


def test_data_access_role_policy_is_enforced_on_the_configured_folders(platform: SynthesizedPlatform) -> None:
    """The synthesized data-access policy, enforced by moto's IAM: objects of the configured folders are
    readable, a sibling folder of the same bucket and any other bucket are not, nothing is writable.

    (moto cannot evaluate ``s3:prefix`` on listings; those statements are asserted on the template above.)
    """
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws
    from moto.core import set_initial_no_auth_action_count

    statements = [s for s in _data_access_statements(platform.templates["MeshHub"]) if "Condition" not in s]
    objects = {
        "acme-marketing-lake": ["raw/web_sessions/dt=1/part-0.json", "private/secrets.csv", "iceberg/c/m.json"],
        "acme-sales-curated-eu-west-1": ["orders/part-0.parquet"],
        "acme-sales-archive": ["orders/part-0.parquet"],
    }
    setup_calls = len(objects) + sum(len(keys) for keys in objects.values()) + 3

    @set_initial_no_auth_action_count(setup_calls)
    def run() -> dict[str, str]:
        s3 = boto3.client("s3", region_name="eu-west-1")
        for bucket, keys in objects.items():
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
            for key in keys:
                s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        iam = boto3.client("iam", region_name="eu-west-1")
        iam.create_user(UserName="lake-formation")
        iam.put_user_policy(
            UserName="lake-formation",
            PolicyName="data-access",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
        key = iam.create_access_key(UserName="lake-formation")["AccessKey"]
        reader = boto3.client(
            "s3",
            region_name="eu-west-1",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        allowed: dict[str, str] = {}
        for bucket, keys in objects.items():
            for name in keys:
                try:
                    reader.get_object(Bucket=bucket, Key=name)
                    allowed[f"{bucket}/{name}"] = "read"
                except ClientError as error:
                    allowed[f"{bucket}/{name}"] = error.response["Error"]["Code"]
        with pytest.raises(ClientError, match="AccessDenied"):
            reader.put_object(Bucket="acme-marketing-lake", Key="raw/web_sessions/evil.json", Body=b"x")
        return allowed

    with mock_aws():
        allowed = run()
    assert allowed == {
        "acme-marketing-lake/raw/web_sessions/dt=1/part-0.json": "read",
        "acme-marketing-lake/private/secrets.csv": "AccessDenied",
        "acme-marketing-lake/iceberg/c/m.json": "read",
        "acme-sales-curated-eu-west-1/orders/part-0.parquet": "read",
        "acme-sales-archive/orders/part-0.parquet": "AccessDenied",
    }


def test_a_contract_in_another_domains_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a user test: contracts/marketing/sneaky.yaml saying domain: sales passed, so the marketing
    team's approval (CODEOWNERS of contracts/marketing/) could publish a sales product."""
    folder = tmp_path / "marketing"
    folder.mkdir()
    write(folder, "sneaky", sales_contract())
    code, lines = validate(capsys, str(tmp_path), "--config", str(ROOT / "cdk.json"))
    assert code == 1
    assert any("sneaky.yaml" in line and "domain: 'sales' in the folder of domain 'marketing'" in line for line in lines)
