"""The CloudFormation resources of a ``DataProductCatalog``, rendered in Python (the shards' fast path).

:class:`~meshworks.constructs.mesh.data_product_catalog.DataProductCatalog` builds its products as
:class:`~meshworks.constructs.mesh.data_product.DataProduct` constructs, or, given a
:class:`~meshworks.constructs.core.rendered_resources.RenderedResourcesSynthesizer` (what
``DataProductStack`` does by default), renders the same resources here and hands them to the
synthesizer: no jsii round trip per resource. The two paths write **byte-identical** templates: same
logical ids (the CDK's algorithm on the same construct paths), properties in the order the CDK's L1
classes write them, ``DependsOn``, removal policies and ``aws:cdk:path`` metadata;
``tests/mesh/test_catalog_template.py`` synthesizes both for meshes of every format and sharing mode
and compares the files. A change to what ``DataProduct`` creates must be made here too (that test
fails until it is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from meshworks.constructs.core.rendered_resources import logical_id
from meshworks.constructs.mesh.contract import DataProductContract
from meshworks.constructs.mesh.data_product import (
    CONSUMER_TABLE_PERMISSIONS,
    CONSUMER_TAG_VALUE,
    SharingMode,
    consumer_tag_key,
    location_arn,
)
from meshworks.constructs.mesh.table_format import open_table_format_input, table_input

__all__ = ["CatalogTemplate"]

DOMAIN_TAG_KEY = "domain"


def _struct(**fields: Any) -> dict[str, Any]:
    """A CloudFormation struct as an L1 class writes it: keys in alphabetical order, unset ones left out."""
    return {key: fields[key] for key in sorted(fields) if fields[key] is not None}


def _columns(columns: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    if columns is None:
        return None
    return [_struct(Comment=c["Comment"], Name=c["Name"], Type=c["Type"]) for c in columns]


def _table_input(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``TableInput`` as ``glue.CfnTable`` writes the struct ``DataProduct`` builds from ``spec``."""
    sd = spec["StorageDescriptor"]
    serde = sd.get("SerdeInfo")
    descriptor = _struct(
        Location=sd["Location"],
        Columns=_columns(sd.get("Columns", [])),
        InputFormat=sd.get("InputFormat"),
        OutputFormat=sd.get("OutputFormat"),
        Compressed=sd.get("Compressed"),
        SerdeInfo=_struct(SerializationLibrary=serde["SerializationLibrary"], Parameters=serde["Parameters"])
        if serde
        else None,
    )
    return _struct(
        Name=spec["Name"],
        Description=spec["Description"],
        Owner=spec["Owner"],
        TableType=spec["TableType"],
        Parameters=spec["Parameters"],
        StorageDescriptor=descriptor,
        PartitionKeys=_columns(spec["PartitionKeys"]) if "PartitionKeys" in spec else None,
    )


def _open_table_format_input(spec: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if spec is None:
        return None
    iceberg = spec["IcebergInput"]
    table = iceberg.get("IcebergTableInput")
    table_struct = None
    if table is not None:
        schema = table["Schema"]
        partition = table.get("PartitionSpec")
        table_struct = _struct(
            Location=table["Location"],
            Schema=_struct(
                SchemaId=schema["SchemaId"],
                Type=schema["Type"],
                Fields=[
                    _struct(Id=f["Id"], Name=f["Name"], Type=f["Type"], Required=f["Required"], Doc=f["Doc"])
                    for f in schema["Fields"]
                ],
            ),
            PartitionSpec=_struct(
                SpecId=partition["SpecId"],
                Fields=[
                    _struct(Name=f["Name"], SourceId=f["SourceId"], FieldId=f["FieldId"], Transform=f["Transform"])
                    for f in partition["Fields"]
                ],
            )
            if partition
            else None,
            Properties=table["Properties"],
        )
    return _struct(
        IcebergInput=_struct(
            MetadataOperation=iceberg["MetadataOperation"], Version=iceberg["Version"], IcebergTableInput=table_struct
        )
    )


class CatalogTemplate:
    """Renders a catalog's resources as ``DataProductCatalog`` would build them at ``catalog_path``.

    Args:
        catalog_components: construct ids from the stack (excluded) down to the catalog, e.g. ``("Products",)``.
        catalog_path: the catalog's ``node.path`` (for ``aws:cdk:path``), or ``None`` when the app does not
            write path metadata (context ``aws:cdk:enable-path-metadata``).
        catalog_id, data_access_role_arn, sharing_mode, location_access_role_arns: as ``DataProductCatalog``'s.
        deletion_policy: the tables' ``DeletionPolicy`` and ``UpdateReplacePolicy`` (``Retain``, ``Delete``
            or ``Snapshot``).
        legacy_association: also render the retained one-per-product association of the upgrade step
            (context ``@meshworks/retainLegacyTagAssociation``).
        partition: of the registered locations' ARNs. Default: ``aws``.
    """

    def __init__(
        self,
        *,
        catalog_components: Sequence[str],
        catalog_path: str | None,
        catalog_id: str,
        data_access_role_arn: str | None,
        sharing_mode: SharingMode,
        location_access_role_arns: Sequence[str],
        deletion_policy: str,
        legacy_association: bool,
        partition: str = "aws",
    ) -> None:
        self._components = tuple(catalog_components)
        self._path = catalog_path
        self._catalog_id = catalog_id
        self._role_arn = data_access_role_arn
        self._mode = sharing_mode
        self._location_roles = tuple(location_access_role_arns)
        self._deletion_policy = deletion_policy
        self._legacy = legacy_association
        self._partition = partition
        #: logical id -> CloudFormation resource, in the order the constructs would be created.
        self.resources: dict[str, dict[str, Any]] = {}

    def _add(
        self,
        ids: tuple[str, ...],
        type_: str,
        properties: dict[str, Any],
        depends_on: Sequence[str] = (),
        policy: str | None = None,
    ) -> str:
        """Add one resource at ``catalog/ids``; returns its logical id. Key order: ``CfnResource._toCloudFormation``."""
        resource_id = logical_id((*self._components, *ids))
        resource: dict[str, Any] = {"Type": type_, "Properties": properties}
        if depends_on:
            # The CDK sorts DependsOn by construct path (localeCompare); a resource here never has two
            # (a product depending on its catalog's consumer tags is built as constructs instead).
            resource["DependsOn"] = list(depends_on)
        if policy is not None:
            resource["UpdateReplacePolicy"] = policy
            resource["DeletionPolicy"] = policy
        if self._path is not None:
            resource["Metadata"] = {"aws:cdk:path": "/".join((self._path, *ids))}
        self.resources[resource_id] = resource
        return resource_id

    def add_consumer(self, account: str, domains: Sequence[str]) -> None:
        """An account's LF-tag key, its table grant and one DESCRIBE grant per domain (``_add_consumer``)."""
        scope = f"Consumer-{account}"
        key = consumer_tag_key(account)
        tag = self._add(
            (scope, "TagKey"),
            "AWS::LakeFormation::Tag",
            _struct(CatalogId=self._catalog_id, TagKey=key, TagValues=[CONSUMER_TAG_VALUE]),
        )
        principal = {"DataLakePrincipalIdentifier": account}

        def policy(resource_type: str, tag_key: str, values: list[str]) -> dict[str, Any]:
            return {
                "LFTagPolicy": _struct(
                    CatalogId=self._catalog_id,
                    ResourceType=resource_type,
                    Expression=[_struct(TagKey=tag_key, TagValues=values)],
                )
            }

        self._add(
            (scope, "Tables"),
            "AWS::LakeFormation::PrincipalPermissions",
            _struct(
                Principal=principal,
                Resource=policy("TABLE", key, [CONSUMER_TAG_VALUE]),
                Permissions=list(CONSUMER_TABLE_PERMISSIONS),
                PermissionsWithGrantOption=list(CONSUMER_TABLE_PERMISSIONS),
            ),
            depends_on=[tag],
        )
        for domain in sorted(domains):
            self._add(
                (scope, f"Databases-{domain}"),
                "AWS::LakeFormation::PrincipalPermissions",
                _struct(
                    Principal=principal,
                    Resource=policy("DATABASE", DOMAIN_TAG_KEY, [domain]),
                    Permissions=["DESCRIBE"],
                    PermissionsWithGrantOption=["DESCRIBE"],
                ),
            )

    def add_product(self, contract: DataProductContract, lf_tags: Mapping[str, str]) -> None:
        """What ``DataProduct`` creates for ``contract`` (no hub): location, grants, table, shares."""
        product = f"{contract.domain}-{contract.name}"
        catalog_id = self._catalog_id
        database = contract.database_name
        location = None
        if self._role_arn is not None:
            resource_arn = location_arn(contract.location, self._partition)
            location = self._add(
                (product, "Location"),
                "AWS::LakeFormation::Resource",
                _struct(
                    ResourceArn=resource_arn,
                    RoleArn=self._role_arn,
                    UseServiceLinkedRole=False,
                    HybridAccessEnabled=False,
                ),
            )
            for index, role_arn in enumerate(self._location_roles):
                self._add(
                    (product, f"LocationAccess{index}" if index else "LocationAccess"),
                    "AWS::LakeFormation::PrincipalPermissions",
                    _struct(
                        Principal={"DataLakePrincipalIdentifier": role_arn},
                        Resource={"DataLocation": _struct(CatalogId=catalog_id, ResourceArn=resource_arn)},
                        Permissions=["DATA_LOCATION_ACCESS"],
                        PermissionsWithGrantOption=[],
                    ),
                    depends_on=[location],
                )
        spec = table_input(contract)
        table = self._add(
            (product, "Table"),
            "AWS::Glue::Table",
            _struct(
                CatalogId=catalog_id,
                DatabaseName=database,
                Name=contract.table_name if spec is None else None,
                TableInput=_table_input(spec) if spec is not None else None,
                OpenTableFormatInput=_open_table_format_input(open_table_format_input(contract)),
            ),
            depends_on=[location] if location else (),
            policy=self._deletion_policy,
        )
        table_ref = {"Table": _struct(CatalogId=catalog_id, DatabaseName=database, Name=contract.table_name)}
        if self._mode is SharingMode.NAMED_RESOURCES:
            for account in contract.consumers:
                self._add(
                    (product, f"Share{account}"),
                    "AWS::LakeFormation::PrincipalPermissions",
                    _struct(
                        Principal={"DataLakePrincipalIdentifier": account},
                        Resource=table_ref,
                        Permissions=list(CONSUMER_TABLE_PERMISSIONS),
                        PermissionsWithGrantOption=list(CONSUMER_TABLE_PERMISSIONS),
                    ),
                    depends_on=[table],
                )
            return
        for key, value in sorted(lf_tags.items()):
            self._add(
                (product, f"LfTag-{key}"),
                "AWS::LakeFormation::TagAssociation",
                _struct(
                    LFTags=[_struct(CatalogId=catalog_id, TagKey=key, TagValues=[value])],
                    Resource=table_ref,
                ),
                depends_on=[table],
            )
        if self._legacy:
            self._add(
                (product, "LfTags"),
                "AWS::LakeFormation::TagAssociation",
                _struct(
                    LFTags=[
                        _struct(CatalogId=catalog_id, TagKey=key, TagValues=[value])
                        for key, value in sorted(lf_tags.items())
                    ],
                    Resource=table_ref,
                ),
                depends_on=[table],
                policy="Retain",
            )
