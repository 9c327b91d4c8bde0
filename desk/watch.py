"""The SLA watch (R7, R9): which warnings a request is due now, and which reminders.

Waiting for the customer (R5), the desk reminds them once per wait, after a
support day of silence, and only inside support hours.

Agents are warned in the backoffice twice per target, once each: when 80 % of
the target's support time has gone (the request is *at risk*) and when the due
time has passed (*breached*). Targets are first response and resolution. A
request waiting for the customer is paused and gets no warning; its due times
move when the pause ends.

After downtime the watch catches up once: a request whose due time passed
while the desk was stopped gets the breach warning alone, not a late "at risk"
first (both are recorded as sent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from desk.calendar import BusinessCalendar

AT_RISK_SHARE = 0.8
# A customer asked a question and silent for a whole support day (16 hours of
# support time, whatever the nights between) is reminded once per wait.
WAITING_REMINDER_SUPPORT_MINUTES = 16 * 60


class Alert(StrEnum):
    FIRST_RESPONSE_AT_RISK = "first_response_at_risk"
    FIRST_RESPONSE_BREACHED = "first_response_breached"
    RESOLUTION_AT_RISK = "resolution_at_risk"
    RESOLUTION_BREACHED = "resolution_breached"

    @property
    def breach(self) -> bool:
        return self.value.endswith("_breached")

    @property
    def target(self) -> str:
        return self.value.rsplit("_", 1)[0].removesuffix("_at")


@dataclass(frozen=True)
class Clock:
    """One target of one request, as the watch needs it."""

    due_at: datetime | None
    target_minutes: int
    met: bool  # answered (first response) or resolved (resolution)


def at_risk_moment(
    calendar: BusinessCalendar,
    created_at: datetime,
    target_minutes: int,
    paused_minutes: int,
    *,
    business_days_only: bool = False,
) -> datetime:
    """When ``AT_RISK_SHARE`` of the target's support minutes have gone."""
    share = math.ceil(target_minutes * AT_RISK_SHARE)
    return calendar.add_support_minutes(
        created_at, share + paused_minutes, business_days_only=business_days_only
    )


def alerts_due(
    calendar: BusinessCalendar,
    now: datetime,
    *,
    created_at: datetime,
    paused: bool,
    paused_minutes: int,
    first_response: Clock,
    resolution: Clock,
    sent: frozenset[str],
    business_days_only: bool = False,
) -> list[Alert]:
    """The warnings to record now, in the order to send them (at most one per target)."""
    if paused:
        return []
    due: list[Alert] = []
    pairs = (
        (first_response, Alert.FIRST_RESPONSE_AT_RISK, Alert.FIRST_RESPONSE_BREACHED),
        (resolution, Alert.RESOLUTION_AT_RISK, Alert.RESOLUTION_BREACHED),
    )
    for clock, risk, breach in pairs:
        if clock.met or clock.due_at is None or breach in sent:
            continue
        if now >= clock.due_at:
            due.append(breach)
            continue
        if risk in sent:
            continue
        moment = at_risk_moment(
            calendar,
            created_at,
            clock.target_minutes,
            paused_minutes,
            business_days_only=business_days_only,
        )
        if now >= moment:
            due.append(risk)
    return due


def recorded(sent: frozenset[str], alerts: list[Alert]) -> frozenset[str]:
    """What is stored after sending ``alerts``: a breach also stands for its "at risk"."""
    names = set(sent)
    for alert in alerts:
        names.add(alert.value)
        if alert.breach:
            names.add(f"{alert.target}_at_risk")
    return frozenset(names)


def waiting_reminder_due(
    calendar: BusinessCalendar,
    now: datetime,
    paused_at: datetime | None,
    reminded_at: datetime | None,
) -> bool:
    """Is the customer of a request waiting since ``paused_at`` due a reminder now?"""
    if paused_at is None or (reminded_at is not None and reminded_at >= paused_at):
        return False
    if not calendar.is_support_time(now):
        return False
    return calendar.support_minutes_between(paused_at, now) >= WAITING_REMINDER_SUPPORT_MINUTES
