"""Governance rules across a set of contracts: PII, buckets, duplicates, overlapping locations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from meshworks.constructs.mesh import DataProductContract, review_contracts, validate_paths
from meshworks.constructs.mesh.loader import ContractError, load_allowed_buckets, load_contracts
from meshworks.constructs.mesh.review import suggested_pii_category
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


@pytest.mark.parametrize(
    ("domain", "bucket", "ok"),
    [
        ("sales", "acme-sales-curated", True),
        ("sales", "sales-data", True),
        ("sales", "acme.sales", True),
        ("sales", "acme-wholesales", False),
        ("sales", "acme-marketing", False),
        ("customer_success", "acme-customer-success-lake", True),
        ("customer_success", "acme-customer-lake", False),
    ],
)
def test_default_bucket_rule(domain: str, bucket: str, ok: bool) -> None:
    findings = review_contracts([_contract(domain=domain, location=f"s3://{bucket}/orders/")])
    assert (findings == []) is ok


def test_bucket_mapping() -> None:
    contract = _contract(location="s3://shared-lake-1/sales/orders/")
    assert review_contracts([contract], allowed_buckets={"sales": ["shared-lake-1"]}) == []
    [wrong] = review_contracts([contract], allowed_buckets={"sales": ["sales-a", "sales-b"]})
    assert wrong.message == "bucket 'shared-lake-1' is not registered for domain 'sales' (registered: sales-a, sales-b)"
    [unknown] = review_contracts([contract], allowed_buckets={"marketing": ["shared-lake-1"]})
    assert "domain 'sales' has no registered buckets" in unknown.message


def test_custom_bucket_pattern() -> None:
    contract = _contract(location="s3://lake-sales/orders/")
    assert review_contracts([contract], bucket_pattern=r"^lake-{domain}$") == []
    assert review_contracts([_contract()], bucket_pattern=r"^lake-{domain}$") != []


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


def test_allowed_buckets_file(tmp_path: Path) -> None:
    path = tmp_path / "buckets.yaml"
    path.write_text("sales: [acme-sales-curated-eu-west-1]\nmarketing: acme-marketing-lake\n", encoding="utf-8")
    allowed = load_allowed_buckets(path)
    assert allowed == {"sales": ("acme-sales-curated-eu-west-1",), "marketing": ("acme-marketing-lake",)}
    assert len(load_contracts([CONTRACTS], allowed)) == 4
    with pytest.raises(ContractError, match="is not registered for domain 'sales'"):
        load_contracts([CONTRACTS], {"sales": ["other-bucket"], "marketing": ["acme-marketing-lake"]})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[a, b]", "expected a mapping"),
        ("sales: [Not_A_Bucket]", "not a valid S3 bucket name"),
        ("sales: []", "expected a bucket name or a list"),
        ("sales: [a", "invalid YAML"),
        ('{"sales": 3}', "expected a bucket name or a list"),
    ],
)
def test_bad_allowed_buckets_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "buckets.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ContractError, match=message):
        load_allowed_buckets(path)
