"""The contract model on its own: example contracts, derived names and metadata, Glue types."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from meshworks.constructs.mesh import DataProductContract, load_contracts, parse_glue_type
from meshworks.constructs.mesh.contract import Classification, DataFormat
from tests.mesh.contract_data import minimal_contract

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"




def test_example_contracts_load() -> None:
    contracts = load_contracts([CONTRACTS])
    assert [c.qualified_name for c in contracts] == [
        "marketing.campaigns",
        "marketing.web_sessions",
        "sales.customers",
        "sales.orders",
    ]
    domains = {c.domain for c in contracts}
    assert len(domains) >= 2
    assert any(c.format is DataFormat.ICEBERG for c in contracts)


def test_defaults_and_derived_names() -> None:
    contract = DataProductContract.model_validate(minimal_contract())
    assert contract.table_name == "orders"
    assert contract.database_name == "sales"
    assert contract.qualified_name == "sales.orders"
    assert contract.bucket_name == "acme-sales-curated"
    assert contract.prefix == "orders/"
    assert contract.slo.grace_minutes == 60
    assert contract.partition_keys == ()
    assert contract.consumers == ()
    assert contract.tags == {}
    assert contract.has_pii is False
    assert contract.classification is Classification.INTERNAL


def test_contract_is_immutable() -> None:
    contract = DataProductContract.model_validate(minimal_contract())
    with pytest.raises(ValidationError):
        contract.name = "other"  # type: ignore[misc]


def test_glue_table_parameters_are_strings() -> None:
    contract = DataProductContract.model_validate(
        minimal_contract(
            columns=[{"name": "email", "type": "string", "description": "Buyer email.", "pii": True}],
            slo={"cron": "30 7 * * MON-FRI", "timezone": "America/Phoenix", "grace_minutes": 15},
        )
    )
    assert contract.glue_table_parameters() == {
        "classification": "parquet",
        "meshworks.product": "sales.orders",
        "meshworks.domain": "sales",
        "meshworks.owner": "sales-data",
        "meshworks.contact_email": "sales-data@example.com",
        "meshworks.slack_channel": "#sales-data",
        "meshworks.slo_cron": "30 7 * * MON-FRI",
        "meshworks.slo_timezone": "America/Phoenix",
        "meshworks.slo_grace_minutes": "15",
        "meshworks.classification": "internal",
        "meshworks.pii": "true",
        "meshworks.format": "parquet",
        "meshworks:consumers": "",
    }


def test_table_formats_get_no_glue_classification() -> None:
    contract = DataProductContract.model_validate(minimal_contract(format="iceberg"))
    assert contract.format.is_table_format
    assert "classification" not in contract.glue_table_parameters()


def test_lf_tags_add_platform_tags() -> None:
    contract = DataProductContract.model_validate(minimal_contract(tags={"tier": "gold"}))
    assert contract.lf_tags() == {"tier": "gold", "domain": "sales", "classification": "internal", "pii": "false"}


def test_whitespace_is_normalized() -> None:
    contract = DataProductContract.model_validate(
        minimal_contract(
            description="  Every confirmed web-shop order, one row per order line.\n",
            columns=[{"name": "items", "type": " Array< Struct<SKU: string, qty :int> > ", "description": "Lines."}],
            slo={"cron": " 0  6 * * * ", "timezone": "UTC"},
        )
    )
    assert contract.description == "Every confirmed web-shop order, one row per order line."
    assert contract.columns[0].type == "array<struct<sku:string,qty:int>>"
    assert contract.slo.cron == "0 6 * * *"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("string", "string"),
        ("INT", "int"),
        ("decimal", "decimal(10,0)"),
        ("decimal(38)", "decimal(38,0)"),
        ("decimal(12, 2)", "decimal(12,2)"),
        ("varchar(65535)", "varchar(65535)"),
        ("char(1)", "char(1)"),
        ("array<array<int>>", "array<array<int>>"),
        ("map<string,map<int,array<double>>>", "map<string,map<int,array<double>>>"),
        ("struct<a:int,b:struct<c:map<string,binary>>>", "struct<a:int,b:struct<c:map<string,binary>>>"),
        ("map<varchar(10),decimal(5,2)>", "map<varchar(10),decimal(5,2)>"),
    ],
)
def test_glue_types_parse(text: str, canonical: str) -> None:
    assert str(parse_glue_type(text)) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("strin", "did you mean 'string'?"),
        ("datetime", "did you mean 'timestamp'?"),
        ("array", "expected '<'"),
        ("array<>", "expected a type name"),
        ("array<int", "expected '>'"),
        ("array<int>>", "after a complete type"),
        ("map<string>", "expected ','"),
        ("map<struct<a:int>,int>", "map keys must be a primitive type"),
        ("struct<>", "expected a struct field name"),
        ("struct<a int>", "expected ':'"),
        ("struct<a:int,a:string>", "duplicate struct field 'a'"),
        ("struct<a:int;b:int>", "unexpected character ';'"),
        ("decimal(0,0)", "precision must be 1-38"),
        ("decimal(39,2)", "precision must be 1-38"),
        ("decimal(5,6)", "larger than its precision"),
        ("varchar", "expected '('"),
        ("varchar(70000)", "1-65535"),
        ("char(256)", "1-255"),
        ("array<" * 20 + "int" + ">" * 20, "nest deeper"),
        ("x" * 5000, "longer than"),
    ],
)
def test_bad_glue_types(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_glue_type(text)


def test_struct_fields_are_listed() -> None:
    parsed = parse_glue_type("array<struct<id:int,address:struct<street:string,city:string>>>")
    assert list(parsed.struct_fields()) == ["id", "address", "address.street", "address.city"]


@pytest.mark.parametrize("email", ["a@example.com", "first.last+tag@sub.example.co.uk", "x_y-z@ex-ample.io"])
def test_good_emails(email: str) -> None:
    contract = DataProductContract.model_validate(minimal_contract(contact={"email": email, "slack_channel": "#a-b"}))
    assert contract.contact.email == email


@pytest.mark.parametrize(
    "email", ["a@", "@example.com", "a@example", "a b@example.com", "a..b@example.com", "a@-x.com"]
)
def test_bad_emails(email: str) -> None:
    with pytest.raises(ValidationError, match="not a valid email address"):
        DataProductContract.model_validate(minimal_contract(contact={"email": email, "slack_channel": "#a-b"}))


@pytest.mark.parametrize("location", ["s3://b/x/", "s3://bucket//x/", "s3://bucket/../x/", "s3://192.168.1.1/x/"])
def test_bad_locations(location: str) -> None:
    with pytest.raises(ValidationError, match="location"):
        DataProductContract.model_validate(minimal_contract(location=location))


def test_partition_keys_must_be_primitive() -> None:
    with pytest.raises(ValidationError, match="must have a primitive type"):
        DataProductContract.model_validate(
            minimal_contract(partition_keys=[{"name": "dims", "type": "array<int>", "description": "Dimensions."}])
        )


@pytest.mark.parametrize("cron", ["@daily", "*/15 * * * *", "0 6 * * MON-FRI", "0 0 1 */3 *", "5,35 8-18 * * 1-5"])
def test_good_crons(cron: str) -> None:
    DataProductContract.model_validate(minimal_contract(slo={"cron": cron, "timezone": "UTC"}))
