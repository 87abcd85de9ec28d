"""``FoundationStack``: the platform key, the data-lake zones and the VPC of one account."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from constructs import Construct

from meshworks.constructs.core.offline import pin_availability_zones
from meshworks.constructs.core.platform_key import PlatformKey
from meshworks.constructs.network.platform_vpc import PlatformVpc
from meshworks.constructs.storage.data_lake_storage import DataLakeStorage

from .config import NetworkConfig, PlatformConfig
from .creation_stacks import skip_creation_stack_traces


class FoundationStack(Stack):
    """Composes ``PlatformKey``, ``DataLakeStorage`` and ``PlatformVpc`` for the compute account.

    Bucket names are deterministic (``<prefix>-<account>-<zone>``) so that other accounts and
    stacks can refer to them from configuration, without CloudFormation exports.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: PlatformConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        skip_creation_stack_traces(self)
        env = config.environments.compute
        props = network_props(config.network, env.region)
        pin_availability_zones(self, props["availability_zones"])
        self.key = PlatformKey(self, "PlatformKey", alias=f"alias/{config.prefix}/platform")
        self.lake = DataLakeStorage(
            self,
            "DataLake",
            name_prefix=f"{config.prefix}-{env.account}",
            encryption_key=self.key,
            stage_expiration=Duration.days(config.storage.stage_expiration_days),
        )
        self.network = PlatformVpc(
            self,
            "Network",
            encryption_key=self.key,
            # Interface endpoints admit the platform's own principals only (compute and hub accounts).
            endpoint_principal_accounts=[env.account, config.environments.hub.account],
            **props,
        )


def network_props(network: NetworkConfig, region: str) -> dict:
    """``PlatformVpc`` keyword arguments from the network section (explicit AZs: no lookup)."""
    azs = network.availability_zones or [f"{region}{suffix}" for suffix in "abcdef"[: network.max_azs]]
    return {
        "cidr": network.cidr,
        "nat_gateways": network.nat_gateways,
        "private_subnet_cidr_mask": network.private_subnet_cidr_mask,
        "interface_endpoints": network.interface_endpoints,
        "availability_zones": azs,
    }
