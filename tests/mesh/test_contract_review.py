"""Governance rules across a set of contracts: PII, trust (domain map, consumers, producers), duplicates, overlaps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from meshworks.constructs.mesh import DataProductContract, review_contracts, validate_paths
from meshworks.constructs.mesh.loader import ContractError, load_contracts
from meshworks.constructs.mesh.review import resolve_producer_account, suggested_pii_category
from meshworks.constructs.mesh.trust import MeshTrust, ProducerDomain
from tests.mesh.contract_data import minimal_contract

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


def _contract(**overrides: Any) -> DataProductContract:
    return DataProductContract.model_validate(minimal_contract(**overrides))


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("email", "email"),
        ("customer_email", "email"),
        ("email_address", "email"),
        ("phone", "phone"),
        ("mobile_number", "phone"),
        ("mobile_phone", "phone"),
        ("telephone", "phone"),
        ("is_mobile", None),
        ("female_share", None),
        ("zip_code_region", None),
        ("username", "person_name"),
        ("ssn", "government_id"),
        ("social_security_number", "government_id"),
        ("billing_address", "address"),
        ("address_line_1", "address"),
        ("date_of_birth", "birth_date"),
        ("birth_date", "birth_date"),
        ("dob", "birth_date"),
        ("ip_address", "ip_address"),
        ("client_ip", "ip_address"),
        ("name", "person_name"),
        ("first_name", "person_name"),
        ("customer_last_name", "person_name"),
        ("surname", "person_name"),
        ("email_campaign_id", None),
        ("campaign_name", None),
        ("product_name", None),
        ("zip_flag", None),
        ("shipping_method", None),
        ("description", None),
        ("tip_amount", None),
        ("ipo_date", None),
    ],
)
def test_pii_name_suggestions(name: str, category: str | None) -> None:
    suggestion = suggested_pii_category(name)
    assert (suggestion.value if suggestion else None) == category


def test_pii_columns_must_be_flagged() -> None:
    contract = _contract(
        columns=[
            {"name": "order_id", "type": "bigint", "description": "Order number."},
            {"name": "customer_email", "type": "string", "description": "Buyer email."},
            {"name": "first_name", "type": "string", "description": "Buyer name.", "pii": True},
        ],
        partition_keys=[{"name": "client_ip", "type": "string", "description": "Buyer IP."}],
    )
    findings = review_contracts([contract])
    assert [(f.loc, f.rule) for f in findings] == [
        (("columns", 1, "pii"), "pii-column"),
        (("partition_keys", 0, "pii"), "pii-column"),
    ]
    assert "set 'pii: true' and 'pii_category: email'" in findings[0].message


def test_bare_name_column_hints_at_renaming() -> None:
    contract = _contract(columns=[{"name": "name", "type": "string", "description": "Campaign name."}])
    [finding] = review_contracts([contract])
    assert "rename it" in finding.message


def test_pii_products_cannot_be_public() -> None:
    contract = _contract(
        classification="public",
        columns=[{"name": "email", "type": "string", "description": "Buyer email.", "pii": True}],
    )
    [finding] = review_contracts([contract])
    assert finding.rule == "pii-classification"
    assert finding.loc == ("classification",)
    assert "(email) cannot be public" in finding.message
    assert review_contracts([_contract(classification="public")]) == []


TRUST = MeshTrust(
    domains={
        "sales": ProducerDomain(producer_accounts=["444444444444"], buckets=["s3://shared-lake-1/sales/"]),
        "marketing": ProducerDomain(
            producer_accounts=["555555555555", "666666666666"], buckets=["s3://acme-marketing-lake/"]
        ),
    },
    consumer_accounts=["333333333333"],
)


@pytest.mark.parametrize(
    ("location", "ok"),
    [
        ("s3://shared-lake-1/sales/orders/", True),
        ("s3://shared-lake-1/sales/", True),  # the folder itself
        ("s3://shared-lake-1/sales-archive/orders/", False),  # whole segments only
        ("s3://shared-lake-1/marketing/orders/", False),
        ("s3://acme-sales-curated/orders/", False),  # the domain in the bucket name proves nothing
        ("s3://acme-marketing-lake/sales/", False),
    ],
)
def test_location_must_be_under_a_configured_folder(location: str, ok: bool) -> None:
    findings = review_contracts([_contract(location=location)], trust=TRUST)
    assert (findings == []) is ok, findings
    if not ok:
        assert [f.rule for f in findings] == ["location-bucket"]


def test_trust_rules_name_the_fix() -> None:
    contract = _contract(domain="finance", location="s3://shared-lake-1/sales/orders/", consumers=["999988887777"])
    findings = review_contracts([contract], trust=TRUST)
    assert [(f.rule, f.loc) for f in findings] == [
        ("consumer-allowlist", ("consumers", 0)),
        ("domain-unknown", ("domain",)),
    ]
    assert "meshworks.environments.consumers" in findings[0].message
    assert "configured: marketing, sales" in findings[1].message and "meshworks.mesh.domains.finance" in findings[1].message


def test_producer_account_rules() -> None:
    marketing = {"domain": "marketing", "location": "s3://acme-marketing-lake/campaigns/"}
    [missing] = review_contracts([_contract(**marketing)], trust=TRUST)
    assert missing.rule == "producer-account" and "555555555555, 666666666666" in missing.message
    [wrong] = review_contracts([_contract(**marketing, producer_account="444444444444")], trust=TRUST)
    assert wrong.rule == "producer-account" and "not a producer account of domain 'marketing'" in wrong.message
    assert review_contracts([_contract(**marketing, producer_account="666666666666")], trust=TRUST) == []
    sales = _contract(location="s3://shared-lake-1/sales/orders/")
    assert resolve_producer_account(sales, TRUST).producer_account == "444444444444"


def test_without_trust_only_the_other_rules_run() -> None:
    assert review_contracts([_contract(domain="finance", consumers=["999988887777"])]) == []


def test_duplicate_products_and_overlapping_locations() -> None:
    first = _contract()
    same = _contract(description="The same product registered twice by mistake, once more.")
    nested = _contract(name="order_lines", location="s3://acme-sales-curated/orders/lines/")
    sibling = _contract(name="orders_archive", location="s3://acme-sales-curated/orders-archive/")
    findings = review_contracts([first, same, nested, sibling])
    assert [(f.index, f.rule) for f in findings] == [
        (1, "location-overlap"),
        (1, "duplicate-product"),
        (2, "location-overlap"),
    ]
    assert findings[1].message == "data product 'sales.orders' is already defined in contract #0"


def test_duplicates_across_files_point_at_both(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    text = (CONTRACTS / "sales" / "orders.yaml").read_text(encoding="utf-8")
    (tmp_path / "a" / "orders.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "b" / "orders.yml").write_text(text.replace("/orders/", "/orders-v2/"), encoding="utf-8")
    problems = validate_paths([tmp_path])
    assert [str(p) for p in problems] == [
        f"{tmp_path}/b/orders.yml:2: name: data product 'sales.orders' is already defined in {tmp_path}/a/orders.yaml:2"
    ]


def test_same_file_given_twice_is_checked_once() -> None:
    assert validate_paths([CONTRACTS, CONTRACTS / "sales" / "orders.yaml"]) == []


def test_load_contracts_with_trust(tmp_path: Path) -> None:
    trust = MeshTrust(
        domains={
            "sales": ProducerDomain(producer_accounts=["444444444444"], buckets=["s3://acme-sales-curated-eu-west-1/"]),
            "marketing": ProducerDomain(
                producer_accounts=["555555555555", "666666666666"], buckets=["s3://acme-marketing-lake/"]
            ),
        },
        consumer_accounts=["333333333333"],
    )
    contracts = load_contracts([CONTRACTS], trust=trust)
    assert len(contracts) == 4 and all(c.producer_account for c in contracts)
    narrow = MeshTrust(domains={"sales": trust.domains["sales"]}, consumer_accounts=trust.consumer_accounts)
    with pytest.raises(ContractError, match="domain 'marketing' is not in the platform's domain map"):
        load_contracts([CONTRACTS], trust=narrow)
