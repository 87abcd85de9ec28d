"""``SparkStack``: the four Spark/Flink environments of the compute account, composed from the configuration."""

from __future__ import annotations

from aws_cdk import Annotations, Stack
from constructs import Construct

from meshworks.constructs.core.naming import fit_name
from meshworks.constructs.core.offline import pin_availability_zones
from meshworks.constructs.core.platform_key import PlatformKey
from meshworks.constructs.spark.emr_cluster import EmrCluster
from meshworks.constructs.spark.emr_cluster_prerequisites import EmrClusterPrerequisites
from meshworks.constructs.spark.emr_on_eks import EmrOnEksVirtualCluster
from meshworks.constructs.spark.emr_serverless_application import EmrServerlessApplication
from meshworks.constructs.spark.flink_on_emr import FlinkOnEmr
from meshworks.constructs.spark.job_rollout import JobRollout
from meshworks.constructs.spark.spark_job_role import SparkJobRole
from meshworks.constructs.spark.spark_job_runner import SparkJobRunner
from meshworks.constructs.spark.transient_cluster_profile import TransientClusterProfile
from meshworks.constructs.storage.access_logs_bucket import AccessLogsBucket
from meshworks.constructs.storage.secure_bucket import SecureBucket

from .config import PlatformConfig
from .creation_stacks import skip_creation_stack_traces
from .foundation_stack import FoundationStack, network_props


class SparkStack(Stack):
    """EMR Serverless (application, job role, ``.sync`` runner, rollout routing), EMR on EC2 (long-running
    cluster and transient profile), EMR on EKS and Flink on EMR, on the foundation's VPC and data lake.

    The stack has its own key (logs, state machines, topics, cluster disks), log bucket, artifact bucket (job
    code) and one access-log bucket for its buckets; data stays in the foundation's lake and is reached
    through least-privilege grants (the foundation exports the VPC, subnets, lake bucket and key ARNs).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PlatformConfig, foundation: FoundationStack, **kwargs
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        skip_creation_stack_traces(self)
        Annotations.of(self).acknowledge_warning(
            "@aws-cdk/core:crossStackReferencesDefaultStrong",
            "Strong references are intended: the foundation cannot drop the VPC, subnets or lake while Spark uses them.",
        )
        spark = config.spark
        pin_availability_zones(self, network_props(config.network, config.environments.compute.region)["availability_zones"])
        vpc, lake = foundation.network.vpc, foundation.lake
        access = spark.data_access.construct_kwargs()
        egress = {
            "https_egress_cidrs": spark.https_egress_cidrs,
            "https_egress_prefix_list_ids": spark.https_egress_prefix_list_ids,
        }

        self.key = PlatformKey(self, "SparkKey", alias=f"alias/{config.prefix}/spark", description="meshworks Spark")
        self.access_logs = AccessLogsBucket(self, "SparkAccessLogs")

        def bucket(construct_id: str) -> SecureBucket:
            return SecureBucket(self, construct_id, encryption_key=self.key, server_access_logs_bucket=self.access_logs)

        self.log_bucket = bucket("SparkLogs")
        self.artifact_bucket = bucket("SparkArtifacts")

        # EMR Serverless: application, job role, runner.
        self.serverless = EmrServerlessApplication(
            self,
            "Serverless",
            vpc=vpc,
            name=f"{config.prefix}-spark",
            defaults=spark.serverless,
            spark_limits=spark.serverless_limits,
            queue_timeout_minutes=spark.serverless_queue_timeout_minutes,
            encryption_key=self.key,
            log_bucket=self.log_bucket,
            **egress,
            application_tags={"meshworks:prefix": config.prefix},  # stable: app tags would need it stopped
        )
        self.job_role = SparkJobRole(
            self, "ServerlessJobRole", lake=lake, code_buckets=[self.artifact_bucket],
            applications=[self.serverless], **access,
        )
        self.runner = SparkJobRunner(
            self, "ServerlessRunner", application=self.serverless, job_role=self.job_role, encryption_key=self.key,
            state_machine_name=f"{config.prefix}-spark-serverless",
        )

        # EMR on EC2: shared prerequisites, long-running cluster, transient profile.
        self.emr_base = EmrClusterPrerequisites(
            self, "EmrBase", vpc=vpc, encryption_key=self.key, log_bucket=self.log_bucket, lake=lake,
            code_buckets=[self.artifact_bucket], in_transit_certificate_s3_uri=spark.in_transit_certificate_s3_uri,
            **egress, **access,
        )
        ec2_target: dict[str, str] = {}
        self.cluster: EmrCluster | None = None
        if spark.cluster.enabled:
            settings = spark.cluster
            self.cluster = EmrCluster(
                self,
                "LongRunning",
                prerequisites=self.emr_base,
                name=f"{config.prefix}-long-running",
                release_label=settings.release_label,
                applications=settings.applications,
                master_fleet=settings.master_fleet,
                core_fleet=settings.core_fleet,
                task_fleet=settings.task_fleet if settings.task_fleet is not None else False,  # null: none
                managed_scaling=settings.managed_scaling if settings.managed_scaling is not None else False,
                spark_limits=settings.spark_limits,
                custom_ami_id=settings.custom_ami_id,
                termination_protected=settings.termination_protected,
            )
            ec2_target["cluster_id"] = self.cluster.cluster_id
        self.transient: TransientClusterProfile | None = None
        if spark.transient.enabled:
            settings = spark.transient
            self.transient = TransientClusterProfile(
                self,
                "Transient",
                name=settings.name,
                name_prefix=config.prefix,
                prerequisites=self.emr_base,
                release_label=settings.release_label,
                master_fleet=settings.master_fleet,
                core_fleet=settings.core_fleet,
                task_fleet=settings.task_fleet if settings.task_fleet is not None else False,  # null: none
                managed_scaling=settings.managed_scaling if settings.managed_scaling is not None else False,
                idle_timeout_minutes=settings.idle_timeout_minutes,
            )
            ec2_target["job_flow_overrides_parameter"] = self.transient.parameter_name

        # Ring-based rollout: the index here; the jobs' parameters in the SparkRouting stacks (build_spark).
        self.rollout = JobRollout(
            self,
            "Rollout",
            catalog=spark.catalog,
            name_prefix=config.prefix,
            serverless_target={
                "application_id": self.serverless.application_id,
                "execution_role_arn": self.job_role.role_arn,
                "state_machine_arn": self.runner.state_machine_arn,
            },
            ec2_target=ec2_target,
            jobs=[],
        )

        # EMR on EKS on the existing cluster.
        self.eks: EmrOnEksVirtualCluster | None = None
        if spark.eks.enabled:
            # Names from the prefix, so two environments can share the account (IAM role names are global).
            eks_kwargs = spark.eks.construct_kwargs()
            eks_kwargs["job_role_name"] = eks_kwargs["job_role_name"] or fit_name(f"{config.prefix}-emr-eks-jobs", 64)
            self.eks = EmrOnEksVirtualCluster(
                self, "EmrOnEks", encryption_key=self.key, log_bucket=self.log_bucket, lake=lake,
                templates_bucket=bucket("PodTemplates"), name=fit_name(f"{config.prefix}-{spark.eks.namespace}", 64),
                code_buckets=[self.artifact_bucket], **eks_kwargs, **access,
            )

        # Flink on EMR.
        self.flink: FlinkOnEmr | None = None
        if spark.flink.enabled:
            self.flink = FlinkOnEmr(
                self,
                "Flink",
                vpc=vpc,
                encryption_key=self.key,
                log_bucket=self.log_bucket,
                ui_allowed_cidrs=spark.flink.ui_allowed_cidrs,  # default none: the REST API has no authentication
                access_logs_bucket=self.access_logs,
                in_transit_certificate_s3_uri=spark.in_transit_certificate_s3_uri,
                **egress,
                flink_rest_port=spark.flink.rest_port,
                release_label=spark.flink.release_label,
                core_fleet=spark.flink.core_fleet,
                artifact_bucket=bucket("FlinkArtifacts"),
                request_bucket=bucket("FlinkRequests"),
                lake=lake,
                **access,
            )
