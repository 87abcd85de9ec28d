"""Typed settings of the Spark and Flink environments, as a person writes them in configuration.

Each model maps onto one construct's keyword arguments (``EmrCluster``, ``TransientClusterProfile``,
``EmrOnEksVirtualCluster``, ``FlinkOnEmr``, ``SparkJobRole``) and is validated with the same rules, so a
wrong value fails at ``cdk synth`` with one message naming the field, the value and the fix. The reference
app embeds them in ``SparkConfig`` (``stacks/config.py``); your own app can use them the same way::

    settings = EmrOnEksSettings(cluster_name="analytics", namespace="spark-jobs",
                                oidc_provider_arn="arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC")
    EmrOnEksVirtualCluster(self, "Eks", encryption_key=key, **settings.construct_kwargs())
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, field_validator

from meshworks.constructs.core.inputs import UserModel

from .models import (
    DEFAULT_EMR_SERVERLESS_RELEASE,
    InstanceFleetSpec,
    InstanceTypeWeight,
    ManagedScaling,
    ScalingUnitType,
    SparkLimits,
)

_STRICT = ConfigDict(extra="forbid")
_ZONES = ("raw", "stage", "curated", "backup")
_RELEASE = re.compile(r"^emr-(\d+)\.(\d+)\.(\d+)$")
_EKS_RELEASE = re.compile(r"^emr-(\d+)\.(\d+)\.(\d+)-(latest|\d{8})$")
_OIDC_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/oidc\.eks\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/id/[A-Za-z0-9]+$")


def belcorp_fleet_scaling() -> ManagedScaling:
    """Belcorp's managed-scaling limits (min 3, max 28, On-Demand 6, core 6) in instance-fleet units."""
    return ManagedScaling.belcorp().model_copy(update={"unit_type": ScalingUnitType.INSTANCE_FLEET_UNITS})


def _primary_fleet() -> InstanceFleetSpec:
    return InstanceFleetSpec(
        instance_types=[InstanceTypeWeight(instance_type=t) for t in ("m7g.xlarge", "m6g.xlarge", "r7g.xlarge")],
        on_demand_target=1,
    )


def _check_release(value: str) -> str:
    match = _RELEASE.match(str(value).strip())
    if not match or tuple(int(part) for part in match.groups()) < (7, 0, 0):
        raise ValueError(f"release_label {value!r} is not an EMR 7.x (or later) release: use e.g. '{DEFAULT_EMR_SERVERLESS_RELEASE}'")
    return str(value).strip()


#: An ``emr-X.Y.Z`` label, 7.0.0 or later.
ReleaseLabel = Annotated[str, AfterValidator(_check_release)]


class DataAccess(UserModel):
    """Which data-lake zones and Glue databases a set of jobs may use (least privilege)."""

    model_config = _STRICT

    read_zones: list[str] = Field(default_factory=lambda: ["raw"], description="Zones read. @default ['raw']")
    write_zones: list[str] = Field(default_factory=list, description="Zones written without delete. @default []")
    read_write_zones: list[str] = Field(
        default_factory=lambda: ["stage", "curated"], description="Zones read, written, overwritten. @default ['stage', 'curated']"
    )
    glue_databases: list[str] = Field(default_factory=list, description="Glue databases read. @default []")
    glue_write_databases: list[str] = Field(default_factory=list, description="Glue databases written. @default []")

    @field_validator("read_zones", "write_zones", "read_write_zones")
    @classmethod
    def _zones(cls, value: list[str]) -> list[str]:
        unknown = [zone for zone in value if zone not in _ZONES]
        if unknown:
            raise ValueError(f"unknown zone(s) {unknown}: use {', '.join(_ZONES)}")
        return value

    @field_validator("glue_databases", "glue_write_databases")
    @classmethod
    def _databases(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not re.fullmatch(r"[a-z0-9_]{1,255}", name)]
        if bad:
            raise ValueError(f"{bad} are not Glue database names: use lower-case letters, digits and '_'")
        return value

    def construct_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``SparkJobRole`` / ``EmrClusterPrerequisites`` (without ``lake``)."""
        return self.model_dump()


class EmrClusterSettings(UserModel):
    """The long-running EMR on EC2 cluster (``EmrCluster``)."""

    model_config = _STRICT

    enabled: bool = Field(True, description="Deploy the long-running cluster. @default True")
    release_label: ReleaseLabel = Field(DEFAULT_EMR_SERVERLESS_RELEASE, description=f"@default '{DEFAULT_EMR_SERVERLESS_RELEASE}'")
    applications: list[str] = Field(default_factory=lambda: ["Spark", "Hadoop", "Hive"], description="@default Spark, Hadoop, Hive")
    master_fleet: InstanceFleetSpec = Field(default_factory=_primary_fleet, description="@default 1 On-Demand Graviton node")
    core_fleet: InstanceFleetSpec = Field(
        default_factory=lambda: InstanceFleetSpec(on_demand_target=2), description="@default 2 On-Demand units"
    )
    task_fleet: InstanceFleetSpec | None = Field(
        default_factory=lambda: InstanceFleetSpec.from_spot_ratio(total_units=10),
        description="@default 10 units, 80 % Spot (Paytm); null for none",
    )
    managed_scaling: ManagedScaling | None = Field(
        default_factory=belcorp_fleet_scaling, description="@default Belcorp: min 3, max 28, On-Demand 6, core 6"
    )
    spark_limits: SparkLimits = Field(
        default_factory=lambda: SparkLimits(max_executors=100, executor_cores=4), description="Cluster spark-defaults"
    )
    custom_ami_id: str | None = Field(None, description="A custom Amazon Linux AMI, e.g. 'ami-0abc...'. @default None")
    termination_protected: bool = Field(True, description="@default True")

    @field_validator("custom_ami_id")
    @classmethod
    def _ami(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"ami-[0-9a-f]{8,17}", value):
            raise ValueError(f"{value!r} is not an AMI id: use 'ami-' and 8 or 17 hex digits")
        return value


class TransientProfileSettings(UserModel):
    """The transient-cluster profile workflows use (``TransientClusterProfile``)."""

    model_config = _STRICT

    enabled: bool = Field(True, description="@default True")
    name: str = Field("transient", description="Profile name. @default 'transient'")
    release_label: ReleaseLabel = Field(DEFAULT_EMR_SERVERLESS_RELEASE, description=f"@default '{DEFAULT_EMR_SERVERLESS_RELEASE}'")
    idle_timeout_minutes: int = Field(15, ge=1, le=10080, description="Auto-termination after idle minutes. @default 15")
    master_fleet: InstanceFleetSpec = Field(default_factory=_primary_fleet, description="@default 1 On-Demand node")
    core_fleet: InstanceFleetSpec = Field(
        default_factory=lambda: InstanceFleetSpec(on_demand_target=2), description="@default 2 On-Demand units"
    )
    task_fleet: InstanceFleetSpec | None = Field(
        default_factory=lambda: InstanceFleetSpec.from_spot_ratio(total_units=20),
        description="@default 20 units, 80 % Spot (Paytm)",
    )
    managed_scaling: ManagedScaling | None = Field(default_factory=belcorp_fleet_scaling, description="@default Belcorp")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9-]{1,40}", value):
            raise ValueError(f"{value!r} is not a profile name: use 2 to 41 lower-case letters, digits or '-'")
        return value


class EmrOnEksSettings(UserModel):
    """EMR on EKS on an existing cluster (``EmrOnEksVirtualCluster``)."""

    model_config = _STRICT

    enabled: bool = Field(True, description="@default True")
    cluster_name: str = Field("analytics-eks", description="The existing EKS cluster. @default placeholder")
    namespace: str = Field("spark-jobs", description="The existing namespace. @default 'spark-jobs'")
    oidc_provider_arn: str = Field(
        "arn:aws:iam::222222222222:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE0123456789ABCDEF0123456789",
        description="The cluster's IAM OIDC provider ARN. @default placeholder",
    )
    job_role_name: str | None = Field(None, description="@default '<cluster>-<namespace>-emr-jobs'")
    release_label: str = Field(f"{DEFAULT_EMR_SERVERLESS_RELEASE}-latest", description="e.g. 'emr-7.13.0-latest'")
    create_ecr_repository: bool = Field(True, description="Repository for custom images. @default True")

    @field_validator("cluster_name")
    @classmethod
    def _cluster(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}", value):
            raise ValueError(f"{value!r} is not an EKS cluster name: use letters, digits, '-' and '_'")
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", value):
            raise ValueError(f"{value!r} is not a Kubernetes namespace: use lower-case letters, digits and '-'")
        return value

    @field_validator("oidc_provider_arn")
    @classmethod
    def _oidc(cls, value: str) -> str:
        if not _OIDC_ARN.match(value):
            raise ValueError(
                f"{value!r} is not an EKS OIDC provider ARN: use "
                "'arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>'"
            )
        return value

    @field_validator("release_label")
    @classmethod
    def _eks_release(cls, value: str) -> str:
        if not _EKS_RELEASE.match(value):
            raise ValueError(f"{value!r} is not an EMR on EKS release: use e.g. 'emr-7.13.0-latest'")
        return value

    def construct_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``EmrOnEksVirtualCluster`` (without key, lake and data access)."""
        return {
            "eks_cluster_name": self.cluster_name,
            "namespace": self.namespace,
            "oidc_provider_arn": self.oidc_provider_arn,
            "job_role_name": self.job_role_name,
            "release_label": self.release_label,
            "create_ecr_repository": self.create_ecr_repository,
        }


class FlinkSettings(UserModel):
    """Flink on EMR (``FlinkOnEmr``)."""

    model_config = _STRICT

    enabled: bool = Field(True, description="@default True")
    release_label: ReleaseLabel = Field(DEFAULT_EMR_SERVERLESS_RELEASE, description=f"@default '{DEFAULT_EMR_SERVERLESS_RELEASE}'")
    ui_allowed_cidrs: list[str] = Field(default_factory=list, description="Networks allowed to the Flink UI/REST API (no authentication, jar submission on); "
        "empty: only the jar-uploader and job-runner Lambdas. @default []")
    rest_port: int = Field(8081, ge=1024, le=65535, description="Flink REST/UI port. @default 8081")
    core_fleet: InstanceFleetSpec = Field(
        default_factory=lambda: InstanceFleetSpec(on_demand_target=2), description="@default 2 On-Demand units"
    )

    @field_validator("ui_allowed_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError as error:
                raise ValueError(f"{cidr!r} is not a CIDR block ({error}); e.g. '10.0.0.0/8'") from None
            if network.prefixlen == 0:
                raise ValueError(f"{cidr!r} opens the Flink UI to the internet: list your networks")
        return value

    @field_validator("rest_port")
    @classmethod
    def _port(cls, value: int) -> int:
        if value in (8443, 9443):
            raise ValueError(f"port {value} is used by EMR service access: choose another, e.g. 8081")
        return value
