"""``MeshHubStack``: the governance account's mesh hub, and ``build_mesh`` which builds every mesh stack.

Stacks of the mesh (all names deterministic, ``<prefix>-...``):

- ``mesh-hub`` (hub account): ``MeshHub`` (Lake Formation settings, data-access role, one database
  per domain, LF-tags, refresh bus, notifier, delivery table, topic) and the spoke's Service Catalog
  portfolio (``SpokeProduct``);
- ``mesh-consumers-<nn>`` (hub account, LF-tag mode): each consumer account's LF-tag key and grants;
- ``mesh-products-<domain>-<nn>`` (hub account): the data products, in the stacks the shard lock
  (``mesh.shard_lock_path``, written by ``meshworks shards``) records (``plan_shards``,
  ``DataProductStack``); each depends on the hub and consumer stacks;
- ``spoke-<consumer>`` (each configured consumer account): ``SpokeStack``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import App, Duration, Environment, Stack
from constructs import Construct

from meshworks.constructs.mesh.contract import Classification, DataProductContract
from meshworks.constructs.mesh.data_product_catalog import ShardBudgetError, ShardLock, ShardLockError, plan_shards
from meshworks.constructs.mesh.loader import ContractError, load_contracts
from meshworks.constructs.mesh.mesh_hub import MeshHub
from meshworks.constructs.mesh.spoke_product import SpokeProduct

from .config import ConfigError, MeshConfig, PlatformConfig
from .creation_stacks import skip_creation_stack_traces


class MeshHubStack(Stack):
    """Composes ``MeshHub`` from the contracts and the ``mesh`` configuration, plus the spoke product."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PlatformConfig,
        contracts: Sequence[DataProductContract],
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        skip_creation_stack_traces(self)
        mesh = config.mesh
        # Trust comes from the configuration only: the domain map gives the domains, their producer
        # accounts, the folders the data-access role reads and their keys; the contracts were reviewed
        # against it (read_contracts) and add nothing to it.
        self.hub = MeshHub(self, "Hub", name_prefix=config.prefix, lf_admin_role_arns=mesh.lf_admin_role_arns)
        for domain, producer in sorted(mesh.domains.items()):
            self.hub.add_domain(domain, producer_accounts=producer.producer_accounts)
            for location in producer.buckets:
                self.hub.add_producer_location(location)
            for key_arn in producer.kms_key_arns:
                self.hub.add_producer_key(key_arn)
        self.hub.add_lf_tag("classification", [c.value for c in Classification])
        self.hub.add_lf_tag("pii", ["true", "false"])
        tag_values: dict[str, set[str]] = {}
        for contract in contracts:
            for key, value in contract.tags.items():
                tag_values.setdefault(key, set()).add(value)
        for key, values in sorted(tag_values.items()):
            try:
                self.hub.add_lf_tag(key, sorted(values))
            except ValueError as error:
                raise ConfigError(
                    f"Invalid data-product contracts under {mesh.contracts_path}: tags.{key}: {error}"
                ) from None
        spoke_accounts = sorted(config.mesh_trust().consumer_accounts)  # the allowlist, never the contracts
        for account in spoke_accounts:
            self.hub.add_consumer_account(account)
        self.spoke_product: SpokeProduct | None = None
        if mesh.service_catalog:
            self.spoke_product = SpokeProduct(
                self,
                "SpokeProduct",
                hub_account_id=self.account,
                consumer_accounts=spoke_accounts,
                asset_bucket_name=f"{config.prefix}-{self.account}-{self.region}-sc-assets"[:63],
                schedule=Duration.minutes(mesh.share_acceptor_schedule_minutes),
                sharing_mode=mesh.sharing_mode,
            )


def read_contracts(config: PlatformConfig) -> list[DataProductContract]:
    """Load and review the contracts of ``mesh.contracts_path``, the products of the datasets
    (``ingestion.datasets_path``) and the offline feature store's (``feature_store.offline_product``) against the
    configuration's trust.

    Raises:
        ConfigError: listing every problem as ``file:line: field: message`` (a domain outside
            ``mesh.domains``, a location outside its folders, a consumer outside ``environments.consumers``...).
    """
    mesh = config.mesh
    path = Path(mesh.contracts_path)
    if not path.exists():
        raise ConfigError(
            f"Invalid meshworks configuration: meshworks.mesh.contracts_path = {mesh.contracts_path!r}: no such "
            f"file or folder (relative to {os.getcwd()}); point it at the data-product contracts"
        )
    from meshworks.constructs.ingestion.dataset_loader import relabel

    from .features_stack import offline_store_contracts
    from .ingestion_stack import dataset_contracts

    datasets = dataset_contracts(config)  # the datasets' curated tables are data products too
    extra = datasets + offline_store_contracts(config)  # and the feature store's offline store, when configured
    try:
        return load_contracts([path], trust=config.mesh_trust(), extra=extra)
    except ContractError as error:
        error = ContractError(relabel(error.problems, {item.path for item in datasets}))
        raise ConfigError(f"Invalid data-product contracts under {mesh.contracts_path}:\n{error}") from None


def read_shard_lock(mesh: MeshConfig) -> ShardLock | None:
    """The shard lock at ``mesh.shard_lock_file()``, or ``None`` when there is none yet."""
    try:
        return ShardLock.load(mesh.shard_lock_file())
    except ShardLockError as error:
        raise ConfigError(f"Invalid meshworks shard lock: {error}") from None


def place_shards(
    mesh: MeshConfig, contracts: Sequence[DataProductContract], lock: ShardLock | None = None
) -> ShardLock:
    """``lock`` with every product of ``contracts`` placed (what ``meshworks shards`` writes)."""
    try:
        return ShardLock.place(
            contracts,
            lock,
            sharing_mode=mesh.sharing_mode,
            register_locations=mesh.register_locations,
            max_resources=mesh.max_resources_per_stack,
            max_template_bytes=mesh.max_template_bytes,
            shards_per_domain=mesh.shards_per_domain,
            domain_shards=mesh.domain_shards,
            consumer_shards=mesh.consumer_shards,
            location_access_grants=1 if mesh.register_locations else 0,  # the notifier's DATA_LOCATION_ACCESS
        )
    except ShardBudgetError as error:
        raise ConfigError(f"Invalid data-product contracts under {mesh.contracts_path}: {error}") from None


def build_mesh(
    app: App,
    config: PlatformConfig,
    contracts: Sequence[DataProductContract] | None = None,
    lock: ShardLock | None = None,
) -> dict[str, Stack]:
    """Every mesh stack (hub, product shards, spokes) by construct id.

    Args:
        contracts: the data products. Default: read and reviewed from ``mesh.contracts_path``.
        lock: which shard holds each product. Default: read from ``mesh.shard_lock_file()``; a
            product it does not record is a ``ConfigError`` telling to run ``meshworks shards``.
    """
    from .data_product_stack import DataProductStack
    from .spoke_stack import SpokeStack

    mesh = config.mesh
    contracts = read_contracts(config) if contracts is None else list(contracts)
    hub_env = Environment(account=config.environments.hub.account, region=config.environments.hub.region)
    hub = MeshHubStack(
        app,
        "MeshHub",
        stack_name=config.stack_name("mesh-hub"),
        env=hub_env,
        config=config,
        contracts=contracts,
        description="meshworks data mesh hub: Lake Formation, domain databases, refresh events, spoke product",
    )
    stacks: dict[str, Stack] = {"MeshHub": hub}
    if lock is None:
        lock = read_shard_lock(mesh) or ShardLock()
        source = str(mesh.shard_lock_file())
    else:
        source = "the given shard lock"
    try:
        plans = plan_shards(
            contracts,
            lock=lock,
            max_resources=mesh.max_resources_per_stack,
            max_template_bytes=mesh.max_template_bytes,
            sharing_mode=mesh.sharing_mode,
            register_locations=mesh.register_locations,
            location_access_grants=1 if mesh.register_locations else 0,
        )
    except (ShardBudgetError, ShardLockError) as error:
        raise ConfigError(f"Invalid meshworks configuration (mesh sharding, {source}): {error}") from None
    consumer_stacks: list[Stack] = []
    for plan in plans:  # consumer shards come first: product shards tag tables with their LF-tag keys
        shard = DataProductStack(
            app,
            plan.stack_id,
            stack_name=config.stack_name(plan.stack_suffix),
            env=hub_env,
            plan=plan,
            catalog_id=config.environments.hub.account,
            data_access_role_arn=hub.hub.data_access_role_arn if mesh.register_locations else None,
            allowed_consumer_accounts=sorted(config.mesh_trust().consumer_accounts),
            # The notifier adds partitions in the registered locations: Lake Formation wants DATA_LOCATION_ACCESS.
            location_access_role_arns=[hub.hub.notifier_role_arn] if mesh.register_locations else [],
            sharing_mode=mesh.sharing_mode,
            max_resources=mesh.max_resources_per_stack,
            max_template_bytes=mesh.max_template_bytes,
            description=(
                f"meshworks consumer LF-tags and grants, shard {plan.index:02d}"
                if plan.is_consumer_shard
                else f"meshworks data products of {plan.domain}, shard {plan.index:02d}"
            ),
        )
        shard.add_stack_dependency(hub)
        for consumer_stack in consumer_stacks:
            shard.add_stack_dependency(consumer_stack)
        if plan.is_consumer_shard:
            consumer_stacks.append(shard)
        stacks[plan.stack_id] = shard
    for consumer in (c for c in config.environments.consumers if c.spoke):
        spoke_id = f"Spoke-{consumer.name}"
        stacks[spoke_id] = SpokeStack(
            app,
            spoke_id,
            stack_name=config.stack_name(f"spoke-{consumer.name}"),
            env=Environment(account=consumer.account, region=consumer.region),
            hub_account_id=config.environments.hub.account,
            local_principal_arns=consumer.principals,
            schedule=Duration.minutes(mesh.share_acceptor_schedule_minutes),
            sharing_mode=mesh.sharing_mode,
            description=f"meshworks spoke {consumer.name}: accepts the hub's shares",
        )
    return stacks
