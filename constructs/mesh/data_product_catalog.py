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
- in LF-tag mode the two expression grants of a (domain, consumer account) pair are placed the same
  way, by the hash of ``"<domain>/consumer:<account>"``;
- every shard is checked against a resource budget at synth; an overfull shard is an error that names
  the shard, its size and the fix (raise the domain's shard count *before* its first deployment,
  since a new count moves products).

Example::

    plans = plan_shards(contracts, shards_per_domain=4, max_resources=450)
    for plan in plans:
        stack = Stack(app, plan.stack_id)
        DataProductCatalog(stack, "Products", plan=plan, catalog_id=hub_account,
                           data_access_role_arn=data_access_role_arn)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
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

__all__ = [
    "CONSUMER_GRANT_RESOURCES",
    "DataProductCatalog",
    "ShardBudgetError",
    "ShardPlan",
    "plan_shards",
    "shard_index",
]

#: LF-tag mode: resources per (domain, consumer account): the table grant and the database DESCRIBE.
CONSUMER_GRANT_RESOURCES = 2
DOMAIN_TAG_KEY = "domain"


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


def consumer_identity(domain: str, account: str) -> str:
    """What places the LF-tag grants of a consumer account in a domain."""
    return f"{domain}/consumer:{account}"


@dataclass
class ShardPlan:
    """What one data-product stack holds.

    Attributes:
        domain: every product of a shard belongs to this domain.
        index: the shard number, ``0 <= index < shards``.
        shards: the domain's shard count.
        products: the contracts placed here (sorted by name).
        consumers: LF-tag mode only: consumer accounts whose domain grants live here.
        resources: CloudFormation resources the shard will hold.
    """

    domain: str
    index: int
    shards: int
    products: list[DataProductContract] = field(default_factory=list)
    consumers: list[str] = field(default_factory=list)
    resources: int = 0

    @property
    def stack_id(self) -> str:
        """Construct id of the shard's stack, e.g. ``MeshProducts-sales-02`` (``_`` becomes ``-``)."""
        return f"MeshProducts-{self.domain.replace('_', '-')}-{self.index:02d}"

    @property
    def stack_suffix(self) -> str:
        """Stack-name suffix, e.g. ``mesh-products-sales-02`` (``_`` becomes ``-``)."""
        return f"mesh-products-{self.domain.replace('_', '-')}-{self.index:02d}"


def plan_shards(
    contracts: Iterable[DataProductContract],
    *,
    shards_per_domain: int = 4,
    domain_shards: Mapping[str, int] | None = None,
    max_resources: int = 450,
    sharing_mode: SharingMode | str = SharingMode.LF_TAGS,
    register_locations: bool = True,
    base_resources: int = 0,
) -> list[ShardPlan]:
    """Place every product (and, in LF-tag mode, every domain/consumer grant pair) in its shard.

    Args:
        contracts: reviewed contracts (unique ``domain/name``).
        shards_per_domain: shards of a domain without an override. Default: 4.
        domain_shards: per-domain shard counts. Default: none.
        max_resources: resource budget of one shard stack. Default: 450 (CloudFormation: 500).
        sharing_mode: Default: ``SharingMode.LF_TAGS``.
        register_locations: products register their S3 location. Default: True.
        base_resources: resources every shard stack holds besides the products. Default: 0.

    Returns:
        The non-empty shards, ordered by domain and index.

    Raises:
        ShardBudgetError: a shard exceeds ``max_resources``, or two contracts share a ``domain/name``.
    """
    mode = SharingMode(sharing_mode)
    overrides = dict(domain_shards or {})
    plans: dict[tuple[str, int], ShardPlan] = {}
    seen: set[str] = set()

    def shard_of(domain: str, identity: str) -> ShardPlan:
        shards = overrides.get(domain, shards_per_domain)
        index = shard_index(identity, shards)
        key = (domain, index)
        if key not in plans:
            plans[key] = ShardPlan(domain, index, shards, resources=base_resources)
        return plans[key]

    consumers_by_domain: dict[str, set[str]] = {}
    for contract in contracts:
        identity = product_identity(contract)
        if identity in seen:
            raise ShardBudgetError(f"data product {identity} is defined twice; product names must be unique per domain")
        seen.add(identity)
        plan = shard_of(contract.domain, identity)
        plan.products.append(contract)
        plan.resources += DataProduct.resource_count(contract, mode, register_location=register_locations)
        consumers_by_domain.setdefault(contract.domain, set()).update(contract.consumers)
    if mode is SharingMode.LF_TAGS:
        for domain, accounts in consumers_by_domain.items():
            for account in accounts:
                plan = shard_of(domain, consumer_identity(domain, account))
                plan.consumers.append(account)
                plan.resources += CONSUMER_GRANT_RESOURCES
    ordered = [plans[key] for key in sorted(plans)]
    for plan in ordered:
        plan.products.sort(key=lambda c: c.name)
        plan.consumers.sort()
    over = [plan for plan in ordered if plan.resources > max_resources]
    if over:
        lines = [
            f"  {plan.stack_suffix}: {plan.resources} resources ({len(plan.products)} products"
            f"{f', {len(plan.consumers)} consumer grants' if plan.consumers else ''})"
            for plan in over
        ]
        domains = sorted({plan.domain for plan in over})
        suggestion = ", ".join(f"'{d}': {overrides.get(d, shards_per_domain) * 2}" for d in domains)
        raise ShardBudgetError(
            f"{len(over)} data-product stack(s) exceed the budget of {max_resources} resources per stack:\n"
            + "\n".join(lines)
            + f"\nRaise the shard count of {', '.join(domains)} (meshworks.mesh.domain_shards = {{{suggestion}}}, "
            "or mesh.shards_per_domain for every domain). A new shard count re-places that domain's products: "
            "change it before the domain's first deployment, or plan the move (see DataProductCatalog)."
        )
    return ordered


class DataProductCatalog(Construct):
    """The data products of one stack (a shard of :func:`plan_shards`, or a whole small mesh).

    Creates a :class:`~meshworks.constructs.mesh.data_product.DataProduct` per contract and, in
    LF-tag mode, the domain grants of each consumer account in ``consumers``: SELECT+DESCRIBE (with
    grant option, so the consumer's admins can re-grant) on the tables tagged
    ``domain=<d> AND meshworks:consumer:<account>=true``, and DESCRIBE on databases tagged
    ``domain=<d>``. Construct ids are ``<domain>-<name>`` and ``Consumer-<domain>-<account>``, so a
    product's logical ids do not depend on the other products either.

    Example::

        DataProductCatalog(stack, "Products", contracts=contracts, catalog_id=hub_account,
                           data_access_role_arn=role_arn)   # consumers default to the contracts'

    Args:
        plan: a shard from :func:`plan_shards` (gives ``contracts`` and ``consumers``). Default: none.
        contracts: the products, when no plan is given.
        consumers: LF-tag mode: ``(domain, account)`` pairs to grant. Default: every pair the
            ``contracts`` need (with a plan: the plan's).
        catalog_id: the hub account.
        data_access_role_arn: registers locations with this role; ``None`` skips registration.
        sharing_mode: Default: ``SharingMode.LF_TAGS``.
        max_resources: refuse to build more than this many resources. Default: 500.
        removal_policy: of the tables. Default: RETAIN.
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
        consumers: Sequence[tuple[str, str]] | None = None,
        sharing_mode: SharingMode | str = SharingMode.LF_TAGS,
        max_resources: int = 500,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.sharing_mode = SharingMode(sharing_mode)
        if plan is not None:
            contracts = plan.products
            consumers = [(plan.domain, account) for account in plan.consumers]
        elif consumers is None:
            consumers = sorted({(c.domain, a) for c in contracts for a in c.consumers})
        if self.sharing_mode is SharingMode.NAMED_RESOURCES:
            consumers = []
        expected = sum(
            DataProduct.resource_count(c, self.sharing_mode, register_location=data_access_role_arn is not None)
            for c in contracts
        ) + CONSUMER_GRANT_RESOURCES * len(consumers)
        if expected > max_resources:
            raise ShardBudgetError(
                f"{self.node.path}: {len(contracts)} products need {expected} resources, more than {max_resources}; "
                "spread them over several stacks with plan_shards()"
            )
        self.catalog_id = catalog_id
        self.products: dict[str, DataProduct] = {}
        for contract in contracts:
            self.products[contract.qualified_name] = DataProduct(
                self,
                f"{contract.domain}-{contract.name}",
                contract=contract,
                catalog_id=catalog_id,
                data_access_role_arn=data_access_role_arn,
                sharing_mode=self.sharing_mode,
                removal_policy=removal_policy,
            )
        self.consumer_grants: dict[tuple[str, str], list[lakeformation.CfnPrincipalPermissions]] = {}
        for domain, account in consumers:
            self.consumer_grants[(domain, account)] = self._grant_domain(domain, account)
        #: Resources this catalog created (what the budget counted).
        self.resource_count = expected

    def _grant_domain(self, domain: str, account: str) -> list[lakeformation.CfnPrincipalPermissions]:
        scope = Construct(self, f"Consumer-{domain}-{account}")
        principal = lakeformation.CfnPrincipalPermissions.DataLakePrincipalProperty(
            data_lake_principal_identifier=account
        )
        tag = lakeformation.CfnPrincipalPermissions.LFTagProperty
        tables = lakeformation.CfnPrincipalPermissions(
            scope,
            "Tables",
            principal=principal,
            resource=lakeformation.CfnPrincipalPermissions.ResourceProperty(
                lf_tag_policy=lakeformation.CfnPrincipalPermissions.LFTagPolicyResourceProperty(
                    catalog_id=self.catalog_id,
                    resource_type="TABLE",
                    expression=[
                        tag(tag_key=DOMAIN_TAG_KEY, tag_values=[domain]),
                        tag(tag_key=consumer_tag_key(account), tag_values=[CONSUMER_TAG_VALUE]),
                    ],
                )
            ),
            permissions=list(CONSUMER_TABLE_PERMISSIONS),
            permissions_with_grant_option=list(CONSUMER_TABLE_PERMISSIONS),
        )
        database = lakeformation.CfnPrincipalPermissions(
            scope,
            "Database",
            principal=principal,
            resource=lakeformation.CfnPrincipalPermissions.ResourceProperty(
                lf_tag_policy=lakeformation.CfnPrincipalPermissions.LFTagPolicyResourceProperty(
                    catalog_id=self.catalog_id,
                    resource_type="DATABASE",
                    expression=[tag(tag_key=DOMAIN_TAG_KEY, tag_values=[domain])],
                )
            ),
            permissions=["DESCRIBE"],
            permissions_with_grant_option=["DESCRIBE"],
        )
        return [tables, database]


def describe_plans(plans: Sequence[ShardPlan], fmt: Callable[[ShardPlan], str] | None = None) -> str:
    """One line per shard (``stack: resources, products``), for logs and benchmarks."""
    fmt = fmt or (lambda p: f"{p.stack_suffix}: {p.resources} resources, {len(p.products)} products")
    return "\n".join(fmt(plan) for plan in plans)
