"""Constructs in a user's stack with ``env`` synthesize offline: no context lookup (issue 11, item 2).

A lookup shows in the cloud assembly's ``missing`` list (``cdk synth`` would then call AWS, and fail without
credentials). Before the fix ``PlatformVpc(availability_zones=...)`` and ``EmrCluster`` on it in such a stack
left an ``availability-zones`` lookup behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam

from meshworks.constructs.core import PlatformKey, pin_availability_zones
from meshworks.constructs.network import PlatformVpc
from meshworks.constructs.spark import EmrCluster, EmrServerlessApplication
from meshworks.constructs.storage import SecureBucket

ENV = Environment(account="123456789012", region="eu-west-1")
AZS = ["eu-west-1a", "eu-west-1b"]


def _missing(app: App) -> list:
    assembly = app.synth()
    return json.loads((Path(assembly.directory) / "manifest.json").read_text()).get("missing", [])


def test_vpc_first_in_an_env_stack_pins_its_zones_and_spark_on_it_looks_nothing_up() -> None:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Analytics", env=ENV)
    network = PlatformVpc(stack, "Network", availability_zones=AZS, interface_endpoints=[])
    key = PlatformKey(stack, "Key")
    EmrCluster(stack, "Cluster", vpc=network.vpc, encryption_key=key, log_bucket=SecureBucket(stack, "Logs", encryption_key=key))
    EmrServerlessApplication(stack, "Serverless", vpc=network.vpc)
    assert _missing(app) == []
    assert sorted(network.vpc.availability_zones) == AZS


def test_pinned_stack_synthesizes_offline_whatever_comes_first() -> None:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Analytics", env=ENV)
    pin_availability_zones(stack, AZS)  # the documented first line of a user's stack
    iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"))
    PlatformVpc(stack, "Network", availability_zones=AZS, interface_endpoints=[])
    assert _missing(app) == []


def test_zones_given_too_late_say_what_to_do() -> None:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Analytics", env=ENV)
    iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"))
    with pytest.raises(ValueError, match=r"PlatformVpc 'Network': .*pin_availability_zones\(stack, \['eu-west-1a'"):
        PlatformVpc(stack, "Network", availability_zones=AZS)


def test_a_lookup_the_user_asked_for_is_explained() -> None:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Analytics", env=ENV)
    network = PlatformVpc(stack, "Network", interface_endpoints=[])
    warnings = [entry.data for entry in network.node.metadata if entry.type == "aws:cdk:warning"]
    assert any("pin_availability_zones" in str(text) for text in warnings), warnings
