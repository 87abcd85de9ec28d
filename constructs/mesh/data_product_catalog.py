"""``DataProductCatalog``: the data products of one stack, and the shard lock that spreads thousands over many.

CloudFormation allows 500 resources and 1 MB per template, and a data product costs several
resources, so a mesh of 2,000+ products needs many stacks. A product must **never move** to another
stack when other products are added, removed or renamed, nor when its domain outgrows its stacks:
the move would delete its table and grants in one stack and create them in another (the retained
table even blocks the re-creation), cutting consumers off. Hence the **shard lock**
(:class:`ShardLock`, the file ``shards.lock.json`` next to the contracts, written by
``meshworks shards`` and reviewed in pull requests like a package lock):

- it records the shard of every product (``domain -> name -> shard``) and, in LF-tag mode, of every
  consumer account's tag key and grants (``account -> shard``); a recorded entry never changes;
- a new product goes to its *preferred* shard, ``sha256("<domain>/<name>") mod spread`` (``spread``:
  ``mesh.shards_per_domain``, 4 by default — exactly where releases before the lock placed it, so a
  deployed mesh adopts the lock without moving anything), if that shard stays within the budgets;
  otherwise to the lowest-numbered shard of its domain with room; otherwise to a new shard. A domain
  therefore grows by *adding* stacks, never by re-placing products;
- a removed product's entry goes with it, freeing its room for later products;
- the synth refuses a product the lock does not record (one message naming the products and the
  command), so what is deployed is always what was reviewed.

Every shard is checked at synth against a resource budget (450: CloudFormation allows 500) and a
template-size budget (900 kB: CloudFormation allows 1 MB), estimated from the contracts in Python
(:func:`estimate_product_bytes`), an upper bound of the written template.

Example::

    from aws_cdk import App, Environment, Stack

    from meshworks.constructs.mesh import DataProductCatalog, ShardLock, load_contracts, plan_shards

    app = App()
    hub = Environment(account="111111111111", region="eu-west-1")
    contracts = load_contracts(["contracts/"])
    lock = ShardLock.load("contracts/shards.lock.json")   # None when missing
    lock = ShardLock.place(contracts, lock)                 # what `meshworks shards` writes
    plans = plan_shards(contracts, lock=lock)
    for plan in plans:   # consumer shards first: product shards use their LF-tag keys
        stack = Stack(app, plan.stack_id, env=hub)
        DataProductCatalog(stack, "Products", plan=plan, catalog_id=hub.account,
                           data_access_role_arn="arn:aws:iam::111111111111:role/acme-mesh-data-access",
                           allowed_consumer_accounts=["333333333333"])
    app.synth()
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_lakeformation as lakeformation
from constructs import Construct, IValidation

from meshworks.constructs.core.inputs import account_ids, role_arns, string_list_mapping
from meshworks.constructs.core.removal import resolve_removal_policy
from meshworks.constructs.core.rendered_resources import RenderedResourcesSynthesizer, is_literal, js_truthy
from meshworks.constructs.mesh.catalog_template import DOMAIN_TAG_KEY, CatalogTemplate
from meshworks.constructs.mesh.contract import DataProductContract
from meshworks.constructs.mesh.data_product import (
    CONSUMER_TABLE_PERMISSIONS,
    CONSUMER_TAG_VALUE,
    RETAIN_LEGACY_TAG_ASSOCIATION,
    DataProduct,
    SharingMode,
    consumer_tag_key,
    product_lf_tags,
    stack_partition,
)
from meshworks.constructs.mesh.table_format import open_table_format_input, table_input
from meshworks.constructs.mesh.trust import require_allowed_consumers

__all__ = [
    "CONSUMER_RESOURCES",
    "consumer_resources",
    "DataProductCatalog",
    "ShardBudgetError",
    "ShardLock",
    "ShardLockError",
    "ShardPlan",
    "estimate_consumer_bytes",
    "estimate_product_bytes",
    "plan_shards",
    "shard_index",
]

#: LF-tag mode: resources per consumer account besides its database grants: its tag key and its table grant.
CONSUMER_RESOURCES = 2


def consumer_resources(domains: Sequence[str]) -> int:
    """Resources of one consumer account (LF-tag mode): tag key, table grant, one DESCRIBE grant per domain.

    One database grant per domain (not one listing them all): ``Resource`` is create-only, so a grant
    listing the domains would be replaced (revoked, then granted) whenever the consumer reaches a new domain.
    """
    return CONSUMER_RESOURCES + len(domains)
#: Shard group of the consumer accounts' LF-tag keys and grants.
CONSUMERS_GROUP = "consumers"
#: Most values one LF-tag expression condition takes.
MAX_EXPRESSION_VALUES = 50
#: Resources CloudFormation allows in one stack.
CLOUDFORMATION_MAX_RESOURCES = 500
#: Default budgets of one shard stack (CloudFormation: 500 resources, 1 MB template body).
MAX_RESOURCES = 450
MAX_TEMPLATE_BYTES = 900_000
#: Shards a group's products are first spread over by hash (the placement before the lock).
DEFAULT_SPREAD = 4
DEFAULT_CONSUMER_SPREAD = 2
#: Template bytes outside the products: Description, Parameters and Rules (bootstrap version), and
#: the CDKMetadata resource `cdk synth` adds (about 350 bytes written).
TEMPLATE_BASE_BYTES = 4_000
#: aws-cdk-lib's context key that makes every resource carry ``aws:cdk:path`` metadata (``cdk synth`` sets it).
PATH_METADATA_CONTEXT = "aws:cdk:enable-path-metadata"
#: The template's ``DeletionPolicy`` of each removal policy (aws-cdk-lib ``CfnResource.applyRemovalPolicy``).
DELETION_POLICIES = {RemovalPolicy.RETAIN: "Retain", RemovalPolicy.DESTROY: "Delete"}
#: Longest data-access role ARN the size estimate allows for (longer ones, or tokens, are resolved).
ROLE_ARN_ALLOWANCE = 512
LOCK_VERSION = 1


class ShardBudgetError(ValueError):
    """A shard would exceed its resource budget; the message says which one and how to fix it."""


class ShardLockError(ValueError):
    """The shard lock is missing, unreadable, or does not record a product; the message says the fix."""


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


def stack_id_of(group: str, index: int) -> str:
    """Construct id of a shard's stack: ``MeshProducts-sales-02`` or ``MeshConsumers-01``."""
    if group == CONSUMERS_GROUP:
        return f"MeshConsumers-{index:02d}"
    return f"MeshProducts-{group.replace('_', '-')}-{index:02d}"


# ---- size estimate from the plan's own data -----------------------------------------------------------


def _layout_bytes(value: Any, depth: int) -> int:
    """Newlines and indentation ``json.dumps(value, indent=1)`` adds to the compact text, ``depth`` deep."""
    if not isinstance(value, (dict, list, tuple)) or not value:
        return 0
    inner = depth + 1
    items = value.values() if isinstance(value, dict) else value
    return (
        len(value) * (inner + 1)
        + inner
        + sum(_layout_bytes(v, inner) for v in items if isinstance(v, (dict, list, tuple)))
    )


def _json_bytes(value: Any, depth: int) -> int:
    """``len(json.dumps(value, indent=1))`` as written ``depth`` levels deep (CDK writes templates so):
    the compact text from the C encoder plus the layout (the indenting encoder is pure Python, 20 times slower).

    ``ensure_ascii`` escapes (6 bytes a character) are never shorter than the UTF-8 CDK writes.
    """
    return len(json.dumps(value, separators=(",", ": "))) + _layout_bytes(value, depth)


def _resource_bytes(path: str, resource: dict[str, Any]) -> int:
    """One resource: its JSON at the template's depth, plus its logical id (path + 8-character hash),
    ``aws:cdk:path`` metadata and a margin for what CDK adds (``DependsOn`` ids, policies)."""
    return _json_bytes(resource, 2) + 4 * len(path) + 400


def _catalog_path(stack_id: str) -> str:
    return f"{stack_id}/Products/"


def estimate_product_bytes(
    contract: DataProductContract,
    sharing_mode: SharingMode | str = SharingMode.LF_TAGS,
    *,
    register_location: bool = True,
    stack_id: str = "",
    catalog_id: str = "123456789012",
    location_access_grants: int = 0,
) -> int:
    """Upper bound of the bytes a product adds to its written template, from the contract alone.

    Mirrors what :class:`~meshworks.constructs.mesh.data_product.DataProduct` creates (location
    registration, table from :func:`~meshworks.constructs.mesh.table_format.table_input`, tag
    association or named grants), serialized as CDK writes it, plus logical ids and path metadata;
    the data-access role ARN is counted at :data:`ROLE_ARN_ALLOWANCE` characters.
    ``tests/mesh/test_mesh_sharding.py`` checks it is never below the written template. Pure Python
    (no jsii round trip): about 50 µs a product.

    Args:
        stack_id: the shard stack's construct id (its length enters the logical ids and paths).
        location_access_grants: ``DATA_LOCATION_ACCESS`` grants on the registered location. Default: 0.
    """
    mode = SharingMode(sharing_mode)
    path = f"{_catalog_path(stack_id or stack_id_of(contract.domain, 99))}{contract.domain}-{contract.name}/"
    db = contract.database_name
    table_ref = {"CatalogId": catalog_id, "DatabaseName": db, "Name": contract.table_name}
    total = 0
    if register_location:
        total += _resource_bytes(
            path,
            {
                "Properties": {
                    "HybridAccessEnabled": False,
                    "ResourceArn": contract.location,
                    "RoleArn": "r" * ROLE_ARN_ALLOWANCE,
                    "UseServiceLinkedRole": False,
                }
            },
        )
        location_grant = {
            "Principal": {"DataLakePrincipalIdentifier": "r" * ROLE_ARN_ALLOWANCE},
            "Resource": {"DataLocation": {"CatalogId": catalog_id, "ResourceArn": contract.location}},
            "Permissions": ["DATA_LOCATION_ACCESS"],
            "PermissionsWithGrantOption": [],
        }
        total += location_access_grants * _resource_bytes(path, {"Properties": location_grant})
    table: dict[str, Any] = {"CatalogId": catalog_id, "DatabaseName": db, "Name": contract.table_name}
    spec = table_input(contract)
    if spec is not None:
        table["TableInput"] = spec
    open_format = open_table_format_input(contract)
    if open_format is not None:  # nested types are JSON text inside it: count the escaping twice over
        table["OpenTableFormatInput"] = open_format
        total += _json_bytes(open_format, 2)
    total += _resource_bytes(path, {"Properties": table, "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
    if mode is SharingMode.NAMED_RESOURCES:
        grant = {
            "Principal": {"DataLakePrincipalIdentifier": "123456789012"},
            "Resource": {"Table": table_ref},
            "Permissions": list(CONSUMER_TABLE_PERMISSIONS),
            "PermissionsWithGrantOption": list(CONSUMER_TABLE_PERMISSIONS),
        }
        total += len(contract.consumers) * _resource_bytes(path, {"Properties": grant})
    else:
        # One association per LF-tag key (DataProduct), each a resource of its own.
        tags = product_lf_tags(contract)
        for key, value in sorted(tags.items()):
            association = {
                "LFTags": [{"CatalogId": catalog_id, "TagKey": key, "TagValues": [value]}],
                "Resource": {"Table": table_ref},
            }
            total += _resource_bytes(f"{path}LfTag-{key}/", {"Properties": association})
    return total * 11 // 10


def estimate_consumer_bytes(account: str, domains: Sequence[str], *, stack_id: str = "MeshConsumers-99") -> int:
    """Upper bound of the bytes a consumer account's tag key, table grant and per-domain database grants add."""
    path = f"{_catalog_path(stack_id)}Consumer-{account}/Databases-{'x' * 64}/"
    condition = {"TagKey": consumer_tag_key(account), "TagValues": [CONSUMER_TAG_VALUE]}

    def grant(values: Sequence[str]) -> dict[str, Any]:
        return {
            "Principal": {"DataLakePrincipalIdentifier": account},
            "Resource": {
                "LFTagPolicy": {
                    "CatalogId": "123456789012",
                    "ResourceType": "DATABASE",
                    "Expression": [{"TagKey": DOMAIN_TAG_KEY, "TagValues": list(values)}],
                }
            },
            "Permissions": list(CONSUMER_TABLE_PERMISSIONS),
            "PermissionsWithGrantOption": list(CONSUMER_TABLE_PERMISSIONS),
        }

    tag = {"CatalogId": "123456789012", **condition}
    total = _resource_bytes(path, {"Properties": tag}) + _resource_bytes(path, {"Properties": grant(["x" * 64])})
    total += sum(_resource_bytes(path, {"Properties": grant([domain])}) for domain in domains)
    return total * 11 // 10


# ---- the shard lock ------------------------------------------------------------------------------------


def _domains_of_consumers(contracts: Iterable[DataProductContract]) -> dict[str, list[str]]:
    domains: dict[str, set[str]] = {}
    for contract in contracts:
        for account in contract.consumers:
            domains.setdefault(account, set()).add(contract.domain)
    return {account: sorted(d) for account, d in sorted(domains.items())}


def _unique(contracts: Iterable[DataProductContract]) -> list[DataProductContract]:
    seen: set[str] = set()
    result = []
    for contract in contracts:
        identity = product_identity(contract)
        if identity in seen:
            raise ShardBudgetError(f"data product {identity} is defined twice; product names must be unique per domain")
        seen.add(identity)
        result.append(contract)
    return result


def _check_index(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 999:
        raise ShardLockError(f"{where} = {value!r}: a shard number from 0 to 999 is expected")
    return value


@dataclass
class ShardLock:
    """Which shard holds each data product and consumer account: the content of ``shards.lock.json``.

    Attributes:
        products: domain -> product name -> shard number (stack ``MeshProducts-<domain>-<nn>``).
        consumers: LF-tag mode: consumer account -> shard number (stack ``MeshConsumers-<nn>``).

    The file is JSON with one entry a line, sorted, so a pull request shows exactly the products it
    places; ``meshworks shards`` writes it (:meth:`place`), the synth reads it (:func:`plan_shards`).
    """

    products: dict[str, dict[str, int]] = field(default_factory=dict)
    consumers: dict[str, int] = field(default_factory=dict)

    FILE_NAME = "shards.lock.json"

    @classmethod
    def loads(cls, text: str, source: str = FILE_NAME) -> ShardLock:
        """Parse a lock file's text. Raises ``ShardLockError`` naming ``source`` and the bad key."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ShardLockError(
                f"{source}: not valid JSON ({error.msg}, line {error.lineno}); restore it from version control "
                "(a merge conflict? keep both sides' entries) and run `meshworks shards`"
            ) from None
        if not isinstance(data, dict) or data.get("version") != LOCK_VERSION:
            found = data.get("version") if isinstance(data, dict) else type(data).__name__
            raise ShardLockError(
                f"{source}: version = {found!r}: this meshworks reads shard-lock version {LOCK_VERSION}"
            )
        products = data.get("products", {})
        consumers = data.get("consumers", {})
        if not isinstance(products, dict) or not all(isinstance(v, dict) for v in products.values()):
            raise ShardLockError(f"{source}: products must map each domain to {{product name: shard number}}")
        if not isinstance(consumers, dict):
            raise ShardLockError(f"{source}: consumers must map each account to a shard number")
        return cls(
            products={
                domain: {name: _check_index(i, f"{source}: products.{domain}.{name}") for name, i in names.items()}
                for domain, names in products.items()
            },
            consumers={account: _check_index(i, f"{source}: consumers.{account}") for account, i in consumers.items()},
        )

    @classmethod
    def load(cls, path: str | Path) -> ShardLock | None:
        """The lock stored at ``path``, or ``None`` when there is no such file."""
        path = Path(path)
        if not path.is_file():
            return None
        return cls.loads(path.read_text(encoding="utf-8"), str(path))

    def dumps(self) -> str:
        """The lock as file text: sorted, one entry a line, newline-terminated."""
        data = {
            "//": "meshworks shard lock: the stack of every data product and consumer account, written by "
            "`meshworks shards` and reviewed with the contracts. Never change an entry by hand: a changed "
            "entry moves a product (its table and grants are deleted and re-created).",
            "version": LOCK_VERSION,
            "products": {d: dict(sorted(n.items())) for d, n in sorted(self.products.items()) if n},
            "consumers": dict(sorted(self.consumers.items())),
        }
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"

    def product_shard(self, contract: DataProductContract) -> int | None:
        """The recorded shard of a product, or ``None``."""
        return self.products.get(contract.domain, {}).get(contract.name)

    def unrecorded(
        self, contracts: Iterable[DataProductContract], sharing_mode: SharingMode | str = SharingMode.LF_TAGS
    ) -> list[str]:
        """Products (``domain/name``) and, in LF-tag mode, consumer accounts the lock does not place."""
        contracts = list(contracts)
        missing = [product_identity(c) for c in contracts if self.product_shard(c) is None]
        if SharingMode(sharing_mode) is SharingMode.LF_TAGS:
            missing += [f"consumer {a}" for a in _domains_of_consumers(contracts) if a not in self.consumers]
        return sorted(missing)

    @classmethod
    def place(
        cls,
        contracts: Iterable[DataProductContract],
        lock: ShardLock | None = None,
        *,
        sharing_mode: SharingMode | str = SharingMode.LF_TAGS,
        register_locations: bool = True,
        max_resources: int = MAX_RESOURCES,
        max_template_bytes: int = MAX_TEMPLATE_BYTES,
        shards_per_domain: int = DEFAULT_SPREAD,
        domain_shards: Mapping[str, int] | None = None,
        consumer_shards: int = DEFAULT_CONSUMER_SPREAD,
        location_access_grants: int = 0,
    ) -> ShardLock:
        """A lock recording every product of ``contracts``: ``lock``'s entries kept, new ones placed.

        A new product goes to ``shard_index("<domain>/<name>", spread)`` (``spread``:
        ``domain_shards[domain]`` or ``shards_per_domain``) when that shard stays within
        ``max_resources`` and ``max_template_bytes``, else to the lowest-numbered shard of its domain
        with room, else to a new shard; consumer accounts the same way (``consumer_shards``). New
        entries are placed in ``domain/name`` order, so the result depends only on the inputs.
        Entries of products (and accounts) no longer in ``contracts`` are dropped.

        Raises:
            ShardBudgetError: two contracts share a ``domain/name``.
        """
        mode = SharingMode(sharing_mode)
        contracts = sorted(_unique(contracts), key=product_identity)
        old = lock or cls()
        new = cls()
        spreads = dict(domain_shards or {})
        loads: dict[tuple[str, int], list[int]] = {}

        def fits(key: tuple[str, int], cost: tuple[int, int]) -> bool:
            used = loads.get(key)
            return used is None or (used[0] + cost[0] <= max_resources and used[1] + cost[1] <= max_template_bytes)

        def record(key: tuple[str, int], cost: tuple[int, int]) -> int:
            used = loads.setdefault(key, [0, TEMPLATE_BASE_BYTES])
            used[0] += cost[0]
            used[1] += cost[1]
            return key[1]

        def choose(group: str, preferred: int, cost: tuple[int, int]) -> int:
            if fits((group, preferred), cost):
                return record((group, preferred), cost)
            index = 0
            while not fits((group, index), cost):
                index += 1
            return record((group, index), cost)

        pending = []
        for contract in contracts:
            cost = (
                DataProduct.resource_count(
                    contract, mode, register_location=register_locations, location_access_grants=location_access_grants
                ),
                estimate_product_bytes(
                    contract, mode, register_location=register_locations, location_access_grants=location_access_grants
                ),
            )
            index = old.product_shard(contract)
            if index is None:
                pending.append((contract, cost))
            else:
                new.products.setdefault(contract.domain, {})[contract.name] = record((contract.domain, index), cost)
        for contract, cost in pending:
            spread = spreads.get(contract.domain, shards_per_domain)
            index = choose(contract.domain, shard_index(product_identity(contract), spread), cost)
            new.products.setdefault(contract.domain, {})[contract.name] = index
        if mode is SharingMode.LF_TAGS:
            accounts = _domains_of_consumers(contracts)
            fresh = []
            for account, domains in accounts.items():
                cost = (consumer_resources(domains), estimate_consumer_bytes(account, domains))
                if account in old.consumers:
                    new.consumers[account] = record((CONSUMERS_GROUP, old.consumers[account]), cost)
                else:
                    fresh.append((account, cost))
            for account, cost in fresh:
                preferred = shard_index(consumer_identity(account), consumer_shards)
                new.consumers[account] = choose(CONSUMERS_GROUP, preferred, cost)
        return new


# ---- the plan of one synth -----------------------------------------------------------------------------


@dataclass
class ShardPlan:
    """What one data-product stack holds.

    Attributes:
        group: the domain of a product shard, or ``"consumers"`` for a consumer shard.
        index: the shard number (from the shard lock).
        products: the contracts placed here (sorted by name).
        consumers: LF-tag mode, consumer shards: account -> domains it consumes from (sorted).
        resources: CloudFormation resources the shard will hold.
        template_bytes: upper bound of its written template (:func:`estimate_product_bytes`).
    """

    group: str
    index: int
    products: list[DataProductContract] = field(default_factory=list)
    consumers: dict[str, list[str]] = field(default_factory=dict)
    resources: int = 0
    template_bytes: int = TEMPLATE_BASE_BYTES

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
        return stack_id_of(self.group, self.index)

    @property
    def stack_suffix(self) -> str:
        """Stack-name suffix: ``mesh-products-sales-02`` (``_`` becomes ``-``) or ``mesh-consumers-01``."""
        if self.is_consumer_shard:
            return f"mesh-consumers-{self.index:02d}"
        return f"mesh-products-{self.group.replace('_', '-')}-{self.index:02d}"


def plan_shards(
    contracts: Iterable[DataProductContract],
    *,
    lock: ShardLock | None = None,
    shards_per_domain: int = DEFAULT_SPREAD,
    domain_shards: Mapping[str, int] | None = None,
    consumer_shards: int = DEFAULT_CONSUMER_SPREAD,
    max_resources: int = MAX_RESOURCES,
    max_template_bytes: int = MAX_TEMPLATE_BYTES,
    sharing_mode: SharingMode | str = SharingMode.LF_TAGS,
    register_locations: bool = True,
    location_access_grants: int = 0,
) -> list[ShardPlan]:
    """Every product (and, in LF-tag mode, every consumer account) in the shard ``lock`` records.

    Args:
        contracts: reviewed contracts (unique ``domain/name``).
        lock: where each product goes. Default: a new lock from :meth:`ShardLock.place` (fine for a
            mesh built once, e.g. a test; a deployed mesh needs its recorded lock).
        shards_per_domain, domain_shards, consumer_shards: preferred spread of new entries when no
            lock is given (see :meth:`ShardLock.place`). Default: 4, none, 2.
        max_resources: resource budget of one shard stack. Default: 450 (CloudFormation: 500).
        max_template_bytes: template budget of one shard stack. Default: 900,000 (CloudFormation: 1 MB).
        sharing_mode: Default: ``SharingMode.LF_TAGS``.
        register_locations: products register their S3 location. Default: True.
        location_access_grants: ``DATA_LOCATION_ACCESS`` grants per registered location (the hub's
            notifier: 1). Default: 0.

    Returns:
        The non-empty shards: consumer shards first, then product shards by domain and index.

    Raises:
        ShardLockError: ``lock`` does not record a product or consumer account.
        ShardBudgetError: a shard exceeds a budget, or two contracts share a ``domain/name``.
    """
    mode = SharingMode(sharing_mode)
    contracts = _unique(contracts)
    if lock is None:
        lock = ShardLock.place(
            contracts,
            sharing_mode=mode,
            register_locations=register_locations,
            max_resources=max_resources,
            max_template_bytes=max_template_bytes,
            shards_per_domain=shards_per_domain,
            domain_shards=domain_shards,
            consumer_shards=consumer_shards,
        )
    missing = lock.unrecorded(contracts, mode)
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise ShardLockError(
            f"the shard lock does not place {len(missing)} new entr{'y' if len(missing) == 1 else 'ies'}: {shown}. "
            "Run `meshworks shards` to record where they go (recorded entries never change) and commit the lock "
            "with the contracts."
        )
    plans: dict[tuple[str, int], ShardPlan] = {}

    def shard(group: str, index: int) -> ShardPlan:
        if (group, index) not in plans:
            plans[(group, index)] = ShardPlan(group, index)
        return plans[(group, index)]

    for contract in contracts:
        plan = shard(contract.domain, lock.products[contract.domain][contract.name])
        plan.products.append(contract)
        plan.resources += DataProduct.resource_count(
            contract, mode, register_location=register_locations, location_access_grants=location_access_grants
        )
        plan.template_bytes += estimate_product_bytes(
            contract,
            mode,
            register_location=register_locations,
            stack_id=plan.stack_id,
            location_access_grants=location_access_grants,
        )
    if mode is SharingMode.LF_TAGS:
        for account, domains in _domains_of_consumers(contracts).items():
            plan = shard(CONSUMERS_GROUP, lock.consumers[account])
            plan.consumers[account] = domains
            plan.resources += consumer_resources(domains)
            plan.template_bytes += estimate_consumer_bytes(account, domains, stack_id=plan.stack_id)
    ordered = sorted(plans.values(), key=lambda p: (not p.is_consumer_shard, p.group, p.index))
    for plan in ordered:
        plan.products.sort(key=lambda c: c.name)
    over = [p for p in ordered if p.resources > max_resources or p.template_bytes > max_template_bytes]
    if over:
        lines = [
            f"  {plan.stack_suffix}: {plan.resources} resources, template up to {plan.template_bytes:,} bytes "
            + (
                f"({len(plan.consumers)} consumer accounts)"
                if plan.is_consumer_shard
                else f"({len(plan.products)} products)"
            )
            for plan in over
        ]
        raise ShardBudgetError(
            f"{len(over)} data-product stack(s) exceed the budget of {max_resources} resources or "
            f"{max_template_bytes:,} template bytes per stack:\n"
            + "\n".join(lines)
            + "\nThe shard lock records these entries here, and they grew after they were placed (more consumers or "
            "columns), or two pull requests filled the same shard. Deployed products must stay where they are: "
            "delete the lock entries of products not deployed yet from these shards and run `meshworks shards` to "
            "place them again, or raise meshworks.mesh.max_resources_per_stack / max_template_bytes "
            "(CloudFormation allows 500 resources and 1 MB)."
        )
    return ordered


def _check_expression_values(account: str, domains: Sequence[str]) -> None:
    if not 1 <= len(domains) <= MAX_EXPRESSION_VALUES:
        raise ValueError(
            f"consumer {account} consumes from {len(domains)} domains; an LF-tag expression takes 1 to "
            f"{MAX_EXPRESSION_VALUES} values"
        )


@jsii.implements(IValidation)
class _RenderedDependencyCheck:
    """Synth-time check of a rendered catalog: nothing was ordered before it with ``node.add_dependency``.

    The CDK turns a construct's dependencies into ``DependsOn`` (or a stack dependency) on the CloudFormation
    resources below it, and a rendered catalog has none: the dependency would be dropped without a word.
    """

    def __init__(self, catalog: DataProductCatalog) -> None:
        self._catalog = catalog

    def validate(self) -> list[str]:
        stack = Stack.of(self._catalog)
        scopes = [s for s in self._catalog.node.scopes if s is not stack and stack in s.node.scopes]
        return [
            f"{self._catalog.node.path}: its resources are rendered (render_into), so the dependency of "
            f"{scope.node.path} on {target.node.path} (node.add_dependency) would not reach them; make the stack "
            "depend on it instead (stack.add_dependency), or build constructs (DataProductStack(render_resources=False), "
            "or no render_into)"
            for scope in scopes
            for target in scope.node.dependencies
        ]


class DataProductCatalog(Construct):
    """The data products of one stack (a shard of :func:`plan_shards`, or a whole small mesh).

    Creates a :class:`~meshworks.constructs.mesh.data_product.DataProduct` per contract and, in
    LF-tag mode, for each consumer account in ``consumers``: its LF-tag key
    ``meshworks:consumer:<account>`` (value ``true``), SELECT+DESCRIBE with grant option (so the
    consumer's admins can re-grant) on the tables carrying that tag, and DESCRIBE on the databases of
    the domains it consumes from (``domain`` in the list). Construct ids are ``<domain>-<name>`` and
    ``Consumer-<account>``: a product's logical ids never depend on the other products.

    Example::

        from aws_cdk import App, Environment, Stack

        from meshworks.constructs.mesh import DataProductCatalog, load_contracts

        app = App()
        stack = Stack(app, "Products", env=Environment(account="111111111111", region="eu-west-1"))
        DataProductCatalog(stack, "Products", contracts=load_contracts(["contracts/"]), catalog_id="111111111111",
                           data_access_role_arn="arn:aws:iam::111111111111:role/acme-mesh-data-access",
                           allowed_consumer_accounts=["333333333333"])   # consumers default to the contracts'
        app.synth()

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
        render_into: the synthesizer of this catalog's stack: the products and consumer grants are rendered
            in Python (:mod:`~meshworks.constructs.mesh.catalog_template`, byte-identical templates) and
            handed to it instead of being built as constructs: no jsii round trip per resource, so about 2x
            faster to build and synthesize a large shard. ``products``, ``consumer_tags`` and
            ``consumer_grants`` stay empty then (``rendered_resources`` holds the resources), Aspects do
            not visit them (see :mod:`~meshworks.constructs.core.rendered_resources`), and ``node.add_dependency``
            neither orders them (the synth refuses a dependency of the catalog or its scopes) nor orders anything
            after them (depend on the stack instead). Constructs are built
            anyway when an input is a token or ``removal_policy`` is SNAPSHOT or RETAIN_ON_UPDATE_OR_DELETE
            (``rendered`` is then False), as are the products of a stack that overrides ``_allocate_logical_id``. ``DataProductStack`` passes its own.
            Default: none (constructs).
    Raises:
        ValueError: a contract (or ``consumers``) names an account outside ``allowed_consumer_accounts``;
            ``render_into`` is not the synthesizer of the catalog's stack.
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
        render_into: RenderedResourcesSynthesizer | None = None,
    ) -> None:
        owner = "DataProductCatalog"
        allowed_consumer_accounts = account_ids(owner, "allowed_consumer_accounts", allowed_consumer_accounts)
        location_access_role_arns = role_arns(owner, "location_access_role_arns", location_access_role_arns)
        if consumers is not None:
            if isinstance(consumers, Mapping):
                account_ids(owner, "consumers", list(consumers))
            consumers = string_list_mapping(owner, "consumers", consumers, example="sales")
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
        ) + sum(consumer_resources(domains) for domains in consumers.values())
        if expected > max_resources:
            raise ShardBudgetError(
                f"{self.node.path}: {len(contracts)} products need {expected} resources, more than {max_resources}; "
                "spread them over several stacks with plan_shards()"
            )
        # The upgrade's first deploy keeps each product's old association beside the per-key ones: one more
        # resource a product, which the budgets (and the lock) do not plan for; CloudFormation still allows 500.
        if self.sharing_mode is SharingMode.LF_TAGS and contracts and self.node.try_get_context(
            RETAIN_LEGACY_TAG_ASSOCIATION
        ) in (True, "true"):
            expected += len(contracts)
            if expected > CLOUDFORMATION_MAX_RESOURCES:
                raise ShardBudgetError(
                    f"{self.node.path}: with {RETAIN_LEGACY_TAG_ASSOCIATION}=true each of its {len(contracts)} products "
                    f"also keeps its old tag association: {expected} resources, more than CloudFormation's "
                    f"{CLOUDFORMATION_MAX_RESOURCES} a stack. The upgrade's first deploy does not fit this shard: move "
                    "its products that are not deployed yet elsewhere (delete their shard-lock entries and run "
                    "`meshworks shards`), then deploy the first step again (docs/mesh.md, upgrading a deployed mesh)"
                )
        (catalog_id,) = account_ids("DataProductCatalog", "catalog_id", [catalog_id])
        self.catalog_id = catalog_id
        self.consumer_tags: dict[str, lakeformation.CfnTag] = {}
        self.consumer_grants: dict[str, list[lakeformation.CfnPrincipalPermissions]] = {}
        self.products: dict[str, DataProduct] = {}
        #: Resources this catalog created (what the budget counted).
        self.resource_count = expected
        #: Rendered mode (``render_into``): logical id -> CloudFormation resource, in template order.
        self.rendered_resources: dict[str, dict] = {}
        self.rendered = render_into is not None and self._renderable(
            render_into, contracts, consumers, data_access_role_arn, location_access_role_arns, removal_policy
        )
        if self.rendered:
            self._render(render_into, contracts, consumers, data_access_role_arn, location_access_role_arns, removal_policy)
            return
        for account, domains in consumers.items():
            self._add_consumer(account, domains)
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

    def _renderable(
        self,
        synthesizer: RenderedResourcesSynthesizer,
        contracts: Sequence[DataProductContract],
        consumers: Mapping[str, Sequence[str]],
        data_access_role_arn: str | None,
        location_access_role_arns: Sequence[str],
        removal_policy: RemovalPolicy | None,
    ) -> bool:
        """Rendering gives the constructs' template: literal inputs, the tables' removal policy RETAIN or DESTROY
        (the CDK checks SNAPSHOT against the resource type and writes RETAIN_ON_UPDATE_OR_DELETE as two
        policies), a stack that does not allocate logical ids itself, and no product ordered after a consumer tag
        of this catalog (the CDK orders two dependencies by ``localeCompare`` of their paths)."""
        stack = Stack.of(self)
        if stack.synthesizer is not synthesizer:
            raise ValueError(
                f"{self.node.path}: render_into must be the synthesizer of the catalog's stack "
                "(Stack(..., synthesizer=RenderedResourcesSynthesizer()))"
            )
        if not is_literal([self.catalog_id, data_access_role_arn, *location_access_role_arns, stack_partition(self)]):
            return False
        if removal_policy not in (None, RemovalPolicy.RETAIN, RemovalPolicy.DESTROY):
            return False
        if type(stack)._allocate_logical_id is not Stack._allocate_logical_id:  # noqa: SLF001 - the CDK's hook
            return False  # the stack allocates its own logical ids: only the CDK can ask it
        return not any(account in consumers for contract in contracts for account in contract.consumers)

    def _render(
        self,
        synthesizer: RenderedResourcesSynthesizer,
        contracts: Sequence[DataProductContract],
        consumers: Mapping[str, Sequence[str]],
        data_access_role_arn: str | None,
        location_access_role_arns: Sequence[str],
        removal_policy: RemovalPolicy | None,
    ) -> None:
        """Render every resource in Python (``CatalogTemplate``) and hand them to ``synthesizer``."""
        stack_path = Stack.of(self).node.path
        path = self.node.path
        components = path[len(stack_path) + 1 :].split("/") if stack_path else path.split("/")
        template = CatalogTemplate(
            catalog_components=components,
            catalog_path=path if js_truthy(self.node.try_get_context(PATH_METADATA_CONTEXT)) else None,
            catalog_id=self.catalog_id,
            data_access_role_arn=data_access_role_arn,
            sharing_mode=self.sharing_mode,
            location_access_role_arns=location_access_role_arns,
            deletion_policy=DELETION_POLICIES[resolve_removal_policy(self, removal_policy)],
            legacy_association=self.node.try_get_context(RETAIN_LEGACY_TAG_ASSOCIATION) in (True, "true"),
            partition=stack_partition(self),
        )
        for account, domains in consumers.items():
            _check_expression_values(account, domains)
            template.add_consumer(account, domains)
        for contract in contracts:
            template.add_product(contract, product_lf_tags(contract))
        self.rendered_resources = template.resources
        synthesizer.add_resources(template.resources)
        self.node.add_validation(_RenderedDependencyCheck(self))


    def _add_consumer(self, account: str, domains: Sequence[str]) -> None:
        _check_expression_values(account, domains)
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
        # One DESCRIBE grant per domain, its construct id from the domain alone: reaching a new domain adds a
        # grant and replaces none (``Resource`` is create-only).
        databases = [
            lakeformation.CfnPrincipalPermissions(
                scope,
                f"Databases-{domain}",
                principal=principal,
                resource=lakeformation.CfnPrincipalPermissions.ResourceProperty(
                    lf_tag_policy=lakeformation.CfnPrincipalPermissions.LFTagPolicyResourceProperty(
                        catalog_id=self.catalog_id,
                        resource_type="DATABASE",
                        expression=[condition(tag_key=DOMAIN_TAG_KEY, tag_values=[domain])],
                    )
                ),
                permissions=["DESCRIBE"],
                permissions_with_grant_option=["DESCRIBE"],
            )
            for domain in sorted(domains)
        ]
        self.consumer_tags[account] = tag
        self.consumer_grants[account] = [tables, *databases]
