"""``DataLakeStorage``: raw / stage / curated / backup zones (GE Aviation's layout) under one key."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..core.inputs import Choice, whole_duration
from ..core.platform_key import PlatformKey
from ..core.renamed import renamed_arguments
from .access_logs_bucket import AccessLogsBucket
from .secure_bucket import SecureBucket


class Zone(Choice):
    """The data-lake zones, in the order data flows through them."""

    RAW = "raw"
    STAGE = "stage"
    CURATED = "curated"
    BACKUP = "backup"


class DataLakeStorage(Construct):
    """Four ``SecureBucket`` zones sharing one rotating KMS key and one access-log bucket.

    Lifecycle defaults: raw moves to Infrequent Access after 30 days and Glacier Instant Retrieval
    after 90; stage objects expire after 30 days (intermediate data); curated moves to IA after
    90 days; backup goes to Glacier Flexible Retrieval after 1 day.

    Example::

        from aws_cdk import App, Stack
        from aws_cdk import aws_iam as iam

        from meshworks.constructs.storage import DataLakeStorage, Zone

        app = App()
        stack = Stack(app, "Lake")
        analyst_role = iam.Role(stack, "Analyst", assumed_by=iam.AccountRootPrincipal())
        ingest_role = iam.Role(stack, "Ingest", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"))
        lake = DataLakeStorage(stack, "Lake", name_prefix="acme-data")
        lake.grant_read(Zone.CURATED, analyst_role)
        lake.grant_write(Zone.RAW, ingest_role)
        app.synth()

    Args:
        name_prefix: when set, buckets are named ``<prefix>-<zone>`` (deterministic names
            that other accounts can refer to). Default: generated names.
        encryption_key: Default: a new ``PlatformKey`` (``self.key``).
        stage_expiration: Default: 30 days.
        removal_policy: Default: RETAIN (DESTROY needs ``@meshworks/removeDataOnDestroy``).
    """

    @renamed_arguments("DataLakeStorage", bucket_name_prefix="name_prefix")
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str | None = None,
        encryption_key: kms.IKey | None = None,
        stage_expiration: Duration = Duration.days(30),
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        whole_duration("DataLakeStorage", "stage_expiration", stage_expiration, "days", minimum=1)
        super().__init__(scope, construct_id)
        self.key: kms.IKey = encryption_key or PlatformKey(self, "Key", description="meshworks data lake key")
        self.access_logs_bucket = AccessLogsBucket(self, "AccessLogs", removal_policy=removal_policy)
        ia, glacier_ir, glacier = (
            s3.StorageClass.INFREQUENT_ACCESS,
            s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
            s3.StorageClass.GLACIER,
        )
        rules: dict[Zone, list[s3.LifecycleRule]] = {
            Zone.RAW: [
                s3.LifecycleRule(
                    id="raw-tiering",
                    transitions=[
                        s3.Transition(storage_class=ia, transition_after=Duration.days(30)),
                        s3.Transition(storage_class=glacier_ir, transition_after=Duration.days(90)),
                    ],
                )
            ],
            Zone.STAGE: [s3.LifecycleRule(id="stage-expiry", expiration=stage_expiration)],
            Zone.CURATED: [
                s3.LifecycleRule(
                    id="curated-tiering",
                    transitions=[s3.Transition(storage_class=ia, transition_after=Duration.days(90))],
                )
            ],
            Zone.BACKUP: [
                s3.LifecycleRule(
                    id="backup-archive",
                    transitions=[s3.Transition(storage_class=glacier, transition_after=Duration.days(1))],
                )
            ],
        }
        self.buckets: dict[Zone, SecureBucket] = {
            zone: SecureBucket(
                self,
                zone.value.capitalize(),
                bucket_name=f"{name_prefix}-{zone.value}" if name_prefix else None,
                encryption_key=self.key,
                server_access_logs_bucket=self.access_logs_bucket,
                server_access_logs_prefix=f"{zone.value}/",
                lifecycle_rules=rules[zone],
                removal_policy=removal_policy,
            )
            for zone in Zone
        }

    def bucket(self, zone: Zone | str) -> SecureBucket:
        """The bucket of one zone."""
        return self.buckets[Zone(zone)]

    def grant_read(self, zone: Zone | str, grantee: iam.IGrantable, objects_key_pattern: str = "*") -> iam.Grant:
        """Read objects of one zone (and decrypt them with the lake key)."""
        return self.bucket(zone).grant_read(grantee, objects_key_pattern)

    def grant_write(self, zone: Zone | str, grantee: iam.IGrantable, objects_key_pattern: str = "*") -> iam.Grant:
        """Write objects into one zone (and encrypt them with the lake key); no delete."""
        return self.bucket(zone).grant_put(grantee, objects_key_pattern)

    def grant_read_write(
        self, zone: Zone | str, grantee: iam.IGrantable, objects_key_pattern: str = "*"
    ) -> iam.Grant:
        """Read, write and delete objects of one zone."""
        return self.bucket(zone).grant_read_write(grantee, objects_key_pattern)
