"""What ``/metrics`` and ``/ready`` read from the database at scrape time (only SQL).

Computed on each scrape rather than counted in a process, so every replica
reports the same figures of the shared database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Outbox, Ticket

BREACHES = ("first_response_breached", "resolution_breached")


@dataclass(frozen=True)
class Figures:
    outbox_pending: int
    outbox_oldest: datetime | None  # when the oldest pending row was written
    open_requests: dict[tuple[str, int], int]  # (status, priority) -> count
    breaches: dict[str, int]  # recorded breach alert -> requests that have it


async def figures(session: AsyncSession) -> Figures:
    pending = (
        await session.execute(
            select(func.count(Outbox.id), func.min(Outbox.created_at)).where(
                Outbox.status == "pending"
            )
        )
    ).one()
    rows = await session.execute(
        select(Ticket.status, Ticket.priority, func.count(Ticket.id))
        .where(Ticket.status != "closed")
        .group_by(Ticket.status, Ticket.priority)
    )
    breaches = {}
    for alert in BREACHES:
        query = select(func.count(Ticket.id)).where(Ticket.sla_alerts.contains(alert))
        breaches[alert] = int((await session.execute(query)).scalar_one())
    return Figures(
        outbox_pending=int(pending[0]),
        outbox_oldest=pending[1],
        open_requests={(str(s), int(p)): int(n) for s, p, n in rows},
        breaches=breaches,
    )


async def schema_revision(session: AsyncSession) -> str | None:
    """The migration the database is at (None before the first one)."""
    connection = await session.connection()

    def read(sync: Connection) -> str | None:
        return MigrationContext.configure(sync).get_current_revision()

    return await connection.run_sync(read)
