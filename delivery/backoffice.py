"""Delivers the desk's notifications for the agents' group (outbox rows, audience "backoffice").

A forum supergroup gets one topic per request, its card as the topic's first
message; a plain group gets the card as a message, and everything about the
request as replies to it. Cards are always rendered from the request's current
state, so several queued edits of one card collapse: the first shows the
latest state and the rest are "not modified", which counts as done.

Telegram errors the sender can retry (429, network, 5xx) are raised as they
come. What this module can fix itself it fixes: a deleted topic or card is
created again and the message delivered into it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)

from backoffice.cards import (
    MAX_CAPTION,
    MAX_TEXT,
    View,
    card_keyboard,
    card_text,
    customer_message,
    event_text,
    fit,
    sla_warning_text,
    split_keyboard,
    topic_name,
)
from locales import Texts
from storage.models import Outbox, Ticket
from tgkit.faults import until_written
from tgkit.html import text_length, to_plain
from tgkit.outbox import Delivery

log = logging.getLogger(__name__)

T = TypeVar("T")
FORUM_CACHE_SECONDS = 300.0
ALBUM_MAX = 10

TOPIC_GONE = ("message thread not found", "topic_id_invalid", "topic_deleted")
NOT_MODIFIED = ("message is not modified", "topic_not_modified")
MESSAGE_GONE = ("message to edit not found", "message_id_invalid")
NOT_A_FORUM = ("the chat is not a forum", "not enough rights to manage topics", "chat_not_forum")


def says(error: TelegramBadRequest, fragments: Sequence[str]) -> bool:
    message = error.message.lower()
    return any(fragment.lower() in message for fragment in fragments)


@dataclass(frozen=True)
class File:
    file_id: str  # empty for a file the cabinet uploaded that Telegram has not seen yet
    kind: str  # "photo" or "document"
    upload_id: int | None = None


def files_of(payload: dict[str, Any]) -> list[File]:
    """The files of a relayed message; older rows name file ids only (photos)."""
    described = payload.get("files")
    if isinstance(described, list):
        return [File(str(f["file_id"]), str(f.get("kind") or "photo")) for f in described]
    return [File(str(file_id), "photo") for file_id in payload.get("attachments") or []]


class BackofficeDeliverer:
    """The ``Deliverer`` of the backoffice audience; holds what it caches about the group."""

    def __init__(self, *, locale: str | None = None) -> None:
        self._locale = locale
        self._forum: dict[int, tuple[bool, float]] = {}
        # The name each topic was last given, to rename only when the status changed.
        self._topic_names: dict[tuple[int, int], str] = {}

    async def __call__(self, row: Outbox, ticket: Ticket | None, context: Delivery) -> int | None:
        if ticket is None:
            raise LookupError(f"outbox row {row.id} ({row.kind}) has no request")
        chat_id = row.chat_id if row.chat_id is not None else context.desk.config.backoffice_chat_id
        if chat_id is None:
            raise LookupError("no backoffice chat configured")
        texts = Texts(self._locale or context.default_locale)
        view = View(texts, context.desk.calendar.hours.tz)
        job = _Job(self, context, ticket, chat_id, view)
        if row.kind == "backoffice.card":
            if row.method == "send":
                return await job.new_card()
            return await job.edit_card()
        if row.kind == "backoffice.customer_message":
            return await job.customer_message(row.payload)
        if row.kind == "backoffice.customer_message_edited":
            return await job.customer_message_edited(row.payload)
        if row.kind == "backoffice.event":
            return await job.event(row.payload)
        raise ValueError(f"unknown backoffice notification {row.kind!r}")

    async def is_forum(self, bot: Bot, chat_id: int) -> bool:
        cached = self._forum.get(chat_id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        chat = await bot.get_chat(chat_id)
        forum = bool(chat.is_forum)
        self._forum[chat_id] = (forum, time.monotonic() + FORUM_CACHE_SECONDS)
        return forum

    def not_a_forum(self, chat_id: int) -> None:
        self._forum[chat_id] = (False, time.monotonic() + FORUM_CACHE_SECONDS)

    def named(self, chat_id: int, thread_id: int) -> str | None:
        return self._topic_names.get((chat_id, thread_id))

    def remember_name(self, chat_id: int, thread_id: int, name: str) -> None:
        self._topic_names[(chat_id, thread_id)] = name


@dataclass
class _Job:
    """One row's delivery; keeps where the request lives as it learns it."""

    owner: BackofficeDeliverer
    context: Delivery
    ticket: Ticket
    chat_id: int
    view: View
    thread_id: int | None = field(init=False)
    card_id: int | None = field(init=False)

    def __post_init__(self) -> None:
        self.thread_id = self.ticket.forum_thread_id
        self.card_id = self.ticket.card_message_id

    @property
    def bot(self) -> Bot:
        return self.context.bot

    @property
    def texts(self) -> Texts:
        return self.view.texts

    # -- the card --------------------------------------------------------------

    async def new_card(self) -> int:
        if self.card_id is None:
            card_id = await self.post_card()
        else:
            # A retry after the card was shown: bring it up to date, then the files.
            card_id = await self.edit_card()
        await self.post_files()
        return card_id

    async def post_card(self) -> int:
        """Show the card: in the request's topic (created if needed), or in the group."""
        text = card_text(self.ticket, self.view)
        markup = card_keyboard(self.ticket, self.texts)
        if self.thread_id is None and await self.owner.is_forum(self.bot, self.chat_id):
            await self.create_topic()
        if self.thread_id is not None:
            try:
                message = await self._send_text(text, markup, thread_id=self.thread_id)
            except TelegramBadRequest as error:
                if not says(error, TOPIC_GONE):
                    raise
                await self.create_topic()
                message = await self._send_text(text, markup, thread_id=self.thread_id)
        else:
            message = await self._send_text(text, markup)
        self.card_id = message.message_id
        card_id, thread_id = self.card_id, self.thread_id
        # The card is in the group: not recording it would post it again on the retry.
        await until_written(
            lambda: self.context.desk.record_card(
                self.ticket.id, thread_id=thread_id, card_message_id=card_id
            ),
            f"the card of request {self.ticket.number}",
        )
        return self.card_id

    async def create_topic(self) -> None:
        name = topic_name(self.ticket, self.texts)
        try:
            topic = await self.bot.create_forum_topic(self.chat_id, name)
        except TelegramBadRequest as error:
            if not says(error, NOT_A_FORUM):
                raise
            # No topics here after all (or no right to make them): cards in the group.
            log.warning("backoffice chat %s: %s; posting cards instead", self.chat_id, error)
            self.owner.not_a_forum(self.chat_id)
            self.thread_id = None
            return
        self.thread_id = topic.message_thread_id
        self.owner.remember_name(self.chat_id, self.thread_id, name)
        # Remembered at once: a retry after a failed card post reuses this topic.
        thread_id = self.thread_id
        await until_written(
            lambda: self.context.desk.record_card(self.ticket.id, thread_id=thread_id),
            f"the topic of request {self.ticket.number}",
        )

    async def edit_card(self) -> int:
        """Show the request's current state on its card (and in its topic's name)."""
        if self.card_id is None:
            return await self.post_card()
        if self.thread_id is not None and not await self.rename_topic():
            self.thread_id = None
            return await self.post_card()
        try:
            await self.bot.edit_message_text(
                text=card_text(self.ticket, self.view),
                chat_id=self.chat_id,
                message_id=self.card_id,
                reply_markup=card_keyboard(self.ticket, self.texts),
                parse_mode=ParseMode.HTML,
            )
        except TelegramBadRequest as error:
            if says(error, NOT_MODIFIED):
                return self.card_id
            if not says(error, MESSAGE_GONE):
                raise
            # Someone deleted the card: show it again where the request lives.
            return await self.post_card()
        return self.card_id

    async def rename_topic(self) -> bool:
        """False when the topic is gone."""
        assert self.thread_id is not None
        name = topic_name(self.ticket, self.texts)
        if self.owner.named(self.chat_id, self.thread_id) == name:
            return True
        try:
            await self.bot.edit_forum_topic(self.chat_id, self.thread_id, name=name)
        except TelegramBadRequest as error:
            if says(error, TOPIC_GONE):
                return False
            if not says(error, NOT_MODIFIED):
                raise
        self.owner.remember_name(self.chat_id, self.thread_id, name)
        return True

    async def post_files(self) -> None:
        """The request's screenshots beside its card (an album when there are several)."""
        stored = await self.context.desk.attachments(self.ticket.id)
        files = [File(a.file_id, a.kind, a.upload_id) for a in stored]
        if files:
            await self.in_place(lambda thread, reply: self._send_files(files, thread, reply))

    # -- messages about the request --------------------------------------------

    async def customer_message(self, payload: dict[str, Any]) -> int:
        """The customer's message beside the card; its copy is remembered for replies and edits.

        One file carries the text as its caption (the rest follows as text when it
        is too long), so an edit always knows to correct a caption; with no file
        or several, the text comes first and the files follow.
        """
        text = to_plain(str(payload.get("text") or ""))
        message_id = int(payload["message_id"])
        files = files_of(payload)
        if any(not f.file_id for f in files):
            # Files from the cabinet: their bytes (or, once shown, their file ids) are stored.
            stored = await self.context.desk.attachments(self.ticket.id, message_id=message_id)
            files = [File(a.file_id, a.kind, a.upload_id) for a in stored]
        markup = split_keyboard(message_id, self.texts) if text else None
        name = self.ticket.customer.name

        async def send(thread: int | None, reply: ReplyParameters | None) -> int:
            if len(files) == 1:
                caption, *rest = customer_message(name, text, self.texts, first=MAX_CAPTION)
                copy = await self._send_file(files[0], caption, markup, thread, reply)
                for piece in rest:
                    await self._send_text(piece, None, thread_id=thread, reply=reply)
                return copy.message_id
            first: int | None = None
            for piece in customer_message(name, text, self.texts):
                shown = await self._send_text(
                    piece, None if first else markup, thread_id=thread, reply=reply
                )
                first = first or shown.message_id
            if files:
                await self._send_files(files, thread, reply)
            assert first is not None
            return first

        copy_id = await self.in_place(send)
        await until_written(
            lambda: self.context.desk.record_copy(message_id, self.chat_id, copy_id),
            f"the copy of message {message_id}",
        )
        return copy_id

    async def customer_message_edited(self, payload: dict[str, Any]) -> int | None:
        message = await self.context.desk.message(int(payload["message_id"]))
        if message is None or message.copy_message_id is None:
            return None  # its copy was never shown: nothing to correct
        chat_id = message.copy_chat_id or self.chat_id
        text = to_plain(str(payload.get("text") or ""))
        markup = split_keyboard(message.id, self.texts) if text else None
        name = self.ticket.customer.name
        files = await self.context.desk.attachments(self.ticket.id, message_id=message.id)
        if len(files) == 1:
            return await self._edit_caption(chat_id, message.copy_message_id, name, text, markup)
        try:
            await self.bot.edit_message_text(
                text=_single(name, text, self.texts, MAX_TEXT),
                chat_id=chat_id,
                message_id=message.copy_message_id,
                reply_markup=markup,
                parse_mode=ParseMode.HTML,
            )
        except TelegramBadRequest as error:
            if not (says(error, NOT_MODIFIED) or says(error, MESSAGE_GONE)):
                raise
            # The same already, or deleted: nothing to correct.
        return message.copy_message_id

    async def _edit_caption(
        self,
        chat_id: int,
        message_id: int,
        name: str,
        text: str,
        markup: InlineKeyboardMarkup | None,
    ) -> int:
        try:
            await self.bot.edit_message_caption(
                chat_id=chat_id,
                message_id=message_id,
                caption=_single(name, text, self.texts, MAX_CAPTION),
                reply_markup=markup,
                parse_mode=ParseMode.HTML,
            )
        except TelegramBadRequest as error:
            if not (says(error, NOT_MODIFIED) or says(error, MESSAGE_GONE)):
                raise
        return message_id

    async def event(self, payload: dict[str, Any]) -> int:
        if payload.get("action") == "sla_warning":
            text = sla_warning_text(payload, self.view)
        else:
            text = event_text(str(payload.get("action") or ""), payload.get("comment"), self.texts)

        async def send(thread: int | None, reply: ReplyParameters | None) -> int:
            return (await self._send_text(text, None, thread_id=thread, reply=reply)).message_id

        return await self.in_place(send)

    # -- where and how ---------------------------------------------------------

    async def in_place(
        self, send: Callable[[int | None, ReplyParameters | None], Awaitable[T]]
    ) -> T:
        """Send into the request's topic, or as a reply to its card in a plain group.

        The card comes first if it was never shown; a deleted topic is made again.
        """
        if self.card_id is None and self.thread_id is None:
            await self.post_card()
        try:
            return await send(*self._place())
        except TelegramBadRequest as error:
            if self.thread_id is None or not says(error, TOPIC_GONE):
                raise
        self.thread_id = None
        await self.post_card()
        return await send(*self._place())

    def _place(self) -> tuple[int | None, ReplyParameters | None]:
        if self.thread_id is not None:
            return self.thread_id, None
        if self.card_id is None:
            return None, None
        return None, ReplyParameters(message_id=self.card_id, allow_sending_without_reply=True)

    async def _send_text(
        self,
        text: str,
        markup: InlineKeyboardMarkup | None,
        *,
        thread_id: int | None = None,
        reply: ReplyParameters | None = None,
    ) -> Message:
        return await self.bot.send_message(
            self.chat_id,
            text,
            parse_mode=ParseMode.HTML,
            message_thread_id=thread_id,
            reply_parameters=reply,
            reply_markup=markup,
        )

    async def _send_file(
        self,
        file: File,
        caption: str | None,
        markup: InlineKeyboardMarkup | None,
        thread: int | None,
        reply: ReplyParameters | None,
    ) -> Message:
        media = await self._media(file)
        if file.kind == "photo":
            sent = await self.bot.send_photo(
                self.chat_id,
                media,
                caption=caption,
                parse_mode=ParseMode.HTML,
                message_thread_id=thread,
                reply_parameters=reply,
                reply_markup=markup,
            )
        else:
            sent = await self.bot.send_document(
                self.chat_id,
                media,
                caption=caption,
                parse_mode=ParseMode.HTML,
                message_thread_id=thread,
                reply_parameters=reply,
                reply_markup=markup,
            )
        await self._remember([file], [sent])
        return sent

    async def _media(self, file: File) -> str | BufferedInputFile:
        """A file id, or the bytes of a file the cabinet uploaded and Telegram has not seen."""
        if file.file_id or file.upload_id is None:
            return file.file_id
        upload = await self.context.desk.upload(file.upload_id)
        if upload is None:
            raise LookupError(f"upload {file.upload_id} is gone")
        return BufferedInputFile(upload.data, filename=upload.filename)

    async def _remember(self, files: Sequence[File], sent: Sequence[Message]) -> None:
        """Uploaded files get Telegram's file id: a retry or a second showing reuses it."""
        for file, message in zip(files, sent, strict=False):
            if file.file_id or file.upload_id is None:
                continue
            shown = message.photo[-1] if message.photo else message.document
            if shown is not None:
                await self.context.desk.remember_file_id(
                    file.upload_id, shown.file_id, shown.file_unique_id
                )

    async def _send_files(
        self, files: Sequence[File], thread: int | None, reply: ReplyParameters | None
    ) -> int:
        """Photos as one album, documents as another (Telegram does not mix them)."""
        first: int | None = None
        for kind in ("photo", "document"):
            same = [f for f in files if f.kind == kind]
            for start in range(0, len(same), ALBUM_MAX):
                chunk = same[start : start + ALBUM_MAX]
                if len(chunk) == 1:
                    sent = [await self._send_file(chunk[0], None, None, thread, reply)]
                else:
                    media: list[InputMediaPhoto | InputMediaDocument] = [
                        InputMediaPhoto(media=await self._media(f))
                        if kind == "photo"
                        else InputMediaDocument(media=await self._media(f))
                        for f in chunk
                    ]
                    sent = await self.bot.send_media_group(
                        self.chat_id,
                        media,  # type: ignore[arg-type]
                        message_thread_id=thread,
                        reply_parameters=reply,
                    )
                    await self._remember(chunk, sent)
                first = first or sent[0].message_id
        assert first is not None
        return first


def _single(name: str, text: str, texts: Texts, limit: int) -> str:
    """A customer's message in one piece (an edit cannot add messages): cut if needed."""
    header = customer_message(name, "", texts)[0]
    if not text:
        return header
    return f"{header}\n{fit(text, limit - text_length(header) - 1)}"


_default = BackofficeDeliverer()


async def deliver(row: Outbox, ticket: Ticket | None, context: Delivery) -> int | None:
    """The outbox sender's entry point for rows whose audience is the backoffice."""
    return await _default(row, ticket, context)
