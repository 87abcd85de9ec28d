"""``DataProductCatalog``: the data products of one stack, and the stable plan that spreads thousands over many.

CloudFormation allows 500 resources and 1 MB per template, and a data product costs several
resources, so a mesh of 2,000+ products needs many stacks. A product must **never move** to another
stack when other products are added, removed or renamed: the move would delete its table and grants
in one stack and create them in another (the retained table even blocks the re-creation), cutting
consumers off. Hence the **stable assignment** of :func:`plan_shards`:

- a product's shard is ``sha256("<domain>/<name>") mod shards(domain)``: a pure function of its own
  identity, never of the other products (no sorting, no bin packing, no counters);
- each domain has a fixed number of shards (``shards_per_domain``, overridable per domain); only
  shards that hold something become stacks;
- in LF-tag mode each consumer account costs three resources whatever it consumes (its
  ``meshworks:consumer:<account>`` LF-tag key, one LF-tag expression grant on the tables carrying it,
  one DESCRIBE grant on the databases of the domains it consumes from); they are placed the same way,
  by the hash of ``"consumer:<account>"``, in ``consumer_shards`` stacks of their own;
- every shard is checked against a resource budget at synth; an overfull shard is an error that names
  the shard, its size and the fix (raise the domain's shard count *before* its first deployment,
  since a new count moves products).

Example::

    plans = plan_shards(contracts, shards_per_domain=4, consumer_shards=2, max_resources=450)
    for plan in plans:   # consumer shards first: product shards use their LF-tag keys
        stack = Stack(app, plan.stack_id)
        DataProductCatalog(stack, "Products", plan=plan, catalog_id=hub_account,
                           data_access_role_arn=data_access_role_arn,
                           allowed_consumer_accounts=config.mesh_trust().consumer_accounts)
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lakeformation as lakeformation
from constructs import Construct

from meshworks.constructs.mesh.contract import DataProductContract
from meshworks.constructs.mesh.data_product import (
    CONSUMER_TABLE_PERMISSIONS,
    CONSUMER_TAG_VALUE,
    DataProduct,
    SharingMode,
    consumer_tag_key,
)
from meshworks.constructs.mesh.trust import require_allowed_consumers

__all__ = [
    "CONSUMER_RESOURCES",
    "DataProductCatalog",
    "ShardBudgetError",
    "ShardPlan",
    "plan_shards",
    "shard_index",
]

#: LF-tag mode: resources per consumer account: its tag key, the table grant, the database grant.
CONSUMER_RESOURCES = 3
#: Shard group of the consumer accounts' LF-tag keys and grants.
CONSUMERS_GROUP = "consumers"
DOMAIN_TAG_KEY = "domain"
#: Most values one LF-tag expression condition takes.
MAX_EXPRESSION_VALUES = 50


class ShardBudgetError(ValueError):
    """A shard would exceed its resource budget; the message says which one and how to fix it."""


def shard_index(identity: str, shards: int) -> int:
    """Stable shard of an identity: the first 8 bytes of its SHA-256, modulo ``shards``."""
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    return int.from_bytes(hashlib.sha256(identity.encode("utf-8")).digest()[:8], "big") % shards


def product_identity(contract: DataProductContract) -> str:
    """What places a product: ``<domain>/<name>``."""
    return f"{contract.domain}/{contract.name}"


def consumer_identity(account: str) -> str:
    """What places the LF-tag key and grants of a consumer account."""
    return f"consumer:{account}"


@dataclass
class ShardPlan:
    """What one data-product stack holds.

    Attributes:
        group: the domain of a product shard, or ``"consumers"`` for a consumer shard.
        index: the shard number, ``0 <= index < shards``.
        shards: the group's shard count.
        products: the contracts placed here (sorted by name).
        consumers: LF-tag mode, consumer shards: account -> domains it consumes from (sorted).
        resources: CloudFormation resources the shard will hold.
    """

    group: str
    index: int
    shards: int
    products: list[DataProductContract] = field(default_factory=list)
    consumers: dict[str, list[str]] = field(default_factory=dict)
    resources: int = 0

    @property
    def is_consumer_shard(self) -> bool:
        """True for a shard of consumer-account tag keys and grants."""
        return self.group == CONSUMERS_GROUP

    @property
    def domain(self) -> str:
        """The domain of a product shard (``""`` for a consumer shard)."""
        return "" if self.is_consumer_shard else self.group

    @property
    def stack_id(self) -> str:
        """Construct id of the shard's stack: ``MeshProducts-sales-02`` or ``MeshConsumers-01``."""
        if self.is_consumer_shard:
            return f"MeshConsumers-{self.index:02d}"
        return f"MeshProducts-{self.group.replace('_', '-')}-{self.index:02d}"

    @property
    def stack_suffix(self) -> str:
        """Stack-name suffix: ``mesh-products-sales-02`` (``_`` becomes ``-``) or ``mesh-consumers-01``."""
        if self.is_consumer_shard:
            return f"mesh-consumers-{self.index:02d}"
        return f"mesh-products-{self.group.replace('_', '-')}-{self.index:02d}"


def plan_shards(
    contracts: Iterable[DataProductContract],
    *,
    shards_per_domain: int = 4,
    domain_shards: Mapping[str, int] | None = None,
    consumer_shards: int = 2,
    max_resources: int = 450,
    sharing_mode: SharingMode | str = SharingMode.LF_TAGS,
    register_locations: bool = True,
    location_access_grants: int = 0,
) -> list[ShardPlan]:
    """Place every product (and, in LF-tag mode, every consumer account) in its shard.

    Args:
        contracts: reviewed contracts (unique ``domain/name``).
        shards_per_domain: shards of a domain without an override. Default: 4.
        domain_shards: per-domain shard counts. Default: none.
        consumer_shards: shards of the consumer accounts' tag keys and grants (LF-tag mode). Default: 2.
        max_resources: resource budget of one shard stack. Default: 450 (CloudFormation: 500).
        sharing_mode: Default: ``SharingMode.LF_TAGS``.
        register_locations: products register their S3 location. Default: True.
        location_access_grants: ``DATA_LOCATION_ACCESS`` grants per registered location (the hub's
            notifier: 1). Default: 0.

    Returns:
        The non-empty shards: consumer shards first, then product shards by domain and index.

    Raises:
        ShardBudgetError: a shard exceeds ``max_resources``, or two contracts share a ``domain/name``.
    """
    mode = SharingMode(sharing_mode)
    overrides = dict(domain_shards or {})
    plans: dict[tuple[str, int], ShardPlan] = {}
    seen: set[str] = set()

    def shard_of(group: str, identity: str, shards: int) -> ShardPlan:
        index = shard_index(identity, shards)
        key = (group, index)
        if key not in plans:
            plans[key] = ShardPlan(group, index, shards)
        return plans[key]

    domains_of: dict[str, set[str]] = {}
    for contract in contracts:
        identity = product_identity(contract)
        if identity in seen:
            raise ShardBudgetError(f"data product {identity} is defined twice; product names must be unique per domain")
        seen.add(identity)
        plan = shard_of(contract.domain, identity, overrides.get(contract.domain, shards_per_domain))
        plan.products.append(contract)
        plan.resources += DataProduct.resource_count(
            contract, mode, register_location=register_locations, location_access_grants=location_access_grants
        )
        for account in contract.consumers:
            domains_of.setdefault(account, set()).add(contract.domain)
    if mode is SharingMode.LF_TAGS:
        for account, domains in domains_of.items():
            plan = shard_of(CONSUMERS_GROUP, consumer_identity(account), consumer_shards)
            plan.consumers[account] = sorted(domains)
            plan.resources += CONSUMER_RESOURCES
    ordered = sorted(plans.values(), key=lambda p: (not p.is_consumer_shard, p.group, p.index))
    for plan in ordered:
        plan.products.sort(key=lambda c: c.name)
        plan.consumers = dict(sorted(plan.consumers.items()))
    over = [plan for plan in ordered if plan.resources > max_resources]
    if over:
        lines = [
            f"  {plan.stack_suffix}: {plan.resources} resources "
            + (
                f"({len(plan.consumers)} consumer accounts)"
                if plan.is_consumer_shard
                else f"({len(plan.products)} products)"
            )
            for plan in over
        ]
        fixes = []
        domains = sorted({plan.group for plan in over if not plan.is_consumer_shard})
        if domains:
            suggestion = ", ".join(f"'{d}': {overrides.get(d, shards_per_domain) * 2}" for d in domains)
            fixes.append(
                f"raise the shard count of {', '.join(domains)} (meshworks.mesh.domain_shards = {{{suggestion}}}, "
                "or mesh.shards_per_domain for every domain)"
            )
        if any(plan.is_consumer_shard for plan in over):
            fixes.append(f"raise mesh.consumer_shards (now {consumer_shards}) to {consumer_shards * 2}")
        raise ShardBudgetError(
            f"{len(over)} data-product stack(s) exceed the budget of {max_resources} resources per stack:\n"
            + "\n".join(lines)
            + f"\nTo fix it, {' and '.join(fixes)}. A new shard count re-places what that group holds: change it "
            "before the group's first deployment, or plan the move (see DataProductCatalog)."
        )
    return ordered


class DataProductCatalog(Construct):
    """The data products of one stack (a shard of :func:`plan_shards`, or a whole small mesh).

    Creates a :class:`~meshworks.constructs.mesh.data_product.DataProduct` per contract and, in
    LF-tag mode, for each consumer account in ``consumers``: its LF-tag key
    ``meshworks:consumer:<account>`` (value ``true``), SELECT+DESCRIBE with grant option (so the
    consumer's admins can re-grant) on the tables carrying that tag, and DESCRIBE on the databases of
    the domains it consumes from (``domain`` in the list). Construct ids are ``<domain>-<name>`` and
    ``Consumer-<account>``: a product's logical ids never depend on the other products.

    Example::

        DataProductCatalog(stack, "Products", contracts=contracts, catalog_id=hub_account,
                           data_access_role_arn=role_arn,
                           allowed_consumer_accounts=["777788889999"])   # consumers default to the contracts'

    Args:
        plan: a shard from :func:`plan_shards` (gives ``contracts`` and ``consumers``). Default: none.
        contracts: the products, when no plan is given.
        consumers: LF-tag mode: consumer account -> domains it consumes from. Default: what the
            ``contracts`` need (with a plan: the plan's).
        catalog_id: the hub account.
        data_access_role_arn: registers locations with this role; ``None`` skips registration.
        sharing_mode: Default: ``SharingMode.LF_TAGS``.
        max_resources: refuse to build more than this many resources. Default: 500.
        removal_policy: of the tables. Default: RETAIN.
        allowed_consumer_accounts: the platform's consumer allowlist: the only accounts products may be
            shared with (a contract cannot widen it). Default: none (no product may name consumers).

        location_access_role_arns: granted ``DATA_LOCATION_ACCESS`` on each registered product
            location (the hub's notifier role). Default: none.
    Raises:
        ValueError: a contract (or ``consumers``) names an account outside ``allowed_consumer_accounts``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        catalog_id: str,
        data_access_role_arn: str | None,
        plan: ShardPlan | None = None,
        contracts: Sequence[DataProductContract] = (),
        consumers: Mapping[str, Sequence[str]] | None = None,
        sharing_mode: SharingMode | str = SharingMode.LF_TAGS,
        max_resources: int = 500,
        removal_policy: RemovalPolicy | None = None,
        allowed_consumer_accounts: Collection[str] = (),
        location_access_role_arns: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.sharing_mode = SharingMode(sharing_mode)
        if plan is not None:
            contracts = plan.products
            consumers = plan.consumers
        elif consumers is None:
            derived: dict[str, set[str]] = {}
            for contract in contracts:
                for account in contract.consumers:
                    derived.setdefault(account, set()).add(contract.domain)
            consumers = {account: sorted(domains) for account, domains in sorted(derived.items())}
        self.allowed_consumer_accounts = frozenset(allowed_consumer_accounts)
        require_allowed_consumers(self.node.path, contracts, self.allowed_consumer_accounts, extra=consumers)
        if self.sharing_mode is SharingMode.NAMED_RESOURCES:
            consumers = {}
        expected = sum(
            DataProduct.resource_count(
                c,
                self.sharing_mode,
                register_location=data_access_role_arn is not None,
                location_access_grants=len(location_access_role_arns),
            )
            for c in contracts
        ) + CONSUMER_RESOURCES * len(consumers)
        if expected > max_resources:
            raise ShardBudgetError(
                f"{self.node.path}: {len(contracts)} products need {expected} resources, more than {max_resources}; "
                "spread them over several stacks with plan_shards()"
            )
        self.catalog_id = catalog_id
        self.consumer_tags: dict[str, lakeformation.CfnTag] = {}
        self.consumer_grants: dict[str, list[lakeformation.CfnPrincipalPermissions]] = {}
        for account, domains in consumers.items():
            self._add_consumer(account, domains)
        self.products: dict[str, DataProduct] = {}
        for contract in contracts:
            product = DataProduct(
                self,
                f"{contract.domain}-{contract.name}",
                contract=contract,
                catalog_id=catalog_id,
                data_access_role_arn=data_access_role_arn,
                sharing_mode=self.sharing_mode,
                removal_policy=removal_policy,
                allowed_consumer_accounts=self.allowed_consumer_accounts,
                location_access_role_arns=location_access_role_arns,
            )
            if product.tag_association is not None:  # tag keys defined in this catalog come first
                for account in contract.consumers:
                    if account in self.consumer_tags:
                        product.tag_association.add_resource_dependency(self.consumer_tags[account])
            self.products[contract.qualified_name] = product
        #: Resources this catalog created (what the budget counted).
        self.resource_count = expected

    def _add_consumer(self, account: str, domains: Sequence[str]) -> None:
        if not 1 <= len(domains) <= MAX_EXPRESSION_VALUES:
            raise ValueError(
                f"consumer {account} consumes from {len(domains)} domains; an LF-tag expression takes 1 to "
                f"{MAX_EXPRESSION_VALUES} values"
            )
        scope = Construct(self, f"Consumer-{account}")
        key = consumer_tag_key(account)
        tag = lakeformation.CfnTag(
            scope, "TagKey", catalog_id=self.catalog_id, tag_key=key, tag_values=[CONSUMER_TAG_VALUE]
        )
        principal = lakeformation.CfnPrincipalPermissions.DataLakePrincipalProperty(
            data_lake_principal_identifier=account
        )
        condition = lakeformation.CfnPrincipalPermissions.LFTagProperty
        tables = lakeformation.CfnPrincipalPermissions(
            scope,
            "Tables",
            principal=principal,
            resource=lakeformation.CfnPrincipalPermissions.ResourceProperty(
                lf_tag_policy=lakeformation.CfnPrincipalPermissions.LFTagPolicyResourceProperty(
                    catalog_id=self.catalog_id,
                    resource_type="TABLE",
                    expression=[condition(tag_key=key, tag_values=[CONSUMER_TAG_VALUE])],
                )
            ),
            permissions=list(CONSUMER_TABLE_PERMISSIONS),
            permissions_with_grant_option=list(CONSUMER_TABLE_PERMISSIONS),
        )
        tables.add_resource_dependency(tag)
        databases = lakeformation.CfnPrincipalPermissions(
            scope,
            "Databases",
            principal=principal,
            resource=lakeformation.CfnPrincipalPermissions.ResourceProperty(
                lf_tag_policy=lakeformation.CfnPrincipalPermissions.LFTagPolicyResourceProperty(
                    catalog_id=self.catalog_id,
                    resource_type="DATABASE",
                    expression=[condition(tag_key=DOMAIN_TAG_KEY, tag_values=list(domains))],
                )
            ),
            permissions=["DESCRIBE"],
            permissions_with_grant_option=["DESCRIBE"],
        )
        self.consumer_tags[account] = tag
        self.consumer_grants[account] = [tables, databases]

