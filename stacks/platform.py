"""Builds the reference platform's stacks from a ``PlatformConfig`` (used by ``app.py`` and the tests)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import App, Environment, Stack, Tags

from meshworks.constructs.core.nag import add_policy_checks as _add_policy_checks

from .config import ConfigError, PlatformConfig
from .deploy_roles_stack import DeployRolesStack
from .features_stack import FeaturesStack
from .foundation_stack import FoundationStack
from .ingestion_stack import IngestionStack
from .mesh_hub_stack import build_mesh, read_contracts
from .monitoring_stack import monitoring_stacks
from .orchestration_stack import OrchestrationStack
from .spark_routing_stack import RoutingBudgetError, SparkRoutingStack, plan_routing
from .spark_stack import SparkStack


@dataclass
class Platform:
    """The stacks of the reference app, by role."""

    foundation: FoundationStack
    extra: dict[str, Stack] = field(default_factory=dict)

    @property
    def stacks(self) -> list[Stack]:
        """Every stack, foundation first."""
        return [self.foundation, *self.extra.values()]


def add_policy_checks(app: App) -> None:
    """Run cdk-nag's AWS Solutions and NIST 800-53 rev 5 packs on every stack at synth.

    Kept for existing users; the public home is ``meshworks.constructs.core.nag.add_policy_checks``.
    """
    _add_policy_checks(app)


def _routing_shards(config: PlatformConfig) -> list:
    """The routing shards of the Spark jobs (``spark.routing_shards``); a budget error is a ``ConfigError``."""
    try:
        return plan_routing(config.spark.catalog, config.spark.routing_shards, prefix=config.prefix)
    except RoutingBudgetError as error:
        raise ConfigError(str(error)) from None


def spark_routing_stacks(
    app: App, config: PlatformConfig, env: Environment, spark: Stack, *, shards: list | None = None
) -> dict[str, Stack]:
    """The stacks of the Spark jobs' routing parameters (``spark.routing_shards``), deployed after Spark.

    ``shards``: the routing plan when already made (``build_platform`` plans before building anything, so that a
    configuration error costs no construct). Default: planned here.
    """
    shards = _routing_shards(config) if shards is None else shards
    stacks: dict[str, Stack] = {}
    for shard in shards:
        stack = SparkRoutingStack(
            app, shard.stack_id, stack_name=config.stack_name(shard.stack_suffix), env=env,
            catalog=config.spark.catalog, prefix=config.prefix, shard=shard,
            description=f"meshworks Spark job routing, shard {shard.index} of {config.spark.routing_shards}",
        )  # fmt: skip
        stack.add_stack_dependency(spark)  # add_dependency is deprecated (jsii prints a warning)
        stacks[shard.stack_id] = stack
    return stacks


def build_platform(app: App, config: PlatformConfig, *, policy_checks: bool = True) -> Platform:
    """Instantiate every enabled stack of the reference app under ``app``."""
    compute = Environment(account=config.environments.compute.account, region=config.environments.compute.region)
    # What the configuration and the contracts can refuse is checked before any stack is built: an error costs
    # no construct. The contracts are read and reviewed once; a problem is a ConfigError listing every file:line.
    contracts = read_contracts(config) if config.mesh.enabled or config.monitoring.enabled else []
    routing = _routing_shards(config) if config.spark.enabled else []
    platform = Platform(
        foundation=FoundationStack(
            app,
            "Foundation",
            stack_name=config.stack_name("foundation"),
            env=compute,
            config=config,
            description="meshworks foundation: platform key, data-lake zones, VPC",
        )
    )
    if config.mesh.enabled:  # data mesh: hub, data-product shards (hub account), spokes (consumer accounts)
        platform.extra.update(build_mesh(app, config, contracts))
    if config.monitoring.enabled:  # SLO monitors, job alerts, dashboard (hub); job-event forwarding (compute)
        platform.extra.update(monitoring_stacks(app, config, contracts))
    if config.spark.enabled:  # EMR Serverless + rollout, EMR on EC2, EMR on EKS, Flink on EMR (compute account)
        platform.extra["Spark"] = SparkStack(
            app,
            "Spark",
            stack_name=config.stack_name("spark"),
            env=compute,
            config=config,
            foundation=platform.foundation,
            description="meshworks Spark: EMR Serverless with ring rollout, EMR on EC2, EMR on EKS, Flink on EMR",
        )
        platform.extra.update(spark_routing_stacks(app, config, compute, platform.extra["Spark"], shards=routing))
    if config.deploy_roles.enabled:  # GitHub OIDC deploy role (hub account), deployed once by an administrator
        hub = config.environments.hub
        platform.extra["DeployRoles"] = DeployRolesStack(
            app,
            "DeployRoles",
            stack_name=config.stack_name("deploy-roles"),
            env=Environment(account=hub.account, region=hub.region),
            config=config,
            description="meshworks GitHub OIDC deploy role: assumes the CDK bootstrap roles only",
        )
    if config.orchestration.enabled:  # MWAA environment reading the Spark routing (compute account)
        platform.extra["Orchestration"] = OrchestrationStack(
            app,
            "Orchestration",
            stack_name=config.stack_name("orchestration"),
            env=compute,
            config=config,
            foundation=platform.foundation,
            description="meshworks orchestration: MWAA environment (private), object versions wired, Spark routing read",
        )
    if config.feature_store.enabled:  # Keyspaces table from CQL + DynamoDB feature table (compute account)
        platform.extra["Features"] = FeaturesStack(
            app,
            "Features",
            stack_name=config.stack_name("features"),
            env=compute,
            config=config,
            encryption_key=platform.foundation.key,
            foundation=platform.foundation,
            description="meshworks features: Keyspaces table from CQL, DynamoDB feature table, offline store, feature job",
        )
    if config.ingestion.enabled:  # self-service datasets: stream, Firehose, curation job, crawler (compute account)
        platform.extra["Ingestion"] = IngestionStack(
            app,
            "Ingestion",
            stack_name=config.stack_name("ingestion"),
            env=compute,
            config=config,
            foundation=platform.foundation,
            description="meshworks ingestion: self-service datasets into the raw and curated zones",
        )
    for key, value in {"meshworks:prefix": config.prefix, **config.tags}.items():
        Tags.of(app).add(key, value)
    # `meshworks plan` synthesizes only to compare templates: it turns the packs off with this context key.
    if policy_checks and str(app.node.try_get_context("@meshworks/policyChecks")).lower() != "false":
        add_policy_checks(app)
    return platform
