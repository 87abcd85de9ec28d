"""Network defaults of the reference app and the constructs behind them (issue 11, item 10).

Flink's REST API closed by default, interface endpoints limited to the platform's accounts, configurable HTTPS
egress and in-transit TLS for EMR, NLB access logs to a bucket ELB can deliver to, VPC Lambdas' ENI permissions
scoped to their own subnets and security group.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template

from meshworks.constructs.core import PlatformKey
from meshworks.constructs.core.offline import pin_availability_zones
from meshworks.constructs.network import PlatformVpc
from meshworks.constructs.spark import EmrClusterPrerequisites, EmrServerlessApplication
from meshworks.stacks.config import ConfigError, config_from_context
from meshworks.stacks.platform import build_platform
from tests.harness import ROOT, SynthesizedPlatform

CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
AZS = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def test_flink_rest_api_admits_no_network_by_default(platform: SynthesizedPlatform) -> None:
    spark = platform.templates["Spark"]
    groups = {k: r for k, r in _resources(spark, "AWS::EC2::SecurityGroup").items() if "UiSecurityGroup" in k}
    assert groups, "the Flink UI security group is missing"
    for group in groups.values():
        assert not [rule for rule in group["Properties"].get("SecurityGroupIngress", []) if "CidrIp" in rule]
    ingress = [r["Properties"] for r in _resources(spark, "AWS::EC2::SecurityGroupIngress").values()]
    ui_ids = {json.dumps({"Fn::GetAtt": [k, "GroupId"]}) for k in groups}
    into_ui = [rule for rule in ingress if json.dumps(rule["GroupId"]) in ui_ids]
    assert into_ui and all("SourceSecurityGroupId" in rule and "CidrIp" not in rule for rule in into_ui)


def test_interface_endpoints_admit_only_the_platforms_accounts(platform: SynthesizedPlatform) -> None:
    accounts = sorted({platform.config.environments.hub.account, platform.config.environments.compute.account})
    endpoints = _resources(platform.templates["Foundation"], "AWS::EC2::VPCEndpoint")
    interface = {k: e["Properties"] for k, e in endpoints.items() if e["Properties"].get("VpcEndpointType") == "Interface"}
    assert len(interface) == len(platform.config.network.interface_endpoints)
    for logical_id, props in interface.items():
        statements = props["PolicyDocument"]["Statement"]
        only = next(s for s in statements if s.get("Sid") == "OnlyPlatformAccounts")
        assert only["Condition"] == {"StringEquals": {"aws:PrincipalAccount": accounts}}, logical_id
        others = [s for s in statements if s is not only]
        if "sts" in logical_id.lower():
            (federated,) = others
            assert federated["Action"] == ["sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity"]
            assert federated["Condition"] == {"StringEquals": {"aws:ResourceAccount": accounts}}
        else:
            assert others == [], logical_id


def test_flink_nlb_writes_access_logs_to_an_sse_s3_bucket_elb_may_write(platform: SynthesizedPlatform) -> None:
    spark = platform.templates["Spark"]
    (nlb,) = _resources(spark, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    attributes = {a["Key"]: a["Value"] for a in nlb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    bucket_id = attributes["access_logs.s3.bucket"]["Ref"]
    bucket = spark["Resources"][bucket_id]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}  # ELB log delivery: SSE-S3
    policies = [p for p in _resources(spark, "AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": bucket_id}]
    principals = json.dumps([s.get("Principal") for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]])
    assert "delivery.logs.amazonaws.com" in principals


def test_vpc_lambdas_create_enis_only_in_their_subnets_and_group(platform: SynthesizedPlatform) -> None:
    checked = 0
    for stack, _, policy in platform.resources("AWS::IAM::Policy"):
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            eni_actions = {a for a in actions if "NetworkInterface" in a or "PrivateIpAddresses" in a}
            if not eni_actions:
                continue
            if resources == ["*"]:
                assert eni_actions == {"ec2:DescribeNetworkInterfaces"}, (stack, statement)
            if "ec2:CreateNetworkInterface" in eni_actions:
                text = json.dumps(resources)
                assert ":subnet/" in text and ":security-group/" in text and "subnet/*" not in text, (stack, text)
                checked += 1
    assert checked >= 2  # the Flink jar uploader and job runner at least


def _compute_stack() -> Stack:
    stack = Stack(App(builtin_cloud_formation_validation=False), "Compute", env=Environment(account="222222222222", region="eu-west-1"))
    pin_availability_zones(stack, AZS)
    return stack


def _egress(template: Template) -> list[dict[str, Any]]:
    rules = [r["Properties"] for r in template.find_resources("AWS::EC2::SecurityGroupEgress").values()]
    for group in template.find_resources("AWS::EC2::SecurityGroup").values():
        rules += group["Properties"].get("SecurityGroupEgress", [])
    return [r for r in rules if r.get("FromPort") == 443]


def test_emr_and_emr_serverless_https_egress_is_configurable() -> None:
    stack = _compute_stack()
    vpc = PlatformVpc(stack, "Net", availability_zones=AZS, interface_endpoints=["sts"]).vpc
    key = PlatformKey(stack, "Key")
    restricted = {"https_egress_cidrs": ["10.40.0.0/16"], "https_egress_prefix_list_ids": ["pl-6ea54007"]}
    EmrServerlessApplication(stack, "Serverless", vpc=vpc, encryption_key=key, **restricted)
    EmrClusterPrerequisites(stack, "Emr", vpc=vpc, encryption_key=key, log_bucket=_bucket(stack), **restricted)
    rules = _egress(Template.from_stack(stack))
    assert rules and not [r for r in rules if r.get("CidrIp") == "0.0.0.0/0"]
    assert {r.get("CidrIp") or r.get("DestinationPrefixListId") for r in rules} == {"10.40.0.0/16", "pl-6ea54007"}


def _bucket(stack: Stack):
    from meshworks.constructs.storage import SecureBucket

    return SecureBucket(stack, "Logs")


def test_default_egress_is_https_anywhere_and_documented() -> None:
    stack = _compute_stack()
    vpc = PlatformVpc(stack, "Net", availability_zones=AZS, interface_endpoints=["sts"]).vpc
    EmrServerlessApplication(stack, "Serverless", vpc=vpc, encryption_key=PlatformKey(stack, "Key"))
    assert {r.get("CidrIp") for r in _egress(Template.from_stack(stack))} == {"0.0.0.0/0"}
    docs = (ROOT / "docs" / "spark.md").read_text()
    assert "https_egress_cidrs" in docs and "in_transit_certificate_s3_uri" in docs and "ui_allowed_cidrs" in docs


def test_egress_without_any_destination_is_refused() -> None:
    stack = _compute_stack()
    vpc = PlatformVpc(stack, "Net", availability_zones=AZS, interface_endpoints=["sts"]).vpc
    with pytest.raises(ValueError, match="https_egress_cidrs and https_egress_prefix_list_ids are both empty"):
        EmrServerlessApplication(stack, "Serverless", vpc=vpc, https_egress_cidrs=[])


def test_reference_app_takes_egress_and_in_transit_tls_from_the_configuration() -> None:
    cert = "s3://acme-certs/emr/certs.zip"
    config = config_from_context(
        {
            **CONTEXT,
            "meshworks.mesh.enabled": "false",  # only the Spark stack is read: the others are not built
            "meshworks.monitoring.enabled": "false",
            "meshworks.orchestration.enabled": "false",
            "meshworks.feature_store.enabled": "false",
            "meshworks.ingestion.enabled": "false",
            "meshworks.spark.https_egress_cidrs": '["10.40.0.0/16"]',
            "meshworks.spark.https_egress_prefix_list_ids": '["pl-6ea54007"]',
            "meshworks.spark.in_transit_certificate_s3_uri": cert,
        }
    )
    app = App(builtin_cloud_formation_validation=False, context=CONTEXT)
    platform = build_platform(app, config, policy_checks=False)
    template = Template.from_stack(platform.extra["Spark"])
    configurations = [json.dumps(c["Properties"]) for c in template.find_resources("AWS::EMR::SecurityConfiguration").values()]
    assert len(configurations) == 2 and all('"EnableInTransitEncryption": true' in c and cert in c for c in configurations)
    policies = json.dumps(template.find_resources("AWS::IAM::Policy"))
    assert policies.count(":s3:::acme-certs/emr/certs.zip") == 2  # each instance role reads the bundle
    rules = _egress(template)
    assert rules and not [r for r in rules if r.get("CidrIp") == "0.0.0.0/0"]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("spark.in_transit_certificate_s3_uri", "https://acme/certs.zip", "must be the S3 URI of a PEM zip"),
        ("spark.https_egress_cidrs", '["10.40.0.0/33"]', "is not an IPv4 CIDR block"),
        ("spark.https_egress_prefix_list_ids", '["s3"]', "must be a prefix list id"),
    ],
)
def test_bad_network_settings_are_one_clear_line(key: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        config_from_context({**CONTEXT, f"meshworks.{key}": value})
