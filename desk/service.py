"""The desk's use cases.

Every use case checks its actor, applies the lifecycle table, and writes in
one transaction: the change to the request, an append-only history event and
an outbox row for every notification the change causes. Presentation layers
(the customer's chat, the backoffice, the HTTP API, the scheduler) call these
methods and render what they return; they never change a request themselves.

Returned :class:`~storage.models.Ticket` objects are detached snapshots: read
them, do not modify them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from desk import lifecycle
from desk.calendar import BusinessCalendar
from desk.errors import (
    AlreadyClosed,
    AlreadyTaken,
    ConcurrentChange,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from desk.model import (
    AGENT_CLOSE_REASONS,
    DEFAULT_PRIORITY,
    Action,
    Audience,
    Channel,
    CloseReason,
    Kind,
    MessageDirection,
    Priority,
    Role,
    Status,
)
from desk.sla import Target, due_times, target_for
from storage import repository as repo
from storage.db import SessionFactory
from storage.models import (
    Agent,
    Attachment,
    Customer,
    Message,
    Organisation,
    Outbox,
    Tariff,
    Ticket,
    TicketEvent,
)

TOPIC_MAX = 120
DESCRIPTION_MIN, DESCRIPTION_MAX = 10, 4000
DETAILS_MAX = 8000
TEXT_MAX = 16000  # replies and notes; Telegram splits them, history keeps them whole
ATTACHMENTS_MAX = 10


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    """Who acts. ``roles`` decide what they may do (R11)."""

    roles: frozenset[Role]
    name: str = ""
    customer_id: int | None = None
    agent_id: int | None = None
    language: str | None = None

    @property
    def is_staff(self) -> bool:
        return any(role.is_staff for role in self.roles)

    @classmethod
    def customer(cls, customer_id: int, name: str = "", language: str | None = None) -> Actor:
        return cls(frozenset({Role.CUSTOMER}), name, customer_id=customer_id, language=language)

    @classmethod
    def cabinet(cls, customer_id: int, name: str = "cabinet") -> Actor:
        return cls(frozenset({Role.CABINET}), name, customer_id=customer_id)

    @classmethod
    def staff(cls, agent_id: int, name: str, roles: frozenset[Role]) -> Actor:
        return cls(roles, name, agent_id=agent_id)

    @classmethod
    def system(cls) -> Actor:
        return cls(frozenset({Role.SYSTEM}), "system")


@dataclass(frozen=True)
class AttachmentIn:
    file_id: str
    file_unique_id: str
    kind: str = "photo"
    size: int | None = None
    width: int | None = None
    height: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class MessageRef:
    """Where a relayed message was written (for the relay's table of pairs)."""

    chat_id: int
    message_id: int


@dataclass(frozen=True)
class NewTicket:
    kind: Kind
    topic: str
    description: str
    technical_details: str | None = None
    attachments: Sequence[AttachmentIn] = ()
    channel: Channel = Channel.TELEGRAM


@dataclass(frozen=True)
class OpenStats:
    """Requests in work right now (new, in progress, waiting for the customer)."""

    by_status: dict[str, int]
    by_priority: dict[int, int]
    overdue: int
    unassigned: int


@dataclass(frozen=True)
class DeskConfig:
    calendar: BusinessCalendar
    backoffice_chat_id: int | None = None
    auto_close_business_days: int = 5


@dataclass
class _Change:
    """What one use case is writing; flushed as one transaction."""

    session: AsyncSession
    now: datetime
    actor: Actor
    events: list[TicketEvent] = field(default_factory=list)
    wrote_outbox: bool = False


def _clean(value: str | None, name: str, *, minimum: int, maximum: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(name, "empty")
    if len(text) < minimum:
        raise ValidationFailed(name, "too_short", minimum=minimum, length=len(text))
    if len(text) > maximum:
        raise ValidationFailed(name, "too_long", maximum=maximum, length=len(text))
    return text


def _agent_name(agent: Agent) -> str:
    return agent.name or (f"@{agent.username}" if agent.username else str(agent.telegram_user_id))


def _check_customer_reopen(actor: Actor, status: Status) -> None:
    # A closed request is reopened by the desk, not by the customer: a new
    # question is a new request (R3).
    if not actor.is_staff and status is Status.CLOSED:
        raise AlreadyClosed(Action.REOPEN, status)


def _message_body(text: str | None, attachments: Sequence[AttachmentIn]) -> str:
    """A relayed message: text, files, or both; never nothing."""
    body = (text or "").strip()
    if not body and not attachments:
        raise ValidationFailed("text", "empty")
    if len(body) > TEXT_MAX:
        raise ValidationFailed("text", "too_long", maximum=TEXT_MAX, length=len(body))
    return body


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


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


def _snapshot(ticket: Ticket) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _TRACKED:
        value = getattr(ticket, name)
        values[name] = _iso(value) if isinstance(value, datetime) else value
    return values


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    changed = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


class Desk:
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

    # -- transactions -------------------------------------------------------

    @asynccontextmanager
    async def _change(self, actor: Actor) -> AsyncIterator[_Change]:
        try:
            async with self._sessions() as session:
                async with session.begin():
                    change = _Change(session, self._clock(), actor)
                    yield change
                if change.wrote_outbox:
                    for listener in self.outbox_listeners:
                        listener()
        except StaleDataError as error:
            # SQLite has no row locks: the version column catches a concurrent
            # write at flush or commit, and the whole change is rolled back.
            raise ConcurrentChange("the request changed meanwhile; nothing saved") from error

    async def _load(
        self,
        change: _Change,
        number: int,
        action: Action,
        *,
        for_update: bool = True,
        ticket_id: int | None = None,
    ) -> Ticket:
        lifecycle.check_role(change.actor.roles, action)
        if ticket_id is not None:
            ticket = await repo.ticket_by_id(change.session, ticket_id, for_update=for_update)
        else:
            ticket = await repo.ticket_by_number(change.session, number, for_update=for_update)
        self._check_owner(change.actor, ticket, number)
        assert ticket is not None
        return ticket

    @staticmethod
    def _check_owner(actor: Actor, ticket: Ticket | None, number: int) -> None:
        # A customer must not learn that someone else's request exists.
        if ticket is None or (
            not actor.is_staff
            and Role.SYSTEM not in actor.roles
            and ticket.customer_id != actor.customer_id
        ):
            raise NotFound(f"request {number} not found", number=number)

    # -- identities ---------------------------------------------------------

    async def register_telegram_user(
        self,
        user_id: int,
        *,
        name: str,
        username: str | None = None,
        language: str | None = None,
        staff_roles: frozenset[Role] = frozenset(),
    ) -> Actor:
        """The actor behind a Telegram user; staff roles come from settings or membership."""
        async with self._sessions() as session, session.begin():
            if staff_roles:
                agent = await repo.agent_by_telegram_id(session, user_id)
                if agent is None:
                    agent = Agent(telegram_user_id=user_id, name=name, username=username)
                    session.add(agent)
                else:
                    agent.name, agent.username = name, username
                await session.flush()
                return Actor.staff(agent.id, name, staff_roles)
            customer = await repo.customer_by_telegram_id(session, user_id)
            if customer is None:
                customer = Customer(
                    telegram_user_id=user_id, name=name, username=username, language=language
                )
                session.add(customer)
            else:
                customer.name, customer.username = name, username
                # A language chosen with /lang outlives the Telegram client's.
                customer.language = customer.language or language
                customer.blocked_bot_at = None  # they wrote to us: they are reachable again
            await session.flush()
            return Actor.customer(customer.id, name, customer.language)

    async def set_language(self, actor: Actor, language: str) -> None:
        if actor.customer_id is None:
            return
        async with self._sessions() as session, session.begin():
            customer = await session.get(Customer, actor.customer_id)
            if customer is not None:
                customer.language = language

    async def set_customer_organisation(
        self, customer_id: int, organisation_id: int | None
    ) -> None:
        async with self._sessions() as session, session.begin():
            customer = await session.get(Customer, customer_id)
            if customer is None:
                raise NotFound("customer not found")
            customer.organisation_id = organisation_id

    async def create_organisation(
        self, name: str, tariff_code: str, external_id: str | None = None
    ) -> int:
        async with self._sessions() as session, session.begin():
            tariff = await repo.tariff_by_code(session, tariff_code)
            if tariff is None:
                raise NotFound(f"tariff {tariff_code} not found")
            organisation = Organisation(name=name, tariff_id=tariff.id, external_id=external_id)
            session.add(organisation)
            await session.flush()
            return organisation.id

    async def join_organisation(self, actor: Actor, external_id: str) -> str:
        """Tie the customer to the organisation the cabinet named; returns its name."""
        if actor.customer_id is None:
            raise PermissionDenied("only customers belong to organisations")
        async with self._sessions() as session, session.begin():
            organisation = await repo.organisation_by_external_id(session, external_id)
            customer = await session.get(Customer, actor.customer_id)
            if organisation is None or customer is None:
                raise NotFound("organisation not found")
            customer.organisation_id = organisation.id
            return organisation.name

    async def mark_customer_blocked(self, customer_id: int) -> None:
        """The customer blocked the bot: stop writing to them, and show it on their cards."""
        async with self._change(Actor.system()) as change:
            customer = await change.session.get(Customer, customer_id)
            if customer is None or customer.blocked_bot_at is not None:
                return
            customer.blocked_bot_at = change.now
            for ticket in await repo.open_tickets_of(change.session, customer_id):
                event = await self._event(change, ticket, Action.CUSTOMER_BLOCKED, internal=True)
                self._card(change, ticket, event)

    # -- helpers that write history and outbox ------------------------------

    async def _event(
        self,
        change: _Change,
        ticket: Ticket,
        action: Action,
        before: dict[str, Any] | None = None,
        *,
        comment: str | None = None,
        internal: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> TicketEvent:
        after = _snapshot(ticket)
        old, new = _diff(before or {}, after)
        if extra:
            new.update(extra)
        actor = change.actor
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
            created_at=change.now,
        )
        change.session.add(event)
        if old or new or action is not Action.NOTE:
            ticket.updated_at = change.now
        await change.session.flush()
        change.events.append(event)
        return event

    def _outbox(
        self,
        change: _Change,
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
        change.wrote_outbox = True
        body = {"ticket_id": ticket.id, "number": ticket.number, "event_id": event.id}
        body.update(payload or {})
        change.session.add(
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
                next_attempt_at=change.now,
                created_at=change.now,
            )
        )

    @staticmethod
    def _attach(
        change: _Change,
        ticket: Ticket,
        items: Sequence[AttachmentIn],
        *,
        message_id: int | None = None,
    ) -> None:
        for item in items:
            change.session.add(
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
                    created_at=change.now,
                )
            )

    def _card(self, change: _Change, ticket: Ticket, event: TicketEvent) -> None:
        """The backoffice card shows the request's current state; edit it in place."""
        self._outbox(change, ticket, event, Audience.BACKOFFICE, "backoffice.card", method="edit")

    def _tell_customer(
        self,
        change: _Change,
        ticket: Ticket,
        event: TicketEvent,
        kind: str,
        payload: dict[str, Any] | None = None,
    ) -> None:
        self._outbox(change, ticket, event, Audience.CUSTOMER, f"customer.{kind}", payload)

    def _tell_backoffice(
        self,
        change: _Change,
        ticket: Ticket,
        event: TicketEvent,
        kind: str,
        payload: dict[str, Any] | None = None,
    ) -> None:
        self._outbox(change, ticket, event, Audience.BACKOFFICE, f"backoffice.{kind}", payload)

    # -- SLA ----------------------------------------------------------------

    def _targets(self, tariff: Tariff) -> dict[int, Target]:
        return {
            t.priority: Target(t.first_response_minutes, t.resolution_minutes)
            for t in tariff.targets
        }

    def _recompute_due(self, ticket: Ticket) -> None:
        target = target_for(self._targets(ticket.tariff), Priority(ticket.priority))
        due = due_times(
            self.calendar,
            ticket.created_at,
            target,
            paused_minutes=ticket.paused_minutes,
            business_days_only=ticket.tariff.business_days_only,
        )
        ticket.first_response_due_at = due.first_response
        ticket.resolution_due_at = due.resolution

    def _pause(self, ticket: Ticket, now: datetime) -> None:
        if ticket.paused_at is None:
            ticket.paused_at = now

    def _resume(self, ticket: Ticket, now: datetime) -> None:
        if ticket.paused_at is not None:
            ticket.paused_minutes += self.calendar.support_minutes_between(
                ticket.paused_at, now, business_days_only=ticket.tariff.business_days_only
            )
            ticket.paused_at = None
            self._recompute_due(ticket)

    # -- create -------------------------------------------------------------

    async def create(self, actor: Actor, draft: NewTicket) -> Ticket:
        lifecycle.check_role(actor.roles, Action.CREATE)
        if actor.customer_id is None:
            raise PermissionDenied("only a customer (or the cabinet for one) files a request")
        topic = _clean(draft.topic, "topic", minimum=1, maximum=TOPIC_MAX)
        description = _clean(
            draft.description, "description", minimum=DESCRIPTION_MIN, maximum=DESCRIPTION_MAX
        )
        details = (draft.technical_details or "").strip() or None
        if details and len(details) > DETAILS_MAX:
            raise ValidationFailed("technical_details", "too_long", maximum=DETAILS_MAX)
        if len(draft.attachments) > ATTACHMENTS_MAX:
            raise ValidationFailed("attachments", "too_many", maximum=ATTACHMENTS_MAX)
        async with self._change(actor) as change:
            customer = await change.session.get(Customer, actor.customer_id)
            if customer is None:
                raise NotFound("customer not found")
            ticket = await self._insert_ticket(
                change,
                customer,
                kind=draft.kind,
                topic=topic,
                description=description,
                technical_details=details,
                channel=draft.channel,
                attachments=draft.attachments,
            )
        return ticket

    async def _insert_ticket(
        self,
        change: _Change,
        customer: Customer,
        *,
        kind: Kind,
        topic: str,
        description: str,
        technical_details: str | None,
        channel: Channel,
        attachments: Sequence[AttachmentIn] = (),
        parent: Ticket | None = None,
    ) -> Ticket:
        session = change.session
        if customer.organisation is not None:
            tariff = customer.organisation.tariff
        else:
            tariff = await repo.default_tariff(session)
        ticket = Ticket(
            number=await repo.allocate_number(session),
            customer_id=customer.id,
            customer=customer,
            tariff_id=tariff.id,
            tariff=tariff,
            parent_id=parent.id if parent else None,
            kind=kind.value,
            status=Status.NEW.value,
            priority=int(DEFAULT_PRIORITY[kind]),
            channel=channel.value,
            topic=topic,
            description=description,
            technical_details=technical_details,
            created_at=change.now,
            updated_at=change.now,
            last_customer_message_at=change.now,
            awaiting_reply=True,
            paused_minutes=0,
            reopen_count=0,
        )
        self._recompute_due(ticket)
        session.add(ticket)
        await session.flush()
        self._attach(change, ticket, attachments)
        extra: dict[str, Any] = {"kind": ticket.kind, "channel": ticket.channel}
        if parent is not None:
            extra["parent_number"] = parent.number
        event = await self._event(change, ticket, Action.CREATE, extra=extra)
        support_starts = self.calendar.next_support_start(
            change.now, business_days_only=tariff.business_days_only
        )
        self._tell_customer(
            change,
            ticket,
            event,
            "registered",
            {
                "priority": ticket.priority,
                "first_response_due_at": _iso(ticket.first_response_due_at),
                "support_starts_at": _iso(support_starts) if support_starts > change.now else None,
            },
        )
        self._outbox(change, ticket, event, Audience.BACKOFFICE, "backoffice.card", method="send")
        return ticket

    # -- agents -------------------------------------------------------------

    async def take(self, actor: Actor, number: int) -> Ticket:
        """Assign to oneself; of two agents pressing Take at once one wins."""
        try:
            async with self._change(actor) as change:
                ticket = await self._load(change, number, Action.TAKE)
                if ticket.assignee_id == actor.agent_id:
                    return ticket
                if ticket.assignee is not None:
                    raise AlreadyTaken(_agent_name(ticket.assignee))
                await self._assign(change, ticket, Action.TAKE, actor.agent_id)
        except ConcurrentChange:
            current = await self.ticket(actor, number)
            if current.assignee is not None and current.assignee_id != actor.agent_id:
                raise AlreadyTaken(_agent_name(current.assignee)) from None
            raise
        return ticket

    async def assign(self, actor: Actor, number: int, agent_id: int) -> Ticket:
        async with self._change(actor) as change:
            ticket = await self._load(change, number, Action.ASSIGN)
            if await change.session.get(Agent, agent_id) is None:
                raise NotFound("agent not found", agent_id=agent_id)
            if ticket.assignee_id != agent_id:
                await self._assign(change, ticket, Action.ASSIGN, agent_id)
        return ticket

    async def _assign(
        self, change: _Change, ticket: Ticket, action: Action, agent_id: int | None
    ) -> None:
        before = _snapshot(ticket)
        ticket.status = lifecycle.next_status(action, Status(ticket.status)).value
        ticket.assignee_id = agent_id
        agent = await change.session.get(Agent, agent_id) if agent_id else None
        ticket.assignee = agent
        event = await self._event(change, ticket, action, before)
        self._tell_customer(
            change, ticket, event, "taken", {"agent_name": agent.name if agent else ""}
        )
        self._card(change, ticket, event)

    async def set_priority(self, actor: Actor, number: int, priority: Priority) -> Ticket:
        async with self._change(actor) as change:
            ticket = await self._load(change, number, Action.SET_PRIORITY)
            lifecycle.next_status(Action.SET_PRIORITY, Status(ticket.status))
            if ticket.priority == int(priority):
                return ticket
            before = _snapshot(ticket)
            ticket.priority = int(priority)
            self._recompute_due(ticket)
            event = await self._event(change, ticket, Action.SET_PRIORITY, before)
            self._tell_customer(
                change,
                ticket,
                event,
                "priority_changed",
                {"priority": ticket.priority, "old_priority": before["priority"]},
            )
            self._card(change, ticket, event)
        return ticket

    async def reply(
        self,
        actor: Actor,
        number: int,
        text: str,
        *,
        source: MessageRef | None = None,
        attachments: Sequence[AttachmentIn] = (),
    ) -> Ticket:
        """A public reply: it reaches the customer and counts as the first response."""
        body = _message_body(text, attachments)
        async with self._change(actor) as change:
            ticket = await self._load(change, number, Action.REPLY)
            before = _snapshot(ticket)
            ticket.status = lifecycle.next_status(Action.REPLY, Status(ticket.status)).value
            first = ticket.first_responded_at is None
            if first:
                ticket.first_responded_at = change.now
            ticket.last_public_reply_at = change.now
            ticket.awaiting_reply = False
            event = await self._event(change, ticket, Action.REPLY, before, comment=body)
            message = await self._message(
                change, ticket, event, MessageDirection.OUTBOUND, body, source, attachments
            )
            self._tell_customer(
                change,
                ticket,
                event,
                "reply",
                {
                    "text": body,
                    "message_id": message.id,
                    "attachments": [a.file_id for a in attachments],
                    "files": [{"file_id": a.file_id, "kind": a.kind} for a in attachments],
                },
            )
            if first or before["status"] != ticket.status:
                self._card(change, ticket, event)
        return ticket

    async def note(
        self, actor: Actor, number: int, text: str, *, source: MessageRef | None = None
    ) -> Ticket:
        """An internal note: history only, never the customer."""
        body = _clean(text, "text", minimum=1, maximum=TEXT_MAX)
        async with self._change(actor) as change:
            ticket = await self._load(change, number, Action.NOTE, for_update=False)
            event = await self._event(change, ticket, Action.NOTE, comment=body, internal=True)
            await self._message(
                change, ticket, event, MessageDirection.OUTBOUND, body, source, (), internal=True
            )
        return ticket

    async def _message(
        self,
        change: _Change,
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
            created_at=change.now,
        )
        change.session.add(message)
        await change.session.flush()
        self._attach(change, ticket, attachments, message_id=message.id)
        return message

    async def ask_customer(
        self, actor: Actor, number: int, question: str, *, source: MessageRef | None = None
    ) -> Ticket:
        """R5: ask for more information; the request waits for the customer."""
        body = _clean(question, "text", minimum=1, maximum=TEXT_MAX)
        async with self._change(actor) as change:
            ticket = await self._load(change, number, Action.ASK_CUSTOMER)
            before = _snapshot(ticket)
            ticket.status = lifecycle.next_status(Action.ASK_CUSTOMER, Status(ticket.status)).value
            if ticket.first_responded_at is None:
                ticket.first_responded_at = change.now
            ticket.last_public_reply_at = change.now
            ticket.awaiting_reply = False
            self._pause(ticket, change.now)
            event = await self._event(change, ticket, Action.ASK_CUSTOMER, before, comment=body)
            message = await self._message(
                change, ticket, event, MessageDirection.OUTBOUND, body, source, ()
            )
            self._tell_customer(
                change, ticket, event, "info_requested", {"text": body, "message_id": message.id}
            )
            self._card(change, ticket, event)
        return ticket

    async def resolve(
        self,
        actor: Actor,
        number: int,
        answer: str | None = None,
        *,
        source: MessageRef | None = None,
    ) -> Ticket:
        """R6: the answer is delivered; the request waits for the customer's confirmation.

        Without ``answer`` there must be a public reply after the customer's
        last message: a request is never resolved with nothing said.
        """
        body = (answer or "").strip()
        if len(body) > TEXT_MAX:
            raise ValidationFailed("answer", "too_long", maximum=TEXT_MAX, length=len(body))
        async with self._change(actor) as change:
            ticket = await self._load(change, number, Action.RESOLVE)
            before = _snapshot(ticket)
            ticket.status = lifecycle.next_status(Action.RESOLVE, Status(ticket.status)).value
            if not body and ticket.awaiting_reply:
                raise ValidationFailed("answer", "required")
            if body:
                ticket.last_public_reply_at = change.now
                ticket.awaiting_reply = False
                if ticket.first_responded_at is None:
                    ticket.first_responded_at = change.now
            self._resume(ticket, change.now)
            # Waiting for the confirmation is waiting for the customer: the
            # SLA clock stops until they confirm or disagree.
            self._pause(ticket, change.now)
            ticket.resolved_at = change.now
            days = self.config.auto_close_business_days
            ticket.auto_close_at = self.calendar.add_business_days(change.now, days)
            ticket.auto_close_reminder_at = (
                self.calendar.add_business_days(change.now, days - 1) if days > 1 else None
            )
            ticket.reminder_sent_at = None
            event = await self._event(
                change,
                ticket,
                Action.RESOLVE,
                before,
                comment=body or None,
                extra={"auto_close_at": _iso(ticket.auto_close_at)},
            )
            message_id = None
            if body:
                message = await self._message(
                    change, ticket, event, MessageDirection.OUTBOUND, body, source, ()
                )
                message_id = message.id
            self._tell_customer(
                change,
                ticket,
                event,
                "resolved",
                {
                    "answer": body or None,
                    "message_id": message_id,
                    "auto_close_at": _iso(ticket.auto_close_at),
                },
            )
            self._card(change, ticket, event)
        return ticket

    async def close(
        self, actor: Actor, number: int, reason: CloseReason, comment: str | None = None
    ) -> Ticket:
        """An agent closes a request: duplicate, spam, or other (with a comment)."""
        if reason not in AGENT_CLOSE_REASONS:
            raise ValidationFailed("reason", "invalid", reason=reason.value)
        text = (comment or "").strip() or None
        if reason is CloseReason.OTHER and not text:
            raise ValidationFailed("comment", "required")
        async with self._change(actor) as change:
            ticket = await self._load(change, number, Action.CLOSE)
            await self._close(change, ticket, Action.CLOSE, reason, text)
        return ticket

    async def _close(
        self,
        change: _Change,
        ticket: Ticket,
        action: Action,
        reason: CloseReason,
        comment: str | None,
    ) -> TicketEvent:
        before = _snapshot(ticket)
        ticket.status = lifecycle.next_status(action, Status(ticket.status)).value
        self._resume(ticket, change.now)
        ticket.closed_at = change.now
        ticket.close_reason = reason.value
        ticket.auto_close_at = None
        ticket.auto_close_reminder_at = None
        event = await self._event(change, ticket, action, before, comment=comment)
        self._tell_customer(
            change, ticket, event, "closed", {"reason": reason.value, "comment": comment}
        )
        if action is not Action.CLOSE:
            # Agents did not do this themselves: tell them in the request's thread.
            self._tell_backoffice(
                change, ticket, event, "event", {"action": action.value, "comment": comment}
            )
        self._card(change, ticket, event)
        return event

    async def reopen(self, actor: Actor, number: int, reason: str) -> Ticket:
        """R6: an argued disagreement continues the work; the reason is required."""
        body = _clean(reason, "reason", minimum=1, maximum=TEXT_MAX)
        async with self._change(actor) as change:
            ticket = await self._load(change, number, Action.REOPEN)
            status = Status(ticket.status)
            _check_customer_reopen(actor, status)
            before = _snapshot(ticket)
            ticket.status = lifecycle.next_status(Action.REOPEN, status).value
            self._resume(ticket, change.now)
            ticket.reopen_count += 1
            ticket.resolved_at = ticket.closed_at = None
            ticket.close_reason = None
            ticket.auto_close_at = ticket.auto_close_reminder_at = ticket.reminder_sent_at = None
            if not actor.is_staff:
                ticket.last_customer_message_at = change.now
            ticket.awaiting_reply = True
            event = await self._event(change, ticket, Action.REOPEN, before, comment=body)
            if not actor.is_staff:
                await self._message(change, ticket, event, MessageDirection.INBOUND, body, None, ())
            self._tell_customer(change, ticket, event, "reopened", {"reason": body})
            self._tell_backoffice(
                change, ticket, event, "event", {"action": Action.REOPEN.value, "comment": body}
            )
            self._card(change, ticket, event)
        return ticket

    async def split(
        self, actor: Actor, number: int, text: str, *, kind: Kind | None = None
    ) -> Ticket:
        """R3: a new question that came up in a request becomes a request of its own."""
        body = _clean(text, "text", minimum=1, maximum=DESCRIPTION_MAX)
        async with self._change(actor) as change:
            original = await self._load(change, number, Action.SPLIT, for_update=False)
            lifecycle.next_status(Action.SPLIT, Status(original.status))
            topic = body.splitlines()[0][:TOPIC_MAX].strip() or body[:TOPIC_MAX]
            ticket = await self._insert_ticket(
                change,
                original.customer,
                kind=kind or Kind(original.kind),
                topic=topic,
                description=body,
                technical_details=None,
                channel=Channel(original.channel),
                parent=original,
            )
            await self._event(change, original, Action.SPLIT, extra={"new_number": ticket.number})
        return ticket

    # -- customers ----------------------------------------------------------

    async def add_information(
        self,
        actor: Actor,
        number: int,
        text: str,
        *,
        source: MessageRef | None = None,
        attachments: Sequence[AttachmentIn] = (),
    ) -> Ticket:
        """The customer adds to their request; a waiting request goes back to work (R5)."""
        body = _message_body(text, attachments)
        async with self._change(actor) as change:
            ticket = await self._load(change, number, Action.CUSTOMER_MESSAGE)
            before = _snapshot(ticket)
            status = lifecycle.next_status(Action.CUSTOMER_MESSAGE, Status(ticket.status))
            ticket.status = status.value
            self._resume(ticket, change.now)
            ticket.last_customer_message_at = change.now
            ticket.awaiting_reply = True
            event = await self._event(
                change, ticket, Action.CUSTOMER_MESSAGE, before, comment=body or None
            )
            message = await self._message(
                change, ticket, event, MessageDirection.INBOUND, body, source, attachments
            )
            self._tell_backoffice(
                change,
                ticket,
                event,
                "customer_message",
                {
                    "text": body,
                    "message_id": message.id,
                    "attachments": [a.file_id for a in attachments],
                    "files": [{"file_id": a.file_id, "kind": a.kind} for a in attachments],
                },
            )
            if before["status"] != ticket.status:
                self._card(change, ticket, event)
        return ticket

    async def confirm(self, actor: Actor, number: int) -> Ticket:
        async with self._change(actor) as change:
            ticket = await self._load(change, number, Action.CONFIRM)
            await self._close(change, ticket, Action.CONFIRM, CloseReason.CONFIRMED, None)
        return ticket

    async def withdraw(self, actor: Actor, number: int, comment: str | None = None) -> Ticket:
        """R6: the customer closes the request when the answer is no longer needed."""
        async with self._change(actor) as change:
            ticket = await self._load(change, number, Action.WITHDRAW)
            text = (comment or "").strip() or None
            await self._close(change, ticket, Action.WITHDRAW, CloseReason.WITHDRAWN, text)
        return ticket

    async def rate(self, actor: Actor, number: int, rating: int) -> Ticket:
        if not 1 <= rating <= 5:
            raise ValidationFailed("rating", "out_of_range", minimum=1, maximum=5)
        async with self._change(actor) as change:
            ticket = await self._load(change, number, Action.RATE)
            lifecycle.next_status(Action.RATE, Status(ticket.status))
            if ticket.rating == rating:
                return ticket
            before = _snapshot(ticket)
            ticket.rating = rating
            event = await self._event(change, ticket, Action.RATE, before)
            self._card(change, ticket, event)
        return ticket

    async def edit_message(self, actor: Actor, source: MessageRef, text: str) -> Message | None:
        """A relayed message was edited where it was written: correct its copy too.

        Returns None when the message was never relayed (nothing to follow).
        """
        body = _clean(text, "text", minimum=1, maximum=TEXT_MAX)
        async with self._change(actor) as change:
            message = await repo.message_by_ref(change.session, source.chat_id, source.message_id)
            if message is None or message.source_message_id != source.message_id:
                return None
            ticket = await self._load(change, 0, Action.EDIT, ticket_id=message.ticket_id)
            outbound = message.direction == MessageDirection.OUTBOUND.value
            if outbound != actor.is_staff:
                raise PermissionDenied("only the author's side edits a message")
            if message.text == body:
                return message
            old = message.text
            message.text = body
            event = await self._event(
                change,
                ticket,
                Action.EDIT,
                comment=body,
                internal=message.internal,
                extra={"message_id": message.id, "old_text": old},
            )
            if not message.internal:
                payload = {"message_id": message.id, "text": body}
                if outbound:
                    self._outbox(
                        change,
                        ticket,
                        event,
                        Audience.CUSTOMER,
                        "customer.reply_edited",
                        payload,
                        method="edit",
                    )
                else:
                    self._outbox(
                        change,
                        ticket,
                        event,
                        Audience.BACKOFFICE,
                        "backoffice.customer_message_edited",
                        payload,
                        method="edit",
                    )
        return message

    # -- bookkeeping of deliveries (no rules: where things were shown) --------

    async def record_copy(self, message_id: int, chat_id: int, copy_message_id: int) -> None:
        """The relayed copy of a message now exists in ``chat_id``: remember the pair."""
        async with self._sessions() as session, session.begin():
            message = await session.get(Message, message_id)
            if message is not None:
                message.copy_chat_id, message.copy_message_id = chat_id, copy_message_id

    async def record_card(
        self, ticket_id: int, *, thread_id: int | None = None, card_message_id: int | None = None
    ) -> None:
        """Where the request lives in the backoffice (a forum topic and/or its card)."""
        async with self._sessions() as session, session.begin():
            ticket = await repo.ticket_by_id(session, ticket_id, for_update=True)
            if ticket is None:
                return
            ticket.forum_thread_id = thread_id
            if card_message_id is not None or thread_id is None:
                ticket.card_message_id = card_message_id

    async def find_by_message(self, actor: Actor, chat_id: int, message_id: int) -> Ticket | None:
        """The request a message belongs to: its card, or either side of a relayed message."""
        async with self._sessions() as session:
            ticket = None
            if chat_id == self.config.backoffice_chat_id:
                ticket = await repo.ticket_by_card(session, message_id)
            if ticket is None:
                message = await repo.message_by_ref(session, chat_id, message_id)
                if message is not None:
                    ticket = await repo.ticket_by_id(session, message.ticket_id)
            if ticket is None or not self._may_see(actor, ticket):
                return None
            return ticket

    async def find_by_thread(self, actor: Actor, thread_id: int) -> Ticket | None:
        async with self._sessions() as session:
            ticket = await repo.ticket_by_thread(session, thread_id)
            return ticket if ticket is not None and self._may_see(actor, ticket) else None

    async def message(self, message_id: int) -> Message | None:
        async with self._sessions() as session:
            return await session.get(Message, message_id)

    async def open_tickets(self, actor: Actor) -> Sequence[Ticket]:
        """The customer's requests that are not closed (for relaying a plain message)."""
        if actor.customer_id is None:
            return []
        async with self._sessions() as session:
            return await repo.open_tickets_of(session, actor.customer_id)

    @staticmethod
    def _may_see(actor: Actor, ticket: Ticket) -> bool:
        return (
            actor.is_staff
            or Role.SYSTEM in actor.roles
            or (ticket.customer_id == actor.customer_id)
        )

    # -- the scheduler ------------------------------------------------------

    async def send_auto_close_reminders(self) -> list[int]:
        """One business day before the auto-close, remind the customer once."""
        async with self._sessions() as session:
            ids = await repo.due_for_reminder(session, self._clock())
        done: list[int] = []
        for ticket_id in ids:
            async with self._change(Actor.system()) as change:
                ticket = await repo.ticket_by_id(change.session, ticket_id, for_update=True)
                if (
                    ticket is None
                    or ticket.status != Status.RESOLVED.value
                    or ticket.reminder_sent_at is not None
                ):
                    continue  # someone acted first
                lifecycle.check_role(change.actor.roles, Action.AUTO_CLOSE_REMINDER)
                ticket.reminder_sent_at = change.now
                event = await self._event(change, ticket, Action.AUTO_CLOSE_REMINDER)
                self._tell_customer(
                    change,
                    ticket,
                    event,
                    "auto_close_reminder",
                    {"auto_close_at": _iso(ticket.auto_close_at)},
                )
                done.append(ticket.number)
        return done

    async def auto_close_due(self) -> list[int]:
        """R6: no answer for N business days after resolution closes the request."""
        async with self._sessions() as session:
            ids = await repo.due_for_auto_close(session, self._clock())
        closed: list[int] = []
        for ticket_id in ids:
            async with self._change(Actor.system()) as change:
                ticket = await repo.ticket_by_id(change.session, ticket_id, for_update=True)
                if (
                    ticket is None
                    or ticket.status != Status.RESOLVED.value
                    or ticket.auto_close_at is None
                    or ticket.auto_close_at > change.now
                ):
                    continue
                lifecycle.check_role(change.actor.roles, Action.AUTO_CLOSE)
                await self._close(change, ticket, Action.AUTO_CLOSE, CloseReason.AUTO, None)
                closed.append(ticket.number)
        return closed

    # -- reading ------------------------------------------------------------

    async def ticket(self, actor: Actor, number: int) -> Ticket:
        async with self._sessions() as session:
            ticket = await repo.ticket_by_number(session, number)
            self._check_owner(actor, ticket, number)
            assert ticket is not None
            return ticket

    async def ensure_allowed(self, actor: Actor, number: int, action: Action) -> Ticket:
        """Raise what the use case would raise, without changing anything.

        For two-step interactions (ask for a reason, then act): a stale button
        is refused before the customer types anything.
        """
        lifecycle.check_role(actor.roles, action)
        ticket = await self.ticket(actor, number)
        status = Status(ticket.status)
        lifecycle.next_status(action, status)
        if action is Action.REOPEN:
            _check_customer_reopen(actor, status)
        return ticket

    async def history(self, actor: Actor, number: int) -> Sequence[TicketEvent]:
        """The request's history; customers never see internal notes."""
        async with self._sessions() as session:
            ticket = await repo.ticket_by_number(session, number)
            self._check_owner(actor, ticket, number)
            assert ticket is not None
            return await repo.ticket_events(session, ticket.id, include_internal=actor.is_staff)

    async def my_tickets(
        self, actor: Actor, *, offset: int = 0, limit: int = 10
    ) -> Sequence[Ticket]:
        if actor.customer_id is None:
            return []
        async with self._sessions() as session:
            return await repo.customer_tickets(
                session, actor.customer_id, offset=offset, limit=limit
            )

    async def search(self, actor: Actor, query: str, *, limit: int = 20) -> Sequence[Ticket]:
        """Staff search over every request: "@username" or words of the topic/description."""
        if not actor.is_staff:
            raise PermissionDenied("search is for staff")
        text = query.strip()
        async with self._sessions() as session:
            if text.startswith("@"):
                return await repo.search_tickets(session, username=text[1:], limit=limit)
            return await repo.search_tickets(session, text=text, limit=limit)

    async def open_stats(self, actor: Actor) -> OpenStats:
        if not actor.is_staff:
            raise PermissionDenied("statistics are for staff")
        async with self._sessions() as session:
            by_status, by_priority, overdue, unassigned = await repo.open_counts(
                session, self._clock()
            )
        return OpenStats(by_status, by_priority, overdue, unassigned)

    async def queue(
        self, actor: Actor, *, mine: bool = False, offset: int = 0, limit: int = 20
    ) -> Sequence[Ticket]:
        if not actor.is_staff:
            raise PermissionDenied("the queue is for staff")
        async with self._sessions() as session:
            return await repo.open_queue(
                session,
                assignee_id=actor.agent_id if mine else None,
                offset=offset,
                limit=limit,
            )

    async def agents(self, actor: Actor) -> Sequence[Agent]:
        """Everyone the desk knows as staff (to choose an assignee)."""
        if not actor.is_staff:
            raise PermissionDenied("the list of agents is for staff")
        async with self._sessions() as session:
            return await repo.agents(session)

    async def attachments(
        self, ticket_id: int, *, message_id: int | None = None
    ) -> Sequence[Attachment]:
        """Files of a request (or of one of its messages), for showing them again."""
        async with self._sessions() as session:
            return await repo.attachments_of(session, ticket_id, message_id=message_id)
