"""Where a pipeline's code comes from: one small typed abstraction over CodePipeline's source actions.

Three kinds, each a frozen dataclass validated when it is made (one message naming the field, the value and
the fix):

- :class:`ConnectionSource`: a repository on GitHub, GitHub Enterprise, GitLab or Bitbucket reached through an
  AWS CodeConnections connection (``arn:aws:codeconnections:<region>:<account>:connection/<uuid>``, or the
  older ``arn:aws:codestar-connections:…`` form). The only kind with **path filters**: a CodePipeline V2 trigger
  starts the pipeline on a push to the branch that touches one of the given file paths.
- :class:`S3Source`: a zip object in a versioned bucket (any tool that can upload a zip). Started by an
  EventBridge rule on the object's ``Object Created`` event (the bucket must send events to EventBridge:
  ``SecureBucket(event_bridge_enabled=True)``), or with ``event_bridge=False`` by CloudTrail write events
  (CDK's ``S3Trigger.EVENTS``: the account then needs a trail logging S3 data events) — no path filter.
- :class:`CodeCommitSource`: an AWS CodeCommit repository (closed to new customers since mid-2024; kept for
  those who have one). Started by an EventBridge rule on a push to the branch — no path filter.

EventBridge starts retry for 24 hours and then land in a dead-letter queue (KMS) with an alarm.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from ..core.dead_letter_queue import DeadLetterQueue, dead_letter_alarm
from ..core.inputs import collaborator
from ..core.platform_key import allow_service_to_use_key

#: ``arn:<partition>:codeconnections|codestar-connections:<region>:<account>:connection/<uuid>``
#: (AWS CodeConnections user guide; the service was renamed from CodeStar Connections in 2024, both ARNs work).
CONNECTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z]{2}(-[a-z]+)+-\d:\d{12}:connection/[0-9a-f-]{36}$"
)
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")  # owner/repo; GitLab groups: group/sub/repo
_BRANCH = re.compile(r"^[^\s~^:?*\[\\]{1,255}$")


def _fail(kind: str, message: str) -> ValueError:
    return ValueError(f"{kind}: {message}")


class PipelineSource(ABC):
    """Base of the three source kinds; a pipeline calls :meth:`action` once and :meth:`trigger` once."""

    #: Whether the kind supports CodePipeline V2 triggers with file-path filters.
    supports_file_paths: bool = False

    @abstractmethod
    def action(self, output: codepipeline.Artifact, role: iam.IRole) -> codepipeline.IAction:
        """The source action writing the code to ``output``, acting with ``role`` (the pipeline's source role)."""

    @abstractmethod
    def add_trigger(
        self, pipeline: codepipeline.Pipeline, action: codepipeline.IAction, file_paths: Sequence[str], key: kms.IKey
    ) -> None:
        """Make changes start ``pipeline``: a V2 trigger with path filters (connections) or an EventBridge rule
        whose target retries into a dead-letter queue encrypted with ``key``, watched by an alarm."""


def start_on_event(pipeline: codepipeline.Pipeline, pattern: events.EventPattern, key: kms.IKey, what: str) -> None:
    """An EventBridge rule starting ``pipeline``; undeliverable starts go to a dead-letter queue (``key``) whose
    alarm notifies the pipeline's notification topic (:func:`notification_topic`)."""
    rule = events.Rule(pipeline, "SourceChanged", description=f"Start the pipeline when {what}", event_pattern=pattern)
    queue = DeadLetterQueue(pipeline, "SourceChangedDlq", encryption_key=key, receives="the pipeline's source-change rule")
    stack = Stack.of(pipeline)
    # EventBridge writes to the encrypted dead-letter queue as itself: the key must let it (source: our rules).
    allow_service_to_use_key(key, "events.amazonaws.com", "AllowEventBridgeDeadLetters",
                             f"arn:{stack.partition}:events:{stack.region}:{stack.account}:rule/*")  # fmt: skip
    alarm = dead_letter_alarm(pipeline, "SourceChangedDlqDepth", queue, "Source changes that did not start the pipeline")
    alarm.add_alarm_action(cloudwatch_actions.SnsAction(notification_topic(pipeline, key)))
    role = iam.Role(pipeline, "SourceEventRole", assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
                    description="EventBridge starts this pipeline")  # fmt: skip
    rule.add_target(targets.CodePipeline(
        pipeline, event_role=role, dead_letter_queue=queue, retry_attempts=185, max_event_age=Duration.hours(24),
    ))  # fmt: skip


def notification_topic(pipeline: codepipeline.Pipeline, key: kms.IKey) -> sns.ITopic:
    """The pipeline's notification topic (KMS, TLS only; one per pipeline): alarms and failed executions."""
    existing = pipeline.node.try_find_child("Notifications")
    if existing is not None:
        return existing  # type: ignore[return-value]
    allow_service_to_use_key(key, "cloudwatch.amazonaws.com", "AllowCloudWatchAlarms")
    return sns.Topic(pipeline, "Notifications", display_name="Airflow pipeline notifications", master_key=key,
                     enforce_ssl=True)  # fmt: skip


@dataclass(frozen=True)
class ConnectionSource(PipelineSource):
    """A Git repository through an AWS CodeConnections connection (GitHub, GitHub Enterprise, GitLab, Bitbucket).

    Example::

        from meshworks.constructs.orchestration import ConnectionSource

        source = ConnectionSource(
            connection_arn="arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab",
            repository="acme/airflow-dags", branch="main",
        )

    Args:
        connection_arn: the connection (created once per account in the console and completed there).
        repository: ``owner/repo`` (GitLab: ``group/subgroup/repo``).
        branch: the branch whose pushes start the pipeline. Default: ``main``.
    """

    connection_arn: str
    repository: str
    branch: str = "main"
    supports_file_paths = True

    def __post_init__(self) -> None:
        if not isinstance(self.connection_arn, str) or not CONNECTION_ARN.match(self.connection_arn):
            raise _fail(
                "ConnectionSource",
                f"connection_arn {self.connection_arn!r} is not a CodeConnections connection ARN: use "
                "'arn:aws:codeconnections:<region>:<account>:connection/<uuid>' (the console's connection page shows it)",
            )
        if not isinstance(self.repository, str) or not _REPOSITORY.match(self.repository):
            raise _fail("ConnectionSource", f"repository {self.repository!r} must be 'owner/repo', e.g. 'acme/airflow-dags'")
        if not isinstance(self.branch, str) or not _BRANCH.match(self.branch):
            raise _fail("ConnectionSource", f"branch {self.branch!r} is not a Git branch name, e.g. 'main'")

    def action(self, output: codepipeline.Artifact, role: iam.IRole) -> codepipeline.IAction:
        # CDK's action grants ``codestar-connections:UseConnection``; a connection with the newer
        # ``arn:aws:codeconnections:`` ARN is authorized under the ``codeconnections:`` prefix: grant both.
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["codeconnections:UseConnection"], resources=[self.connection_arn])
        )
        owner, repo = self.repository.split("/", 1)
        return actions.CodeStarConnectionsSourceAction(
            role=role,
            action_name="Source",
            connection_arn=self.connection_arn,
            owner=owner,
            repo=repo,
            branch=self.branch,
            output=output,
            trigger_on_push=False,  # the V2 trigger below starts the pipeline (with path filters)
        )

    def add_trigger(
        self, pipeline: codepipeline.Pipeline, action: codepipeline.IAction, file_paths: Sequence[str], key: kms.IKey
    ) -> None:
        pipeline.add_trigger(
            provider_type=codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
            git_configuration=codepipeline.GitConfiguration(
                source_action=action,
                push_filter=[
                    codepipeline.GitPushFilter(
                        branches_includes=[self.branch], file_paths_includes=list(file_paths) or None
                    )
                ],
            ),
        )


@dataclass(frozen=True)
class S3Source(PipelineSource):
    """A zip object in a versioned S3 bucket.

    Example::

        from aws_cdk import App, Stack
        from aws_cdk import aws_s3 as s3

        from meshworks.constructs.orchestration import S3Source

        app = App()
        stack = Stack(app, "Pipelines")
        source = S3Source(bucket=s3.Bucket.from_bucket_name(stack, "Src", "acme-pipeline-sources"), key="airflow/dags.zip")

    Args:
        bucket: the bucket (versioning on: CodePipeline reads the object's version).
        key: the object key of the zip, e.g. ``airflow/dags.zip``.
        event_bridge: start the pipeline from the bucket's EventBridge ``Object Created`` events (the bucket must
            have EventBridge notifications on); False: from CloudTrail data events. Default: True.
    """

    bucket: s3.IBucket
    key: str
    event_bridge: bool = True

    def __post_init__(self) -> None:
        collaborator("S3Source", "bucket", self.bucket, has="bucket_arn", kind="a bucket (s3.IBucket)",
                     example="s3.Bucket.from_bucket_name(stack, 'Src', 'acme-pipeline-sources') or a SecureBucket")
        if not isinstance(self.key, str) or not self.key.strip() or self.key.startswith("/") or not self.key.endswith(".zip"):
            raise _fail("S3Source", f"key {self.key!r} must be the key of a .zip object without a leading '/', e.g. 'airflow/dags.zip'")

    def action(self, output: codepipeline.Artifact, role: iam.IRole) -> codepipeline.IAction:
        return actions.S3SourceAction(
            action_name="Source", role=role, bucket=self.bucket, bucket_key=self.key, output=output,
            trigger=actions.S3Trigger.NONE if self.event_bridge else actions.S3Trigger.EVENTS,
        )  # fmt: skip

    def add_trigger(
        self, pipeline: codepipeline.Pipeline, action: codepipeline.IAction, file_paths: Sequence[str], key: kms.IKey
    ) -> None:
        if self.event_bridge:
            start_on_event(pipeline, events.EventPattern(
                source=["aws.s3"], detail_type=["Object Created"],
                detail={"bucket": {"name": [self.bucket.bucket_name]}, "object": {"key": [self.key]}},
            ), key, f"{self.key} is uploaded")  # fmt: skip


@dataclass(frozen=True)
class CodeCommitSource(PipelineSource):
    """An AWS CodeCommit repository.

    Args:
        repository: the repository (``codecommit.Repository.from_repository_name(...)``).
        branch: Default: ``main``.
    """

    repository: codecommit.IRepository
    branch: str = "main"

    def __post_init__(self) -> None:
        collaborator("CodeCommitSource", "repository", self.repository, has="repository_arn",
                     kind="a CodeCommit repository (codecommit.IRepository)",
                     example="codecommit.Repository.from_repository_name(stack, 'Repo', 'airflow-dags')")
        if not isinstance(self.branch, str) or not _BRANCH.match(self.branch):
            raise _fail("CodeCommitSource", f"branch {self.branch!r} is not a Git branch name, e.g. 'main'")

    def action(self, output: codepipeline.Artifact, role: iam.IRole) -> codepipeline.IAction:
        return actions.CodeCommitSourceAction(
            action_name="Source", role=role, repository=self.repository, branch=self.branch, output=output,
            trigger=actions.CodeCommitTrigger.NONE,  # the rule below, with retries and a dead-letter queue
        )  # fmt: skip

    def add_trigger(
        self, pipeline: codepipeline.Pipeline, action: codepipeline.IAction, file_paths: Sequence[str], key: kms.IKey
    ) -> None:
        start_on_event(pipeline, events.EventPattern(
            source=["aws.codecommit"], detail_type=["CodeCommit Repository State Change"],
            resources=[self.repository.repository_arn],
            detail={"event": ["referenceCreated", "referenceUpdated"], "referenceType": ["branch"],
                    "referenceName": [self.branch]},
        ), key, f"branch {self.branch} changes")  # fmt: skip
