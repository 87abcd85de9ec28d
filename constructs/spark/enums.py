"""Enumerations of the Spark models (engines, job classes, rollout rings, EMR fleet strategies).

Part of :mod:`meshworks.constructs.spark.models` (which re-exports every public name).
"""

from __future__ import annotations

from enum import IntEnum

from meshworks.constructs.core.inputs import Choice

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
