"""``DataProduct``: one contract becomes a registered location, a Glue table and its consumer shares.

Two sharing modes, measured by ``benchmarks/mesh_scale.py`` (``benchmarks/RESULTS.md``); a product
with ``c`` consumer accounts costs:

=====================  ==================================================  ===========================
mode                   resources of one product                            cost
=====================  ==================================================  ===========================
``NAMED_RESOURCES``    location + table + one ``PrincipalPermissions``     ``2 + c`` per product
                       grant per consumer account (each creates a RAM
                       share the consumer must accept)
``LF_TAGS`` (default)  location + table + one ``TagAssociation`` (the      ``3`` per product, plus 3
                       contract's LF-tags plus one                         per consumer *account*
                       ``meshworks:consumer:<account>=true`` tag per
                       consumer)
=====================  ==================================================  ===========================

With ``location_access_role_arns`` (the reference app: the hub's notifier), a registered location
also gets one ``DATA_LOCATION_ACCESS`` grant per role: one more resource per product in both modes.

In ``LF_TAGS`` mode the grants do not belong to a product: each consumer account has its tag key, one
LF-tag expression grant on the tables carrying it and one DESCRIBE grant on the databases of the
domains it consumes from, made once by
:class:`~meshworks.constructs.mesh.data_product_catalog.DataProductCatalog`. Adding a consumer to a
product changes one tag association instead of adding a resource, a product's cost does not grow with
its audience, and (cross-account version 3+) no RAM invitation has to be accepted. With the
benchmark's mesh (60 consumer accounts, 1.5 consumers per product on average) that is 3.09 resources
per product at 2,000 products and 3.04 at 5,000, against 3.47 and 3.50 with named resources; the gap
grows with the consumers per product. Hence ``LF_TAGS`` is the default. ``NAMED_RESOURCES`` costs less
only for small meshes with many consumer accounts (200 products: 3.48 against 3.90) or products
nobody consumes, and suits hubs that must not extend their LF-tag ontology.

Example::

    product = DataProduct(self, "Orders", contract=contract, catalog_id=hub_account,
                          data_access_role_arn=hub.data_access_role.role_arn)
    product.table              # the AWS::Glue::Table
    product.grants             # {} in LF_TAGS mode; account -> AWS::LakeFormation::PrincipalPermissions

The Glue database (one per domain, ``contract.database_name``) and the LF-tag keys must exist
before the product is deployed: :class:`~meshworks.constructs.mesh.mesh_hub.MeshHub` creates them.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

from aws_cdk import CfnDeletionPolicy, RemovalPolicy
from aws_cdk import aws_glue as glue
from aws_cdk import aws_lakeformation as lakeformation
from constructs import Construct

from meshworks.constructs.core.removal import resolve_removal_policy
from meshworks.constructs.mesh.contract import DataProductContract
from meshworks.constructs.mesh.table_format import open_table_format_input, table_input

__all__ = ["CONSUMER_TAG_PREFIX", "CONSUMER_TAG_VALUE", "DataProduct", "SharingMode", "consumer_tag_key"]

#: LF-tag key marking a table as shared with one consumer account: ``meshworks:consumer:<account>``.
#: The colon cannot appear in contract tag keys, so the platform's keys never collide with producers'.
CONSUMER_TAG_PREFIX = "meshworks:consumer:"
CONSUMER_TAG_VALUE = "true"
#: Glue table parameter listing the product's consumer accounts (read by the hub's notifier).
CONSUMERS_PARAMETER = "meshworks:consumers"
#: What a consumer account may do with a shared table (with grant option: its admins re-grant locally).
CONSUMER_TABLE_PERMISSIONS = ("SELECT", "DESCRIBE")


def consumer_tag_key(account: str) -> str:
    """The LF-tag key that shares a table with ``account``."""
    return f"{CONSUMER_TAG_PREFIX}{account}"


class SharingMode(str, Enum):
    """How a data product reaches its consumer accounts."""

    LF_TAGS = "lf_tags"
    NAMED_RESOURCES = "named_resources"


def _column_props(columns: list[dict[str, str]]) -> list[glue.CfnTable.ColumnProperty]:
    return [glue.CfnTable.ColumnProperty(name=c["Name"], type=c["Type"], comment=c["Comment"]) for c in columns]


def _table_input_props(spec: dict[str, Any]) -> glue.CfnTable.TableInputProperty:
    """The L1 struct of a ``TableInput`` dictionary from :func:`table_format.table_input`."""
    sd = spec["StorageDescriptor"]
    serde = sd.get("SerdeInfo")
    descriptor = glue.CfnTable.StorageDescriptorProperty(
        location=sd["Location"],
        columns=_column_props(sd.get("Columns", [])),
        input_format=sd.get("InputFormat"),
        output_format=sd.get("OutputFormat"),
        compressed=sd.get("Compressed"),
        serde_info=glue.CfnTable.SerdeInfoProperty(
            serialization_library=serde["SerializationLibrary"], parameters=serde["Parameters"]
        )
        if serde
        else None,
    )
    return glue.CfnTable.TableInputProperty(
        name=spec["Name"],
        description=spec["Description"],
        owner=spec["Owner"],
        table_type=spec["TableType"],
        parameters=spec["Parameters"],
        storage_descriptor=descriptor,
        partition_keys=_column_props(spec["PartitionKeys"]) if "PartitionKeys" in spec else None,
    )


def _open_table_format_props(spec: dict[str, Any] | None) -> glue.CfnTable.OpenTableFormatInputProperty | None:
    if spec is None:
        return None
    iceberg = spec["IcebergInput"]
    return glue.CfnTable.OpenTableFormatInputProperty(
        iceberg_input=glue.CfnTable.IcebergInputProperty(
            metadata_operation=iceberg["MetadataOperation"], version=iceberg["Version"]
        )
    )


def location_arn(location: str) -> str:
    """The S3 ARN Lake Formation registers for an ``s3://bucket/prefix/`` location (no trailing slash)."""
    return "arn:aws:s3:::" + location[len("s3://") :].rstrip("/")


class DataProduct(Construct):
    """The hub-side resources of one data product, built from its contract.

    - ``AWS::LakeFormation::Resource`` registering the product's S3 location with the given
      data-access role (not the service-linked role: KMS keys and cross-account buckets need it);
    - ``AWS::Glue::Table`` in the domain's database: columns with their descriptions, partition
      keys, the SerDe of the format (:mod:`~meshworks.constructs.mesh.table_format`) and the
      contract's owner, contact, SLO and classification as table parameters; retained;
    - the consumer shares of ``sharing_mode`` (see the module documentation for the costs).

    Example::

        DataProduct(self, "Orders", contract=contract, catalog_id="111122223333",
                    data_access_role_arn="arn:aws:iam::111122223333:role/acme-lf-data-access",
                    sharing_mode=SharingMode.NAMED_RESOURCES)

    Args:
        contract: the reviewed contract.
        catalog_id: the hub account (the Data Catalog that holds the table).
        data_access_role_arn: role Lake Formation uses to read the location. ``None`` skips the
            registration (register the bucket yourself). Default: required.
        sharing_mode: Default: ``SharingMode.LF_TAGS``.
        database_name: Default: ``contract.database_name`` (the domain).
        csv_header: CSV files start with a header line. Default: True.
        removal_policy: of the table. Default: RETAIN (DESTROY needs ``@meshworks/removeDataOnDestroy``).
        location_access_role_arns: roles granted ``DATA_LOCATION_ACCESS`` on the registered location
            (``self.location_grants``): the hub's notifier, which adds partitions there (Lake Formation
            refuses ``CreatePartition`` in a registered location without it). One resource each.
            Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        contract: DataProductContract,
        catalog_id: str,
        data_access_role_arn: str | None,
        sharing_mode: SharingMode | str = SharingMode.LF_TAGS,
        database_name: str | None = None,
        csv_header: bool = True,
        removal_policy: RemovalPolicy | None = None,
        location_access_role_arns: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.contract = contract
        self.sharing_mode = SharingMode(sharing_mode)
        self.catalog_id = catalog_id
        self.database_name = database_name or contract.database_name

        self.location_registration: lakeformation.CfnResource | None = None
        if data_access_role_arn is not None:
            self.location_registration = lakeformation.CfnResource(
                self,
                "Location",
                resource_arn=location_arn(contract.location),
                role_arn=data_access_role_arn,
                use_service_linked_role=False,
                hybrid_access_enabled=False,
            )

        self.location_grants: list[lakeformation.CfnPrincipalPermissions] = []
        if self.location_registration is not None:
            for index, role_arn in enumerate(location_access_role_arns):
                grant = lakeformation.CfnPrincipalPermissions(
                    self,
                    f"LocationAccess{index}" if index else "LocationAccess",
                    principal=lakeformation.CfnPrincipalPermissions.DataLakePrincipalProperty(
                        data_lake_principal_identifier=role_arn
                    ),
                    resource=lakeformation.CfnPrincipalPermissions.ResourceProperty(
                        data_location=lakeformation.CfnPrincipalPermissions.DataLocationResourceProperty(
                            catalog_id=catalog_id, resource_arn=location_arn(contract.location)
                        )
                    ),
                    permissions=["DATA_LOCATION_ACCESS"],
                    permissions_with_grant_option=[],
                )
                grant.add_resource_dependency(self.location_registration)
                self.location_grants.append(grant)

        spec = table_input(contract, csv_header=csv_header)
        # Who receives the product's refresh notifications (the hub notifier publishes to each one's topic).
        spec["Parameters"] = {**spec["Parameters"], CONSUMERS_PARAMETER: ",".join(sorted(contract.consumers))}
        self.table = glue.CfnTable(
            self,
            "Table",
            catalog_id=catalog_id,
            database_name=self.database_name,
            table_input=_table_input_props(spec),
            open_table_format_input=_open_table_format_props(open_table_format_input(contract)),
        )
        policy = resolve_removal_policy(self, removal_policy)
        self.table.apply_removal_policy(policy)
        if policy == RemovalPolicy.RETAIN:
            self.table.cfn_options.update_replace_policy = CfnDeletionPolicy.RETAIN
        if self.location_registration is not None:
            self.table.add_resource_dependency(self.location_registration)

        self.grants: dict[str, lakeformation.CfnPrincipalPermissions] = {}
        self.tag_association: lakeformation.CfnTagAssociation | None = None
        if self.sharing_mode is SharingMode.NAMED_RESOURCES:
            for account in contract.consumers:
                grant = lakeformation.CfnPrincipalPermissions(
                    self,
                    f"Share{account}",
                    principal=lakeformation.CfnPrincipalPermissions.DataLakePrincipalProperty(
                        data_lake_principal_identifier=account
                    ),
                    resource=lakeformation.CfnPrincipalPermissions.ResourceProperty(
                        table=lakeformation.CfnPrincipalPermissions.TableResourceProperty(
                            catalog_id=catalog_id, database_name=self.database_name, name=contract.table_name
                        )
                    ),
                    permissions=list(CONSUMER_TABLE_PERMISSIONS),
                    permissions_with_grant_option=list(CONSUMER_TABLE_PERMISSIONS),
                )
                grant.add_resource_dependency(self.table)
                self.grants[account] = grant
        else:
            self.tag_association = lakeformation.CfnTagAssociation(
                self,
                "LfTags",
                lf_tags=[
                    lakeformation.CfnTagAssociation.LFTagPairProperty(
                        catalog_id=catalog_id, tag_key=key, tag_values=[value]
                    )
                    for key, value in sorted(self.lf_tags().items())
                ],
                resource=lakeformation.CfnTagAssociation.ResourceProperty(
                    table=lakeformation.CfnTagAssociation.TableResourceProperty(
                        catalog_id=catalog_id, database_name=self.database_name, name=contract.table_name
                    )
                ),
            )
            self.tag_association.add_resource_dependency(self.table)

    def lf_tags(self) -> dict[str, str]:
        """LF-tags of the table: the contract's (domain, classification, pii, tags) and one per consumer."""
        return {
            **self.contract.lf_tags(),
            **{consumer_tag_key(account): CONSUMER_TAG_VALUE for account in self.contract.consumers},
        }

    @property
    def table_arn(self) -> str:
        """ARN of the Glue table (in the stack's partition and region)."""
        from aws_cdk import Stack

        return Stack.of(self).format_arn(
            service="glue",
            resource="table",
            account=self.catalog_id,
            resource_name=f"{self.database_name}/{self.contract.table_name}",
        )

    @staticmethod
    def resource_count(
        contract: DataProductContract,
        sharing_mode: SharingMode | str = SharingMode.LF_TAGS,
        *,
        register_location: bool = True,
        location_access_grants: int = 0,
    ) -> int:
        """How many CloudFormation resources a product adds to its stack (used for stack budgets)."""
        shares = len(contract.consumers) if SharingMode(sharing_mode) is SharingMode.NAMED_RESOURCES else 1
        return int(register_location) * (1 + location_access_grants) + 1 + shares
