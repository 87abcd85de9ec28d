"""EMR Serverless application defaults: maximum capacity, auto start and stop.

Part of :mod:`meshworks.constructs.spark.models` (which re-exports every public name).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from meshworks.constructs.core.inputs import UserModel
from meshworks.constructs.spark.enums import Architecture
from meshworks.constructs.spark.model_constants import (
    _CPU,
    _GB,
    _GB_REQUIRED,
    _RELEASE_LABEL,
    _STRICT,
    DEFAULT_EMR_SERVERLESS_RELEASE,
    _error,
)

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
