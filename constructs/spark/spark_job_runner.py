"""``SparkJobRunner``: a Step Functions state machine that runs Spark jobs with the optimized ``.sync`` integration."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ..core.inputs import retention_days, whole_duration
from ..core.nag import CDK_GRANT_ACTIONS, acknowledge_grant, acknowledge_policies, arn
from ..core.partition import partition_of
from ..core.secure_log_group import SecureLogGroup
from ._checks import check_name, check_range, fail
from .emr_serverless_application import EmrServerlessApplication
from .spark_job_role import SparkJobRole

#: The optimized integrations (the state waits for the job without polling code).
EMR_SERVERLESS_SYNC = "arn:aws:states:::emr-serverless:startJobRun.sync"
EMR_CONTAINERS_SYNC = "arn:aws:states:::emr-containers:startJobRun.sync"


def integration_arn(scope: Construct, service: str) -> str:
    """The ``startJobRun.sync`` integration of ``service`` (``emr-serverless`` or ``emr-containers``) in the
    partition of ``scope``'s stack (``EMR_SERVERLESS_SYNC`` and ``EMR_CONTAINERS_SYNC`` are the ``aws`` ones)."""
    return f"arn:{partition_of(scope)}:states:::{service}:startJobRun.sync"

#: Values used when the execution input leaves a field out.
DEFAULT_INPUT: dict[str, Any] = {
    "name": "spark-job",
    "entryPointArguments": [],
    "sparkSubmitParameters": "--conf spark.dynamicAllocation.enabled=true",
}


class SparkJobRunner(Construct):
    """Runs one Spark job per execution on EMR Serverless (or EMR on EKS) and waits for it.

    The job state uses Step Functions' optimized integration ``arn:aws:states:::emr-serverless:startJobRun.sync``
    (``emr-containers:startJobRun.sync`` for a virtual cluster) through a ``CustomState``, since the CDK has no
    task class for EMR Serverless: Step Functions waits for the job run to finish (no polling loop, no
    Lambda), cancels it if the execution is stopped, and fails the state when the run fails. Failed runs
    are retried (``States.TaskFailed``, exponential back-off); when retries are exhausted a message goes to
    the failure topic and the execution fails with ``SparkJobFailed``. The state machine is encrypted with
    the key, traced with X-Ray, and logs every event to an encrypted log group.

    Execution input (the contract for the orchestration layer)::

        {
          "name": "daily_orders",                                  # job run name (default "spark-job")
          "entryPoint": "s3://artifacts/jobs/daily_orders.py",     # required
          "entryPointArguments": ["--date", "2024-05-01"],         # default []
          "sparkSubmitParameters": "--conf spark.dynamicAllocation.maxExecutors=20"  # routing's parameters
        }

    Output: the input plus ``jobRun`` (the service's answer: ``JobRunId``/``Id``, ``Arn``, state...).

    Example::

        from aws_cdk import App, Stack
        from aws_cdk import aws_iam as iam

        from meshworks.constructs.core import PlatformKey
        from meshworks.constructs.network import PlatformVpc
        from meshworks.constructs.spark import EmrServerlessApplication, SparkJobRole, SparkJobRunner
        from meshworks.constructs.storage import DataLakeStorage, SecureBucket

        app = App()
        stack = Stack(app, "Spark")
        key = PlatformKey(stack, "Key")
        network = PlatformVpc(stack, "Network")
        lake = DataLakeStorage(stack, "Lake", encryption_key=key)
        logs_bucket = SecureBucket(stack, "Logs", encryption_key=key)
        airflow_role = iam.Role(stack, "Airflow", assumed_by=iam.ServicePrincipal("airflow-env.amazonaws.com"))

        spark = EmrServerlessApplication(stack, "Spark", vpc=network.vpc)
        job_role = SparkJobRole(stack, "JobRole", lake=lake, read_zones=["raw"], applications=[spark])
        runner = SparkJobRunner(stack, "Runner", application=spark, job_role=job_role, encryption_key=key)
        runner.grant_start_execution(airflow_role)
        alerts = runner.topic   # subscribe the on-call channel
        app.synth()

    Args:
        application: the EMR Serverless application (exactly one of ``application`` / ``virtual_cluster``).
        virtual_cluster: an ``EmrOnEksVirtualCluster`` instead.
        job_role: the job runtime role: a ``SparkJobRole`` or your own ``iam.IRole`` (``iam:PassRole`` on it is
            then granted only towards EMR Serverless / EMR on EKS, like ``SparkJobRole.grant_pass_role``).
        encryption_key: encrypts the state machine, its log group and the created topic.
        topic: where failures are announced. Default: a new KMS-encrypted topic (``self.topic``).
        retry_attempts: retries of a failed job run, 0..5. Default: 2.
        retry_interval: wait before the first retry (doubled each time). Default: 2 minutes.
        job_timeout: longest run of one attempt; the service cancels the run after it. Default: 6 hours.
        state_machine_name: Default: derived from the construct path (stable, unique in the account).
        log_retention: Default: one year.
        removal_policy: of the log group. Default: RETAIN.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job_role: SparkJobRole | iam.IRole,
        encryption_key: kms.IKey,
        application: EmrServerlessApplication | None = None,
        virtual_cluster: Any = None,
        topic: sns.ITopic | None = None,
        retry_attempts: int = 2,
        retry_interval: Duration = Duration.minutes(2),
        job_timeout: Duration = Duration.hours(6),
        state_machine_name: str | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        owner = type(self).__name__
        if (application is None) == (virtual_cluster is None):
            raise fail(owner, "pass exactly one of application (EMR Serverless) or virtual_cluster (EMR on EKS)")
        check_range(owner, "retry_attempts", retry_attempts, 0, 5)
        minutes = whole_duration(owner, "job_timeout", job_timeout, "minutes", minimum=1, maximum=10080)
        whole_duration(owner, "retry_interval", retry_interval, "minutes", minimum=1)
        if state_machine_name is not None:
            check_name(owner, "state_machine_name", state_machine_name, r"[A-Za-z0-9_-]+", "orders-spark-runner", 80)
        if not isinstance(job_role, SparkJobRole):
            if not (hasattr(job_role, "role_arn") and hasattr(job_role, "grant_pass_role")):
                raise fail(owner, f"job_role must be a SparkJobRole or an iam.IRole, got {type(job_role).__name__}")
            job_role = _RunnerJobRole(
                job_role, "emr-serverless.amazonaws.com" if application is not None else "emr-containers.amazonaws.com"
            )
        super().__init__(scope, construct_id)
        retention_days(type(self).__name__, "log_retention", log_retention)
        self.job_role = job_role
        self.topic: sns.ITopic = topic or sns.Topic(
            self, "FailureTopic", master_key=encryption_key, enforce_ssl=True,
            display_name=f"Spark job failures ({construct_id})",
        )
        self.log_group = SecureLogGroup(
            self, "Logs", encryption_key=encryption_key, retention=log_retention, removal_policy=removal_policy
        )

        defaults = sfn.Pass(
            self, "ApplyDefaults", parameters={"defaults": DEFAULT_INPUT, "input.$": "$"}, comment="Fill in optional fields"
        )
        merge = sfn.Pass(self, "MergeInput", parameters={"job.$": "States.JsonMerge($.defaults, $.input, false)"})
        self.integration_arn = integration_arn(self, "emr-serverless" if application is not None else "emr-containers")
        run = sfn.CustomState(
            self,
            "RunSparkJob",
            state_json={
                "Type": "Task",
                "Resource": self.integration_arn,
                "Parameters": (
                    self._serverless_parameters(application, minutes)
                    if application is not None
                    else self._containers_parameters(virtual_cluster)
                ),
                "ResultPath": "$.jobRun",
                "TimeoutSeconds": minutes * 60 + 600,
            },
        )
        if retry_attempts:
            run.add_retry(
                errors=["States.TaskFailed"], max_attempts=retry_attempts, interval=retry_interval, backoff_rate=2,
                jitter_strategy=sfn.JitterType.FULL,
            )
        notify = tasks.SnsPublish(
            self,
            "NotifyFailure",
            topic=self.topic,
            subject="Spark job failed",
            message=sfn.TaskInput.from_object(
                {
                    "stateMachine": sfn.JsonPath.string_at("$$.StateMachine.Name"),
                    "execution": sfn.JsonPath.string_at("$$.Execution.Id"),
                    "job": sfn.JsonPath.string_at("$.job.name"),
                    "error": sfn.JsonPath.string_at("$.error.Error"),
                    "cause": sfn.JsonPath.string_at("$.error.Cause"),
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        failed = sfn.Fail(self, "Failed", error="SparkJobFailed", cause="The Spark job run failed; see the failure topic")
        run.add_catch(notify.next(failed), errors=["States.ALL"], result_path="$.error")
        definition = defaults.next(merge).next(run).next(sfn.Succeed(self, "Succeeded"))
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            # A known name: the key policy condition of an encrypted state machine names it.
            state_machine_name=state_machine_name or Names.unique_resource_name(self, max_length=80, separator="-"),
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=Duration.minutes((minutes + 15) * (retry_attempts + 1) + retry_interval.to_minutes() * 2 ** retry_attempts),
            tracing_enabled=True,
            encryption_configuration=sfn.CustomerManagedEncryptionConfiguration(encryption_key),
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        self._grant(application, virtual_cluster)
        self.topic.grant_publish(self.state_machine)
        acknowledge_policies(
            self,
            [
                CDK_GRANT_ACTIONS,
                (r"Resource::\*", "X-Ray trace segments and CloudWatch Logs vended-log delivery (CreateLogDelivery, "
                 "PutResourcePolicy...) have no resource-level permissions."),
                (r"Resource::<[A-Za-z0-9]+\.Arn>/jobruns/\*|Resource::" + arn("emr-containers", r"/virtualclusters/.+/jobruns/\*"),
                 "Job runs of the one application / virtual cluster this runner targets; run ids are created at run time."),
            ],
            extra={
                "NIST.800.53.R5-IAMNoInlinePolicy": "The role belongs to this state machine only; its inline policy "
                "is generated from the states it runs, scoped to the application, role, topic and key it uses.",
            },
        )

    # ------------------------------------------------------------------------------------------------
    def _serverless_parameters(self, application: EmrServerlessApplication, minutes: int) -> dict[str, Any]:
        return {
            "ApplicationId": application.application_id,
            "ExecutionRoleArn": self.job_role.role_arn,
            "Name.$": "$.job.name",
            "ClientToken.$": "States.UUID()",
            "ExecutionTimeoutMinutes": minutes,
            "JobDriver": {
                "SparkSubmit": {
                    "EntryPoint.$": "$.job.entryPoint",
                    "EntryPointArguments.$": "$.job.entryPointArguments",
                    "SparkSubmitParameters.$": "$.job.sparkSubmitParameters",
                }
            },
            "Tags": {"meshworks:runner": self.node.path[-120:]},
        }

    def _containers_parameters(self, virtual_cluster: Any) -> dict[str, Any]:
        return {
            "VirtualClusterId": virtual_cluster.virtual_cluster_id,
            "ExecutionRoleArn": self.job_role.role_arn,
            "ReleaseLabel": virtual_cluster.release_label,
            "Name.$": "$.job.name",
            "JobDriver": {
                "SparkSubmitJobDriver": {
                    "EntryPoint.$": "$.job.entryPoint",
                    "EntryPointArguments.$": "$.job.entryPointArguments",
                    "SparkSubmitParameters.$": "$.job.sparkSubmitParameters",
                }
            },
            "ConfigurationOverrides": virtual_cluster.configuration_overrides(),
        }

    def _grant(self, application: EmrServerlessApplication | None, virtual_cluster: Any) -> None:
        role = self.state_machine.role
        stack = Stack.of(self)
        if application is not None:
            self.job_role.grant_pass_role(role)
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["emr-serverless:StartJobRun"], resources=[application.application_arn])
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"],
                    resources=[f"{application.application_arn}/jobruns/*"],
                )
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                    resources=[stack.format_arn(service="events", resource="rule",
                                                resource_name="StepFunctionsGetEventsForEMRServerlessJobRule")],
                )
            )
            application.encryption_key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")
        else:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["emr-containers:StartJobRun"],
                    resources=[virtual_cluster.virtual_cluster_arn],
                    conditions={"StringEquals": {"emr-containers:ExecutionRoleArn": self.job_role.role_arn}},
                )
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["emr-containers:DescribeJobRun", "emr-containers:CancelJobRun"],
                    resources=[f"{virtual_cluster.virtual_cluster_arn}/jobruns/*"],
                )
            )

    @property
    def state_machine_arn(self) -> str:
        """The state machine's ARN."""
        return self.state_machine.state_machine_arn

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` (an Airflow or CI role, say) to start runs: ``states:StartExecution`` on the state
        machine only. Written into the grantee's default policy, as the CDK's grant does, and acknowledged there for
        cdk-nag (``NIST.800.53.R5-IAMNoInlinePolicy``), so your role inherits no finding.

        Returns:
            the ``iam.Grant`` (``state_machine.grant_start_execution``).
        """
        grant = self.state_machine.grant_start_execution(grantee)
        acknowledge_grant(grantee)
        return grant


class _RunnerJobRole:
    """An ``iam.IRole`` seen as a ``SparkJobRole`` by the runner: its ARN and a conditioned ``iam:PassRole``."""

    def __init__(self, role: iam.IRole, passed_to_service: str) -> None:
        self.role = role
        self.role_arn = role.role_arn
        self.passed_to_service = passed_to_service

    def grant_pass_role(self, principal: iam.IGrantable) -> iam.Grant:
        return iam.Grant.add_to_principal(
            grantee=principal,
            actions=["iam:PassRole"],
            resource_arns=[self.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": self.passed_to_service}},
        )
