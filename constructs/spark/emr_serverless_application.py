"""``EmrServerlessApplication``: an EMR Serverless application with GoDaddy's and Belcorp's lessons built in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_emrserverless as emrs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..core.inputs import retention_days, string_list
from ..core.nag import BUCKET_OBJECTS, CDK_GRANT_ACTIONS, Rule, acknowledge_grant
from ..core.platform_key import PlatformKey
from ..core.secure_log_group import SecureLogGroup
from ..storage.secure_bucket import SecureBucket
from ._checks import (
    DEFAULT_HTTPS_EGRESS_CIDRS,
    annotate_warnings,
    check_name,
    check_range,
    fail,
    https_egress_peers,
    select_private_subnets,
)
from .models import EmrServerlessDefaults, Engine, SparkLimits
from .spark_job_role import LOG_GROUP_LISTING

#: Spark defaults every job of the application inherits unless it overrides them (GoDaddy: always cap
#: dynamic allocation; Belcorp: at most 5 cores per executor). A 4 vCPU / 16 GB worker per executor.
DEFAULT_APPLICATION_LIMITS = SparkLimits(
    max_executors=50, executor_cores=4, executor_memory="14g", executor_disk="50g", driver_cores=4, driver_memory="14g"
)

#: Worker types accepted in ``initial_capacity``, per application type.
INITIAL_CAPACITY_WORKERS = {"SPARK": ("Driver", "Executor"), "HIVE": ("HiveDriver", "TezTask")}

_NAME_PATTERN = r"[A-Za-z0-9._/#-]+"
#: ``GetJobRun``/``CancelJobRun``/``GetDashboardForJobRun`` on the job runs of one application.
JOB_RUNS: Rule = (
    r"Resource::<[A-Za-z0-9]+\.Arn>/jobruns/\*",
    "Job runs of this one application (job run ids are created at run time).",
)


class EmrServerlessApplication(Construct):
    """An EMR Serverless application (Spark by default, or Hive) placed in private subnets.

    Defaults: the newest EMR 7.x release (``DEFAULT_EMR_SERVERLESS_RELEASE``, validated: ``emr-6.9.0`` or
    later), **ARM64** (Graviton) workers, auto-start on job submission, auto-stop after 15 idle minutes,
    a maximum capacity of 400 vCPU / 3000 GB / 20000 GB, network placement in the VPC's private subnets
    (at least two AZs, checked) behind its own security group (HTTPS egress only), job logs to a KMS-encrypted
    S3 prefix **and** to an encrypted CloudWatch log group with one-year retention, an encrypted persistent
    Spark UI, and application-wide Spark defaults (``runtimeConfiguration`` ``spark-defaults``) that cap
    ``spark.dynamicAllocation.maxExecutors`` and size executor cores, memory and disk
    (``DEFAULT_APPLICATION_LIMITS``); a job overrides any of them with its own ``--conf`` (e.g. the
    ``spark_submit_parameters`` of the rollout routing).

    **Updates while STARTED.** EMR Serverless rejects changes to almost every property of an application
    that is STARTED (only the scheduler's ``MaxConcurrentRuns`` can change then), so a stack update or
    delete fails while jobs run or before the idle timeout stops the application (aws/aws-cdk#35488).
    Deploy changes when no job runs, or stop the application first
    (``aws emr-serverless stop-application --application-id ...``); a short ``idle_timeout_minutes``
    shortens the window. Changing ``name`` or ``type`` replaces the application. ``meshworks plan``
    reports every change to the application as one that needs it stopped. So that routine tagging
    never becomes such a change, the application carries exactly ``application_tags``: tags added to
    the app or stack (``Tags.of(app).add``) do not reach it (they still reach every other resource).

    Example::

        from aws_cdk import App, Stack
        from aws_cdk import aws_iam as iam

        from meshworks.constructs.core import PlatformKey
        from meshworks.constructs.network import PlatformVpc
        from meshworks.constructs.spark import EmrServerlessApplication, EmrServerlessDefaults, SparkJobRole, SparkLimits
        from meshworks.constructs.storage import DataLakeStorage, SecureBucket

        app = App()
        stack = Stack(app, "Spark")
        key = PlatformKey(stack, "Key")
        network = PlatformVpc(stack, "Network")
        lake = DataLakeStorage(stack, "Lake", encryption_key=key)
        logs_bucket = SecureBucket(stack, "Logs", encryption_key=key)
        airflow_role = iam.Role(stack, "Airflow", assumed_by=iam.ServicePrincipal("airflow-env.amazonaws.com"))

        app_ = EmrServerlessApplication(stack, "Spark", vpc=network.vpc, name="analytics",
                                        defaults=EmrServerlessDefaults(idle_timeout_minutes=10),
                                        spark_limits=SparkLimits(max_executors=100, executor_cores=4))
        job_role = SparkJobRole(stack, "JobRole", lake=lake, read_zones=["raw"], write_zones=["curated"],
                                applications=[app_])
        job_role.grant_start_job_run(airflow_role, app_)
        app.synth()

    Args:
        vpc: the VPC whose private subnets hold the workers' network interfaces.
        name: application name (1..64 of letters, digits and ``._/#-``). Default: generated.
        defaults: release, architecture, idle timeout, maximum capacity, max concurrent runs.
            Default: ``EmrServerlessDefaults()``.
        application_type: ``"SPARK"`` or ``"HIVE"``. Default: ``"SPARK"``.
        spark_limits: application-wide Spark defaults; ``max_executors`` is required (GoDaddy).
            Default: ``DEFAULT_APPLICATION_LIMITS``.
        extra_spark_defaults: more ``spark-defaults`` properties, e.g. ``{"spark.sql.adaptive.enabled": "true"}``.
            Default: none.
        initial_capacity: pre-initialized workers, ``{"Driver": (count, "4 vCPU", "16 GB"), "Executor": ...}``
            (optionally a 4th item, the disk, e.g. ``"50 GB"``). Default: none (workers start on demand).
        queue_timeout_minutes: how long a job may wait in QUEUED state, 15..720 (needs job concurrency,
            ``emr-7.3.0``+). Default: service default (360) when concurrency is configured.
        image_uri: a custom image (ECR URI) for all workers. Default: the release's image.
        subnets: Default: the VPC's private subnets (at least 2 AZs).
        security_group: Default: a new group with HTTPS egress only (``self.security_group``).
        https_egress_cidrs / https_egress_prefix_list_ids: where the new group lets workers open HTTPS connections.
            Default: ``DEFAULT_HTTPS_EGRESS_CIDRS`` (anywhere: AWS endpoints through the NAT gateway), no prefix list.
        encryption_key: encrypts the logs, the CloudWatch log group and the persistent UI.
            Default: a new ``PlatformKey``.
        log_bucket: where job logs go. Default: a new ``SecureBucket`` (``self.log_bucket``).
        log_prefix: Default: ``"emr-serverless/<construct id>/"``.
        log_retention: CloudWatch retention. Default: one year.
        removal_policy: of the log bucket and log group. Default: RETAIN.
        application_tags: the application's own tags, its only ones (set them once: changing them is an
            update that needs the application stopped). Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        name: str | None = None,
        defaults: EmrServerlessDefaults | None = None,
        application_type: str = "SPARK",
        spark_limits: SparkLimits | None = None,
        extra_spark_defaults: Mapping[str, str] | None = None,
        initial_capacity: Mapping[str, tuple] | None = None,
        queue_timeout_minutes: int | None = None,
        image_uri: str | None = None,
        subnets: ec2.SubnetSelection | None = None,
        security_group: ec2.ISecurityGroup | None = None,
        https_egress_cidrs: Sequence[str] = DEFAULT_HTTPS_EGRESS_CIDRS,
        https_egress_prefix_list_ids: Sequence[str] = (),
        encryption_key: kms.IKey | None = None,
        log_bucket: s3.IBucket | None = None,
        log_prefix: str | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy | None = None,
        application_tags: Mapping[str, str] | None = None,
    ) -> None:
        owner = type(self).__name__
        https_egress_cidrs = string_list(owner, "https_egress_cidrs", https_egress_cidrs, example='10.40.0.0/16')
        https_egress_prefix_list_ids = string_list(owner, "https_egress_prefix_list_ids", https_egress_prefix_list_ids, example='pl-6ea54007')
        defaults = defaults or EmrServerlessDefaults()
        if not isinstance(defaults, EmrServerlessDefaults):
            raise fail(owner, f"defaults must be an EmrServerlessDefaults, got {type(defaults).__name__}")
        app_type = str(application_type).upper()
        if app_type not in INITIAL_CAPACITY_WORKERS:
            raise fail(owner, f"application_type {application_type!r} is not supported: use 'SPARK' or 'HIVE'")
        if name is not None:
            check_name(owner, "name", name, _NAME_PATTERN, "analytics-spark", 64)
        if app_type == "HIVE" and (spark_limits is not None or extra_spark_defaults):
            raise fail(owner, "spark_limits and extra_spark_defaults only apply to application_type 'SPARK'")
        limits = spark_limits if spark_limits is not None else DEFAULT_APPLICATION_LIMITS
        if app_type == "SPARK":
            problems = limits.serverless_errors()
            if problems:
                raise fail(owner, "spark_limits: " + "; ".join(problems))
        check_range(owner, "queue_timeout_minutes", queue_timeout_minutes, 15, 720, "minutes")
        if queue_timeout_minutes is not None and defaults.release_version < (7, 3, 0):
            raise fail(owner, f"queue_timeout_minutes needs job concurrency (emr-7.3.0 or later) but the release is {defaults.release_label!r}")
        capacity = self._initial_capacity(owner, app_type, initial_capacity or {})
        prefix = log_prefix if log_prefix is not None else f"emr-serverless/{construct_id}/"
        if prefix.startswith("/") or (prefix and not prefix.endswith("/")):
            raise fail(owner, f"log_prefix {prefix!r} must not start with '/' and must end with '/', e.g. 'emr-serverless/analytics/'")
        super().__init__(scope, construct_id)
        retention_days(type(self).__name__, "log_retention", log_retention)
        selected = select_private_subnets(owner, vpc, subnets)

        #: Application-wide Spark defaults (``spark-defaults``), sorted by key.
        self.spark_defaults: dict[str, str] = {}
        if app_type == "SPARK":
            self.spark_defaults = dict(sorted({**limits.to_spark_defaults(Engine.EMR_SERVERLESS), **(extra_spark_defaults or {})}.items()))
        #: The validated defaults (release, architecture, capacity...).
        self.defaults = defaults
        self.application_type = app_type
        self.encryption_key: kms.IKey = encryption_key or PlatformKey(self, "Key", description=f"{self.node.path} logs")
        self.log_bucket: s3.IBucket = log_bucket or SecureBucket(
            self, "Logs", encryption_key=self.encryption_key, removal_policy=removal_policy
        )
        self.log_prefix = prefix
        self.log_group = SecureLogGroup(
            self, "LogGroup", encryption_key=self.encryption_key, retention=log_retention, removal_policy=removal_policy
        )
        egress = https_egress_peers(owner, https_egress_cidrs, https_egress_prefix_list_ids)
        self.security_group: ec2.ISecurityGroup = security_group or self._security_group(vpc, egress)

        props = defaults.to_application_props()
        scheduler = dict(props.pop("scheduler_configuration", {}) or {})
        if queue_timeout_minutes is not None:
            scheduler["queue_timeout_minutes"] = queue_timeout_minutes
        self.application = emrs.CfnApplication(
            self,
            "Application",
            name=name,
            type=app_type,
            release_label=props["release_label"],
            architecture=props["architecture"],
            auto_start_configuration=emrs.CfnApplication.AutoStartConfigurationProperty(enabled=True),
            auto_stop_configuration=emrs.CfnApplication.AutoStopConfigurationProperty(
                enabled=True, idle_timeout_minutes=props["auto_stop_configuration"]["idle_timeout_minutes"]
            ),
            maximum_capacity=emrs.CfnApplication.MaximumAllowedResourcesProperty(**props["maximum_capacity"]),
            scheduler_configuration=emrs.CfnApplication.SchedulerConfigurationProperty(**scheduler) if scheduler else None,
            initial_capacity=capacity or None,
            network_configuration=emrs.CfnApplication.NetworkConfigurationProperty(
                subnet_ids=selected.subnet_ids, security_group_ids=[self.security_group.security_group_id]
            ),
            image_configuration=(
                emrs.CfnApplication.ImageConfigurationInputProperty(image_uri=image_uri) if image_uri else None
            ),
            runtime_configuration=(
                [emrs.CfnApplication.ConfigurationObjectProperty(classification="spark-defaults", properties=self.spark_defaults)]
                if self.spark_defaults
                else None
            ),
            monitoring_configuration=emrs.CfnApplication.MonitoringConfigurationProperty(
                s3_monitoring_configuration=emrs.CfnApplication.S3MonitoringConfigurationProperty(
                    log_uri=self.log_uri, encryption_key_arn=self.encryption_key.key_arn
                ),
                cloud_watch_logging_configuration=emrs.CfnApplication.CloudWatchLoggingConfigurationProperty(
                    enabled=True,
                    log_group_name=self.log_group.log_group_name,
                    log_stream_name_prefix=f"{construct_id}/",
                    encryption_key_arn=self.encryption_key.key_arn,
                    log_type_map=self._log_types(app_type),
                ),
                managed_persistence_monitoring_configuration=emrs.CfnApplication.ManagedPersistenceMonitoringConfigurationProperty(
                    enabled=True, encryption_key_arn=self.encryption_key.key_arn
                ),
            ),
        )
        self.application.node.add_dependency(self.log_group)
        # Pin the tags: a property override wins over the tags that Tags.of(scope) aspects render, so a tag
        # added to the app later is no update of a (possibly STARTED) application.
        if application_tags:
            self.application.add_property_override(
                "Tags", [{"Key": key, "Value": value} for key, value in sorted(application_tags.items())]
            )
        else:
            self.application.add_property_deletion_override("Tags")
        annotate_warnings(self, [*defaults.warnings(), *(limits.warnings() if app_type == "SPARK" else [])], "EmrServerless")

    # ------------------------------------------------------------------------------------------------
    @staticmethod
    def _initial_capacity(owner: str, app_type: str, spec: Mapping[str, tuple]) -> list:
        allowed = INITIAL_CAPACITY_WORKERS[app_type]
        result = []
        for worker, value in spec.items():
            if worker not in allowed:
                raise fail(owner, f"initial_capacity worker {worker!r} is not a {app_type} worker type: use {' or '.join(allowed)}")
            if not isinstance(value, tuple) or len(value) not in (3, 4) or not isinstance(value[0], int) or value[0] < 1:
                raise fail(owner, f"initial_capacity[{worker!r}] must be (count >= 1, cpu, memory[, disk]), e.g. (2, '4 vCPU', '16 GB')")
            count, cpu, memory, *disk = value
            result.append(
                emrs.CfnApplication.InitialCapacityConfigKeyValuePairProperty(
                    key=worker,
                    value=emrs.CfnApplication.InitialCapacityConfigProperty(
                        worker_count=count,
                        worker_configuration=emrs.CfnApplication.WorkerConfigurationProperty(
                            cpu=str(cpu), memory=str(memory), disk=str(disk[0]) if disk else None
                        ),
                    ),
                )
            )
        return result

    @staticmethod
    def _log_types(app_type: str) -> list:
        kinds = ("SPARK_DRIVER", "SPARK_EXECUTOR") if app_type == "SPARK" else ("HIVE_DRIVER", "TEZ_TASK")
        return [emrs.CfnApplication.LogTypeMapKeyValuePairProperty(key=kind, value=["STDERR", "STDOUT"]) for kind in kinds]

    def _security_group(self, vpc: ec2.IVpc, egress: Sequence[ec2.IPeer]) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=f"{self.node.path}: EMR Serverless workers (no inbound, HTTPS out)",
            allow_all_outbound=False,
        )
        for peer in egress:
            group.add_egress_rule(peer, ec2.Port.tcp(443), "HTTPS to AWS APIs and endpoints")
        return group

    # ------------------------------------------------------------------------------------------------
    @property
    def application_id(self) -> str:
        """The application's id."""
        return self.application.attr_application_id

    @property
    def application_arn(self) -> str:
        """The application's ARN."""
        return self.application.attr_arn

    @property
    def log_uri(self) -> str:
        """``s3://<log bucket>/<log prefix>``, the S3 log destination of every job."""
        return f"s3://{self.log_bucket.bucket_name}/{self.log_prefix}"

    @property
    def connections(self) -> ec2.Connections:
        """The workers' network connections (``app.connections.allow_to(db, ec2.Port.tcp(5432))``)."""
        return ec2.Connections(security_groups=[self.security_group])

    def grant_log_delivery(self, job_role: iam.IGrantable) -> None:
        """Let a job runtime role write this application's S3 and CloudWatch logs (EMR Serverless
        publishes them with the job's role) and use the log key."""
        self.log_bucket.grant_put(job_role, f"{self.log_prefix}*")
        self.log_bucket.grant_read(job_role, f"{self.log_prefix}*")
        self.encryption_key.grant_encrypt_decrypt(job_role)
        self.log_group.grant_write(job_role)
        self.log_group.grant(job_role, "logs:DescribeLogStreams")
        stack = Stack.of(self)
        iam.Grant.add_to_principal(
            grantee=job_role,
            actions=["logs:DescribeLogGroups"],
            resource_arns=[
                stack.format_arn(
                    service="logs", resource="log-group", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
                )
            ],
        )
        acknowledge_grant(job_role, [CDK_GRANT_ACTIONS, BUCKET_OBJECTS, LOG_GROUP_LISTING])

    def grant_start_job_run(self, principal: iam.IGrantable) -> None:
        """Let ``principal`` start, watch and cancel job runs of this application (not pass a role:
        see ``SparkJobRole.grant_start_job_run``), and use the log key (EMR Serverless refuses job runs
        whose submitter cannot use the log encryption key)."""
        iam.Grant.add_to_principal(
            grantee=principal, actions=["emr-serverless:StartJobRun", "emr-serverless:GetApplication"],
            resource_arns=[self.application_arn],
        )
        iam.Grant.add_to_principal(
            grantee=principal,
            actions=["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun", "emr-serverless:GetDashboardForJobRun"],
            resource_arns=[f"{self.application_arn}/jobruns/*"],
        )
        self.encryption_key.grant(principal, "kms:GenerateDataKey", "kms:Decrypt")
        acknowledge_grant(principal, [JOB_RUNS])
