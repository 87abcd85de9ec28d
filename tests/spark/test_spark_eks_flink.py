"""EMR on EKS (virtual cluster, IRSA job role, pod templates, ECR, .sync runner) and Flink on EMR."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Match, Template

from meshworks.constructs.core import PlatformKey
from meshworks.constructs.core.offline import pin_availability_zones
from meshworks.constructs.network import PlatformVpc
from meshworks.constructs.spark import EMR_CONTAINERS_SYNC, EmrOnEksVirtualCluster, FlinkOnEmr
from meshworks.constructs.spark.emr_on_eks import base36_role_name
from meshworks.constructs.storage import DataLakeStorage, SecureBucket

ENV = Environment(account="222222222222", region="eu-west-1")
AZS = ["eu-west-1a", "eu-west-1b"]
OIDC = "arn:aws:iam::222222222222:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PROVIDER = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "EksFlink", env=ENV)
    pin_availability_zones(stack, AZS)
    network = PlatformVpc(stack, "Network", availability_zones=AZS, interface_endpoints=[])
    lake = DataLakeStorage(stack, "Lake")
    key = PlatformKey(stack, "Key")
    logs = SecureBucket(stack, "Logs", encryption_key=key)
    eks = EmrOnEksVirtualCluster(
        stack, "Eks", eks_cluster_name="analytics", namespace="spark-jobs", oidc_provider_arn=OIDC,
        job_role_name="analytics-spark-jobs", encryption_key=key, lake=lake, read_zones=["raw"],
        write_zones=["curated"], create_ecr_repository=True,
    )
    flink = FlinkOnEmr(stack, "Flink", vpc=network.vpc, encryption_key=key, log_bucket=logs,
                       ui_allowed_cidrs=["10.20.0.0/16"], lake=lake, read_zones=["curated"])
    return {"template": Template.from_stack(stack), "stack": stack, "vpc": network.vpc, "key": key, "logs": logs,
            "eks": eks, "flink": flink}


@pytest.fixture(scope="module")
def template(built: dict[str, Any]) -> Template:
    return built["template"]


def _joined(value: Any) -> str:
    """A CloudFormation value as text, tokens as TOKEN."""
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(p if isinstance(p, str) else "TOKEN" for p in value["Fn::Join"][1])
    return value if isinstance(value, str) else json.dumps(value)


# ------------------------------------------------------------------------------------------------------
# EMR on EKS
# ------------------------------------------------------------------------------------------------------


def test_virtual_cluster_on_the_existing_cluster_and_namespace(template: Template) -> None:
    template.has_resource_properties(
        "AWS::EMRContainers::VirtualCluster",
        {
            "Name": "analytics-spark-jobs",
            "ContainerProvider": {"Id": "analytics", "Type": "EKS", "Info": {"EksInfo": {"Namespace": "spark-jobs"}}},
        },
    )
    template.resource_count_is("AWS::EKS::Cluster", 0)


def test_base36_matches_the_cli_encoding() -> None:
    # int.from_bytes(b"ab") = 24930 = 36**2 * 19 + 36 * 8 + 18 -> "j", "8", "i"
    assert base36_role_name("ab") == "j8i"
    assert base36_role_name("") == "0"


def test_job_role_trusted_through_irsa_for_the_namespace_only(template: Template) -> None:
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": "analytics-spark-jobs",
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Effect": "Allow",
                        "Principal": {"Federated": OIDC},
                        "Condition": {
                            "StringLike": {
                                f"{PROVIDER}:sub": "system:serviceaccount:spark-jobs:emr-containers-sa-*-*-222222222222-"
                                + base36_role_name("analytics-spark-jobs")
                            },
                            "StringEquals": {f"{PROVIDER}:aud": "sts.amazonaws.com"},
                        },
                    }
                ]
            },
        },
    )


def test_pod_templates_stored_in_a_secure_bucket(built: dict[str, Any], template: Template) -> None:
    template.has_resource_properties(
        "Custom::CDKBucketDeployment", {"DestinationBucketKeyPrefix": "pod-templates/", "Prune": True}
    )
    uris = built["eks"].pod_template_uris
    assert set(uris) == {"driver.yaml", "executor.yaml"}
    overrides = built["eks"].configuration_overrides()
    properties = overrides["ApplicationConfiguration"][0]["Properties"]
    assert "spark.kubernetes.driver.podTemplateFile" in properties
    assert properties["spark.dynamicAllocation.maxExecutors"] == "50"
    assert overrides["MonitoringConfiguration"]["PersistentAppUI"] == "ENABLED"


def test_ecr_repository_scanned_encrypted_immutable_retained(template: Template) -> None:
    template.has_resource(
        "AWS::ECR::Repository",
        {
            "Properties": {
                "ImageScanningConfiguration": {"ScanOnPush": True},
                "ImageTagMutability": "IMMUTABLE",
                "EncryptionConfiguration": {"EncryptionType": "KMS", "KmsKey": Match.any_value()},
                "LifecyclePolicy": Match.any_value(),
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_eks_runner_uses_emr_containers_sync(template: Template) -> None:
    machines = template.find_resources("AWS::StepFunctions::StateMachine")
    definitions = [_joined(m["Properties"]["DefinitionString"]) for m in machines.values()]
    (eks,) = [d for d in definitions if "emr-containers" in d]
    state = json.loads(eks)["States"]["RunSparkJob"]
    assert state["Resource"] == EMR_CONTAINERS_SYNC == "arn:aws:states:::emr-containers:startJobRun.sync"
    assert state["Parameters"]["ReleaseLabel"].endswith("-latest")
    assert state["Parameters"]["JobDriver"]["SparkSubmitJobDriver"]["EntryPoint.$"] == "$.job.entryPoint"
    policies = json.dumps(template.find_resources("AWS::IAM::Policy"))
    assert '"emr-containers:ExecutionRoleArn"' in policies


# ------------------------------------------------------------------------------------------------------
# Flink on EMR
# ------------------------------------------------------------------------------------------------------


def test_flink_cluster_with_session_step(template: Template) -> None:
    (cluster,) = template.find_resources("AWS::EMR::Cluster").values()
    props = cluster["Properties"]
    assert [app["Name"] for app in props["Applications"]] == ["Flink", "Hadoop"]
    assert props["Instances"]["TerminationProtected"] is True
    assert props["Configurations"] == [
        {"Classification": "flink-conf",
         "ConfigurationProperties": {"rest.port": "8081", "web.cancel.enable": "false", "web.submit.enable": "true"}}
    ]
    (step,) = props["Steps"]
    assert step["Name"] == "start-flink-session"
    assert _joined(step["HadoopJarStep"]["Jar"]).endswith(".elasticmapreduce/libs/script-runner/script-runner.jar")
    assert props["BootstrapActions"][0]["Name"] == "cloudwatch-agent"


def test_flink_ui_behind_internal_nlb_on_the_rest_port_only(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internal", "Type": "network"}
    )
    template.resource_count_is("AWS::ElasticLoadBalancingV2::Listener", 1)
    template.has_resource_properties("AWS::ElasticLoadBalancingV2::Listener", {"Port": 8081, "Protocol": "TCP"})
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup", {"Port": 8081, "TargetType": "ip", "HealthCheckPath": "/config"}
    )
    groups = template.find_resources("AWS::EC2::SecurityGroup")
    (ui,) = [g for k, g in groups.items() if k.startswith("FlinkUiSecurityGroup")]
    ingress = ui["Properties"]["SecurityGroupIngress"]
    assert [(r["CidrIp"], r["FromPort"], r["ToPort"]) for r in ingress] == [("10.20.0.0/16", 8081, 8081)]
    lambdas = [r["Properties"] for r in template.find_resources("AWS::EC2::SecurityGroupIngress").values()
               if r["Properties"]["GroupId"]["Fn::GetAtt"][0].startswith("FlinkUiSecurityGroup")]
    assert len(lambdas) == 2 and all(r["FromPort"] == 8081 for r in lambdas), "the two Lambdas, on the REST port"


def test_flink_lambdas_in_vpc_with_their_contract(template: Template) -> None:
    functions = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": Match.string_like_regexp(r"^flink\.")}})
    assert len(functions) == 2
    by_handler = {f["Properties"]["Handler"]: f["Properties"] for f in functions.values()}
    uploader = by_handler["flink.jar_uploader.main"]
    runner = by_handler["flink.job_runner.main"]
    for props in (uploader, runner):
        assert "VpcConfig" in props
        assert _joined(props["Environment"]["Variables"]["FLINK_REST_URL"]).startswith("http://TOKEN:8081")
        assert props["Environment"]["Variables"]["JAR_ID_PREFIX"] == "jar-ids/"
    assert runner["Environment"]["Variables"]["REQUEST_PREFIX"] == "requests/"
    assert runner["Environment"]["Variables"]["RESULT_PREFIX"] == "results/"
    assert runner["Timeout"] == 120


def test_uploads_and_requests_trigger_the_lambdas_through_eventbridge(template: Template) -> None:
    rules = template.find_resources("AWS::Events::Rule")
    patterns = sorted(json.dumps(r["Properties"]["EventPattern"]["detail"]["object"]) for r in rules.values())
    assert patterns == ['{"key": [{"wildcard": "jars/*.jar"}]}', '{"key": [{"wildcard": "requests/*.json"}]}']
    buckets = [b for k, b in template.find_resources("AWS::S3::Bucket").items() if k.startswith(("FlinkArtifacts", "FlinkRequests")) and "AccessLogs" not in k]
    assert len(buckets) == 2
    for bucket in buckets:
        assert bucket["Properties"]["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    template.resource_count_is("Custom::S3BucketNotifications", 0)


def test_flink_lambdas_least_privilege(template: Template) -> None:
    policies = template.find_resources("AWS::IAM::Policy")
    uploader = json.dumps([p for k, p in policies.items() if k.startswith("FlinkJarUploader")])
    runner = json.dumps([p for k, p in policies.items() if k.startswith("FlinkJobRunner")])
    assert "/jars/*" in uploader and "/jar-ids/*" in uploader and "FlinkRequests" not in uploader
    assert "/requests/*" in runner and "/results/*" in runner and "/runner-state/*" in runner and "/jars/*" not in runner
    instance = json.dumps([p for k, p in policies.items() if k.startswith("FlinkPrerequisitesInstanceRole")])
    assert "elasticloadbalancing:RegisterTargets" in instance and "FlinkJobManager" in instance


# ------------------------------------------------------------------------------------------------------
# Validation errors
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"eks_cluster_name": "-bad"}, "eks_cluster_name '-bad' is not an EKS cluster name"),
        ({"namespace": "Spark_Jobs"}, "namespace 'Spark_Jobs' is not a Kubernetes namespace"),
        ({"oidc_provider_arn": "arn:aws:iam::222222222222:role/x"}, "is not an EKS OIDC provider ARN"),
        ({"release_label": "emr-7.13.0"}, "release_label 'emr-7.13.0' is not an EMR on EKS release"),
        ({"job_role_name": "bad role"}, "job_role_name 'bad role' is not an IAM role name"),
        ({"pod_templates": {"driver.json": "{}"}}, "pod_templates key 'driver.json' must be a YAML file name"),
    ],
)
def test_eks_rejects_bad_input(built: dict[str, Any], kwargs: dict[str, Any], message: str) -> None:
    args = {"eks_cluster_name": "analytics", "namespace": "other", "oidc_provider_arn": OIDC,
            "encryption_key": built["key"], **kwargs}
    with pytest.raises(ValueError, match=r"^EmrOnEksVirtualCluster: ") as excinfo:
        EmrOnEksVirtualCluster(built["stack"], f"BadEks{abs(hash(message))}", **args)
    assert message in str(excinfo.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ui_allowed_cidrs": ["0.0.0.0/0"]}, "opens the port to the whole internet"),
        ({"ui_allowed_cidrs": ["10.0.0.0/33"]}, "is not an IPv4 CIDR block"),
        ({"flink_rest_port": 80}, "flink_rest_port 80 is out of range"),
        ({"flink_rest_port": 8443}, "is used by EMR service access"),
    ],
)
def test_flink_rejects_bad_input(built: dict[str, Any], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"^FlinkOnEmr: ") as excinfo:
        FlinkOnEmr(built["stack"], f"BadFlink{abs(hash(message))}", vpc=built["vpc"], encryption_key=built["key"],
                   log_bucket=built["logs"], **kwargs)
    assert message in str(excinfo.value)
