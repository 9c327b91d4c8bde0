"""What the desk records of a file a person sent (shared by the customer and agent relays)."""

from __future__ import annotations

import asyncio

from aiogram import Bot
from aiogram.enums import ContentType
from aiogram.types import BufferedInputFile, Message

from desk.images import ImageRejected, inspect_and_clean, keeps_unreadable, should_inspect
from desk.service import AttachmentIn
from locales import Texts

# What a person may send that the desk does not pass on: they are told so. Service
# messages (a pin, a topic created, members joining) are not among them: nobody
# wrote those to the desk.
UNRELAYED_CONTENT = frozenset(
    {
        ContentType.STICKER,
        ContentType.VOICE,
        ContentType.VIDEO,
        ContentType.VIDEO_NOTE,
        ContentType.AUDIO,
        ContentType.ANIMATION,
        ContentType.LOCATION,
        ContentType.VENUE,
        ContentType.CONTACT,
        ContentType.DICE,
        ContentType.POLL,
        ContentType.STORY,
        ContentType.GAME,
    }
)


def attachments_of(message: Message) -> list[AttachmentIn]:
    """The message's photo (its largest size) or document, as the desk stores it."""
    if message.photo:
        largest = message.photo[-1]
        return [
            AttachmentIn(
                largest.file_id,
                largest.file_unique_id,
                kind="photo",
                size=largest.file_size,
                width=largest.width,
                height=largest.height,
            )
        ]
    if message.document:
        document = message.document
        return [
            AttachmentIn(
                document.file_id, document.file_unique_id, kind="document", size=document.file_size
            )
        ]
    return []


async def cleaned_attachments(bot: Bot, message: Message, texts: Texts) -> list[AttachmentIn]:
    """A customer's follow-up files as support may see them.

    A document that Pillow opens as an image is re-encoded without EXIF/GPS
    (desk/images.py), shown back to the customer ("this is what support will
    see") and stored by the clean copy's file_id; other documents pass as
    they are (the rules: ``desk.images.should_inspect`` and ``keeps_unreadable``).
    Raises :class:`ImageRejected` for an image the desk will not take.
    """
    items = attachments_of(message)
    document = message.document
    if document is None:
        return items
    if not should_inspect(document.file_size, document.mime_type, screenshot=False):
        return items
    downloaded = await bot.download(document)
    if downloaded is None:
        return items
    try:
        clean = await asyncio.to_thread(inspect_and_clean, downloaded.read())
    except ImageRejected as error:
        if keeps_unreadable(error, screenshot=False):
            return items  # a PDF, a log file…: support gets it as sent
        raise
    sent = await bot.send_document(
        message.chat.id,
        BufferedInputFile(clean.data, filename=f"image.{clean.extension}"),
        caption=texts("notify.clean_copy"),
        disable_content_type_detection=True,
    )
    if sent.document is None:
        return items
    return [
        AttachmentIn(
            sent.document.file_id,
            sent.document.file_unique_id,
            kind="document",
            size=clean.size,
            width=clean.width,
            height=clean.height,
            sha256=clean.sha256,
        )
    ]


def rejection_text(error: ImageRejected, texts: Texts) -> str:
    return texts(f"intake.bad.{error.reason.value}", **error.text_args())
