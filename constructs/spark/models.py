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

import json
import re
from enum import IntEnum
from typing import Any

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from meshworks.constructs.core.inputs import Choice, UserModel

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

#: Version of the routing document (see the module docstring).
ROUTING_DOCUMENT_VERSION = 1
#: Largest value of a Standard-tier SSM parameter.
SSM_STANDARD_VALUE_LIMIT_BYTES = 4096
#: Belcorp: more cores per executor than this hurt throughput.
MAX_EXECUTOR_CORES_ADVISED = 5
#: vCPU sizes of an EMR Serverless worker; executor and driver cores must be one of them there.
SERVERLESS_WORKER_VCPUS = (1, 2, 4, 8, 16)
#: Newest EMR 7.x release at the time of writing (released 2026-04-21, available on EMR Serverless).
DEFAULT_EMR_SERVERLESS_RELEASE = "emr-7.13.0"
#: Belcorp: at least one core unit for this many task units.
TASK_UNITS_PER_CORE_UNIT = 6

_STRICT = ConfigDict(extra="forbid")
_SPARK_SIZE = re.compile(r"^([1-9][0-9]*)([mg])$", re.IGNORECASE)
_DISK_SIZE = re.compile(r"^([1-9][0-9]*)\s*g(?:b)?$", re.IGNORECASE)
_JOB_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$")
_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+$")
_RELEASE_LABEL = re.compile(r"^emr-(\d+)\.(\d+)\.(\d+)$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")
_SSM_SEGMENT = re.compile(r"^[A-Za-z0-9_.-]+$")
_CPU = re.compile(r"^([1-9][0-9]*)\s*(?:vcpu)?$", re.IGNORECASE)
_GB = re.compile(r"^([1-9][0-9]*)\s*(?:gb)?$", re.IGNORECASE)
_GB_REQUIRED = re.compile(r"^([1-9][0-9]*)\s*gb$", re.IGNORECASE)


def _error(kind: str, message: str) -> PydanticCustomError:
    """A validation error whose text is exactly ``message`` (no ``Value error,`` prefix)."""
    return PydanticCustomError(kind, message)


# --------------------------------------------------------------------------------------------------
# Enums
# --------------------------------------------------------------------------------------------------


class Engine(Choice):
    """Where a Spark job runs."""

    EMR_SERVERLESS = "emr-serverless"
    EMR_EC2 = "emr-ec2"


class JobClass(Choice):
    """GoDaddy's job classes, by step time (excluding provisioning and idle time)."""

    QUICK = "quick"
    """20 minutes or less."""
    MEDIUM = "medium"
    """More than 20 and at most 60 minutes."""
    LONG = "long"
    """More than 60 minutes."""

    @classmethod
    def from_step_minutes(cls, minutes: float) -> JobClass:
        """Classify a job by its observed step time in minutes, e.g. ``JobClass.from_step_minutes(35)``."""
        if minutes < 0:
            raise ValueError(f"step time must be >= 0 minutes, got {minutes}")
        if minutes <= 20:
            return cls.QUICK
        if minutes <= 60:
            return cls.MEDIUM
        return cls.LONG


class Ring(IntEnum):
    """GoDaddy's deployment rings for the EMR Serverless rollout, migrated in this order."""

    CANARY = 0
    """Low adoption risk jobs expected to yield some saving."""
    EARLY_ADOPTERS = 1
    """Low-risk quick-run Spark jobs expected to yield high gains."""
    QUICK_RUN = 2
    """The rest of the quick-run (step time <= 20 min) Spark jobs."""
    LARGER_JOBS_EZ = 3
    """High potential gain, easy move, medium- and long-run Spark jobs."""
    LARGER_JOBS = 4
    """The rest of the medium- and long-run Spark jobs with potential gains."""
    HIVE = 5
    """Hive jobs with potentially higher savings."""
    REDSHIFT_EZ = 6
    """Easy-migration Redshift jobs that suit EMR Serverless."""
    GLUE_EZ = 7
    """Easy-migration Glue jobs that suit EMR Serverless."""

    @property
    def slug(self) -> str:
        """Kebab-case name used in documents, e.g. ``early-adopters``."""
        return self.name.lower().replace("_", "-")


_RING_TABLE = ", ".join(f"{ring.value}={ring.slug}" for ring in Ring)


class ScalingUnitType(Choice):
    """Unit of EMR managed scaling limits."""

    INSTANCES = "Instances"
    INSTANCE_FLEET_UNITS = "InstanceFleetUnits"
    VCPU = "VCPU"


class SpotAllocationStrategy(Choice):
    """Spot allocation strategies of an EMR instance fleet."""

    PRICE_CAPACITY_OPTIMIZED = "price-capacity-optimized"
    CAPACITY_OPTIMIZED = "capacity-optimized"
    CAPACITY_OPTIMIZED_PRIORITIZED = "capacity-optimized-prioritized"
    LOWEST_PRICE = "lowest-price"
    DIVERSIFIED = "diversified"


class OnDemandAllocationStrategy(Choice):
    """On-Demand allocation strategies of an EMR instance fleet."""

    LOWEST_PRICE = "lowest-price"
    PRIORITIZED = "prioritized"


class SpotTimeoutAction(Choice):
    """What an instance fleet does when Spot capacity is not found in time."""

    SWITCH_TO_ON_DEMAND = "SWITCH_TO_ON_DEMAND"
    TERMINATE_CLUSTER = "TERMINATE_CLUSTER"


class Architecture(Choice):
    """EMR Serverless CPU architecture."""

    ARM64 = "ARM64"
    X86_64 = "X86_64"


# --------------------------------------------------------------------------------------------------
# Spark limits and jobs
# --------------------------------------------------------------------------------------------------


def _spark_size(field: str, value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    match = _SPARK_SIZE.match(text)
    if not match:
        raise _error(
            "spark_size",
            f"{field} {value!r} is not a Spark memory size: use a whole number followed by 'g' or 'm', "
            "e.g. '4g' or '16384m'",
        )
    return f"{match.group(1)}{match.group(2).lower()}"


class SparkLimits(UserModel):
    """Per-job Spark resource limits.

    Every field is optional: an unset field is not passed to Spark, so the engine's default applies
    (GoDaddy found EMR Serverless often does better when it sizes executors itself).

    Example::

        from meshworks.constructs.spark import SparkLimits

    SparkLimits(max_executors=40, executor_cores=4, executor_memory="14g", executor_disk="100g")
    """

    model_config = _STRICT

    max_executors: int | None = Field(
        default=None,
        ge=1,
        description="spark.dynamicAllocation.maxExecutors. Required for jobs routed to EMR Serverless. "
        "@default None (uncapped)",
    )
    executor_cores: int | None = Field(
        default=None,
        ge=1,
        le=16,
        description="spark.executor.cores, 1..16; above 5 gives a warning; on EMR Serverless it must be "
        "1, 2, 4, 8 or 16. @default None",
    )
    executor_memory: str | None = Field(
        default=None, description="spark.executor.memory, e.g. '4g' or '16384m'. @default None"
    )
    executor_disk: str | None = Field(
        default=None,
        description="spark.emr-serverless.executor.disk, '20g'..'200g'; EMR Serverless only. @default None",
    )
    driver_cores: int | None = Field(default=None, ge=1, le=16, description="spark.driver.cores, 1..16. @default None")
    driver_memory: str | None = Field(default=None, description="spark.driver.memory, e.g. '4g'. @default None")

    @field_validator("executor_memory", "driver_memory", mode="before")
    @classmethod
    def _check_memory(cls, value: Any, info: ValidationInfo) -> str | None:
        return _spark_size(info.field_name, value)

    @field_validator("executor_disk", mode="before")
    @classmethod
    def _check_disk(cls, value: Any) -> str | None:
        if value is None:
            return None
        match = _DISK_SIZE.match(str(value).strip())
        size = int(match.group(1)) if match else 0
        if not match or not 20 <= size <= 200:
            raise _error(
                "executor_disk",
                f"executor_disk {value!r} is not an EMR Serverless executor disk size: use a whole number "
                "of gigabytes from 20 to 200 followed by 'g', e.g. '20g' or '200g'",
            )
        return f"{size}G"

    def to_spark_defaults(self, engine: Engine = Engine.EMR_SERVERLESS) -> dict[str, str]:
        """The set limits as Spark properties, sorted by key.

        ``spark.emr-serverless.executor.disk`` is only included for :attr:`Engine.EMR_SERVERLESS`.
        """
        engine = Engine(engine)
        values: dict[str, Any] = {
            "spark.driver.cores": self.driver_cores,
            "spark.driver.memory": self.driver_memory,
            "spark.dynamicAllocation.maxExecutors": self.max_executors,
            "spark.executor.cores": self.executor_cores,
            "spark.executor.memory": self.executor_memory,
        }
        if engine is Engine.EMR_SERVERLESS:
            values["spark.emr-serverless.executor.disk"] = self.executor_disk
        return {key: str(values[key]) for key in sorted(values) if values[key] is not None}

    def to_spark_submit_parameters(self, engine: Engine = Engine.EMR_SERVERLESS) -> str:
        """The set limits as ``--conf key=value`` pairs, e.g. ``--conf spark.dynamicAllocation.maxExecutors=20``."""
        return " ".join(f"--conf {key}={value}" for key, value in self.to_spark_defaults(engine).items())

    def warnings(self) -> list[str]:
        """Advice that does not block a deploy."""
        if self.executor_cores is not None and self.executor_cores > MAX_EXECUTOR_CORES_ADVISED:
            return [
                f"executor_cores={self.executor_cores} is above {MAX_EXECUTOR_CORES_ADVISED}: more cores per "
                "executor usually lowers I/O throughput (Belcorp); prefer 4 or 5 cores and more executors"
            ]
        return []

    def serverless_errors(self) -> list[str]:
        """Problems that make EMR Serverless reject a job run with these limits (empty when fine)."""
        problems = []
        if self.max_executors is None:
            problems.append(
                "limits.max_executors is not set: cap spark.dynamicAllocation.maxExecutors (GoDaddy saw "
                "uncapped dynamic allocation raise costs); take the peak executor count from the Spark "
                "History UI of the job's EMR on EC2 runs"
            )
        for field in ("executor_cores", "driver_cores"):
            cores = getattr(self, field)
            if cores is not None and cores not in SERVERLESS_WORKER_VCPUS:
                problems.append(
                    f"limits.{field}={cores} is not an EMR Serverless worker size: use one of "
                    f"{', '.join(map(str, SERVERLESS_WORKER_VCPUS))} or leave it unset"
                )
        return problems


class SparkJob(UserModel):
    """One Spark job of the catalog.

    Example::

        from meshworks.constructs.spark import SparkJob, SparkLimits

        SparkJob(name="daily_orders", job_class="quick", ring=1, owner="team-orders",
                 entry_point="s3://my-artifacts/jobs/daily_orders.py", limits=SparkLimits(max_executors=20))
    """

    model_config = _STRICT

    name: str = Field(description="Unique job name, snake_case or kebab-case, at most 64 characters")
    job_class: JobClass = Field(description="quick (<= 20 min), medium (20-60 min) or long (> 60 min)")
    ring: Ring = Field(description="Rollout ring 0..7 (see Ring); lower rings migrate first")
    entry_point: str = Field(description="S3 URI of the job's script or jar, e.g. s3://bucket/jobs/x.py")
    owner: str = Field(min_length=1, max_length=128, description="Owning team or contact")
    arguments: list[str] = Field(default_factory=list, description="Entry point arguments. @default []")
    limits: SparkLimits = Field(default_factory=SparkLimits, description="@default no limits")

    @field_validator("name", mode="before")
    @classmethod
    def _check_name(cls, value: Any) -> Any:
        if not isinstance(value, str) or len(value) > 64 or not _JOB_NAME.match(value):
            raise _error(
                "job_name",
                f"name {value!r} is not a job name: use lower-case letters, digits and single '_' or '-' "
                "separators, starting with a letter, at most 64 characters (e.g. 'daily_orders')",
            )
        return value

    @field_validator("ring", mode="before")
    @classmethod
    def _check_ring(cls, value: Any) -> Any:
        if isinstance(value, str):
            slugs = {ring.slug: ring for ring in Ring}
            if value.strip().lower() in slugs:
                return slugs[value.strip().lower()]
            if value.strip().lstrip("-").isdigit():
                value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value not in {r.value for r in Ring}:
            raise _error("ring", f"ring {value!r} is unknown: use a ring from 0 to 7 ({_RING_TABLE})")
        return Ring(value)

    @field_validator("entry_point")
    @classmethod
    def _check_entry_point(cls, value: str) -> str:
        if not _S3_URI.match(value):
            raise _error(
                "entry_point",
                f"entry_point {value!r} is not an S3 object URI: use s3://<bucket>/<key>, "
                "e.g. 's3://my-artifacts/jobs/daily_orders.py'",
            )
        return value

    @field_validator("owner")
    @classmethod
    def _check_owner(cls, value: str) -> str:
        if not value.strip():
            raise _error("owner", "owner is blank: name the owning team or a contact, e.g. 'team-orders'")
        return value.strip()

    def warnings(self) -> list[str]:
        """Advice for this job (limits, and a ring that does not match the job class)."""
        notes = [f"job {self.name!r}: {note}" for note in self.limits.warnings()]
        if self.ring in (Ring.EARLY_ADOPTERS, Ring.QUICK_RUN) and self.job_class is not JobClass.QUICK:
            notes.append(
                f"job {self.name!r}: ring {self.ring.value} ({self.ring.slug}) is meant for quick jobs but "
                f"job_class is {self.job_class.value!r}; consider ring 3 or 4"
            )
        if self.ring in (Ring.LARGER_JOBS_EZ, Ring.LARGER_JOBS) and self.job_class is JobClass.QUICK:
            notes.append(
                f"job {self.name!r}: ring {self.ring.value} ({self.ring.slug}) is meant for medium and long "
                "jobs but job_class is 'quick'; consider ring 1 or 2"
            )
        return notes


def routing_parameter_name(prefix: str, job: str | SparkJob) -> str:
    """SSM parameter name of a job's routing document: ``/<prefix>/spark/jobs/<name>/routing``.

    ``prefix`` may hold several levels (``"meshworks/prod"``); leading and trailing slashes are ignored.

    Example::

        from meshworks.constructs.spark import routing_parameter_name

    routing_parameter_name("meshworks", "daily_orders")  # "/meshworks/spark/jobs/daily_orders/routing"
    """
    name = job.name if isinstance(job, SparkJob) else job
    if not isinstance(name, str) or len(name) > 64 or not _JOB_NAME.match(name):
        raise ValueError(f"job name {name!r} is not a valid job name (see SparkJob.name)")
    segments = str(prefix).strip("/").split("/")
    if not prefix.strip("/") or not all(_SSM_SEGMENT.match(segment) for segment in segments):
        raise ValueError(
            f"SSM prefix {prefix!r} is invalid: use one or more '/'-separated segments of letters, digits, "
            "'_', '.' or '-', e.g. 'meshworks/prod'"
        )
    if segments[0].lower().startswith(("aws", "ssm")):
        raise ValueError(f"SSM prefix {prefix!r} starts with a reserved word ('aws' or 'ssm'); choose another")
    if len(segments) + 4 > 15:
        raise ValueError(f"SSM prefix {prefix!r} is too deep: parameter names allow 15 levels, use at most 11")
    return "/" + "/".join([*segments, "spark", "jobs", name, "routing"])


class JobCatalog(UserModel):
    """All Spark jobs, and how far the EMR Serverless rollout has gone.

    Jobs whose ring is at most :attr:`rollout_ring` run on EMR Serverless, the others on EMR on EC2.
    Validation errors: duplicate job names, unknown rings, and Serverless-routed jobs without
    ``limits.max_executors`` or with cores that are not a worker size. Advice: :meth:`warnings`.
    """

    model_config = _STRICT

    rollout_ring: int = Field(
        default=-1,
        description="Highest ring on EMR Serverless, -1..7; -1 = nothing migrated. Lower it to halt or roll "
        "back. @default -1",
    )
    jobs: list[SparkJob] = Field(default_factory=list, description="@default []")

    @field_validator("rollout_ring", mode="before")
    @classmethod
    def _check_rollout_ring(cls, value: Any) -> Any:
        if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]+\s*", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value <= 7:
            raise _error(
                "rollout_ring",
                f"rollout_ring {value!r} is out of range: use -1 (no job on EMR Serverless) up to 7 "
                f"(every ring migrated); rings are {_RING_TABLE}",
            )
        return value

    @model_validator(mode="after")
    def _check_catalog(self) -> JobCatalog:
        problems: list[str] = []
        seen: dict[str, int] = {}
        for index, job in enumerate(self.jobs):
            if job.name in seen:
                problems.append(
                    f"jobs[{index}].name {job.name!r} duplicates jobs[{seen[job.name]}].name: "
                    "job names must be unique, rename one of them"
                )
            else:
                seen[job.name] = index
        for index, job in enumerate(self.jobs):
            if self.engine_for(job) is Engine.EMR_SERVERLESS:
                for problem in job.limits.serverless_errors():
                    problems.append(
                        f"jobs[{index}] ({job.name!r}) runs on EMR Serverless (ring {job.ring.value} <= "
                        f"rollout_ring {self.rollout_ring}) but {problem}; or lower rollout_ring below "
                        f"{job.ring.value}"
                    )
        if problems:
            raise _error("spark_job_catalog", "; ".join(problems))
        return self

    def engine_for(self, job: SparkJob | str) -> Engine:
        """The engine a job runs on under the current :attr:`rollout_ring`."""
        ring = self.get(job).ring if isinstance(job, str) else job.ring
        return Engine.EMR_SERVERLESS if ring.value <= self.rollout_ring else Engine.EMR_EC2

    def get(self, name: str) -> SparkJob:
        """The job called ``name``; ``KeyError`` if there is none."""
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(f"no Spark job named {name!r} in the catalog")

    def jobs_on(self, engine: Engine) -> list[SparkJob]:
        """Jobs routed to ``engine``, sorted by name."""
        return sorted((job for job in self.jobs if self.engine_for(job) is Engine(engine)), key=lambda j: j.name)

    def warnings(self) -> list[str]:
        """Advice for the whole catalog, sorted by job name; never blocks a deploy."""
        notes: list[str] = []
        for job in sorted(self.jobs, key=lambda j: j.name):
            notes.extend(job.warnings())
            if self.engine_for(job) is Engine.EMR_EC2 and job.limits.executor_disk is not None:
                notes.append(
                    f"job {job.name!r}: limits.executor_disk only applies on EMR Serverless and is ignored "
                    f"while the job runs on EMR on EC2 (ring {job.ring.value} > rollout_ring {self.rollout_ring})"
                )
        return notes

    def _entry(self, job: SparkJob) -> dict[str, Any]:
        engine = self.engine_for(job)
        return {
            "engine": engine.value,
            "job_class": job.job_class.value,
            "owner": job.owner,
            "ring": job.ring.value,
            "ring_name": job.ring.slug,
            "spark_defaults": job.limits.to_spark_defaults(engine),
            "spark_submit_parameters": job.limits.to_spark_submit_parameters(engine),
        }

    def routing(self) -> dict[str, Any]:
        """The routing document of the whole catalog (see the module docstring)."""
        return {
            "version": ROUTING_DOCUMENT_VERSION,
            "rollout_ring": self.rollout_ring,
            "jobs": {job.name: self._entry(job) for job in sorted(self.jobs, key=lambda j: j.name)},
        }

    def routing_json(self) -> str:
        """:meth:`routing` as compact JSON with sorted keys (byte-identical for an identical catalog)."""
        return json.dumps(self.routing(), sort_keys=True, separators=(",", ":"))

    def job_routing(self, name: str) -> dict[str, Any]:
        """The routing document of one job: its catalog entry plus ``version``, ``rollout_ring``, ``job``."""
        job = self.get(name)
        return {
            "version": ROUTING_DOCUMENT_VERSION,
            "rollout_ring": self.rollout_ring,
            "job": job.name,
            **self._entry(job),
        }

    def routing_parameters(self, prefix: str) -> dict[str, str]:
        """One Standard-tier SSM parameter per job: ``{parameter name: compact JSON value}``, sorted by name.

        Raises ``ValueError`` if a value exceeds the 4 KB Standard-tier limit.
        """
        parameters: dict[str, str] = {}
        for job in sorted(self.jobs, key=lambda j: j.name):
            value = json.dumps(self.job_routing(job.name), sort_keys=True, separators=(",", ":"))
            size = len(value.encode("utf-8"))
            if size > SSM_STANDARD_VALUE_LIMIT_BYTES:
                raise ValueError(
                    f"routing document of job {job.name!r} is {size} bytes, over the "
                    f"{SSM_STANDARD_VALUE_LIMIT_BYTES}-byte Standard SSM parameter limit: shorten its owner"
                )
            parameters[routing_parameter_name(prefix, job)] = value
        return parameters


# --------------------------------------------------------------------------------------------------
# EMR on EC2: managed scaling and instance fleets
# --------------------------------------------------------------------------------------------------


class ManagedScaling(UserModel):
    """EMR managed scaling limits (``ManagedScalingPolicy.ComputeLimits``).

    Task units are ``maximum_capacity_units - maximum_core_capacity_units``. Belcorp keeps at least one
    core unit for every six task units; a catalog above that ratio gets a warning.

    Example::

        from meshworks.constructs.spark import ManagedScaling

    ManagedScaling.belcorp()  # min 3, max 28, On-Demand 6, core 6, in Instances
    """

    model_config = _STRICT

    minimum_capacity_units: int = Field(ge=1, description="Lower bound of the cluster size")
    maximum_capacity_units: int = Field(ge=1, description="Upper bound of the cluster size")
    maximum_on_demand_capacity_units: int | None = Field(
        default=None, ge=0, description="Cap on On-Demand units; the rest is Spot. @default None (no cap)"
    )
    maximum_core_capacity_units: int | None = Field(
        default=None, ge=1, description="Cap on core units; the rest are task units. @default None (no cap)"
    )
    unit_type: ScalingUnitType = Field(
        default=ScalingUnitType.INSTANCES, description="Instances | InstanceFleetUnits | VCPU. @default Instances"
    )

    @model_validator(mode="after")
    def _check_limits(self) -> ManagedScaling:
        maximum = self.maximum_capacity_units
        problems = []
        if self.minimum_capacity_units > maximum:
            problems.append(
                f"minimum_capacity_units ({self.minimum_capacity_units}) is above maximum_capacity_units "
                f"({maximum}): lower the minimum or raise the maximum"
            )
        for field in ("maximum_on_demand_capacity_units", "maximum_core_capacity_units"):
            value = getattr(self, field)
            if value is not None and value > maximum:
                problems.append(
                    f"{field} ({value}) is above maximum_capacity_units ({maximum}): set it to at most {maximum}"
                )
        if problems:
            raise _error("managed_scaling", "; ".join(problems))
        return self

    @classmethod
    def belcorp(cls) -> ManagedScaling:
        """Belcorp's production policy: min 3, max 28, On-Demand 6, core 6 (1 core : <= 6 task units)."""
        return cls(
            minimum_capacity_units=3,
            maximum_capacity_units=28,
            maximum_on_demand_capacity_units=6,
            maximum_core_capacity_units=6,
            unit_type=ScalingUnitType.INSTANCES,
        )

    @property
    def core_units(self) -> int:
        """Most core units the cluster can reach."""
        if self.maximum_core_capacity_units is None:
            return self.maximum_capacity_units
        return self.maximum_core_capacity_units

    @property
    def task_units(self) -> int:
        """Most task units the cluster can reach."""
        return self.maximum_capacity_units - self.core_units

    def warnings(self) -> list[str]:
        """Advice, e.g. too many task units per core unit."""
        if self.task_units > TASK_UNITS_PER_CORE_UNIT * self.core_units:
            needed = -(-self.maximum_capacity_units // (TASK_UNITS_PER_CORE_UNIT + 1))
            return [
                f"managed scaling allows {self.task_units} task units for {self.core_units} core units, more "
                f"than {TASK_UNITS_PER_CORE_UNIT} per core unit (Belcorp): raise maximum_core_capacity_units "
                f"to at least {needed} or lower maximum_capacity_units"
            ]
        return []

    def to_compute_limits(self) -> dict[str, Any]:
        """CloudFormation ``ComputeLimits`` (PascalCase keys; unset caps omitted)."""
        limits: dict[str, Any] = {
            "UnitType": self.unit_type.value,
            "MinimumCapacityUnits": self.minimum_capacity_units,
            "MaximumCapacityUnits": self.maximum_capacity_units,
        }
        if self.maximum_on_demand_capacity_units is not None:
            limits["MaximumOnDemandCapacityUnits"] = self.maximum_on_demand_capacity_units
        if self.maximum_core_capacity_units is not None:
            limits["MaximumCoreCapacityUnits"] = self.maximum_core_capacity_units
        return limits


class InstanceTypeWeight(UserModel):
    """One instance type of a fleet and the capacity units one instance counts for."""

    model_config = _STRICT

    instance_type: str = Field(description="EC2 instance type, e.g. 'm7g.xlarge'")
    weighted_capacity: int = Field(default=1, ge=1, description="Units per instance. @default 1")

    @field_validator("instance_type")
    @classmethod
    def _check_type(cls, value: str) -> str:
        if not _INSTANCE_TYPE.match(value):
            raise _error(
                "instance_type",
                f"instance_type {value!r} is not an EC2 instance type: use '<family>.<size>', e.g. 'm7g.xlarge'",
            )
        return value


#: Graviton types diversified over families and generations, weighted by size (xlarge = 1 unit).
DEFAULT_GRAVITON_INSTANCE_TYPES: tuple[tuple[str, int], ...] = (
    ("m7g.xlarge", 1),
    ("m6g.xlarge", 1),
    ("r7g.xlarge", 1),
    ("r6g.xlarge", 1),
    ("m7g.2xlarge", 2),
    ("m6g.2xlarge", 2),
    ("r7g.2xlarge", 2),
    ("r6g.2xlarge", 2),
)

#: EMR limits on instance types per fleet, with and without an allocation strategy.
MAX_FLEET_TYPES_WITH_STRATEGY = 30
MAX_FLEET_TYPES_WITHOUT_STRATEGY = 5


def _default_fleet_types() -> list[InstanceTypeWeight]:
    return [InstanceTypeWeight(instance_type=t, weighted_capacity=w) for t, w in DEFAULT_GRAVITON_INSTANCE_TYPES]


class InstanceFleetSpec(UserModel):
    """An EMR instance fleet: instance types with weights, targets and allocation strategies.

    EMR accepts at most 30 instance types per fleet with an allocation strategy, 5 without.

    Example::

        from meshworks.constructs.spark import InstanceFleetSpec

    InstanceFleetSpec.from_spot_ratio(total_units=20)  # 16 Spot + 4 On-Demand units (Paytm's 80:20)
    """

    model_config = _STRICT

    instance_types: list[InstanceTypeWeight] = Field(
        default_factory=_default_fleet_types,
        description="@default Graviton m7g/m6g/r7g/r6g xlarge (1 unit) and 2xlarge (2 units)",
    )
    on_demand_target: int = Field(default=1, ge=0, description="On-Demand capacity units. @default 1")
    spot_target: int = Field(default=0, ge=0, description="Spot capacity units. @default 0")
    use_allocation_strategy: bool = Field(
        default=True, description="Send allocation strategies (allows 30 types instead of 5). @default True"
    )
    spot_allocation_strategy: SpotAllocationStrategy = Field(
        default=SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED, description="@default price-capacity-optimized"
    )
    on_demand_allocation_strategy: OnDemandAllocationStrategy = Field(
        default=OnDemandAllocationStrategy.LOWEST_PRICE, description="@default lowest-price"
    )
    spot_timeout_minutes: int = Field(
        default=10, ge=5, le=1440, description="Minutes to wait for Spot capacity at launch. @default 10"
    )
    spot_timeout_action: SpotTimeoutAction = Field(
        default=SpotTimeoutAction.SWITCH_TO_ON_DEMAND, description="@default SWITCH_TO_ON_DEMAND"
    )

    @model_validator(mode="after")
    def _check_fleet(self) -> InstanceFleetSpec:
        problems = []
        count = len(self.instance_types)
        limit = MAX_FLEET_TYPES_WITH_STRATEGY if self.use_allocation_strategy else MAX_FLEET_TYPES_WITHOUT_STRATEGY
        if count == 0:
            problems.append("instance_types is empty: list at least one instance type, e.g. 'm7g.xlarge'")
        elif count > limit:
            how = "with" if self.use_allocation_strategy else "without"
            problems.append(
                f"instance_types has {count} entries but EMR allows at most {limit} per fleet {how} an "
                "allocation strategy: remove some"
                + ("" if self.use_allocation_strategy else " or set use_allocation_strategy=True (30 allowed)")
            )
        names = [entry.instance_type for entry in self.instance_types]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            problems.append(f"instance_types lists {', '.join(duplicates)} more than once: keep one entry each")
        if self.on_demand_target + self.spot_target <= 0:
            problems.append(
                "on_demand_target + spot_target is 0: set at least one capacity unit, e.g. "
                "InstanceFleetSpec.from_spot_ratio(total_units=10)"
            )
        if problems:
            raise _error("instance_fleet", "; ".join(problems))
        return self

    @classmethod
    def from_spot_ratio(cls, total_units: int, spot_percent: int = 80, **kwargs: Any) -> InstanceFleetSpec:
        """Split ``total_units`` into Spot and On-Demand; Spot is rounded down, so On-Demand never falls
        below its share (Paytm's 80:20 by default). Other fields can be passed as keyword arguments.
        """
        if isinstance(total_units, bool) or not isinstance(total_units, int) or total_units < 1:
            raise ValueError(f"total_units must be a whole number >= 1, got {total_units!r}")
        if isinstance(spot_percent, bool) or not isinstance(spot_percent, int) or not 0 <= spot_percent <= 100:
            raise ValueError(f"spot_percent must be a whole number from 0 to 100, got {spot_percent!r}")
        spot = total_units * spot_percent // 100
        return cls(on_demand_target=total_units - spot, spot_target=spot, **kwargs)

    @property
    def total_target(self) -> int:
        """On-Demand plus Spot units."""
        return self.on_demand_target + self.spot_target

    @property
    def spot_percent(self) -> float:
        """Share of Spot units in the total target, in percent."""
        return 100.0 * self.spot_target / self.total_target

    def warnings(self) -> list[str]:
        """Advice, e.g. interruption-prone Spot settings."""
        notes = []
        if (
            self.spot_target
            and self.use_allocation_strategy
            and (self.spot_allocation_strategy is SpotAllocationStrategy.LOWEST_PRICE)
        ):
            notes.append(
                "spot_allocation_strategy 'lowest-price' has the highest interruption risk: prefer "
                "'price-capacity-optimized'"
            )
        if self.spot_target and len(self.instance_types) < 3:
            notes.append(
                f"Spot capacity with only {len(self.instance_types)} instance type(s) is easily interrupted: "
                "list several families and sizes"
            )
        return notes

    def to_cfn(self) -> dict[str, Any]:
        """CloudFormation ``InstanceFleetConfig`` properties (without ``Name``)."""
        spot: dict[str, Any] = {
            "TimeoutAction": self.spot_timeout_action.value,
            "TimeoutDurationMinutes": self.spot_timeout_minutes,
        }
        on_demand: dict[str, Any] = {}
        if self.use_allocation_strategy:
            spot["AllocationStrategy"] = self.spot_allocation_strategy.value
            on_demand["AllocationStrategy"] = self.on_demand_allocation_strategy.value
        launch: dict[str, Any] = {}
        if self.spot_target:
            launch["SpotSpecification"] = spot
        if on_demand:
            launch["OnDemandSpecification"] = on_demand
        config: dict[str, Any] = {
            "InstanceTypeConfigs": [
                {"InstanceType": entry.instance_type, "WeightedCapacity": entry.weighted_capacity}
                for entry in self.instance_types
            ],
            "TargetOnDemandCapacity": self.on_demand_target,
            "TargetSpotCapacity": self.spot_target,
        }
        if launch:
            config["LaunchSpecifications"] = launch
        return config


# --------------------------------------------------------------------------------------------------
# EMR Serverless application defaults
# --------------------------------------------------------------------------------------------------


class ServerlessMaximumCapacity(UserModel):
    """Most resources an EMR Serverless application may use at once, e.g. ``cpu="400 vCPU"``.

    Best practice: proportional to a worker size times a worker count (50 workers of 2 vCPU, 16 GB and
    20 GB disk: 100 vCPU, 800 GB, 1000 GB).
    """

    model_config = _STRICT

    cpu: str = Field(default="400 vCPU", description="e.g. '400 vCPU'. @default '400 vCPU'")
    memory: str = Field(default="3000 GB", description="e.g. '3000 GB'. @default '3000 GB'")
    disk: str = Field(default="20000 GB", description="e.g. '20000 GB' (unit required). @default '20000 GB'")

    @field_validator("cpu", mode="before")
    @classmethod
    def _check_cpu(cls, value: Any) -> str:
        match = _CPU.match(str(value).strip())
        if not match:
            raise _error("capacity_cpu", f"maximum_capacity.cpu {value!r} is not a vCPU count: use e.g. '400 vCPU'")
        return f"{match.group(1)} vCPU"

    @field_validator("memory", mode="before")
    @classmethod
    def _check_memory(cls, value: Any) -> str:
        match = _GB.match(str(value).strip())
        if not match:
            raise _error(
                "capacity_memory", f"maximum_capacity.memory {value!r} is not a size in GB: use e.g. '3000 GB'"
            )
        return f"{match.group(1)} GB"

    @field_validator("disk", mode="before")
    @classmethod
    def _check_disk(cls, value: Any) -> str:
        match = _GB_REQUIRED.match(str(value).strip())
        if not match:
            raise _error(
                "capacity_disk",
                f"maximum_capacity.disk {value!r} is not a size in GB: use a number followed by 'GB', e.g. '20000 GB'",
            )
        return f"{match.group(1)} GB"

    @property
    def vcpus(self) -> int:
        """``cpu`` as a number."""
        return int(self.cpu.split()[0])

    @property
    def memory_gb(self) -> int:
        """``memory`` as a number of GB."""
        return int(self.memory.split()[0])

    @property
    def disk_gb(self) -> int:
        """``disk`` as a number of GB."""
        return int(self.disk.split()[0])

    def to_cfn(self) -> dict[str, str]:
        """``{"cpu": ..., "memory": ..., "disk": ...}`` as ``CfnApplication.MaximumCapacity`` expects."""
        return {"cpu": self.cpu, "memory": self.memory, "disk": self.disk}


class EmrServerlessDefaults(UserModel):
    """Defaults of an EMR Serverless application.

    ``release_label`` must be ``emr-X.Y.Z`` and at least ``emr-6.9.0`` (the first release with ARM64
    workers); 6.x releases and majors above 7 are accepted with a warning. Most settings cannot change while
    the application is STARTED (only ``max_concurrent_runs`` can), so a short ``idle_timeout_minutes`` also
    shortens the window in which a stack update can fail.

    Example::

        from meshworks.constructs.spark import EmrServerlessDefaults

    EmrServerlessDefaults(maximum_capacity={"cpu": "200 vCPU", "memory": "1600 GB", "disk": "4000 GB"})
    """

    model_config = _STRICT

    release_label: str = Field(
        default=DEFAULT_EMR_SERVERLESS_RELEASE, description=f"@default '{DEFAULT_EMR_SERVERLESS_RELEASE}'"
    )
    architecture: Architecture = Field(
        default=Architecture.ARM64,
        description="ARM64 (Graviton, ~24 % better price-performance at GoDaddy) or X86_64. @default ARM64",
    )
    idle_timeout_minutes: int = Field(
        default=15, ge=1, le=10080, description="Auto-stop after this many idle minutes, 1..10080. @default 15"
    )
    maximum_capacity: ServerlessMaximumCapacity = Field(
        default_factory=ServerlessMaximumCapacity, description="@default 400 vCPU, 3000 GB, 20000 GB"
    )
    max_concurrent_runs: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Concurrent job runs, 1..1000 (needs emr-7.3.0+). @default None (service default)",
    )

    @field_validator("release_label", mode="before")
    @classmethod
    def _check_release(cls, value: Any) -> Any:
        match = _RELEASE_LABEL.match(str(value).strip()) if isinstance(value, str) else None
        hint = f"use e.g. '{DEFAULT_EMR_SERVERLESS_RELEASE}'"
        if not match:
            raise _error("release_label", f"release_label {value!r} is not an EMR release label: {hint}")
        version = tuple(int(part) for part in match.groups())
        if version < (6, 9, 0):
            raise _error(
                "release_label",
                f"release_label {value!r} is older than emr-6.9.0, the first EMR Serverless release with ARM64 "
                f"workers and the oldest meshworks supports: {hint}",
            )
        return value.strip()

    @model_validator(mode="after")
    def _check_scheduler(self) -> EmrServerlessDefaults:
        if self.max_concurrent_runs is not None and self.release_version < (7, 3, 0):
            raise _error(
                "max_concurrent_runs",
                f"max_concurrent_runs needs job concurrency (emr-7.3.0 or later) but release_label is "
                f"{self.release_label!r}: upgrade the release or leave max_concurrent_runs unset",
            )
        return self

    @property
    def release_version(self) -> tuple[int, int, int]:
        """``release_label`` as ``(major, minor, patch)``."""
        match = _RELEASE_LABEL.match(self.release_label)
        assert match is not None  # guaranteed by validation
        major, minor, patch = (int(part) for part in match.groups())
        return major, minor, patch

    def warnings(self) -> list[str]:
        """Advice, e.g. an old release or a capacity that fits no worker size."""
        notes = []
        major = self.release_version[0]
        if major == 6:
            notes.append(
                f"release_label {self.release_label!r} is an EMR 6.x release: plan the move to "
                f"{DEFAULT_EMR_SERVERLESS_RELEASE} (Spark 3.5, job concurrency and queuing)"
            )
        elif major > 7:
            notes.append(
                f"release_label {self.release_label!r} is newer than the EMR 7.x releases meshworks is "
                "tested with: check the Spark settings of your jobs"
            )
        ratio = self.maximum_capacity.memory_gb / self.maximum_capacity.vcpus
        if not 2 <= ratio <= 8:
            notes.append(
                f"maximum_capacity has {ratio:g} GB of memory per vCPU; EMR Serverless workers have 2 to 8 GB "
                "per vCPU, so part of it can never be used: keep memory between 2x and 8x the vCPUs"
            )
        return notes

    def to_application_props(self) -> dict[str, Any]:
        """Keyword arguments for ``aws_emrserverless.CfnApplication`` (nested values as plain dicts)."""
        props: dict[str, Any] = {
            "release_label": self.release_label,
            "architecture": self.architecture.value,
            "auto_stop_configuration": {"enabled": True, "idle_timeout_minutes": self.idle_timeout_minutes},
            "maximum_capacity": self.maximum_capacity.to_cfn(),
        }
        if self.max_concurrent_runs is not None:
            props["scheduler_configuration"] = {"max_concurrent_runs": self.max_concurrent_runs}
        return props
