"""``FlinkOnEmr``: Goldman Sachs' long-running Flink on EMR, with S3-triggered jar upload and job runs."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..core.dead_letter_queue import DeadLetterQueue, dead_letter_alarm
from ..core.inputs import string_list
from ..core.nag import BUCKET_OBJECTS, CDK_GRANT_ACTIONS, acknowledge, acknowledge_grant, acknowledge_policies
from ..core.platform_function import PlatformFunction
from ..core.platform_key import allow_service_to_use_key
from ..storage.access_logs_bucket import AccessLogsBucket
from ..storage.data_lake_storage import DataLakeStorage, Zone
from ..storage.secure_bucket import SecureBucket
from ._checks import DEFAULT_HTTPS_EGRESS_CIDRS, check_cidrs, check_range, fail
from .emr_cluster import DEFAULT_EMR_RELEASE, EmrCluster, default_core_fleet, default_master_fleet
from .emr_cluster_prerequisites import EmrClusterPrerequisites
from .emr_scripts import FLINK_SESSION_STEP, script_asset
from .models import InstanceFleetSpec, ManagedScaling

#: Prefixes of the two buckets (the Lambdas' defaults, set explicitly).
JAR_PREFIX = "jars/"
JAR_ID_PREFIX = "jar-ids/"
REQUEST_PREFIX = "requests/"
RESULT_PREFIX = "results/"
STATE_PREFIX = "runner-state/"


class FlinkOnEmr(Construct):
    """A long-running EMR cluster running a Flink YARN session, driven through S3 (Goldman Sachs' design).

    * **Cluster**: an ``EmrCluster`` with Flink (termination protection, KMS encryption at rest, restrictive
      security groups, CloudWatch agent bootstrap). A step starts a detached Flink session with the REST API
      on ``flink_rest_port`` and registers the JobManager's address in the NLB's target group.
    * **Flink UI / REST API** behind an **internal** Network Load Balancer with one TCP listener, on the Flink
      REST port only (no SSH, YARN or HDFS UIs), reachable from ``ui_allowed_cidrs`` and the two Lambdas; the
      cluster's security groups admit that port from the NLB only. Flink's cancel button is turned off
      (``web.cancel.enable: false``).
    * **Artifact bucket**: a jar copied to ``jars/<name>.jar`` triggers (S3 -> EventBridge) the
      ``flink.jar_uploader`` Lambda, which uploads it to Flink and records the jar id in ``jar-ids/<name>.jar.json``.
    * **Request bucket**: a request file ``requests/<path>.json`` triggers the ``flink.job_runner`` Lambda,
      which runs the jar with the request's parameters and writes ``results/<path>.json`` (SUCCEEDED/FAILED).
    * Both Lambdas are ``PlatformFunction``s in the VPC with least privilege: exactly the prefixes above, the
      bucket key, and network access to the NLB's port.
    * **Failure paths**: each EventBridge target retries twice into ``rule_dead_letter_queue``, each function's
      failed asynchronous invocations land in its own dead-letter queue, and ``alarms`` (one per queue, at the
      first message) watch them all: add your alarm actions to them (``add_alarm_action``).

    Example::

        from aws_cdk import App, Environment, Stack
        from aws_cdk import aws_iam as iam

        from meshworks.constructs.core import PlatformKey, pin_availability_zones
        from meshworks.constructs.network import PlatformVpc
        from meshworks.constructs.spark import FlinkOnEmr
        from meshworks.constructs.storage import DataLakeStorage, SecureBucket

        app = App()
        stack = Stack(app, "Flink", env=Environment(account="222222222222", region="eu-west-1"))
        pin_availability_zones(stack, ["eu-west-1a", "eu-west-1b"])   # no lookup: synthesizes offline
        key = PlatformKey(stack, "Key")
        network = PlatformVpc(stack, "Network", availability_zones=["eu-west-1a", "eu-west-1b"])
        lake = DataLakeStorage(stack, "Lake", encryption_key=key)
        logs_bucket = SecureBucket(stack, "Logs", encryption_key=key)
        airflow_role = iam.Role(stack, "Airflow", assumed_by=iam.ServicePrincipal("airflow-env.amazonaws.com"))

        flink = FlinkOnEmr(stack, "Flink", vpc=network.vpc, encryption_key=key, log_bucket=logs_bucket,
                           ui_allowed_cidrs=["10.0.0.0/8"], lake=lake, read_zones=["curated"])
        # deploy:  aws s3 cp persona-tagging.jar s3://<flink.artifact_bucket>/jars/
        # run:     aws s3 cp request.json s3://<flink.request_bucket>/requests/team/2024-05-01.json
        app.synth()

    Args:
        vpc / encryption_key / log_bucket: network, key and cluster-log bucket.
        ui_allowed_cidrs: networks allowed to the Flink UI/REST port (no authentication, jar submission on: list
            only networks of the people who run Flink jobs). Default: none (the two Lambdas only).
        flink_rest_port: Default: 8081.
        release_label: Default: ``DEFAULT_EMR_RELEASE``.
        master_fleet / core_fleet / task_fleet / managed_scaling: Default: one On-Demand primary node, two
            On-Demand core units, no task fleet, no managed scaling (a steady streaming cluster).
        lake / read_zones / write_zones / read_write_zones / glue_databases / glue_write_databases: the Flink
            jobs' data (the instance role, see ``SparkJobRole``).
        artifact_bucket / request_bucket: Default: new ``SecureBucket``s.
        tag_subnets: see ``EmrClusterPrerequisites``. Default: True.
        nlb_deletion_protection: Default: True.
        access_logs_bucket: NLB access logs (SSE-S3 bucket; ELB log delivery is allowed by its policy). NLB
            access logs record TLS listeners only; the TCP listener's connections are in the VPC flow logs.
            Default: a new ``AccessLogsBucket`` (``self.access_logs_bucket``).
        in_transit_certificate_s3_uri / https_egress_cidrs / https_egress_prefix_list_ids: see
            ``EmrClusterPrerequisites``. Default: no in-transit TLS; HTTPS egress anywhere.
        removal_policy: of buckets and log groups. Default: RETAIN.
        alarm_topic: where the dead-letter alarms go. Default: a new topic encrypted with
            ``encryption_key`` (``self.alarm_topic``) to subscribe the operators to.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        encryption_key: kms.IKey,
        log_bucket: s3.IBucket,
        ui_allowed_cidrs: Sequence[str] = (),
        flink_rest_port: int = 8081,
        release_label: str = DEFAULT_EMR_RELEASE,
        master_fleet: InstanceFleetSpec | None = None,
        core_fleet: InstanceFleetSpec | None = None,
        task_fleet: InstanceFleetSpec | None = None,
        managed_scaling: ManagedScaling | None = None,
        lake: DataLakeStorage | None = None,
        read_zones: Sequence[Zone | str] = (),
        write_zones: Sequence[Zone | str] = (),
        read_write_zones: Sequence[Zone | str] = (),
        glue_databases: Sequence[str] = (),
        glue_write_databases: Sequence[str] = (),
        artifact_bucket: s3.IBucket | None = None,
        request_bucket: s3.IBucket | None = None,
        tag_subnets: bool = True,
        nlb_deletion_protection: bool = True,
        access_logs_bucket: s3.IBucket | None = None,
        in_transit_certificate_s3_uri: str | None = None,
        https_egress_cidrs: Sequence[str] = DEFAULT_HTTPS_EGRESS_CIDRS,
        https_egress_prefix_list_ids: Sequence[str] = (),
        removal_policy: RemovalPolicy | None = None,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        owner = type(self).__name__
        ui_allowed_cidrs = string_list(owner, "ui_allowed_cidrs", ui_allowed_cidrs, example='10.0.0.0/8')
        read_zones = string_list(owner, "read_zones", read_zones, example='raw')
        write_zones = string_list(owner, "write_zones", write_zones, example='curated')
        read_write_zones = string_list(owner, "read_write_zones", read_write_zones, example='stage')
        glue_databases = string_list(owner, "glue_databases", glue_databases, example='sales')
        glue_write_databases = string_list(owner, "glue_write_databases", glue_write_databases, example='sales_curated')
        https_egress_cidrs = string_list(owner, "https_egress_cidrs", https_egress_cidrs, example='10.40.0.0/16')
        https_egress_prefix_list_ids = string_list(owner, "https_egress_prefix_list_ids", https_egress_prefix_list_ids, example='pl-6ea54007')
        cidrs = check_cidrs(owner, "ui_allowed_cidrs", ui_allowed_cidrs)
        check_range(owner, "flink_rest_port", flink_rest_port, 1024, 65535)
        if flink_rest_port in (8443, 9443):
            raise fail(owner, f"flink_rest_port {flink_rest_port} is used by EMR service access: choose another, e.g. 8081")
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.flink_rest_port = flink_rest_port
        self.prerequisites = EmrClusterPrerequisites(
            self, "Prerequisites", vpc=vpc, encryption_key=encryption_key, log_bucket=log_bucket,
            log_prefix=f"emr/{construct_id}/", tag_subnets=tag_subnets, lake=lake, read_zones=read_zones,
            write_zones=write_zones, read_write_zones=read_write_zones, glue_databases=glue_databases,
            glue_write_databases=glue_write_databases, removal_policy=removal_policy,
            in_transit_certificate_s3_uri=in_transit_certificate_s3_uri, https_egress_cidrs=https_egress_cidrs,
            https_egress_prefix_list_ids=https_egress_prefix_list_ids,
        )
        pre = self.prerequisites

        # Internal NLB in front of the Flink REST port.
        self.nlb_security_group = ec2.SecurityGroup(
            self, "UiSecurityGroup", vpc=vpc, allow_all_outbound=False,
            description=f"{self.node.path}: Flink UI/REST through the internal NLB",
        )
        for cidr in cidrs:
            self.nlb_security_group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(flink_rest_port), "Flink UI users")
        for node_group in (pre.master_security_group, pre.core_security_group):
            self.nlb_security_group.add_egress_rule(node_group, ec2.Port.tcp(flink_rest_port), "To the Flink JobManager")
            node_group.add_ingress_rule(self.nlb_security_group, ec2.Port.tcp(flink_rest_port), "Flink REST from the NLB")
        self.load_balancer = elbv2.NetworkLoadBalancer(
            self, "Ui", vpc=vpc, internet_facing=False, vpc_subnets=ec2.SubnetSelection(subnets=pre.subnets.subnets),
            security_groups=[self.nlb_security_group], cross_zone_enabled=True,
            deletion_protection=nlb_deletion_protection,
        )
        #: Where the NLB writes its access logs.
        self.access_logs_bucket: s3.IBucket = access_logs_bucket or AccessLogsBucket(
            self, "UiAccessLogs", removal_policy=removal_policy
        )
        self.load_balancer.log_access_logs(self.access_logs_bucket, f"nlb/{construct_id}")
        self.target_group = elbv2.NetworkTargetGroup(
            self, "JobManager", vpc=vpc, port=flink_rest_port, protocol=elbv2.Protocol.TCP,
            target_type=elbv2.TargetType.IP,
            health_check=elbv2.HealthCheck(protocol=elbv2.Protocol.HTTP, path="/config", port=str(flink_rest_port)),
        )
        self.listener = self.load_balancer.add_listener(
            "Rest", port=flink_rest_port, protocol=elbv2.Protocol.TCP, default_target_groups=[self.target_group]
        )
        #: The URL the Lambdas (and users) call.
        self.flink_rest_url = f"http://{self.load_balancer.load_balancer_dns_name}:{flink_rest_port}"

        # The cluster and the step that starts the Flink session.
        session_script = script_asset(self, "FlinkSessionScript", "flink-session.sh", FLINK_SESSION_STEP)
        session_script.grant_read(pre.instance_role.role)
        pre.instance_role.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RegisterFlinkJobManager",
                actions=["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                resources=[self.target_group.target_group_arn],
            )
        )
        self.cluster = EmrCluster(
            self,
            "Cluster",
            prerequisites=pre,
            release_label=release_label,
            applications=("Flink", "Hadoop"),
            master_fleet=master_fleet or default_master_fleet(),
            core_fleet=core_fleet or default_core_fleet(),
            task_fleet=task_fleet if task_fleet is not None else False,  # Flink's default: none
            managed_scaling=managed_scaling if managed_scaling is not None else False,
            spark_limits=False,
            extra_configurations=[
                {
                    "Classification": "flink-conf",
                    "ConfigurationProperties": {
                        "rest.port": str(flink_rest_port),
                        "web.cancel.enable": "false",
                        "web.submit.enable": "true",
                    },
                }
            ],
            steps=[
                {
                    "Name": "start-flink-session",
                    "ActionOnFailure": "CONTINUE",
                    "HadoopJarStep": {
                        "Jar": f"s3://{stack.region}.elasticmapreduce/libs/script-runner/script-runner.jar",
                        "Args": [session_script.s3_object_url, self.target_group.target_group_arn,
                                 str(flink_rest_port), stack.region],
                    },
                }
            ],
        )

        # Buckets and the two Lambdas.
        self.artifact_bucket: s3.IBucket = artifact_bucket or SecureBucket(
            self, "Artifacts", encryption_key=encryption_key, removal_policy=removal_policy
        )
        self.request_bucket: s3.IBucket = request_bucket or SecureBucket(
            self, "Requests", encryption_key=encryption_key, removal_policy=removal_policy
        )
        for bucket in (self.artifact_bucket, self.request_bucket):
            self._send_events_to_eventbridge(bucket)
        common = {"FLINK_REST_URL": self.flink_rest_url, "ARTIFACT_BUCKET": self.artifact_bucket.bucket_name,
                  "JAR_ID_PREFIX": JAR_ID_PREFIX}
        self.jar_uploader = PlatformFunction(
            self, "JarUploader", package="flink", handler="flink.jar_uploader.main",
            encryption_key=encryption_key, vpc=vpc, timeout=Duration.minutes(5), memory_size=512,
            environment={**common, "HTTP_TIMEOUT_SECONDS": "60"},
            description="Uploads jars copied to the artifact bucket to the Flink REST API",
        )
        self.job_runner = PlatformFunction(
            self, "JobRunner", package="flink", handler="flink.job_runner.main",
            encryption_key=encryption_key, vpc=vpc, timeout=Duration.minutes(2),
            environment={**common, "REQUEST_PREFIX": REQUEST_PREFIX, "RESULT_PREFIX": RESULT_PREFIX,
                         "STATE_PREFIX": STATE_PREFIX, "RESULT_BUCKET": self.request_bucket.bucket_name,
                         "MAX_ATTEMPTS": "3"},
            description="Runs Flink jobs for request files and writes their results",
        )
        for function in (self.jar_uploader, self.job_runner):
            assert function.security_group is not None
            self.nlb_security_group.add_ingress_rule(
                function.security_group, ec2.Port.tcp(flink_rest_port), f"{function.node.id} Lambda"
            )
        uploader_role, runner_role = self.jar_uploader.role, self.job_runner.role
        self.artifact_bucket.grant_read(uploader_role, f"{JAR_PREFIX}*")
        self.artifact_bucket.grant_read(uploader_role, f"{JAR_ID_PREFIX}*")
        self.artifact_bucket.grant_put(uploader_role, f"{JAR_ID_PREFIX}*")
        self.artifact_bucket.grant_read(runner_role, f"{JAR_ID_PREFIX}*")
        self.request_bucket.grant_read(runner_role, f"{REQUEST_PREFIX}*")
        self.request_bucket.grant_read(runner_role, f"{RESULT_PREFIX}*")
        self.request_bucket.grant_put(runner_role, f"{RESULT_PREFIX}*")
        self.request_bucket.grant_read_write(runner_role, f"{STATE_PREFIX}*")
        self.rule_dead_letter_queue = DeadLetterQueue(
            self, "RuleDeadLetterQueue", encryption_key=encryption_key, receives="the Flink S3-event rules' targets"
        )
        stack = Stack.of(self)
        allow_service_to_use_key(
            encryption_key, "events.amazonaws.com", "AllowEventBridgeDeadLetters",
            f"arn:{stack.partition}:events:{stack.region}:{stack.account}:rule/*",
        )
        self._trigger(self.artifact_bucket, f"{JAR_PREFIX}*.jar", self.jar_uploader, "JarUploaded")
        self._trigger(self.request_bucket, f"{REQUEST_PREFIX}*.json", self.job_runner, "RequestCreated")
        #: One alarm per dead-letter queue (rule targets, then each function's), at the first message.
        self.alarms = [dead_letter_alarm(self, "RuleDlqDepth", self.rule_dead_letter_queue, "Flink S3 events not delivered")]
        for function in (self.jar_uploader, self.job_runner):
            if function.dead_letter_queue is not None:
                self.alarms.append(
                    dead_letter_alarm(
                        self, f"{function.node.id}DlqDepth", function.dead_letter_queue,
                        f"Flink {function.node.id} invocations that failed after retries",
                    )
                )
        self.alarm_topic: sns.ITopic = alarm_topic or sns.Topic(
            self, "Alarms", display_name="meshworks Flink alarms", master_key=encryption_key, enforce_ssl=True
        )
        if alarm_topic is None:
            allow_service_to_use_key(encryption_key, "cloudwatch.amazonaws.com", "AllowCloudWatchAlarms")
        for alarm in self.alarms:
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))
        self._acknowledge()

    # ------------------------------------------------------------------------------------------------
    @staticmethod
    def _send_events_to_eventbridge(bucket: s3.IBucket) -> None:
        """Object events to EventBridge, set on the bucket itself (no notification custom resource)."""
        resource = bucket.node.default_child
        if not isinstance(resource, s3.CfnBucket):
            raise ValueError(
                "FlinkOnEmr: artifact_bucket and request_bucket must be buckets created in this app (their "
                "EventBridge notifications are switched on here)"
            )
        resource.add_property_override("NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True)

    def _trigger(self, bucket: s3.IBucket, key_pattern: str, function: PlatformFunction, rule_id: str) -> events.Rule:
        return events.Rule(
            self,
            rule_id,
            description=f"{key_pattern} created in the bucket -> {function.node.id}",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={"bucket": {"name": [bucket.bucket_name]}, "object": {"key": [{"wildcard": key_pattern}]}},
            ),
            targets=[
                targets.LambdaFunction(
                    function.function,
                    retry_attempts=2,
                    max_event_age=Duration.hours(6),
                    dead_letter_queue=self.rule_dead_letter_queue,
                )
            ],
        )

    def _acknowledge(self) -> None:
        acknowledge_policies(
            self,
            [
                CDK_GRANT_ACTIONS,
                BUCKET_OBJECTS,
                (r"Resource::\*", "EC2 network-interface actions for Lambda VPC access and cloudwatch:PutMetricData "
                 "(namespace-conditioned) have no resource-level permissions."),
            ],
            extra={
                "NIST.800.53.R5-IAMNoInlinePolicy": "Each role serves one function or this cluster only; its inline "
                "policy is generated by grant_* calls scoped to the exact prefixes, key and target group it uses.",
            },
        )
        acknowledge(
            self.listener,
            {
                "NIST.800.53.R5-ELBv2ACMCertificateRequired": "A TCP pass-through listener to the Flink REST port "
                "inside private subnets; its security group admits only ui_allowed_cidrs and the two Lambdas. "
                "Flink serves plain HTTP, so TLS would need a certificate from the platform PKI on the cluster.",
            },
        )

    # ------------------------------------------------------------------------------------------------
    def grant_submit(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` deploy jars (``jars/``) and submit requests (``requests/``) and read results."""
        self.artifact_bucket.grant_put(grantee, f"{JAR_PREFIX}*")
        self.request_bucket.grant_put(grantee, f"{REQUEST_PREFIX}*")
        self.request_bucket.grant_read(grantee, f"{RESULT_PREFIX}*")
        acknowledge_grant(grantee, [CDK_GRANT_ACTIONS, BUCKET_OBJECTS])
