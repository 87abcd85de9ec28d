"""EMR Serverless: application defaults, job role least privilege, the .sync runner, the rollout routing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from meshworks.constructs.core import PlatformKey
from meshworks.constructs.core.offline import pin_availability_zones
from meshworks.constructs.network import PlatformVpc
from meshworks.constructs.spark import (
    DEFAULT_EMR_SERVERLESS_RELEASE,
    EMR_SERVERLESS_SYNC,
    EmrServerlessApplication,
    EmrServerlessDefaults,
    JobCatalog,
    JobRollout,
    SparkJob,
    SparkJobRole,
    SparkJobRunner,
    SparkLimits,
)
from meshworks.constructs.storage import DataLakeStorage

ENV = Environment(account="222222222222", region="eu-west-1")
AZS = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]


def _catalog() -> JobCatalog:
    def job(name: str, ring: int, **limits: Any) -> SparkJob:
        return SparkJob(name=name, job_class="quick", ring=ring, owner="team-a",
                        entry_point=f"s3://artifacts-bucket/jobs/{name}.py", limits=SparkLimits(**limits))

    return JobCatalog(rollout_ring=1, jobs=[job("canary_job", 0, max_executors=10), job("later_job", 3)])


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Serverless", env=ENV)
    pin_availability_zones(stack, AZS)
    network = PlatformVpc(stack, "Network", availability_zones=AZS, interface_endpoints=[])
    lake = DataLakeStorage(stack, "Lake")
    key = PlatformKey(stack, "Key")
    application = EmrServerlessApplication(stack, "App", vpc=network.vpc, name="analytics", encryption_key=key)
    EmrServerlessApplication(
        stack, "Tuned", vpc=network.vpc, encryption_key=key,
        defaults=EmrServerlessDefaults(idle_timeout_minutes=5, max_concurrent_runs=10),
        queue_timeout_minutes=60, initial_capacity={"Driver": (1, "4 vCPU", "16 GB"), "Executor": (4, "4 vCPU", "16 GB", "50 GB")},
        image_uri="123456789012.dkr.ecr.eu-west-1.amazonaws.com/spark:1", extra_spark_defaults={"spark.sql.adaptive.enabled": "true"},
    )
    role = SparkJobRole(stack, "JobRole", lake=lake, read_zones=["raw"], write_zones=["curated"],
                        glue_databases=["sales"], glue_write_databases=["sales_curated"], applications=[application])
    caller = iam.Role(stack, "Airflow", assumed_by=iam.AccountRootPrincipal())
    role.grant_start_job_run(caller, application)
    runner = SparkJobRunner(stack, "Runner", application=application, job_role=role, encryption_key=key)
    rollout = JobRollout(stack, "Rollout", catalog=_catalog(), name_prefix="acme",
                         serverless_target={"application_id": application.application_id})
    rollout.grant_read(caller)
    return {"template": Template.from_stack(stack), "stack": stack, "vpc": network.vpc, "key": key,
            "application": application, "role": role, "runner": runner}


@pytest.fixture(scope="module")
def template(built: dict[str, Any]) -> Template:
    return built["template"]


def _application(template: Template, name: str | None) -> dict[str, Any]:
    for resource in template.find_resources("AWS::EMRServerless::Application").values():
        if resource["Properties"].get("Name") == name:
            return resource["Properties"]
    raise AssertionError(f"no application named {name}")


def _definition(template: Template) -> dict[str, Any]:
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))


def _statements(template: Template, logical_prefix: str) -> list[dict[str, Any]]:
    return [
        statement
        for logical_id, resource in template.find_resources("AWS::IAM::Policy").items()
        if logical_id.startswith(logical_prefix)
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


# ------------------------------------------------------------------------------------------------------
# Application defaults
# ------------------------------------------------------------------------------------------------------


def test_application_defaults(template: Template) -> None:
    props = _application(template, "analytics")
    assert props["Type"] == "SPARK"
    assert props["ReleaseLabel"] == DEFAULT_EMR_SERVERLESS_RELEASE
    assert DEFAULT_EMR_SERVERLESS_RELEASE.startswith("emr-7.")
    assert props["Architecture"] == "ARM64"
    assert props["AutoStartConfiguration"] == {"Enabled": True}
    assert props["AutoStopConfiguration"] == {"Enabled": True, "IdleTimeoutMinutes": 15}
    assert props["MaximumCapacity"] == {"Cpu": "400 vCPU", "Memory": "3000 GB", "Disk": "20000 GB"}
    assert "SchedulerConfiguration" not in props and "InitialCapacity" not in props and "ImageConfiguration" not in props


def test_runtime_configuration_caps_dynamic_allocation(template: Template) -> None:
    (config,) = _application(template, "analytics")["RuntimeConfiguration"]
    assert config["Classification"] == "spark-defaults"
    assert config["Properties"] == {
        "spark.driver.cores": "4",
        "spark.driver.memory": "14g",
        "spark.dynamicAllocation.maxExecutors": "50",
        "spark.emr-serverless.executor.disk": "50G",
        "spark.executor.cores": "4",
        "spark.executor.memory": "14g",
    }


def test_network_private_subnets_in_several_azs_with_own_group(built: dict[str, Any], template: Template) -> None:
    network = _application(template, "analytics")["NetworkConfiguration"]
    private = built["vpc"].private_subnets
    assert len(network["SubnetIds"]) == len(private) == 3
    assert len({subnet.availability_zone for subnet in private}) >= 2
    (group,) = network["SecurityGroupIds"]
    assert group["Fn::GetAtt"][0].startswith("AppSecurityGroup")
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "GroupDescription": Match.string_like_regexp("EMR Serverless workers"),
            "SecurityGroupEgress": [Match.object_like({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443})],
            "SecurityGroupIngress": Match.absent(),
        },
    )


def test_monitoring_to_encrypted_s3_prefix_and_cloudwatch(template: Template) -> None:
    monitoring = _application(template, "analytics")["MonitoringConfiguration"]
    s3_logs = monitoring["S3MonitoringConfiguration"]
    assert s3_logs["LogUri"]["Fn::Join"][1][-1] == "/emr-serverless/App/"
    assert "EncryptionKeyArn" in s3_logs
    cloudwatch = monitoring["CloudWatchLoggingConfiguration"]
    assert cloudwatch["Enabled"] is True and "EncryptionKeyArn" in cloudwatch and "LogGroupName" in cloudwatch
    assert {entry["Key"] for entry in cloudwatch["LogTypeMap"]} == {"SPARK_DRIVER", "SPARK_EXECUTOR"}
    assert monitoring["ManagedPersistenceMonitoringConfiguration"]["Enabled"] is True
    template.has_resource(
        "AWS::Logs::LogGroup",
        {"Properties": {"RetentionInDays": 365, "KmsKeyId": Match.any_value()}, "DeletionPolicy": "Retain"},
    )


def test_scheduler_initial_capacity_image_and_extra_defaults(template: Template) -> None:
    props = _application(template, None)
    assert props["SchedulerConfiguration"] == {"MaxConcurrentRuns": 10, "QueueTimeoutMinutes": 60}
    assert props["AutoStopConfiguration"]["IdleTimeoutMinutes"] == 5
    workers = {entry["Key"]: entry["Value"] for entry in props["InitialCapacity"]}
    assert workers["Driver"] == {"WorkerCount": 1, "WorkerConfiguration": {"Cpu": "4 vCPU", "Memory": "16 GB"}}
    assert workers["Executor"]["WorkerConfiguration"]["Disk"] == "50 GB"
    assert props["ImageConfiguration"] == {"ImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/spark:1"}
    assert props["RuntimeConfiguration"][0]["Properties"]["spark.sql.adaptive.enabled"] == "true"


def test_docstring_documents_started_state_limits() -> None:
    doc = EmrServerlessApplication.__doc__ or ""
    assert "STARTED" in doc and "MaxConcurrentRuns" in doc and "stop-application" in doc


# ------------------------------------------------------------------------------------------------------
# Job role
# ------------------------------------------------------------------------------------------------------


def test_job_role_trusts_emr_serverless_of_this_account_only(template: Template) -> None:
    roles = [
        r["Properties"] for r in template.find_resources("AWS::IAM::Role").values()
        if r["Properties"].get("Description") == "Spark job runtime role Serverless/JobRole"
    ]
    (statement,) = roles[0]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "emr-serverless.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "222222222222"}
    source_arn = json.dumps(statement["Condition"]["ArnLike"]["aws:SourceArn"])
    assert ":emr-serverless:eu-west-1:222222222222:/applications/*" in source_arn
    assert "ManagedPolicyArns" not in roles[0]


def test_job_role_glue_access_scoped_to_given_databases(template: Template) -> None:
    statements = _statements(template, "JobRole")
    read = next(s for s in statements if s.get("Sid") == "GlueCatalogRead")
    write = next(s for s in statements if s.get("Sid") == "GlueCatalogWrite")
    read_resources = json.dumps(read["Resource"])
    assert "database/sales" in read_resources and "table/sales/*" in read_resources and "sales_curated" in read_resources
    write_resources = json.dumps(write["Resource"])
    assert "table/sales_curated/*" in write_resources and "table/sales/*" not in write_resources
    assert all(not action.endswith("*") for action in read["Action"] + write["Action"])


def test_job_role_data_zones_only(template: Template) -> None:
    text = json.dumps(_statements(template, "JobRole"))
    assert "LakeRaw" in text and "LakeCurated" in text
    assert "LakeStage" not in text and "LakeBackup" not in text
    assert '"s3:*"' not in text and '"Action": "*"' not in text


def test_grant_start_job_run_conditions_pass_role_on_the_service(template: Template) -> None:
    statements = _statements(template, "Airflow")
    pass_role = next(s for s in statements if s["Action"] == "iam:PassRole")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}}
    assert pass_role["Resource"]["Fn::GetAtt"][0].startswith("JobRole")
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"emr-serverless:StartJobRun", "emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"} <= actions
    assert "kms:GenerateDataKey" in actions  # EMR Serverless refuses runs whose submitter cannot use the log key


# ------------------------------------------------------------------------------------------------------
# Runner
# ------------------------------------------------------------------------------------------------------


def test_runner_uses_the_optimized_sync_integration(template: Template) -> None:
    states = _definition(template)["States"]
    run = states["RunSparkJob"]
    assert run["Resource"] == EMR_SERVERLESS_SYNC == "arn:aws:states:::emr-serverless:startJobRun.sync"
    params = run["Parameters"]
    assert params["JobDriver"]["SparkSubmit"]["SparkSubmitParameters.$"] == "$.job.sparkSubmitParameters"
    assert params["ExecutionTimeoutMinutes"] == 360 and params["ClientToken.$"] == "States.UUID()"
    assert not any(state.get("Type") == "Wait" for state in states.values()), "no polling loop"


def test_runner_retries_then_notifies_and_fails(template: Template) -> None:
    states = _definition(template)["States"]
    run = states["RunSparkJob"]
    assert run["Retry"] == [
        {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 120, "MaxAttempts": 2, "BackoffRate": 2, "JitterStrategy": "FULL"}
    ]
    assert run["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}]
    assert states["NotifyFailure"]["Resource"].endswith(":states:::sns:publish")
    assert states["Failed"]["Type"] == "Fail" and states["Failed"]["Error"] == "SparkJobFailed"
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_runner_logs_traces_and_encrypts(template: Template) -> None:
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": True, "Destinations": Match.any_value()},
            "TracingConfiguration": {"Enabled": True},
            "EncryptionConfiguration": Match.object_like({"Type": "CUSTOMER_MANAGED_KMS_KEY"}),
        },
    )


def test_runner_role_is_least_privilege(template: Template) -> None:
    statements = _statements(template, "RunnerStateMachineRole")
    by_action = {json.dumps(s["Action"]): s for s in statements}
    events = by_action[json.dumps(["events:PutTargets", "events:PutRule", "events:DescribeRule"])]
    assert "StepFunctionsGetEventsForEMRServerlessJobRule" in json.dumps(events["Resource"])
    pass_role = by_action['"iam:PassRole"']
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}}


# ------------------------------------------------------------------------------------------------------
# Rollout
# ------------------------------------------------------------------------------------------------------


def _parameters(template: Template) -> dict[str, Any]:
    return {p["Properties"]["Name"]: p["Properties"] for p in template.find_resources("AWS::SSM::Parameter").values()}


def test_rollout_publishes_one_parameter_per_job_and_an_index(template: Template) -> None:
    parameters = _parameters(template)
    canary = json.loads(parameters["/acme/spark/jobs/canary_job/routing"]["Value"])
    later = json.loads(parameters["/acme/spark/jobs/later_job/routing"]["Value"])
    assert canary["engine"] == "emr-serverless" and canary["rollout_ring"] == 1 and canary["version"] == 1
    assert "--conf spark.dynamicAllocation.maxExecutors=10" in canary["spark_submit_parameters"]
    assert later["engine"] == "emr-ec2"
    assert all(p["Tier"] == "Standard" for p in parameters.values())
    index = parameters["/acme/spark/rollout"]["Value"]
    assert "emr-serverless" in json.dumps(index) and '\\"rollout_ring\\":1' in json.dumps(index)


def test_rollout_grant_read_lists_exact_parameters(template: Template) -> None:
    ssm = [s for s in _statements(template, "Airflow") if "ssm:GetParameter" in json.dumps(s["Action"])]
    text = json.dumps(ssm)
    assert "RolloutRoutecanaryjob" in text and "RolloutRoutelaterjob" in text and "RolloutIndex" in text
    assert "*" not in text


# ------------------------------------------------------------------------------------------------------
# Validation errors: one clear message each, raised before any CDK call
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"application_type": "PRESTO"}, "application_type 'PRESTO' is not supported: use 'SPARK' or 'HIVE'"),
        ({"name": "bad name!"}, "name 'bad name!' is invalid"),
        ({"spark_limits": SparkLimits(executor_cores=4)}, "limits.max_executors is not set"),
        ({"spark_limits": SparkLimits(max_executors=5, executor_cores=3)}, "executor_cores=3 is not an EMR Serverless worker size"),
        ({"queue_timeout_minutes": 5}, "queue_timeout_minutes 5 is out of range: use a whole number from 15 to 720"),
        ({"defaults": EmrServerlessDefaults(release_label="emr-7.1.0"), "queue_timeout_minutes": 60}, "needs job concurrency"),
        ({"initial_capacity": {"HiveDriver": (1, "2 vCPU", "4 GB")}}, "'HiveDriver' is not a SPARK worker type: use Driver or Executor"),
        ({"initial_capacity": {"Driver": (0, "2 vCPU", "4 GB")}}, "must be (count >= 1, cpu, memory[, disk])"),
        ({"log_prefix": "/logs"}, "log_prefix '/logs' must not start with '/'"),
        ({"application_type": "HIVE", "spark_limits": SparkLimits(max_executors=2)}, "only apply to application_type 'SPARK'"),
    ],
)
def test_application_rejects_bad_input(built: dict[str, Any], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"^EmrServerlessApplication: ") as excinfo:
        EmrServerlessApplication(built["stack"], f"Bad{abs(hash(message))}", vpc=built["vpc"], **kwargs)
    assert message in str(excinfo.value)
    assert "jsii" not in str(excinfo.value)


def test_application_rejects_a_single_az(built: dict[str, Any]) -> None:
    selection = ec2.SubnetSelection(availability_zones=["eu-west-1a"], subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
    with pytest.raises(ValueError, match="span 1 availability zone") as excinfo:
        EmrServerlessApplication(built["stack"], "OneAz", vpc=built["vpc"], subnets=selection)
    assert "select subnets in more AZs" in str(excinfo.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"read_zones": ["gold"]}, "read_zones entry 'gold' is not a data-lake zone"),
        ({"glue_databases": ["Sales-DB"]}, "glue_databases entry 'Sales-DB' is not a Glue database name"),
        ({"passed_to_service": "emr serverless"}, "passed_to_service 'emr serverless' is not a service principal"),
        ({"role_name": "x" * 65}, "is not an IAM role name"),
    ],
)
def test_job_role_rejects_bad_input(built: dict[str, Any], kwargs: dict[str, Any], message: str) -> None:
    lake = None if "read_zones" not in kwargs else built["stack"].node.find_child("Lake")
    with pytest.raises(ValueError, match=r"^SparkJobRole: ") as excinfo:
        SparkJobRole(built["stack"], f"BadRole{abs(hash(message))}", lake=lake, **kwargs)
    assert message in str(excinfo.value)


def test_job_role_needs_a_lake_for_zones(built: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="read_zones is set but no lake is given"):
        SparkJobRole(built["stack"], "NoLake", read_zones=["raw"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"retry_attempts": 9}, "retry_attempts 9 is out of range"),
        ({"state_machine_name": "has space"}, "state_machine_name 'has space' is invalid"),
        ({"application": None}, "pass exactly one of application"),
    ],
)
def test_runner_rejects_bad_input(built: dict[str, Any], kwargs: dict[str, Any], message: str) -> None:
    args = {"application": built["application"], "job_role": built["role"], "encryption_key": built["key"], **kwargs}
    with pytest.raises(ValueError, match=r"^SparkJobRunner: ") as excinfo:
        SparkJobRunner(built["stack"], f"BadRunner{abs(hash(message))}", **args)
    assert message in str(excinfo.value)


def test_rollout_rejects_bad_prefix(built: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"^JobRollout: SSM prefix 'aws/x' starts with a reserved word"):
        JobRollout(built["stack"], "BadRollout", catalog=_catalog(), name_prefix="aws/x")
