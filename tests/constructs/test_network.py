"""PlatformVpc: subnet sizing, endpoints, flow logs, NAT choices and bring-your-own VPC."""

from __future__ import annotations

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template

from meshworks.constructs.core.offline import pin_availability_zones
from meshworks.constructs.network import DEFAULT_INTERFACE_ENDPOINTS, PlatformVpc

AZS = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]


def _stack(**props) -> tuple[Stack, PlatformVpc]:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Net", env=Environment(account="222222222222", region="eu-west-1"))
    pin_availability_zones(stack, AZS)
    return stack, PlatformVpc(stack, "Network", availability_zones=AZS, **props)


@pytest.fixture(scope="module")
def default_template() -> Template:
    return Template.from_stack(_stack()[0])


@pytest.fixture(scope="module")
def isolated() -> tuple[Stack, PlatformVpc]:
    return _stack(nat_gateways=0, interface_endpoints=["sts", "glue"])


def test_private_subnets_are_large_and_multi_az(default_template: Template) -> None:
    subnets = default_template.find_resources("AWS::EC2::Subnet")
    private = [s["Properties"] for s in subnets.values() if s["Properties"]["CidrBlock"].endswith("/19")]
    assert sorted(p["AvailabilityZone"] for p in private) == AZS
    assert all(not s["Properties"].get("MapPublicIpOnLaunch", False) for s in subnets.values())


def test_gateway_and_interface_endpoints(default_template: Template) -> None:
    endpoints = default_template.find_resources("AWS::EC2::VPCEndpoint")
    kinds = [e["Properties"].get("VpcEndpointType", "Gateway") for e in endpoints.values()]
    assert kinds.count("Gateway") == 2
    assert kinds.count("Interface") == len(DEFAULT_INTERFACE_ENDPOINTS)
    default_template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "SecurityGroupIngress": [Match.object_like({"CidrIp": "10.40.0.0/16", "FromPort": 443, "ToPort": 443})],
            "SecurityGroupEgress": Match.any_value(),
        },
    )


def test_flow_logs_to_encrypted_retained_log_group(default_template: Template) -> None:
    default_template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"})
    default_template.has_resource(
        "AWS::Logs::LogGroup",
        {"DeletionPolicy": "Retain", "Properties": Match.object_like({"KmsKeyId": Match.any_value(), "RetentionInDays": 365})},
    )


def test_zero_nat_gives_isolated_subnets_only(isolated: tuple[Stack, PlatformVpc]) -> None:
    template = Template.from_stack(isolated[0])
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    assert isolated[1].vpc.isolated_subnets and not isolated[1].vpc.public_subnets


def test_bring_your_own_vpc_creates_nothing() -> None:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Byo", env=Environment(account="222222222222", region="eu-west-1"))
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Existing", vpc_id="vpc-123", availability_zones=AZS[:2], private_subnet_ids=["subnet-1", "subnet-2"]
    )
    network = PlatformVpc(stack, "Network", vpc=vpc)
    assert network.vpc is vpc
    assert Template.from_stack(stack).to_json().get("Resources", {}) == {}


def test_unknown_endpoint_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown interface endpoint\(s\) \['dynamo'\]; supported: "):
        _stack(interface_endpoints=["dynamo"])
