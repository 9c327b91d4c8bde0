"""What the desk records of a file a person sent (shared by the customer and agent relays)."""

from __future__ import annotations

from aiogram.types import Message

from desk.service import AttachmentIn


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
