"""The customer's inline keyboards; which actions a request offers comes from the desk."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from desk.lifecycle import allowed_actions
from desk.model import Action, Status, format_number
from desk.resolution import may_be_rated
from locales import Texts
from storage.models import Ticket
from tgkit.callbacks import (
    MenuAction,
    MenuCallback,
    MyPageCallback,
    RatingCallback,
    TicketAction,
    TicketCallback,
)


def resolution(texts: Texts, number: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=texts("buttons.solved"),
        callback_data=TicketCallback(action=TicketAction.CONFIRM, number=number),
    )
    builder.button(
        text=texts("buttons.not_solved"),
        callback_data=TicketCallback(action=TicketAction.DISAGREE, number=number),
    )
    return builder.as_markup()


def rating(texts: Texts, number: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for value in range(1, 6):
        builder.button(
            text=texts("buttons.stars", stars=value),
            callback_data=RatingCallback(number=number, stars=value),
        )
    builder.adjust(5)
    return builder.as_markup()


def view(texts: Texts, number: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=texts("buttons.view"),
        callback_data=TicketCallback(action=TicketAction.VIEW, number=number),
    )
    return builder.as_markup()


def ticket_actions(texts: Texts, ticket: Ticket) -> InlineKeyboardMarkup:
    """The actions that apply to the request now, as the lifecycle table says."""
    status = Status(ticket.status)
    allowed = allowed_actions(status)
    builder = InlineKeyboardBuilder()

    def add(key: str, action: TicketAction) -> None:
        builder.button(
            text=texts(key), callback_data=TicketCallback(action=action, number=ticket.number)
        )

    if Action.CUSTOMER_MESSAGE in allowed:
        add("buttons.add_info", TicketAction.ADD_INFO)
    if Action.CONFIRM in allowed:
        add("buttons.solved", TicketAction.CONFIRM)
        add("buttons.not_solved", TicketAction.DISAGREE)
    if Action.WITHDRAW in allowed:
        add("buttons.withdraw", TicketAction.WITHDRAW)
    builder.adjust(2)
    markup = builder.as_markup()
    if may_be_rated(ticket):
        markup.inline_keyboard.extend(rating(texts, ticket.number).inline_keyboard)
    markup.inline_keyboard.append(
        [
            InlineKeyboardBuilder()
            .button(text=texts("buttons.back"), callback_data=MyPageCallback(offset=0))
            .as_markup()
            .inline_keyboard[0][0]
        ]
    )
    return markup


def ticket_list(
    texts: Texts,
    tickets: Sequence[Ticket],
    *,
    offset: int,
    has_more: bool,
    page: int,
    tz: tzinfo,
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for ticket in tickets:
        builder.button(
            text=texts(
                "my.line",
                number=format_number(ticket.number),
                status=texts(f"status.{ticket.status}"),
                updated=ticket.updated_at.astimezone(tz).strftime("%d.%m %H:%M"),
                topic=ticket.topic[:40],
            ),
            callback_data=TicketCallback(action=TicketAction.VIEW, number=ticket.number),
        )
    builder.adjust(1)
    navigation = InlineKeyboardBuilder()
    if offset > 0:
        navigation.button(
            text=texts("buttons.back"), callback_data=MyPageCallback(offset=max(0, offset - page))
        )
    if has_more:
        navigation.button(
            text=texts("buttons.more"), callback_data=MyPageCallback(offset=offset + page)
        )
    navigation.button(
        text=texts("buttons.new_request"), callback_data=MenuCallback(action=MenuAction.NEW)
    )
    builder.attach(navigation)
    return builder.as_markup()


def choose_ticket(texts: Texts, tickets: Sequence[Ticket]) -> InlineKeyboardMarkup:
    """Where a plain message should go: one of the open requests, or a new one."""
    builder = InlineKeyboardBuilder()
    for ticket in tickets:
        builder.button(
            text=f"{format_number(ticket.number)} · {ticket.topic[:40]}",
            callback_data=TicketCallback(action=TicketAction.ADD_PENDING, number=ticket.number),
        )
    builder.button(
        text=texts("buttons.new_request"), callback_data=MenuCallback(action=MenuAction.NEW)
    )
    builder.adjust(1)
    return builder.as_markup()


def reopen_or_new(texts: Texts, number: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=texts("buttons.reopen"),
        callback_data=TicketCallback(action=TicketAction.REOPEN_WITH_PENDING, number=number),
    )
    builder.button(
        text=texts("buttons.new_request"), callback_data=MenuCallback(action=MenuAction.NEW)
    )
    builder.adjust(1)
    return builder.as_markup()


def confirm_withdraw(texts: Texts, number: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=texts("buttons.withdraw_confirm"),
        callback_data=TicketCallback(action=TicketAction.WITHDRAW_CONFIRMED, number=number),
    )
    builder.button(
        text=texts("buttons.cancel"),
        callback_data=TicketCallback(action=TicketAction.VIEW, number=number),
    )
    return builder.as_markup()
