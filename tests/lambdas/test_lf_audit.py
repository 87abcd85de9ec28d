"""The Lake Formation audit (``tests/lf_audit.py``) finds what Lake Formation would refuse."""

from __future__ import annotations

from typing import Any

from tests.aws_enforcement import Call
from tests.lf_audit import LF_REQUIREMENTS, audit, unaudited

ROLE = "arn:aws:iam::123456789012:role/notifier"
LOCATION = "arn:aws:s3:::bucket/sales/orders"


def templates(*grants: dict[str, Any], admin: bool = False) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Loc": {"Type": "AWS::LakeFormation::Resource", "Properties": {"ResourceArn": LOCATION}},
    }
    for index, (resource, permissions) in enumerate(grants):
        resources[f"G{index}"] = {
            "Type": "AWS::LakeFormation::PrincipalPermissions",
            "Properties": {
                "Principal": {"DataLakePrincipalIdentifier": ROLE},
                "Resource": resource,
                "Permissions": permissions,
            },
        }
    if admin:
        resources["Settings"] = {
            "Type": "AWS::LakeFormation::DataLakeSettings",
            "Properties": {"Admins": [{"DataLakePrincipalIdentifier": ROLE}]},
        }
    return {"Hub": {"Resources": resources}}


TABLE = ({"Table": {"DatabaseName": "sales", "TableWildcard": {}}}, ["DESCRIBE", "ALTER", "INSERT"])
DATA_LOCATION = ({"DataLocation": {"ResourceArn": LOCATION}}, ["DATA_LOCATION_ACCESS"])
CREATE = Call(
    "glue",
    "CreatePartition",
    {
        "DatabaseName": "sales",
        "TableName": "orders",
        "PartitionInput": {"Values": ["1"], "StorageDescriptor": {"Location": "s3://bucket/sales/orders/dt=1"}},
    },
)


def test_table_and_location_grants_satisfy_create_partition() -> None:
    assert audit([CREATE], templates(TABLE, DATA_LOCATION), principal_arn=ROLE) == []


def test_missing_location_grant_is_reported() -> None:
    assert audit([CREATE], templates(TABLE), principal_arn=ROLE) == [
        "glue:CreatePartition sales.orders: DATA_LOCATION_ACCESS on arn:aws:s3:::bucket/sales/orders/dt=1 "
        "(registered with Lake Formation)"
    ]


def test_missing_table_permission_is_reported_and_other_principals_do_not_count() -> None:
    other = templates(DATA_LOCATION)
    other["Hub"]["Resources"]["X"] = {
        "Type": "AWS::LakeFormation::PrincipalPermissions",
        "Properties": {
            "Principal": {"DataLakePrincipalIdentifier": "arn:aws:iam::123456789012:role/other"},
            "Resource": TABLE[0],
            "Permissions": TABLE[1],
        },
    }
    assert audit([CREATE], other, principal_arn=ROLE) == ["glue:CreatePartition sales.orders: ALTER, INSERT on the table"]


def test_unregistered_locations_need_no_location_grant_and_admins_need_nothing() -> None:
    outside = Call("glue", "CreatePartition", {**CREATE.params, "PartitionInput": {
        "Values": ["1"], "StorageDescriptor": {"Location": "s3://elsewhere/x"}}})
    assert audit([outside], templates(TABLE), principal_arn=ROLE) == []
    assert audit([CREATE], templates(admin=True), principal_arn=ROLE) == []


def test_unknown_apis_are_reported_and_grant_apis_are_named_unaudited() -> None:
    call = Call("glue", "DeletePartition", {"DatabaseName": "sales", "TableName": "orders"})
    assert "DeletePartition" not in str(LF_REQUIREMENTS)
    assert audit([call], templates(TABLE), principal_arn=ROLE) == [
        "glue:DeletePartition: not in tests/lf_audit.LF_REQUIREMENTS (add it with its source)"
    ]
    grant = Call("lakeformation", "GrantPermissions", {})
    assert audit([grant], templates(), principal_arn=ROLE) == []
    assert unaudited([grant, CREATE]) == {"lakeformation:GrantPermissions"}


def test_create_database_needs_create_database_on_the_catalog() -> None:
    call = Call("glue", "CreateDatabase", {"DatabaseInput": {"Name": "shared_sales"}})
    assert audit([call], templates(), principal_arn=ROLE) == [
        "glue:CreateDatabase catalog 123456789012: CREATE_DATABASE on the catalog"
    ]
    assert audit([call], templates(({"Catalog": {}}, ["CREATE_DATABASE"])), principal_arn=ROLE) == []
