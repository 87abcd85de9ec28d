"""``EmrCluster``: a long-running EMR on EC2 cluster with Spot/On-Demand instance fleets and managed scaling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from aws_cdk import CfnTag, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_emr as emr
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..core.inputs import string_list
from ..core.nag import acknowledge
from ..core.renamed import default_or_opt_out, none_was_opt_out
from ._checks import annotate_warnings, check_ami, check_fleet_scaling, check_name, check_release_label, fail
from .emr_cluster_prerequisites import EMR_MANAGED_POLICY_TAG, EmrClusterPrerequisites
from .models import (
    DEFAULT_EMR_SERVERLESS_RELEASE,
    Engine,
    InstanceFleetSpec,
    InstanceTypeWeight,
    ManagedScaling,
    ScalingUnitType,
    SparkLimits,
)

#: EMR on EC2 release used by default (the same EMR 7.x release as EMR Serverless).
DEFAULT_EMR_RELEASE = DEFAULT_EMR_SERVERLESS_RELEASE

#: Belcorp's managed-scaling numbers (min 3, max 28, On-Demand 6, core 6) in instance-fleet units.
BELCORP_FLEET_SCALING = ManagedScaling.belcorp().model_copy(update={"unit_type": ScalingUnitType.INSTANCE_FLEET_UNITS})


def default_master_fleet() -> InstanceFleetSpec:
    """One On-Demand Graviton primary node (three interchangeable types)."""
    return InstanceFleetSpec(
        instance_types=[InstanceTypeWeight(instance_type=t) for t in ("m7g.xlarge", "m6g.xlarge", "r7g.xlarge")],
        on_demand_target=1,
    )


def default_core_fleet() -> InstanceFleetSpec:
    """Two On-Demand core units (HDFS lives there: no Spot)."""
    return InstanceFleetSpec(on_demand_target=2)


def default_task_fleet() -> InstanceFleetSpec:
    """Ten task units, Paytm's 80 % Spot / 20 % On-Demand."""
    return InstanceFleetSpec.from_spot_ratio(total_units=10)


def fleet_config(name: str, spec: InstanceFleetSpec, fleet_type: str | None = None) -> dict[str, Any]:
    """An instance fleet in CloudFormation / RunJobFlow shape (``fleet_type`` adds ``InstanceFleetType``)."""
    config: dict[str, Any] = {"Name": name, **spec.to_cfn()}
    if fleet_type:
        config["InstanceFleetType"] = fleet_type
    return config


def spark_configurations(limits: SparkLimits | None, extra: Mapping[str, str] | None) -> list[dict[str, Any]]:
    """The ``spark-defaults`` classification for EMR on EC2 (no EMR Serverless disk setting)."""
    properties = {**(limits.to_spark_defaults(Engine.EMR_EC2) if limits else {}), **(extra or {})}
    if not properties:
        return []
    return [{"Classification": "spark-defaults", "ConfigurationProperties": dict(sorted(properties.items()))}]


class EmrCluster(Construct):
    """A long-running EMR on EC2 cluster: instance fleets, managed scaling, encryption, CloudWatch agent.

    Defaults: the newest EMR 7.x release, Spark + Hadoop (+ Hive), Graviton instance fleets - one On-Demand
    primary node, two On-Demand core units, ten task units at Paytm's 80:20 Spot/On-Demand with
    ``price-capacity-optimized`` Spot allocation across eight types and a switch to On-Demand when Spot is
    short - managed scaling with Belcorp's limits (min 3, max 28, On-Demand 6, core 6 instance-fleet units),
    **termination protection on**, the prerequisites' security configuration (KMS at rest for S3, local disks
    and EBS; IMDSv2), custom restrictive security groups, logs to S3 encrypted with the key, the CloudWatch
    agent bootstrap action, and ``spark-defaults`` that cap dynamic allocation. Advice from the models
    (more than 6 task units per core unit, Spot with few types...) shows as synth warnings.

    Example::

        from aws_cdk import App, Stack
        from aws_cdk import aws_iam as iam

        from meshworks.constructs.core import PlatformKey
        from meshworks.constructs.network import PlatformVpc
        from meshworks.constructs.spark import BELCORP_FLEET_SCALING, EmrCluster, InstanceFleetSpec
        from meshworks.constructs.storage import DataLakeStorage, SecureBucket

        app = App()
        stack = Stack(app, "Spark")
        key = PlatformKey(stack, "Key")
        network = PlatformVpc(stack, "Network")
        lake = DataLakeStorage(stack, "Lake", encryption_key=key)
        logs_bucket = SecureBucket(stack, "Logs", encryption_key=key)
        airflow_role = iam.Role(stack, "Airflow", assumed_by=iam.ServicePrincipal("airflow-env.amazonaws.com"))

        cluster = EmrCluster(stack, "Analytics", vpc=network.vpc, encryption_key=key, log_bucket=logs_bucket,
                             task_fleet=InstanceFleetSpec.from_spot_ratio(total_units=20),
                             managed_scaling=BELCORP_FLEET_SCALING)
        lake.grant_read("raw", cluster.prerequisites.instance_role.role)   # the cluster's data access
        app.synth()

    Args:
        vpc / encryption_key / log_bucket: used to build ``prerequisites`` when none is given.
        prerequisites: roles, security groups, security configuration, logs. Default: new ones (``self.prerequisites``).
        name: cluster name (1..256 printable characters). Default: the construct path.
        release_label: ``emr-7.x.y`` (validated, 7.0.0+). Default: ``DEFAULT_EMR_RELEASE``.
        applications: Default: ``("Spark", "Hadoop", "Hive")``.
        master_fleet / core_fleet / task_fleet: instance fleets (``task_fleet=False`` for none; ``None`` as
            absent means the default, as in aws-cdk-lib; an explicit ``None`` still means none in this release,
            with a ``DeprecationWarning``).
            Default: ``default_master_fleet()``, ``default_core_fleet()``, ``default_task_fleet()``.
        managed_scaling: limits in ``InstanceFleetUnits`` (``False`` turns managed scaling off).
            Default: ``BELCORP_FLEET_SCALING``.
        spark_limits: cluster-wide ``spark-defaults`` (``False``: none). Default: ``SparkLimits(max_executors=100, executor_cores=4)``.
        extra_spark_defaults: more ``spark-defaults``. Default: none.
        custom_ami_id: a custom Amazon Linux AMI. Default: EMR's.
        ebs_root_volume_size: GiB. Default: EMR's default.
        termination_protected: Default: True (long-running).
        idle_timeout_minutes: auto-terminate after this idle time, 1..10080. Default: None (long-running).
        step_concurrency_level: 1..256. Default: 1.
        bootstrap_cloudwatch_agent: Default: True.
        extra_bootstrap_actions: CloudFormation-shaped bootstrap actions. Default: none.
        extra_configurations: CloudFormation-shaped classifications. Default: none.
        steps: CloudFormation-shaped steps run at creation (``StepConfig``); changing them replaces the
            cluster. Default: none.
    """

    @none_was_opt_out("EmrCluster", "task_fleet", "managed_scaling", "spark_limits")
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prerequisites: EmrClusterPrerequisites | None = None,
        vpc: ec2.IVpc | None = None,
        encryption_key: kms.IKey | None = None,
        log_bucket: s3.IBucket | None = None,
        name: str | None = None,
        release_label: str = DEFAULT_EMR_RELEASE,
        applications: Sequence[str] = ("Spark", "Hadoop", "Hive"),
        master_fleet: InstanceFleetSpec | None = None,
        core_fleet: InstanceFleetSpec | None = None,
        task_fleet: InstanceFleetSpec | Literal[False] | None = None,
        managed_scaling: ManagedScaling | Literal[False] | None = None,
        spark_limits: SparkLimits | Literal[False] | None = None,
        extra_spark_defaults: Mapping[str, str] | None = None,
        custom_ami_id: str | None = None,
        ebs_root_volume_size: int | None = None,
        termination_protected: bool = True,
        idle_timeout_minutes: int | None = None,
        step_concurrency_level: int = 1,
        bootstrap_cloudwatch_agent: bool = True,
        extra_bootstrap_actions: Sequence[Mapping[str, Any]] = (),
        extra_configurations: Sequence[Mapping[str, Any]] = (),
        steps: Sequence[Mapping[str, Any]] = (),
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        owner = type(self).__name__
        applications = string_list(owner, "applications", applications, example='Spark')
        release = check_release_label(owner, release_label)
        if name is not None:
            check_name(owner, "name", name, r"[\x20-\x7e]+", "analytics-long-running", 256)
        check_ami(owner, custom_ami_id)
        master = master_fleet or default_master_fleet()
        core = core_fleet or default_core_fleet()
        task = default_or_opt_out(task_fleet, default_task_fleet)
        scaling = default_or_opt_out(managed_scaling, lambda: BELCORP_FLEET_SCALING)
        check_fleet_scaling(owner, master=master, core=core, task=task, scaling=scaling)
        if idle_timeout_minutes is not None and not 1 <= idle_timeout_minutes <= 10080:
            raise fail(owner, f"idle_timeout_minutes {idle_timeout_minutes!r} is out of range: use 1 to 10080 (7 days)")
        if idle_timeout_minutes is not None and termination_protected:
            raise fail(owner, "idle_timeout_minutes and termination_protected exclude each other: a protected cluster "
                       "cannot terminate itself; set termination_protected=False for an auto-terminating cluster")
        if not 1 <= step_concurrency_level <= 256:
            raise fail(owner, f"step_concurrency_level {step_concurrency_level!r} is out of range: use 1 to 256")
        if not applications or any(not isinstance(app, str) or not app for app in applications):
            raise fail(owner, f"applications {list(applications)!r} must list EMR application names, e.g. ['Spark', 'Hadoop']")
        limits = default_or_opt_out(spark_limits, lambda: SparkLimits(max_executors=100, executor_cores=4))
        if prerequisites is None and (vpc is None or encryption_key is None or log_bucket is None):
            raise fail(owner, "pass prerequisites=EmrClusterPrerequisites(...) or vpc, encryption_key and log_bucket")
        super().__init__(scope, construct_id)
        self.prerequisites = prerequisites or EmrClusterPrerequisites(
            self, "Prerequisites", vpc=vpc, encryption_key=encryption_key, log_bucket=log_bucket,
            log_prefix=f"emr/{construct_id}/", removal_policy=removal_policy,
        )
        self.release_label = release
        self.master_fleet, self.core_fleet, self.task_fleet, self.managed_scaling = master, core, task, scaling
        cluster_name = name or self.node.path.replace("/", "-")[-256:]
        bootstrap = [self.prerequisites.cloudwatch_agent_bootstrap(cluster_name)] if bootstrap_cloudwatch_agent else []
        bootstrap += [dict(action) for action in extra_bootstrap_actions]
        instances: dict[str, Any] = {
            **self.prerequisites.instances_network(),
            "MasterInstanceFleet": fleet_config("primary", master),
            "CoreInstanceFleet": fleet_config("core", core),
            "TerminationProtected": termination_protected,
            "KeepJobFlowAliveWhenNoSteps": True,
        }
        if task is not None:
            instances["TaskInstanceFleets"] = [fleet_config("task", task)]
        #: Spark settings of every application on the cluster.
        self.configurations = [*spark_configurations(limits, extra_spark_defaults), *map(dict, extra_configurations)]
        self.cluster = emr.CfnCluster(
            self,
            "Cluster",
            name=cluster_name,
            release_label=release,
            applications=[emr.CfnCluster.ApplicationProperty(name=app) for app in applications],
            instances=emr.CfnCluster.JobFlowInstancesConfigProperty(),  # set below, in CloudFormation shape
            job_flow_role=self.prerequisites.instance_profile.instance_profile_name,
            service_role=self.prerequisites.service_role.role_name,
            security_configuration=self.prerequisites.security_configuration.ref,
            log_uri=self.prerequisites.log_uri,
            log_encryption_kms_key_id=self.prerequisites.encryption_key.key_arn,
            auto_termination_policy=(
                emr.CfnCluster.AutoTerminationPolicyProperty(idle_timeout=idle_timeout_minutes * 60)
                if idle_timeout_minutes
                else None
            ),
            custom_ami_id=custom_ami_id,
            ebs_root_volume_size=ebs_root_volume_size,
            step_concurrency_level=step_concurrency_level,
            visible_to_all_users=True,
            tags=[CfnTag(key=EMR_MANAGED_POLICY_TAG[0], value=EMR_MANAGED_POLICY_TAG[1])],
        )
        # The models render CloudFormation-shaped (PascalCase) fleets and limits: set them as such.
        self.cluster.add_property_override("Instances", instances)
        if scaling:
            self.cluster.add_property_override("ManagedScalingPolicy", {"ComputeLimits": scaling.to_compute_limits()})
        if bootstrap:
            self.cluster.add_property_override("BootstrapActions", bootstrap)
        if self.configurations:
            self.cluster.add_property_override("Configurations", self.configurations)
        if steps:
            self.cluster.add_property_override("Steps", [dict(step) for step in steps])
        # The cluster must be deleted before its roles, profile, groups and security configuration.
        for dependency in (self.prerequisites.instance_profile, self.prerequisites.service_role,
                           self.prerequisites.security_configuration):
            self.cluster.node.add_dependency(dependency)
        notes = [*master.warnings(), *core.warnings(), *(task.warnings() if task else []),
                 *(scaling.warnings() if scaling else []), *(limits.warnings() if limits else [])]
        annotate_warnings(self, notes, "EmrCluster")
        acknowledge(
            self.cluster,
            {
                "AwsSolutions-EMR6": "Nodes have no SSH key pair and no inbound access from outside the cluster; "
                "operators use SSM Session Manager, and jobs authenticate with IAM (instance profile, EMRFS).",
                "NIST.800.53.R5-EMRKerberosEnabled": "Users never log in to the nodes: jobs are submitted through "
                "the EMR API with IAM authorization, so there is no Kerberos realm to join.",
                "AwsSolutions-EMR4": "The security configuration enables at-rest encryption of local disks and EBS "
                "with the KMS key under EncryptionConfiguration (the documented JSON shape); the rule looks for "
                "the keys at the top level of the document and misses them.",
                "AwsSolutions-EMR5": (
                    "In-transit TLS is on (EncryptionConfiguration.InTransitEncryptionConfiguration with the PEM "
                    "bundle); the rule looks for the keys at the top level of the document and misses them."
                    if self._in_transit_enabled()
                    else "In-transit TLS needs a PEM certificate bundle from the platform's PKI "
                    "(in_transit_certificate_s3_uri); until then node traffic stays inside the cluster's own "
                    "security groups in private subnets."
                ),
            },
        )

    def _in_transit_enabled(self) -> bool:
        document = self.prerequisites.security_configuration.security_configuration
        return bool(document.get("EncryptionConfiguration", {}).get("EnableInTransitEncryption"))

    # ------------------------------------------------------------------------------------------------
    @property
    def cluster_id(self) -> str:
        """The cluster id (``j-...``)."""
        return self.cluster.ref

    @property
    def master_private_dns(self) -> str:
        """Private DNS name of the primary node (``MasterPublicDNS`` in private subnets)."""
        return self.cluster.attr_master_public_dns
