"""``DataProduct``: one contract becomes a registered location, a Glue table and its consumer shares.

Two sharing modes, measured by ``benchmarks/mesh_scale.py`` (``benchmarks/RESULTS.md``); a product
with ``c`` consumer accounts costs:

=====================  ==================================================  ===========================
mode                   resources of one product                            cost
=====================  ==================================================  ===========================
``NAMED_RESOURCES``    location + table + one ``PrincipalPermissions``     ``2 + c`` per product
                       grant per consumer account (each creates a RAM
                       share the consumer must accept)
``LF_TAGS`` (default)  location + table + one ``TagAssociation`` per       ``2 + 3 + t + c`` per
                       LF-tag key: ``domain``, ``classification``,          product (``t`` contract
                       ``pii``, each contract tag, and one                 tags), plus 3 per
                       ``meshworks:consumer:<account>=true`` per consumer  consumer *account*
=====================  ==================================================  ===========================

With ``location_access_role_arns`` (the reference app: the hub's notifier), a registered location
also gets one ``DATA_LOCATION_ACCESS`` grant per role: one more resource per product in both modes.

In ``LF_TAGS`` mode the grants do not belong to a product: each consumer account has its tag key, one
LF-tag expression grant on the tables carrying it and one DESCRIBE grant on the databases of the
domains it consumes from, made once by
:class:`~meshworks.constructs.mesh.data_product_catalog.DataProductCatalog`. Adding a consumer to a
product adds one tag association and touches nothing else, and (cross-account version 3+) no RAM
invitation has to be accepted.

Why one association per key: ``AWS::LakeFormation::TagAssociation`` has only create-only properties
(``LFTags``, ``Resource``: the resource schema's ``createOnlyProperties``), so a single association
holding all of a product's tags was replaced on every consumer added or removed, tag or
classification changed, and the table lost its LF-tags, and every consumer its access, while
CloudFormation deleted and recreated it. With one association per key, whose logical id derives from
the key, a new consumer is an added resource, a removed one a removed resource, and a changed value
replaces only that key's association. The price is resources: ``5 + t + c`` per product instead of
``3``, which the shard budget (:func:`~meshworks.constructs.mesh.data_product_catalog.plan_shards`)
counts through :meth:`DataProduct.resource_count`. Lake Formation assigns at most 50 LF-tags to a
table, so a contract's tags and consumers together are limited to 47 (the contract model refuses more).

Example::

    from aws_cdk import App, Environment, Stack

    from meshworks.constructs.mesh import DataProduct, MeshHub, load_contracts

    app = App()
    stack = Stack(app, "Mesh", env=Environment(account="111111111111", region="eu-west-1"))
    contract = next(c for c in load_contracts(["contracts/"]) if c.name == "orders")
    hub = MeshHub(stack, "Hub", name_prefix="acme", producer_locations=["s3://acme-sales-curated-eu-west-1/"])
    product = DataProduct(stack, "Orders", contract=contract, hub=hub,
                          data_access_role=hub.data_access_role,
                          allowed_consumer_accounts=["333333333333"])
    product.table              # the AWS::Glue::Table
    product.grants             # {} in LF_TAGS mode; account -> AWS::LakeFormation::PrincipalPermissions
    app.synth()

The Glue database (one per domain, ``contract.database_name``), the LF-tag keys and values of the table
and the Lake Formation settings (the deployment role as LF admin) must exist before the product is
deployed. Pass ``hub=`` and the product asks the hub for them (``add_domain``, ``add_lf_tag``) and depends on
them explicitly, in one stack or across stacks. Without a hub (the reference app's product shards), they
must come from elsewhere: ``MeshHubStack`` and the consumer shards of ``DataProductCatalog``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from aws_cdk import CfnDeletionPolicy, CfnResource, RemovalPolicy
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lakeformation as lakeformation
from constructs import Construct

from meshworks.constructs.core.inputs import Choice, account_ids, role_arns
from meshworks.constructs.core.partition import partition_of
from meshworks.constructs.core.removal import resolve_removal_policy
from meshworks.constructs.mesh.contract import CONSUMERS_PARAMETER, DataProductContract  # noqa: F401 - re-exported
from meshworks.constructs.mesh.table_format import open_table_format_input, table_input
from meshworks.constructs.mesh.trust import location_within, require_allowed_consumers

if TYPE_CHECKING:
    from meshworks.constructs.mesh.mesh_hub import MeshHub

__all__ = [
    "CONSUMER_TAG_PREFIX",
    "CONSUMER_TAG_VALUE",
    "RETAIN_LEGACY_TAG_ASSOCIATION",
    "DataProduct",
    "SharingMode",
    "consumer_tag_key",
    "product_lf_tags",
]

#: LF-tag key marking a table as shared with one consumer account: ``meshworks:consumer:<account>``.
#: The colon cannot appear in contract tag keys, so the platform's keys never collide with producers'.
CONSUMER_TAG_PREFIX = "meshworks:consumer:"
CONSUMER_TAG_VALUE = "true"
#: Context flag of the upgrade from one tag association per product (docs/mesh.md): ``true`` keeps the old
#: association, marked Retain, beside the per-key ones; deploy once with it, then without it.
RETAIN_LEGACY_TAG_ASSOCIATION = "@meshworks/retainLegacyTagAssociation"


#: What a consumer account may do with a shared table (with grant option: its admins re-grant locally).
CONSUMER_TABLE_PERMISSIONS = ("SELECT", "DESCRIBE")


def consumer_tag_key(account: str) -> str:
    """The LF-tag key that shares a table with ``account``."""
    return f"{CONSUMER_TAG_PREFIX}{account}"


def product_lf_tags(contract: DataProductContract) -> dict[str, str]:
    """LF-tags of a product's table: the contract's (domain, classification, pii, tags) and one per consumer."""
    return {
        **contract.lf_tags(),
        **{consumer_tag_key(account): CONSUMER_TAG_VALUE for account in contract.consumers},
    }


class _TagAssociations:
    """The tag associations of one product, ordered together by ``add_resource_dependency``."""

    def __init__(self, associations: dict[str, lakeformation.CfnTagAssociation]) -> None:
        self.associations = associations

    def add_resource_dependency(self, target: CfnResource) -> None:
        """Make every association depend on ``target`` (e.g. the ``AWS::LakeFormation::Tag`` of a key)."""
        for association in self.associations.values():
            association.add_resource_dependency(target)


class SharingMode(Choice):
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
    """The L1 struct of an ``OpenTableFormatInput`` from :func:`table_format.open_table_format_input`."""
    if spec is None:
        return None
    iceberg = spec["IcebergInput"]
    table = iceberg.get("IcebergTableInput")
    table_props = None
    if table is not None:
        schema = table["Schema"]
        spec_input = table.get("PartitionSpec")
        table_props = glue.CfnTable.IcebergTableInputProperty(
            location=table["Location"],
            schema=glue.CfnTable.IcebergSchemaProperty(
                schema_id=schema["SchemaId"],
                type=schema["Type"],
                fields=[
                    glue.CfnTable.IcebergStructFieldProperty(
                        id=f["Id"], name=f["Name"], type=f["Type"], required=f["Required"], doc=f["Doc"]
                    )
                    for f in schema["Fields"]
                ],
            ),
            partition_spec=glue.CfnTable.IcebergPartitionSpecProperty(
                spec_id=spec_input["SpecId"],
                fields=[
                    glue.CfnTable.IcebergPartitionFieldProperty(
                        name=f["Name"], source_id=f["SourceId"], field_id=f["FieldId"], transform=f["Transform"]
                    )
                    for f in spec_input["Fields"]
                ],
            )
            if spec_input
            else None,
            properties=table["Properties"],
        )
    return glue.CfnTable.OpenTableFormatInputProperty(
        iceberg_input=glue.CfnTable.IcebergInputProperty(
            metadata_operation=iceberg["MetadataOperation"], version=iceberg["Version"], iceberg_table_input=table_props
        )
    )


def _context(scope: Construct, key: str) -> Any:
    """``scope.node.try_get_context(key)``, read once per scope (two jsii round trips saved per product).

    Exact: CDK refuses ``set_context`` on a node that has children, so once a product was added under
    ``scope``, the context of ``scope`` and of every ancestor can no longer change.
    """
    cache = _CONTEXT_CACHE.setdefault(scope, {})
    if key not in cache:
        cache[key] = scope.node.try_get_context(key)
    return cache[key]


_CONTEXT_CACHE: WeakKeyDictionary[Construct, dict[str, Any]] = WeakKeyDictionary()


def location_arn(location: str, partition: str = "aws") -> str:
    """The S3 ARN Lake Formation registers for an ``s3://bucket/prefix/`` location (no trailing slash).

    ``partition``: ``aws``, ``aws-cn``, ``aws-us-gov`` (``Stack.of(scope).partition``). Default: ``aws``.
    """
    return f"arn:{partition}:s3:::" + location[len("s3://") :].rstrip("/")


def stack_partition(scope: Construct) -> str:
    """The partition of the registered locations' ARNs under ``scope``, read once per scope: the stack's
    (``aws-cn`` in ``cn-north-1``: :func:`~meshworks.constructs.core.partition.partition_of`), and ``aws`` in
    an environment-agnostic stack, as before partitions were honoured (``ResourceArn`` is create-only)."""
    cache = _CONTEXT_CACHE.setdefault(scope, {})
    if _PARTITION not in cache:
        cache[_PARTITION] = partition_of(scope, when_unknown="aws")
    return cache[_PARTITION]


_PARTITION = object()


class DataProduct(Construct):
    """The hub-side resources of one data product, built from its contract.

    - ``AWS::LakeFormation::Resource`` registering the product's S3 location with the given
      data-access role (not the service-linked role: KMS keys and cross-account buckets need it);
    - ``AWS::Glue::Table`` in the domain's database: columns with their descriptions, partition
      keys, the SerDe of the format (:mod:`~meshworks.constructs.mesh.table_format`) and the
      contract's owner, contact, SLO and classification as table parameters, and its
      ``producer_account`` as ``meshworks:producer_account`` (filled in when the contracts are loaded
      with ``trust=``); retained;
    - the consumer shares of ``sharing_mode`` (see the module documentation for the costs).

    Example::

        from aws_cdk import App, Environment, Stack

        from meshworks.constructs.mesh import DataProduct, SharingMode, load_contracts

        app = App()
        stack = Stack(app, "Products", env=Environment(account="111122223333", region="eu-west-1"))
        contract = next(c for c in load_contracts(["contracts/"]) if c.name == "orders")
        DataProduct(stack, "Orders", contract=contract, catalog_id="111122223333",
                    data_access_role_arn="arn:aws:iam::111122223333:role/acme-lf-data-access",
                    sharing_mode=SharingMode.NAMED_RESOURCES,
                    allowed_consumer_accounts=["333333333333"])   # the platform's allowlist
        app.synth()

    Args:
        contract: the reviewed contract.
        catalog_id: the hub account (the Data Catalog that holds the table). Default: ``hub.catalog_id``;
            required without a hub.
        data_access_role: the role Lake Formation uses to read the location (registers it). Default: the
            hub's ``data_access_role`` with ``hub=``; without a hub, no registration (register the bucket yourself).
        data_access_role_arn: the same role by ARN, for a role of another account or stack (escape hatch;
            give one of the two). Default: none.
        sharing_mode: Default: ``SharingMode.LF_TAGS``.
        database_name: Default: ``contract.database_name`` (the domain).
        csv_header: CSV files start with a header line. Default: True.
        removal_policy: of the table. Default: RETAIN (DESTROY needs ``@meshworks/removeDataOnDestroy``).
        hub: the ``MeshHub`` that governs the catalog: the product's database, LF-tag keys and values are
            created there (or reused) and every resource of the product depends on what it needs (settings,
            database, tags, data-access role). Default: none (the prerequisites exist already).
        allowed_consumer_accounts: the platform's consumer allowlist; every ``contract.consumers``
            account must be in it. Default: none (the contract may name no consumer).

        location_access_role_arns: roles granted ``DATA_LOCATION_ACCESS`` on the registered location
            (``self.location_grants``): the hub's notifier, which adds partitions there (Lake Formation
            refuses ``CreatePartition`` in a registered location without it). One resource each.
            Default: none.
    Raises:
        ValueError: no ``catalog_id`` and no ``hub``, or a ``catalog_id`` that is not a 12-digit account id;
            the contract names a consumer outside ``allowed_consumer_accounts``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        contract: DataProductContract,
        catalog_id: str | None = None,
        data_access_role: iam.IRole | None = None,
        data_access_role_arn: str | None = None,
        sharing_mode: SharingMode | str = SharingMode.LF_TAGS,
        database_name: str | None = None,
        csv_header: bool = True,
        removal_policy: RemovalPolicy | None = None,
        hub: MeshHub | None = None,
        allowed_consumer_accounts: Collection[str] = (),
        location_access_role_arns: Sequence[str] = (),
    ) -> None:
        if catalog_id is None and hub is None:
            raise ValueError(f"DataProduct {construct_id!r}: pass catalog_id (the hub account) or hub=MeshHub(...)")
        catalog_id = catalog_id if catalog_id is not None else hub.catalog_id  # type: ignore[union-attr]
        (catalog_id,) = account_ids("DataProduct", "catalog_id", [catalog_id])
        allowed_consumer_accounts = account_ids("DataProduct", "allowed_consumer_accounts", allowed_consumer_accounts)
        location_access_role_arns = role_arns("DataProduct", "location_access_role_arns", location_access_role_arns)
        super().__init__(scope, construct_id)
        if not set(contract.consumers) <= set(allowed_consumer_accounts):  # the path (a jsii read) only for the error
            require_allowed_consumers(self.node.path, [contract], allowed_consumer_accounts)
        self.contract = contract
        self.sharing_mode = SharingMode(sharing_mode)
        self.catalog_id = catalog_id
        self.database_name = database_name or contract.database_name

        self.location_registration: lakeformation.CfnResource | None = None
        if data_access_role is not None and data_access_role_arn is not None:
            raise ValueError(f"DataProduct {construct_id!r}: pass data_access_role or data_access_role_arn, not both")
        if data_access_role is not None:
            data_access_role_arn = data_access_role.role_arn
        elif data_access_role_arn is None and hub is not None:
            data_access_role_arn = hub.data_access_role.role_arn
        partition = stack_partition(scope)
        if data_access_role_arn is not None:
            self.location_registration = lakeformation.CfnResource(
                self,
                "Location",
                resource_arn=location_arn(contract.location, partition),
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
                            catalog_id=catalog_id, resource_arn=location_arn(contract.location, partition)
                        )
                    ),
                    permissions=["DATA_LOCATION_ACCESS"],
                    permissions_with_grant_option=[],
                )
                grant.add_resource_dependency(self.location_registration)
                self.location_grants.append(grant)

        spec = table_input(contract, csv_header=csv_header)
        self.table = glue.CfnTable(
            self,
            "Table",
            catalog_id=catalog_id,
            database_name=self.database_name,
            # Iceberg: the table is defined by its IcebergTableInput alone, named by the top-level Name.
            name=contract.table_name if spec is None else None,
            table_input=_table_input_props(spec) if spec is not None else None,
            open_table_format_input=_open_table_format_props(open_table_format_input(contract)),
        )
        # RETAIN (the default) sets UpdateReplacePolicy Retain too (applyToUpdateReplacePolicy defaults to true)
        self.table.apply_removal_policy(resolve_removal_policy(self, removal_policy))
        if self.location_registration is not None:
            self.table.add_resource_dependency(self.location_registration)

        self.grants: dict[str, lakeformation.CfnPrincipalPermissions] = {}
        #: LF-tag key -> the ``TagAssociation`` setting that one key on the table (LF-tag mode).
        self.tag_associations: dict[str, lakeformation.CfnTagAssociation] = {}
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
            # One association per LF-tag key, its construct id (so its logical id) derived from the key
            # alone: ``LFTags`` is create-only (a change replaces the association, which removes its tags
            # from the table in between), so adding a consumer adds one association and touches no other;
            # a changed value replaces only that key's association. Also keeps each association far from
            # the 50 LF-tags an association may hold.
            for key, value in sorted(self.lf_tags().items()):
                association = lakeformation.CfnTagAssociation(
                    self,
                    f"LfTag-{key}",
                    lf_tags=[
                        lakeformation.CfnTagAssociation.LFTagPairProperty(
                            catalog_id=catalog_id, tag_key=key, tag_values=[value]
                        )
                    ],
                    resource=lakeformation.CfnTagAssociation.ResourceProperty(
                        table=lakeformation.CfnTagAssociation.TableResourceProperty(
                            catalog_id=catalog_id, database_name=self.database_name, name=contract.table_name
                        )
                    ),
                )
                association.add_resource_dependency(self.table)
                self.tag_associations[key] = association
            if _context(scope, RETAIN_LEGACY_TAG_ASSOCIATION) in (True, "true"):
                self._retain_legacy_association(catalog_id, contract)

        if hub is not None:
            self._depend_on_hub(hub)

    def _depend_on_hub(self, hub: MeshHub) -> None:
        """Create (or reuse) the product's prerequisites in ``hub`` and depend on each explicitly."""
        folders = hub.producer_locations
        location = self.contract.location.rstrip("/") + "/"
        if self.location_registration is not None and not any(location_within(location, f) for f in folders):
            raise ValueError(
                f"DataProduct {self.node.path!r}: location {self.contract.location!r} is outside the hub's producer "
                f"locations ({', '.join(folders) or 'none'}): its data-access role could not read it. Add the folder "
                "to MeshHub(producer_locations=[...]) (reference app: mesh.domains.<domain>.buckets), or fix the "
                "contract's location"
            )
        database = hub.add_domain(self.database_name)
        tags = [hub.add_lf_tag(key, [value]) for key, value in sorted(self.lf_tags().items())]
        resources: list[CfnResource] = [self.table, *self.grants.values()]
        if self.location_registration is not None:
            resources.append(self.location_registration)
            # Lake Formation assumes the role when the location is registered: role and policy first.
            self.location_registration.node.add_dependency(hub.data_access_role)
        for resource in resources:
            resource.node.add_dependency(hub.settings)  # the deployment role is an LF admin from then on
        self.table.node.add_dependency(database)
        for grant in self.grants.values():
            grant.node.add_dependency(database)
        for association in self.tag_associations.values():
            association.node.add_dependency(hub.settings, database, *tags)

    def _retain_legacy_association(self, catalog_id: str, contract: DataProductContract) -> None:
        """Step 1 of the upgrade from one association per product: the old association, unchanged (same
        construct id and LF-tags), marked Retain, so that step 2 removes it from the stack without its
        delete handler removing the table's LF-tags (which the per-key associations now hold)."""
        legacy = lakeformation.CfnTagAssociation(
            self,
            "LfTags",
            lf_tags=[
                lakeformation.CfnTagAssociation.LFTagPairProperty(catalog_id=catalog_id, tag_key=key, tag_values=[value])
                for key, value in sorted(self.lf_tags().items())
            ],
            resource=lakeformation.CfnTagAssociation.ResourceProperty(
                table=lakeformation.CfnTagAssociation.TableResourceProperty(
                    catalog_id=catalog_id, database_name=self.database_name, name=contract.table_name
                )
            ),
        )
        legacy.cfn_options.deletion_policy = CfnDeletionPolicy.RETAIN
        legacy.cfn_options.update_replace_policy = CfnDeletionPolicy.RETAIN
        legacy.add_resource_dependency(self.table)

    @property
    def tag_association(self) -> _TagAssociations | None:
        """All of the product's tag associations as one dependency target (``None`` with named resources).

        Kept for callers that order the associations after something (``add_resource_dependency``);
        use :attr:`tag_associations` to reach one key's association.
        """
        return _TagAssociations(self.tag_associations) if self.tag_associations else None

    def lf_tags(self) -> dict[str, str]:
        """LF-tags of the table: the contract's (domain, classification, pii, tags) and one per consumer."""
        return product_lf_tags(self.contract)

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
        if SharingMode(sharing_mode) is SharingMode.NAMED_RESOURCES:
            shares = len(contract.consumers)
        else:  # one tag association per LF-tag key: the contract's and one per consumer
            shares = len(contract.lf_tags()) + len(contract.consumers)
        return int(register_location) * (1 + location_access_grants) + 1 + shares
