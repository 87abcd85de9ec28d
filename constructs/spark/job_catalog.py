"""Spark limits, Spark jobs and the job catalog: what a team declares and how it is routed.

Part of :mod:`meshworks.constructs.spark.models` (which re-exports every public name).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from meshworks.constructs.core.inputs import UserModel
from meshworks.constructs.spark.enums import _RING_TABLE, Engine, JobClass, Ring
from meshworks.constructs.spark.model_constants import (
    _DISK_SIZE,
    _JOB_NAME,
    _S3_URI,
    _SPARK_SIZE,
    _SSM_SEGMENT,
    _STRICT,
    MAX_EXECUTOR_CORES_ADVISED,
    ROUTING_DOCUMENT_VERSION,
    SERVERLESS_WORKER_VCPUS,
    SSM_STANDARD_VALUE_LIMIT_BYTES,
    _error,
)

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
