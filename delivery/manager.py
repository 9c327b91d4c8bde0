"""Managers' digests (outbox rows of audience "manager"): the chart with its summary, then the text.

The desk writes two rows per digest and recipient, in this order, so the
sender keeps them in order and a retry of one never repeats the other. The
payload carries the figures as computed at the digest's time (``Digest``); the
language is the recipient's, or the desk's default for the managers' chat.
"""

from __future__ import annotations

from backoffice.digest import NO_PREVIEW, chart_png, full_text, photo, split_lines, summary_text
from desk.digest import Digest
from locales import Texts, pick_locale
from storage.models import Outbox, Ticket
from tgkit.outbox import Delivery


async def deliver(row: Outbox, ticket: Ticket | None, context: Delivery) -> int | None:
    if row.chat_id is None:
        return None
    digest = Digest.from_payload(row.payload["digest"])
    texts = Texts(pick_locale(row.payload.get("language"), context.default_locale))
    tz = context.desk.calendar.hours.tz
    bot = context.bot
    if row.kind == "manager.digest_chart":
        png = await chart_png(digest, texts)
        sent = await bot.send_photo(
            row.chat_id, photo(png), caption=summary_text(digest, texts, tz)
        )
        return sent.message_id
    if row.kind == "manager.digest_text":
        first: int | None = None
        text = full_text(digest, texts, tz, context.desk.config.backoffice_chat_id)
        for part in split_lines(text):
            message = await bot.send_message(row.chat_id, part, link_preview_options=NO_PREVIEW)
            first = first or message.message_id
        return first
    raise ValueError(f"unknown manager notification {row.kind}")
