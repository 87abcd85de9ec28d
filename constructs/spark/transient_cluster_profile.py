"""``TransientClusterProfile``: everything a workflow needs to create short-lived EMR clusters, as ``job_flow_overrides``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ..core.inputs import string_list
from ..core.nag import acknowledge_grant, arn
from ..core.renamed import default_or_opt_out, none_was_opt_out, renamed_arguments
from ._checks import annotate_warnings, check_ami, check_fleet_scaling, check_release_label, fail
from .emr_cluster import (
    BELCORP_FLEET_SCALING,
    DEFAULT_EMR_RELEASE,
    default_core_fleet,
    default_master_fleet,
    default_task_fleet,
    fleet_config,
    spark_configurations,
)
from .emr_cluster_prerequisites import EMR_MANAGED_POLICY_TAG, EmrClusterPrerequisites
from .models import InstanceFleetSpec, ManagedScaling, SparkLimits

#: Tag put on every cluster created from a profile; the grants are conditioned on it.
PROFILE_TAG = "meshworks:emr-profile"
_PROFILE_NAME = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
_SSM_STANDARD_LIMIT = 4096
_SSM_ADVANCED_LIMIT = 8192


def _runjobflow_configurations(configurations: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """CloudFormation ``Configurations`` in RunJobFlow shape (``ConfigurationProperties`` -> ``Properties``)."""
    result = []
    for item in configurations:
        converted: dict[str, Any] = {"Classification": item["Classification"]}
        if "ConfigurationProperties" in item:
            converted["Properties"] = dict(item["ConfigurationProperties"])
        if "Configurations" in item:
            converted["Configurations"] = _runjobflow_configurations(item["Configurations"])
        result.append(converted)
    return result


class TransientClusterProfile(Construct):
    """The roles, security groups, subnets, security configuration, log URI and instance fleets of transient
    EMR clusters, published as the ``job_flow_overrides`` of Airflow's ``EmrCreateJobFlowOperator``.

    Transient clusters are created by workflows (Paytm, Zoom), not by CloudFormation, so this construct
    creates what must exist beforehand (``EmrClusterPrerequisites``) and publishes one JSON document, the
    ``RunJobFlow`` request minus the steps, in an SSM parameter ``/<prefix>/spark/emr-ec2/<name>/job-flow-overrides``.
    A DAG reads it (``ssm:GetParameter``), sets ``Name`` and its steps, and creates the cluster; the cluster
    terminates itself after ``idle_timeout_minutes`` without work (``AutoTerminationPolicy``), and has no
    termination protection. Clusters carry the tags ``for-use-with-amazon-emr-managed-policies=true``
    (needed by the scoped EMR service policy) and ``meshworks:emr-profile=<name>`` (the grants are
    conditioned on it).

    Document (``RunJobFlow`` shape)::

        {"Name": "<name>", "ReleaseLabel": "emr-7.x.y", "Applications": [{"Name": "Spark"}, ...],
         "LogUri": "s3://.../emr/<name>/", "LogEncryptionKmsKeyId": "arn:aws:kms:...",
         "ServiceRole": "<role name>", "JobFlowRole": "<instance profile name>",
         "SecurityConfiguration": "<name>", "AutoTerminationPolicy": {"IdleTimeout": 900},
         "ManagedScalingPolicy": {"ComputeLimits": {...}},
         "Instances": {"InstanceFleets": [{"InstanceFleetType": "MASTER", ...}, {"CORE"}, {"TASK"}],
                       "Ec2SubnetIds": [...], "EmrManagedMasterSecurityGroup": "sg-...",
                       "EmrManagedSlaveSecurityGroup": "sg-...", "ServiceAccessSecurityGroup": "sg-...",
                       "KeepJobFlowAliveWhenNoSteps": true, "TerminationProtected": false},
         "BootstrapActions": [...], "Configurations": [{"Classification": "spark-defaults", "Properties": {...}}],
         "VisibleToAllUsers": true, "Tags": [{"Key": ..., "Value": ...}]}

    Example::

        from aws_cdk import App, Stack
        from aws_cdk import aws_iam as iam

        from meshworks.constructs.core import PlatformKey
        from meshworks.constructs.network import PlatformVpc
        from meshworks.constructs.spark import InstanceFleetSpec, TransientClusterProfile
        from meshworks.constructs.storage import DataLakeStorage, SecureBucket

        app = App()
        stack = Stack(app, "Spark")
        key = PlatformKey(stack, "Key")
        network = PlatformVpc(stack, "Network")
        lake = DataLakeStorage(stack, "Lake", encryption_key=key)
        logs_bucket = SecureBucket(stack, "Logs", encryption_key=key)
        airflow_role = iam.Role(stack, "Airflow", assumed_by=iam.ServicePrincipal("airflow-env.amazonaws.com"))

        profile = TransientClusterProfile(stack, "Nightly", name="nightly", name_prefix="acme", vpc=network.vpc,
                                          encryption_key=key, log_bucket=logs_bucket,
                                          task_fleet=InstanceFleetSpec.from_spot_ratio(total_units=20))
        profile.grant_create_cluster(airflow_role)
        app.synth()

    Args:
        name: profile name (lower-case, digits, ``-``; 2..41 characters).
        name_prefix: first segment(s) of the SSM parameter name.
        prerequisites: Default: new ones from ``vpc``/``encryption_key``/``log_bucket`` (``self.prerequisites``).
        release_label / applications / master_fleet / core_fleet / task_fleet / managed_scaling / spark_limits /
            extra_spark_defaults / custom_ami_id: as for ``EmrCluster``.
        idle_timeout_minutes: auto-termination idle time, 1..10080. Default: 15.
        bootstrap_cloudwatch_agent: Default: True.
    """

    @none_was_opt_out("TransientClusterProfile", "task_fleet", "managed_scaling")
    @renamed_arguments("TransientClusterProfile", prefix="name_prefix")
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        name_prefix: str,
        prerequisites: EmrClusterPrerequisites | None = None,
        vpc: ec2.IVpc | None = None,
        encryption_key: kms.IKey | None = None,
        log_bucket: s3.IBucket | None = None,
        release_label: str = DEFAULT_EMR_RELEASE,
        applications: Sequence[str] = ("Spark", "Hadoop"),
        master_fleet: InstanceFleetSpec | None = None,
        core_fleet: InstanceFleetSpec | None = None,
        task_fleet: InstanceFleetSpec | Literal[False] | None = None,
        managed_scaling: ManagedScaling | Literal[False] | None = None,
        spark_limits: SparkLimits | None = None,
        extra_spark_defaults: Mapping[str, str] | None = None,
        custom_ami_id: str | None = None,
        idle_timeout_minutes: int = 15,
        bootstrap_cloudwatch_agent: bool = True,
    ) -> None:
        owner = type(self).__name__
        applications = string_list(owner, "applications", applications, example='Spark')
        if not isinstance(name, str) or not _PROFILE_NAME.match(name):
            raise fail(owner, f"name {name!r} is invalid: use 2 to 41 lower-case letters, digits or '-', starting with a letter, e.g. 'nightly'")
        segments = str(name_prefix).strip("/").split("/")
        if not str(name_prefix).strip("/") or not all(re.fullmatch(r"[A-Za-z0-9_.-]+", seg) for seg in segments):
            raise fail(owner, f"name_prefix {name_prefix!r} is invalid: use '/'-separated segments of letters, digits, '_', '.' or '-', e.g. 'acme/prod'")
        release = check_release_label(owner, release_label)
        check_ami(owner, custom_ami_id)
        if isinstance(idle_timeout_minutes, bool) or not isinstance(idle_timeout_minutes, int) or not 1 <= idle_timeout_minutes <= 10080:
            raise fail(owner, f"idle_timeout_minutes {idle_timeout_minutes!r} is out of range: use 1 to 10080 (EMR allows 60 s to 7 days)")
        master = master_fleet or default_master_fleet()
        core = core_fleet or default_core_fleet()
        task = default_or_opt_out(task_fleet, default_task_fleet)
        scaling = default_or_opt_out(managed_scaling, lambda: BELCORP_FLEET_SCALING)
        check_fleet_scaling(owner, master=master, core=core, task=task, scaling=scaling)
        limits = spark_limits if spark_limits is not None else SparkLimits(max_executors=100, executor_cores=4)
        if prerequisites is None and (vpc is None or encryption_key is None or log_bucket is None):
            raise fail(owner, "pass prerequisites=EmrClusterPrerequisites(...) or vpc, encryption_key and log_bucket")
        super().__init__(scope, construct_id)
        self.name = name
        self.prerequisites = prerequisites or EmrClusterPrerequisites(
            self, "Prerequisites", vpc=vpc, encryption_key=encryption_key, log_bucket=log_bucket,
            log_prefix=f"emr/{name}/",
        )
        pre = self.prerequisites
        fleets = [fleet_config("primary", master, "MASTER"), fleet_config("core", core, "CORE")]
        if task is not None:
            fleets.append(fleet_config("task", task, "TASK"))
        overrides: dict[str, Any] = {
            "Name": name,
            "ReleaseLabel": release,
            "Applications": [{"Name": app} for app in applications],
            "LogUri": pre.log_uri,
            "LogEncryptionKmsKeyId": pre.encryption_key.key_arn,
            "ServiceRole": pre.service_role.role_name,
            "JobFlowRole": pre.instance_profile.instance_profile_name,
            "SecurityConfiguration": pre.security_configuration.ref,
            "AutoTerminationPolicy": {"IdleTimeout": idle_timeout_minutes * 60},
            "Instances": {
                "InstanceFleets": fleets,
                **pre.instances_network(),
                "KeepJobFlowAliveWhenNoSteps": True,
                "TerminationProtected": False,
            },
            "VisibleToAllUsers": True,
            "Tags": [
                {"Key": EMR_MANAGED_POLICY_TAG[0], "Value": EMR_MANAGED_POLICY_TAG[1]},
                {"Key": PROFILE_TAG, "Value": name},
            ],
        }
        if scaling is not None:
            overrides["ManagedScalingPolicy"] = {"ComputeLimits": scaling.to_compute_limits()}
        if bootstrap_cloudwatch_agent:
            overrides["BootstrapActions"] = [pre.cloudwatch_agent_bootstrap(name)]
        configurations = _runjobflow_configurations(spark_configurations(limits, extra_spark_defaults))
        if configurations:
            overrides["Configurations"] = configurations
        if custom_ami_id:
            overrides["CustomAmiId"] = custom_ami_id
        #: The ``job_flow_overrides`` document (may hold CDK tokens until deployment).
        self.job_flow_overrides = overrides
        rendered = Stack.of(self).to_json_string(overrides)
        size = self._size_bound(overrides)
        if size > _SSM_ADVANCED_LIMIT:
            raise fail(owner, f"job_flow_overrides would be about {size} bytes, over the 8 KB SSM limit: list fewer instance types")
        #: ``/<prefix>/spark/emr-ec2/<name>/job-flow-overrides``.
        self.parameter_name = "/" + "/".join([*segments, "spark", "emr-ec2", name, "job-flow-overrides"])
        self.parameter = ssm.StringParameter(
            self,
            "JobFlowOverrides",
            parameter_name=self.parameter_name,
            string_value=rendered,
            tier=ssm.ParameterTier.STANDARD if size <= _SSM_STANDARD_LIMIT else ssm.ParameterTier.ADVANCED,
            description=f"meshworks EMR job_flow_overrides of transient profile {name}",
        )
        notes = [*master.warnings(), *core.warnings(), *(task.warnings() if task else []),
                 *(scaling.warnings() if scaling else []), *limits.warnings()]
        annotate_warnings(self, notes, "TransientCluster")

    @staticmethod
    def _size_bound(document: dict[str, Any]) -> int:
        """Upper bound of the deployed JSON size: every token counted as 120 bytes (ARNs, ids, names)."""
        text = json.dumps(document, separators=(",", ":"), default=str)
        tokens = re.findall(r"\$\{Token\[[^\]]+\]\}", text)
        return len(text.encode()) + sum(120 - len(token) for token in tokens)

    # ------------------------------------------------------------------------------------------------
    def grant_create_cluster(self, principal: iam.IGrantable) -> None:
        """What a workflow role needs to run clusters from this profile: read the parameter, ``RunJobFlow``,
        pass the service role (only to EMR) and instance role (only to EC2), and manage the clusters and
        steps carrying this profile's tag."""
        stack = Stack.of(self)
        pre = self.prerequisites
        self.parameter.grant_read(principal)
        iam.Grant.add_to_principal(
            grantee=principal,
            actions=["elasticmapreduce:RunJobFlow"],
            resource_arns=["*"],
            conditions={"StringEquals": {f"aws:RequestTag/{PROFILE_TAG}": self.name}},
        )
        iam.Grant.add_to_principal(
            grantee=principal,
            actions=["iam:PassRole"],
            resource_arns=[pre.service_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "elasticmapreduce.amazonaws.com"}},
        )
        pre.instance_role.grant_pass_role(principal)
        iam.Grant.add_to_principal(
            grantee=principal,
            actions=[
                "elasticmapreduce:AddTags",
                "elasticmapreduce:DescribeCluster",
                "elasticmapreduce:AddJobFlowSteps",
                "elasticmapreduce:DescribeStep",
                "elasticmapreduce:ListSteps",
                "elasticmapreduce:CancelSteps",
                "elasticmapreduce:TerminateJobFlows",
            ],
            resource_arns=[stack.format_arn(service="elasticmapreduce", resource="cluster", resource_name="*")],
            conditions={"StringEquals": {f"aws:ResourceTag/{PROFILE_TAG}": self.name}},
        )
        acknowledge_grant(
            principal,
            [
                (r"Resource::\*", "elasticmapreduce:RunJobFlow has no resource-level permission (the cluster does not "
                 f"exist yet); the statement requires the request tag {PROFILE_TAG} of this profile."),
                (r"Resource::" + arn("elasticmapreduce", r"cluster/\*"), "Clusters are created at "
                 f"run time; the statement only matches clusters carrying this profile's tag {PROFILE_TAG} "
                 "(aws:ResourceTag condition)."),
            ],
        )
