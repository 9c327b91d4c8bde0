"""One change to the desk, written as one transaction (the unit of work).

A use case opens a :class:`Change` with :meth:`DeskBase.change`, loads the
request through it (checking the actor's role and ownership), changes the
request, and records through it what happened: the history event, the outbox
rows of every notification it causes, the backoffice card. Everything commits
together or not at all; the outbox listeners are woken after the commit, and the
request events (``desk.events``) go to their audiences' outbox rows before the
commit and to the event listeners after it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from desk import lifecycle
from desk.calendar import BusinessCalendar
from desk.errors import ConcurrentChange, NotFound
from desk.events import EventKind, RequestEvent, request_events
from desk.model import Action, Audience, MessageDirection, Priority, Role
from desk.sla import Target, due_times, target_for
from desk.values import Actor, AttachmentIn, DeskConfig, MessageRef, utcnow
from storage import repository as repo
from storage.db import SessionFactory
from storage.models import (
    Agent,
    Attachment,
    Message,
    Outbox,
    Tariff,
    Ticket,
    TicketEvent,
    Upload,
)

log = logging.getLogger(__name__)

REPORT_PRIORITY = 9

# The fields of a request whose changes a history event records (before/after).
_TRACKED = (
    "status",
    "priority",
    "assignee_id",
    "close_reason",
    "reopen_count",
    "rating",
    "first_response_due_at",
    "resolution_due_at",
)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def snapshot(ticket: Ticket) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _TRACKED:
        value = getattr(ticket, name)
        values[name] = iso(value) if isinstance(value, datetime) else value
    return values


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    changed = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


def agent_name(agent: Agent) -> str:
    return agent.name or (f"@{agent.username}" if agent.username else str(agent.telegram_user_id))


def may_see(actor: Actor, ticket: Ticket) -> bool:
    """Staff and the scheduler see every request; a customer only their own (R11)."""
    return actor.is_staff or Role.SYSTEM in actor.roles or ticket.customer_id == actor.customer_id


def check_owner(actor: Actor, ticket: Ticket | None, number: int) -> Ticket:
    # A customer must not learn that someone else's request exists.
    if ticket is None or not may_see(actor, ticket):
        raise NotFound(f"request {number} not found", number=number)
    return ticket


@dataclass
class Change:
    """What one use case is writing; flushed as one transaction."""

    session: AsyncSession
    now: datetime
    actor: Actor
    config: DeskConfig
    events: list[TicketEvent] = field(default_factory=list)
    wrote_outbox: bool = False
    # Each history event with its request, for the stream of request events.
    recorded: list[tuple[Ticket, TicketEvent]] = field(default_factory=list)

    @property
    def calendar(self) -> BusinessCalendar:
        return self.config.calendar

    # -- loading ------------------------------------------------------------

    async def load(
        self,
        number: int,
        action: Action,
        *,
        for_update: bool = True,
        ticket_id: int | None = None,
    ) -> Ticket:
        """The request the actor may do ``action`` on, locked for the change by default."""
        lifecycle.check_role(self.actor.roles, action)
        if ticket_id is not None:
            ticket = await repo.ticket_by_id(self.session, ticket_id, for_update=for_update)
        else:
            ticket = await repo.ticket_by_number(self.session, number, for_update=for_update)
        return check_owner(self.actor, ticket, number)

    # -- history ------------------------------------------------------------

    async def event(
        self,
        ticket: Ticket,
        action: Action,
        before: dict[str, Any] | None = None,
        *,
        comment: str | None = None,
        internal: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> TicketEvent:
        after = snapshot(ticket)
        old, new = _diff(before or {}, after)
        if extra:
            new.update(extra)
        actor = self.actor
        event = TicketEvent(
            ticket_id=ticket.id,
            actor_role=sorted(r.value for r in actor.roles)[0] if actor.roles else "",
            actor_customer_id=actor.customer_id,
            actor_agent_id=actor.agent_id,
            actor_name=actor.name,
            action=action.value,
            before=old,
            after=new,
            comment=comment,
            internal=internal,
            created_at=self.now,
        )
        self.session.add(event)
        if old or new or action is not Action.NOTE:
            ticket.updated_at = self.now
        await self.session.flush()
        self.events.append(event)
        self.recorded.append((ticket, event))
        return event

    async def relayed_before(self, ticket: Ticket, source: MessageRef | None) -> bool:
        """The Telegram message ``source`` is already in ``ticket``'s history.

        An update handled again (its process died after the commit, before Telegram
        learnt it was handled) must not relay a reply or a message a second time.
        """
        if source is None:
            return False
        return await repo.message_from(self.session, ticket.id, source.chat_id, source.message_id)

    async def message(
        self,
        ticket: Ticket,
        event: TicketEvent,
        direction: MessageDirection,
        text: str,
        source: MessageRef | None,
        attachments: Sequence[AttachmentIn],
        *,
        internal: bool = False,
    ) -> Message:
        message = Message(
            ticket_id=ticket.id,
            event_id=event.id,
            direction=direction.value,
            source_chat_id=source.chat_id if source else None,
            source_message_id=source.message_id if source else None,
            text=text or None,
            internal=internal,
            created_at=self.now,
        )
        self.session.add(message)
        await self.session.flush()
        await self.attach(ticket, attachments, message_id=message.id)
        return message

    async def attach(
        self, ticket: Ticket, items: Sequence[AttachmentIn], *, message_id: int | None = None
    ) -> None:
        for item in items:
            upload_id = None
            if item.data is not None:
                upload = Upload(
                    mime_type=item.mime_type or "application/octet-stream",
                    filename=item.filename or "file",
                    sha256=item.sha256 or hashlib.sha256(item.data).hexdigest(),
                    data=item.data,
                    created_at=self.now,
                )
                self.session.add(upload)
                await self.session.flush()
                upload_id = upload.id
            self.session.add(
                Attachment(
                    ticket_id=ticket.id,
                    message_id=message_id,
                    file_id=item.file_id,
                    file_unique_id=item.file_unique_id,
                    kind=item.kind,
                    size=item.size,
                    width=item.width,
                    height=item.height,
                    sha256=item.sha256,
                    upload_id=upload_id,
                    created_at=self.now,
                )
            )

    # -- outbox -------------------------------------------------------------

    def outbox(
        self,
        ticket: Ticket,
        event: TicketEvent,
        audience: Audience,
        kind: str,
        payload: dict[str, Any] | None = None,
        *,
        method: str = "send",
    ) -> None:
        if audience is Audience.CUSTOMER:
            customer = ticket.customer
            # A cabinet-only customer has no chat; one who blocked the bot is
            # not written to until they come back (no retrying forever).
            if customer.telegram_user_id is None or customer.blocked_bot_at is not None:
                return
            chat_id: int | None = customer.telegram_user_id
            thread_id = None
        else:
            chat_id = self.config.backoffice_chat_id
            thread_id = ticket.forum_thread_id
        self.wrote_outbox = True
        body = {"ticket_id": ticket.id, "number": ticket.number, "event_id": event.id}
        body.update(payload or {})
        self.session.add(
            Outbox(
                ticket_id=ticket.id,
                audience=audience.value,
                chat_id=chat_id,
                thread_id=thread_id,
                kind=kind,
                method=method,
                payload=body,
                priority=ticket.priority,
                idempotency_key=f"{event.id}:{audience.value}:{kind}",
                next_attempt_at=self.now,
                created_at=self.now,
            )
        )

    def publish(self, audiences: Mapping[str, frozenset[EventKind]]) -> list[RequestEvent]:
        """The request events of this change; an outbox row for each audience that wants it."""
        published: list[RequestEvent] = []
        for ticket, event in self.recorded:
            for item in request_events(ticket, event):
                published.append(item)
                for audience, kinds in audiences.items():
                    if item.kind in kinds:
                        self._event_row(ticket, audience, item)
        return published

    def _event_row(self, ticket: Ticket, audience: str, item: RequestEvent) -> None:
        self.wrote_outbox = True
        self.session.add(
            Outbox(
                ticket_id=ticket.id,
                audience=audience,
                # No chat: rows of one audience go out in parallel; receivers order
                # them by ``event_id``.
                chat_id=None,
                thread_id=None,
                kind=f"event.{item.kind.value}",
                method="post",
                payload=item.as_json(),
                priority=ticket.priority,
                idempotency_key=f"{item.event_id}:{audience}:{item.kind.value}",
                next_attempt_at=self.now,
                created_at=self.now,
            )
        )

    def report(self, chat_id: int, kind: str, payload: dict[str, Any], key: str) -> None:
        """A notification about no request (a digest): for a managers' chat."""
        self.wrote_outbox = True
        self.session.add(
            Outbox(
                ticket_id=None,
                audience=Audience.MANAGER.value,
                chat_id=chat_id,
                thread_id=None,
                kind=kind,
                method="send",
                payload=payload,
                # After every request's notification when the outbox is busy.
                priority=REPORT_PRIORITY,
                idempotency_key=key,
                next_attempt_at=self.now,
                created_at=self.now,
            )
        )

    def card(self, ticket: Ticket, event: TicketEvent) -> None:
        """The backoffice card shows the request's current state; edit it in place."""
        self.outbox(ticket, event, Audience.BACKOFFICE, "backoffice.card", method="edit")

    def tell_customer(
        self, ticket: Ticket, event: TicketEvent, kind: str, payload: dict[str, Any] | None = None
    ) -> None:
        self.outbox(ticket, event, Audience.CUSTOMER, f"customer.{kind}", payload)

    def tell_backoffice(
        self, ticket: Ticket, event: TicketEvent, kind: str, payload: dict[str, Any] | None = None
    ) -> None:
        self.outbox(ticket, event, Audience.BACKOFFICE, f"backoffice.{kind}", payload)

    # -- the SLA clock --------------------------------------------------------

    def recompute_due(self, ticket: Ticket) -> None:
        target = target_for(_targets(ticket.tariff), Priority(ticket.priority))
        due = due_times(
            self.calendar,
            ticket.created_at,
            target,
            paused_minutes=ticket.paused_minutes,
            business_days_only=ticket.tariff.business_days_only,
        )
        ticket.first_response_due_at = due.first_response
        ticket.resolution_due_at = due.resolution

    def pause(self, ticket: Ticket) -> None:
        if ticket.paused_at is None:
            ticket.paused_at = self.now

    def resume(self, ticket: Ticket) -> None:
        if ticket.paused_at is not None:
            ticket.paused_minutes += self.calendar.support_minutes_between(
                ticket.paused_at, self.now, business_days_only=ticket.tariff.business_days_only
            )
            ticket.paused_at = None
            self.recompute_due(ticket)


def _targets(tariff: Tariff) -> dict[int, Target]:
    return {
        t.priority: Target(t.first_response_minutes, t.resolution_minutes) for t in tariff.targets
    }


class DeskBase:
    """What every phase of the desk shares: the sessions, the settings, the clock."""

    def __init__(
        self,
        sessions: SessionFactory,
        config: DeskConfig,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self.config = config
        self.calendar = config.calendar
        self._clock = clock
        # Called after a commit that wrote outbox rows: the sender wakes at once
        # instead of polling, so a notification costs no visible latency.
        self.outbox_listeners: list[Callable[[], None]] = []
        # Told the Telegram user id of a customer just marked as having blocked the bot.
        self.blocked_listeners: list[Callable[[int], Awaitable[None]]] = []
        # The stream of request events (desk.events): after the commit, best effort...
        self.event_listeners: list[Callable[[RequestEvent], Awaitable[None]]] = []
        # ...and, durably, as outbox rows of these audiences (for the kinds each
        # wants) written with the change.
        self.event_audiences: dict[str, frozenset[EventKind]] = {}

    def now(self) -> datetime:
        """The desk's time (the demo may move it): what "overdue" is measured against."""
        return self._clock()

    @asynccontextmanager
    async def _change(self, actor: Actor) -> AsyncIterator[Change]:
        try:
            async with self._sessions() as session:
                async with session.begin():
                    change = Change(session, self._clock(), actor, self.config)
                    yield change
                    published: list[RequestEvent] = []
                    if self.event_audiences or self.event_listeners:
                        published = change.publish(self.event_audiences)
                if change.wrote_outbox:
                    for listener in self.outbox_listeners:
                        listener()
                await self._tell(published)
        except StaleDataError as error:
            # SQLite has no row locks: the version column catches a concurrent
            # write at flush or commit, and the whole change is rolled back.
            raise ConcurrentChange("the request changed meanwhile; nothing saved") from error

    async def _tell(self, published: Sequence[RequestEvent]) -> None:
        for item in published:
            for listener in self.event_listeners:
                try:
                    await listener(item)
                except Exception:  # a module's bug must not undo or fail a committed change
                    log.exception("event listener %r failed on %s", listener, item.kind)

    async def _ticket(self, actor: Actor, number: int) -> Ticket:
        """A snapshot of the request as the actor may see it (no change)."""
        async with self._sessions() as session:
            ticket = await repo.ticket_by_number(session, number)
            return check_owner(actor, ticket, number)
