"""``AirflowEnvironment``: an Amazon MWAA environment, private by default, whose plugins, requirements and
startup script reach the running environment on every change (their S3 object versions are wired in)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import ArnFormat, Fn, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_mwaa as mwaa
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import custom_resources as cr
from constructs import Construct

from ..core.bucket_deployment import acknowledge_bucket_deployments, acknowledge_custom_resource_provider
from ..core.inputs import object_list, retention_days, string_list
from ..core.nag import BUCKET_OBJECTS, CDK_GRANT_ACTIONS, acknowledge, acknowledge_grant, acknowledge_policies, arn
from ..core.platform_key import PlatformKey
from ..core.secure_log_group import SecureLogGroup
from ..storage.secure_bucket import SecureBucket

#: Airflow versions ``AWS::MWAA::Environment`` accepts today (CloudFormation resource schema, checked
#: against cfn-lint's copy; MWAA itself already runs 3.2.1, which CloudFormation does not accept yet:
#: cloudformation-coverage-roadmap#2517). Only 2.11.x upgrades in place to 3.x.
SUPPORTED_AIRFLOW_VERSIONS: tuple[str, ...] = ("2.9.2", "2.10.1", "2.10.3", "2.11.0", "3.0.6")
#: The newest version CloudFormation accepts: the default.
DEFAULT_AIRFLOW_VERSION = "3.0.6"
#: Python that MWAA runs for these versions (MWAA user guide, "Apache Airflow versions").
MWAA_PYTHON = "3.12"
ENVIRONMENT_CLASSES = ("mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge")
#: MWAA's five log types, as CloudFormation names them, and the log-group suffix MWAA writes to.
LOG_TYPES: Mapping[str, str] = {
    "dag_processing_logs": "DAGProcessing",
    "scheduler_logs": "Scheduler",
    "task_logs": "Task",
    "webserver_logs": "WebServer",
    "worker_logs": "Worker",
}
REQUIREMENTS_KEY = "requirements/requirements.txt"
STARTUP_SCRIPT_KEY = "startup/startup.sh"
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
_NAME = re.compile(r"^[a-zA-Z][0-9a-zA-Z_-]{0,79}$")
_WINDOW = re.compile(r"^(MON|TUE|WED|THU|FRI|SAT|SUN):([01]\d|2[0-3]):(00|30)$")
_REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?\s*([=<>!~]=?[^\s;]+(,\s*[=<>!~]=?[^\s;,]+)*)?$")


def constraints_url(airflow_version: str) -> str:
    """Apache Airflow's published constraints file for ``airflow_version`` on MWAA's Python."""
    return f"https://raw.githubusercontent.com/apache/airflow/constraints-{airflow_version}/constraints-{MWAA_PYTHON}.txt"


def requirements_txt(airflow_version: str, requirements: Sequence[str], constraints_location: str | None = None) -> str:
    """The ``requirements.txt`` MWAA installs: the ``--constraint`` line first (required since Airflow 2.7.2),
    then one requirement per line, sorted."""
    lines = [f'--constraint "{constraints_location or constraints_url(airflow_version)}"']
    lines += sorted(requirements)
    return "\n".join(lines) + "\n"


def _fail(message: str) -> ValueError:
    return ValueError(f"AirflowEnvironment: {message}")


class AirflowEnvironment(Construct):
    """An Amazon MWAA (Managed Workflows for Apache Airflow) environment with secure, deployable defaults.

    Defaults: Airflow ``DEFAULT_AIRFLOW_VERSION`` (the newest CloudFormation accepts; validated against
    ``SUPPORTED_AIRFLOW_VERSIONS``), ``mw1.small``, 1–10 workers, 2 schedulers, 2 web servers, the web
    server reachable **only inside the VPC** (``PRIVATE_ONLY``), a rotating CMK (``PlatformKey``) for the
    environment, its DAG bucket and its logs, all five log types at ``INFO`` into encrypted log groups with
    one-year retention (created here: MWAA's own groups keep logs forever), a weekly maintenance window
    (``SUN:03:00`` UTC), GRACEFUL worker replacement (running tasks finish during updates), two private
    subnets in different AZs behind a self-referencing security group, and a least-privilege execution role.

    **Every change reaches the environment.** ``requirements.txt`` (with the ``--constraint`` line of the
    chosen version) and the startup script are written to the versioned DAG bucket at deploy time by an
    ``AwsCustomResource`` (``PutObject``, re-run when the text changes) and ``plugins.zip`` by a
    ``BucketDeployment`` (``extract=False``); their **S3 object versions** are set on the environment
    (``RequirementsS3ObjectVersion`` …): without them MWAA keeps the old files (aws/aws-cdk#21114).

    **What replaces the environment** (run history and the metadata database are lost): changing ``name``,
    the KMS key, ``endpoint_management`` or the subnets (the resource schema's ``createOnlyProperties``;
    security groups update in place). Everything else updates in place.
    Creates take 20–60 minutes; updates 10–30.

    Grant access from other constructs to ``environment.role`` (an ``iam.IRole``): e.g.
    ``lake.grant_read(Zone.CURATED, env.role)``, ``job_role.grant_start_job_run(env.role, app)``,
    ``rollout.grant_read(env.role)``; ``grant_dags_write`` lets a deployment pipeline sync DAGs.

    Example::

        from aws_cdk import App, Stack

        from meshworks.constructs.network import PlatformVpc
        from meshworks.constructs.orchestration import AirflowEnvironment

        app = App()
        stack = Stack(app, "Airflow")
        network = PlatformVpc(stack, "Network")
        env = AirflowEnvironment(stack, "Airflow", name="acme-airflow", vpc=network.vpc,
                                 requirements=["apache-airflow-providers-amazon"],
                                 secrets_backend=True)
        app.synth()

    Args:
        name: the environment name (1–80 characters, a letter first). Changing it replaces the environment.
        vpc: the VPC; the environment uses two private subnets in different AZs.
        subnets: exactly two subnets in two AZs. Default: the first two private subnets in distinct AZs.
        airflow_version: one of ``SUPPORTED_AIRFLOW_VERSIONS``. Default: ``DEFAULT_AIRFLOW_VERSION``.
        environment_class: ``mw1.micro`` … ``mw1.2xlarge``. Default: ``mw1.small``.
        min_workers / max_workers: Celery workers (1–25 / min–25). Default: 1 / 10.
        schedulers: 2–5 (1 for ``mw1.micro``). Default: 2.
        min_webservers / max_webservers: 2–5 each. Default: 2 / 2.
        webserver_access_mode: ``PRIVATE_ONLY`` or ``PUBLIC_ONLY``. Default: ``PRIVATE_ONLY``.
        endpoint_management: ``SERVICE`` (MWAA creates the VPC endpoints) or ``CUSTOMER``. Default: ``SERVICE``.
        encryption_key: the CMK. Default: a new ``PlatformKey``.
        dag_bucket: the source bucket (versioning must be on). Default: a new ``SecureBucket``.
        requirements: PyPI requirements (one specifier each; no ``--`` options). Default: none.
        constraints_location: the ``--constraint`` target. Default: ``constraints_url(airflow_version)``.
        plugins_zip: path of a ``plugins.zip`` file. Default: none.
        startup_script: the startup shell script's text. Default: none.
        airflow_configuration_options: Airflow options, e.g. ``{"core.default_timezone": "utc"}``. Default: none.
        secrets_backend: use AWS Secrets Manager for connections (``airflow/connections/*``) and variables
            (``airflow/variables/*``); the role may read only those. Default: False.
        log_level: one of ``LOG_LEVELS``. Default: ``INFO``.
        log_retention: retention of the five log groups. Default: one year.
        weekly_maintenance_window_start: ``DDD:HH:MM`` in UTC, minutes 00 or 30. Default: ``SUN:03:00``.
        worker_replacement_strategy: ``GRACEFUL`` or ``FORCED``. Default: ``GRACEFUL``.
        tags: tags of the environment. Default: none.
        removal_policy: of the bucket, key and log groups. Default: RETAIN (see ``core.removal``).

    Raises:
        ValueError: one message naming the argument, the value and the fix, before any CloudFormation.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet] | None = None,
        airflow_version: str = DEFAULT_AIRFLOW_VERSION,
        environment_class: str = "mw1.small",
        min_workers: int = 1,
        max_workers: int = 10,
        schedulers: int = 2,
        min_webservers: int = 2,
        max_webservers: int = 2,
        webserver_access_mode: str = "PRIVATE_ONLY",
        endpoint_management: str = "SERVICE",
        encryption_key: PlatformKey | None = None,
        dag_bucket: s3.IBucket | None = None,
        requirements: Sequence[str] = (),
        constraints_location: str | None = None,
        plugins_zip: str | Path | None = None,
        startup_script: str | None = None,
        airflow_configuration_options: Mapping[str, str] | None = None,
        secrets_backend: bool = False,
        log_level: str = "INFO",
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        weekly_maintenance_window_start: str = "SUN:03:00",
        worker_replacement_strategy: str = "GRACEFUL",
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        requirements = string_list("AirflowEnvironment", "requirements", requirements, example="apache-airflow-providers-amazon")
        if subnets is not None:
            subnets = object_list("AirflowEnvironment", "subnets", subnets, kind="ec2.ISubnet objects")
        _check(
            name=name,
            airflow_version=airflow_version,
            environment_class=environment_class,
            workers=(min_workers, max_workers),
            schedulers=schedulers,
            webservers=(min_webservers, max_webservers),
            webserver_access_mode=webserver_access_mode,
            endpoint_management=endpoint_management,
            requirements=requirements,
            plugins_zip=plugins_zip,
            log_level=log_level,
            window=weekly_maintenance_window_start,
            worker_replacement_strategy=worker_replacement_strategy,
        )
        super().__init__(scope, construct_id)
        retention_days(type(self).__name__, "log_retention", log_retention)
        stack = Stack.of(self)
        self.name = name
        self.airflow_version = airflow_version
        #: The ``--constraint`` target of ``requirements.txt`` (pipelines test DAGs against the same file).
        self.constraints_location = constraints_location or constraints_url(airflow_version)
        self.key = encryption_key or PlatformKey(self, "Key", description=f"MWAA environment {name}",
                                                 removal_policy=removal_policy)
        self.bucket: s3.IBucket = dag_bucket or SecureBucket(
            self, "DagBucket", encryption_key=self.key, removal_policy=removal_policy
        )
        self.log_groups: dict[str, SecureLogGroup] = {
            kind: SecureLogGroup(
                self,
                f"{suffix}Logs",
                encryption_key=self.key,
                retention=log_retention,
                log_group_name=f"airflow-{name}-{suffix}",
                removal_policy=removal_policy,
            )
            for kind, suffix in LOG_TYPES.items()
        }

        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=vpc, description=f"MWAA environment {name}", allow_all_outbound=False
        )
        self.security_group.add_ingress_rule(self.security_group, ec2.Port.all_traffic(), "MWAA components talk to each other")
        for child in self.security_group.node.children:
            if isinstance(child, ec2.CfnSecurityGroupIngress):
                acknowledge(
                    child,
                    {"NIST.800.53.R5-EC2RestrictedCommonPorts": "Self-referencing rule MWAA requires: only the "
                     "environment's own components (same security group), no network range."},
                )
        self.security_group.add_egress_rule(self.security_group, ec2.Port.all_traffic(), "MWAA components talk to each other")
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs (endpoints or NAT)")
        self.security_group.add_egress_rule(ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(5432), "MWAA metadata database endpoint")
        subnet_ids = _two_subnets(vpc, subnets)

        self.role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("airflow.amazonaws.com"), iam.ServicePrincipal("airflow-env.amazonaws.com")
            ),
            description=f"Execution role of MWAA environment {name}",
        )
        self._grant_execution(stack, secrets_backend)

        self.requirements_object = self._put_text(
            "Requirements", REQUIREMENTS_KEY, requirements_txt(airflow_version, requirements, constraints_location)
        )
        self.startup_script_object = (
            self._put_text("StartupScript", STARTUP_SCRIPT_KEY, startup_script) if startup_script is not None else None
        )
        self.plugins_deployment = None
        if plugins_zip is not None:
            # extract=False keeps plugins.zip a zip (named by its content hash) and exposes its version id.
            self.plugins_deployment = s3deploy.BucketDeployment(
                self,
                "Plugins",
                sources=[s3deploy.Source.asset(str(plugins_zip))],
                destination_bucket=self.bucket,
                destination_key_prefix="plugins/",
                extract=False,
                prune=False,
                retain_on_delete=True,
            )
            acknowledge_bucket_deployments(self)

        options = dict(airflow_configuration_options or {})
        if secrets_backend:
            options.setdefault("secrets.backend", "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend")
            options.setdefault(
                "secrets.backend_kwargs",
                '{"connections_prefix": "airflow/connections", "variables_prefix": "airflow/variables"}',
            )
        logging = {
            kind: mwaa.CfnEnvironment.ModuleLoggingConfigurationProperty(
                enabled=True, log_level=log_level, cloud_watch_log_group_arn=group.log_group_arn
            )
            for kind, group in self.log_groups.items()
        }
        self.environment = mwaa.CfnEnvironment(
            self,
            "Environment",
            name=name,
            airflow_version=airflow_version,
            environment_class=environment_class,
            execution_role_arn=self.role.role_arn,
            source_bucket_arn=self.bucket.bucket_arn,
            dag_s3_path="dags",
            requirements_s3_path=REQUIREMENTS_KEY,
            requirements_s3_object_version=self.requirements_object.get_response_field("VersionId"),
            plugins_s3_path=(
                Fn.select(0, self.plugins_deployment.object_keys) if self.plugins_deployment else None
            ),
            plugins_s3_object_version=(
                Fn.select(0, self.plugins_deployment.object_version_ids) if self.plugins_deployment else None
            ),
            startup_script_s3_path=STARTUP_SCRIPT_KEY if self.startup_script_object else None,
            startup_script_s3_object_version=(
                self.startup_script_object.get_response_field("VersionId") if self.startup_script_object else None
            ),
            kms_key=self.key.key_arn,
            network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
                subnet_ids=subnet_ids, security_group_ids=[self.security_group.security_group_id]
            ),
            webserver_access_mode=webserver_access_mode,
            endpoint_management=endpoint_management,
            max_workers=max_workers,
            min_workers=min_workers,
            schedulers=schedulers,
            max_webservers=max_webservers,
            min_webservers=min_webservers,
            logging_configuration=mwaa.CfnEnvironment.LoggingConfigurationProperty(**logging),
            weekly_maintenance_window_start=weekly_maintenance_window_start,
            worker_replacement_strategy=worker_replacement_strategy,
            airflow_configuration_options=options or None,
            tags=dict(tags) if tags else None,
        )
        # The role's policy must exist before MWAA validates the role at create time.
        self.environment.node.add_dependency(self.role)
        for group in self.log_groups.values():
            self.environment.node.add_dependency(group)

    @property
    def environment_arn(self) -> str:
        """``arn:<partition>:airflow:<region>:<account>:environment/<name>``."""
        return self.environment.attr_arn

    def grant_dags_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` (a deployment pipeline) list the bucket and write/delete objects under ``dags/``."""
        self.bucket.grant_read(grantee, "dags/*")
        grant = self.bucket.grant_put(grantee, "dags/*").combine(self.bucket.grant_delete(grantee, "dags/*"))
        acknowledge_grant(grantee, [CDK_GRANT_ACTIONS, BUCKET_OBJECTS])
        return grant

    def grant_cli_token(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` create Airflow CLI tokens (``airflow:CreateCliToken``) for this environment."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["airflow:CreateCliToken"], resource_arns=[self._arn(Stack.of(self))]
        )
        acknowledge_grant(grantee)  # the grantee's inline policy, as every meshworks grant_* (no wildcard here)
        return grant

    def _arn(self, stack: Stack) -> str:
        return stack.format_arn(service="airflow", resource="environment", resource_name=self.name)

    def _put_text(self, construct_id: str, key: str, text: str) -> cr.AwsCustomResource:
        """Write a small text object at deploy time; its ``VersionId`` is the response field the environment reads.

        The physical id is the content's hash, so a changed text is a new ``PutObject`` (a new version) and an
        unchanged one is no call at all. The object is kept on delete (the bucket is versioned and retained).
        """
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        call = cr.AwsSdkCall(
            service="S3",
            action="putObject",
            parameters={
                "Bucket": self.bucket.bucket_name,
                "Key": key,
                "Body": text,
                "ContentType": "text/plain",
                "ServerSideEncryption": "aws:kms",
                "SSEKMSKeyId": self.key.key_arn,
            },
            physical_resource_id=cr.PhysicalResourceId.of(f"{key}@{digest}"),
            output_paths=["VersionId"],
        )
        writer = cr.AwsCustomResource(
            self,
            construct_id,
            on_create=call,
            on_update=call,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(actions=["s3:PutObject"], resources=[self.bucket.arn_for_objects(key)]),
                    iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Encrypt"], resources=[self.key.key_arn]),
                ]
            ),
            install_latest_aws_sdk=False,
        )
        acknowledge_custom_resource_provider(self)
        acknowledge(
            writer.node.find_child("CustomResourcePolicy"),
            {"NIST.800.53.R5-IAMNoInlinePolicy": "Statements of this one deploy-time PutObject call."},
        )
        return writer

    def _grant_execution(self, stack: Stack, secrets_backend: bool) -> None:
        """The execution role's permissions (MWAA user guide, "Amazon MWAA execution role")."""
        role = self.role
        self.bucket.grant_read(role)
        if self.bucket.encryption_key is None:
            self.key.grant_decrypt(role)
        role.add_to_policy(iam.PolicyStatement(actions=["airflow:PublishMetrics"], resources=[self._arn(stack)]))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetAccountPublicAccessBlock"],
                resources=["*"],  # account-level API: no resource-level permissions
            )
        )
        log_arns = [group.log_group_arn for group in self.log_groups.values()]
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:GetLogRecord",
                    "logs:GetLogGroupFields",
                    "logs:GetQueryResults",
                ],
                resources=log_arns + [f"{arn}:log-stream:*" for arn in log_arns],
            )
        )
        role.add_to_policy(iam.PolicyStatement(actions=["logs:DescribeLogGroups"], resources=["*"]))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "AmazonMWAA"}},
            )
        )
        # MWAA's Celery queue lives in a service account: its name is fixed, its account is not ours.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                    "sqs:ReceiveMessage",
                    "sqs:SendMessage",
                ],
                resources=[f"arn:{stack.partition}:sqs:{stack.region}:*:airflow-celery-*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"],
                resources=[self.key.key_arn],
                conditions={
                    "StringLike": {
                        "kms:ViaService": [f"sqs.{stack.region}.amazonaws.com", f"s3.{stack.region}.amazonaws.com"]
                    }
                },
            )
        )
        if secrets_backend:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    resources=[
                        stack.format_arn(
                            service="secretsmanager",
                            resource="secret",
                            resource_name=f"airflow/{kind}/*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                        for kind in ("connections", "variables")
                    ],
                )
            )
        acknowledge_policies(
            role,
            [
                CDK_GRANT_ACTIONS,
                (r"Resource::<[A-Za-z0-9]+\.Arn>/\*", "Objects of the environment's own DAG bucket."),
                (r"Resource::\*", "s3:GetAccountPublicAccessBlock, logs:DescribeLogGroups and "
                 "cloudwatch:PutMetricData (namespace AmazonMWAA) have no resource-level permissions."),
                (r"Resource::" + arn("sqs", r"airflow-celery-\*", account=r"\*"),
                 "MWAA's Celery queue is created by MWAA in a service account; only its name prefix is known."),
                (r"Resource::<[A-Za-z0-9]+\.Arn>:log-stream:\*", "Log streams of the environment's own log groups."),
                (r"Resource::" + arn("secretsmanager", r"secret:airflow/(connections|variables)/\*"), "The secrets backend's two prefixes (connections, variables)."),
                (r"Action::kms:GenerateDataKey\*", "Key use on the environment's own CMK through SQS and S3 only."),
            ],
            extra={"NIST.800.53.R5-IAMNoInlinePolicy": "The execution role serves this one environment."},
        )


def _two_subnets(vpc: ec2.IVpc, subnets: Sequence[ec2.ISubnet] | None) -> list[str]:
    candidates = list(subnets) if subnets is not None else list(vpc.private_subnets) or list(vpc.isolated_subnets)
    if subnets is not None and len(candidates) != 2:
        raise _fail(f"subnets: MWAA takes exactly two subnets, got {len(candidates)}")
    chosen: list[ec2.ISubnet] = []
    zones: set[str] = set()
    for subnet in candidates:
        if subnet.availability_zone not in zones:
            chosen.append(subnet)
            zones.add(subnet.availability_zone)
        if len(chosen) == 2:
            break
    if len(chosen) < 2:
        raise _fail(
            f"MWAA needs two private subnets in two availability zones; the selection has {len(chosen)}: "
            "pass subnets=[subnet_a, subnet_b] in two AZs"
        )
    return [subnet.subnet_id for subnet in chosen]


def _check(
    *,
    name: str,
    airflow_version: str,
    environment_class: str,
    workers: tuple[int, int],
    schedulers: int,
    webservers: tuple[int, int],
    webserver_access_mode: str,
    endpoint_management: str,
    requirements: Sequence[str],
    plugins_zip: str | Path | None,
    log_level: str,
    window: str,
    worker_replacement_strategy: str,
) -> None:
    """Every argument checked before the CDK sees it: one message naming argument, value and fix."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail(f"name {name!r} is invalid: 1-80 characters, a letter first, then letters, digits, - or _")
    if airflow_version not in SUPPORTED_AIRFLOW_VERSIONS:
        raise _fail(
            f"airflow_version {airflow_version!r} is not one CloudFormation accepts: use one of "
            f"{', '.join(SUPPORTED_AIRFLOW_VERSIONS)}"
        )
    if environment_class not in ENVIRONMENT_CLASSES:
        raise _fail(f"environment_class {environment_class!r} is not an MWAA class: use one of {', '.join(ENVIRONMENT_CLASSES)}")
    low, high = workers
    if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high <= 25):
        raise _fail(f"min_workers={low!r}, max_workers={high!r}: need 1 <= min_workers <= max_workers <= 25")
    floor = 1 if environment_class == "mw1.micro" else 2
    if not (isinstance(schedulers, int) and floor <= schedulers <= 5):
        raise _fail(f"schedulers={schedulers!r}: use {floor} to 5 for {environment_class}")
    low, high = webservers
    if not (isinstance(low, int) and isinstance(high, int) and (1 if floor == 1 else 2) <= low <= high <= 5):
        raise _fail(f"min_webservers={low!r}, max_webservers={high!r}: need 2 <= min <= max <= 5")
    if webserver_access_mode not in ("PRIVATE_ONLY", "PUBLIC_ONLY"):
        raise _fail(f"webserver_access_mode {webserver_access_mode!r}: use 'PRIVATE_ONLY' (default) or 'PUBLIC_ONLY'")
    if endpoint_management not in ("SERVICE", "CUSTOMER"):
        raise _fail(f"endpoint_management {endpoint_management!r}: use 'SERVICE' (default) or 'CUSTOMER'")
    if isinstance(requirements, str):
        raise _fail(f"requirements must be a list of requirement strings, not the string {requirements!r}")
    for requirement in requirements:
        if not isinstance(requirement, str) or not _REQUIREMENT.match(requirement.strip()):
            raise _fail(
                f"requirements entry {requirement!r} is not a plain requirement specifier (e.g. 'pandas==2.2.3'); "
                "the --constraint line is added for you"
            )
    if plugins_zip is not None and (not Path(plugins_zip).is_file() or Path(plugins_zip).suffix != ".zip"):
        raise _fail(f"plugins_zip {str(plugins_zip)!r} is not an existing .zip file")
    if log_level not in LOG_LEVELS:
        raise _fail(f"log_level {log_level!r}: use one of {', '.join(LOG_LEVELS)}")
    if not _WINDOW.match(window):
        raise _fail(f"weekly_maintenance_window_start {window!r}: use 'DDD:HH:MM' in UTC with MM 00 or 30, e.g. 'SUN:03:00'")
    if worker_replacement_strategy not in ("GRACEFUL", "FORCED"):
        raise _fail(f"worker_replacement_strategy {worker_replacement_strategy!r}: use 'GRACEFUL' (default) or 'FORCED'")
