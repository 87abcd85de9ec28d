"""``EmrOnEksVirtualCluster``: EMR on EKS on an existing cluster and namespace (SailPoint reused theirs)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_emrcontainers as emrc
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..core.inputs import object_list, retention_days, string_list
from ..core.nag import BUCKET_OBJECTS, CDK_GRANT_ACTIONS, acknowledge, acknowledge_grant, acknowledge_policies
from ..core.removal import resolve_removal_policy
from ..core.secure_log_group import SecureLogGroup
from ..storage.data_lake_storage import DataLakeStorage, Zone
from ..storage.secure_bucket import SecureBucket
from ._checks import check_role_name, fail
from .models import DEFAULT_EMR_SERVERLESS_RELEASE, Engine, SparkLimits
from .spark_job_role import GLUE_TABLES, LOG_GROUP_LISTING, SparkJobRole
from .spark_job_runner import SparkJobRunner

#: EMR on EKS release used by default: the EMR 7.x release of the other engines, latest image build.
DEFAULT_EKS_RELEASE = f"{DEFAULT_EMR_SERVERLESS_RELEASE}-latest"

#: Pod templates stored by default: Graviton nodes, On-Demand driver, Spot executors (managed node groups).
DEFAULT_POD_TEMPLATES: dict[str, str] = {
    "driver.yaml": """apiVersion: v1
kind: Pod
spec:
  nodeSelector:
    kubernetes.io/arch: arm64
    eks.amazonaws.com/capacityType: ON_DEMAND
  containers:
    - name: spark-kubernetes-driver
""",
    "executor.yaml": """apiVersion: v1
kind: Pod
spec:
  nodeSelector:
    kubernetes.io/arch: arm64
    eks.amazonaws.com/capacityType: SPOT
  containers:
    - name: spark-kubernetes-executor
""",
}

_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_OIDC_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):oidc-provider/(oidc\.eks\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/id/[A-Za-z0-9]+)$")
_EKS_RELEASE = re.compile(r"^emr-(\d+)\.(\d+)\.(\d+)-(latest|\d{8})$")
_VC_NAME = re.compile(r"^[.\-_/#A-Za-z0-9]{1,64}$")


def base36_role_name(role_name: str) -> str:
    """The role name as EMR on EKS encodes it in its service-account names (the name's bytes, big-endian,
    written in base 36 with digits and lower-case letters)."""
    number = int.from_bytes(role_name.encode("utf-8"), "big")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    encoded = ""
    while number:
        number, remainder = divmod(number, 36)
        encoded = digits[remainder] + encoded
    return encoded or "0"


class EmrOnEksVirtualCluster(Construct):
    """An EMR on EKS virtual cluster on an imported EKS cluster and namespace, with its job role and runner.

    * **Virtual cluster** (``AWS::EMRContainers::VirtualCluster``) on the existing cluster ``eks_cluster_name``,
      namespace ``namespace`` (EMR's RBAC for the namespace must be set up once: ``eksctl create iamidentitymapping
      --service-name emr-containers``).
    * **Job execution role** trusted through IRSA by the cluster's OIDC provider, only for the service accounts
      EMR creates in that namespace for this role (``system:serviceaccount:<ns>:emr-containers-sa-*-*-<account>-
      <base36 role name>``, audience ``sts.amazonaws.com``) - the trust ``aws emr-containers
      update-role-trust-policy`` would write, computed at synth time, so the role name is fixed (``job_role_name``).
      Data access as for ``SparkJobRole`` (lake zones, Glue databases, code buckets), plus its logs.
    * **Pod templates** (driver on On-Demand, executors on Spot, Graviton) in a ``SecureBucket``, wired into
      ``configuration_overrides()`` with the Spark limits (``maxExecutors`` cap) and the log destinations
      (S3 prefix, encrypted CloudWatch log group, persistent UI).
    * Optional **ECR repository** for custom images: KMS-encrypted, scan on push, immutable tags, retained.
    * A ``SparkJobRunner`` (``arn:aws:states:::emr-containers:startJobRun.sync``) unless ``job_runner=False``.

    Example::

        from aws_cdk import App, Stack
        from aws_cdk import aws_iam as iam

        from meshworks.constructs.core import PlatformKey
        from meshworks.constructs.network import PlatformVpc
        from meshworks.constructs.spark import EmrOnEksVirtualCluster
        from meshworks.constructs.storage import DataLakeStorage, SecureBucket

        app = App()
        stack = Stack(app, "Spark")
        key = PlatformKey(stack, "Key")
        network = PlatformVpc(stack, "Network")
        lake = DataLakeStorage(stack, "Lake", encryption_key=key)
        logs_bucket = SecureBucket(stack, "Logs", encryption_key=key)
        airflow_role = iam.Role(stack, "Airflow", assumed_by=iam.ServicePrincipal("airflow-env.amazonaws.com"))

        eks = EmrOnEksVirtualCluster(stack, "Eks", eks_cluster_name="analytics", namespace="spark",
                                     oidc_provider_arn="arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC123",
                                     job_role_name="analytics-spark-jobs", encryption_key=key,
                                     lake=lake, read_zones=["raw"], write_zones=["curated"], create_ecr_repository=True)
        eks.job_runner.grant_start_execution(airflow_role)
        app.synth()

    Args:
        eks_cluster_name: the existing EKS cluster.
        namespace: the existing Kubernetes namespace.
        oidc_provider_arn: the cluster's IAM OIDC provider ARN.
        job_role_name: fixed name of the job role (needed by the IRSA condition). Default: ``<cluster>-<namespace>-emr-jobs``.
        encryption_key: encrypts templates, logs, images, the runner.
        name: virtual cluster name. Default: ``<cluster>-<namespace>``.
        release_label: ``emr-X.Y.Z-latest`` or ``emr-X.Y.Z-YYYYMMDD``. Default: ``DEFAULT_EKS_RELEASE``.
        spark_limits: Spark settings of every job. Default: ``SparkLimits(max_executors=50, executor_cores=4)``.
        pod_templates: file name -> YAML; ``driver.yaml`` / ``executor.yaml`` are wired in. Default: ``DEFAULT_POD_TEMPLATES``.
        templates_bucket / log_bucket: Default: new ``SecureBucket``s (``self.templates_bucket``, ``self.log_bucket``).
        lake / read_zones / write_zones / read_write_zones / glue_databases / glue_write_databases / code_buckets:
            the job role's data (see ``SparkJobRole``).
        create_ecr_repository: Default: False. ecr_repository_name: Default: generated.
        job_runner: build a ``SparkJobRunner``. Default: True. topic: its failure topic. Default: a new one.
        log_retention: Default: one year. removal_policy: Default: RETAIN.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        eks_cluster_name: str,
        namespace: str,
        oidc_provider_arn: str,
        encryption_key: kms.IKey,
        job_role_name: str | None = None,
        name: str | None = None,
        release_label: str = DEFAULT_EKS_RELEASE,
        spark_limits: SparkLimits | None = None,
        pod_templates: Mapping[str, str] | None = None,
        templates_bucket: s3.IBucket | None = None,
        log_bucket: s3.IBucket | None = None,
        lake: DataLakeStorage | None = None,
        read_zones: Sequence[Zone | str] = (),
        write_zones: Sequence[Zone | str] = (),
        read_write_zones: Sequence[Zone | str] = (),
        glue_databases: Sequence[str] = (),
        glue_write_databases: Sequence[str] = (),
        code_buckets: Sequence[s3.IBucket] = (),
        create_ecr_repository: bool = False,
        ecr_repository_name: str | None = None,
        job_runner: bool = True,
        topic: sns.ITopic | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        owner = type(self).__name__
        read_zones = string_list(owner, "read_zones", read_zones, example='raw')
        code_buckets = object_list(owner, "code_buckets", code_buckets, kind="s3.IBucket objects")
        write_zones = string_list(owner, "write_zones", write_zones, example='curated')
        read_write_zones = string_list(owner, "read_write_zones", read_write_zones, example='stage')
        glue_databases = string_list(owner, "glue_databases", glue_databases, example='sales')
        glue_write_databases = string_list(owner, "glue_write_databases", glue_write_databases, example='sales_curated')
        if not isinstance(eks_cluster_name, str) or not _CLUSTER_NAME.match(eks_cluster_name):
            raise fail(owner, f"eks_cluster_name {eks_cluster_name!r} is not an EKS cluster name: use letters, digits, '-' and '_' (1..100), e.g. 'analytics'")
        if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
            raise fail(owner, f"namespace {namespace!r} is not a Kubernetes namespace: use 1..63 lower-case letters, digits and '-', e.g. 'spark-jobs'")
        match = _OIDC_ARN.match(str(oidc_provider_arn))
        if not match:
            raise fail(
                owner,
                f"oidc_provider_arn {oidc_provider_arn!r} is not an EKS OIDC provider ARN: use "
                "'arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>' "
                "(aws eks describe-cluster --query cluster.identity.oidc.issuer)",
            )
        release_match = _EKS_RELEASE.match(str(release_label))
        if not release_match or int(release_match.group(1)) < 6:
            raise fail(owner, f"release_label {release_label!r} is not an EMR on EKS release: use e.g. '{DEFAULT_EKS_RELEASE}' or 'emr-7.5.0-20241126'")
        role_name = job_role_name or f"{eks_cluster_name}-{namespace}-emr-jobs"[:64]
        check_role_name(owner, "job_role_name", role_name)
        vc_name = name or f"{eks_cluster_name}-{namespace}"[:64]
        if not _VC_NAME.match(vc_name):
            raise fail(owner, f"name {vc_name!r} is not a virtual cluster name: use 1..64 letters, digits and '._/#-'")
        templates = dict(pod_templates if pod_templates is not None else DEFAULT_POD_TEMPLATES)
        for file_name in templates:
            if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*\.ya?ml", file_name):
                raise fail(owner, f"pod_templates key {file_name!r} must be a YAML file name, e.g. 'driver.yaml'")
        limits = spark_limits if spark_limits is not None else SparkLimits(max_executors=50, executor_cores=4)
        if limits.max_executors is None:
            raise fail(owner, "spark_limits.max_executors is not set: cap spark.dynamicAllocation.maxExecutors (GoDaddy)")
        super().__init__(scope, construct_id)
        retention_days(type(self).__name__, "log_retention", log_retention)
        stack = Stack.of(self)
        provider = match.group(2)
        self.eks_cluster_name, self.namespace, self.release_label = eks_cluster_name, namespace, release_label
        self.encryption_key = encryption_key
        self.spark_limits = limits
        self.templates_bucket: s3.IBucket = templates_bucket or SecureBucket(
            self, "PodTemplates", encryption_key=encryption_key, removal_policy=removal_policy
        )
        self.log_bucket: s3.IBucket = log_bucket or SecureBucket(
            self, "Logs", encryption_key=encryption_key, removal_policy=removal_policy
        )
        self.log_prefix = f"emr-eks/{vc_name}/"
        self.log_group = SecureLogGroup(
            self, "LogGroup", encryption_key=encryption_key, retention=log_retention, removal_policy=removal_policy
        )

        #: The IRSA condition EMR's service accounts must meet (also used by tests and docs).
        self.service_account_pattern = (
            f"system:serviceaccount:{namespace}:emr-containers-sa-*-*-{stack.account}-{base36_role_name(role_name)}"
        )
        principal = iam.FederatedPrincipal(
            oidc_provider_arn,
            conditions={
                "StringLike": {f"{provider}:sub": self.service_account_pattern},
                "StringEquals": {f"{provider}:aud": "sts.amazonaws.com"},
            },
            assume_role_action="sts:AssumeRoleWithWebIdentity",
        )
        self.job_role = SparkJobRole(
            self,
            "JobRole",
            lake=lake,
            read_zones=read_zones,
            write_zones=write_zones,
            read_write_zones=read_write_zones,
            glue_databases=glue_databases,
            glue_write_databases=glue_write_databases,
            code_buckets=[*code_buckets, self.templates_bucket],
            assumed_by=principal,
            passed_to_service="emr-containers.amazonaws.com",
            role_name=role_name,
            description=f"EMR on EKS job role for {eks_cluster_name}/{namespace}",
        )
        role = self.job_role.role
        self.log_bucket.grant_put(role, f"{self.log_prefix}*")
        self.log_group.grant_write(role)
        self.log_group.grant(role, "logs:DescribeLogStreams")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:DescribeLogGroups"],
                resources=[stack.format_arn(service="logs", resource="log-group", resource_name="*",
                                            arn_format=ArnFormat.COLON_RESOURCE_NAME)],
            )
        )
        encryption_key.grant_encrypt_decrypt(role)

        self.virtual_cluster = emrc.CfnVirtualCluster(
            self,
            "VirtualCluster",
            name=vc_name,
            container_provider=emrc.CfnVirtualCluster.ContainerProviderProperty(
                id=eks_cluster_name,
                type="EKS",
                info=emrc.CfnVirtualCluster.ContainerInfoProperty(
                    eks_info=emrc.CfnVirtualCluster.EksInfoProperty(namespace=namespace)
                ),
            ),
        )
        self.pod_template_uris = {file_name: f"s3://{self.templates_bucket.bucket_name}/pod-templates/{file_name}" for file_name in templates}
        self._deploy_templates(templates, log_retention)

        self.repository: ecr.Repository | None = None
        if create_ecr_repository:
            self.repository = ecr.Repository(
                self,
                "Images",
                repository_name=ecr_repository_name,
                image_scan_on_push=True,
                image_tag_mutability=ecr.TagMutability.IMMUTABLE,
                encryption=ecr.RepositoryEncryption.KMS,
                encryption_key=encryption_key,
                lifecycle_rules=[ecr.LifecycleRule(description="Keep the last 50 images", max_image_count=50)],
                removal_policy=resolve_removal_policy(self, removal_policy),
            )

        self.job_runner: SparkJobRunner | None = None
        if job_runner:
            self.job_runner = SparkJobRunner(self, "Runner", virtual_cluster=self, job_role=self.job_role,
                                             encryption_key=encryption_key, topic=topic)
        acknowledge_policies(
            self,
            [CDK_GRANT_ACTIONS, BUCKET_OBJECTS, GLUE_TABLES, LOG_GROUP_LISTING],
            extra={
                "NIST.800.53.R5-IAMNoInlinePolicy": "Each role serves this virtual cluster only; its inline policy "
                "is generated by grant_* calls scoped to the buckets, key and log group it uses.",
            },
        )

    def _deploy_templates(self, templates: dict[str, str], log_retention: logs.RetentionDays) -> None:
        """Upload the pod templates with a ``BucketDeployment`` running under a role and log group of ours."""
        deploy_role = iam.Role(
            self, "TemplateDeployRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Uploads the pod templates of {self.node.path}",
        )
        deploy_logs = SecureLogGroup(self, "TemplateDeployLogs", encryption_key=self.encryption_key, retention=log_retention)
        deploy_logs.grant_write(deploy_role)
        self.templates_deployment = s3deploy.BucketDeployment(
            self,
            "PodTemplateFiles",
            destination_bucket=self.templates_bucket,
            destination_key_prefix="pod-templates/",
            sources=[s3deploy.Source.data(file_name, body) for file_name, body in sorted(templates.items())],
            role=deploy_role,
            log_group=deploy_logs,
            retain_on_delete=True,
            prune=True,
            memory_limit=256,
        )
        for child in Stack.of(self).node.children:
            if isinstance(child, lambda_.SingletonFunction) or child.node.id.startswith("Custom::CDKBucketDeployment"):
                function = child.node.default_child or child
                acknowledge(
                    function,
                    {
                        "NIST.800.53.R5-LambdaConcurrency": "CDK's BucketDeployment handler runs once per deployment "
                        "(CloudFormation custom resource); it is never invoked by untrusted callers.",
                        "NIST.800.53.R5-LambdaDLQ": "Invoked synchronously by CloudFormation, which reports and rolls "
                        "back a failed upload; there is no asynchronous event to park.",
                        "NIST.800.53.R5-LambdaInsideVPC": "It only copies small files between S3 buckets through AWS "
                        "APIs; no private network resource is involved.",
                        "AwsSolutions-L1": "The runtime is chosen and updated by aws-cdk-lib's BucketDeployment.",
                    },
                )

    # ------------------------------------------------------------------------------------------------
    @property
    def virtual_cluster_id(self) -> str:
        """The virtual cluster id."""
        return self.virtual_cluster.attr_id

    @property
    def virtual_cluster_arn(self) -> str:
        """The virtual cluster ARN."""
        return self.virtual_cluster.attr_arn

    def configuration_overrides(self) -> dict[str, Any]:
        """``ConfigurationOverrides`` of a StartJobRun: Spark limits, pod templates, logs (CloudFormation casing)."""
        properties = dict(self.spark_limits.to_spark_defaults(Engine.EMR_EC2))
        if "driver.yaml" in self.pod_template_uris:
            properties["spark.kubernetes.driver.podTemplateFile"] = self.pod_template_uris["driver.yaml"]
        if "executor.yaml" in self.pod_template_uris:
            properties["spark.kubernetes.executor.podTemplateFile"] = self.pod_template_uris["executor.yaml"]
        return {
            "ApplicationConfiguration": [{"Classification": "spark-defaults", "Properties": dict(sorted(properties.items()))}],
            "MonitoringConfiguration": {
                "PersistentAppUI": "ENABLED",
                "CloudWatchMonitoringConfiguration": {
                    "LogGroupName": self.log_group.log_group_name,
                    "LogStreamNamePrefix": self.namespace,
                },
                "S3MonitoringConfiguration": {"LogUri": f"s3://{self.log_bucket.bucket_name}/{self.log_prefix}"},
            },
        }

    def grant_pull(self, grantee: iam.IGrantable) -> None:
        """Pull images from the ECR repository (e.g. the EKS node role)."""
        if self.repository is None:
            raise ValueError("EmrOnEksVirtualCluster: no ECR repository; pass create_ecr_repository=True")
        self.repository.grant_pull(grantee)
        acknowledge_grant(
            grantee,
            [(r"Resource::\*", "ecr:GetAuthorizationToken has no resource-level permission; image pulls are "
              "limited to this repository by the other statement.")],
        )

