"""Which SLO deadlines fall in a run's window.

Part of :mod:`.checker` (the design is described there; it re-exports every name).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .constants import LATEST_PERIOD_KEY
from .cron import occurrences_between
from .formatting import iso
from .manifest import SloContract

# --------------------------------------------------------------------------------------------- due checks


@dataclass(frozen=True)
class DueCheck:
    """One (product, period) whose deadline falls inside the run's window.

    ``period_key`` is the partition, or for an unpartitioned product the scheduled instant (ISO UTC).
    """

    contract: SloContract
    scheduled_utc: datetime
    deadline: datetime
    period_key: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.contract.product_key, self.period_key)

    @property
    def location(self) -> str:
        return self.contract.location

    @property
    def since(self) -> datetime | None:
        """Deliveries count only at or after this instant (unpartitioned); None: any delivery of the key."""
        return self.scheduled_utc if self.contract.unpartitioned else None

    @property
    def delivery_key(self) -> tuple[str, str]:
        """Delivery-table key answering this check."""
        return (self.contract.product_key, LATEST_PERIOD_KEY) if self.contract.unpartitioned else self.key

    @property
    def marker_partition(self) -> str:
        """Folder under the location holding the ``_SUCCESS`` marker ("" when unpartitioned)."""
        return self.contract.marker_for(self.scheduled_utc, self.period_key)


def due_checks(contracts: Iterable[SloContract], window_start: datetime, window_end: datetime) -> list[DueCheck]:
    """Deadlines ``d`` (occurrence + grace) with ``window_start < d <= window_end``, sorted by deadline.

    Occurrences are computed once per distinct (cron, timezone, grace), so 10,000 contracts sharing a
    few schedules cost a few cron evaluations.
    """
    groups: dict[tuple[str, str, timedelta], list[SloContract]] = defaultdict(list)
    for contract in contracts:
        groups[(contract.cron, contract.timezone, contract.grace)].append(contract)
    result: list[DueCheck] = []
    for (_, tz, grace), members in groups.items():
        occurrences = occurrences_between(members[0].schedule, window_start - grace, window_end - grace, tz)
        for occurrence in occurrences:
            partitions: dict[str, str] = {"": iso(occurrence)}  # unpartitioned: the scheduled instant
            for contract in members:
                template = contract.partition_template
                if template not in partitions:
                    partitions[template] = contract.partition_for(occurrence)
                result.append(DueCheck(contract, occurrence, occurrence + grace, partitions[template]))
    result.sort(key=lambda check: (check.deadline, check.contract.product_key))
    return result
