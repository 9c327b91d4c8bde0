"""Resolution: how a request ends (R6) — and how it continues when the answer was not enough.

Agents resolve (with an answer) and close (duplicate, spam, other); the
customer confirms, disagrees (reopen with a reason), withdraws, and rates a
closed request once; the scheduler reminds and auto-closes a resolved request
nobody answered.
"""

from __future__ import annotations

from desk import lifecycle
from desk.change import Change, DeskBase, iso, snapshot
from desk.errors import AlreadyClosed, AlreadyRated, ValidationFailed
from desk.model import AGENT_CLOSE_REASONS, Action, CloseReason, MessageDirection, Status
from desk.values import TEXT_MAX, Actor, MessageRef, clean, plain_text
from storage import repository as repo
from storage.models import Ticket, TicketEvent

RATING_MIN, RATING_MAX = 1, 5


def may_be_rated(ticket: Ticket) -> bool:
    """A closed request, not rated yet: its customer may rate it (once, whatever the close)."""
    return Action.RATE in lifecycle.allowed_actions(Status(ticket.status)) and ticket.rating is None


def awaits_confirmation(ticket: Ticket) -> bool:
    """A resolution the customer may still confirm or dispute (its buttons still act)."""
    return Action.CONFIRM in lifecycle.allowed_actions(Status(ticket.status))


def check_customer_reopen(actor: Actor, status: Status) -> None:
    # A closed request is reopened by the desk, not by the customer: a new
    # question is a new request (R3).
    if not actor.is_staff and status is Status.CLOSED:
        raise AlreadyClosed(Action.REOPEN, status)


class Resolution(DeskBase):
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
        if not plain_text(body).strip():
            body = ""
        length = len(plain_text(body))
        if length > TEXT_MAX:
            raise ValidationFailed("answer", "too_long", maximum=TEXT_MAX, length=length)
        async with self._change(actor) as change:
            ticket = await change.load(number, Action.RESOLVE)
            before = snapshot(ticket)
            ticket.status = lifecycle.next_status(Action.RESOLVE, Status(ticket.status)).value
            if not body and ticket.awaiting_reply:
                raise ValidationFailed("answer", "required")
            if body:
                ticket.last_public_reply_at = change.now
                ticket.awaiting_reply = False
                if ticket.first_responded_at is None:
                    ticket.first_responded_at = change.now
            change.resume(ticket)
            # Waiting for the confirmation is waiting for the customer: the
            # SLA clock stops until they confirm or disagree.
            change.pause(ticket)
            ticket.resolved_at = change.now
            days = self.config.auto_close_business_days
            ticket.auto_close_at = self.calendar.add_business_days(change.now, days)
            ticket.auto_close_reminder_at = (
                self.calendar.add_business_days(change.now, days - 1) if days > 1 else None
            )
            ticket.reminder_sent_at = None
            event = await change.event(
                ticket,
                Action.RESOLVE,
                before,
                comment=body or None,
                extra={"auto_close_at": iso(ticket.auto_close_at)},
            )
            message_id = None
            if body:
                message = await change.message(
                    ticket, event, MessageDirection.OUTBOUND, body, source, ()
                )
                message_id = message.id
            change.tell_customer(
                ticket,
                event,
                "resolved",
                {
                    "answer": body or None,
                    "message_id": message_id,
                    "auto_close_at": iso(ticket.auto_close_at),
                },
            )
            change.card(ticket, event)
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
            ticket = await change.load(number, Action.CLOSE)
            await _close(change, ticket, Action.CLOSE, reason, text)
        return ticket

    async def confirm(self, actor: Actor, number: int) -> Ticket:
        async with self._change(actor) as change:
            ticket = await change.load(number, Action.CONFIRM)
            await _close(change, ticket, Action.CONFIRM, CloseReason.CONFIRMED, None)
        return ticket

    async def withdraw(self, actor: Actor, number: int, comment: str | None = None) -> Ticket:
        """R6: the customer closes the request when the answer is no longer needed."""
        async with self._change(actor) as change:
            ticket = await change.load(number, Action.WITHDRAW)
            text = (comment or "").strip() or None
            await _close(change, ticket, Action.WITHDRAW, CloseReason.WITHDRAWN, text)
        return ticket

    async def reopen(self, actor: Actor, number: int, reason: str) -> Ticket:
        """R6: an argued disagreement continues the work; the reason is required."""
        body = clean(reason, "reason", minimum=1, maximum=TEXT_MAX)
        async with self._change(actor) as change:
            ticket = await change.load(number, Action.REOPEN)
            status = Status(ticket.status)
            check_customer_reopen(actor, status)
            before = snapshot(ticket)
            ticket.status = lifecycle.next_status(Action.REOPEN, status).value
            change.resume(ticket)
            ticket.reopen_count += 1
            ticket.resolved_at = ticket.closed_at = None
            ticket.close_reason = None
            ticket.auto_close_at = ticket.auto_close_reminder_at = ticket.reminder_sent_at = None
            if not actor.is_staff:
                ticket.last_customer_message_at = change.now
            ticket.awaiting_reply = True
            event = await change.event(ticket, Action.REOPEN, before, comment=body)
            if not actor.is_staff:
                await change.message(ticket, event, MessageDirection.INBOUND, body, None, ())
            change.tell_customer(ticket, event, "reopened", {"reason": body})
            change.tell_backoffice(
                ticket, event, "event", {"action": Action.REOPEN.value, "comment": body}
            )
            change.card(ticket, event)
        return ticket

    async def rate(self, actor: Actor, number: int, rating: int) -> Ticket:
        """The customer rates a closed request, once (:func:`may_be_rated`)."""
        if not RATING_MIN <= rating <= RATING_MAX:
            raise ValidationFailed("rating", "out_of_range", minimum=RATING_MIN, maximum=RATING_MAX)
        async with self._change(actor) as change:
            ticket = await change.load(number, Action.RATE)
            lifecycle.next_status(Action.RATE, Status(ticket.status))
            if not may_be_rated(ticket):
                raise AlreadyRated(f"request {number} is already rated", number=number)
            before = snapshot(ticket)
            ticket.rating = rating
            event = await change.event(ticket, Action.RATE, before)
            change.card(ticket, event)
        return ticket

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
                event = await change.event(ticket, Action.AUTO_CLOSE_REMINDER)
                payload = {"auto_close_at": iso(ticket.auto_close_at)}
                change.tell_customer(ticket, event, "auto_close_reminder", payload)
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
                await _close(change, ticket, Action.AUTO_CLOSE, CloseReason.AUTO, None)
                closed.append(ticket.number)
        return closed


async def _close(
    change: Change, ticket: Ticket, action: Action, reason: CloseReason, comment: str | None
) -> TicketEvent:
    before = snapshot(ticket)
    ticket.status = lifecycle.next_status(action, Status(ticket.status)).value
    change.resume(ticket)
    ticket.closed_at = change.now
    ticket.close_reason = reason.value
    ticket.auto_close_at = None
    ticket.auto_close_reminder_at = None
    event = await change.event(ticket, action, before, comment=comment)
    told: dict[str, object] = {"reason": reason.value, "comment": comment}
    if reason is CloseReason.AUTO:
        told["days"] = change.config.auto_close_business_days  # as configured, not "5"
    change.tell_customer(ticket, event, "closed", told)
    if action is not Action.CLOSE:
        # Agents did not do this themselves: tell them in the request's thread.
        change.tell_backoffice(ticket, event, "event", {"action": action.value, "comment": comment})
    change.card(ticket, event)
    return event
