"""``PlatformVpc``: private multi-AZ networking with room for many ENIs, endpoints and flow logs."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..core.inputs import account_ids, string_list
from ..core.nag import acknowledge
from ..core.offline import needs_availability_zone_lookup, pin_availability_zones
from ..core.platform_key import PlatformKey
from ..core.secure_log_group import SecureLogGroup

#: Interface endpoints created by default: the services the platform's jobs and Lambdas call.
DEFAULT_INTERFACE_ENDPOINTS: tuple[str, ...] = (
    "sts",
    "glue",
    "logs",
    "monitoring",
    "kms",
    "emr-serverless",
    "secretsmanager",
    "sqs",
    "sns",
    "lakeformation",
)

_ENDPOINT_SERVICES: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "glue": ec2.InterfaceVpcEndpointAwsService.GLUE,
    "logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "emr-serverless": ec2.InterfaceVpcEndpointAwsService.EMR_SERVERLESS,
    "emr": ec2.InterfaceVpcEndpointAwsService.EMR,
    "emr-containers": ec2.InterfaceVpcEndpointAwsService.EMR_EKS,
    "secretsmanager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "sns": ec2.InterfaceVpcEndpointAwsService.SNS,
    "ssm": ec2.InterfaceVpcEndpointAwsService.SSM,
    "states": ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
    "events": ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
    "ecr.api": ec2.InterfaceVpcEndpointAwsService.ECR,
    "ecr.dkr": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "lakeformation": ec2.InterfaceVpcEndpointAwsService.LAKE_FORMATION,
}

#: Names accepted in ``interface_endpoints``.
SUPPORTED_INTERFACE_ENDPOINTS: tuple[str, ...] = tuple(sorted(_ENDPOINT_SERVICES))


def endpoint_policy_statements(service: str, accounts: Sequence[str]) -> list[iam.PolicyStatement]:
    """Endpoint-policy statements of an interface endpoint: only principals of ``accounts``.

    An endpoint policy does not grant anything by itself (IAM and resource policies still apply); it
    is the upper bound of what may pass through the endpoint.
    """
    statements = [
        iam.PolicyStatement(
            sid="OnlyPlatformAccounts",
            principals=[iam.AnyPrincipal()],
            actions=["*"],
            resources=["*"],
            conditions={"StringEquals": {"aws:PrincipalAccount": list(accounts)}},
        )
    ]
    if service == "sts":
        statements.append(
            iam.PolicyStatement(
                sid="FederatedIntoPlatformRoles",
                principals=[iam.AnyPrincipal()],
                actions=["sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML"],
                resources=["*"],
                conditions={"StringEquals": {"aws:ResourceAccount": list(accounts)}},
            )
        )
    return statements


class PlatformVpc(Construct):
    """A VPC for data workloads, or your own ``IVpc`` passed through.

    Private subnets default to a /19 per AZ (8,187 addresses): EMR Serverless and MWAA place
    one ENI per worker, and GoDaddy's lesson was to size subnets generously. S3 and DynamoDB
    are reached through gateway endpoints, the other services through interface endpoints whose
    security group admits HTTPS from the VPC only and whose endpoint policy admits only principals of
    ``endpoint_principal_accounts`` (``aws:PrincipalAccount``): stolen credentials of another account
    cannot be used through them. Flow logs go to a KMS-encrypted log group.

    The STS endpoint also admits the unauthenticated ``AssumeRoleWithWebIdentity`` / ``AssumeRoleWithSAML``
    calls (they carry no principal account) for roles of those accounts only (``aws:ResourceAccount``).
    ``aws:ResourceAccount`` is not imposed on the other endpoints: jobs legitimately call resources of
    AWS-owned or partner accounts (e.g. EMR's public artefacts). The gateway endpoints keep the default
    policy for the same reason.

    Example::

        from aws_cdk import App, Stack

        from meshworks.constructs.network import PlatformVpc
        from meshworks.constructs.spark import EmrServerlessApplication

        app = App()
        stack = Stack(app, "Spark")
        network = PlatformVpc(stack, "Network", nat_gateways=0)
        EmrServerlessApplication(stack, "Spark", vpc=network.vpc)
        app.synth()

    Args:
        vpc: bring your own VPC; nothing else is created then. Default: a new VPC.
        cidr: Default: ``10.40.0.0/16``.
        max_azs: Default: 3.
        nat_gateways: 0 gives isolated private subnets (endpoints only). Default: 1.
        private_subnet_cidr_mask: Default: 19.
        interface_endpoints: service names, see ``SUPPORTED_INTERFACE_ENDPOINTS``.
            Default: ``DEFAULT_INTERFACE_ENDPOINTS``.
        encryption_key: key for the flow-log group. Default: a new ``PlatformKey``.
        availability_zones: explicit AZ names (needed for deterministic offline synth of an
            environment-specific stack). Default: the first ``max_azs`` of the stack's AZs.
        endpoint_principal_accounts: accounts whose principals may use the interface endpoints.
            Default: the stack's account.

    Raises:
        ValueError: ``availability_zones`` is given in a stack with an account and region whose zones are not
            pinned and that already holds other constructs: CDK's ``ec2.Vpc`` would still look the zones up (it
            checks the given ones against the stack's), so the message says to call
            ``meshworks.constructs.core.offline.pin_availability_zones(stack, zones)`` right after creating the
            stack. When the ``PlatformVpc`` is the stack's first construct, it pins the zones itself.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc | None = None,
        cidr: str = "10.40.0.0/16",
        max_azs: int = 3,
        nat_gateways: int = 1,
        private_subnet_cidr_mask: int = 19,
        interface_endpoints: Sequence[str] = DEFAULT_INTERFACE_ENDPOINTS,
        encryption_key: kms.IKey | None = None,
        availability_zones: Sequence[str] | None = None,
        endpoint_principal_accounts: Sequence[str] | None = None,
    ) -> None:
        interface_endpoints = string_list("PlatformVpc", "interface_endpoints", interface_endpoints, example="sts")
        if availability_zones is not None:
            availability_zones = string_list("PlatformVpc", "availability_zones", availability_zones, example="eu-west-1a")
        if endpoint_principal_accounts is not None:
            endpoint_principal_accounts = account_ids(
                "PlatformVpc", "endpoint_principal_accounts", endpoint_principal_accounts
            )
        stack = Stack.of(scope)
        lookup = vpc is None and needs_availability_zone_lookup(stack)
        if lookup and availability_zones:
            if stack.node.children:
                raise ValueError(
                    f"PlatformVpc {construct_id!r}: availability_zones={list(availability_zones)} in stack "
                    f"{stack.node.path!r} (account {stack.account}, region {stack.region}) would still make "
                    "`cdk synth` look the zones up in AWS (ec2.Vpc checks them against the stack's zones): call "
                    "meshworks.constructs.core.offline.pin_availability_zones(stack, "
                    f"{list(availability_zones)}) right after creating the stack, before adding constructs "
                    "(or put the key 'availability-zones:account=<account>:region=<region>' in cdk.json's context)"
                )
            pin_availability_zones(stack, availability_zones)  # nothing in the stack yet: pin them here
            lookup = False
        super().__init__(scope, construct_id)
        if lookup:
            Annotations.of(self).add_warning_v2(
                "meshworks:AvailabilityZoneLookup",
                f"stack {stack.node.path} has an account and region, so `cdk synth` looks up its availability zones "
                "(AWS credentials needed). To synthesize offline, call "
                "meshworks.constructs.core.offline.pin_availability_zones(stack, ['<region>a', '<region>b', ...]) "
                "right after creating the stack and pass the same list as availability_zones.",
            )
        unknown = sorted(set(interface_endpoints) - set(_ENDPOINT_SERVICES))
        if unknown:
            raise ValueError(
                f"PlatformVpc: unknown interface endpoint(s) {unknown}; "
                f"supported: {', '.join(SUPPORTED_INTERFACE_ENDPOINTS)}"
            )
        self.flow_log_group: SecureLogGroup | None = None
        self.endpoint_security_group: ec2.SecurityGroup | None = None
        if vpc is not None:
            #: The VPC (created here or passed in).
            self.vpc: ec2.IVpc = vpc
            return

        subnets = [
            ec2.SubnetConfiguration(
                name="private",
                subnet_type=(
                    ec2.SubnetType.PRIVATE_WITH_EGRESS if nat_gateways > 0 else ec2.SubnetType.PRIVATE_ISOLATED
                ),
                cidr_mask=private_subnet_cidr_mask,
            )
        ]
        if nat_gateways > 0:
            subnets.insert(
                0,
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24, map_public_ip_on_launch=False
                ),
            )
        key = encryption_key or PlatformKey(self, "FlowLogKey", description="meshworks VPC flow logs")
        self.flow_log_group = SecureLogGroup(self, "FlowLogs", encryption_key=key)
        created = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=None if availability_zones else max_azs,
            availability_zones=list(availability_zones) if availability_zones else None,
            nat_gateways=nat_gateways,
            subnet_configuration=subnets,
            restrict_default_security_group=False,
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDB": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
            },
        )
        self.vpc = created
        flow_role = iam.Role(self, "FlowLogRole", assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com"))
        created.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group, flow_role),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        acknowledge(
            flow_role.node.find_child("DefaultPolicy"),
            {
                "NIST.800.53.R5-IAMNoInlinePolicy": "Generated for this flow log only: write access to its "
                "own log group, scoped by CDK to that log group's ARN.",
            },
        )
        self._lock_default_security_group(created)
        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=created,
            description="HTTPS from inside the VPC to interface endpoints",
            allow_all_outbound=False,
        )
        self.endpoint_security_group.add_ingress_rule(
            ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from the VPC"
        )
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {
            name: created.add_interface_endpoint(
                f"Endpoint-{name}",
                service=_ENDPOINT_SERVICES[name],
                private_dns_enabled=True,
                security_groups=[self.endpoint_security_group],
                open=False,
                subnets=ec2.SubnetSelection(subnet_group_name="private"),
            )
            for name in interface_endpoints
        }
        accounts = sorted(set(endpoint_principal_accounts or [Stack.of(self).account]))
        for name, endpoint in self.interface_endpoints.items():
            for statement in endpoint_policy_statements(name, accounts):
                endpoint.add_to_policy(statement)
        for subnet in created.public_subnets:
            acknowledge(
                subnet.node.find_child("DefaultRoute"),
                {
                    "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW": "Public subnets exist only to host the NAT "
                    "gateways (nat_gateways > 0); no workload is placed in them.",
                },
            )

    @staticmethod
    def _lock_default_security_group(vpc: ec2.Vpc) -> None:
        """Document why the VPC's default security group is left as AWS creates it.

        CDK can strip its rules only through a custom-resource Lambda per VPC; meshworks never
        attaches the default group to anything (every workload gets its own group), so the
        finding is acknowledged on the VPC instead.
        """
        acknowledge(
            vpc,
            {
                "NIST.800.53.R5-VPCDefaultSecurityGroupClosed": "No meshworks resource uses the default "
                "security group; each workload gets its own restrictive group.",
            },
        )

    @property
    def private_subnets(self) -> ec2.SubnetSelection:
        """The subnets workloads go to (private, one per AZ)."""
        if self.vpc.private_subnets:
            return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
