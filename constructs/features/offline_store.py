"""``OfflineStore``: the offline copy of a feature table, a Delta table in a data-lake zone registered in Glue.

The Glue table is a native Delta Lake table (``table_type=DELTA``, ``spark.sql.sources.provider=delta``, the
columns declared, no Glue partitions: Delta keeps them in its log), the form the mesh's ``delta`` contracts use
(``mesh.table_format``) and Athena reads from the Delta log. Its columns come from the Keyspaces schema
(``offline_schema``), so the online and offline stores cannot drift apart; the Delta table adds the partition
column the feature job writes (``feature_date``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aws_cdk import RemovalPolicy, Stack, Token
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..core.nag import BUCKET_OBJECTS, CDK_GRANT_ACTIONS, acknowledge_grant
from ..core.removal import resolve_removal_policy
from .keyspaces_schema import KeyspacesTableSchema
from .offline_schema import (
    DEFAULT_PARTITION_COLUMN,
    offline_columns,
    offline_description,
    offline_prefix,
    offline_product_input,
)

if TYPE_CHECKING:
    from ..mesh.contract import DataProductContract

#: Glue actions to read the table's definition (Athena, Spark's Glue catalog client, the feature job's check).
GLUE_TABLE_READ_ACTIONS = ("glue:GetDatabase", "glue:GetTable")
_GLUE_NAME = r"^[a-z0-9_]{1,255}$"
_PREFIX = r"^([A-Za-z0-9!_.'()=+-]+/)+$"


class OfflineStore(Construct):
    """A Delta table of feature rows under ``s3://<bucket>/<prefix>``, registered in the Glue Data Catalog.

    Example::

        from pathlib import Path

        from aws_cdk import App, Stack
        from aws_cdk import aws_iam as iam

        from meshworks.constructs.features import KeyspacesTableSchema, OfflineStore
        from meshworks.constructs.storage import DataLakeStorage, Zone

        app = App()
        stack = Stack(app, "Features")
        schema = KeyspacesTableSchema.from_cql(Path("schemas/features/customer_features.cql").read_text())
        lake = DataLakeStorage(stack, "Lake")
        offline = OfflineStore(stack, "Offline", schema=schema, bucket=lake.bucket(Zone.CURATED),
                               database_name="features")
        job_role = iam.Role(stack, "JobRole", assumed_by=iam.ServicePrincipal("emr-serverless.amazonaws.com"))
        analyst_role = iam.Role(stack, "Analyst", assumed_by=iam.AccountRootPrincipal())
        offline.grant_write_data(job_role)      # the feature job
        offline.grant_read_data(analyst_role)   # Athena / Spark readers
        app.synth()

    Args:
        schema: the feature table's Keyspaces schema (its columns become the Delta table's).
        bucket: the data-lake zone (e.g. ``DataLakeStorage.bucket(Zone.CURATED)``, a ``SecureBucket``).
        database_name: Glue database of the table (lower-case letters, digits, ``_``).
        table_name: Default: the Keyspaces table's name.
        prefix: folder of the Delta table in the bucket, ending in ``/``. Default: ``features/<table_name>/``.
        partition_column: the Delta partition column (``date``) the job adds. Default: ``feature_date``.
        create_database: create the Glue database (False: it exists already). Default: True.
        description: Default: generated from the Keyspaces table's name.
        removal_policy: of the Glue database and table. Default: RETAIN (``core.removal``).

    Raises:
        ValueError: a bad name or prefix, a partition column that is a Keyspaces column, a CQL type
            without a Glue type (one message naming the construct, the argument, the value and the fix).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        schema: KeyspacesTableSchema,
        bucket: s3.IBucket,
        database_name: str,
        table_name: str | None = None,
        prefix: str | None = None,
        partition_column: str = DEFAULT_PARTITION_COLUMN,
        create_database: bool = True,
        description: str | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        where = f"OfflineStore {self.node.path}"
        if not isinstance(schema, KeyspacesTableSchema):
            raise ValueError(f"{where}: schema={type(schema).__name__}: give a KeyspacesTableSchema, e.g. "
                             "KeyspacesTableSchema.from_cql(Path('schemas/features/customer_features.cql').read_text())")
        if not hasattr(bucket, "bucket_name"):
            raise ValueError(f"{where}: bucket={bucket!r}: give a bucket (s3.IBucket, e.g. "
                             "DataLakeStorage.bucket(Zone.CURATED) or a SecureBucket)")
        table_name = table_name or schema.table
        prefix = prefix if prefix is not None else offline_prefix(table_name)
        for name, value in (("database_name", database_name), ("table_name", table_name),
                            ("partition_column", partition_column)):
            if not isinstance(value, str) or not re.fullmatch(_GLUE_NAME, value):
                raise ValueError(f"{where}: {name}={value!r} is not a Glue name: use lower-case letters, digits "
                                 "and '_', e.g. 'customer_features'")
        if not re.fullmatch(_PREFIX, prefix):
            raise ValueError(f"{where}: prefix={prefix!r} must be a folder without a leading '/' and with a "
                             "trailing '/', e.g. 'features/customer_features/'")
        try:
            self.columns = offline_columns(schema, partition_column)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        self.schema = schema
        self.bucket = bucket
        self.prefix = prefix
        self.database_name = database_name
        self.table_name = table_name
        self.partition_column = partition_column
        #: ``s3://<bucket>/<prefix>``: where the job writes the Delta table.
        self.location = f"s3://{bucket.bucket_name}/{prefix}"
        policy = resolve_removal_policy(self, removal_policy, "Resource")
        stack = Stack.of(self)
        self.description = description or offline_description(schema, partition_column)

        self.database: glue.CfnDatabase | None = None
        if create_database:
            self.database = glue.CfnDatabase(
                self, "Database", catalog_id=stack.account,
                database_input=glue.CfnDatabase.DatabaseInputProperty(
                    name=database_name, description="meshworks offline feature store"
                ),
            )
            self.database.apply_removal_policy(policy)
        self.table = glue.CfnTable(
            self, "Resource", catalog_id=stack.account, database_name=database_name,
            table_input=_table_input_property(self.table_input()),
        )
        self.table.apply_removal_policy(policy)
        if self.database is not None:
            self.table.node.add_dependency(self.database)
        self._catalog_arns = [
            stack.format_arn(service="glue", resource="catalog"),
            stack.format_arn(service="glue", resource="database", resource_name=database_name),
            stack.format_arn(service="glue", resource="table", resource_name=f"{database_name}/{table_name}"),
        ]

    def table_input(self) -> dict[str, Any]:
        """The Glue ``TableInput`` (CloudFormation casing) of the native Delta table."""
        return {
            "Name": self.table_name,
            "Description": self.description,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {
                "EXTERNAL": "TRUE",
                "table_type": "DELTA",
                "spark.sql.sources.provider": "delta",
                "meshworks.partition_keys": self.partition_column,
                "meshworks.keyspaces_table": f"{self.schema.keyspace}.{self.schema.table}",
            },
            "StorageDescriptor": {
                "Location": self.location,
                "Columns": [{"Name": name, "Type": kind} for name, kind in self.columns],
            },
        }

    # ------------------------------------------------------------------------------------------ grants

    def grant_write_data(self, grantee: iam.IGrantable) -> iam.Grant:
        """Write the Delta table: read, write and delete objects under ``prefix`` only (Delta reads its log before
        a commit and deletes expired log files at checkpoints; ``replaceWhere`` overwrites are logical) with the
        bucket's key, and read the table's Glue definition (catalog, database, table)."""
        grant = self.bucket.grant_read_write(grantee, f"{self.prefix}*")
        self._grant_catalog(grantee)
        return grant

    def grant_read_data(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the Delta table: objects under ``prefix`` (with the bucket's key) and its Glue definition."""
        grant = self.bucket.grant_read(grantee, f"{self.prefix}*")
        self._grant_catalog(grantee)
        return grant

    def _grant_catalog(self, grantee: iam.IGrantable) -> None:
        iam.Grant.add_to_principal(grantee=grantee, actions=list(GLUE_TABLE_READ_ACTIONS), resource_arns=self._catalog_arns)
        acknowledge_grant(grantee, [CDK_GRANT_ACTIONS, BUCKET_OBJECTS])

    # ------------------------------------------------------------------------------------------ mesh

    def data_product_contract(
        self,
        *,
        domain: str,
        owner: str,
        contact: Mapping[str, str],
        slo: Mapping[str, Any],
        classification: str,
        description: str | None = None,
        consumers: Sequence[str] = (),
        tags: Mapping[str, str] | None = None,
        column_descriptions: Mapping[str, str] | None = None,
    ) -> DataProductContract:
        """The mesh contract (``DataProductContract``, format ``delta``) that shares this table as a data product.

        Commit ``contract.model_dump(mode="json", exclude_defaults=True)`` as YAML under the mesh's contracts folder
        (``contracts/<domain>/<table>.yaml``) and run ``meshworks shards``: the hub reviews it like any producer's
        contract (domain, location and consumers must be allowed by the platform's configuration).

        Raises:
            ValueError: the bucket's name is only known at deploy time (give a bucket with a literal name), or
                the contract is invalid (the mesh's message, naming the field).
        """
        from pydantic import ValidationError

        from ..mesh.contract import DataProductContract

        where = f"OfflineStore {self.node.path}"
        if Token.is_unresolved(self.bucket.bucket_name):
            raise ValueError(f"{where}: the bucket's name is resolved at deploy time, but a contract names its "
                             "location: pass a bucket with a literal name (e.g. DataLakeStorage(name_prefix=...))")
        data = offline_product_input(
            self.schema, location=self.location, table_name=self.table_name, partition_column=self.partition_column,
            description=description or self.description, column_descriptions=column_descriptions, domain=domain,
            owner=owner, contact=dict(contact), slo=dict(slo), consumers=list(consumers),
            classification=classification, tags=dict(tags or {}),
        )
        try:
            return DataProductContract.model_validate(data)
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
            raise ValueError(f"{where}: data product contract: {problems}") from None


def _table_input_property(spec: dict[str, Any]) -> glue.CfnTable.TableInputProperty:
    """The L1 struct of :meth:`OfflineStore.table_input` (a plain dict would render as an empty ``TableInput``)."""
    descriptor = spec["StorageDescriptor"]
    return glue.CfnTable.TableInputProperty(
        name=spec["Name"],
        description=spec["Description"],
        table_type=spec["TableType"],
        parameters=spec["Parameters"],
        storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
            location=descriptor["Location"],
            columns=[glue.CfnTable.ColumnProperty(name=c["Name"], type=c["Type"]) for c in descriptor["Columns"]],
        ),
    )
