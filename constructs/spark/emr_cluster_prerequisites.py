"""``EmrClusterPrerequisites``: what every EMR on EC2 cluster needs before it exists (roles, network, encryption)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_emr as emr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..core.inputs import retention_days, string_list
from ..core.nag import BUCKET_OBJECTS, CDK_GRANT_ACTIONS, acknowledge, acknowledge_policies
from ..core.secure_log_group import SecureLogGroup
from ..storage.data_lake_storage import DataLakeStorage, Zone
from ._checks import DEFAULT_HTTPS_EGRESS_CIDRS, fail, https_egress_peers, select_private_subnets
from .emr_scripts import CLOUDWATCH_AGENT_BOOTSTRAP, script_asset
from .spark_job_role import GLUE_TABLES, SparkJobRole

#: Tag the AWS-managed EMR service policy v2 requires on the subnets and security groups EMR uses.
EMR_MANAGED_POLICY_TAG = ("for-use-with-amazon-emr-managed-policies", "true")
#: The scoped AWS-managed policy of the EMR service role.
EMR_SERVICE_POLICY = "service-role/AmazonEMRServicePolicy_v2"
#: Namespace of the node metrics the CloudWatch agent publishes.
METRICS_NAMESPACE = "meshworks/EMR"


class EmrClusterPrerequisites(Construct):
    """The roles, security groups, security configuration, logging and bootstrap script of EMR on EC2 clusters.

    Used by ``EmrCluster`` (long-running), ``TransientClusterProfile`` (clusters created by workflows) and
    ``FlinkOnEmr``; share one between clusters that serve the same data, or give each its own.

    * **Service role** trusted by ``elasticmapreduce.amazonaws.com`` of this account only (``aws:SourceAccount``),
      with the scoped AWS policy ``AmazonEMRServicePolicy_v2`` (acts only on resources tagged
      ``for-use-with-amazon-emr-managed-policies=true``: the security groups here and, with ``tag_subnets``,
      the selected subnets), ``iam:PassRole`` on the instance role only towards EC2, and use of the key for
      EBS encryption (grants only for AWS resources).
    * **Instance role / profile** (a ``SparkJobRole`` trusted by EC2): the given lake zones, Glue databases and
      code buckets only, its cluster log prefix, the bootstrap script, the CloudWatch agent's log group and
      metrics namespace, and the key.
    * **Security groups** managed by you, not EMR's defaults (Goldman Sachs): master, core/task and service
      access, with only the rules EMR documents for private subnets (all traffic between master and core,
      8443 from the service-access group, 9443 into it) and HTTPS egress. Nothing from outside the cluster.
    * **Security configuration**: at-rest encryption with the KMS key for EMRFS objects in S3 (SSE-KMS), local
      disks and EBS volumes; IMDSv2 only; in-transit TLS when a PEM certificate bundle is given.
    * **Logs**: cluster logs to ``s3://<log bucket>/<log prefix>`` encrypted with the key; node logs and
      metrics through the CloudWatch agent bootstrap action to an encrypted log group.

    Example::

        from aws_cdk import App, Stack
        from aws_cdk import aws_iam as iam

        from meshworks.constructs.core import PlatformKey
        from meshworks.constructs.network import PlatformVpc
        from meshworks.constructs.spark import EmrCluster, EmrClusterPrerequisites
        from meshworks.constructs.storage import DataLakeStorage, SecureBucket

        app = App()
        stack = Stack(app, "Spark")
        key = PlatformKey(stack, "Key")
        network = PlatformVpc(stack, "Network")
        lake = DataLakeStorage(stack, "Lake", encryption_key=key)
        logs_bucket = SecureBucket(stack, "Logs", encryption_key=key)
        airflow_role = iam.Role(stack, "Airflow", assumed_by=iam.ServicePrincipal("airflow-env.amazonaws.com"))

        prereqs = EmrClusterPrerequisites(stack, "EmrBase", vpc=network.vpc, encryption_key=key,
                                          log_bucket=logs_bucket, lake=lake, read_zones=["raw"],
                                          read_write_zones=["stage", "curated"], glue_databases=["sales"])
        EmrCluster(stack, "Cluster", prerequisites=prereqs)
        app.synth()

    Args:
        vpc: the VPC.
        encryption_key: encrypts EMRFS objects, local disks, EBS volumes, logs.
        log_bucket: cluster logs go under ``log_prefix`` here.
        log_prefix: Default: ``"emr/<construct id>/"``.
        subnets: Default: the private subnets (at least 2 AZs; instance fleets pick the best AZ).
        tag_subnets: tag the subnets for ``AmazonEMRServicePolicy_v2``. Default: True. Turn off when the
            subnets are tagged elsewhere (e.g. by the stack that owns the VPC).
        lake / read_zones / write_zones / read_write_zones / glue_databases / glue_write_databases / code_buckets:
            data the cluster's jobs may use (see ``SparkJobRole``). Default: none.
        in_transit_certificate_s3_uri: ``s3://.../certs.zip`` PEM bundle to turn on in-transit TLS (the instance
            role may read that object). Default: off.
        https_egress_cidrs / https_egress_prefix_list_ids: where the nodes may open HTTPS connections.
            Default: ``DEFAULT_HTTPS_EGRESS_CIDRS`` (anywhere: AWS endpoints through the NAT gateway), no prefix list.
        log_retention: of the CloudWatch agent's log group. Default: one year.
        removal_policy: of the log group. Default: RETAIN.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        encryption_key: kms.IKey,
        log_bucket: s3.IBucket,
        log_prefix: str | None = None,
        subnets: ec2.SubnetSelection | None = None,
        tag_subnets: bool = True,
        lake: DataLakeStorage | None = None,
        read_zones: Sequence[Zone | str] = (),
        write_zones: Sequence[Zone | str] = (),
        read_write_zones: Sequence[Zone | str] = (),
        glue_databases: Sequence[str] = (),
        glue_write_databases: Sequence[str] = (),
        code_buckets: Sequence[s3.IBucket] = (),
        in_transit_certificate_s3_uri: str | None = None,
        https_egress_cidrs: Sequence[str] = DEFAULT_HTTPS_EGRESS_CIDRS,
        https_egress_prefix_list_ids: Sequence[str] = (),
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        owner = type(self).__name__
        read_zones = string_list(owner, "read_zones", read_zones, example='raw')
        write_zones = string_list(owner, "write_zones", write_zones, example='curated')
        read_write_zones = string_list(owner, "read_write_zones", read_write_zones, example='stage')
        glue_databases = string_list(owner, "glue_databases", glue_databases, example='sales')
        glue_write_databases = string_list(owner, "glue_write_databases", glue_write_databases, example='sales_curated')
        https_egress_cidrs = string_list(owner, "https_egress_cidrs", https_egress_cidrs, example='10.40.0.0/16')
        https_egress_prefix_list_ids = string_list(owner, "https_egress_prefix_list_ids", https_egress_prefix_list_ids, example='pl-6ea54007')
        prefix = log_prefix if log_prefix is not None else f"emr/{construct_id}/"
        if prefix.startswith("/") or not prefix.endswith("/"):
            raise fail(owner, f"log_prefix {prefix!r} must not start with '/' and must end with '/', e.g. 'emr/analytics/'")
        if in_transit_certificate_s3_uri is not None and not (
            in_transit_certificate_s3_uri.startswith("s3://") and in_transit_certificate_s3_uri.endswith(".zip")
        ):
            raise fail(owner, f"in_transit_certificate_s3_uri {in_transit_certificate_s3_uri!r} must be the S3 URI of a PEM zip, e.g. 's3://certs/emr/certs.zip'")
        egress = https_egress_peers(owner, https_egress_cidrs, https_egress_prefix_list_ids)
        super().__init__(scope, construct_id)
        retention_days(type(self).__name__, "log_retention", log_retention)
        stack = Stack.of(self)
        self.vpc = vpc
        self.encryption_key = encryption_key
        self.log_bucket = log_bucket
        self.log_prefix = prefix
        #: The subnets clusters launch into (``Ec2SubnetIds``).
        self.subnets = select_private_subnets(owner, vpc, subnets)
        if tag_subnets:
            for subnet in self.subnets.subnets:
                Tags.of(subnet).add(*EMR_MANAGED_POLICY_TAG, include_resource_types=["AWS::EC2::Subnet"])

        self.master_security_group, self.core_security_group, self.service_access_security_group = self._groups(vpc, egress)

        #: Node logs (CloudWatch agent) and the agent's bootstrap script.
        self.log_group = SecureLogGroup(
            self, "NodeLogs", encryption_key=encryption_key, retention=log_retention, removal_policy=removal_policy
        )
        self.cloudwatch_agent_script = script_asset(self, "CloudWatchAgentScript", "cloudwatch-agent.sh", CLOUDWATCH_AGENT_BOOTSTRAP)

        #: The EC2 instance role (a ``SparkJobRole`` trusted by EC2) and its instance profile.
        self.instance_role = SparkJobRole(
            self,
            "InstanceRole",
            lake=lake,
            read_zones=read_zones,
            write_zones=write_zones,
            read_write_zones=read_write_zones,
            glue_databases=glue_databases,
            glue_write_databases=glue_write_databases,
            code_buckets=code_buckets,
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            passed_to_service="ec2.amazonaws.com",
            description=f"EMR EC2 instance profile role {self.node.path}",
        )
        role = self.instance_role.role
        log_bucket.grant_put(role, f"{prefix}*")
        if in_transit_certificate_s3_uri is not None:  # EMR fetches the PEM bundle with the instance role
            cert_bucket, _, cert_key = in_transit_certificate_s3_uri[len("s3://") :].partition("/")
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ReadInTransitCertificates",
                    actions=["s3:GetObject"],
                    resources=[f"arn:{stack.partition}:s3:::{cert_bucket}/{cert_key}"],
                )
            )
        encryption_key.grant_encrypt_decrypt(role)
        self.cloudwatch_agent_script.grant_read(role)
        self.log_group.grant_write(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="NodeMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
            )
        )
        self.instance_profile = iam.InstanceProfile(self, "InstanceProfile", role=role)

        #: The EMR service role.
        self.service_role = iam.Role(
            self,
            "ServiceRole",
            assumed_by=iam.ServicePrincipal(
                "elasticmapreduce.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:elasticmapreduce:{stack.region}:{stack.account}:*"},
                },
            ),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(EMR_SERVICE_POLICY)],
            description=f"EMR service role {self.node.path}",
        )
        self.instance_role.grant_pass_role(self.service_role)
        encryption_key.grant_encrypt_decrypt(self.service_role)
        self.service_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EbsEncryptionGrants",
                actions=["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                resources=[encryption_key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )

        #: The security configuration (name: ``security_configuration.ref``).
        self.security_configuration = emr.CfnSecurityConfiguration(
            self, "SecurityConfiguration", security_configuration=self.security_configuration_document(in_transit_certificate_s3_uri)
        )
        self._acknowledge()

    # ------------------------------------------------------------------------------------------------
    def _groups(self, vpc: ec2.IVpc, egress: Sequence[ec2.IPeer]) -> tuple[ec2.SecurityGroup, ec2.SecurityGroup, ec2.SecurityGroup]:
        def group(name: str, description: str) -> ec2.SecurityGroup:
            created = ec2.SecurityGroup(self, name, vpc=vpc, description=description, allow_all_outbound=False)
            Tags.of(created).add(*EMR_MANAGED_POLICY_TAG, include_resource_types=["AWS::EC2::SecurityGroup"])
            return created

        master = group("MasterSecurityGroup", f"{self.node.path}: EMR primary node (cluster-internal only)")
        core = group("CoreSecurityGroup", f"{self.node.path}: EMR core and task nodes (cluster-internal only)")
        service = group("ServiceAccessSecurityGroup", f"{self.node.path}: EMR service access from private subnets")
        for node_group in (master, core):
            for peer in (master, core):
                node_group.add_ingress_rule(peer, ec2.Port.all_traffic(), "Cluster-internal traffic")
                node_group.add_egress_rule(peer, ec2.Port.all_traffic(), "Cluster-internal traffic")
            node_group.add_ingress_rule(service, ec2.Port.tcp(8443), "EMR service access")
            for peer in egress:
                node_group.add_egress_rule(peer, ec2.Port.tcp(443), "HTTPS to AWS APIs and endpoints")
        service.add_ingress_rule(master, ec2.Port.tcp(9443), "Primary node to EMR service access")
        service.add_egress_rule(master, ec2.Port.tcp(8443), "EMR service access to the primary node")
        service.add_egress_rule(core, ec2.Port.tcp(8443), "EMR service access to core and task nodes")
        for node_group in (master, core):
            for rule in node_group.node.children:
                if isinstance(rule, ec2.CfnSecurityGroupIngress) and rule.ip_protocol == "-1":
                    acknowledge(
                        rule,
                        {
                            "NIST.800.53.R5-EC2RestrictedCommonPorts": "All traffic is admitted only from the "
                            "cluster's own primary and core/task security groups, as EMR requires between nodes "
                            "(YARN, HDFS, Spark shuffle use dynamic ports); nothing outside the cluster is admitted.",
                        },
                    )
        return master, core, service

    def security_configuration_document(self, certificate_s3_uri: str | None = None) -> dict:
        """The security configuration JSON (encryption at rest with the key; TLS in transit with a certificate)."""
        encryption: dict = {
            "EnableAtRestEncryption": True,
            "EnableInTransitEncryption": certificate_s3_uri is not None,
            "AtRestEncryptionConfiguration": {
                "S3EncryptionConfiguration": {"EncryptionMode": "SSE-KMS", "AwsKmsKey": self.encryption_key.key_arn},
                "LocalDiskEncryptionConfiguration": {
                    "EncryptionKeyProviderType": "AwsKms",
                    "AwsKmsKey": self.encryption_key.key_arn,
                    "EnableEbsEncryption": True,
                },
            },
        }
        if certificate_s3_uri is not None:
            encryption["InTransitEncryptionConfiguration"] = {
                "TLSCertificateConfiguration": {"CertificateProviderType": "PEM", "S3Object": certificate_s3_uri}
            }
        return {
            "EncryptionConfiguration": encryption,
            "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": 2, "HttpPutResponseHopLimit": 1},
        }

    def _acknowledge(self) -> None:
        acknowledge_policies(
            self,
            [
                CDK_GRANT_ACTIONS,
                BUCKET_OBJECTS,
                GLUE_TABLES,
                (r"Resource::\*", "cloudwatch:PutMetricData has no resource-level permissions; the statement is "
                 "limited to the meshworks/EMR namespace by the cloudwatch:namespace condition."),
            ],
            extra={
                "NIST.800.53.R5-IAMNoInlinePolicy": "Each role serves these EMR clusters only; its inline policy is "
                "generated by grant_* calls scoped to the buckets, key, log group and role it uses.",
            },
        )
        acknowledge(
            self.service_role,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2]": (
                    "AWS's scoped EMR service policy v2: it only acts on resources tagged "
                    "for-use-with-amazon-emr-managed-policies=true (these security groups and subnets) and is "
                    "maintained by AWS as EMR adds features; a hand-written copy would drift."
                ),
                "NIST.800.53.R5-IAMNoInlinePolicy": "Generated by grant_* calls: PassRole on this construct's "
                "instance role only and the key's use for EBS volumes.",
            },
        )

    # ------------------------------------------------------------------------------------------------
    @property
    def log_uri(self) -> str:
        """``s3://<log bucket>/<log prefix>``."""
        return f"s3://{self.log_bucket.bucket_name}/{self.log_prefix}"

    def cloudwatch_agent_bootstrap(self, cluster_label: str) -> dict:
        """The CloudWatch agent bootstrap action (CloudFormation shape, PascalCase keys)."""
        return {
            "Name": "cloudwatch-agent",
            "ScriptBootstrapAction": {
                "Path": self.cloudwatch_agent_script.s3_object_url,
                "Args": [self.log_group.log_group_name, METRICS_NAMESPACE, cluster_label],
            },
        }

    def instances_network(self) -> dict:
        """Network part of ``JobFlowInstancesConfig`` (CloudFormation shape, PascalCase keys)."""
        return {
            "Ec2SubnetIds": self.subnets.subnet_ids,
            "EmrManagedMasterSecurityGroup": self.master_security_group.security_group_id,
            "EmrManagedSlaveSecurityGroup": self.core_security_group.security_group_id,
            "ServiceAccessSecurityGroup": self.service_access_security_group.security_group_id,
        }
