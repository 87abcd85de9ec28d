"""``PlatformFunction``: a Python Lambda with the platform's operational and security defaults."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import jsii
from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IValidation

from .dead_letter_queue import DeadLetterQueue
from .inputs import retention_days, whole_duration
from .lambda_code import lambda_code
from .nag import acknowledge, flatten
from .secure_log_group import SecureLogGroup

_RUNTIME_REASON = (
    "PlatformFunction pins Python 3.12 for every meshworks handler (stdlib + boto3, tested on that runtime); "
    "the platform upgrades all handlers together, in constructs/core, not per function."
)
_KEY_GRANT_REASON = (
    "CDK KMS grants (ReEncryptFrom/To, GenerateDataKey/WithoutPlaintext), each statement limited to the one key "
    "it names: the function's own key, plus any key a caller grants through that key's grant_* method."
)


def _eni_arn(scope: Construct) -> str:
    return Stack.of(scope).format_arn(service="ec2", resource="network-interface", resource_name="*")


def eni_statements(
    scope: Construct, subnets: Sequence[ec2.ISubnet], security_groups: Sequence[ec2.ISecurityGroup]
) -> list[iam.PolicyStatement]:
    """What Lambda needs to attach a function to a VPC, scoped as far as EC2 allows.

    ``ec2:CreateNetworkInterface`` is authorized on the subnet, the security groups and the new interface
    (EC2's service authorization reference), so it is limited to the function's own subnets and groups;
    deleting and (un)assigning addresses act on interfaces whose ids are unknown in advance (this account and
    region only); ``ec2:DescribeNetworkInterfaces`` supports no resource at all. (Lambda developer guide,
    "Giving Lambda functions access to resources in an Amazon VPC": the execution role's permissions.)
    """
    stack = Stack.of(scope)
    enis = _eni_arn(scope)
    return [
        iam.PolicyStatement(
            sid="CreateEnisInOwnSubnetsAndGroups",
            actions=["ec2:CreateNetworkInterface"],
            resources=[
                *(stack.format_arn(service="ec2", resource="subnet", resource_name=s.subnet_id) for s in subnets),
                *(
                    stack.format_arn(service="ec2", resource="security-group", resource_name=g.security_group_id)
                    for g in security_groups
                ),
                enis,
            ],
        ),
        iam.PolicyStatement(
            sid="ManageOwnEnis",
            actions=["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
            resources=[enis],
        ),
        iam.PolicyStatement(sid="DescribeEnis", actions=["ec2:DescribeNetworkInterfaces"], resources=["*"]),
    ]


#: Lambda: the environment variables of a function total at most 4 KB (keys and values).
LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096
#: Bytes assumed for a value known only at deploy time (an ARN, a name, a URL).
TOKEN_ESTIMATE_BYTES = 100
_TOKEN = re.compile(r"\$\{Token\[[^\]]+\]\}")


def environment_bytes(environment: Mapping[str, str]) -> int:
    """Estimated size of a Lambda environment: keys and values, deploy-time values at 100 bytes each."""
    return sum(len(key) + len(_TOKEN.sub("x" * TOKEN_ESTIMATE_BYTES, value).encode()) for key, value in environment.items())


@jsii.implements(IValidation)
class _EnvironmentSizeCheck:
    """Synth-time check: the function's environment fits Lambda's 4 KB (else the deploy fails)."""

    def __init__(self, owner: PlatformFunction) -> None:
        self._owner = owner

    def validate(self) -> list[str]:
        environment = self._owner.environment
        size = environment_bytes(environment)
        if size <= LAMBDA_ENVIRONMENT_LIMIT_BYTES:
            return []
        largest = max(environment, key=lambda k: environment_bytes({k: environment[k]}))
        return [
            f"{self._owner.node.path}: environment of about {size} bytes, over Lambda's "
            f"{LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte limit; the largest variable is {largest} (about "
            f"{environment_bytes({largest: environment[largest]})} bytes): shorten the configuration it comes from"
        ]


class PlatformFunction(Construct):
    """A Lambda function built from ``lambdas/<package>`` with everything an operator expects.

    Python 3.12 on arm64, its own role (write access to its own log group only, no managed
    policies), a KMS-encrypted log group with retention (retained), a reserved concurrency, an
    encrypted SQS dead-letter queue for asynchronous invocations, and two retries. Placed in the
    VPC when one is given.

    The cdk-nag findings every such function has are acknowledged here, with their reasons: the pinned
    runtime (``AwsSolutions-L1``), the wildcards of its key grant (``kms:ReEncrypt*``,
    ``kms:GenerateDataKey*``) and of its own log streams, its inline policy, and, in a VPC, the ENI
    actions on ``*``. Wildcards of what the caller grants the role are the caller's to acknowledge
    (``acknowledge_policies(fn.role, rules)``).

    Example::

        from aws_cdk import App, Stack
        from aws_cdk import aws_sns as sns

        from meshworks.constructs.core import PlatformFunction, PlatformKey

        app = App()
        stack = Stack(app, "Notifier")
        key = PlatformKey(stack, "Key")
        topic = sns.Topic(stack, "Refreshed", master_key=key, enforce_ssl=True)
        fn = PlatformFunction(stack, "Notifier", package="mesh_notifier", handler="mesh_notifier.handler.main",
                              encryption_key=key, environment={"TOPIC_ARN": topic.topic_arn})
        topic.grant_publish(fn.function)
        app.synth()

    Args:
        package: the folder under ``lambdas/``.
        handler: ``<package>.<module>.<function>``.
        encryption_key: encrypts the log group, the DLQ and the environment variables.
        environment: Default: none.
        timeout: Default: 60 seconds.
        memory_size: Default: 256 MB.
        reserved_concurrency: Default: 5 (a runaway trigger cannot starve the account).
        vpc: run inside this VPC's private subnets. Default: outside a VPC.
        security_group: Default: a new group with no inbound rules when ``vpc`` is given.
        dead_letter_queue: Default: True (a new encrypted queue, ``self.dead_letter_queue``).
        retry_attempts: asynchronous retries. Default: 2.
        log_retention: Default: one year.
        description: Default: none.
        role_name: a fixed name for the function's role, when other accounts must name it in their
            bucket or key policies (at most 64 characters). Default: a generated name.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        package: str,
        handler: str,
        encryption_key: kms.IKey,
        environment: Mapping[str, str] | None = None,
        timeout: Duration = Duration.seconds(60),
        memory_size: int = 256,
        reserved_concurrency: int | None = 5,
        vpc: ec2.IVpc | None = None,
        security_group: ec2.ISecurityGroup | None = None,
        dead_letter_queue: bool = True,
        retry_attempts: int = 2,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        description: str | None = None,
        role_name: str | None = None,
    ) -> None:
        whole_duration("PlatformFunction", "timeout", timeout, "seconds", minimum=1, maximum=900)
        super().__init__(scope, construct_id)
        retention_days(type(self).__name__, "log_retention", log_retention)
        self.log_group = SecureLogGroup(self, "Logs", encryption_key=encryption_key, retention=log_retention)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            role_name=role_name,
            description=f"Runtime role of {self.node.path}",
        )
        own_log_streams = f"{self.log_group.log_group_arn}:log-stream:*"
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn, own_log_streams],
            )
        )
        self.dead_letter_queue: sqs.Queue | None = None
        if dead_letter_queue:
            self.dead_letter_queue = DeadLetterQueue(
                self, "DeadLetterQueue", encryption_key=encryption_key, receives="the function"
            )
        self.security_group: ec2.ISecurityGroup | None = None
        if vpc is not None:
            self.security_group = security_group or ec2.SecurityGroup(
                self, "SecurityGroup", vpc=vpc, description=f"{self.node.path} (no inbound)", allow_all_outbound=True
            )
            for statement in eni_statements(
                self, vpc.private_subnets or vpc.isolated_subnets, [self.security_group]
            ):
                self.role.add_to_policy(statement)
        #: The environment variables (checked at synth against Lambda's 4 KB limit).
        self.environment: dict[str, str] = dict(environment or {})
        self.node.add_validation(_EnvironmentSizeCheck(self))
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            code=lambda_code(package),
            handler=handler,
            role=self.role,
            environment=dict(self.environment),
            environment_encryption=encryption_key,
            timeout=timeout,
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            log_group=self.log_group,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=retry_attempts,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=vpc.private_subnets or vpc.isolated_subnets) if vpc else None,
            security_groups=[self.security_group] if self.security_group else None,
            description=description,
        )
        encryption_key.grant_encrypt_decrypt(self.role)
        policy = self.role.node.find_child("DefaultPolicy")
        reasons = {
            "NIST.800.53.R5-IAMNoInlinePolicy": "The role belongs to this one function; its inline policy "
            "is generated by grant_* calls scoped to the exact resources the function uses.",
            "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": _KEY_GRANT_REASON,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": _KEY_GRANT_REASON,
            # The log group is this construct's child, in the role's stack: its ARN renders as <Logs<hash>.Arn>.
            f"AwsSolutions-IAM5[Resource::{flatten(Stack.of(self).resolve(own_log_streams))}]": "Only log "
            "streams of the function's own log group; stream names are generated at run time.",
        }
        if vpc is not None:
            reasons["AwsSolutions-IAM5[Resource::*]"] = (
                "ec2:DescribeNetworkInterfaces has no resource-level permissions (Lambda VPC access needs it)."
            )
            reasons[f"AwsSolutions-IAM5[Resource::{flatten(Stack.of(self).resolve(_eni_arn(self)))}]"] = (
                "Network interfaces Lambda creates for this function: their ids are unknown before creation; "
                "creating one is limited to the function's own subnets and security group."
            )
        acknowledge(policy, reasons)
        acknowledge(self.function, {"AwsSolutions-L1": _RUNTIME_REASON})
        if vpc is None:
            acknowledge(
                self.function,
                {
                    "NIST.800.53.R5-LambdaInsideVPC": "The function only calls AWS APIs (no private network "
                    "resources); placing it in a VPC would add ENIs and endpoint costs without a boundary gain.",
                },
            )
        if reserved_concurrency is None:
            acknowledge(
                self.function,
                {"NIST.800.53.R5-LambdaConcurrency": "Concurrency is left unreserved at the user's request."},
            )

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        """Add a statement to the function's role (prefer the resources' own ``grant_*`` methods)."""
        self.role.add_to_policy(statement)

    def add_environment(self, key: str, value: str) -> None:
        """Add an environment variable."""
        self.environment[key] = value
        self.function.add_environment(key, value)

    @property
    def function_arn(self) -> str:
        """The function's ARN."""
        return self.function.function_arn
