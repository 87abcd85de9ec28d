"""``ShareAcceptor``: the consumer ("spoke") account's side: accept the hub's shares, link and grant them.

No CloudFormation resource accepts RAM invitations, so the ``share_acceptor`` Lambda does it: it
accepts pending invitations **only** when they come from the configured hub account (an IAM
statement scoped to invitation ARNs of the hub account enforces it too), creates Glue resource
links, and grants the configured local principals. It runs on an EventBridge Scheduler schedule and
once at every deployment that changes its settings (a custom resource through the CDK Provider
framework). Expired invitations and failed runs raise CloudWatch alarms (``ExpiredInvitations``: the
hub must share again).

Example::

    from aws_cdk import App, Environment, Stack
    from aws_cdk import aws_sns_subscriptions as subscriptions

    from meshworks.constructs.mesh import ShareAcceptor

    app = App()
    stack = Stack(app, "Spoke", env=Environment(account="444455556666", region="eu-west-1"))
    acceptor = ShareAcceptor(stack, "Acceptor", hub_account_id="111122223333",
                             local_principal_arns=["arn:aws:iam::444455556666:role/analysts"])
    # its alarms notify its own encrypted topic: subscribe the consumer's on-call
    acceptor.alarm_topic.add_subscription(subscriptions.EmailSubscription("oncall@consumer.example"))
    app.synth()
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import CustomResource, Duration, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lakeformation as lakeformation
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sns as sns
from aws_cdk import custom_resources as cr
from constructs import Construct

from meshworks.constructs.core.dead_letter_queue import DeadLetterQueue, dead_letter_alarm
from meshworks.constructs.core.inputs import account_ids, whole_duration
from meshworks.constructs.core.nag import acknowledge, acknowledge_policies, arn
from meshworks.constructs.core.partition import partition_of
from meshworks.constructs.core.platform_function import PlatformFunction
from meshworks.constructs.core.platform_key import PlatformKey, allow_service_to_use_key
from meshworks.constructs.core.secure_log_group import SecureLogGroup

__all__ = ["ShareAcceptor"]

_PRINCIPAL_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")
#: Non-empty: Glue writes are scoped to ``database/<prefix>*``; an empty prefix would mean every database.
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
PREFIX_PATTERN = _PREFIX_RE.pattern
SHARING_MODES = ("lf_tags", "named_resources")
DEFAULT_NAMESPACE = "meshworks/share-acceptor"
#: The scheduler and the Provider framework invoke the acceptor function by ``<function ARN>:*`` (its versions).
_INVOKE_ACCEPTOR = (
    r"Resource::<[A-Za-z0-9]+\.Arn>:\*",
    "Invokes the share-acceptor function (and its versions) only.",
)


class ShareAcceptor(Construct):
    """A scheduled, deploy-time-triggered Lambda that accepts the hub's shares in a consumer account.

    Least privilege: RAM accept is allowed on the hub account's invitation ARNs only; Glue writes
    only on databases named ``<prefix>*`` of this account (the prefix is never empty); Glue reads of
    the hub's catalog; metrics only in its namespace. ``ram:GetResourceShareInvitations``,
    ``ram:ListResources``, ``lakeformation:GrantPermissions`` and ``cloudwatch:PutMetricData`` have no
    resource-level permissions (acknowledged on the policy with that reason).

    What it grants never exceeds what the hub granted the account with grant option (Lake Formation
    refuses more): in ``lf_tags`` mode the identical LF-tag policy ``meshworks:consumer:<account>=true``,
    in ``named_resources`` mode each shared table by name; never ``TableWildcard``. Only a data lake
    administrator may exercise the account's grant option on shared resources (Lake Formation
    Developer Guide, "Granting permissions on a database or table shared with your account"), hence
    the admin registration; the function checks every grant against its scope before sending it.

    Failure paths: the schedule retries twice into ``schedule_dead_letter_queue``; failed runs land in
    the function's dead-letter queue; ``dead_letter_alarms``, ``expired_alarm`` and ``errors_alarm``
    notify ``alarm_topic``.

    Args:
        hub_account_id: the only account whose invitations are accepted (a token is allowed).
        local_principal_arns: IAM roles/users of this account granted SELECT+DESCRIBE on the shared
            tables. Default: none (links only).
        resource_link_prefix: prefix of the resource-link databases: a lowercase letter, then
            lowercase letters, digits and '_' (never empty). Default: "shared_".
        sharing_mode: how the hub shares ("lf_tags" or "named_resources", the hub's
            ``mesh.sharing_mode``): decides what the acceptor may re-grant. Default: "lf_tags".
        schedule: time between two runs. Default: 30 minutes.
        run_on_deploy: run once when the stack is deployed or its settings change. Default: True.
        register_as_lake_formation_admin: append the function's role to this account's Lake
            Formation admins (needed to re-grant shared tables: only admins exercise the account's
            grant option). Default: True.
        encryption_key: Default: a new ``PlatformKey`` (``self.key``).
        metric_namespace: Default: "meshworks/share-acceptor".
        alarm_topic: where the expired-invitation and failed-run alarms go. Default: a new encrypted
            topic (``self.alarm_topic``) to subscribe the consumer's on-call to.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        hub_account_id: str,
        local_principal_arns: Sequence[str] | str = (),
        resource_link_prefix: str = "shared_",
        sharing_mode: str = "lf_tags",
        schedule: Duration = Duration.minutes(30),
        run_on_deploy: bool = True,
        register_as_lake_formation_admin: bool = True,
        encryption_key: kms.IKey | None = None,
        metric_namespace: str = DEFAULT_NAMESPACE,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        whole_duration("ShareAcceptor", "schedule", schedule, "minutes", minimum=1)  # a Scheduler rate
        super().__init__(scope, construct_id)
        (hub_account_id,) = account_ids("ShareAcceptor", "hub_account_id", [hub_account_id])
        if not Token.is_unresolved(resource_link_prefix) and not _PREFIX_RE.match(resource_link_prefix):
            raise ValueError(
                "resource_link_prefix must start with a lowercase letter and hold only lowercase letters, digits "
                f"and '_' (1 to 64 characters), got {resource_link_prefix!r}"
            )
        if sharing_mode not in SHARING_MODES:
            raise ValueError(f"sharing_mode must be one of {SHARING_MODES}, got {sharing_mode!r}")
        if isinstance(local_principal_arns, str):
            principals_env = local_principal_arns  # a token (e.g. a CfnParameter joined with ',')
        else:
            bad = [p for p in local_principal_arns if not Token.is_unresolved(p) and not _PRINCIPAL_RE.match(p)]
            if bad:
                raise ValueError(f"local_principal_arns must be IAM role or user ARNs, got {bad}")
            principals_env = ",".join(local_principal_arns)
        stack = Stack.of(self)
        self.key = encryption_key or PlatformKey(self, "Key", description="meshworks share acceptor key")
        self.function = PlatformFunction(
            self,
            "Function",
            package="share_acceptor",
            handler="share_acceptor.handler.main",
            encryption_key=self.key,
            environment={
                "HUB_ACCOUNT_ID": hub_account_id,
                "ACCOUNT_ID": stack.account,
                "SHARING_MODE": sharing_mode,
                "RESOURCE_LINK_DATABASE_PREFIX": resource_link_prefix,
                "LOCAL_PRINCIPAL_ARNS": principals_env,
                "ALARM_METRIC_NAMESPACE": metric_namespace,
            },
            timeout=Duration.minutes(5),
            reserved_concurrency=1,  # runs never overlap
            retry_attempts=0,  # the schedule is the retry
            description="meshworks: accept hub RAM invitations, create resource links, grant local principals",
        )
        role = self.function.role
        partition = partition_of(self)
        glue_local = f"arn:{partition}:glue:{stack.region}:{stack.account}"
        glue_hub = f"arn:{partition}:glue:{stack.region}:{hub_account_id}"
        role.add_to_policy(
            iam.PolicyStatement(
                sid="AcceptHubInvitationsOnly",
                actions=["ram:AcceptResourceShareInvitation"],
                resources=[f"arn:{partition}:ram:{stack.region}:{hub_account_id}:resource-share-invitation/*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DiscoverShares", actions=["ram:GetResourceShareInvitations", "ram:ListResources"], resources=["*"]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ManageResourceLinks",
                actions=["glue:CreateDatabase", "glue:GetDatabase", "glue:CreateTable", "glue:GetTable"],
                resources=[
                    f"{glue_local}:catalog",
                    f"{glue_local}:database/{resource_link_prefix}*",
                    f"{glue_local}:table/{resource_link_prefix}*/*",
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ListSharedDatabases",
                actions=["glue:GetDatabases"],
                resources=[f"{glue_local}:catalog", f"{glue_local}:database/*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadHubCatalog",
                actions=["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables"],
                resources=[f"{glue_hub}:catalog", f"{glue_hub}:database/*", f"{glue_hub}:table/*/*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(sid="GrantLocalPrincipals", actions=["lakeformation:GrantPermissions"], resources=["*"])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PublishRunMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": metric_namespace}},
            )
        )
        acknowledge_policies(
            role,
            [
                (r"Resource::\*", "ram:GetResourceShareInvitations, ram:ListResources, "
                 "lakeformation:GrantPermissions and cloudwatch:PutMetricData support no resource-level "
                 "permissions (metrics are limited to the acceptor's namespace by a condition)."),
                (r"Resource::" + arn("ram", r"resource-share-invitation/\*"), "Invitation ids are unknown "
                 "in advance; the ARN pattern limits acceptance to invitations sent by the hub account."),
                (r"Resource::" + arn("glue", r"(database|table)/.*\*"), "Glue writes only create resource "
                 "links inside the acceptor's prefixed databases; the other Glue actions are reads of the hub catalog "
                 "and of the databases shared with this account, whose visibility Lake Formation grants decide."),
            ],
        )

        self.settings: lakeformation.CfnDataLakeSettings | None = None
        if register_as_lake_formation_admin:
            self.settings = lakeformation.CfnDataLakeSettings(
                self,
                "LakeFormationAdmin",
                mutation_type="APPEND",
                admins=[
                    lakeformation.CfnDataLakeSettings.DataLakePrincipalProperty(
                        data_lake_principal_identifier=role.role_arn
                    )
                ],
            )

        self.scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="EventBridge Scheduler invokes the share acceptor",
        )
        self.schedule_dead_letter_queue = DeadLetterQueue(
            self, "ScheduleDeadLetterQueue", encryption_key=self.key, receives="the share acceptor's schedule"
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule=scheduler.ScheduleExpression.rate(schedule),
            target=scheduler_targets.LambdaInvoke(
                self.function.function,
                input=scheduler.ScheduleTargetInput.from_object({"source": "meshworks.schedule"}),
                retry_attempts=2,  # an invocation the scheduler could not make (throttled, Lambda error)
                max_event_age=schedule,  # the next run supersedes it
                dead_letter_queue=self.schedule_dead_letter_queue,
                role=self.scheduler_role,
            ),
            key=self.key,
            description="meshworks share acceptor run",
        )
        # Dead letters are sent with the scheduler role; SQS encrypts them with the queue's key for the sender
        # (the L2 target grants sqs:SendMessage only).
        self.key.grant(self.scheduler_role, "kms:GenerateDataKey")
        acknowledge_policies(
            self.scheduler_role,
            [_INVOKE_ACCEPTOR],
            extra={"NIST.800.53.R5-IAMNoInlinePolicy": "The scheduler role's only policy: invoke this one function."},
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSchedulerInput",
                principals=[iam.ServicePrincipal("scheduler.amazonaws.com")],
                actions=["kms:Decrypt"],
                resources=["*"],  # in a key policy "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )

        self.trigger: CustomResource | None = None
        self.provider: cr.Provider | None = None
        if run_on_deploy:
            provider_logs = SecureLogGroup(self, "ProviderLogs", encryption_key=self.key)
            self.provider = cr.Provider(
                self,
                "Provider",
                on_event_handler=self.function.function,
                log_group=provider_logs,
                provider_function_env_encryption=self.key,
            )
            self.trigger = CustomResource(
                self,
                "RunOnDeploy",
                service_token=self.provider.service_token,
                resource_type="Custom::MeshworksShareAcceptor",
                properties={
                    "HubAccountId": hub_account_id,
                    "ResourceLinkPrefix": resource_link_prefix,
                    "SharingMode": sharing_mode,
                    "LocalPrincipalArns": principals_env,
                },
            )
            if self.settings is not None:
                self.trigger.node.add_dependency(self.settings)
            self._acknowledge_provider(self.provider)

        self.alarm_topic: sns.ITopic = alarm_topic or sns.Topic(
            self, "Alarms", display_name="meshworks share acceptor alarms", master_key=self.key, enforce_ssl=True
        )
        if alarm_topic is None:
            allow_service_to_use_key(self.key, "cloudwatch.amazonaws.com", "AllowCloudWatchAlarms")
        self.expired_alarm = cloudwatch.Alarm(
            self,
            "ExpiredInvitations",
            metric=cloudwatch.Metric(
                namespace=metric_namespace,
                metric_name="ExpiredInvitations",
                statistic="Maximum",
                period=Duration.hours(1),
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="A hub share invitation expired before it was accepted: ask the hub to share again "
            "(redeploy the product's stack or re-grant the table).",
        )
        self.errors_alarm = cloudwatch.Alarm(
            self,
            "RunErrors",
            metric=cloudwatch.Metric(
                namespace=metric_namespace, metric_name="Errors", statistic="Maximum", period=Duration.hours(1)
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="Share-acceptor runs keep failing steps (throttling, conflicts, access): see its logs.",
        )
        self.dead_letter_alarms = [
            dead_letter_alarm(
                self, "ScheduleDlqDepth", self.schedule_dead_letter_queue, "Share-acceptor runs the scheduler could not start"
            ),
        ]
        if self.function.dead_letter_queue is not None:
            self.dead_letter_alarms.append(
                dead_letter_alarm(
                    self, "FunctionDlqDepth", self.function.dead_letter_queue, "Share-acceptor runs that failed"
                )
            )
        for alarm in (self.expired_alarm, self.errors_alarm, *self.dead_letter_alarms):
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))

    @staticmethod
    def _acknowledge_provider(provider: cr.Provider) -> None:
        """The CDK Provider framework's own function (CDK-managed code and role)."""
        framework = provider.node.find_child("framework-onEvent")
        acknowledge(
            framework,
            {
                "AwsSolutions-L1": "The Provider framework's runtime is chosen and updated by the CDK release.",
                "NIST.800.53.R5-LambdaConcurrency": "Invoked only by CloudFormation during deployments of this stack.",
                "NIST.800.53.R5-LambdaDLQ": "Synchronous custom-resource calls: failures are reported to CloudFormation.",
                "NIST.800.53.R5-LambdaInsideVPC": "Calls only the Lambda API; a VPC adds no network boundary.",
            },
        )
        role = framework.node.find_child("ServiceRole")
        acknowledge(
            role,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]": "CDK Provider framework role: the managed policy only writes its logs.",
            },
        )
        acknowledge_policies(
            role,
            [_INVOKE_ACCEPTOR],
            extra={
                "NIST.800.53.R5-IAMNoInlinePolicy": "CDK Provider framework policy scoped to the one function it invokes."
            },
        )
