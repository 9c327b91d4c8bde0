"""The outbox table as the sender uses it: due rows, claims, and their outcomes.

Only SQL; when to retry and what to send is the sender's business (``tgkit.outbox``).
Statuses are the column's values (``desk.model.OutboxStatus`` names the same three).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Outbox

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
ERROR_LIMIT = 2000


async def due(session: AsyncSession, now: datetime, limit: int) -> Sequence[Outbox]:
    """Pending rows due by ``now``, most urgent first, at most one per chat."""
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
    query = (
        select(Outbox)
        .where(Outbox.status == PENDING, Outbox.next_attempt_at <= now, ~blocked)
        .order_by(Outbox.priority, Outbox.id)
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()


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
