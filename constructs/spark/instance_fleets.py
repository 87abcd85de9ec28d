"""EMR on EC2: managed-scaling limits and instance fleets.

Part of :mod:`meshworks.constructs.spark.models` (which re-exports every public name).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from meshworks.constructs.core.inputs import UserModel
from meshworks.constructs.spark.enums import (
    OnDemandAllocationStrategy,
    ScalingUnitType,
    SpotAllocationStrategy,
    SpotTimeoutAction,
)
from meshworks.constructs.spark.model_constants import _INSTANCE_TYPE, _STRICT, TASK_UNITS_PER_CORE_UNIT, _error

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
