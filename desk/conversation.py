"""Conversation: what is said about a request while it is worked.

Agents reply, write internal notes and ask the customer (R5); the customer
adds information; either side corrects a message already relayed. Where a
customer's plain message goes (:func:`route`) and when an agent's message
stays inside as a note (:func:`is_note`) are decided here too.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from desk import lifecycle
from desk.change import DeskBase, snapshot
from desk.errors import PermissionDenied, ValidationFailed
from desk.model import Action, Audience, MessageDirection, Status
from desk.values import Actor, AttachmentIn, MessageRef, clean_markup, message_body
from storage import repository as repo
from storage.models import Message, Ticket

# An agent's message that starts with this stays inside: an internal note.
NOTE_MARK = "!"


def is_note(actor: Actor, text: str) -> bool:
    """Whether an agent's message in the backoffice is an internal note rather than a reply.

    It is when it starts with :data:`NOTE_MARK`, or when the author may not
    reply at all: what a manager writes stays inside (R11).
    """
    return text.startswith(NOTE_MARK) or not lifecycle.may(actor.roles, Action.REPLY)


def without_note_mark(text: str) -> str:
    return text[len(NOTE_MARK) :].lstrip() if text.startswith(NOTE_MARK) else text


class RouteKind(enum.StrEnum):
    ADD = "add"  # add it to ``number``
    CHOOSE = "choose"  # the customer chooses among ``choices`` (or a new request)
    REOPEN_OR_NEW = "reopen_or_new"  # reopen the resolved ``number`` with it, or a new request
    NEW = "new"  # nothing to add it to: offer a new request


@dataclass(frozen=True)
class Route:
    """Where a customer's plain message goes (issue 4 §7: never lost)."""

    kind: RouteKind
    number: int | None = None
    choices: Sequence[Ticket] = ()


def route(open_tickets: Sequence[Ticket], replied_to: Ticket | None = None) -> Route:
    """Decide where a customer's message outside any dialog goes.

    A reply to one of the desk's messages about a request that still takes
    messages goes there; else the only request in work takes it; with several
    (or one beside a resolved one) the customer chooses; with only resolved
    ones the customer chooses between reopening the latest and a new request
    (R3: a resolved request is never added to silently); with none, a new
    request. ``open_tickets`` are the customer's open requests, oldest first.
    """

    def takes_messages(ticket: Ticket) -> bool:
        return Action.CUSTOMER_MESSAGE in lifecycle.allowed_actions(Status(ticket.status))

    if replied_to is not None and takes_messages(replied_to):
        return Route(RouteKind.ADD, replied_to.number)
    working = [t for t in open_tickets if takes_messages(t)]
    resolved = [t for t in open_tickets if t.status == Status.RESOLVED]
    if len(working) == 1 and not resolved:
        return Route(RouteKind.ADD, working[0].number)
    if working:
        return Route(RouteKind.CHOOSE, choices=working)
    if resolved:
        return Route(RouteKind.REOPEN_OR_NEW, resolved[-1].number)
    return Route(RouteKind.NEW)


class Conversation(DeskBase):
    async def route_message(self, actor: Actor, reply_to: MessageRef | None = None) -> Route:
        """Where the customer's plain message goes (see :func:`route`).

        ``reply_to``: the desk's message the customer replied to, if any.
        """
        if actor.customer_id is None:
            return Route(RouteKind.NEW)
        async with self._sessions() as session:
            replied_to = None
            if reply_to is not None:
                message = await repo.message_by_ref(session, reply_to.chat_id, reply_to.message_id)
                if message is not None:
                    replied_to = await repo.ticket_by_id(session, message.ticket_id)
                if replied_to is not None and replied_to.customer_id != actor.customer_id:
                    replied_to = None
            tickets = await repo.open_tickets_of(session, actor.customer_id)
        return route(tickets, replied_to)

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
        body = message_body(text, attachments)
        async with self._change(actor) as change:
            ticket = await change.load(number, Action.REPLY)
            if await change.relayed_before(ticket, source):
                return ticket
            before = snapshot(ticket)
            ticket.status = lifecycle.next_status(Action.REPLY, Status(ticket.status)).value
            first = ticket.first_responded_at is None
            if first:
                ticket.first_responded_at = change.now
            ticket.last_public_reply_at = change.now
            ticket.awaiting_reply = False
            event = await change.event(ticket, Action.REPLY, before, comment=body)
            message = await change.message(
                ticket, event, MessageDirection.OUTBOUND, body, source, attachments
            )
            change.tell_customer(ticket, event, "reply", _relayed(body, message, attachments))
            if first or before["status"] != ticket.status:
                change.card(ticket, event)
        return ticket

    async def note(
        self, actor: Actor, number: int, text: str, *, source: MessageRef | None = None
    ) -> Ticket:
        """An internal note: history only, never the customer."""
        body = clean_markup(text)
        async with self._change(actor) as change:
            ticket = await change.load(number, Action.NOTE, for_update=False)
            if await change.relayed_before(ticket, source):
                return ticket
            event = await change.event(ticket, Action.NOTE, comment=body, internal=True)
            await change.message(
                ticket, event, MessageDirection.OUTBOUND, body, source, (), internal=True
            )
        return ticket

    async def ask_customer(
        self, actor: Actor, number: int, question: str, *, source: MessageRef | None = None
    ) -> Ticket:
        """R5: ask for more information; the request waits for the customer."""
        body = clean_markup(question)
        async with self._change(actor) as change:
            ticket = await change.load(number, Action.ASK_CUSTOMER)
            if await change.relayed_before(ticket, source):
                return ticket
            before = snapshot(ticket)
            ticket.status = lifecycle.next_status(Action.ASK_CUSTOMER, Status(ticket.status)).value
            if ticket.first_responded_at is None:
                ticket.first_responded_at = change.now
            ticket.last_public_reply_at = change.now
            ticket.awaiting_reply = False
            change.pause(ticket)
            event = await change.event(ticket, Action.ASK_CUSTOMER, before, comment=body)
            message = await change.message(
                ticket, event, MessageDirection.OUTBOUND, body, source, ()
            )
            change.tell_customer(
                ticket, event, "info_requested", {"text": body, "message_id": message.id}
            )
            change.card(ticket, event)
        return ticket

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
        body = message_body(text, attachments)
        async with self._change(actor) as change:
            ticket = await change.load(number, Action.CUSTOMER_MESSAGE)
            if await change.relayed_before(ticket, source):
                return ticket
            before = snapshot(ticket)
            status = lifecycle.next_status(Action.CUSTOMER_MESSAGE, Status(ticket.status))
            ticket.status = status.value
            change.resume(ticket)
            ticket.last_customer_message_at = change.now
            ticket.awaiting_reply = True
            event = await change.event(
                ticket, Action.CUSTOMER_MESSAGE, before, comment=body or None
            )
            message = await change.message(
                ticket, event, MessageDirection.INBOUND, body, source, attachments
            )
            change.tell_backoffice(
                ticket, event, "customer_message", _relayed(body, message, attachments)
            )
            if before["status"] != ticket.status:
                change.card(ticket, event)
        return ticket

    async def edit_message(
        self, actor: Actor, source: MessageRef, text: str, *, marked_as_note: bool = False
    ) -> Message | None:
        """A relayed message was edited where it was written: correct its copy too.

        ``marked_as_note``: the edited text now starts with the note mark. A reply the
        customer has already seen cannot be taken back into a note: such an edit is
        refused whole, so that words meant for the agents never reach the customer.
        Returns None when the message was never relayed (nothing to follow).
        """
        body = clean_markup(text)
        async with self._change(actor) as change:
            message = await repo.message_by_ref(change.session, source.chat_id, source.message_id)
            if message is None or message.source_message_id != source.message_id:
                return None
            ticket = await change.load(0, Action.EDIT, ticket_id=message.ticket_id)
            outbound = message.direction == MessageDirection.OUTBOUND.value
            if outbound != actor.is_staff:
                raise PermissionDenied("only the author's side edits a message")
            if marked_as_note and not message.internal:
                raise ValidationFailed("text", "reply_into_note")
            if message.text == body:
                return message
            old = message.text
            message.text = body
            event = await change.event(
                ticket,
                Action.EDIT,
                comment=body,
                internal=message.internal,
                extra={"message_id": message.id, "old_text": old},
            )
            if not message.internal:
                payload: dict[str, object] = {"message_id": message.id, "text": body}
                if outbound:
                    audience, kind = Audience.CUSTOMER, "customer.reply_edited"
                    payload.update(await _shown_as(change.session, message))
                else:
                    audience, kind = Audience.BACKOFFICE, "backoffice.customer_message_edited"
                change.outbox(ticket, event, audience, kind, payload, method="edit")
        return message


# The customer's copy of a question or of a resolution's answer has its own header
# (and the resolution its buttons): an edit keeps them (delivery/customer.py).
_SHOWN_AS = {Action.ASK_CUSTOMER.value: "info_requested", Action.RESOLVE.value: "resolved"}


async def _shown_as(session: AsyncSession, message: Message) -> dict[str, object]:
    """How the customer's copy of an agent's message was first shown: a reply, the
    question of a request for information, or the answer of a resolution."""
    origin = await repo.event_by_id(session, message.event_id) if message.event_id else None
    shown_as = _SHOWN_AS.get(origin.action, "reply") if origin is not None else "reply"
    found: dict[str, object] = {"shown_as": shown_as}
    if shown_as == "resolved" and origin is not None:
        found["auto_close_at"] = origin.after.get("auto_close_at")
    return found


def _relayed(body: str, message: Message, attachments: Sequence[AttachmentIn]) -> dict[str, object]:
    return {
        "text": body,
        "message_id": message.id,
        "attachments": [a.file_id for a in attachments],
        "files": [{"file_id": a.file_id, "kind": a.kind} for a in attachments],
    }
