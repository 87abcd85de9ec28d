"""``SloMonitor``: one sweeper Lambda checks every data product's delivery SLO from a manifest.

Design (measured against one EventBridge Scheduler schedule per product in ``benchmarks/slo_scale.py``,
see ``docs/monitoring.md``): the contracts' SLOs (cron, time zone, grace) are compiled at synth time
into one JSON manifest in S3; one EventBridge rule runs the sweeper every few minutes; the sweeper
evaluates each cron in its own time zone, batch-reads the deliveries and alerts once per product
and period. Adding a product costs no CloudFormation resource; only a new domain adds one SNS topic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from aws_cdk import Annotations, ArnFormat, Duration, RemovalPolicy, SecretValue, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from meshworks.constructs.mesh.contract import DataProductContract

from ..core.dead_letter_queue import DeadLetterQueue, dead_letter_alarm
from ..core.inputs import string_list_mapping, whole_duration
from ..core.nag import (
    BUCKET_OBJECTS,
    CDK_ASSET_OBJECTS,
    CDK_GRANT_ACTIONS,
    PARTITION,
    acknowledge,
    acknowledge_grant,
    acknowledge_policies,
    arn,
)
from ..core.platform_function import PlatformFunction
from ..core.platform_key import PlatformKey, allow_service_to_use_key
from ..core.removal import resolve_removal_policy
from ..core.renamed import renamed_arguments
from ..core.secure_log_group import SecureLogGroup
from ..storage.secure_bucket import SecureBucket
from .slo_manifest import Manifest, build_manifest

#: Name of the sparse GSI of open breaches (``open`` = 1, sorted by ``deadline``) the sweeper queries.
OPEN_BREACH_INDEX = "open_breaches"
#: The sweeper's CloudWatch namespace (metrics ``Checks``, ``OnTime``, ``Breaches``, ``LatenessMinutes``
#: with the dimension ``Domain``; ``Domain=ALL`` aggregates every domain).
DEFAULT_NAMESPACE = "meshworks/slo"
#: Lambda environment variables are limited to 4 KB in total; the domain -> topic map must fit.
MAX_TOPIC_MAP_CHARS = 3000


def secure_topic(
    scope: Construct, construct_id: str, *, key: kms.IKey, topic_name: str | None, display_name: str
) -> sns.Topic:
    """An SNS topic encrypted with ``key`` whose policy denies any request not sent over TLS."""
    return sns.Topic(
        scope, construct_id, topic_name=topic_name, display_name=display_name, master_key=key, enforce_ssl=True
    )


#: Kept under its former name for the monitoring constructs (one definition, in ``core``).
dlq_alarm = dead_letter_alarm


#: The breach table's partition holding alerts written but not yet known sent (``checker.OUTBOX_KEY``).
OUTBOX_PARTITION = "#outbox"


class SloMonitor(Construct):
    """Delivery-SLO monitoring of data products: manifest, sweeper, breach table, alerts and alarms.

    What it creates:

    * ``manifest_bucket`` (``SecureBucket``) holding ``manifest_key``: the SLO manifest built from
      ``contracts`` at synth (``BucketDeployment`` of ``Source.json_data``: no Docker, no lookup).
      ``manifest`` holds the document and the products left out (``manifest.skipped``, also
      reported as a synth warning).
    * ``sweeper`` (``PlatformFunction``, ``slo_monitor.handler.main``) run by ``schedule_rule``
      every ``sweep_interval`` (rule DLQ ``schedule_dead_letter_queue``, 2 retries).
    * ``breach_table``: ``product_key``/``period_key``, sparse GSI ``open_breaches``
      (``open`` N / ``deadline`` S), TTL ``expires_at``, PITR, the CMK, deletion protection, retained.
    * ``slack_secret``: the Slack webhook map ``{"#channel": "https://hooks.slack.com/..."}``,
      created as an empty JSON object (the URLs never appear in config or templates; put them with
      ``aws secretsmanager put-secret-value``), CMK-encrypted, retained.
    * ``domain_topics``: one SNS topic per domain (CMK, TLS-only policy), optional e-mail subscribers.
    * ``alert_dead_letter_queue``: alerts that could not be delivered (Slack down, SNS error).
    * ``alarms``: sweeper errors, sweeper not running (fewer than 1 invocation in
      max(15 min, 3 sweeps), missing data breaching), and one per dead-letter queue. Route them
      with :meth:`add_alarm_action` (``PlatformDashboard`` does it for its ops topic).

    The sweeper may read only its manifest object, the delivery table (BatchGetItem), the breach
    table (Query on the index, conditional Put/Update), the Slack secret and the ``_SUCCESS``
    markers of the monitored buckets (``<bucket>/*_SUCCESS``, HeadObject/ListBucket); it may publish
    to the domain topics, send to the alert DLQ and put metrics in its namespace only. Data
    buckets in other accounts must also allow the role ``sweeper.role`` in their bucket policies.

    Example::

        from aws_cdk import App, Environment, Stack
        from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
        from aws_cdk import aws_dynamodb as dynamodb
        from aws_cdk import aws_sns as sns

        from meshworks.constructs.core import PlatformKey
        from meshworks.constructs.core.platform_key import allow_service_to_use_key
        from meshworks.constructs.mesh import load_contracts
        from meshworks.constructs.monitoring import SloMonitor

        app = App()
        stack = Stack(app, "Monitoring", env=Environment(account="111111111111", region="eu-west-1"))
        key = PlatformKey(stack, "OpsKey")
        ops_topic = sns.Topic(stack, "Ops", master_key=key, enforce_ssl=True)
        allow_service_to_use_key(key, "cloudwatch.amazonaws.com", "AllowCloudWatchAlarms")  # alarms publish to it
        contracts = load_contracts(["contracts/"])
        deliveries = dynamodb.Table.from_table_name(stack, "Deliveries", "acme-deliveries")
        monitor = SloMonitor(stack, "Slo", contracts=contracts, delivery_table=deliveries,
                             name_prefix="acme-slo", domain_alert_emails={"sales": ["oncall@acme.com"]})
        monitor.add_alarm_action(cloudwatch_actions.SnsAction(ops_topic))
        app.synth()

    Args:
        contracts: the data-product contracts (``load_contracts``).
        delivery_table: the hub's delivery table (``product_key``/``period_key``, ``delivered_at``).
            When it carries no ``encryption_key`` (imported by name), the sweeper may decrypt with
            any key of the account only through DynamoDB and only for that table.
        encryption_key: Default: a new ``PlatformKey`` (``self.key``).
        sweep_interval: Default: 5 minutes.
        overlap: how far back each sweep re-checks. Default: 10 minutes.
        breach_retention: how long a closed breach is kept. Default: 90 days.
        slack_secret_name: Default: generated.
        name_prefix: topics are named ``<prefix>-<domain>``. Default: generated names.
        domain_alert_emails: domain -> e-mail subscribers. Default: none.
        partition_templates: product key -> partition template overrides. Default: none.
        metric_namespace: Default: ``meshworks/slo``.
        manifest_key: Default: ``slo/manifest.json``.
        sweeper_timeout: Default: 5 minutes.
        sweeper_memory_size: Default: 512 MB.
        sweeper_role_name: a fixed name for the sweeper's role, so producers' bucket policies can
            name it (the mesh uses ``<prefix>-slo-sweeper``, see ``meshworks producer-policy``).
            Default: a generated name.
        removal_policy: of the bucket, table and secret. Default: RETAIN.
    """

    @renamed_arguments("SloMonitor", topic_name_prefix="name_prefix")
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        contracts: Sequence[DataProductContract],
        delivery_table: dynamodb.ITable,
        encryption_key: kms.IKey | None = None,
        sweep_interval: Duration = Duration.minutes(5),
        overlap: Duration = Duration.minutes(10),
        breach_retention: Duration = Duration.days(90),
        slack_secret_name: str | None = None,
        name_prefix: str | None = None,
        domain_alert_emails: Mapping[str, Sequence[str]] | None = None,
        partition_templates: Mapping[str, str] | None = None,
        metric_namespace: str = DEFAULT_NAMESPACE,
        manifest_key: str = "slo/manifest.json",
        sweeper_timeout: Duration = Duration.minutes(5),
        sweeper_memory_size: int = 512,
        sweeper_role_name: str | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        sweep_minutes = whole_duration("SloMonitor", "sweep_interval", sweep_interval, "minutes", minimum=1)
        whole_duration("SloMonitor", "overlap", overlap, "minutes", minimum=0)
        whole_duration("SloMonitor", "breach_retention", breach_retention, "days", minimum=1)
        whole_duration("SloMonitor", "sweeper_timeout", sweeper_timeout, "seconds", minimum=1, maximum=900)
        if domain_alert_emails is not None:
            domain_alert_emails = string_list_mapping(
                "SloMonitor", "domain_alert_emails", domain_alert_emails, example="oncall@acme.com"
            )
        super().__init__(scope, construct_id)
        self.key: kms.IKey = encryption_key or PlatformKey(self, "Key", description="meshworks SLO monitor key")
        self.metric_namespace = metric_namespace
        self.sweep_interval = sweep_interval
        self.manifest: Manifest = build_manifest(contracts, partition_templates)
        self.manifest_key = manifest_key
        if self.manifest.skipped:
            Annotations.of(self).add_warning_v2(
                "meshworks:SloNotMonitored",
                "data products without an SLO monitor: "
                + "; ".join(f"{key} ({why})" for key, why in self.manifest.skipped.items()),
            )
        unknown_domains = sorted(set(domain_alert_emails or {}) - set(self.manifest.domains))
        if unknown_domains:
            raise ValueError(
                f"domain_alert_emails names domains without monitored products: {', '.join(unknown_domains)}; "
                f"known domains: {', '.join(self.manifest.domains) or '(none)'}"
            )
        removal = resolve_removal_policy(self, removal_policy)

        # ---- manifest: a retained, encrypted bucket written at deploy time from synth-time JSON
        self.manifest_bucket = SecureBucket(
            self, "ManifestBucket", encryption_key=self.key, removal_policy=removal_policy
        )
        self._manifest_deployment_role = iam.Role(
            self,
            "ManifestDeploymentRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Writes the SLO manifest into its bucket at deploy time (CDK BucketDeployment).",
        )
        deploy_logs = SecureLogGroup(self, "ManifestDeploymentLogs", encryption_key=self.key)  # type: ignore[arg-type]
        deploy_logs.grant_write(self._manifest_deployment_role)
        folder, _, filename = manifest_key.rpartition("/")
        self.manifest_deployment = s3deploy.BucketDeployment(
            self,
            "ManifestDeployment",
            sources=[s3deploy.Source.json_data(filename, self.manifest.document)],
            destination_bucket=self.manifest_bucket,
            destination_key_prefix=folder or None,
            prune=True,
            retain_on_delete=True,
            role=self._manifest_deployment_role,
            log_group=deploy_logs,
            memory_limit=256,
        )
        self._acknowledge_manifest_deployment()

        # ---- breach table: one item per (product, period), sparse GSI of open breaches
        self.breach_table = dynamodb.Table(
            self,
            "BreachTable",
            partition_key=dynamodb.Attribute(name="product_key", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="period_key", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="expires_at",
            deletion_protection=True,
            removal_policy=removal,
        )
        self.breach_table.add_global_secondary_index(
            index_name=OPEN_BREACH_INDEX,
            partition_key=dynamodb.Attribute(name="open", type=dynamodb.AttributeType.NUMBER),
            sort_key=dynamodb.Attribute(name="deadline", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        acknowledge(
            self.breach_table,
            {
                "NIST.800.53.R5-DynamoDBInBackupPlan": "Point-in-time recovery (35 days) protects this "
                "operational table; breach history is also in CloudWatch metrics and alert messages.",
                "NIST.800.53.R5-DynamoDBAutoScalingEnabled": "On-demand (PAY_PER_REQUEST) capacity scales "
                "without provisioned-capacity auto scaling.",
            },
        )

        # ---- Slack webhook map: an empty JSON object until an operator puts the URLs
        self.slack_secret = secretsmanager.Secret(
            self,
            "SlackWebhooks",
            secret_name=slack_secret_name,
            description='Slack incoming webhooks of the SLO and job alerts: JSON {"#channel": "<webhook URL>"}',
            encryption_key=self.key,
            secret_string_value=SecretValue.unsafe_plain_text("{}"),  # placeholder, never a URL
            removal_policy=removal,
        )
        acknowledge(
            self.slack_secret,
            {
                "AwsSolutions-SMG4": "Slack incoming-webhook URLs are issued by Slack and cannot be rotated by "
                "a Lambda; operators replace them in Slack and update the secret.",
                "NIST.800.53.R5-SecretsManagerRotationEnabled": "Slack webhook URLs are issued by Slack; "
                "automatic rotation is not possible, operators replace them.",
            },
        )

        # ---- alerts: per-domain topics and the dead-letter queue of undeliverable alerts
        allow_service_to_use_key(
            self.key,
            "events.amazonaws.com",
            "AllowEventBridgeDeadLetters",
            Stack.of(self).format_arn(service="events", resource="rule", resource_name="*"),
        )
        self.domain_topics: dict[str, sns.Topic] = {}
        for domain in self.manifest.domains:
            topic = secure_topic(
                self,
                f"Topic-{domain}",
                key=self.key,
                topic_name=f"{name_prefix}-{domain}" if name_prefix else None,
                display_name=f"SLO alerts of the {domain} domain",
            )
            for email in (domain_alert_emails or {}).get(domain, ()):
                topic.add_subscription(subscriptions.EmailSubscription(email))
            self.domain_topics[domain] = topic
        self.alert_dead_letter_queue = DeadLetterQueue(
            self, "AlertDeadLetterQueue", encryption_key=self.key, receives="undeliverable alerts (alarmed)"
        )

        # ---- the sweeper
        topic_map = Stack.of(self).to_json_string({d: t.topic_arn for d, t in self.domain_topics.items()})
        if self.domain_topics and name_prefix:
            estimate = sum(len(d) + len(name_prefix) + len(d) + 60 for d in self.domain_topics)
            if estimate > MAX_TOPIC_MAP_CHARS:
                raise ValueError(
                    f"{len(self.domain_topics)} domain topics do not fit in the sweeper's environment "
                    f"(~{estimate} characters, Lambda allows 4 KB in total); use a shorter name_prefix "
                    "or split the contracts over several SloMonitor instances"
                )
        self.sweeper = PlatformFunction(
            self,
            "Sweeper",
            package="slo_monitor",
            handler="slo_monitor.handler.main",
            encryption_key=self.key,  # type: ignore[arg-type]
            description="SLO sweeper: checks every data product's delivery deadline from the manifest",
            timeout=sweeper_timeout,
            memory_size=sweeper_memory_size,
            reserved_concurrency=1,  # one sweep at a time; overlapping runs would only repeat work
            role_name=sweeper_role_name,
            environment={
                "MANIFEST_BUCKET": self.manifest_bucket.bucket_name,
                "MANIFEST_KEY": manifest_key,
                "DELIVERY_TABLE": delivery_table.table_name,
                "BREACH_TABLE": self.breach_table.table_name,
                "OPEN_BREACH_INDEX": OPEN_BREACH_INDEX,
                "SWEEP_MINUTES": str(sweep_minutes),
                "OVERLAP_MINUTES": str(int(overlap.to_minutes())),
                "DOMAIN_TOPIC_ARNS": topic_map,
                "SLACK_SECRET_ARN": self.slack_secret.secret_arn,
                "ALERT_DLQ_URL": self.alert_dead_letter_queue.queue_url,
                "METRIC_NAMESPACE": metric_namespace,
                "BREACH_RETENTION_DAYS": str(int(breach_retention.to_days())),
            },
        )
        role = self.sweeper.role
        self.grant_read_manifest(role)
        self.grant_record_breaches(role)
        self._grant_read_deliveries(role, delivery_table)
        self._grant_read_success_markers(role)
        self.slack_secret.grant_read(role)
        for topic in self.domain_topics.values():
            topic.grant_publish(role)
        self.alert_dead_letter_queue.grant_send_messages(role)
        grant_put_metrics(role, metric_namespace)
        self._acknowledge_sweeper_policy()

        self.schedule_dead_letter_queue = DeadLetterQueue(
            self, "ScheduleDeadLetterQueue", encryption_key=self.key, receives="the sweep schedule's target"
        )
        self.schedule_rule = events.Rule(
            self,
            "Schedule",
            description=f"Runs the SLO sweeper every {sweep_minutes} minute(s)",
            schedule=events.Schedule.rate(sweep_interval),
            targets=[
                targets.LambdaFunction(
                    self.sweeper.function,
                    dead_letter_queue=self.schedule_dead_letter_queue,
                    retry_attempts=2,
                    max_event_age=Duration.hours(1),
                )
            ],
        )

        # ---- alarms on the monitor itself
        not_running_period = Duration.minutes(max(15, 3 * sweep_minutes))
        self.sweeper_errors_alarm = cloudwatch.Alarm(
            self,
            "SweeperErrors",
            alarm_description="The SLO sweeper failed; SLO breaches may go unnoticed until it runs again.",
            metric=self.metric_sweeper_errors(period=Duration.minutes(15)),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.sweeper_stopped_alarm = cloudwatch.Alarm(
            self,
            "SweeperNotRunning",
            alarm_description=f"The SLO sweeper did not run in {int(not_running_period.to_minutes())} minutes "
            "(schedule disabled, throttled or deleted): no SLO is being checked.",
            metric=self.metric_sweeper_invocations(period=not_running_period),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        self.alert_dlq_alarm = dlq_alarm(self, "AlertDlqDepth", self.alert_dead_letter_queue, "Undelivered SLO alerts")
        self.alarms: list[cloudwatch.Alarm] = [
            self.sweeper_errors_alarm,
            self.sweeper_stopped_alarm,
            self.alert_dlq_alarm,
            dlq_alarm(self, "ScheduleDlqDepth", self.schedule_dead_letter_queue, "Undelivered sweep schedules"),
        ]
        if self.sweeper.dead_letter_queue is not None:
            self.alarms.append(dlq_alarm(self, "SweeperDlqDepth", self.sweeper.dead_letter_queue, "Failed sweeps"))

    # ------------------------------------------------------------------------------------------ grants

    def grant_read_manifest(self, grantee: iam.IGrantable) -> iam.Grant:
        """``s3:GetObject`` on the manifest object only (and decrypt with the key)."""
        acknowledge_grant(grantee)
        self.key.grant_decrypt(grantee)
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject"],
            resource_arns=[self.manifest_bucket.arn_for_objects(self.manifest_key)],
        )

    def grant_record_breaches(self, grantee: iam.IGrantable) -> iam.Grant:
        """Conditional writes of breach items (with their alerts, in ``TransactWriteItems``: authorised as
        ``PutItem``/``UpdateItem``), queries of the open-breach index, and reading and clearing the alert
        outbox (``Query``/``DeleteItem`` on the ``#outbox`` partition only): what the sweeper does."""
        acknowledge_grant(grantee)
        self.key.grant_encrypt_decrypt(grantee)
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:Query"],
            resource_arns=[f"{self.breach_table.table_arn}/index/{OPEN_BREACH_INDEX}"],
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="AlertOutbox",
                actions=["dynamodb:Query", "dynamodb:DeleteItem"],
                resources=[self.breach_table.table_arn],
                conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [OUTBOX_PARTITION]}},
            )
        )
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:PutItem", "dynamodb:UpdateItem"],
            resource_arns=[self.breach_table.table_arn],
        )

    def grant_read_breaches(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the breach table and its index (reports, dashboards)."""
        acknowledge_grant(
            grantee,
            [(r"Resource::<[A-Za-z0-9]+\.Arn>/index/\*", "The indexes of the breach table only (CDK's grant_read_data "
              "covers every index of the one table).")],
        )
        return self.breach_table.grant_read_data(grantee)

    def grant_read_slack_webhooks(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the Slack webhook map (another alerting Lambda sharing the webhooks)."""
        acknowledge_grant(grantee)
        return self.slack_secret.grant_read(grantee)

    def grant_dead_letter_alerts(self, grantee: iam.IGrantable) -> iam.Grant:
        """Send undeliverable alerts to ``alert_dead_letter_queue``."""
        acknowledge_grant(grantee)
        return self.alert_dead_letter_queue.grant_send_messages(grantee)

    def _grant_read_deliveries(self, grantee: iam.IGrantable, table: dynamodb.ITable) -> None:
        iam.Grant.add_to_principal(grantee=grantee, actions=["dynamodb:BatchGetItem"], resource_arns=[table.table_arn])
        if table.encryption_key is not None:
            table.encryption_key.grant_decrypt(grantee)
            return
        stack = Stack.of(self)
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DecryptDeliveriesThroughDynamoDB",
                actions=["kms:Decrypt"],
                resources=[
                    stack.format_arn(
                        service="kms", resource="key", resource_name="*", arn_format=ArnFormat.SLASH_RESOURCE_NAME
                    )
                ],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"dynamodb.{stack.region}.amazonaws.com",
                        "kms:EncryptionContext:aws:dynamodb:tableName": table.table_name,
                    }
                },
            )
        )

    def _grant_read_success_markers(self, grantee: iam.IGrantable) -> None:
        buckets = self.manifest.buckets
        if not buckets:
            return
        partition = Stack.of(self).partition
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="HeadSuccessMarkers",
                actions=["s3:GetObject"],
                resources=[f"arn:{partition}:s3:::{bucket}/*_SUCCESS" for bucket in buckets],
            )
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="MissingMarkerReadsAs404",
                actions=["s3:ListBucket"],
                resources=[f"arn:{partition}:s3:::{bucket}" for bucket in buckets],
            )
        )

    def _acknowledge_sweeper_policy(self) -> None:
        acknowledge_policies(
            self.sweeper.role,
            [
                (r"Resource::arn:" + PARTITION + r":s3:::[^/]+/\*_SUCCESS", "HeadObject of the _SUCCESS markers only "
                 "(<bucket>/*_SUCCESS) of the buckets holding monitored products; marker keys depend on each "
                 "product's prefix and period."),
                (r"Resource::" + arn("kms", r"key/\*"), "kms:Decrypt of the hub's delivery table, whose "
                 "key lives in another stack: allowed only through DynamoDB (kms:ViaService) and only for that "
                 "table (encryption context)."),
                (r"Resource::\*", "cloudwatch:PutMetricData supports no resource-level permission; the "
                 "statement is restricted to the monitor's namespace by the cloudwatch:namespace condition."),
            ],
        )

    def _acknowledge_manifest_deployment(self) -> None:
        """The CDK BucketDeployment handler (a singleton of the stack, running as our role) writes the manifest."""
        acknowledge_policies(
            self._manifest_deployment_role,
            [CDK_GRANT_ACTIONS, CDK_ASSET_OBJECTS, BUCKET_OBJECTS],
            extra={
                "NIST.800.53.R5-IAMNoInlinePolicy": "The role belongs to the manifest deployment handler; its "
                "inline policy is generated by CDK grants scoped to the asset and manifest buckets.",
            },
        )
        for child in Stack.of(self).node.children:
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                function = child.node.try_find_child("Resource")
                if function is not None:
                    self._acknowledge_deployment_function(function)

    @staticmethod
    def _acknowledge_deployment_function(function: Construct) -> None:
        acknowledge(
            function,
            {
                "AwsSolutions-L1": "CDK's BucketDeployment handler pins its own runtime; it only runs during "
                "deployments to copy the manifest.",
                "NIST.800.53.R5-LambdaConcurrency": "Deploy-time custom-resource handler: CloudFormation invokes "
                "it once per deployment; reserved concurrency would not bound anything.",
                "NIST.800.53.R5-LambdaDLQ": "Deploy-time custom-resource handler: CloudFormation gets its "
                "result synchronously and fails the deployment on error; there is no asynchronous event to keep.",
                "NIST.800.53.R5-LambdaInsideVPC": "Deploy-time handler that only copies between two S3 buckets "
                "through AWS APIs; no private network resource is involved.",
            },
        )

    # ------------------------------------------------------------------------------------------ alarms

    def add_alarm_action(self, *actions: cloudwatch.IAlarmAction) -> None:
        """Add actions (e.g. ``SnsAction(ops_topic)``) to every alarm of the monitor."""
        for alarm in self.alarms:
            alarm.add_alarm_action(*actions)

    @property
    def domains(self) -> list[str]:
        """Domains with monitored products."""
        return self.manifest.domains

    # ------------------------------------------------------------------------------------------ metrics

    def _slo_metric(
        self, name: str, domain: str, statistic: str, period: Duration, label: str | None
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.metric_namespace,
            metric_name=name,
            dimensions_map={"Domain": domain},
            statistic=statistic,
            period=period,
            label=label,
        )

    def metric_checks(self, domain: str = "ALL", *, period: Duration = Duration.hours(1)) -> cloudwatch.Metric:
        """Deadlines checked (Sum) for ``domain`` (``ALL``: every domain)."""
        return self._slo_metric("Checks", domain, "Sum", period, f"{domain} checks")

    def metric_on_time(self, domain: str = "ALL", *, period: Duration = Duration.hours(1)) -> cloudwatch.Metric:
        """Deliveries on time (Sum)."""
        return self._slo_metric("OnTime", domain, "Sum", period, f"{domain} on time")

    def metric_breaches(self, domain: str = "ALL", *, period: Duration = Duration.hours(1)) -> cloudwatch.Metric:
        """New breaches (Sum)."""
        return self._slo_metric("Breaches", domain, "Sum", period, f"{domain} breaches")

    def metric_slack_not_configured(self, *, period: Duration = Duration.hours(1)) -> cloudwatch.Metric:
        """Alerts whose Slack part was skipped because the webhook secret holds no webhook (Sum).

        A visible, non-paging state (the secret is deployed as ``{}``): show it, do not alarm on it.
        """
        return self._slo_metric("SlackNotConfigured", "ALL", "Sum", period, "alerts without Slack (not configured)")

    def metric_lateness(
        self, domain: str = "ALL", *, statistic: str = "Maximum", period: Duration = Duration.hours(1)
    ) -> cloudwatch.Metric:
        """Lateness of late deliveries in minutes (``Maximum`` or ``Average``)."""
        return self._slo_metric("LatenessMinutes", domain, statistic, period, f"{domain} lateness (min)")

    def metric_compliance(
        self, domain: str = "ALL", *, period: Duration = Duration.hours(1)
    ) -> cloudwatch.MathExpression:
        """Percentage of deadlines met: ``100 * OnTime / Checks``."""
        suffix = re.sub(r"[^a-z0-9_]", "_", domain.lower())
        return cloudwatch.MathExpression(
            expression=f"100 * ontime_{suffix} / checks_{suffix}",
            using_metrics={
                f"ontime_{suffix}": self.metric_on_time(domain, period=period),
                f"checks_{suffix}": self.metric_checks(domain, period=period),
            },
            label=f"{domain} SLO compliance %",
            period=period,
        )

    def metric_breaches_by_domain(self, *, period: Duration = Duration.hours(1)) -> cloudwatch.MathExpression:
        """Breaches of every domain that reported any (one CloudWatch SEARCH; constant size)."""
        seconds = int(period.to_seconds())
        return cloudwatch.MathExpression(
            expression=f"SEARCH('{{{self.metric_namespace},Domain}} MetricName=\"Breaches\" NOT Domain=\"ALL\"', 'Sum', {seconds})",
            using_metrics={},
            label="breaches",
            period=period,
        )

    def metric_lateness_by_domain(self, *, period: Duration = Duration.hours(1)) -> cloudwatch.MathExpression:
        """Maximum lateness per domain (one CloudWatch SEARCH)."""
        seconds = int(period.to_seconds())
        return cloudwatch.MathExpression(
            expression=f"SEARCH('{{{self.metric_namespace},Domain}} MetricName=\"LatenessMinutes\" NOT Domain=\"ALL\"', 'Maximum', {seconds})",
            using_metrics={},
            label="lateness (min)",
            period=period,
        )

    def metric_sweeper_errors(self, *, period: Duration = Duration.minutes(5)) -> cloudwatch.Metric:
        """Failed sweeper invocations (Sum)."""
        return self.sweeper.function.metric_errors(period=period, statistic="Sum")

    def metric_sweeper_invocations(self, *, period: Duration = Duration.minutes(15)) -> cloudwatch.Metric:
        """Sweeper invocations (Sum): 0 means the monitor stopped."""
        return self.sweeper.function.metric_invocations(period=period, statistic="Sum")

    def metric_alert_dead_letters(self, *, period: Duration = Duration.minutes(5)) -> cloudwatch.Metric:
        """Undelivered alerts waiting in the DLQ (Maximum)."""
        return self.alert_dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=period, statistic="Maximum"
        )


def grant_put_metrics(grantee: iam.IGrantable, namespace: str) -> None:
    """``cloudwatch:PutMetricData`` (no resource-level permissions) limited to one namespace."""
    if Token.is_unresolved(namespace):
        raise ValueError("the metric namespace must be a literal string")
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            sid="PutMetricsInOwnNamespace",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": namespace}},
        )
    )
    acknowledge_grant(
        grantee,
        [(r"Resource::\*", "cloudwatch:PutMetricData has no resource-level permission; the statement is limited "
          "to one metric namespace by the cloudwatch:namespace condition.")],
    )
