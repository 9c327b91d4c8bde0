"""SLA due times (R7, R9).

Targets are support-hours minutes per tariff and priority. Due times are
always derived from the creation moment plus the target plus the minutes the
request spent waiting for the customer, so a priority change or a pause never
needs special arithmetic: it is the same computation with other numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from desk.calendar import BusinessCalendar
from desk.model import Priority


@dataclass(frozen=True)
class Target:
    first_response_minutes: int
    resolution_minutes: int


@dataclass(frozen=True)
class DueTimes:
    first_response: datetime
    resolution: datetime


def due_times(
    calendar: BusinessCalendar,
    created_at: datetime,
    target: Target,
    *,
    paused_minutes: int = 0,
    business_days_only: bool = False,
) -> DueTimes:
    def due(minutes: int) -> datetime:
        return calendar.add_support_minutes(
            created_at, minutes + paused_minutes, business_days_only=business_days_only
        )

    return DueTimes(due(target.first_response_minutes), due(target.resolution_minutes))


def target_for(targets: dict[int, Target], priority: Priority) -> Target:
    try:
        return targets[int(priority)]
    except KeyError:
        raise LookupError(f"the tariff has no SLA target for {priority.label}") from None
