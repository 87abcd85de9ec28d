"""EMR on EC2: long-running cluster (fleets, scaling, encryption, security groups, bootstrap) and transient profile."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from meshworks.constructs.core import PlatformKey
from meshworks.constructs.core.offline import pin_availability_zones
from meshworks.constructs.network import PlatformVpc
from meshworks.constructs.spark import (
    BELCORP_FLEET_SCALING,
    DEFAULT_EMR_RELEASE,
    EmrCluster,
    EmrClusterPrerequisites,
    InstanceFleetSpec,
    InstanceTypeWeight,
    ManagedScaling,
    TransientClusterProfile,
)
from meshworks.constructs.storage import DataLakeStorage, SecureBucket

ENV = Environment(account="222222222222", region="eu-west-1")
AZS = ["eu-west-1a", "eu-west-1b"]


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Emr", env=ENV)
    pin_availability_zones(stack, AZS)
    network = PlatformVpc(stack, "Network", availability_zones=AZS, interface_endpoints=[])
    lake = DataLakeStorage(stack, "Lake")
    key = PlatformKey(stack, "Key")
    logs = SecureBucket(stack, "Logs", encryption_key=key)
    prerequisites = EmrClusterPrerequisites(
        stack, "Base", vpc=network.vpc, encryption_key=key, log_bucket=logs, lake=lake, read_zones=["raw"],
        read_write_zones=["curated"], glue_databases=["sales"],
    )
    cluster = EmrCluster(stack, "Cluster", prerequisites=prerequisites, name="analytics",
                         custom_ami_id="ami-0123456789abcdef0")
    profile = TransientClusterProfile(stack, "Nightly", name="nightly", name_prefix="acme", prerequisites=prerequisites)
    workflow = iam.Role(stack, "Workflow", assumed_by=iam.AccountRootPrincipal())
    profile.grant_create_cluster(workflow)
    return {"template": Template.from_stack(stack), "stack": stack, "vpc": network.vpc, "key": key, "logs": logs,
            "prerequisites": prerequisites, "cluster": cluster, "profile": profile}


@pytest.fixture(scope="module")
def template(built: dict[str, Any]) -> Template:
    return built["template"]


@pytest.fixture(scope="module")
def cluster_props(template: Template) -> dict[str, Any]:
    (cluster,) = template.find_resources("AWS::EMR::Cluster").values()
    return cluster["Properties"]


@pytest.fixture(scope="module")
def overrides(template: Template) -> dict[str, Any]:
    (parameter,) = template.find_resources("AWS::SSM::Parameter").values()
    parts = parameter["Properties"]["Value"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))


# ------------------------------------------------------------------------------------------------------
# Long-running cluster
# ------------------------------------------------------------------------------------------------------


def test_cluster_release_applications_and_protection(cluster_props: dict[str, Any]) -> None:
    assert cluster_props["ReleaseLabel"] == DEFAULT_EMR_RELEASE and DEFAULT_EMR_RELEASE.startswith("emr-7.")
    assert [app["Name"] for app in cluster_props["Applications"]] == ["Spark", "Hadoop", "Hive"]
    assert cluster_props["Instances"]["TerminationProtected"] is True
    assert cluster_props["Instances"]["KeepJobFlowAliveWhenNoSteps"] is True
    assert "AutoTerminationPolicy" not in cluster_props
    assert cluster_props["CustomAmiId"] == "ami-0123456789abcdef0"
    assert {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"} in cluster_props["Tags"]


def test_managed_scaling_uses_belcorp_numbers(cluster_props: dict[str, Any]) -> None:
    assert cluster_props["ManagedScalingPolicy"] == {
        "ComputeLimits": {
            "UnitType": "InstanceFleetUnits",
            "MinimumCapacityUnits": 3,
            "MaximumCapacityUnits": 28,
            "MaximumOnDemandCapacityUnits": 6,
            "MaximumCoreCapacityUnits": 6,
        }
    }


def test_instance_fleets_spot_and_on_demand_targets(cluster_props: dict[str, Any]) -> None:
    instances = cluster_props["Instances"]
    master, core, (task,) = instances["MasterInstanceFleet"], instances["CoreInstanceFleet"], instances["TaskInstanceFleets"]
    assert (master["TargetOnDemandCapacity"], master["TargetSpotCapacity"]) == (1, 0)
    assert (core["TargetOnDemandCapacity"], core["TargetSpotCapacity"]) == (2, 0)
    assert (task["TargetOnDemandCapacity"], task["TargetSpotCapacity"]) == (2, 8)  # Paytm's 80:20
    spot = task["LaunchSpecifications"]["SpotSpecification"]
    assert spot == {"AllocationStrategy": "price-capacity-optimized", "TimeoutAction": "SWITCH_TO_ON_DEMAND",
                    "TimeoutDurationMinutes": 10}
    types = [entry["InstanceType"] for entry in task["InstanceTypeConfigs"]]
    assert len(types) == 8 and all("g." in name for name in types), "several Graviton types"
    assert {entry["WeightedCapacity"] for entry in task["InstanceTypeConfigs"]} == {1, 2}


def test_security_configuration_encrypts_s3_local_disks_and_ebs_with_kms(template: Template) -> None:
    (config,) = template.find_resources("AWS::EMR::SecurityConfiguration").values()
    document = config["Properties"]["SecurityConfiguration"]
    encryption = document["EncryptionConfiguration"]
    assert encryption["EnableAtRestEncryption"] is True
    assert encryption["AtRestEncryptionConfiguration"]["S3EncryptionConfiguration"]["EncryptionMode"] == "SSE-KMS"
    local = encryption["AtRestEncryptionConfiguration"]["LocalDiskEncryptionConfiguration"]
    assert local["EncryptionKeyProviderType"] == "AwsKms" and local["EnableEbsEncryption"] is True
    assert local["AwsKmsKey"]["Fn::GetAtt"][0].startswith("Key")
    assert document["InstanceMetadataServiceConfiguration"]["MinimumInstanceMetadataServiceVersion"] == 2


def test_cluster_uses_security_configuration_logs_and_roles(cluster_props: dict[str, Any]) -> None:
    assert cluster_props["SecurityConfiguration"]["Ref"].startswith("BaseSecurityConfiguration")
    assert cluster_props["LogUri"]["Fn::Join"][1][-1] == "/emr/Base/"
    assert "LogEncryptionKmsKeyId" in cluster_props
    assert cluster_props["JobFlowRole"]["Ref"].startswith("BaseInstanceProfile")
    assert cluster_props["ServiceRole"]["Ref"].startswith("BaseServiceRole")


def test_custom_security_groups_admit_only_the_cluster(template: Template, cluster_props: dict[str, Any]) -> None:
    instances = cluster_props["Instances"]
    for key in ("EmrManagedMasterSecurityGroup", "EmrManagedSlaveSecurityGroup", "ServiceAccessSecurityGroup"):
        assert instances[key]["Fn::GetAtt"][0].startswith("Base")
    ingress = template.find_resources("AWS::EC2::SecurityGroupIngress")
    assert ingress and all("CidrIp" not in rule["Properties"] for rule in ingress.values()), "no CIDR-based ingress"
    ports = {(r["Properties"]["IpProtocol"], r["Properties"].get("FromPort")) for r in ingress.values()}
    assert ports == {("-1", None), ("tcp", 8443), ("tcp", 9443)}
    groups = [g for k, g in template.find_resources("AWS::EC2::SecurityGroup").items() if k.startswith("Base")]
    assert len(groups) == 3
    for group in groups:
        assert {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"} in group["Properties"]["Tags"]
        assert all(rule.get("CidrIp") != "0.0.0.0/0" or rule.get("FromPort") == 443
                   for rule in group["Properties"].get("SecurityGroupEgress", []))


def test_bootstrap_installs_the_cloudwatch_agent_from_an_asset(cluster_props: dict[str, Any]) -> None:
    (action,) = cluster_props["BootstrapActions"]
    assert action["Name"] == "cloudwatch-agent"
    assert action["ScriptBootstrapAction"]["Path"].endswith(".sh")
    assert action["ScriptBootstrapAction"]["Args"][1:] == ["meshworks/EMR", "analytics"]


def test_spark_defaults_cap_dynamic_allocation(cluster_props: dict[str, Any]) -> None:
    (config,) = cluster_props["Configurations"]
    assert config == {"Classification": "spark-defaults",
                      "ConfigurationProperties": {"spark.dynamicAllocation.maxExecutors": "100", "spark.executor.cores": "4"}}


def test_service_role_scoped_policy_and_pass_role(template: Template) -> None:
    roles = template.find_resources("AWS::IAM::Role")
    (service,) = [r for k, r in roles.items() if k.startswith("BaseServiceRole")]
    statement = service["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "elasticmapreduce.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "222222222222"}
    assert "AmazonEMRServicePolicy_v2" in json.dumps(service["Properties"]["ManagedPolicyArns"])
    policies = [p for k, p in template.find_resources("AWS::IAM::Policy").items() if k.startswith("BaseServiceRole")]
    statements = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    pass_role = next(s for s in statements if s["Action"] == "iam:PassRole")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    grants = next(s for s in statements if s.get("Sid") == "EbsEncryptionGrants")
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_instance_role_is_least_privilege(template: Template) -> None:
    policies = [p for k, p in template.find_resources("AWS::IAM::Policy").items() if k.startswith("BaseInstanceRole")]
    text = json.dumps(policies)
    assert "LakeRaw" in text and "LakeCurated" in text and "LakeStage" not in text
    metrics = next(s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "NodeMetrics")
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "meshworks/EMR"}}
    assert "ManagedPolicyArns" not in json.dumps([r for k, r in template.find_resources("AWS::IAM::Role").items()
                                                  if k.startswith("BaseInstanceRole")])


def test_subnets_are_tagged_for_the_scoped_service_policy(template: Template) -> None:
    subnets = [s for k, s in template.find_resources("AWS::EC2::Subnet").items() if "private" in k]
    assert subnets and all(
        {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"} in s["Properties"]["Tags"] for s in subnets
    )


# ------------------------------------------------------------------------------------------------------
# Transient profile
# ------------------------------------------------------------------------------------------------------


def test_job_flow_overrides_carry_everything_a_dag_needs(overrides: dict[str, Any]) -> None:
    assert overrides["Name"] == "nightly" and overrides["ReleaseLabel"] == DEFAULT_EMR_RELEASE
    for key in ("ServiceRole", "JobFlowRole", "SecurityConfiguration", "LogUri", "LogEncryptionKmsKeyId"):
        assert overrides[key], key
    assert overrides["AutoTerminationPolicy"] == {"IdleTimeout": 900}
    instances = overrides["Instances"]
    assert instances["TerminationProtected"] is False
    assert [fleet["InstanceFleetType"] for fleet in instances["InstanceFleets"]] == ["MASTER", "CORE", "TASK"]
    assert instances["InstanceFleets"][2]["TargetSpotCapacity"] == 8
    assert len(instances["Ec2SubnetIds"]) == 2
    for key in ("EmrManagedMasterSecurityGroup", "EmrManagedSlaveSecurityGroup", "ServiceAccessSecurityGroup"):
        assert instances[key] == "TOKEN"
    assert overrides["ManagedScalingPolicy"]["ComputeLimits"]["MaximumCapacityUnits"] == 28
    assert overrides["Configurations"][0]["Properties"]["spark.dynamicAllocation.maxExecutors"] == "100"
    assert {"Key": "meshworks:emr-profile", "Value": "nightly"} in overrides["Tags"]


def test_profile_parameter_name(template: Template, built: dict[str, Any]) -> None:
    assert built["profile"].parameter_name == "/acme/spark/emr-ec2/nightly/job-flow-overrides"
    template.has_resource_properties("AWS::SSM::Parameter", {"Name": "/acme/spark/emr-ec2/nightly/job-flow-overrides"})


def test_grant_create_cluster(template: Template) -> None:
    policies = [p for k, p in template.find_resources("AWS::IAM::Policy").items() if k.startswith("Workflow")]
    statements = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    run = next(s for s in statements if s["Action"] == "elasticmapreduce:RunJobFlow")
    assert run["Condition"] == {"StringEquals": {"aws:RequestTag/meshworks:emr-profile": "nightly"}}
    passes = [s for s in statements if s["Action"] == "iam:PassRole"]
    services = sorted(s["Condition"]["StringEquals"]["iam:PassedToService"] for s in passes)
    assert services == ["ec2.amazonaws.com", "elasticmapreduce.amazonaws.com"]
    manage = next(s for s in statements if "elasticmapreduce:AddJobFlowSteps" in s["Action"])
    assert manage["Condition"] == {"StringEquals": {"aws:ResourceTag/meshworks:emr-profile": "nightly"}}


# ------------------------------------------------------------------------------------------------------
# Validation errors
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"release_label": "emr-6.15.0"}, "release_label 'emr-6.15.0' is older than emr-7.0.0"),
        ({"release_label": "7.1"}, "release_label '7.1' is not an EMR release label"),
        ({"custom_ami_id": "ubuntu"}, "custom_ami_id 'ubuntu' is not an AMI id"),
        ({"managed_scaling": ManagedScaling.belcorp()}, "count scaling limits in InstanceFleetUnits"),
        ({"master_fleet": InstanceFleetSpec(on_demand_target=2)}, "an EMR master fleet has exactly 1 instance"),
        ({"core_fleet": InstanceFleetSpec(on_demand_target=8)}, "core_fleet targets 8 units, above managed_scaling's core limit of 6"),
        ({"task_fleet": InstanceFleetSpec(on_demand_target=5)}, "start with 7 On-Demand units, above managed_scaling.maximum_on_demand_capacity_units (6)"),
        ({"task_fleet": InstanceFleetSpec(on_demand_target=1, spot_target=39)}, "target 42 units, above managed_scaling.maximum_capacity_units (28)"),
        ({"idle_timeout_minutes": 30}, "idle_timeout_minutes and termination_protected exclude each other"),
        ({"idle_timeout_minutes": 0, "termination_protected": False}, "idle_timeout_minutes 0 is out of range"),
        ({"applications": []}, "must list EMR application names"),
    ],
)
def test_cluster_rejects_bad_input(built: dict[str, Any], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"^EmrCluster: ") as excinfo:
        EmrCluster(built["stack"], f"Bad{abs(hash(message))}", prerequisites=built["prerequisites"], **kwargs)
    assert message in str(excinfo.value)


def test_cluster_needs_prerequisites_or_their_inputs(built: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="pass prerequisites=EmrClusterPrerequisites"):
        EmrCluster(built["stack"], "NoPrereqs", vpc=built["vpc"])


def test_master_fleet_allows_five_types_at_most(built: dict[str, Any]) -> None:
    six = InstanceFleetSpec(instance_types=[InstanceTypeWeight(instance_type=f"m7g.{s}") for s in
                                            ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge")], on_demand_target=1)
    with pytest.raises(ValueError, match="EMR allows at most 5 for the master fleet"):
        EmrCluster(built["stack"], "SixTypes", prerequisites=built["prerequisites"], master_fleet=six)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Nightly Run"}, "name 'Nightly Run' is invalid"),
        ({"name_prefix": "bad prefix"}, "name_prefix 'bad prefix' is invalid"),
        ({"idle_timeout_minutes": 0}, "idle_timeout_minutes 0 is out of range"),
        ({"managed_scaling": ManagedScaling(minimum_capacity_units=1, maximum_capacity_units=4, unit_type="VCPU")},
         "count scaling limits in InstanceFleetUnits"),
    ],
)
def test_profile_rejects_bad_input(built: dict[str, Any], kwargs: dict[str, Any], message: str) -> None:
    args = {"name": "other", "name_prefix": "acme", "prerequisites": built["prerequisites"], **kwargs}
    with pytest.raises(ValueError, match=r"^TransientClusterProfile: ") as excinfo:
        TransientClusterProfile(built["stack"], f"BadProfile{abs(hash(message))}", **args)
    assert message in str(excinfo.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"log_prefix": "emr"}, "log_prefix 'emr' must not start with '/' and must end with '/'"),
        ({"in_transit_certificate_s3_uri": "https://x/certs.zip"}, "must be the S3 URI of a PEM zip"),
    ],
)
def test_prerequisites_reject_bad_input(built: dict[str, Any], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"^EmrClusterPrerequisites: ") as excinfo:
        EmrClusterPrerequisites(built["stack"], f"BadBase{abs(hash(message))}", vpc=built["vpc"],
                                encryption_key=built["key"], log_bucket=built["logs"], **kwargs)
    assert message in str(excinfo.value)


def test_belcorp_preset_in_fleet_units() -> None:
    assert BELCORP_FLEET_SCALING.unit_type.value == "InstanceFleetUnits"
    assert (BELCORP_FLEET_SCALING.minimum_capacity_units, BELCORP_FLEET_SCALING.maximum_capacity_units,
            BELCORP_FLEET_SCALING.maximum_on_demand_capacity_units, BELCORP_FLEET_SCALING.maximum_core_capacity_units) == (3, 28, 6, 6)
