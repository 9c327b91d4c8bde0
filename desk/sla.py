"""SLA due times (R7, R9).

Targets are support-hours minutes per tariff and priority. Due times are
always derived from the creation moment plus the target plus the minutes the
request spent waiting for the customer, so a priority change or a pause never
needs special arithmetic: it is the same computation with other numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from desk.calendar import BusinessCalendar
from desk.lifecycle import WORKING
from desk.model import Priority, Status


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


class _Clocked(Protocol):
    status: str
    paused_at: datetime | None
    first_responded_at: datetime | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None


def is_overdue(ticket: _Clocked, now: datetime) -> bool:
    """The one definition of "overdue".

    A request in work (``lifecycle.WORKING``: new, in progress, waiting; a
    resolved one waits for its customer), whose clock runs (not paused while
    waiting for the customer), and which is past its resolution due time, or
    past its first-response due time with no first response yet.
    ``storage.repository.open_counts`` counts the same in SQL.
    """
    if Status(ticket.status) not in WORKING or ticket.paused_at is not None:
        return False
    if ticket.resolution_due_at is not None and ticket.resolution_due_at < now:
        return True
    return (
        ticket.first_responded_at is None
        and ticket.first_response_due_at is not None
        and ticket.first_response_due_at < now
    )
