"""Customer notifications: outbox rows of audience "customer" rendered and sent (DESIGN §2).

Texts of agents' replies arrive as Telegram HTML (the agent's formatting,
already escaped by aiogram's ``html_text``); every other inserted value is
escaped here. Long texts are split with :func:`tgkit.html.split_html` (the full
text stays in history); one file carries the text as its caption, so an edit
of the reply knows to correct a caption.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    MediaUnion,
)

from desk.model import CloseReason, format_number
from desk.resolution import awaits_confirmation, may_be_rated
from handlers import keyboards
from locales import Texts, pick_locale
from storage.models import Outbox, Ticket
from tgkit.faults import until_written
from tgkit.html import MAX_CAPTION, cut_html, split_html
from tgkit.outbox import Delivery


def local_time(moment: str | datetime | None, context: Delivery) -> str:
    if moment is None:
        return "—"
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(context.desk.calendar.hours.tz).strftime("%d.%m.%Y %H:%M")


def render(
    row: Outbox, texts: Texts, context: Delivery, ticket: Ticket | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    return _render(row.kind.removeprefix("customer."), row.payload, texts, context, ticket)


def _render(
    kind: str, p: dict[str, Any], texts: Texts, context: Delivery, ticket: Ticket | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    number = p["number"]
    shown = format_number(number)
    if kind == "registered":
        text = texts(
            "notify.registered",
            number=shown,
            priority=texts(f"priority.{p['priority']}"),
            due=local_time(p.get("first_response_due_at"), context),
        )
        if p.get("support_starts_at"):
            starts = local_time(p["support_starts_at"], context)
            text += "\n" + texts("notify.registered_outside_hours", starts=starts)
        return text, keyboards.view(texts, number)
    if kind == "taken":
        agent = p.get("agent_name") or ""
        if agent:
            return texts("notify.taken", number=shown, agent=escape(agent)), None
        return texts("notify.taken_anonymous", number=shown), None
    if kind == "priority_changed":
        return texts(
            "notify.priority_changed",
            number=shown,
            old=texts(f"priority.{p['old_priority']}"),
            new=texts(f"priority.{p['priority']}"),
        ), None
    if kind == "info_requested":
        return texts("notify.info_requested", number=shown, question=p["text"]), None
    if kind == "reply":
        return texts("notify.reply", number=shown, text=p["text"]), None
    if kind == "resolved":
        auto_close = local_time(p.get("auto_close_at"), context)
        if p.get("answer"):
            text = texts("notify.resolved", number=shown, answer=p["answer"], auto_close=auto_close)
        else:
            text = texts("notify.resolved_no_answer", number=shown, auto_close=auto_close)
        return text, keyboards.resolution(texts, number)
    if kind == "auto_close_reminder":
        auto_close = local_time(p.get("auto_close_at"), context)
        return texts("notify.auto_close_reminder", number=shown, auto_close=auto_close), (
            keyboards.resolution(texts, number)
        )
    if kind == "waiting_reminder":
        return texts("notify.waiting_reminder", number=shown), None
    if kind == "reopened":
        return texts("notify.reopened", number=shown, reason=escape(p["reason"])), None
    if kind == "closed":
        reason = CloseReason(p["reason"])
        # Rows written before "days" was in the payload: the default of the time.
        text = texts(f"notify.closed.{reason.value}", number=shown, days=p.get("days", 5))
        if p.get("comment"):
            text += "\n" + texts("notify.closed.comment", comment=escape(p["comment"]))
        # The request as it is now: one rated meanwhile is not offered again.
        if ticket is not None and may_be_rated(ticket):
            text += "\n\n" + texts("notify.rate_prompt")
            return text, keyboards.rating(texts, number)
        return text, None
    raise ValueError(f"unknown customer notification {kind}")


async def deliver(row: Outbox, ticket: Ticket | None, context: Delivery) -> int | None:
    if ticket is None or row.chat_id is None:
        return None
    texts = Texts(pick_locale(ticket.customer.language, context.default_locale))
    bot = context.bot
    if row.kind == "customer.reply_edited":
        return await _edit_copy(row, texts, context, ticket)
    text, markup = render(row, texts, context, ticket)
    files: list[dict[str, str]] = list(row.payload.get("files") or [])
    sent_id: int | None = None
    if files:
        sent_id = await _send_media(row.chat_id, files, text, markup, context)
    else:
        parts = split_html(text)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            message = await bot.send_message(
                row.chat_id, part, reply_markup=markup if last else None
            )
            sent_id = sent_id or message.message_id
    message_row_id = row.payload.get("message_id")
    if message_row_id and sent_id is not None:
        shown, chat_id = sent_id, row.chat_id
        # The reply is with the customer: without the record their edits could not follow it.
        await until_written(
            lambda: context.desk.record_copy(int(message_row_id), chat_id, shown),
            f"the copy of message {message_row_id}",
        )
    return sent_id


async def _send_media(
    chat_id: int,
    files: list[dict[str, str]],
    text: str,
    markup: InlineKeyboardMarkup | None,
    context: Delivery,
) -> int:
    """Files with the text: one file carries it as its caption, else the text comes first.

    A caption too long goes on in messages after the file; photos and documents
    cannot share an album, so each kind goes as its own.
    """
    bot = context.bot
    if len(files) == 1:
        caption, *rest = split_html(text, first=MAX_CAPTION) or [""]
        item = files[0]
        markup_here = None if rest else markup
        if item.get("kind") == "photo":
            sent = await bot.send_photo(
                chat_id, item["file_id"], caption=caption or None, reply_markup=markup_here
            )
        else:
            sent = await bot.send_document(
                chat_id, item["file_id"], caption=caption or None, reply_markup=markup_here
            )
        for index, part in enumerate(rest):
            last = index == len(rest) - 1
            await bot.send_message(chat_id, part, reply_markup=markup if last else None)
        return sent.message_id
    first: int | None = None
    parts = split_html(text)
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        message = await bot.send_message(chat_id, part, reply_markup=markup if last else None)
        first = first or message.message_id
    photos = [f["file_id"] for f in files if f.get("kind") == "photo"]
    documents = [f["file_id"] for f in files if f.get("kind") != "photo"]
    for chunk in _chunks(photos):
        await _album(chat_id, [InputMediaPhoto(media=file_id) for file_id in chunk], context)
    for chunk in _chunks(documents):
        await _album(chat_id, [InputMediaDocument(media=file_id) for file_id in chunk], context)
    assert first is not None
    return first


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + 10] for i in range(0, len(items), 10)]  # an album holds 10


async def _album(chat_id: int, media: list[MediaUnion], context: Delivery) -> None:
    if len(media) == 1:
        item = media[0]
        if isinstance(item, InputMediaPhoto):
            await context.bot.send_photo(chat_id, item.media)
        else:
            await context.bot.send_document(chat_id, item.media)
        return
    await context.bot.send_media_group(chat_id, media)


def _edited_copy(
    row: Outbox, texts: Texts, context: Delivery, ticket: Ticket
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The copy's new text as the notification it first came with.

    A question keeps "more information is needed", a resolution's answer keeps
    "resolved", its auto-close time and, while the customer may still confirm, its
    buttons: an edit without them would take them away. Rows written before
    ``shown_as`` was in the payload were replies.
    """
    p: dict[str, Any] = row.payload
    shown_as = p.get("shown_as", "reply")
    if shown_as == "resolved":
        text, markup = _render(shown_as, {**p, "answer": p["text"]}, texts, context, ticket)
        return text, markup if awaits_confirmation(ticket) else None
    return _render(shown_as, p, texts, context, ticket)


async def _edit_copy(row: Outbox, texts: Texts, context: Delivery, ticket: Ticket) -> int | None:
    """The customer's copy of an edited message: its text, or its caption when it went with a file.

    An edit cannot add messages: a text grown too long is cut with "…" (history keeps it whole).
    """
    message = await context.desk.message(int(row.payload["message_id"]))
    if message is None or message.copy_message_id is None or message.copy_chat_id is None:
        return None
    text, markup = _edited_copy(row, texts, context, ticket)
    files = await context.desk.attachments(message.ticket_id, message_id=message.id)
    chat_id, copy_id = message.copy_chat_id, message.copy_message_id
    caption = len(files) == 1
    try:
        try:
            await _edit(context, chat_id, copy_id, text, markup, caption=caption)
        except TelegramBadRequest as error:
            # A copy sent before one file always carried its text as a caption.
            if "there is no caption" not in error.message:
                raise
            await _edit(context, chat_id, copy_id, text, markup, caption=False)
    except TelegramBadRequest as error:
        if "not modified" in error.message:
            return copy_id
        if "message to edit not found" in error.message or "can't be edited" in error.message:
            return None  # the customer deleted it, or it is too old: history keeps the text
        raise
    return copy_id


async def _edit(
    context: Delivery,
    chat_id: int,
    message_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None,
    *,
    caption: bool,
) -> None:
    if caption:
        await context.bot.edit_message_caption(
            chat_id=chat_id,
            message_id=message_id,
            caption=cut_html(text, MAX_CAPTION),
            reply_markup=markup,
        )
    else:
        await context.bot.edit_message_text(
            text=cut_html(text), chat_id=chat_id, message_id=message_id, reply_markup=markup
        )
