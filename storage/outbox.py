"""The outbox table as the sender uses it: due rows, claims, and their outcomes.

Only SQL; when to retry and what to send is the sender's business (``tgkit.outbox``).
Statuses are the column's values (``desk.model.OutboxStatus`` names the same three).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, case, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Outbox

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
ERROR_LIMIT = 2000


async def due(session: AsyncSession, now: datetime, limit: int) -> Sequence[Outbox]:
    """Pending rows due by ``now``, most urgent first, at most one per chat."""
    return (await session.execute(_due_query(now, limit))).scalars().all()


def _due_query(now: datetime, limit: int) -> Select[Outbox]:
    earlier = aliased(Outbox)
    # Only the oldest pending row of each chat: order within a chat is kept
    # even when a later row is more urgent.
    blocked = exists().where(
        and_(
            earlier.chat_id == Outbox.chat_id,
            earlier.status == PENDING,
            earlier.id < Outbox.id,
        )
    )
    # Most urgent request first; at equal priority the customer before the agents.
    audience_rank = case((Outbox.audience == "customer", 0), else_=1)
    return (
        select(Outbox)
        .where(Outbox.status == PENDING, Outbox.next_attempt_at <= now, ~blocked)
        .order_by(Outbox.priority, audience_rank, Outbox.id)
        .limit(limit)
    )


async def claim_due(
    session: AsyncSession, now: datetime, limit: int, lease: timedelta
) -> Sequence[Outbox]:
    """Take up to ``limit`` due rows (one per chat) for ``lease``, counting the attempt.

    On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED``: replicas
    draining at the same moment take different rows instead of waiting on each
    other. SQLite serialises writers, and the lease written here keeps the rows
    from being taken again. Call inside a transaction.
    """
    query = _due_query(now, limit).with_for_update(skip_locked=True, of=Outbox)
    rows = (await session.execute(query)).scalars().all()
    if not rows:
        return rows
    await session.execute(
        update(Outbox)
        .where(Outbox.id.in_([r.id for r in rows]))
        .values(next_attempt_at=now + lease, attempts=Outbox.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + lease
    return rows


async def merge_card_edits(session: AsyncSession, row: Outbox, now: datetime) -> int:
    """Mark the later pending edits of ``row``'s card as sent with it; returns how many.

    Cards are rendered from the request's current state, so one edit shows
    everything the rows written before it asked for. A busy request then costs
    the group one edit instead of one per change (20 messages a minute per group).
    """
    if row.kind != "backoffice.card" or row.method != "edit" or row.ticket_id is None:
        return 0
    result = await session.execute(
        update(Outbox)
        .where(
            Outbox.status == PENDING,
            Outbox.ticket_id == row.ticket_id,
            Outbox.chat_id == row.chat_id,
            Outbox.kind == row.kind,
            Outbox.method == "edit",
            Outbox.id > row.id,
        )
        .values(status=SENT, sent_at=now, last_error=f"merged into {row.id}")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def hand_back(session: AsyncSession, row_ids: Sequence[int], now: datetime) -> None:
    """Rows claimed by a stopping sender and not sent: due again now, the attempt uncounted."""
    if row_ids:
        await session.execute(
            update(Outbox)
            .where(Outbox.id.in_(list(row_ids)), Outbox.status == PENDING)
            .values(next_attempt_at=now, attempts=Outbox.attempts - 1)
            .execution_options(synchronize_session=False)
        )


async def renew_leases(
    session: AsyncSession, held: Mapping[int, datetime], until: datetime
) -> list[int]:
    """Extend the leases ``held`` (row id → the lease the sender wrote) to ``until``.

    Only a row still under the lease its sender wrote is extended: a row whose
    outcome was written meanwhile (sent, failed, or due again after a 429) keeps it.
    Returns the rows extended.
    """
    renewed = []
    for row_id, lease in held.items():
        result = await session.execute(
            update(Outbox)
            .where(Outbox.id == row_id, Outbox.status == PENDING, Outbox.next_attempt_at == lease)
            .values(next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            renewed.append(row_id)
    return renewed


async def claim(session: AsyncSession, row_id: int, now: datetime, lease: timedelta) -> bool:
    """Take a due row for ``lease`` and count the attempt; False when another sender was first."""
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id == row_id, Outbox.status == PENDING, Outbox.next_attempt_at <= now)
        .values(next_attempt_at=now + lease, attempts=Outbox.attempts + 1)
    )
    return getattr(result, "rowcount", 0) == 1


async def pending_due_times(session: AsyncSession) -> Sequence[datetime]:
    """When each pending row is due, earliest first."""
    query = (
        select(Outbox.next_attempt_at)
        .where(Outbox.status == PENDING)
        .order_by(Outbox.next_attempt_at)
    )
    return (await session.execute(query)).scalars().all()


async def mark_sent(
    session: AsyncSession, row_id: int, now: datetime, message_id: int | None
) -> None:
    stored = await session.get(Outbox, row_id)
    if stored is not None:
        stored.status = SENT
        stored.sent_at = now
        stored.sent_message_id = message_id
        stored.last_error = None


async def mark_retry(session: AsyncSession, row_id: int, due_at: datetime, error: str) -> None:
    stored = await session.get(Outbox, row_id)
    if stored is not None:
        stored.next_attempt_at = due_at
        stored.last_error = error[:ERROR_LIMIT]


async def mark_failed(session: AsyncSession, row_id: int, error: str) -> None:
    stored = await session.get(Outbox, row_id)
    if stored is not None:
        stored.status = FAILED
        stored.last_error = error[:ERROR_LIMIT]
