"""What a digest reads: the history of a period, the backlog now, and the record of digests sent.

Only SQL, returning plain rows; the arithmetic is ``desk/digest.py``. Every
figure of a past period is derived from ``ticket_events`` (append-only), so a
digest recomputed later gives the same numbers; only what is labelled "now"
(the backlog, requests at risk, the oldest open ones) reads the requests'
current state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agent, DigestSent, SlaTarget, Tariff, Ticket, TicketEvent

OPEN_STATUSES = ("new", "in_progress", "waiting_customer", "resolved")
# Actions that move a request in or out of the backlog (desk.model.Action values).
FLOW_ACTIONS = ("create", "confirm", "withdraw", "close", "auto_close", "reopen")
# Actions that change nothing a digest reads of a request (status, due times,
# assignee, first response): left out of the history it loads.
QUIET_ACTIONS = (
    "note",
    "edit",
    "rate",
    "sla_warning",
    "customer_blocked",
    "auto_close_reminder",
    "waiting_reminder",
    "split",
)


@dataclass(frozen=True)
class TicketRow:
    id: int
    number: int
    tariff_id: int
    created_at: datetime


class EventRow(NamedTuple):
    """A history event as a digest reads it (a tuple: tens of thousands are made per digest)."""

    ticket_id: int
    action: str
    created_at: datetime
    actor_agent_id: int | None
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True)
class OpenRow:
    """An open request as it is now (for "at risk now" and "the oldest open")."""

    number: int
    topic: str
    status: str
    priority: int
    tariff_id: int
    created_at: datetime
    paused: bool
    paused_minutes: int
    first_responded: bool
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    # Where it lives in the backoffice: its forum topic, or its card.
    backoffice_message_id: int | None = None


@dataclass(frozen=True)
class TariffRow:
    id: int
    name: str
    business_days_only: bool
    # priority -> (first response, resolution) in support-hours minutes
    targets: dict[int, tuple[int, int]]


def _event(row: Any) -> EventRow:
    return EventRow(
        row.ticket_id,
        row.action,
        row.created_at,
        row.actor_agent_id,
        row.before or {},
        row.after or {},
    )


_EVENT_COLUMNS = (
    TicketEvent.ticket_id,
    TicketEvent.action,
    TicketEvent.created_at,
    TicketEvent.actor_agent_id,
    TicketEvent.before,
    TicketEvent.after,
)


def _open_during(start: datetime, end: datetime) -> Any:
    # Open at some moment of [start, end): created before its end and not closed
    # before its start. ``closed_at`` is the last close (a reopen clears it), so
    # a request closed before the period and never reopened is the only one left out.
    return (Ticket.created_at < end) & (or_(Ticket.closed_at.is_(None), Ticket.closed_at >= start))


async def period_tickets(
    session: AsyncSession, start: datetime, end: datetime
) -> Sequence[TicketRow]:
    """The requests open at some moment of [start, end)."""
    query = select(Ticket.id, Ticket.number, Ticket.tariff_id, Ticket.created_at).where(
        _open_during(start, end)
    )
    rows = await session.execute(query)
    return [TicketRow(r.id, r.number, r.tariff_id, r.created_at) for r in rows]


async def period_history(
    session: AsyncSession, start: datetime, end: datetime
) -> Sequence[EventRow]:
    """The history up to ``end`` of the requests open during [start, end), in order.

    Without ``before`` (nothing reads it) and without the actions that change
    nothing a digest reads (``QUIET_ACTIONS``).
    """
    query = (
        select(
            TicketEvent.ticket_id,
            TicketEvent.action,
            TicketEvent.created_at,
            TicketEvent.actor_agent_id,
            TicketEvent.after,
        )
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(
            _open_during(start, end),
            TicketEvent.created_at < end,
            TicketEvent.action.not_in(QUIET_ACTIONS),
        )
        .order_by(TicketEvent.ticket_id, TicketEvent.created_at, TicketEvent.id)
    )
    rows = await session.execute(query)
    return [EventRow(r[0], r[1], r[2], r[3], {}, r[4] or {}) for r in rows]


async def events_between(
    session: AsyncSession, start: datetime, end: datetime | None, actions: Sequence[str]
) -> Sequence[EventRow]:
    """Events of the given actions in [start, end) (to the last one when ``end`` is None)."""
    query = select(*_EVENT_COLUMNS).where(
        TicketEvent.created_at >= start, TicketEvent.action.in_(list(actions))
    )
    if end is not None:
        query = query.where(TicketEvent.created_at < end)
    query = query.order_by(TicketEvent.created_at, TicketEvent.id)
    return [_event(r) for r in await session.execute(query)]


async def backlog_now(session: AsyncSession) -> dict[tuple[str, int], int]:
    """Open requests now, counted by (status, priority)."""
    query = (
        select(Ticket.status, Ticket.priority, func.count())
        .where(Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.status, Ticket.priority)
    )
    return {(status, priority): count for status, priority, count in await session.execute(query)}


def _open_row(t: Any) -> OpenRow:
    return OpenRow(
        number=t.number,
        topic=t.topic,
        status=t.status,
        priority=t.priority,
        tariff_id=t.tariff_id,
        created_at=t.created_at,
        paused=t.paused_at is not None,
        paused_minutes=t.paused_minutes,
        first_responded=t.first_responded_at is not None,
        first_response_due_at=t.first_response_due_at,
        resolution_due_at=t.resolution_due_at,
        backoffice_message_id=t.forum_thread_id or t.card_message_id,
    )


_OPEN_COLUMNS = (
    Ticket.number,
    Ticket.topic,
    Ticket.status,
    Ticket.priority,
    Ticket.tariff_id,
    Ticket.created_at,
    Ticket.paused_at,
    Ticket.paused_minutes,
    Ticket.first_responded_at,
    Ticket.first_response_due_at,
    Ticket.resolution_due_at,
    Ticket.forum_thread_id,
    Ticket.card_message_id,
)


async def running_clocks(session: AsyncSession, now: datetime) -> Sequence[OpenRow]:
    """Requests in work whose clock runs now and whose resolution is not yet overdue."""
    query = select(*_OPEN_COLUMNS).where(
        Ticket.status.in_(("new", "in_progress")),
        Ticket.paused_at.is_(None),
        Ticket.resolution_due_at > now,
    )
    return [_open_row(r) for r in await session.execute(query)]


async def oldest_open(session: AsyncSession, limit: int) -> Sequence[OpenRow]:
    query = (
        select(*_OPEN_COLUMNS)
        .where(Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.created_at, Ticket.id)
        .limit(limit)
    )
    return [_open_row(r) for r in await session.execute(query)]


async def tariffs(session: AsyncSession) -> dict[int, TariffRow]:
    found: dict[int, TariffRow] = {}
    for tariff in (await session.execute(select(Tariff))).scalars():
        found[tariff.id] = TariffRow(tariff.id, tariff.name, tariff.business_days_only, {})
    for target in (await session.execute(select(SlaTarget))).scalars():
        found[target.tariff_id].targets[target.priority] = (
            target.first_response_minutes,
            target.resolution_minutes,
        )
    return found


async def agent_names(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = select(Agent.id, Agent.name, Agent.username, Agent.telegram_user_id).where(
        Agent.id.in_(list(ids))
    )
    return {
        r.id: r.name or (f"@{r.username}" if r.username else str(r.telegram_user_id))
        for r in await session.execute(query)
    }


async def staff_languages(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, str | None]:
    """The language each staff member's Telegram client last said, by Telegram user id."""
    if not user_ids:
        return {}
    query = select(Agent.telegram_user_id, Agent.language).where(
        Agent.telegram_user_id.in_(list(user_ids))
    )
    return {r.telegram_user_id: r.language for r in await session.execute(query)}


async def record_digest(
    session: AsyncSession, kind: str, period: str, recipient: int, now: datetime
) -> None:
    """Record the digest as sent to ``recipient``.

    Raises ``IntegrityError`` when it already was: the caller's transaction
    (with the digest's outbox rows) must then roll back whole. First in the
    transaction, so that a second replica waits on the key, not on the work.
    """
    session.add(DigestSent(kind=kind, period=period, recipient=recipient, created_at=now))
    await session.flush()


async def digests_sent(session: AsyncSession) -> Sequence[DigestSent]:
    query = select(DigestSent).order_by(DigestSent.id)
    return (await session.execute(query)).scalars().all()


async def recorded_recipients(session: AsyncSession, kind: str, period: str) -> set[int]:
    query = select(DigestSent.recipient).where(DigestSent.kind == kind, DigestSent.period == period)
    return set((await session.execute(query)).scalars())
