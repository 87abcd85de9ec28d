"""Builds the reference platform's stacks from a ``PlatformConfig`` (used by ``app.py`` and the tests)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import App, Environment, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from .config import PlatformConfig
from .features_stack import FeaturesStack
from .foundation_stack import FoundationStack
from .mesh_hub_stack import build_mesh, read_contracts
from .monitoring_stack import monitoring_stacks
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
    """Run cdk-nag's AWS Solutions and NIST 800-53 rev 5 packs on every stack at synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))


def build_platform(app: App, config: PlatformConfig, *, policy_checks: bool = True) -> Platform:
    """Instantiate every enabled stack of the reference app under ``app``."""
    compute = Environment(account=config.environments.compute.account, region=config.environments.compute.region)
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
    # The contracts are read and reviewed once; a problem is a ConfigError listing every file:line.
    contracts = read_contracts(config.mesh) if config.mesh.enabled or config.monitoring.enabled else []
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
    if config.feature_store.enabled:  # Keyspaces table from CQL + DynamoDB feature table (compute account)
        platform.extra["Features"] = FeaturesStack(
            app,
            "Features",
            stack_name=config.stack_name("features"),
            env=compute,
            config=config,
            encryption_key=platform.foundation.key,
            description="meshworks features: Keyspaces table from CQL, DynamoDB feature table",
        )
    for key, value in {"meshworks:prefix": config.prefix, **config.tags}.items():
        Tags.of(app).add(key, value)
    if policy_checks:
        add_policy_checks(app)
    return platform
