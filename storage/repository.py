"""Queries the desk asks often, in one place.

Functions take the caller's session: the desk decides where a transaction
begins and ends, so that a change, its history and its outbox rows commit
together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Row, Table, and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    INTEGER_MAX,
    Agent,
    ApiIdempotency,
    Attachment,
    Counter,
    Customer,
    Message,
    Organisation,
    Outbox,
    ProcessedUpdate,
    SlaTarget,
    Tariff,
    Ticket,
    TicketEvent,
    Upload,
)

# The desk's status sets as stored (strings). Storage may not import the desk, so
# they are spelled here; tests/storage checks them against desk.lifecycle's
# OPEN and WORKING, where their meaning is written.
OPEN_STATUSES = ("new", "in_progress", "waiting_customer", "resolved")
WORKING_STATUSES = ("new", "in_progress", "waiting_customer")


async def allocate_number(session: AsyncSession, counter: str = "ticket") -> int:
    """Next request number.

    The row lock taken by the UPDATE is held until the caller's transaction
    ends, so concurrent creators queue here and numbers stay consecutive; a
    rolled-back number was never visible, so none is ever reused.
    """
    result = await session.execute(
        update(Counter)
        .where(Counter.name == counter)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    return int(result.scalar_one())


async def ticket_by_number(
    session: AsyncSession, number: int, *, for_update: bool = False
) -> Ticket | None:
    if not 0 < number <= INTEGER_MAX:
        return None  # a number people typed that no column can hold: no such request
    query = select(Ticket).where(Ticket.number == number)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def ticket_by_intake(session: AsyncSession, customer_id: int, key: str) -> Ticket | None:
    """The request a customer's intake (by its key) already filed, if any."""
    query = select(Ticket).where(Ticket.customer_id == customer_id, Ticket.intake_key == key)
    return (await session.execute(query)).scalar_one_or_none()


async def message_from(
    session: AsyncSession, ticket_id: int, source_chat_id: int, source_message_id: int
) -> bool:
    """Whether the message written at (chat, message id) is recorded in the request."""
    query = select(Message.id).where(
        Message.ticket_id == ticket_id,
        Message.source_chat_id == source_chat_id,
        Message.source_message_id == source_message_id,
    )
    return (await session.execute(query.limit(1))).first() is not None


async def ticket_by_id(
    session: AsyncSession, ticket_id: int, *, for_update: bool = False
) -> Ticket | None:
    query = select(Ticket).where(Ticket.id == ticket_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def default_tariff(session: AsyncSession) -> Tariff:
    query = select(Tariff).order_by(Tariff.is_default.desc(), Tariff.id).limit(1)
    tariff = (await session.execute(query)).scalar_one_or_none()
    if tariff is None:
        raise LookupError("no tariffs: run `python -m bot migrate`")
    return tariff


async def customer_by_telegram_id(session: AsyncSession, user_id: int) -> Customer | None:
    query = select(Customer).where(Customer.telegram_user_id == user_id)
    return (await session.execute(query)).scalar_one_or_none()


@dataclass(frozen=True)
class Sighting:
    """A person's update as it names them: who they say they are now."""

    user_id: int
    name: str
    username: str | None
    language: str | None


@dataclass(frozen=True)
class CustomerSeen:
    """What a person's update may change of their customer row (see ``seen_customers``)."""

    id: int
    language: str | None


async def seen_customers(
    session: AsyncSession, sightings: Sequence[Sighting]
) -> list[CustomerSeen]:
    """The customers behind Telegram users, created on first sight, kept up to date.

    One result per sighting, in their order. This runs on the first update of
    every person (and again when the desk's cache of them expires), for many
    people at once in a burst (``desk.people``), so it is a few statements
    whatever their number: one read of them all; one multi-row insert of those
    not found; one update of those whose row changed. Core statements on
    columns, not the ORM objects.

    The read comes before the insert, not an insert that skips conflicts:
    people seen again are the usual case, and an insert, even one that adds
    nothing, takes SQLite's write lock (and burns PostgreSQL sequence values).
    Nothing is written when nothing changed. Someone inserted meanwhile by
    another transaction (two replicas, two processes) is skipped by the
    insert's ``ON CONFLICT DO NOTHING`` and read again: one row, one id.

    A language chosen with /lang outlives the Telegram client's; a message from
    someone who had blocked the bot means they are reachable again. When one
    person is sighted more than once, the last sighting is what is written.
    """
    latest = {sighting.user_id: sighting for sighting in sightings}
    if not latest:
        return []
    stored = await _customers_seen_before(session, list(latest))
    missing = [sighting for user_id, sighting in latest.items() if user_id not in stored]
    new_ids: dict[int, int] = {}
    if missing:
        new_ids = await _insert_customers(session, missing)
        lost = [sighting.user_id for sighting in missing if sighting.user_id not in new_ids]
        if lost:
            stored.update(await _customers_seen_before(session, lost))
    changes: list[dict[str, object]] = []
    for user_id, row in stored.items():
        sighting = latest[user_id]
        kept = row.language or sighting.language
        now = (sighting.name, sighting.username, kept, None)
        if (row.name, row.username, row.language, row.blocked_bot_at) != now:
            changes.append(
                {
                    "id": row.id,
                    "name": sighting.name,
                    "username": sighting.username,
                    "language": kept,
                    "blocked_bot_at": None,
                }
            )
    if changes:
        # Bulk UPDATE by primary key: one statement, executed for every row.
        await session.execute(update(Customer), changes)
    results: list[CustomerSeen] = []
    for sighting in sightings:
        if sighting.user_id in new_ids:
            # Inserted with the last sighting's language, which another sighting
            # of the same person in this batch keeps (as a stored one is kept).
            inserted = latest[sighting.user_id].language
            language = inserted or sighting.language
            results.append(CustomerSeen(new_ids[sighting.user_id], language))
        else:
            row = stored[sighting.user_id]
            results.append(CustomerSeen(row.id, row.language or sighting.language))
    return results


# A customer row as ``seen_customers`` compares it with a sighting.
_SeenRow = Row[int | None, int, str, str | None, str | None, datetime | None]


async def _customers_seen_before(
    session: AsyncSession, user_ids: Sequence[int]
) -> dict[int, _SeenRow]:
    query = select(
        Customer.telegram_user_id,
        Customer.id,
        Customer.name,
        Customer.username,
        Customer.language,
        Customer.blocked_bot_at,
    ).where(Customer.telegram_user_id.in_(user_ids))
    rows = await session.execute(query)
    return {user_id: row for row in rows if (user_id := row.telegram_user_id) is not None}


async def _insert_customers(session: AsyncSession, sightings: Sequence[Sighting]) -> dict[int, int]:
    """Telegram user id → new customer id of those inserted; others already had a row."""
    dialect = session.get_bind().dialect.name
    insert_into = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = cast(Table, Customer.__table__)
    # On the table, with the rows as parameters: SQLAlchemy sends them as one
    # multi-row INSERT ("insertmanyvalues") from a compiled statement it caches;
    # rows inlined with .values() are compiled anew for every batch.
    statement = (
        insert_into(table)
        .on_conflict_do_nothing(index_elements=[table.c.telegram_user_id])
        .returning(table.c.telegram_user_id, table.c.id)
    )
    params = [
        {
            "telegram_user_id": sighting.user_id,
            "name": sighting.name,
            "username": sighting.username,
            "language": sighting.language,
        }
        for sighting in sightings
    ]
    rows = await session.execute(statement, params)
    return {user_id: new_id for user_id, new_id in rows if user_id is not None}


async def agent_by_telegram_id(session: AsyncSession, user_id: int) -> Agent | None:
    query = select(Agent).where(Agent.telegram_user_id == user_id)
    return (await session.execute(query)).scalar_one_or_none()


async def customer_tickets(
    session: AsyncSession, customer_id: int, *, offset: int = 0, limit: int = 10
) -> Sequence[Ticket]:
    closed_last = Ticket.status == "closed"
    query = (
        select(Ticket)
        .where(Ticket.customer_id == customer_id)
        .order_by(closed_last, Ticket.updated_at.desc(), Ticket.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()


async def open_queue(
    session: AsyncSession, *, assignee_id: int | None = None, offset: int = 0, limit: int = 20
) -> Sequence[Ticket]:
    query = select(Ticket).where(Ticket.status.in_(WORKING_STATUSES))
    if assignee_id is not None:
        query = query.where(Ticket.assignee_id == assignee_id)
    query = query.order_by(
        Ticket.priority, Ticket.resolution_due_at.is_(None), Ticket.resolution_due_at, Ticket.id
    )
    return (await session.execute(query.offset(offset).limit(limit))).scalars().all()


async def ticket_events(
    session: AsyncSession, ticket_id: int, *, include_internal: bool
) -> Sequence[TicketEvent]:
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
    if not include_internal:
        query = query.where(TicketEvent.internal.is_(False))
    return (await session.execute(query.order_by(TicketEvent.id))).scalars().all()


async def due_for_auto_close(session: AsyncSession, now: datetime) -> Sequence[int]:
    query = select(Ticket.id).where(Ticket.status == "resolved", Ticket.auto_close_at <= now)
    return (await session.execute(query.order_by(Ticket.auto_close_at))).scalars().all()


async def due_for_reminder(session: AsyncSession, now: datetime) -> Sequence[int]:
    query = select(Ticket.id).where(
        Ticket.status == "resolved",
        Ticket.reminder_sent_at.is_(None),
        Ticket.auto_close_reminder_at <= now,
    )
    return (await session.execute(query.order_by(Ticket.auto_close_reminder_at))).scalars().all()


async def outbox_rows(session: AsyncSession, ticket_id: int | None = None) -> Sequence[Outbox]:
    query = select(Outbox)
    if ticket_id is not None:
        query = query.where(Outbox.ticket_id == ticket_id)
    return (await session.execute(query.order_by(Outbox.id))).scalars().all()


async def event_by_id(session: AsyncSession, event_id: int) -> TicketEvent | None:
    return await session.get(TicketEvent, event_id)


async def message_by_ref(session: AsyncSession, chat_id: int, message_id: int) -> Message | None:
    """The relay pair a Telegram message belongs to, whichever side of it this is."""
    query = select(Message).where(
        or_(
            and_(Message.source_chat_id == chat_id, Message.source_message_id == message_id),
            and_(Message.copy_chat_id == chat_id, Message.copy_message_id == message_id),
        )
    )
    return (await session.execute(query.order_by(Message.id).limit(1))).scalar_one_or_none()


async def ticket_by_card(session: AsyncSession, message_id: int) -> Ticket | None:
    query = select(Ticket).where(Ticket.card_message_id == message_id)
    return (await session.execute(query.limit(1))).scalar_one_or_none()


async def ticket_by_thread(session: AsyncSession, thread_id: int) -> Ticket | None:
    query = select(Ticket).where(Ticket.forum_thread_id == thread_id)
    return (await session.execute(query.limit(1))).scalar_one_or_none()


async def open_tickets_of(session: AsyncSession, customer_id: int) -> Sequence[Ticket]:
    query = select(Ticket).where(
        Ticket.customer_id == customer_id, Ticket.status.in_(OPEN_STATUSES)
    )
    return (await session.execute(query.order_by(Ticket.id))).scalars().all()


async def agents(session: AsyncSession) -> Sequence[Agent]:
    query = select(Agent).order_by(Agent.name, Agent.id)
    return (await session.execute(query)).scalars().all()


async def attachments_of(
    session: AsyncSession, ticket_id: int, *, message_id: int | None = None
) -> Sequence[Attachment]:
    """The request's own files (``message_id`` None) or those of one relayed message."""
    query = select(Attachment).where(Attachment.ticket_id == ticket_id)
    if message_id is None:
        query = query.where(Attachment.message_id.is_(None))
    else:
        query = query.where(Attachment.message_id == message_id)
    return (await session.execute(query.order_by(Attachment.id))).scalars().all()


async def search_tickets(
    session: AsyncSession,
    *,
    text: str | None = None,
    username: str | None = None,
    limit: int = 20,
) -> Sequence[Ticket]:
    """Requests of any status by words of their topic or description, or by @username."""
    query = select(Ticket)
    if username:
        query = query.join(Customer, Customer.id == Ticket.customer_id).where(
            func.lower(Customer.username) == username.lower()
        )
    if text:
        needle = f"%{text.lower().replace('%', '').replace('_', '')}%"
        query = query.where(
            or_(func.lower(Ticket.topic).like(needle), func.lower(Ticket.description).like(needle))
        )
    closed_last = Ticket.status == "closed"
    query = query.order_by(closed_last, Ticket.updated_at.desc(), Ticket.id.desc()).limit(limit)
    return (await session.execute(query)).scalars().all()


async def open_counts(
    session: AsyncSession, now: datetime
) -> tuple[dict[str, int], dict[int, int], int, int]:
    """Requests in work by status and by priority, overdue ones and unassigned ones.

    Overdue is ``desk.sla.is_overdue`` in SQL: in work, clock running, past
    the resolution due time or past the first-response due time unanswered.
    """
    working = Ticket.status.in_(WORKING_STATUSES)
    by_status = dict(
        (
            await session.execute(
                select(Ticket.status, func.count()).where(working).group_by(Ticket.status)
            )
        ).all()
    )
    by_priority = dict(
        (
            await session.execute(
                select(Ticket.priority, func.count()).where(working).group_by(Ticket.priority)
            )
        ).all()
    )
    overdue_clause = and_(
        working,
        Ticket.paused_at.is_(None),
        or_(
            Ticket.resolution_due_at < now,
            and_(Ticket.first_responded_at.is_(None), Ticket.first_response_due_at < now),
        ),
    )
    overdue = (await session.execute(select(func.count()).where(overdue_clause))).scalar_one()
    unassigned = (
        await session.execute(select(func.count()).where(working, Ticket.assignee_id.is_(None)))
    ).scalar_one()
    return by_status, by_priority, int(overdue), int(unassigned)


async def tariff_by_code(session: AsyncSession, code: str) -> Tariff | None:
    query = select(Tariff).where(Tariff.code == code)
    return (await session.execute(query)).scalar_one_or_none()


async def organisation_by_external_id(
    session: AsyncSession, external_id: str
) -> Organisation | None:
    query = select(Organisation).where(Organisation.external_id == external_id)
    return (await session.execute(query)).scalar_one_or_none()


async def prune_processed_updates(session: AsyncSession, before: datetime) -> int:
    """Forget update ids older than Telegram would ever re-send (it keeps updates 24 h)."""
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def set_card_location(
    session: AsyncSession,
    ticket_id: int,
    *,
    thread_id: int | None,
    card_message_id: int | None,
    keep_card: bool,
) -> None:
    """Where a request lives in the backoffice; leaves the ticket's version alone."""
    values: dict[str, int | None] = {"forum_thread_id": thread_id}
    if not keep_card:
        values["card_message_id"] = card_message_id
    await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def working_tickets(session: AsyncSession) -> Sequence[Ticket]:
    """Requests in work whose SLA clock runs (not paused for the customer)."""
    query = select(Ticket).where(Ticket.status.in_(WORKING_STATUSES), Ticket.paused_at.is_(None))
    return (await session.execute(query)).scalars().all()


async def waiting_tickets(session: AsyncSession) -> Sequence[Ticket]:
    """Requests waiting for their customer's answer."""
    query = select(Ticket).where(Ticket.status == "waiting_customer")
    return (await session.execute(query)).scalars().all()


async def customer_by_external_id(session: AsyncSession, external_id: str) -> Customer | None:
    query = select(Customer).where(Customer.external_id == external_id)
    return (await session.execute(query)).scalar_one_or_none()


async def customer_ticket_count(session: AsyncSession, customer_id: int) -> int:
    query = select(func.count()).where(Ticket.customer_id == customer_id)
    return int((await session.execute(query)).scalar_one())


async def tariffs(session: AsyncSession) -> Sequence[Tariff]:
    return (await session.execute(select(Tariff).order_by(Tariff.id))).scalars().all()


async def replace_targets(
    session: AsyncSession, tariff: Tariff, targets: dict[int, tuple[int, int]]
) -> None:
    """Set a tariff's SLA targets: priority -> (first response, resolution) minutes."""
    await session.execute(delete(SlaTarget).where(SlaTarget.tariff_id == tariff.id))
    for priority, (first, resolution) in sorted(targets.items()):
        session.add(
            SlaTarget(
                tariff_id=tariff.id,
                priority=priority,
                first_response_minutes=first,
                resolution_minutes=resolution,
            )
        )
    await session.flush()


async def upload(session: AsyncSession, upload_id: int) -> Upload | None:
    return await session.get(Upload, upload_id)


async def remember_file_id(
    session: AsyncSession, upload_id: int, file_id: str, file_unique_id: str
) -> None:
    """An uploaded file reached Telegram: later deliveries reuse its file id."""
    await session.execute(
        update(Attachment)
        .where(Attachment.upload_id == upload_id, Attachment.file_id == "")
        .values(file_id=file_id, file_unique_id=file_unique_id)
        .execution_options(synchronize_session=False)
    )


async def idempotency_row(session: AsyncSession, scope: str, key: str) -> ApiIdempotency | None:
    query = select(ApiIdempotency).where(ApiIdempotency.scope == scope, ApiIdempotency.key == key)
    return (await session.execute(query)).scalar_one_or_none()


async def prune_idempotency(session: AsyncSession, before: datetime) -> None:
    await session.execute(delete(ApiIdempotency).where(ApiIdempotency.created_at < before))


async def move_customer_records(session: AsyncSession, source_id: int, into_id: int) -> None:
    """Requests and history of one customer become another's (merging two rows of one person)."""
    await session.execute(
        update(Ticket)
        .where(Ticket.customer_id == source_id)
        .values(customer_id=into_id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(TicketEvent)
        .where(TicketEvent.actor_customer_id == source_id)
        .values(actor_customer_id=into_id)
        .execution_options(synchronize_session=False)
    )
