"""``FileMetadataTable``: the DynamoDB table of landed files a batch job reads its work list from (GE MDC's shape)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from .feature_table import FeatureTable

#: The index a job queries for "files of dataset D landed since T".
BY_DATASET_INDEX = "by_dataset_landed_at"


class FileMetadataTable(FeatureTable):
    """One item per landed object, written by the S3-event Lambda, read by the ETL job (GE MDC).

    Items: ``object_uri`` (partition key, ``s3://bucket/key``), ``dataset`` (e.g. the site or source),
    ``landed_at`` (ISO-8601 UTC), plus whatever the writer records (size, etag, schema id, processing status).
    The index ``by_dataset_landed_at`` (``dataset`` + ``landed_at``, all attributes) serves the job's work list
    without a scan and spreads writes over datasets. Items expire through ``expires_at`` (epoch seconds).
    Security defaults are ``FeatureTable``'s (CMK, PITR, contributor insights, deletion protection, retained).

    Example::

        from aws_cdk import App, Environment, Stack
        from aws_cdk import aws_iam as iam

        from meshworks.constructs.features import FileMetadataTable

        app = App()
        stack = Stack(app, "Landing", env=Environment(account="111111111111", region="eu-west-1"))
        landing_role = iam.Role(stack, "Landing", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        glue_role = iam.Role(stack, "GlueJob", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"))
        files = FileMetadataTable(stack, "LandedFiles")
        files.grant_write_data(landing_role)
        files.grant_read_data(glue_role)
        app.synth()

    Args:
        sort_key: a sort key (string), for one item per object *version* (e.g. ``version_id``). Fixed once
            deployed: changing it replaces the table. Default: none (one item per object).
        table_name / point_in_time_recovery_days / encryption_key / tags / removal_policy: as ``FeatureTable``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table_name: str | None = None,
        point_in_time_recovery_days: int = 35,
        encryption_key: kms.IKey | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy | None = None,
        sort_key: str | None = None,
    ) -> None:
        super().__init__(
            scope, construct_id, table_name=table_name, partition_key="object_uri", sort_key=sort_key or False,
            time_to_live_attribute="expires_at", point_in_time_recovery_days=point_in_time_recovery_days,
            encryption_key=encryption_key, tags=tags, removal_policy=removal_policy,
        )
        self.table.add_global_secondary_index(
            index_name=BY_DATASET_INDEX,
            partition_key=dynamodb.Attribute(name="dataset", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="landed_at", type=dynamodb.AttributeType.STRING),
        )
