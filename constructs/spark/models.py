"""Typed Spark settings: job limits, the job catalog with rollout rings, EMR on EC2 scaling and fleets,
and EMR Serverless application defaults.

Everything a person types about Spark goes through these pydantic models (``extra="forbid"``), so that a
bad value fails at ``cdk synth`` with one message that names the field and says how to fix it. Advice
that should not block a deploy is returned by each model's ``warnings()`` method as plain strings.

Lessons from the case studies, and where they live:

* GoDaddy (EMR Serverless migration): jobs are grouped into **rollout rings** 0..7 (:class:`Ring`) and
  **job classes** by step time (:class:`JobClass`: quick <= 20 min, medium 20-60 min, long > 60 min).
  Spark dynamic allocation on EMR Serverless can scale out aggressively, so every job that runs there
  must cap ``spark.dynamicAllocation.maxExecutors`` (:attr:`SparkLimits.max_executors`); shuffle-heavy
  jobs size ``spark.emr-serverless.executor.disk`` (:attr:`SparkLimits.executor_disk`).
* Belcorp (EMR managed scaling): at most 5 cores per executor (more is a *warning*, on either engine),
  and at least one core unit for every six task units (:class:`ManagedScaling`, preset
  :meth:`ManagedScaling.belcorp` = min 3, max 28, On-Demand 6, core 6).
* Paytm: 80 % Spot / 20 % On-Demand capacity (:meth:`InstanceFleetSpec.from_spot_ratio`).

Executor cores: above 5 is a warning (Belcorp) on both engines. On EMR Serverless the executor and driver
cores must also be a worker size (1, 2, 4, 8 or 16 vCPU); another value there is an error, because
EMR Serverless rejects the job run.

Routing document (the contract the Airflow operator reads at run time)
----------------------------------------------------------------------
:meth:`JobCatalog.routing` returns a JSON-serialisable dict; keys are always emitted in sorted order
(jobs by name, Spark settings by key), so the same catalog always produces byte-identical JSON
(:meth:`JobCatalog.routing_json`)::

    {
      "version": 1,                      # ROUTING_DOCUMENT_VERSION; bumped on incompatible changes
      "rollout_ring": 2,                 # rings <= this run on EMR Serverless; -1 = none migrated
      "jobs": {
        "<job name>": {
          "engine": "emr-serverless",    # or "emr-ec2"
          "ring": 1,                     # 0..7, see Ring
          "ring_name": "early-adopters",
          "job_class": "quick",          # quick | medium | long
          "owner": "team-payments",
          "spark_submit_parameters": "--conf spark.dynamicAllocation.maxExecutors=20 ...",
          "spark_defaults": {"spark.dynamicAllocation.maxExecutors": "20", ...}
        }
      }
    }

``spark_submit_parameters`` and ``spark_defaults`` carry the same settings for the engine the job is
routed to: EMR Serverless takes the former as ``jobDriver.sparkSubmit.sparkSubmitParameters``; an
EMR on EC2 step takes the ``--conf`` list or the ``spark-defaults`` classification. The disk setting
``spark.emr-serverless.executor.disk`` is only emitted for EMR Serverless. Entry point and arguments are
not part of the document: they stay in the DAG that owns the job.

Halting or rolling back the migration means lowering ``rollout_ring`` and deploying: every job in a ring
above the new value flips back to ``"emr-ec2"``.

Storage: one SSM parameter per job
----------------------------------
A Standard-tier SSM parameter holds at most 4 KB (Advanced: 8 KB, at a cost per parameter). A catalog
document grows by a few hundred bytes per job and GoDaddy-scale catalogs hold thousands of jobs, so one
document cannot fit. The chosen layout is one Standard parameter per job,
``/<prefix>/spark/jobs/<name>/routing`` (:func:`routing_parameter_name`), whose value is
:meth:`JobCatalog.job_routing` (the job's entry above plus ``version``, ``rollout_ring`` and ``job``).
:meth:`JobCatalog.routing_parameters` builds all of them and refuses any value over 4096 bytes. An
operator reads exactly one small parameter per task, and a job changes only its own parameter.

Example::

    from meshworks.constructs.spark import JobCatalog, SparkJob, SparkLimits

    catalog = JobCatalog(
        rollout_ring=1,
        jobs=[
            SparkJob(
                name="daily_orders",
                job_class="quick",
                ring=1,
                entry_point="s3://my-artifacts/jobs/daily_orders.py",
                owner="team-orders",
                limits=SparkLimits(max_executors=20, executor_disk="50g"),
            )
        ],
    )
    catalog.warnings()                       # advice, never blocking
    catalog.routing_parameters("meshworks")  # {"/meshworks/spark/jobs/daily_orders/routing": "{...}"}
"""

from __future__ import annotations

# One module per concern (model_constants, enums, job_catalog, instance_fleets, serverless_defaults); this module
# keeps the public import path and every name it had.
from .enums import (  # noqa: F401 - re-exported
    Architecture,
    Engine,
    JobClass,
    OnDemandAllocationStrategy,
    Ring,
    ScalingUnitType,
    SpotAllocationStrategy,
    SpotTimeoutAction,
)
from .instance_fleets import (  # noqa: F401 - re-exported
    DEFAULT_GRAVITON_INSTANCE_TYPES,
    MAX_FLEET_TYPES_WITH_STRATEGY,
    MAX_FLEET_TYPES_WITHOUT_STRATEGY,
    InstanceFleetSpec,
    InstanceTypeWeight,
    ManagedScaling,
)
from .job_catalog import (  # noqa: F401 - re-exported
    JobCatalog,
    SparkJob,
    SparkLimits,
    routing_parameter_name,
)

# The models live in one module per concern; this module keeps the public import path (and every name it had).
from .model_constants import (  # noqa: F401 - re-exported
    DEFAULT_EMR_SERVERLESS_RELEASE,
    MAX_EXECUTOR_CORES_ADVISED,
    ROUTING_DOCUMENT_VERSION,
    SERVERLESS_WORKER_VCPUS,
    SSM_STANDARD_VALUE_LIMIT_BYTES,
    TASK_UNITS_PER_CORE_UNIT,
)
from .serverless_defaults import (  # noqa: F401 - re-exported
    EmrServerlessDefaults,
    ServerlessMaximumCapacity,
)

__all__ = [
    "DEFAULT_EMR_SERVERLESS_RELEASE",
    "DEFAULT_GRAVITON_INSTANCE_TYPES",
    "MAX_EXECUTOR_CORES_ADVISED",
    "ROUTING_DOCUMENT_VERSION",
    "SERVERLESS_WORKER_VCPUS",
    "SSM_STANDARD_VALUE_LIMIT_BYTES",
    "Architecture",
    "EmrServerlessDefaults",
    "Engine",
    "InstanceFleetSpec",
    "InstanceTypeWeight",
    "JobCatalog",
    "JobClass",
    "ManagedScaling",
    "OnDemandAllocationStrategy",
    "Ring",
    "ScalingUnitType",
    "ServerlessMaximumCapacity",
    "SparkJob",
    "SparkLimits",
    "SpotAllocationStrategy",
    "SpotTimeoutAction",
    "routing_parameter_name",
]

