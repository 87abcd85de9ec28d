"""``JobRollout``: publishes the job catalog's routing (which engine runs which job) for the orchestration layer."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ..core.inputs import string_list
from ..core.nag import acknowledge_grant, arn
from ..core.renamed import renamed_arguments
from ._checks import annotate_warnings, fail
from .models import ROUTING_DOCUMENT_VERSION, SSM_STANDARD_VALUE_LIMIT_BYTES, JobCatalog, routing_parameter_name


def rollout_parameter_name(prefix: str) -> str:
    """Name of the rollout index parameter: ``/<prefix>/spark/rollout``."""
    job_parameter = routing_parameter_name(prefix, "x")
    return job_parameter[: -len("/jobs/x/routing")] + "/rollout"


class JobRollout(Construct):
    """The ring-based rollout of Spark jobs from EMR on EC2 to EMR Serverless, as SSM parameters.

    **Contract** (read at run time by the orchestration layer, e.g. an Airflow operator; version
    ``ROUTING_DOCUMENT_VERSION``):

    * ``/<prefix>/spark/jobs/<job>/routing`` - one Standard parameter per job, compact JSON::

          {"version": 1, "rollout_ring": 2, "job": "daily_orders", "engine": "emr-serverless",
           "ring": 1, "ring_name": "early-adopters", "job_class": "quick", "owner": "team-orders",
           "spark_defaults": {"spark.dynamicAllocation.maxExecutors": "20", ...},
           "spark_submit_parameters": "--conf spark.dynamicAllocation.maxExecutors=20 ..."}

      ``engine`` is ``emr-serverless`` when ``ring <= rollout_ring``, else ``emr-ec2``. On EMR Serverless the
      operator submits ``spark_submit_parameters`` as ``jobDriver.sparkSubmit.sparkSubmitParameters`` (or starts
      the ``SparkJobRunner`` state machine with it); on EMR on EC2 it adds the ``--conf`` list to the step's
      ``spark-submit`` arguments (or the ``spark_defaults`` as the ``spark-defaults`` classification).
    * ``/<prefix>/spark/rollout`` - the index: ``{"version", "rollout_ring", "jobs": <count>, "targets": {...}}``
      where ``targets`` says where each engine runs: ``emr-serverless`` ``{application_id, execution_role_arn,
      state_machine_arn?}`` and ``emr-ec2`` ``{job_flow_overrides_parameter?, cluster_id?}`` (whichever were given).

    The operator reads the job's parameter for every task run (one ``ssm:GetParameter``), so a deploy that
    lowers ``rollout_ring`` halts or rolls back the migration at the next run, with no DAG change. Values are
    written at deploy time only; nothing writes them at run time. Unknown fields must be ignored by readers;
    an incompatible change bumps ``version``.

    Example::

        from aws_cdk import App, Stack
        from aws_cdk import aws_iam as iam

        from meshworks.constructs.core import PlatformKey
        from meshworks.constructs.network import PlatformVpc
        from meshworks.constructs.spark import EmrServerlessApplication, JobCatalog, JobRollout, SparkJob, SparkJobRole, SparkLimits
        from meshworks.constructs.storage import DataLakeStorage, SecureBucket

        app = App()
        stack = Stack(app, "Spark")
        key = PlatformKey(stack, "Key")
        network = PlatformVpc(stack, "Network")
        lake = DataLakeStorage(stack, "Lake", encryption_key=key)
        logs_bucket = SecureBucket(stack, "Logs", encryption_key=key)
        airflow_role = iam.Role(stack, "Airflow", assumed_by=iam.ServicePrincipal("airflow-env.amazonaws.com"))

        catalog = JobCatalog(rollout_ring=1, jobs=[
            SparkJob(name="daily_orders", job_class="quick", ring=0, owner="team-orders",
                     entry_point="s3://acme-artifacts/jobs/daily_orders.py", limits=SparkLimits(max_executors=20)),
        ])
        spark = EmrServerlessApplication(stack, "Spark", vpc=network.vpc)
        job_role = SparkJobRole(stack, "JobRole", lake=lake, read_zones=["raw"], applications=[spark])
        rollout = JobRollout(stack, "Rollout", catalog=catalog, name_prefix="acme",
                             serverless_target={"application_id": spark.application_id,
                                                "execution_role_arn": job_role.role_arn})
        rollout.grant_read(airflow_role)
        app.synth()

    Args:
        catalog: the job catalog (validated model: rings, limits, unique names).
        name_prefix: first segment(s) of the parameter names, e.g. ``"acme"`` or ``"acme/prod"``.
        serverless_target: where EMR Serverless jobs go (published in the index). Default: none.
        ec2_target: where EMR on EC2 jobs go (published in the index). Default: none.
        jobs: publish the parameters of these jobs only (the rest live in other stacks: a stack holds at
            most 500 resources, so a large catalog spreads its job parameters, see ``SparkRoutingStack``).
            Default: every job of the catalog.
        index: publish the index parameter here. Default: True.
    """

    @renamed_arguments("JobRollout", prefix="name_prefix")
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        catalog: JobCatalog,
        name_prefix: str,
        serverless_target: Mapping[str, str] | None = None,
        ec2_target: Mapping[str, str] | None = None,
        jobs: Sequence[str] | None = None,
        index: bool = True,
    ) -> None:
        owner = type(self).__name__
        jobs = None if jobs is None else string_list(owner, "jobs", jobs, example='orders-daily')
        if not isinstance(catalog, JobCatalog):
            raise fail(owner, f"catalog must be a JobCatalog, got {type(catalog).__name__}")
        try:
            values = catalog.routing_parameters(name_prefix)
            index_name = rollout_parameter_name(name_prefix)
        except ValueError as error:
            raise fail(owner, str(error)) from None
        super().__init__(scope, construct_id)
        self.catalog = catalog
        self.name_prefix = name_prefix
        #: Deprecated alias of ``name_prefix`` (kept for one release).
        self.prefix = name_prefix
        #: One parameter per job, by job name.
        self.job_parameters: dict[str, ssm.StringParameter] = {}
        selected = None if jobs is None else set(jobs)
        unknown = sorted((selected or set()) - {job.name for job in catalog.jobs})
        if unknown:
            raise fail(owner, f"jobs {unknown} are not in the catalog")
        for name, value in values.items():
            job = json.loads(value)["job"]
            if selected is not None and job not in selected:
                continue
            self.job_parameters[job] = ssm.StringParameter(
                self,
                f"Route-{job}",
                parameter_name=name,
                string_value=value,
                tier=ssm.ParameterTier.STANDARD,
                description=f"meshworks Spark routing of job {job} (engine, ring, Spark settings)",
            )
        #: The index parameter ``/<prefix>/spark/rollout`` (``None`` with ``index=False``).
        self.index_parameter: ssm.StringParameter | None = None
        if index:
            self._add_index(owner, index_name, serverless_target, ec2_target)
        annotate_warnings(self, catalog.warnings(), "SparkCatalog")

    def _add_index(
        self, owner: str, index_name: str, serverless_target: Mapping[str, str] | None,
        ec2_target: Mapping[str, str] | None,
    ) -> None:  # fmt: skip
        targets: dict[str, Any] = {}
        if serverless_target:
            targets["emr-serverless"] = dict(sorted(serverless_target.items()))
        if ec2_target:
            targets["emr-ec2"] = dict(sorted(ec2_target.items()))
        index = {
            "version": ROUTING_DOCUMENT_VERSION,
            "rollout_ring": self.catalog.rollout_ring,
            "jobs": len(self.catalog.jobs),
            "targets": targets,
        }
        index_value = json.dumps(index, sort_keys=True, separators=(",", ":"))
        if len(index_value.encode()) > SSM_STANDARD_VALUE_LIMIT_BYTES:
            raise fail(owner, f"the rollout index is over {SSM_STANDARD_VALUE_LIMIT_BYTES} bytes: shorten the targets")
        self.index_parameter = ssm.StringParameter(
            self,
            "Index",
            parameter_name=index_name,
            string_value=index_value,
            tier=ssm.ParameterTier.STANDARD,
            description="meshworks Spark rollout: ring reached and engine targets",
        )

    def parameter_name(self, job: str) -> str:
        """The SSM parameter name of one job's routing."""
        if job not in self.job_parameters:
            raise KeyError(f"no Spark job named {job!r} in the catalog")
        return routing_parameter_name(self.prefix, job)

    @staticmethod
    def grant_read_routing(grantee: iam.IGrantable, scope: Construct, prefix: str) -> iam.Grant:
        """``ssm:GetParameter`` on every routing parameter under ``/<prefix>/spark/`` (the index and each job's),
        by name, for a reader in another stack or app than the ``JobRollout`` (e.g. an MWAA execution role, whose
        drop-in EMR operator reads the routing at run time). Adds no dependency on the Spark stack.

        Args:
            scope: any construct of the grantee's stack (its account and region name the parameters).
            prefix: the ``JobRollout``'s prefix, e.g. ``"acme"``.
        """
        name = rollout_parameter_name(prefix).rsplit("/", 1)[0].lstrip("/")  # "<prefix>/spark"
        stack = Stack.of(scope)
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["ssm:GetParameter", "ssm:GetParameters"],
            resource_arns=[stack.format_arn(service="ssm", resource="parameter", resource_name=f"{name}/*")],
        )
        acknowledge_grant(
            grantee,
            [
                (
                    r"Resource::" + arn("ssm", r"parameter/[A-Za-z0-9_./-]+/spark/\*"),
                    "The Spark routing parameters (one per job, created as the job catalog grows) under one prefix.",
                )
            ],
        )
        return grant

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """``ssm:GetParameter(s)`` on the index and every job's parameter (explicit ARNs, no wildcard)."""
        if self.index_parameter is not None:
            self.index_parameter.grant_read(grantee)
        for parameter in self.job_parameters.values():
            parameter.grant_read(grantee)
        acknowledge_grant(grantee)
