"""What the provisioning and the project pipelines share: a CodePipeline V2 on a retained ``SecureBucket``,
a source role, and CodeBuild projects that are KMS-encrypted, unprivileged, with logs kept for a set time."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..core.inputs import collaborator, retention_days, string_list
from ..core.nag import CDK_GRANT_ACTIONS, acknowledge_policies, arn
from ..core.naming import fit_name
from ..core.platform_key import PlatformKey, allow_service_to_use_key
from ..core.secure_log_group import SecureLogGroup
from ..storage.secure_bucket import SecureBucket
from .pipeline_source import PipelineSource, notification_topic

#: The CodeBuild image: Amazon Linux 2023 standard 5.0 (Python 3.12 and Node.js 20/22 runtimes).
BUILD_IMAGE = codebuild.LinuxBuildImage.AMAZON_LINUX_2023_5
#: Python the build runs: what MWAA runs for the supported Airflow versions.
BUILD_PYTHON = "3.12"
_PIPELINE_NAME = re.compile(r"^[A-Za-z0-9.@_-]{1,100}$")

#: Wildcards CodePipeline/CodeBuild's own CDK grants write, each scoped to this construct's resources.
PIPELINE_RULES = [
    CDK_GRANT_ACTIONS,
    (r"Action::kms:(Encrypt|Decrypt|ReEncrypt\*|GenerateDataKey\*|DescribeKey)", "Key use on the pipeline's own CMK."),
    (r"Resource::(<[A-Za-z0-9]+\.Arn>|arn:[^*]*:s3:::[^*/]+)/\*",
     "Objects of the pipeline's own artifacts bucket (or of the S3 source bucket); keys are per execution."),
    (r"Resource::" + arn("logs", r"log-group:[^*]*:\*"),
     "Log streams of the CodeBuild project's own log group (stream names are per build)."),
    (r"Resource::<[A-Za-z0-9]+\.Arn>:\*", "Log streams of the CodeBuild project's own log group."),
    (r"Resource::" + arn("codebuild", r"report-group/<[A-Za-z0-9]+>-\*"),
     "CodeBuild's report groups named after this project (CDK's PipelineProject grant)."),
]


def _fail(kind: str, message: str) -> ValueError:
    return ValueError(f"{kind}: {message}")


def check_commands(kind: str, name: str, commands: Sequence[str]) -> list[str]:
    """``commands`` as a list of non-empty strings that cannot swallow a failure (no ``|| true``)."""
    commands = string_list(kind, name, commands, example="make test")
    if not all(c.strip() for c in commands):
        raise _fail(kind, f"{name} has an empty command: remove it, e.g. ['make test']")
    for command in commands:
        if re.search(r"\|\|\s*(true|:|exit 0)\b|;\s*(true|exit 0)\s*$|\bset \+e\b", command):
            raise _fail(kind, f"{name} entry {command!r} hides its exit code: a failing check must fail the pipeline")
    return list(commands)


def buildspec(phases: Mapping[str, Sequence[str]], *, env: Mapping[str, str] | None = None,
              artifacts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A buildspec 0.2 whose phases abort on the first failing command (bash, ``on-failure: ABORT``)."""
    spec: dict[str, Any] = {
        "version": "0.2",
        "env": {"shell": "bash", **({"variables": dict(env)} if env else {})},
        "phases": {
            name: {"on-failure": "ABORT", "commands": list(commands)} for name, commands in phases.items() if commands
        },
    }
    spec["phases"].setdefault("install", {"on-failure": "ABORT"})  # runtime-versions alone is a valid phase
    spec["phases"]["install"]["runtime-versions"] = {"python": BUILD_PYTHON}
    if artifacts:
        spec["artifacts"] = dict(artifacts)
    return spec


class PipelineBase(Construct):
    """A CodePipeline V2 with its CMK, retained artifacts bucket and source stage (see the subclasses)."""

    _kind = "Pipeline"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: PipelineSource,
        pipeline_name: str | None,
        trigger_file_paths: Sequence[str],
        encryption_key: kms.IKey | None,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy | None,
    ) -> None:
        if not isinstance(source, PipelineSource):
            raise _fail(self._kind, f"source must be a ConnectionSource, S3Source or CodeCommitSource, got {source!r}")
        if pipeline_name is not None and not _PIPELINE_NAME.match(str(pipeline_name)):
            raise _fail(self._kind, f"pipeline_name {pipeline_name!r}: 1-100 letters, digits, '.', '@', '_' or '-'")
        retention_days(self._kind, "log_retention", log_retention)
        if encryption_key is not None:
            collaborator(self._kind, "encryption_key", encryption_key, has="key_arn", kind="a KMS key (kms.IKey)",
                         example="PlatformKey(stack, 'Key') or kms.Key.from_key_arn(...), or leave it out")
        trigger_file_paths = string_list(self._kind, "trigger_file_paths", trigger_file_paths, example="dags/**")
        if not all(trigger_file_paths):
            raise _fail(self._kind, "trigger_file_paths has an empty pattern: use globs such as 'dags/**'")
        if len(trigger_file_paths) > 8:
            raise _fail(self._kind, f"trigger_file_paths: CodePipeline takes at most 8 patterns, got {len(trigger_file_paths)}")
        super().__init__(scope, construct_id)
        self._log_retention = log_retention
        self._removal_policy = removal_policy
        #: The CMK of the artifacts, the build logs and the build outputs.
        self.key = encryption_key or PlatformKey(self, "Key", description=f"{self._kind} {self.node.path}",
                                                 removal_policy=removal_policy)
        #: The artifacts bucket (SSE-KMS with ``key``, versioned, retained).
        self.artifacts_bucket = SecureBucket(self, "Artifacts", encryption_key=self.key, removal_policy=removal_policy)
        #: The pipeline (``PipelineType.V2``).
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            pipeline_type=codepipeline.PipelineType.V2,
            execution_mode=codepipeline.ExecutionMode.QUEUED,
            artifact_bucket=self.artifacts_bucket,
            restart_execution_on_update=False,
        )
        self.source_output = codepipeline.Artifact("Source")
        #: The role the source action acts with (assumed by the pipeline's role).
        self.source_role = iam.Role(self, "SourceRole", assumed_by=iam.AccountRootPrincipal(),
                                    description=f"Source action of {self.node.path}")
        self.source_action = source.action(self.source_output, self.source_role)
        self.pipeline.add_stage(stage_name="Source", actions=[self.source_action])
        #: The file paths whose changes start the pipeline (connection sources only; others start on every change).
        self.trigger_file_paths = list(trigger_file_paths) if source.supports_file_paths else []
        source.add_trigger(self.pipeline, self.source_action, self.trigger_file_paths, self.key)
        #: Failed executions and source-change alarms are published here (KMS, TLS only): subscribe your team.
        self.notifications = notification_topic(self.pipeline, self.key)
        allow_service_to_use_key(self.key, "codestar-notifications.amazonaws.com", "AllowCodeStarNotifications")
        # Notification rule names are account-wide: the stack name (unique per account and region) makes it unique.
        stack = Stack.of(self)
        self.pipeline.notify_on(
            "ExecutionFailed", self.notifications,
            events=[codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_FAILED],
            notification_rule_name=fit_name(f"{stack.stack_name}-{construct_id}-failed", 64),
        )  # fmt: skip
        #: The CodeBuild projects by stage name.
        self.projects: dict[str, codebuild.PipelineProject] = {}

    def _stage(
        self,
        stage_name: str,
        spec: dict[str, Any],
        *,
        description: str,
        outputs: Sequence[codepipeline.Artifact] = (),
        extra_inputs: Sequence[codepipeline.Artifact] = (),
        timeout: Duration = Duration.minutes(60),
    ) -> codebuild.PipelineProject:
        """One stage with one CodeBuild action on the source (its project encrypted, unprivileged, logged)."""
        log_group = SecureLogGroup(self, f"{stage_name}Logs", encryption_key=self.key, retention=self._log_retention,
                                   removal_policy=self._removal_policy)
        project = codebuild.PipelineProject(
            self,
            stage_name,
            description=description,
            build_spec=codebuild.BuildSpec.from_object(spec),
            environment=codebuild.BuildEnvironment(
                build_image=BUILD_IMAGE, compute_type=codebuild.ComputeType.MEDIUM, privileged=False
            ),
            encryption_key=self.key,
            logging=codebuild.LoggingOptions(cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group)),
            timeout=timeout,
        )
        self.pipeline.add_stage(
            stage_name=stage_name,
            actions=[
                _build_action(stage_name, project, self.source_output, list(outputs), list(extra_inputs))
            ],
        )
        self.projects[stage_name] = project
        return project

    def _acknowledge(self) -> None:
        acknowledge_policies(
            self, PIPELINE_RULES,
            extra={"NIST.800.53.R5-IAMNoInlinePolicy": "Roles of this one pipeline: policies are per role, "
                   "each scoped to the pipeline's own bucket, key, projects and log groups."},
        )  # fmt: skip


def _build_action(
    name: str,
    project: codebuild.IProject,
    source: codepipeline.Artifact,
    outputs: list[codepipeline.Artifact],
    extra_inputs: list[codepipeline.Artifact],
) -> codepipeline.IAction:
    from aws_cdk import aws_codepipeline_actions as actions

    return actions.CodeBuildAction(
        action_name=name, project=project, input=source, outputs=outputs or None, extra_inputs=extra_inputs or None
    )
