"""DataProduct: location registration, Glue table from the contract, both sharing modes, resource costs."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from meshworks.constructs.mesh.contract import DataFormat
from meshworks.constructs.mesh.data_product import DataProduct, SharingMode, consumer_tag_key, location_arn
from meshworks.constructs.mesh.table_format import avro_schema, open_table_format_input, table_input
from tests.mesh.mesh_fixtures import HUB, make_contract, new_stack, only, resources

ROLE_ARN = "arn:aws:iam::111111111111:role/acme-lf-data-access"
CONSUMERS = ["222233334444", "333344445555", "444455556666"]


@pytest.fixture(scope="module")
def contract():
    return make_contract(
        consumers=CONSUMERS,
        tags={"tier": "gold"},
        columns=2,
        description="Every confirmed order, one row per order line, refreshed daily from checkout.",
    )


@pytest.fixture(scope="module")
def templates(contract) -> dict[str, Template]:
    """One stack per mode (named, LF-tags) and one without location registration."""
    _, named_stack = new_stack("Named")
    named = DataProduct(
        named_stack,
        "Orders",
        contract=contract,
        catalog_id=HUB,
        data_access_role_arn=ROLE_ARN,
        sharing_mode=SharingMode.NAMED_RESOURCES,
        allowed_consumer_accounts=CONSUMERS,
    )
    _, tags_stack = new_stack("Tags")
    tagged = DataProduct(
        tags_stack,
        "Orders",
        contract=contract,
        catalog_id=HUB,
        data_access_role_arn=ROLE_ARN,
        allowed_consumer_accounts=CONSUMERS,
    )
    _, bare_stack = new_stack("Bare")
    DataProduct(
        bare_stack,
        "Orders",
        contract=contract,
        catalog_id=HUB,
        data_access_role_arn=None,
        allowed_consumer_accounts=CONSUMERS,
    )
    assert set(named.grants) == set(CONSUMERS) and tagged.grants == {}
    assert named.tag_association is None and tagged.tag_association is not None
    return {
        "named": Template.from_stack(named_stack),
        "tags": Template.from_stack(tags_stack),
        "bare": Template.from_stack(bare_stack),
    }


def test_location_registered_with_the_data_access_role(templates: dict[str, Template]) -> None:
    registration = only(templates["tags"], "AWS::LakeFormation::Resource")["Properties"]
    assert registration == {
        "ResourceArn": "arn:aws:s3:::acme-sales-curated/orders",
        "RoleArn": ROLE_ARN,
        "UseServiceLinkedRole": False,
        "HybridAccessEnabled": False,
    }
    templates["bare"].resource_count_is("AWS::LakeFormation::Resource", 0)
    assert location_arn("s3://b/a/b/") == "arn:aws:s3:::b/a/b"


def test_table_from_the_contract(templates: dict[str, Template]) -> None:
    table = only(templates["tags"], "AWS::Glue::Table")
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["CatalogId"] == HUB and props["DatabaseName"] == "sales"
    spec = props["TableInput"]
    assert spec["Name"] == "orders" and spec["TableType"] == "EXTERNAL_TABLE" and spec["Owner"] == "sales-data"
    sd = spec["StorageDescriptor"]
    assert sd["Location"] == "s3://acme-sales-curated/orders/"
    assert [c["Name"] for c in sd["Columns"]] == ["id", "c0", "c1"]
    assert sd["Columns"][0] == {"Name": "id", "Type": "bigint", "Comment": "Primary key of the row."}
    assert spec["PartitionKeys"] == [{"Name": "dt", "Type": "date", "Comment": "Delivery day (UTC)."}]
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert sd["InputFormat"].endswith("MapredParquetInputFormat")


def test_table_parameters_carry_owner_contact_and_slo(templates: dict[str, Template]) -> None:
    parameters = only(templates["tags"], "AWS::Glue::Table")["Properties"]["TableInput"]["Parameters"]
    assert parameters["meshworks.owner"] == "sales-data"
    assert parameters["meshworks.contact_email"] == "sales-data@example.com"
    assert parameters["meshworks.slack_channel"] == "#sales-data"
    assert parameters["meshworks.slo_cron"] == "0 6 * * *"
    assert parameters["meshworks.slo_timezone"] == "Europe/Paris"
    assert parameters["meshworks.slo_grace_minutes"] == "30"
    assert parameters["meshworks.classification"] == "internal"
    assert parameters["classification"] == "parquet"
    assert parameters["EXTERNAL"] == "TRUE"


def test_named_mode_one_grant_per_consumer_with_grant_option(templates: dict[str, Template]) -> None:
    grants = templates["named"].find_resources("AWS::LakeFormation::PrincipalPermissions")
    assert len(grants) == len(CONSUMERS)
    principals = sorted(g["Properties"]["Principal"]["DataLakePrincipalIdentifier"] for g in grants.values())
    assert principals == CONSUMERS
    for grant in grants.values():
        props = grant["Properties"]
        assert props["Resource"] == {"Table": {"CatalogId": HUB, "DatabaseName": "sales", "Name": "orders"}}
        assert props["Permissions"] == ["SELECT", "DESCRIBE"]
        assert props["PermissionsWithGrantOption"] == ["SELECT", "DESCRIBE"]
        assert grant["DependsOn"] == [next(iter(templates["named"].find_resources("AWS::Glue::Table")))]
    templates["named"].resource_count_is("AWS::LakeFormation::TagAssociation", 0)


def test_tag_mode_associates_contract_and_consumer_tags(templates: dict[str, Template]) -> None:
    """One association per LF-tag key, each holding exactly one tag (LFTags is create-only)."""
    templates["tags"].resource_count_is("AWS::LakeFormation::PrincipalPermissions", 0)
    associations = resources(templates["tags"], "AWS::LakeFormation::TagAssociation")
    tags = {}
    for association in associations.values():
        (pair,) = association["Properties"]["LFTags"]
        assert pair["CatalogId"] == HUB and pair["TagKey"] not in tags
        tags[pair["TagKey"]] = pair["TagValues"]
        assert association["Properties"]["Resource"] == {
            "Table": {"CatalogId": HUB, "DatabaseName": "sales", "Name": "orders"}
        }
    assert tags == {
        "classification": ["internal"],
        "domain": ["sales"],
        "pii": ["false"],
        "tier": ["gold"],
        **{consumer_tag_key(a): ["true"] for a in CONSUMERS},
    }


def test_resource_count_matches_the_template(contract, templates: dict[str, Template]) -> None:
    count = {name: len(t.to_json()["Resources"]) for name, t in templates.items()}
    assert count["named"] == DataProduct.resource_count(contract, SharingMode.NAMED_RESOURCES) == 2 + len(CONSUMERS)
    # location + table + domain, classification, pii, tier + one per consumer
    assert count["tags"] == DataProduct.resource_count(contract, SharingMode.LF_TAGS) == 2 + 4 + len(CONSUMERS)
    assert count["bare"] == DataProduct.resource_count(contract, "lf_tags", register_location=False) == 1 + 4 + 3
    unconsumed = make_contract(name="lonely")
    assert DataProduct.resource_count(unconsumed, SharingMode.NAMED_RESOURCES) == 2


# ---- formats (pure: no synthesis) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "serde", "input_format"),
    [
        ("parquet", "parquet.serde.ParquetHiveSerDe", "MapredParquetInputFormat"),
        ("orc", "orc.OrcSerde", "OrcInputFormat"),
        ("avro", "avro.AvroSerDe", "AvroContainerInputFormat"),
        ("json", "org.openx.data.jsonserde.JsonSerDe", "TextInputFormat"),
        ("csv", "serde2.OpenCSVSerde", "TextInputFormat"),
        ("hudi", "parquet.serde.ParquetHiveSerDe", "HoodieParquetInputFormat"),
    ],
)
def test_serde_per_file_format(fmt: str, serde: str, input_format: str) -> None:
    spec = table_input(make_contract(fmt=fmt))
    sd = spec["StorageDescriptor"]
    assert sd["SerdeInfo"]["SerializationLibrary"].endswith(serde)
    assert sd["InputFormat"].endswith(input_format)
    assert spec["PartitionKeys"][0]["Name"] == "dt"
    assert spec["Parameters"].get("classification") == (None if fmt == "hudi" else fmt)
    assert open_table_format_input(make_contract(fmt=fmt)) is None


def test_csv_header_and_json_paths() -> None:
    csv = table_input(make_contract(fmt="csv"))
    assert csv["Parameters"]["skip.header.line.count"] == "1"
    assert csv["StorageDescriptor"]["SerdeInfo"]["Parameters"]["separatorChar"] == ","
    assert "skip.header.line.count" not in table_input(make_contract(fmt="csv"), csv_header=False)["Parameters"]
    json_spec = table_input(make_contract(fmt="json", columns=1))
    assert json_spec["StorageDescriptor"]["SerdeInfo"]["Parameters"]["paths"] == "id,c0"


def test_avro_schema_literal_covers_nested_types() -> None:
    contract = make_contract(fmt="avro", columns=0, partitions=False)
    contract = contract.model_copy(
        update={
            "columns": (
                *contract.columns,
                type(contract.columns[0]).model_validate(
                    {
                        "name": "items",
                        "type": "array<struct<sku:string,price:decimal(12,2),at:timestamp>>",
                        "description": "Order lines with their prices.",
                    }
                ),
                type(contract.columns[0]).model_validate(
                    {"name": "attrs", "type": "map<string,date>", "description": "Named dates of the order."}
                ),
            )
        }
    )
    schema = avro_schema(contract)
    literal = json.loads(table_input(contract)["StorageDescriptor"]["SerdeInfo"]["Parameters"]["avro.schema.literal"])
    assert literal == schema
    fields = {f["name"]: f["type"][1] for f in schema["fields"]}
    assert fields["id"] == "long"
    record = fields["items"]["items"][1]
    assert record["type"] == "record"
    assert {f["name"]: f["type"][1] for f in record["fields"]}["price"] == {
        "type": "bytes",
        "logicalType": "decimal",
        "precision": 12,
        "scale": 2,
    }
    assert fields["attrs"]["values"][1] == {"type": "int", "logicalType": "date"}


def test_open_table_formats() -> None:
    iceberg = make_contract(fmt="iceberg")
    spec = open_table_format_input(iceberg)["IcebergInput"]
    assert (spec["MetadataOperation"], spec["Version"]) == ("CREATE", "2")
    assert [f["Name"] for f in spec["IcebergTableInput"]["Schema"]["Fields"]][-1] == "dt"
    assert spec["IcebergTableInput"]["Properties"]["meshworks.partition_keys"] == "dt"
    assert "classification" not in spec["IcebergTableInput"]["Properties"]
    assert table_input(iceberg) is None
    delta = table_input(make_contract(fmt="delta"))
    assert delta["Parameters"]["table_type"] == "DELTA"
    assert delta["Parameters"]["meshworks.partition_keys"] == "dt"
    assert "PartitionKeys" not in delta and "SerdeInfo" not in delta["StorageDescriptor"]
    assert DataFormat("delta").is_table_format


def test_iceberg_product_synthesizes_its_iceberg_table_input() -> None:
    _, stack = new_stack("Iceberg")
    DataProduct(stack, "Events", contract=make_contract(fmt="iceberg"), catalog_id=HUB, data_access_role_arn=ROLE_ARN)
    props = only(Template.from_stack(stack), "AWS::Glue::Table")["Properties"]
    assert props["Name"] == "orders" and "TableInput" not in props
    iceberg = props["OpenTableFormatInput"]["IcebergInput"]
    assert iceberg["IcebergTableInput"]["PartitionSpec"]["Fields"] == [
        {"Name": "dt", "SourceId": 5, "FieldId": 1000, "Transform": "identity"}
    ]
    assert iceberg["IcebergTableInput"]["Schema"]["Fields"][0] == {
        "Id": 1,
        "Name": "id",
        "Type": "long",
        "Required": False,
        "Doc": "Primary key of the row.",
    }


def test_pii_columns_are_flagged_in_comments_and_long_descriptions_truncated() -> None:
    contract = make_contract(columns=0)
    column_type = type(contract.columns[0])
    contract = contract.model_copy(
        update={
            "columns": (
                *contract.columns,
                column_type.model_validate(
                    {
                        "name": "email",
                        "type": "string",
                        "description": "Customer e-mail address. " + "x" * 300,
                        "pii": True,
                        "pii_category": "email",
                    }
                ),
            )
        }
    )
    comment = table_input(contract)["StorageDescriptor"]["Columns"][-1]["Comment"]
    assert comment.startswith("[PII email] Customer e-mail address.")
    assert len(comment) == 255


@pytest.mark.parametrize("mode", list(SharingMode))
def test_consumers_outside_the_allowlist_are_refused(contract, mode: SharingMode) -> None:
    """A product alone never shares with an account the platform did not allow (issue 9, item 1)."""
    _, stack = new_stack(f"Refused-{mode.value.replace('_', '-')}")
    with pytest.raises(ValueError, match=rf"{CONSUMERS[1]} \(sales.orders\), {CONSUMERS[2]} .*not in allowed_consumer_accounts"):
        DataProduct(
            stack,
            "Orders",
            contract=contract,
            catalog_id=HUB,
            data_access_role_arn=ROLE_ARN,
            sharing_mode=mode,
            allowed_consumer_accounts=CONSUMERS[:1],
        )
