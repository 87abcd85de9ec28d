"""``SparkJobRole``: the least-privilege runtime role of Spark jobs (EMR Serverless by default)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..core.inputs import object_list, string_list
from ..core.nag import BUCKET_OBJECTS, CDK_GRANT_ACTIONS, Rule, acknowledge_grant, acknowledge_policies, arn
from ..storage.data_lake_storage import DataLakeStorage, Zone
from ._checks import check_role_name, fail

#: Glue Data Catalog actions a Spark job needs to read tables (Hive metastore client calls).
GLUE_READ_ACTIONS = (
    "glue:GetDatabase",
    "glue:GetDatabases",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetTableVersions",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
    "glue:GetUserDefinedFunction",
    "glue:GetUserDefinedFunctions",
)
#: Extra actions to create and change tables and partitions.
GLUE_WRITE_ACTIONS = (
    "glue:CreateTable",
    "glue:UpdateTable",
    "glue:CreatePartition",
    "glue:BatchCreatePartition",
    "glue:UpdatePartition",
    "glue:BatchUpdatePartition",
    "glue:DeletePartition",
    "glue:BatchDeletePartition",
)

#: Tables and functions inside the listed Glue databases.
GLUE_TABLES: Rule = (
    r"Resource::" + arn("glue", r"(table|userDefinedFunction)/[a-z0-9_]+/\*"),
    "Tables and functions inside one Glue database the role was given; tables are created by the jobs.",
)
#: ``logs:DescribeLogGroups`` (EMR Serverless looks up the log group with the job's role).
LOG_GROUP_LISTING: Rule = (
    r"Resource::" + arn("logs", r"log-group:\*"),
    "DescribeLogGroups is a list call EMR Serverless makes with the job role to find the log group; "
    "it has no narrower resource.",
)

_GLUE_DATABASE = re.compile(r"^[a-z0-9_]{1,255}$")
_SERVICE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com$")


class SparkJobRole(Construct):
    """A job runtime role that reads and writes only the data it is given.

    Trust: ``emr-serverless.amazonaws.com`` restricted to this account's applications
    (``aws:SourceAccount`` and ``aws:SourceArn`` conditions against the confused deputy), or any principal
    you pass as ``assumed_by`` (an IRSA web identity for EMR on EKS, ``ec2.amazonaws.com`` for an EMR
    instance profile). Permissions: S3 object access to the listed data-lake zones only (through
    ``DataLakeStorage.grant_*``, which also grants the lake key), Glue Data Catalog access scoped to the
    listed databases and their tables, extra read-only buckets (job code, jars), and log delivery to the
    given EMR Serverless applications. No managed policies, no ``*`` actions.

    Example::

        from aws_cdk import App, Stack
        from aws_cdk import aws_iam as iam

        from meshworks.constructs.core import PlatformKey
        from meshworks.constructs.network import PlatformVpc
        from meshworks.constructs.spark import EmrServerlessApplication, SparkJobRole
        from meshworks.constructs.storage import DataLakeStorage, SecureBucket

        app = App()
        stack = Stack(app, "Spark")
        key = PlatformKey(stack, "Key")
        network = PlatformVpc(stack, "Network")
        lake = DataLakeStorage(stack, "Lake", encryption_key=key)
        logs_bucket = SecureBucket(stack, "Logs", encryption_key=key)
        airflow_role = iam.Role(stack, "Airflow", assumed_by=iam.ServicePrincipal("airflow-env.amazonaws.com"))

        spark = EmrServerlessApplication(stack, "Spark", vpc=network.vpc)
        artifacts = SecureBucket(stack, "Artifacts", encryption_key=key)
        role = SparkJobRole(stack, "OrdersJobs", lake=lake, read_zones=["raw"], write_zones=["curated"],
                            glue_databases=["sales"], glue_write_databases=["sales_curated"],
                            code_buckets=[artifacts], applications=[spark])
        role.grant_start_job_run(airflow_role, spark)   # iam:PassRole only towards EMR Serverless
        app.synth()

    Args:
        lake: the data lake whose zones the jobs use. Default: none (no data access).
        read_zones: zones read (objects only). Default: none.
        write_zones: zones written without delete (append-only outputs). Default: none.
        read_write_zones: zones read, written and overwritten (delete allowed). Default: none.
        glue_databases: Glue databases whose tables are read. Default: none.
        glue_write_databases: Glue databases whose tables and partitions are also created/updated. Default: none.
        code_buckets: buckets the job code and dependencies are read from. Default: none.
        applications: EMR Serverless applications whose logs this role writes
            (``EmrServerlessApplication.grant_log_delivery``). Default: none.
        extra_keys: other KMS keys the jobs decrypt with (e.g. of a shared source). Default: none.
        assumed_by: who assumes the role. Default: EMR Serverless of this account.
        passed_to_service: the service ``iam:PassRole`` is limited to. Default: ``emr-serverless.amazonaws.com``.
        role_name: Default: generated.
        description: Default: generated from the construct path.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        lake: DataLakeStorage | None = None,
        read_zones: Sequence[Zone | str] = (),
        write_zones: Sequence[Zone | str] = (),
        read_write_zones: Sequence[Zone | str] = (),
        glue_databases: Sequence[str] = (),
        glue_write_databases: Sequence[str] = (),
        code_buckets: Sequence[s3.IBucket] = (),
        applications: Sequence = (),
        extra_keys: Sequence[kms.IKey] = (),
        assumed_by: iam.IPrincipal | None = None,
        passed_to_service: str = "emr-serverless.amazonaws.com",
        role_name: str | None = None,
        description: str | None = None,
    ) -> None:
        owner = type(self).__name__
        read_zones = string_list(owner, "read_zones", read_zones, example='raw')
        code_buckets = object_list(owner, "code_buckets", code_buckets, kind="s3.IBucket objects")
        extra_keys = object_list(owner, "extra_keys", extra_keys, kind="kms.IKey objects")
        write_zones = string_list(owner, "write_zones", write_zones, example='curated')
        read_write_zones = string_list(owner, "read_write_zones", read_write_zones, example='stage')
        glue_databases = string_list(owner, "glue_databases", glue_databases, example='sales')
        glue_write_databases = string_list(owner, "glue_write_databases", glue_write_databases, example='sales_curated')
        zones = {"read_zones": read_zones, "write_zones": write_zones, "read_write_zones": read_write_zones}
        valid = {zone.value for zone in Zone}
        for field, values in zones.items():
            for zone in values:
                if str(getattr(zone, "value", zone)) not in valid:
                    raise fail(owner, f"{field} entry {zone!r} is not a data-lake zone: use one of {', '.join(sorted(valid))}")
            if values and lake is None:
                raise fail(owner, f"{field} is set but no lake is given: pass lake=DataLakeStorage(...)")
        for field, names in {"glue_databases": glue_databases, "glue_write_databases": glue_write_databases}.items():
            for database in names:
                if not isinstance(database, str) or not _GLUE_DATABASE.match(database):
                    raise fail(owner, f"{field} entry {database!r} is not a Glue database name: use lower-case letters, digits and '_', e.g. 'sales_curated'")
        if not _SERVICE.match(passed_to_service):
            raise fail(owner, f"passed_to_service {passed_to_service!r} is not a service principal, e.g. 'emr-serverless.amazonaws.com'")
        if role_name is not None:
            check_role_name(owner, "role_name", role_name)
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        principal = assumed_by or iam.ServicePrincipal(
            "emr-serverless.amazonaws.com",
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:emr-serverless:{stack.region}:{stack.account}:/applications/*"},
            },
        )
        #: The role (pass ``role.role_arn`` as the job's execution role).
        self.role = iam.Role(
            self, "Role", assumed_by=principal, role_name=role_name,
            description=description or f"Spark job runtime role {self.node.path}",
        )
        self.passed_to_service = passed_to_service
        self.lake = lake
        if lake is not None:
            for zone in read_zones:
                lake.grant_read(zone, self.role)
            for zone in write_zones:
                lake.grant_write(zone, self.role)
            for zone in read_write_zones:
                lake.grant_read_write(zone, self.role)
        for bucket in code_buckets:
            bucket.grant_read(self.role)
        for key in extra_keys:
            key.grant_decrypt(self.role)
        self._grant_glue(stack, list(glue_databases), list(glue_write_databases))
        for application in applications:
            application.grant_log_delivery(self.role)
        self._acknowledge()

    def _grant_glue(self, stack: Stack, read: list[str], write: list[str]) -> None:
        databases = sorted(set(read) | set(write))
        if not databases:
            return

        def arns(names: list[str]) -> list[str]:
            result = [stack.format_arn(service="glue", resource="catalog")]
            for name in names:
                result += [
                    stack.format_arn(service="glue", resource="database", resource_name=name),
                    stack.format_arn(service="glue", resource="table", resource_name=f"{name}/*"),
                    stack.format_arn(service="glue", resource="userDefinedFunction", resource_name=f"{name}/*"),
                ]
            return result

        self.role.add_to_principal_policy(
            iam.PolicyStatement(sid="GlueCatalogRead", actions=list(GLUE_READ_ACTIONS), resources=arns(databases))
        )
        if write:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(sid="GlueCatalogWrite", actions=list(GLUE_WRITE_ACTIONS), resources=arns(sorted(set(write))))
            )

    def _acknowledge(self) -> None:
        acknowledge_policies(
            self,
            [CDK_GRANT_ACTIONS, BUCKET_OBJECTS, GLUE_TABLES, LOG_GROUP_LISTING],
            extra={
                "NIST.800.53.R5-IAMNoInlinePolicy": "The role serves one set of Spark jobs; its inline policy is "
                "generated by grant_* calls scoped to the exact data it may use.",
            },
        )

    # ------------------------------------------------------------------------------------------------
    @property
    def role_arn(self) -> str:
        """The role's ARN (the job's ``executionRoleArn``)."""
        return self.role.role_arn

    def grant_pass_role(self, principal: iam.IGrantable) -> iam.Grant:
        """``iam:PassRole`` on this role, only towards ``passed_to_service`` (``iam:PassedToService``)."""
        grant = iam.Grant.add_to_principal(
            grantee=principal,
            actions=["iam:PassRole"],
            resource_arns=[self.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": self.passed_to_service}},
        )
        acknowledge_grant(principal)
        return grant

    def grant_start_job_run(self, principal: iam.IGrantable, application=None) -> iam.Grant:
        """Let ``principal`` run jobs as this role: ``iam:PassRole`` conditioned on the service and, when
        an ``EmrServerlessApplication`` is given, start/get/cancel its job runs and use its log key."""
        grant = self.grant_pass_role(principal)
        if application is not None:
            application.grant_start_job_run(principal)
        return grant
