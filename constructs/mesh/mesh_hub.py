"""``MeshHub``: the governance account's side of the data mesh (Lake Formation, catalog, refresh events).

Unlike the deprecated AWS analytics reference architecture (``lakeformation:*`` on ``*``, admins
replaced, no consumer shares), every permission here is scoped and nothing existing is clobbered:

- Lake Formation settings with ``MutationType: APPEND`` (admins are added, never replaced: a removed
  admin role cannot break later deployments), ``CROSS_ACCOUNT_VERSION`` 4, and empty default
  permissions for new databases and tables (no ``IAM_ALLOWED_PRINCIPALS`` grants, which defeat
  LF-tag cross-account sharing);
- a data-access role Lake Formation assumes for the registered product locations (read-only on the
  configured producer locations, ``bucket/prefix*``, decrypt with their KMS keys), instead of the
  service-linked role;
- one Glue database per domain (``add_domain``), created with no default table permissions and
  tagged ``domain=<d>``;
- the refresh path: producer accounts put ``DataProductRefreshed`` events on the hub bus (its policy
  admits exactly those accounts, one rule per domain only accepts events of that domain from that
  domain's producers), the ``mesh_notifier`` Lambda (role ``<prefix>-mesh-notifier``) checks the
  announcing account, registers the partition, publishes to the hub-only topic and to the topic of
  each of the product's consumer accounts (``add_consumer_account``: one topic per account, CMK, TLS
  only, only that account may subscribe), then records the delivery in a DynamoDB table (CMK, PITR,
  retained) and writes the ``_SUCCESS`` marker last; its DLQ and errors are alarmed.

Example::

    from aws_cdk import App, Environment, Stack
    from aws_cdk import aws_iam as iam

    from meshworks.constructs.mesh import MeshHub

    app = App()
    stack = Stack(app, "Hub", env=Environment(account="111111111111", region="eu-west-1"))
    slo_checker_role = iam.Role(stack, "SloChecker", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    hub = MeshHub(stack, "Hub", name_prefix="acme", producer_locations=["s3://acme-sales-curated/"])
    hub.add_domain("sales", producer_accounts=["444455556666"])
    hub.add_consumer_account("777788889999")
    hub.add_lf_tag("classification", ["public", "internal", "confidential", "restricted"])
    hub.grant_read_deliveries(slo_checker_role)
    app.synth()
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import (
    Annotations,
    ArnFormat,
    CfnDeletionPolicy,
    CfnResource,
    DefaultStackSynthesizer,
    Duration,
    Fn,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lakeformation as lakeformation
from aws_cdk import aws_sns as sns
from constructs import Construct

from meshworks.constructs.core.inputs import account_ids, bucket_names, kms_key_arns, role_arns, string_list
from meshworks.constructs.core.nag import PARTITION, acknowledge, acknowledge_grant, acknowledge_policies, arn
from meshworks.constructs.core.partition import partition_of
from meshworks.constructs.core.platform_function import PlatformFunction
from meshworks.constructs.core.platform_key import PlatformKey, allow_service_to_use_key
from meshworks.constructs.core.removal import resolve_removal_policy
from meshworks.constructs.core.renamed import renamed_arguments
from meshworks.constructs.mesh.trust import check_s3_folder

__all__ = ["REFRESH_DETAIL_TYPE", "REFRESH_SOURCE", "MeshHub"]

#: What producers put on the hub bus (see ``lambdas/mesh_notifier``).
REFRESH_SOURCE = "meshworks.producer"
REFRESH_DETAIL_TYPE = "DataProductRefreshed"
#: LF permissions of the notifier on the tables of each domain: read the table, add partitions.
#: (Adding a partition in a registered location also needs DATA_LOCATION_ACCESS on that location:
#: ``DataProduct`` grants it on each product's registered location, see ``notifier_role_arn``.)
NOTIFIER_TABLE_PERMISSIONS = ("DESCRIBE", "ALTER", "INSERT")
#: IAM allows role names of at most 64 characters.
MAX_ROLE_NAME = 64
#: Function timeout of the notifier, and the publish lease (timeout + margin, see lambdas/mesh_notifier).
NOTIFIER_TIMEOUT_SECONDS = 60
NOTIFIER_LEASE_SECONDS = NOTIFIER_TIMEOUT_SECONDS + 120


def role_names(name_prefix: str) -> dict[str, str]:
    """The deterministic role names of the mesh that producers' bucket and key policies name.

    ``data_access`` (Lake Formation reads product locations), ``notifier`` (writes ``_SUCCESS``
    markers) and ``slo_sweeper`` (reads them; created by ``SloMonitor`` in the monitoring stack).

    Raises:
        ValueError: a name longer than IAM's 64 characters (names the prefix and the fix).
    """
    names = {
        "data_access": f"{name_prefix}-lf-data-access",
        "notifier": f"{name_prefix}-mesh-notifier",
        "slo_sweeper": f"{name_prefix}-slo-sweeper",
    }
    too_long = {k: n for k, n in names.items() if len(n) > MAX_ROLE_NAME}
    if too_long:
        longest = max(len(n) - len(name_prefix) for n in names.values())
        raise ValueError(
            f"name_prefix {name_prefix!r} makes role names longer than IAM's {MAX_ROLE_NAME} characters "
            f"({', '.join(sorted(too_long.values()))}); use a prefix of at most {MAX_ROLE_NAME - longest} characters"
        )
    return names
#: Most LF-tag values CloudFormation accepts for one key.
MAX_TAG_VALUES = 50


class MeshHub(Construct):
    """Lake Formation governance, domain databases and the refresh-event path of the hub account.

    Args:
        name_prefix: prefix of the deterministic names other accounts refer to:
            ``<prefix>-lf-data-access`` (role), ``<prefix>-mesh-refresh`` (bus),
            ``<prefix>-deliveries`` (table), ``<prefix>-mesh-refreshed`` (topic). Default: "meshworks".
        lf_admin_role_arns: extra Lake Formation admins (appended). Default: none.
        include_deployment_role: also make the stack's CloudFormation execution role an admin, so
            the stacks can create tables and grants. Default: True.
        cross_account_version: ``CROSS_ACCOUNT_VERSION``. Default: 4.
        producer_buckets: S3 buckets holding product data (read by the data-access role; the
            notifier writes ``_SUCCESS`` markers there). Default: none.
        producer_locations: S3 folders (``s3://bucket/prefix/``) holding product data, each read only
            under its prefix (see ``add_producer_location``). Default: none.
        producer_kms_key_arns: KMS keys of those buckets. Default: none.
        encryption_key: encrypts the table, topic, logs and queues. Default: a new ``PlatformKey``.
        delivery_table_name: Default: ``<prefix>-deliveries``.
        removal_policy: of the delivery table. Default: RETAIN.
        alarm_topic: where the notifier's alarms (dead letters, errors) go. Default: a new encrypted
            topic ``<prefix>-mesh-hub-alarms`` (``self.alarm_topic``) to subscribe the on-call to.

    Roles named ``<prefix>-lf-data-access`` and ``<prefix>-mesh-notifier`` (:func:`role_names`);
    a prefix that makes them longer than 64 characters raises ``ValueError``. Producer buckets
    without producer KMS keys add a synth-time warning (a KMS-encrypted bucket needs its key).
    """

    @renamed_arguments("MeshHub", producer_key_arns="producer_kms_key_arns")
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str = "meshworks",
        lf_admin_role_arns: Sequence[str] = (),
        include_deployment_role: bool = True,
        cross_account_version: int = 4,
        producer_buckets: Sequence[str] = (),
        producer_locations: Sequence[str] = (),
        producer_kms_key_arns: Sequence[str] = (),
        encryption_key: kms.IKey | None = None,
        delivery_table_name: str | None = None,
        removal_policy: RemovalPolicy | None = None,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        # Checked before anything is built: an s3:// URI or a bad ARN would otherwise fail only at deploy time.
        producer_buckets = bucket_names("MeshHub", "producer_buckets", producer_buckets)
        producer_locations = string_list("MeshHub", "producer_locations", producer_locations, example="s3://acme-sales/orders/")
        producer_kms_key_arns = kms_key_arns("MeshHub", "producer_kms_key_arns", producer_kms_key_arns)
        lf_admin_role_arns = role_arns("MeshHub", "lf_admin_role_arns", lf_admin_role_arns)
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self._stack = stack
        self.name_prefix = name_prefix
        self.role_names = role_names(name_prefix)
        if producer_buckets and not producer_kms_key_arns:
            Annotations.of(self).add_warning_v2(
                "meshworks:mesh-producer-keys",
                f"producer buckets {sorted(producer_buckets)} but no producer KMS keys: if a bucket is SSE-KMS "
                "encrypted, Lake Formation cannot read it and the notifier cannot write its _SUCCESS markers. "
                "Set mesh.producer_kms_key_arns (and apply `meshworks producer-policy` in the producer account).",
            )
        self.catalog_id = stack.account
        self.key: kms.IKey = encryption_key or PlatformKey(
            self, "Key", alias=f"alias/{name_prefix}/mesh-hub", description="meshworks mesh hub key"
        )

        # ---- Lake Formation settings -----------------------------------------------------------
        admins = [*lf_admin_role_arns]
        if include_deployment_role and isinstance(stack.synthesizer, DefaultStackSynthesizer):
            admins.append(Fn.sub(stack.synthesizer.cloud_formation_execution_role_arn))
        self.settings = lakeformation.CfnDataLakeSettings(
            self,
            "LakeFormationSettings",
            mutation_type="APPEND",
            admins=[
                lakeformation.CfnDataLakeSettings.DataLakePrincipalProperty(data_lake_principal_identifier=arn)
                for arn in admins
            ],
            create_database_default_permissions=[],
            create_table_default_permissions=[],
            parameters={"CROSS_ACCOUNT_VERSION": str(cross_account_version)},
        )

        # ---- data-access role for registered locations ----------------------------------------
        self.data_access_role = iam.Role(
            self,
            "DataAccessRole",
            role_name=self.role_names["data_access"],
            assumed_by=iam.ServicePrincipal("lakeformation.amazonaws.com"),
            description="Lake Formation reads registered data-product locations with this role",
        )
        trust = self.data_access_role.assume_role_policy
        if trust is not None:
            trust.add_statements(
                iam.PolicyStatement(
                    actions=["sts:SetContext"], principals=[iam.ServicePrincipal("lakeformation.amazonaws.com")]
                )
            )
        self._producer_locations: list[str] = []
        self._object_read = iam.PolicyStatement(sid="ReadProducerLocations", actions=["s3:GetObject"])
        self._marker_write = iam.PolicyStatement(sid="WriteSuccessMarkers", actions=["s3:PutObject"])
        self._producer_keys: list[str] = []
        self._key_decrypt = iam.PolicyStatement(
            sid="DecryptProducerData",
            actions=["kms:Decrypt"],
            conditions={"StringLike": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
        )
        self._key_encrypt = iam.PolicyStatement(
            sid="EncryptSuccessMarkers",
            actions=["kms:GenerateDataKey"],
            conditions={"StringLike": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
        )

        # ---- deliveries, topic, notifier ---------------------------------------------------------
        self.delivery_table = dynamodb.Table(
            self,
            "Deliveries",
            table_name=delivery_table_name or f"{name_prefix}-deliveries",
            partition_key=dynamodb.Attribute(name="product_key", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="period_key", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=resolve_removal_policy(self, removal_policy),
        )
        acknowledge(
            self.delivery_table,
            {
                "NIST.800.53.R5-DynamoDBInBackupPlan": "Point-in-time recovery (35 days) protects the delivery "
                "log; it is an audit trail that can be rebuilt from the _SUCCESS markers, so no AWS Backup plan.",
            },
        )
        self.topic = sns.Topic(
            self,
            "Refreshed",
            topic_name=f"{name_prefix}-mesh-refreshed",
            display_name="meshworks data product refreshed",
            master_key=self.key,
            enforce_ssl=True,
        )
        self._consumers: list[str] = []
        self.consumer_topics: dict[str, sns.Topic] = {}
        self._producer_accounts: list[str] = []

        self.notifier = PlatformFunction(
            self,
            "Notifier",
            package="mesh_notifier",
            handler="mesh_notifier.handler.main",
            encryption_key=self.key,
            environment={
                "DELIVERY_TABLE": self.delivery_table.table_name,
                "TOPIC_ARN": self.topic.topic_arn,
                "CATALOG_ID": self.catalog_id,
                "DATABASE_PREFIX": "",
                "CONSUMER_TOPIC_PREFIX": self._consumer_topic_arn(""),
                "PRODUCER_ACCOUNTS": self.catalog_id,  # and each admitted producer account (_admit_producer)
                "LEASE_SECONDS": str(NOTIFIER_LEASE_SECONDS),
            },
            timeout=Duration.seconds(NOTIFIER_TIMEOUT_SECONDS),
            reserved_concurrency=10,
            description="meshworks: Glue partition, SNS fan-out per consumer, delivery record, _SUCCESS marker",
            role_name=self.role_names["notifier"],
        )
        self.delivery_table.grant(self.notifier.role, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
        self.topic.grant_publish(self.notifier.role)
        # One topic per consumer account (add_consumer_account); the name pattern keeps the policy
        # one statement long however many consumers there are.
        self.notifier.add_to_role_policy(
            iam.PolicyStatement(
                sid="PublishToConsumerTopics", actions=["sns:Publish"], resources=[self._consumer_topic_arn("*")]
            )
        )
        acknowledge_policies(
            self.notifier.role,
            [
                (r"Resource::arn:" + PARTITION + r":s3:::[^/*]+/([^*]+/)?\*_SUCCESS", "Only objects named _SUCCESS (the "
                 "refresh markers) in the producer buckets; partition paths are only known at run time."),
                (r"Resource::" + arn("glue", r"table/[a-z0-9_]+/\*"), "GetTable/CreatePartition/"
                 "UpdatePartition on the tables of the mesh's domain databases (one ARN per domain); products come "
                 "and go without a policy change."),
                (r"Resource::" + arn("sns", r"[a-z0-9-]+-mesh-refreshed-\*"), "Publish only to "
                 "the hub's per-consumer-account refresh topics (<prefix>-mesh-refreshed-<account>); accounts are "
                 "added by configuration without a policy change."),
            ],
        )
        acknowledge_policies(
            self.data_access_role,
            [
                (r"Resource::arn:" + PARTITION + r":s3:::[^/*]+/([^*]+/)?\*", "Lake Formation reads any object under a "
                 "configured producer location (GetObject only); which tables and columns a principal reads is "
                 "decided by LF grants."),
            ],
            extra={
                "NIST.800.53.R5-IAMNoInlinePolicy": "The data-access role belongs to Lake Formation alone; its "
                "one inline policy is read-only on the configured producer locations and keys.",
            },
        )
        self._glue_access = iam.PolicyStatement(
            sid="ReadTablesAddPartitions",
            actions=["glue:GetTable", "glue:CreatePartition", "glue:UpdatePartition"],
            resources=[stack.format_arn(service="glue", resource="catalog")],
        )
        self.notifier.add_to_role_policy(self._glue_access)

        # ---- the refresh bus ------------------------------------------------------------------------
        self.event_bus = events.EventBus(
            self, "RefreshBus", event_bus_name=f"{name_prefix}-mesh-refresh", description="meshworks producer refreshes"
        )
        self._bus_policy: CfnResource | None = None
        if self.notifier.dead_letter_queue is not None:
            # Rejected events go there at once (not retried), with their reason; the DLQ is alarmed.
            self.notifier.function.add_environment("REJECTED_QUEUE_URL", self.notifier.dead_letter_queue.queue_url)
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowEventBridgeDeadLetters",
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=["*"],  # in a key policy "*" means this key
                    conditions={
                        "ArnLike": {
                            "aws:SourceArn": stack.format_arn(
                                service="events", resource="rule", resource_name=f"{name_prefix}-mesh-refresh/*"
                            )
                        }
                    },
                )
            )

        self.databases: dict[str, glue.CfnDatabase] = {}
        self.lf_tags: dict[str, lakeformation.CfnTag] = {}
        self.rules: dict[str, events.Rule] = {}
        self.notifier_grants: dict[str, lakeformation.CfnPrincipalPermissions] = {}

        for bucket in producer_buckets:
            self.add_producer_bucket(bucket)
        for location in producer_locations:
            self.add_producer_location(location)
        for key_arn in producer_kms_key_arns:
            self.add_producer_key(key_arn)

        # ---- alarms: every retry path of the refresh flow ends in the notifier's DLQ --------------
        self.alarm_topic: sns.ITopic = alarm_topic or sns.Topic(
            self,
            "Alarms",
            topic_name=f"{name_prefix}-mesh-hub-alarms",
            display_name="meshworks mesh hub alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        if alarm_topic is None:
            allow_service_to_use_key(self.key, "cloudwatch.amazonaws.com", "AllowCloudWatchAlarms")
        self.alarms: list[cloudwatch.Alarm] = []
        if self.notifier.dead_letter_queue is not None:
            self.alarms.append(
                cloudwatch.Alarm(
                    self,
                    "NotifierDeadLetters",
                    metric=self.notifier.dead_letter_queue.metric_approximate_number_of_messages_visible(
                        period=Duration.minutes(5), statistic="Maximum"
                    ),
                    threshold=0,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=1,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                    alarm_description="Refresh events the notifier gave up on (rejected or failed after retries, or "
                    "not deliverable by EventBridge): read errorType/errorMessage on each message, fix, then redrive.",
                )
            )
        self.alarms.append(
            cloudwatch.Alarm(
                self,
                "NotifierErrors",
                metric=self.notifier.function.metric_errors(period=Duration.minutes(15), statistic="Sum"),
                threshold=3,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="The notifier keeps failing (Lake Formation or KMS denied, throttling, publish "
                "errors): deliveries are late until it recovers; see its logs.",
            )
        )
        for alarm in self.alarms:
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))

    def _consumer_topic_arn(self, account: str) -> str:
        """ARN of a consumer account's refresh topic ``<prefix>-mesh-refreshed-<account>``."""
        return self._stack.format_arn(
            service="sns", resource=f"{self.name_prefix}-mesh-refreshed-{account}", arn_format=ArnFormat.NO_RESOURCE_NAME
        )

    def _platform_key(self) -> PlatformKey:
        if not isinstance(self.key, PlatformKey):
            raise TypeError("MeshHub needs a PlatformKey (log groups use it); pass encryption_key=PlatformKey(...)")
        return self.key

    # ---- producers -------------------------------------------------------------------------------

    @property
    def producer_locations(self) -> list[str]:
        """The S3 folders (``s3://bucket/`` or ``s3://bucket/prefix/``) the data-access role may read."""
        return list(self._producer_locations)

    def add_producer_bucket(self, bucket_name: str) -> None:
        """Same as ``add_producer_location("s3://<bucket_name>/")``: the whole bucket.

        Raises:
            ValueError: ``bucket_name`` is not a bucket name (e.g. an ``s3://`` URI).
        """
        (bucket_name,) = bucket_names("MeshHub", "add_producer_bucket(bucket_name)", [bucket_name])
        self.add_producer_location(f"s3://{bucket_name}/")

    def add_producer_location(self, location: str) -> None:
        """Let Lake Formation read the S3 folder ``location`` and the notifier write its ``_SUCCESS`` markers.

        ``location`` is ``s3://bucket/`` (the whole bucket) or ``s3://bucket/prefix/``: the data-access role
        gets ``s3:GetObject`` on ``bucket/prefix*`` and ``s3:ListBucket`` on the bucket for keys under
        ``prefix`` only. Take it from the platform's configuration (``ProducerDomain.buckets``), never from a
        contract. The bucket owner must also allow the data-access role (``data_access_role_arn``) and
        the notifier role in the bucket policy when the bucket lives in another account.

        Raises:
            ValueError: ``location`` is not such a folder (glob characters, ``.``/``..`` or empty segments).
        """
        check_s3_folder(location, what="producer location", allow_bucket_root=True)
        if location in self._producer_locations:
            return
        first = not self._producer_locations
        self._producer_locations.append(location)
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        partition = partition_of(self)
        self._object_read.add_resources(f"arn:{partition}:s3:::{bucket}/{prefix}*")
        self._marker_write.add_resources(f"arn:{partition}:s3:::{bucket}/{prefix}*_SUCCESS")
        self.data_access_role.add_to_policy(  # list keys under the prefix only (a whole bucket: any key)
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[f"arn:{partition}:s3:::{bucket}"],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}} if prefix else None,
            )
        )
        if first:
            self.data_access_role.add_to_policy(self._object_read)
            self.notifier.add_to_role_policy(self._marker_write)

    def add_producer_key(self, key_arn: str) -> None:
        """Let Lake Formation decrypt, and the notifier encrypt markers, with a producer bucket's KMS key."""
        (key_arn,) = kms_key_arns("MeshHub", "add_producer_key(key_arn)", [key_arn])
        if key_arn in self._producer_keys:
            return
        first = not self._producer_keys
        self._producer_keys.append(key_arn)
        self._key_decrypt.add_resources(key_arn)
        self._key_encrypt.add_resources(key_arn)
        if first:
            self.data_access_role.add_to_policy(self._key_decrypt)
            self.notifier.add_to_role_policy(self._key_encrypt)

    def _admit_producer(self, account: str) -> None:
        if account in self._producer_accounts or account == self.catalog_id:
            return
        self._producer_accounts.append(account)
        self.notifier.function.add_environment("PRODUCER_ACCOUNTS", ",".join([self.catalog_id, *self.producer_accounts]))
        if self._bus_policy is None:
            # L1 through CfnResource, as JobFailureAlerts does: CfnEventBusPolicy prints a jsii deprecation
            # warning for its deprecated props (principal, action, condition) even when they are not used.
            self._bus_policy = CfnResource(
                self,
                "RefreshBusPolicy",
                type="AWS::Events::EventBusPolicy",
                properties={"EventBusName": self.event_bus.event_bus_name, "StatementId": "AdmitProducerAccounts"},
            )
        self._bus_policy.add_property_override("Statement", {
            "Sid": "AdmitProducerAccounts",
            "Effect": "Allow",
            "Principal": {"AWS": [f"arn:{partition_of(self)}:iam::{a}:root" for a in sorted(self._producer_accounts)]},
            "Action": "events:PutEvents",
            "Resource": self.event_bus.event_bus_arn,
            "Condition": {"StringEquals": {"events:source": REFRESH_SOURCE, "events:detail-type": REFRESH_DETAIL_TYPE}},
        })

    # ---- domains ---------------------------------------------------------------------------------

    def add_domain(
        self, domain: str, *, description: str | None = None, producer_accounts: Sequence[str] = ()
    ) -> glue.CfnDatabase:
        """The Glue database of a domain, its ``domain`` LF-tag, notifier access and refresh rule.

        Args:
            domain: the domain name (also the database name).
            description: Default: "Data products of the <domain> domain".
            producer_accounts: accounts whose refresh events for this domain are accepted.
                Default: the hub account only.
        """
        producer_accounts = account_ids("MeshHub", f"add_domain({domain!r}).producer_accounts", producer_accounts)
        if domain in self.databases:
            return self.databases[domain]
        stack = self._stack
        database = glue.CfnDatabase(
            self,
            f"Database-{domain}",
            catalog_id=self.catalog_id,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=domain,
                description=description or f"Data products of the {domain} domain",
                parameters={"meshworks.domain": domain},
                create_table_default_permissions=[],
            ),
        )
        database.apply_removal_policy(RemovalPolicy.RETAIN)
        database.cfn_options.update_replace_policy = CfnDeletionPolicy.RETAIN
        database.add_resource_dependency(self.settings)
        self.databases[domain] = database

        domain_tag = self.add_lf_tag("domain", [domain])
        association = lakeformation.CfnTagAssociation(
            self,
            f"DatabaseTags-{domain}",
            lf_tags=[
                lakeformation.CfnTagAssociation.LFTagPairProperty(
                    catalog_id=self.catalog_id, tag_key="domain", tag_values=[domain]
                )
            ],
            resource=lakeformation.CfnTagAssociation.ResourceProperty(
                database=lakeformation.CfnTagAssociation.DatabaseResourceProperty(
                    catalog_id=self.catalog_id, name=domain
                )
            ),
        )
        association.add_resource_dependency(database)
        association.add_resource_dependency(domain_tag)

        self._glue_access.add_resources(
            stack.format_arn(service="glue", resource="database", resource_name=domain),
            stack.format_arn(service="glue", resource="table", resource_name=f"{domain}/*"),
        )
        grant = lakeformation.CfnPrincipalPermissions(
            self,
            f"NotifierAccess-{domain}",
            principal=lakeformation.CfnPrincipalPermissions.DataLakePrincipalProperty(
                data_lake_principal_identifier=self.notifier.role.role_arn
            ),
            resource=lakeformation.CfnPrincipalPermissions.ResourceProperty(
                table=lakeformation.CfnPrincipalPermissions.TableResourceProperty(
                    catalog_id=self.catalog_id, database_name=domain, table_wildcard={}
                )
            ),
            permissions=list(NOTIFIER_TABLE_PERMISSIONS),
            permissions_with_grant_option=[],
        )
        grant.add_resource_dependency(database)
        self.notifier_grants[domain] = grant

        accounts = sorted(set(producer_accounts) or {self.catalog_id})
        for account in accounts:
            self._admit_producer(account)
        self.rules[domain] = events.Rule(
            self,
            f"Refresh-{domain}",
            event_bus=self.event_bus,
            description=f"Refreshes of {domain} products, from that domain's producer accounts only",
            event_pattern=events.EventPattern(
                source=[REFRESH_SOURCE],
                detail_type=[REFRESH_DETAIL_TYPE],
                account=accounts,
                detail={"domain": [domain]},
            ),
            targets=[
                targets.LambdaFunction(
                    self.notifier.function,
                    dead_letter_queue=self.notifier.dead_letter_queue,
                    retry_attempts=8,
                    max_event_age=Duration.hours(24),
                )
            ],
        )
        return database

    def add_lf_tag(self, key: str, values: Sequence[str]) -> lakeformation.CfnTag:
        """Define an LF-tag key (or add values to it). Keys and values are case-insensitive in LF."""
        values = string_list("MeshHub", f"add_lf_tag({key!r}).values", values, example="sales")
        tag = self.lf_tags.get(key)
        if tag is None:
            safe = "".join(ch if ch.isalnum() else "-" for ch in key)
            tag = lakeformation.CfnTag(self, f"LfTag-{safe}", catalog_id=self.catalog_id, tag_key=key, tag_values=[])
            tag.add_resource_dependency(self.settings)
            self.lf_tags[key] = tag
        current = list(tag.tag_values)
        merged = sorted(set(current) | set(values))
        if len(merged) > MAX_TAG_VALUES:
            raise ValueError(
                f"LF-tag {key!r} would have {len(merged)} values; CloudFormation accepts at most {MAX_TAG_VALUES} "
                "per key: use fewer distinct values (or several keys) in the contracts' tags"
            )
        tag.tag_values = merged
        return tag

    # ---- consumers -------------------------------------------------------------------------------

    def add_consumer_account(self, account: str) -> sns.Topic:
        """Give ``account`` its own refresh topic ``<prefix>-mesh-refreshed-<account>`` and admit it to subscribe.

        The notifier publishes a product's refreshes only to the topics of the product's consumers
        (Glue table parameter ``meshworks:consumers``), so an account never learns of products it was
        not granted. Endpoints: SQS or Lambda; filter on the ``domain``/``product`` attributes.
        Costs two resources (topic, topic policy) per consumer account, none per product.
        """
        (account,) = account_ids("MeshHub", "add_consumer_account(account)", [account])
        if account in self.consumer_topics:
            return self.consumer_topics[account]
        topic = sns.Topic(
            self,
            f"Refreshed-{account}",
            topic_name=f"{self.name_prefix}-mesh-refreshed-{account}",
            display_name=f"meshworks data product refreshed (consumer {account})",
            master_key=self.key,
            enforce_ssl=True,
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AdmitConsumerAccount",
                actions=["sns:Subscribe"],
                principals=[iam.AccountPrincipal(account)],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"sns:Protocol": ["sqs", "lambda"]}},
            )
        )
        self.consumer_topics[account] = topic
        self._consumers = sorted({*self._consumers, account})
        return topic

    @property
    def consumer_accounts(self) -> list[str]:
        """Accounts admitted to the refresh topic."""
        return list(self._consumers)

    @property
    def producer_accounts(self) -> list[str]:
        """External accounts admitted to the refresh bus."""
        return sorted(self._producer_accounts)

    # ---- grants and names ------------------------------------------------------------------------

    @property
    def notifier_role_arn(self) -> str:
        """ARN of the notifier's role ``<prefix>-mesh-notifier`` (deterministic: producers' policies name it)."""
        return self._stack.format_arn(service="iam", region="", resource="role", resource_name=self.role_names["notifier"])

    @property
    def data_access_role_arn(self) -> str:
        """ARN of the data-access role, built from its deterministic name (no cross-stack export).

        Producers allow it in their bucket policies; data-product stacks register locations with it.
        """
        return self._stack.format_arn(
            service="iam", region="", resource="role", resource_name=self.role_names["data_access"]
        )

    def database_arn(self, domain: str) -> str:
        """ARN of a domain's Glue database."""
        return self._stack.format_arn(service="glue", resource="database", resource_name=domain)

    def grant_put_events(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let a principal of the hub account announce refreshes on the bus."""
        acknowledge_grant(grantee)
        return self.event_bus.grant_put_events_to(grantee)

    def grant_read_deliveries(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the delivery records (SLO checkers): GetItem/Query/Scan and decrypt."""
        acknowledge_grant(grantee)
        return self.delivery_table.grant_read_data(grantee)

    def grant_subscribe(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let a principal of the hub account subscribe to refresh notifications."""
        acknowledge_grant(grantee)
        return iam.Grant.add_to_principal_or_resource(
            grantee=grantee, actions=["sns:Subscribe"], resource_arns=[self.topic.topic_arn], resource=self.topic
        )

    @property
    def event_bus_arn(self) -> str:
        """ARN of the refresh bus (``<prefix>-mesh-refresh``) for the producers' ``PutEvents`` targets."""
        return self._stack.format_arn(
            service="events",
            resource="event-bus",
            resource_name=f"{self.name_prefix}-mesh-refresh",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
