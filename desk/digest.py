"""Managers' digests (R11): the figures of a period, computed from the requests' history.

Pure arithmetic on the rows ``storage/digest.py`` returns; the use cases are in
``desk/digests.py`` and the rendering (text, chart) in ``backoffice/digest.py``.

How the figures are read (decisions the issue leaves open):

- A period is a run of whole local days in the desk's time zone (``TIMEZONE``):
  the daily digest covers the day before, the weekly one the seven days before
  its day (Monday to Sunday with the default Monday), ``/digest`` alone today
  until now, ``/digest day`` and ``/digest week`` what the scheduled digests
  would say now, ``/digest 2026-11-01..2026-11-15`` those days inclusive.
- Every figure of a period comes from ``ticket_events`` of that period (the
  history is append-only), so a past period recomputed gives the same numbers.
  "Now" figures — the backlog by status and priority, requests at risk, the
  five oldest open requests — read the requests as they are at the moment the
  digest is made; the backlog's change over the period is again from history.
- The backlog is every request not closed (a resolved one waits for its
  customer and may come back). It grows with each new request and each reopen of
  a closed one and shrinks with each close of any kind.
- SLA: each target of a request is counted once, in the period where its outcome
  is settled: *met* at the first response (reply, question or resolution with an
  answer) or the first resolution when that came by the due time in force then;
  *breached* at the moment the due time passed while the clock ran (waiting for
  the customer and a resolution awaiting confirmation stop the clock, as for
  ``desk.sla.is_overdue``). A request closed (withdrawn, spam…) before it was
  resolved and before its due time counts neither way.
- Times are support-hours minutes (``desk/calendar.py``) from the request's
  creation to its first response, and to each resolution in the period minus the
  support minutes spent waiting for the customer before it. The 90th percentile
  is the nearest-rank one (a value that occurred).
- Per agent: *taken* counts the requests that became theirs (they took it or were
  assigned it); *resolved* their resolutions; the median of their first
  responses; *reopened* the reopens in the period whose previous resolution was
  theirs.
- At risk now: a request in work whose clock runs, not yet past a due time, but
  past ``AT_RISK_SHARE`` of a target (the same moment the SLA watch warns at).
"""

from __future__ import annotations

import math
import re
import statistics
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from desk.calendar import BusinessCalendar
from desk.errors import ValidationFailed
from desk.watch import at_risk_moment
from storage.digest import EventRow, OpenRow, TariffRow, TicketRow

CHART_DAYS = 14
OLDEST_SHOWN = 5
MAX_RANGE_DAYS = 366
EXAMPLE_RANGE = "2026-11-01..2026-11-15"

# Statuses whose SLA clock stands still (desk/resolution.py, desk/conversation.py pause them).
PAUSED = frozenset({"waiting_customer", "resolved"})
FIRST_RESPONSES = frozenset({"reply", "ask_customer", "resolve"})
CLOSES = {"confirm": "confirmed", "auto_close": "auto", "withdraw": "withdrawn", "close": ""}
CLOSE_REASONS = ("confirmed", "auto", "withdrawn", "duplicate", "spam", "other")
_RANGE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*(?:\.\.|—|–)\s*(\d{4}-\d{2}-\d{2})\s*$")


class DigestKind(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    TODAY = "today"
    RANGE = "range"


@dataclass(frozen=True)
class Period:
    kind: DigestKind
    first_day: date
    last_day: date  # inclusive
    start: datetime  # the first day's local midnight
    end: datetime  # exclusive: the next day's midnight, or "now" for today

    @property
    def key(self) -> str:
        """What identifies a scheduled digest's period in ``digests_sent``."""
        return self.first_day.isoformat()


@dataclass(frozen=True)
class DigestSchedule:
    """When the scheduled digests go out, in the desk's local time (Monday is day 0)."""

    daily_at: time = time(9, 0)
    weekly_day: int = 0
    weekly_at: time = time(9, 0)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz)


def days_period(kind: DigestKind, first: date, last: date, tz: ZoneInfo) -> Period:
    return Period(kind, first, last, _midnight(first, tz), _midnight(last + timedelta(days=1), tz))


def daily_period(day: date, tz: ZoneInfo) -> Period:
    return days_period(DigestKind.DAILY, day, day, tz)


def weekly_period(first: date, tz: ZoneInfo) -> Period:
    return days_period(DigestKind.WEEKLY, first, first + timedelta(days=6), tz)


def today_period(now: datetime, tz: ZoneInfo) -> Period:
    today = now.astimezone(tz).date()
    return Period(DigestKind.TODAY, today, today, _midnight(today, tz), now)


def last_daily(now: datetime, tz: ZoneInfo, schedule: DigestSchedule) -> Period:
    """The period of the latest daily digest whose time has come by ``now``."""
    local = now.astimezone(tz)
    day = local.date() if local.time() >= schedule.daily_at else local.date() - timedelta(days=1)
    return daily_period(day - timedelta(days=1), tz)


def last_weekly(now: datetime, tz: ZoneInfo, schedule: DigestSchedule) -> Period:
    """The period of the latest weekly digest whose time has come by ``now``."""
    local = now.astimezone(tz)
    back = (local.weekday() - schedule.weekly_day) % 7
    if back == 0 and local.time() < schedule.weekly_at:
        back = 7
    day = local.date() - timedelta(days=back)
    return weekly_period(day - timedelta(days=7), tz)


def due_periods(now: datetime, tz: ZoneInfo, schedule: DigestSchedule) -> list[Period]:
    """The scheduled digests whose time has come: only the latest of each kind.

    A desk stopped across several digest times sends the latest of each once
    when it comes back, not a pile of stale ones (older periods are one
    ``/digest`` away).
    """
    return [last_daily(now, tz, schedule), last_weekly(now, tz, schedule)]


def parse_period(text: str | None, now: datetime, tz: ZoneInfo, schedule: DigestSchedule) -> Period:
    """``/digest`` arguments: nothing (today), ``day``, ``week`` or ``YYYY-MM-DD..YYYY-MM-DD``."""
    words = (text or "").strip().lower()
    if not words or words in ("today", "сегодня"):
        return today_period(now, tz)
    if words in ("day", "день", "вчера", "yesterday"):
        return last_daily(now, tz, schedule)
    if words in ("week", "неделя"):
        return last_weekly(now, tz, schedule)
    match = _RANGE.match(words)
    if match is None:
        raise ValidationFailed("period", "invalid", example=EXAMPLE_RANGE)
    try:
        first, last = (date.fromisoformat(match.group(i)) for i in (1, 2))
    except ValueError:
        raise ValidationFailed("period", "invalid", example=EXAMPLE_RANGE) from None
    today = now.astimezone(tz).date()
    if first > last or last > today or (last - first).days >= MAX_RANGE_DAYS:
        raise ValidationFailed("period", "invalid", example=EXAMPLE_RANGE)
    if last == today:
        return Period(DigestKind.RANGE, first, last, _midnight(first, tz), now)
    return days_period(DigestKind.RANGE, first, last, tz)


# -- the result: plain values, also the outbox row's payload -----------------


@dataclass(frozen=True)
class SlaLine:
    tariff: str
    first_response_met: int = 0
    first_response_breached: int = 0
    resolution_met: int = 0
    resolution_breached: int = 0


@dataclass(frozen=True)
class AgentLine:
    name: str
    taken: int
    resolved: int
    first_response_median: float | None
    reopened: int


@dataclass(frozen=True)
class OpenLine:
    number: int
    topic: str
    status: str
    priority: int
    created_at: str
    backoffice_message_id: int | None = None


@dataclass(frozen=True)
class ChartDay:
    day: str
    opened: int
    closed: int
    backlog: int


@dataclass(frozen=True)
class Digest:
    kind: str
    first_day: str
    last_day: str
    computed_at: str
    new_total: int
    new_by_kind: dict[str, int]
    new_by_priority: dict[str, int]
    new_by_channel: dict[str, int]
    resolved: int
    closed: dict[str, int]
    reopened: int
    backlog_total: int
    backlog_by_status: dict[str, int]
    backlog_by_priority: dict[str, int]
    backlog_change: int
    sla: list[SlaLine]
    at_risk: int
    first_response_median: float | None
    first_response_p90: float | None
    resolution_median: float | None
    resolution_p90: float | None
    rating_average: float | None
    rating_count: int
    agents: list[AgentLine]
    oldest: list[OpenLine]
    chart: list[ChartDay] = field(default_factory=list)

    @property
    def closed_total(self) -> int:
        return sum(self.closed.values())

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Digest:
        values = dict(data)
        values["sla"] = [SlaLine(**x) for x in values["sla"]]
        values["agents"] = [AgentLine(**x) for x in values["agents"]]
        values["oldest"] = [OpenLine(**x) for x in values["oldest"]]
        values["chart"] = [ChartDay(**x) for x in values.get("chart", [])]
        return cls(**values)


# -- the arithmetic ------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile: the smallest value with ``share`` of them at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(share * len(ordered)) - 1)])


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class _Segment:
    """A stretch of a request's life between two events: its status and due times then."""

    start: datetime
    status: str
    first_response_due: datetime | None
    resolution_due: datetime | None


def timeline(events: Sequence[EventRow]) -> list[_Segment]:
    segments: list[_Segment] = []
    status = ""
    first_due: datetime | None = None
    resolution_due: datetime | None = None
    for event in events:
        after = event.after
        status = str(after.get("status", status))
        if "first_response_due_at" in after:
            first_due = _moment(after["first_response_due_at"])
        if "resolution_due_at" in after:
            resolution_due = _moment(after["resolution_due_at"])
        segment = _Segment(event.created_at, status, first_due, resolution_due)
        if segments and segments[-1].start == event.created_at:
            segments[-1] = segment
        else:
            segments.append(segment)
    return segments


def breach_moment(
    segments: Sequence[_Segment],
    due_of: Callable[[_Segment], datetime | None],
    settled: datetime | None,
    horizon: datetime,
) -> datetime | None:
    """When the due time passed with the clock running, before ``settled`` and ``horizon``."""
    for index, segment in enumerate(segments):
        if segment.status == "closed" or (settled is not None and segment.start >= settled):
            return None
        stop = segments[index + 1].start if index + 1 < len(segments) else horizon
        if settled is not None:
            stop = min(stop, settled)
        if segment.status in PAUSED:
            continue
        due = due_of(segment)
        if due is not None and due < stop:
            return max(due, segment.start)
    return None


def paused_minutes_before(
    calendar: BusinessCalendar,
    segments: Sequence[_Segment],
    moment: datetime,
    business_days_only: bool,
) -> int:
    total = 0
    for index, segment in enumerate(segments):
        if segment.start >= moment:
            break
        if segment.status in PAUSED:
            stop = segments[index + 1].start if index + 1 < len(segments) else moment
            total += calendar.support_minutes_between(
                segment.start, min(stop, moment), business_days_only=business_days_only
            )
    return total


@dataclass
class _Tally:
    first_response_times: list[float] = field(default_factory=list)
    resolution_times: list[float] = field(default_factory=list)
    sla: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0]))
    taken: Counter[int] = field(default_factory=Counter)
    resolved: Counter[int] = field(default_factory=Counter)
    reopened: Counter[int] = field(default_factory=Counter)
    agent_first_responses: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))


def _within(moment: datetime | None, period: Period) -> bool:
    return moment is not None and period.start <= moment < period.end


def _inside(events: Sequence[EventRow], period: Period) -> list[EventRow]:
    start, end = period.start, period.end
    return [e for e in events if start <= e.created_at < end]


def _ticket_figures(
    calendar: BusinessCalendar,
    period: Period,
    ticket: TicketRow,
    events: Sequence[EventRow],
    tariff: TariffRow | None,
    tally: _Tally,
) -> None:
    """One request's share of the SLA, the times and the agents' lines."""
    business_days_only = tariff.business_days_only if tariff else False
    tariff_name = tariff.name if tariff else "—"
    segments = timeline(events)

    def minutes(start: datetime, end: datetime) -> int:
        return calendar.support_minutes_between(start, end, business_days_only=business_days_only)

    first = next((e for e in events if e.action in FIRST_RESPONSES), None)
    first_at = first.created_at if first else None
    breach = breach_moment(segments, lambda s: s.first_response_due, first_at, period.end)
    if breach is not None:
        if _within(breach, period):
            tally.sla[tariff_name][1] += 1
    elif first is not None and _within(first_at, period):
        tally.sla[tariff_name][0] += 1
    if first is not None and _within(first_at, period):
        spent = float(minutes(ticket.created_at, first.created_at))
        tally.first_response_times.append(spent)
        if first.actor_agent_id is not None:
            tally.agent_first_responses[first.actor_agent_id].append(spent)

    resolves = [e for e in events if e.action == "resolve"]
    resolved_at = resolves[0].created_at if resolves else None
    breach = breach_moment(segments, lambda s: s.resolution_due, resolved_at, period.end)
    if breach is not None:
        if _within(breach, period):
            tally.sla[tariff_name][3] += 1
    elif resolved_at is not None and _within(resolved_at, period):
        tally.sla[tariff_name][2] += 1

    last_resolver: int | None = None
    start, end = period.start, period.end
    for event in events:
        inside = start <= event.created_at < end
        if event.action == "resolve":
            if inside:
                waited = paused_minutes_before(
                    calendar, segments, event.created_at, business_days_only
                )
                tally.resolution_times.append(
                    float(minutes(ticket.created_at, event.created_at) - waited)
                )
                if event.actor_agent_id is not None:
                    tally.resolved[event.actor_agent_id] += 1
            last_resolver = event.actor_agent_id
        elif event.action in ("take", "assign") and inside:
            assignee = event.after.get("assignee_id")
            if isinstance(assignee, int):
                tally.taken[assignee] += 1
        elif event.action == "reopen" and inside and last_resolver is not None:
            tally.reopened[last_resolver] += 1


def backlog_delta(event: EventRow) -> int:
    """How an event moves the backlog (requests not closed)."""
    if event.action == "create":
        return 1
    if event.action in CLOSES:
        return -1
    if event.action == "reopen" and event.before.get("status") == "closed":
        return 1
    return 0


def close_reason(event: EventRow) -> str:
    return CLOSES[event.action] or str(event.after.get("close_reason") or "other")


def at_risk(
    calendar: BusinessCalendar,
    now: datetime,
    clocks: Iterable[OpenRow],
    tariffs: Mapping[int, TariffRow],
) -> int:
    """Requests in work past ``AT_RISK_SHARE`` of a target and not yet past a due time."""
    count = 0
    for row in clocks:
        tariff = tariffs.get(row.tariff_id)
        targets = tariff.targets.get(row.priority) if tariff else None
        if tariff is None or targets is None:
            continue
        first_due = None if row.first_responded else row.first_response_due_at
        if first_due is not None and first_due <= now:
            continue  # already breached, not "at risk"
        if row.resolution_due_at is None or row.resolution_due_at <= now:
            continue
        for target in (targets[1], targets[0]) if first_due is not None else (targets[1],):
            moment = at_risk_moment(
                calendar,
                row.created_at,
                target,
                row.paused_minutes,
                business_days_only=tariff.business_days_only,
            )
            if moment <= now:
                count += 1
                break
    return count


def chart_days(
    period: Period,
    now: datetime,
    tz: ZoneInfo,
    flow: Sequence[EventRow],
    backlog_now: int,
    days: int = CHART_DAYS,
) -> list[ChartDay]:
    """Opened and closed per local day for the ``days`` up to the period's last, and the backlog
    at each day's end (the backlog now, less what happened after that day)."""
    first = period.last_day - timedelta(days=days - 1)
    opened: Counter[date] = Counter()
    closed: Counter[date] = Counter()
    # The backlog's movement up to each event, to subtract what came after a day's end.
    moments: list[datetime] = []
    running: list[int] = [0]
    for event in sorted(flow, key=lambda e: e.created_at):
        day = event.created_at.astimezone(tz).date()
        if event.action == "create":
            opened[day] += 1
        elif event.action in CLOSES:
            closed[day] += 1
        moments.append(event.created_at)
        running.append(running[-1] + backlog_delta(event))
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        day_end = _midnight(day + timedelta(days=1), tz)
        later = running[-1] - running[bisect_left(moments, day_end)]
        backlog = backlog_now - later if day_end <= now else backlog_now
        result.append(ChartDay(day.isoformat(), opened[day], closed[day], backlog))
    return result


def flow_since(period: Period, tz: ZoneInfo, days: int = CHART_DAYS) -> datetime:
    """From when the backlog's movements are needed: the chart's first day or the period's."""
    return min(_midnight(period.last_day - timedelta(days=days - 1), tz), period.start)


def compute(
    *,
    period: Period,
    now: datetime,
    calendar: BusinessCalendar,
    tickets: Sequence[TicketRow],
    history: Sequence[EventRow],
    ratings: Sequence[EventRow],
    flow: Sequence[EventRow],
    backlog: Mapping[tuple[str, int], int],
    clocks: Sequence[OpenRow],
    oldest: Sequence[OpenRow],
    tariffs: Mapping[int, TariffRow],
    agent_names: Mapping[int, str],
) -> Digest:
    """The digest of ``period`` as of ``now``.

    ``history``: every event (sorted by request, then time) up to the period's end
    of the requests open at some moment of it (``tickets``); ``ratings``: the
    rating events of the period; ``flow``: the backlog's movements from
    :func:`flow_since` until now; ``backlog``, ``clocks``, ``oldest``: now.
    """
    tz = calendar.hours.tz
    by_ticket: dict[int, list[EventRow]] = defaultdict(list)
    for event in history:
        by_ticket[event.ticket_id].append(event)
    tally = _Tally()
    new_kind: Counter[str] = Counter()
    new_priority: Counter[str] = Counter()
    new_channel: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    resolved = reopened = 0
    for ticket in tickets:
        events = by_ticket.get(ticket.id, [])
        _ticket_figures(calendar, period, ticket, events, tariffs.get(ticket.tariff_id), tally)
        for event in _inside(events, period):
            if event.action == "create":
                new_kind[str(event.after.get("kind"))] += 1
                new_priority[str(event.after.get("priority"))] += 1
                new_channel[str(event.after.get("channel"))] += 1
            elif event.action == "resolve":
                resolved += 1
            elif event.action == "reopen":
                reopened += 1
            elif event.action in CLOSES:
                closed[close_reason(event)] += 1
    scores = [int(e.after["rating"]) for e in ratings if isinstance(e.after.get("rating"), int)]
    by_status: Counter[str] = Counter()
    by_priority: Counter[str] = Counter()
    for (status, priority), count in backlog.items():
        by_status[status] += count
        by_priority[str(priority)] += count
    total = sum(by_status.values())
    change = sum(backlog_delta(e) for e in flow if _within(e.created_at, period))
    agents = sorted({*tally.taken, *tally.resolved, *tally.reopened, *tally.agent_first_responses})
    lines = [
        AgentLine(
            name=agent_names.get(agent, str(agent)),
            taken=tally.taken[agent],
            resolved=tally.resolved[agent],
            first_response_median=median(tally.agent_first_responses.get(agent, [])),
            reopened=tally.reopened[agent],
        )
        for agent in agents
    ]
    lines.sort(key=lambda line: (-line.resolved, -line.taken, line.name))
    return Digest(
        kind=period.kind.value,
        first_day=period.first_day.isoformat(),
        last_day=period.last_day.isoformat(),
        computed_at=now.isoformat(),
        new_total=sum(new_kind.values()),
        new_by_kind=dict(new_kind),
        new_by_priority=dict(sorted(new_priority.items())),
        new_by_channel=dict(new_channel),
        resolved=resolved,
        closed={reason: closed[reason] for reason in CLOSE_REASONS if closed[reason]},
        reopened=reopened,
        backlog_total=total,
        backlog_by_status=dict(by_status),
        backlog_by_priority=dict(sorted(by_priority.items())),
        backlog_change=change,
        sla=[SlaLine(name, *counts) for name, counts in sorted(tally.sla.items())],
        at_risk=at_risk(calendar, now, clocks, tariffs),
        first_response_median=median(tally.first_response_times),
        first_response_p90=percentile(tally.first_response_times, 0.9),
        resolution_median=median(tally.resolution_times),
        resolution_p90=percentile(tally.resolution_times, 0.9),
        rating_average=round(sum(scores) / len(scores), 2) if scores else None,
        rating_count=len(scores),
        agents=lines,
        oldest=[
            OpenLine(
                r.number,
                r.topic,
                r.status,
                r.priority,
                r.created_at.isoformat(),
                r.backoffice_message_id,
            )
            for r in oldest
        ],
        chart=chart_days(period, now, tz, flow, total),
    )
