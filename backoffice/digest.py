"""Managers' digests as people read them: the summary, the full text, the chart, and /digest.

The figures come from the desk (``desk/digest.py``); this module only renders
them, in the reader's language and the desk's time zone. ``/digest`` works in
a manager's or an administrator's private chat and in the agents' group; the
desk refuses anyone else (``ManagersOnly``, one polite line) and answers a
period it cannot read with an example of one it can. Scheduled digests are
rendered by ``delivery/manager.py`` from the same functions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from html import escape
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, LinkPreviewOptions, Message

from backoffice.cards import fit, message_link, priority_label
from backoffice.chart import ChartLabels, render_chart
from desk.digest import CLOSE_REASONS, Digest, DigestKind
from desk.errors import ManagersOnly, ValidationFailed
from desk.model import format_number
from desk.service import Actor, Desk
from locales import Texts
from tgkit.config import ChatSettings
from tgkit.filters import Inline

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _day(value: str) -> str:
    return date.fromisoformat(value).strftime("%d.%m.%Y")


def title(digest: Digest, texts: Texts, tz: tzinfo) -> str:
    first, last = _day(digest.first_day), _day(digest.last_day)
    period = first if first == last else f"{first} – {last}"
    kind = DigestKind(digest.kind)
    until = datetime.fromisoformat(digest.computed_at).astimezone(tz).strftime("%H:%M")
    return texts(f"digest.title.{kind.value}", period=period, until=until)


def duration(minutes: float | None, texts: Texts) -> str:
    """Support-hours minutes as "2 h 5 min" (or "45 min")."""
    if minutes is None:
        return texts("digest.value.none")
    whole = round(minutes)
    if whole < 60:
        return texts("digest.value.minutes", minutes=whole)
    return texts("digest.value.hours", hours=whole // 60, minutes=whole % 60)


def signed(value: int) -> str:
    return f"{value:+d}" if value else "0"


def _listing(values: Mapping[str, int], label: str, texts: Texts) -> str:
    if not values:
        return texts("digest.value.none")
    return " · ".join(f"{texts(label.format(key))} {count}" for key, count in values.items())


def _priorities(values: Mapping[str, int], texts: Texts) -> str:
    if not values:
        return texts("digest.value.none")
    return " · ".join(f"{priority_label(texts, int(p))} {n}" for p, n in values.items())


def _sla_totals(digest: Digest) -> tuple[int, int, int, int]:
    first_met = sum(s.first_response_met for s in digest.sla)
    first_all = first_met + sum(s.first_response_breached for s in digest.sla)
    resolution_met = sum(s.resolution_met for s in digest.sla)
    resolution_all = resolution_met + sum(s.resolution_breached for s in digest.sla)
    return first_met, first_all, resolution_met, resolution_all


def _rating(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "—"


def summary_text(digest: Digest, texts: Texts, tz: tzinfo) -> str:
    """The photo's caption: the period's main figures in a few lines."""
    first_met, first_all, resolution_met, resolution_all = _sla_totals(digest)
    lines = [
        title(digest, texts, tz),
        texts(
            "digest.summary.flow",
            new=digest.new_total,
            resolved=digest.resolved,
            closed=digest.closed_total,
            reopened=digest.reopened,
        ),
        texts(
            "digest.summary.backlog",
            backlog=digest.backlog_total,
            change=signed(digest.backlog_change),
        ),
        texts(
            "digest.summary.sla",
            first_met=first_met,
            first_total=first_all,
            resolution_met=resolution_met,
            resolution_total=resolution_all,
            at_risk=digest.at_risk,
        ),
        texts(
            "digest.summary.rating",
            average=_rating(digest.rating_average),
            count=digest.rating_count,
        )
        if digest.rating_count
        else texts("digest.summary.no_rating"),
    ]
    return "\n".join(lines)[:CAPTION_LIMIT]


def full_text(digest: Digest, texts: Texts, tz: tzinfo, backoffice_chat_id: int | None) -> str:
    """Every figure of the digest, in sections."""
    closed = {reason: digest.closed.get(reason, 0) for reason in CLOSE_REASONS}
    lines = [
        title(digest, texts, tz),
        "",
        texts("digest.section.new", total=digest.new_total),
        texts(
            "digest.section.by_kind",
            values=_listing(digest.new_by_kind, "backoffice.kind.{}", texts),
        ),
        texts("digest.section.by_priority", values=_priorities(digest.new_by_priority, texts)),
        texts(
            "digest.section.by_channel",
            values=_listing(digest.new_by_channel, "digest.channel.{}", texts),
        ),
        "",
        texts("digest.section.resolved", resolved=digest.resolved, reopened=digest.reopened),
        texts("digest.section.closed", total=digest.closed_total),
        texts("digest.section.closed_customer", **{k: closed[k] for k in CLOSE_REASONS[:3]}),
        texts("digest.section.closed_agent", **{k: closed[k] for k in CLOSE_REASONS[3:]}),
        "",
        texts(
            "digest.section.backlog",
            total=digest.backlog_total,
            change=signed(digest.backlog_change),
        ),
        texts(
            "digest.section.by_status",
            values=_listing(digest.backlog_by_status, "backoffice.status.{}", texts),
        ),
        texts("digest.section.by_priority", values=_priorities(digest.backlog_by_priority, texts)),
        "",
        texts("digest.section.sla"),
    ]
    for line in digest.sla:
        lines.append(
            texts(
                "digest.section.sla_line",
                tariff=escape(line.tariff),
                first_met=line.first_response_met,
                first_breached=line.first_response_breached,
                resolution_met=line.resolution_met,
                resolution_breached=line.resolution_breached,
            )
        )
    if not digest.sla:
        lines.append(texts("digest.section.sla_none"))
    lines += [
        texts("digest.section.at_risk", count=digest.at_risk),
        "",
        texts("digest.section.times"),
        texts(
            "digest.section.first_response",
            median=duration(digest.first_response_median, texts),
            p90=duration(digest.first_response_p90, texts),
        ),
        texts(
            "digest.section.resolution",
            median=duration(digest.resolution_median, texts),
            p90=duration(digest.resolution_p90, texts),
        ),
        "",
        texts(
            "digest.section.rating",
            average=_rating(digest.rating_average),
            count=digest.rating_count,
        )
        if digest.rating_count
        else texts("digest.section.no_rating"),
        "",
        texts("digest.section.agents"),
    ]
    for agent in digest.agents:
        lines.append(
            texts(
                "digest.section.agent",
                name=escape(agent.name),
                taken=agent.taken,
                resolved=agent.resolved,
                first_response=duration(agent.first_response_median, texts),
                reopened=agent.reopened,
            )
        )
    if not digest.agents:
        lines.append(texts("digest.section.no_agents"))
    lines += ["", texts("digest.section.oldest")]
    for item in digest.oldest:
        number = format_number(item.number)
        link = (
            message_link(backoffice_chat_id, item.backoffice_message_id)
            if backoffice_chat_id is not None
            else None
        )
        shown = f'<a href="{escape(link)}">{number}</a>' if link else f"<b>{number}</b>"
        lines.append(
            texts(
                "digest.section.oldest_line",
                number=shown,
                plain=number,
                priority=priority_label(texts, item.priority),
                status=texts(f"backoffice.status.{item.status}"),
                since=datetime.fromisoformat(item.created_at).astimezone(tz).strftime("%d.%m.%Y"),
                topic=fit(item.topic, 60),
            )
        )
    if not digest.oldest:
        lines.append(texts("digest.section.none_open"))
    return "\n".join(lines)


def split_lines(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Messages of at most ``limit`` characters, cut between lines (tags close on their line)."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            parts.append(current)
            candidate = line[:limit]
        current = candidate
    if current.strip():
        parts.append(current)
    return parts


def chart_labels(texts: Texts) -> ChartLabels:
    return ChartLabels(
        title=texts("digest.chart.title"),
        opened=texts("digest.chart.opened"),
        closed=texts("digest.chart.closed"),
        backlog=texts("digest.chart.backlog"),
    )


async def chart_png(digest: Digest, texts: Texts) -> bytes:
    """The chart, drawn in a worker thread: matplotlib takes a few hundred ms of CPU."""
    return await asyncio.to_thread(render_chart, digest.chart, chart_labels(texts))


def photo(png: bytes) -> BufferedInputFile:
    return BufferedInputFile(png, filename="digest.png")


async def show_digest(
    message: Message,
    command: CommandObject,
    actor: Actor,
    desk: Desk,
    texts: Texts,
    settings: ChatSettings,
) -> None:
    """/digest [day | week | YYYY-MM-DD..YYYY-MM-DD]: the chart with the summary, then the rest."""
    try:
        digest = await desk.digest(actor, command.args)
    except ManagersOnly:
        # Answered here, in the person's language: the bot's error router does not know it.
        await message.reply(texts("errors.managers_only"), parse_mode=None)
        return
    except ValidationFailed as error:
        if error.field != "period":
            raise
        example = str(error.details.get("example", ""))
        await message.reply(texts("digest.answer.bad_period", example=example), parse_mode=None)
        return
    tz = ZoneInfo(settings.timezone)
    png = await chart_png(digest, texts)
    await message.answer_photo(photo(png), caption=summary_text(digest, texts, tz))
    for part in split_lines(full_text(digest, texts, tz, settings.backoffice_chat_id)):
        await message.answer(part, link_preview_options=NO_PREVIEW)


def private_router() -> Router:
    """/digest in a private chat (the agents' group has it among its commands)."""
    router = Router(name=__name__)
    router.message.filter(Inline(F.chat.type == "private"))
    router.message.register(show_digest, Command("digest"))
    return router
