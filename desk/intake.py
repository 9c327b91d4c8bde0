"""Intake: a request is born — filed by a customer, or split off another one by an agent (R3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from desk import lifecycle
from desk.change import Change, DeskBase, iso
from desk.errors import NotFound, PermissionDenied, ValidationFailed
from desk.model import DEFAULT_PRIORITY, Action, Audience, Channel, Kind, Status
from desk.values import (
    ATTACHMENTS_MAX,
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    DETAILS_MAX,
    TOPIC_MAX,
    Actor,
    AttachmentIn,
    NewTicket,
    clean,
)
from storage import repository as repo
from storage.models import Customer, Ticket


class Intake(DeskBase):
    async def create(self, actor: Actor, draft: NewTicket) -> Ticket:
        lifecycle.check_role(actor.roles, Action.CREATE)
        if actor.customer_id is None:
            raise PermissionDenied("only a customer (or the cabinet for one) files a request")
        topic = clean(draft.topic, "topic", minimum=1, maximum=TOPIC_MAX)
        description = clean(
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
            if draft.intake_key is not None:
                filed = await repo.ticket_by_intake(change.session, customer.id, draft.intake_key)
                if filed is not None:
                    return filed  # nothing written: the customer was told about it once
            ticket = await _insert_ticket(
                change,
                customer,
                kind=draft.kind,
                topic=topic,
                description=description,
                technical_details=details,
                channel=draft.channel,
                attachments=draft.attachments,
                intake_key=draft.intake_key,
            )
        return ticket

    async def split(
        self, actor: Actor, number: int, text: str, *, kind: Kind | None = None
    ) -> Ticket:
        """R3: a new question that came up in a request becomes a request of its own."""
        body = clean(text, "text", minimum=1, maximum=DESCRIPTION_MAX)
        async with self._change(actor) as change:
            original = await change.load(number, Action.SPLIT, for_update=False)
            lifecycle.next_status(Action.SPLIT, Status(original.status))
            topic = body.splitlines()[0][:TOPIC_MAX].strip() or body[:TOPIC_MAX]
            ticket = await _insert_ticket(
                change,
                original.customer,
                kind=kind or Kind(original.kind),
                topic=topic,
                description=body,
                technical_details=None,
                channel=Channel(original.channel),
                parent=original,
            )
            await change.event(original, Action.SPLIT, extra={"new_number": ticket.number})
        return ticket


async def _insert_ticket(
    change: Change,
    customer: Customer,
    *,
    kind: Kind,
    topic: str,
    description: str,
    technical_details: str | None,
    channel: Channel,
    attachments: Sequence[AttachmentIn] = (),
    parent: Ticket | None = None,
    intake_key: str | None = None,
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
        intake_key=intake_key,
        created_at=change.now,
        updated_at=change.now,
        last_customer_message_at=change.now,
        awaiting_reply=True,
        paused_minutes=0,
        reopen_count=0,
    )
    change.recompute_due(ticket)
    session.add(ticket)
    await session.flush()
    await change.attach(ticket, attachments)
    extra: dict[str, Any] = {"kind": ticket.kind, "channel": ticket.channel}
    if parent is not None:
        extra["parent_number"] = parent.number
    event = await change.event(ticket, Action.CREATE, extra=extra)
    support_starts = change.calendar.next_support_start(
        # The support schedule, never the tariff, says whether work has started (R9).
        change.now
    )
    change.tell_customer(
        ticket,
        event,
        "registered",
        {
            "priority": ticket.priority,
            "first_response_due_at": iso(ticket.first_response_due_at),
            "support_starts_at": iso(support_starts) if support_starts > change.now else None,
        },
    )
    change.outbox(ticket, event, Audience.BACKOFFICE, "backoffice.card", method="send")
    return ticket
