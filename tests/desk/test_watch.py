"""The SLA watch: at risk at 80 % of a target's support time, breached at its due time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from desk.calendar import BusinessCalendar
from desk.watch import Alert, Clock, alerts_due, recorded

MSK = ZoneInfo("Europe/Moscow")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


def due(
    calendar: BusinessCalendar, now: datetime, sent: frozenset[str] = frozenset(), **kw: object
) -> list[Alert]:
    created = at(2026, 11, 27, 22, 0)  # Friday 22:00: one hour of support left today
    defaults: dict[str, object] = {
        "created_at": created,
        "paused": False,
        "paused_minutes": 0,
        # 120 min first response: 60 tonight + 60 from Saturday 07:00.
        "first_response": Clock(at(2026, 11, 28, 8, 0), 120, met=False),
        # 960 min resolution: 60 tonight + 900 from Saturday 07:00, i.e. 22:00 on Saturday.
        "resolution": Clock(at(2026, 11, 28, 22, 0), 960, met=False),
        "sent": sent,
    }
    defaults.update(kw)
    return alerts_due(calendar, now, **defaults)  # type: ignore[arg-type]


def test_nothing_before_eighty_percent(calendar: BusinessCalendar) -> None:
    assert due(calendar, at(2026, 11, 27, 22, 30)) == []


def test_eighty_percent_counts_support_time_across_the_night(calendar: BusinessCalendar) -> None:
    # 96 of 120 minutes: 60 on Friday night + 36 from 07:00 on Saturday.
    assert due(calendar, at(2026, 11, 28, 7, 35)) == []
    assert due(calendar, at(2026, 11, 28, 7, 36)) == [Alert.FIRST_RESPONSE_AT_RISK]


def test_each_warning_once(calendar: BusinessCalendar) -> None:
    now = at(2026, 11, 28, 7, 40)
    first = due(calendar, now)
    sent = recorded(frozenset(), first)
    assert due(calendar, now, sent) == []
    assert due(calendar, at(2026, 11, 28, 8, 0), sent) == [Alert.FIRST_RESPONSE_BREACHED]
    sent = recorded(sent, [Alert.FIRST_RESPONSE_BREACHED])
    assert due(calendar, at(2026, 11, 28, 9, 0), sent) == []


def test_after_downtime_only_the_breach(calendar: BusinessCalendar) -> None:
    # The desk was off from Friday night until Sunday: both targets passed unseen.
    alerts = due(calendar, at(2026, 11, 29, 10, 0))
    assert alerts == [Alert.FIRST_RESPONSE_BREACHED, Alert.RESOLUTION_BREACHED]
    sent = recorded(frozenset(), alerts)
    assert {"first_response_at_risk", "resolution_at_risk"} <= sent
    assert due(calendar, at(2026, 11, 29, 10, 0), sent) == []


def test_met_targets_and_pauses_are_quiet(calendar: BusinessCalendar) -> None:
    late = at(2026, 11, 29, 10, 0)
    answered = Clock(at(2026, 11, 28, 8, 0), 120, met=True)
    assert due(calendar, late, first_response=answered) == [Alert.RESOLUTION_BREACHED]
    assert due(calendar, late, paused=True) == []


def test_paused_minutes_move_the_risk_moment(calendar: BusinessCalendar) -> None:
    # 30 paused minutes push 80 % of the first response from 07:36 to 08:06.
    moved = Clock(at(2026, 11, 28, 8, 30), 120, met=False)
    assert due(calendar, at(2026, 11, 28, 8, 0), first_response=moved, paused_minutes=30) == []
    assert due(calendar, at(2026, 11, 28, 8, 6), first_response=moved, paused_minutes=30) == [
        Alert.FIRST_RESPONSE_AT_RISK
    ]
