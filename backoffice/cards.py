"""What the agents' group shows: cards, topic names, pickers, lists (pure rendering).

Everything here turns desk objects into Telegram HTML and keyboards and calls
nothing. Every inserted value is escaped; every text is measured against
Telegram's limits as Telegram counts it (UTF-16 code units of the text after
entity parsing, :func:`tgkit.html.text_length`), so a text of "<" and "&" gets
its full room and a rendered text is never refused. What must stay one message
(a card, an event line) is cut with "…" between characters, never inside a tag
or an entity; what may take several messages is split with
:func:`tgkit.html.split_html`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from backoffice.callbacks import (
    AssignCallback,
    CardAction,
    CardCallback,
    CloseCallback,
    PriorityCallback,
    QueueCallback,
    QueueScope,
    SplitCallback,
)
from desk.lifecycle import allowed_actions
from desk.model import (
    AGENT_CLOSE_REASONS,
    Action,
    Channel,
    CloseReason,
    Priority,
    Status,
    format_number,
)
from desk.sla import is_overdue
from locales import Texts
from storage.models import Agent, Ticket, TicketEvent
from tgkit.html import cut_text, split_html, text_length, to_plain, utf16_len

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_TOPIC_NAME = 128
MAX_ALERT = 200
ELLIPSIS = "…"
QUEUE_PAGE = 10
AGENTS_SHOWN = 30

# The card's buttons, in the order shown, for the actions the lifecycle allows.
CARD_BUTTONS: tuple[tuple[Action, CardAction], ...] = (
    (Action.TAKE, CardAction.TAKE),
    (Action.ASSIGN, CardAction.ASSIGN),
    (Action.SET_PRIORITY, CardAction.PRIORITY),
    (Action.ASK_CUSTOMER, CardAction.ASK),
    (Action.RESOLVE, CardAction.RESOLVE),
    (Action.CLOSE, CardAction.CLOSE),
    (Action.REOPEN, CardAction.REOPEN),
)
# The order agents choose a close reason in; the desk accepts these only.
CLOSE_CHOICES: tuple[CloseReason, ...] = tuple(
    r
    for r in (CloseReason.DUPLICATE, CloseReason.SPAM, CloseReason.OTHER)
    if r in AGENT_CLOSE_REASONS
)


def fit(raw: str, budget: int) -> str:
    """``raw`` escaped, cut with an ellipsis when its text would not fit ``budget``."""
    if utf16_len(raw) <= budget:
        return escape(raw)
    if budget <= 0:
        return ""
    return escape(cut_text(raw, budget - 1).rstrip()) + ELLIPSIS


def fit_plain(raw: str, budget: int) -> str:
    """Like :func:`fit` for plain text (topic names, alerts): no escaping."""
    if len(raw) <= budget:
        return raw
    return raw[: max(budget - 1, 0)].rstrip() + ELLIPSIS


@dataclass(frozen=True)
class View:
    """How to render: in which language and time zone."""

    texts: Texts
    tz: tzinfo

    def time(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        return moment.astimezone(self.tz).strftime(self.texts("backoffice.time_format"))


def status_emoji(texts: Texts, status: str) -> str:
    return texts(f"backoffice.status_emoji.{status}")


def priority_label(texts: Texts, priority: int) -> str:
    return f"{texts(f'backoffice.priority_emoji.p{priority}')} {Priority(priority).label}"


def agent_name(agent: Agent | None) -> str:
    if agent is None:
        return ""
    return agent.name or (f"@{agent.username}" if agent.username else str(agent.telegram_user_id))


def topic_name(ticket: Ticket, texts: Texts) -> str:
    """A forum topic's name: status emoji, number and topic, within Telegram's 128."""
    head = texts(
        "backoffice.topic_name",
        emoji=status_emoji(texts, ticket.status),
        number=format_number(ticket.number),
        topic="",
    )
    topic = " ".join(ticket.topic.split())
    return head + fit_plain(topic, MAX_TOPIC_NAME - len(head))


def customer_line(ticket: Ticket, texts: Texts) -> str:
    customer = ticket.customer
    who = escape(customer.name or texts("backoffice.card.no_name"))
    if customer.username:
        who += f" (@{escape(customer.username)})"
    parts = [who]
    # The cabinet's contacts: a customer without Telegram is reached there.
    parts.extend(escape(contact) for contact in (customer.email, customer.phone) if contact)
    if customer.organisation is not None:
        parts.append(escape(customer.organisation.name))
    parts.append(texts("backoffice.card.tariff", tariff=escape(ticket.tariff.name)))
    return texts("backoffice.card.customer", customer=" · ".join(parts))


def card_text(ticket: Ticket, view: View) -> str:
    """The request's card: everything an agent needs to pick it up, within 4096."""
    texts = view.texts
    status = Status(ticket.status)
    lines = [
        texts(
            "backoffice.card.title",
            emoji=status_emoji(texts, status),
            number=format_number(ticket.number),
            kind=texts(f"backoffice.kind.{ticket.kind}"),
            priority=priority_label(texts, ticket.priority),
        ),
        texts("backoffice.card.topic", topic=fit(ticket.topic, 300)),
        "",
        customer_line(ticket, texts),
    ]
    if ticket.channel == Channel.CABINET.value:
        lines.append(texts("backoffice.card.from_cabinet"))
    assignee = agent_name(ticket.assignee)
    lines.append(
        texts(
            "backoffice.card.state",
            status=texts(f"backoffice.status.{status}"),
            assignee=escape(assignee) if assignee else texts("backoffice.card.unassigned"),
        )
    )
    if status.is_open:
        lines.extend(_sla_lines(ticket, view))
    if status is Status.RESOLVED and ticket.auto_close_at is not None:
        lines.append(texts("backoffice.card.auto_close", at=view.time(ticket.auto_close_at)))
    if status is Status.CLOSED and ticket.close_reason:
        lines.append(
            texts(
                "backoffice.card.closed",
                reason=texts(f"backoffice.close_reason.{ticket.close_reason}"),
                at=view.time(ticket.closed_at),
            )
        )
    if ticket.reopen_count:
        lines.append(texts("backoffice.card.reopened", count=ticket.reopen_count))
    if ticket.rating:
        stars = "★" * ticket.rating + "☆" * (5 - ticket.rating)
        lines.append(texts("backoffice.card.rating", stars=stars))
    if ticket.customer.blocked_bot_at is not None:
        lines.append(texts("backoffice.card.blocked", at=view.time(ticket.customer.blocked_bot_at)))
    head = "\n".join(lines)
    return head + _body(ticket, texts, MAX_TEXT - text_length(head))


def _sla_lines(ticket: Ticket, view: View) -> list[str]:
    texts = view.texts
    lines = []
    if ticket.first_responded_at is not None:
        lines.append(
            texts("backoffice.card.first_responded", at=view.time(ticket.first_responded_at))
        )
    elif ticket.first_response_due_at is not None:
        lines.append(
            texts("backoffice.card.first_response_due", at=view.time(ticket.first_response_due_at))
        )
    if ticket.status != Status.RESOLVED.value and ticket.resolution_due_at is not None:
        lines.append(
            texts("backoffice.card.resolution_due", at=view.time(ticket.resolution_due_at))
        )
    if ticket.paused_at is not None:
        lines.append(texts("backoffice.card.paused"))
    return lines


def _body(ticket: Ticket, texts: Texts, budget: int) -> str:
    """Description and technical details in what is left of the 4096."""
    description_frame = "\n\n" + texts("backoffice.card.description", text="")
    details_raw = ticket.technical_details or ""
    details_frame = "\n" + texts("backoffice.card.details", text="") if details_raw else ""
    room = budget - text_length(description_frame) - text_length(details_frame)
    details_wanted = utf16_len(details_raw)
    # The description matters more; details get what it leaves, but at least a third.
    details_room = min(details_wanted, room // 3) if details_raw else 0
    description = fit(ticket.description, room - details_room)
    details_room = room - text_length(description)
    body = "\n\n" + texts("backoffice.card.description", text=description)
    if details_raw:
        body += "\n" + texts("backoffice.card.details", text=fit(details_raw, details_room))
    return body


def _button(
    text: str, data: CardCallback | AssignCallback | PriorityCallback | CloseCallback
) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def card_actions(ticket: Ticket) -> list[CardAction]:
    """The card's buttons: what the lifecycle allows now (Take only while nobody has it)."""
    allowed = allowed_actions(Status(ticket.status))
    shown = []
    for action, button in CARD_BUTTONS:
        if action not in allowed:
            continue
        if action is Action.TAKE and ticket.assignee_id is not None:
            continue
        shown.append(button)
    return shown


def card_keyboard(ticket: Ticket, texts: Texts) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for action in card_actions(ticket):
        builder.add(
            _button(
                texts(f"backoffice.button.{action.name.lower()}"),
                CardCallback(action=action, number=ticket.number),
            )
        )
    builder.adjust(2)
    return builder.as_markup()


def _back(ticket: Ticket, texts: Texts) -> InlineKeyboardButton:
    return _button(
        texts("backoffice.button.back"),
        CardCallback(action=CardAction.BACK, number=ticket.number),
    )


def priority_keyboard(ticket: Ticket, texts: Texts) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for priority in Priority:
        label = priority_label(texts, priority)
        if priority == ticket.priority:
            label = texts("backoffice.button.current", label=label)
        builder.add(_button(label, PriorityCallback(number=ticket.number, priority=priority)))
    builder.adjust(4)
    builder.row(_back(ticket, texts))
    return builder.as_markup()


def close_keyboard(ticket: Ticket, texts: Texts) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for reason in CLOSE_CHOICES:
        builder.add(
            _button(
                texts(f"backoffice.button.close_{reason.value}"),
                CloseCallback(number=ticket.number, reason=reason),
            )
        )
    builder.adjust(3)
    builder.row(_back(ticket, texts))
    return builder.as_markup()


def agents_keyboard(ticket: Ticket, agents: Sequence[Agent], texts: Texts) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for agent in agents[:AGENTS_SHOWN]:
        label = fit_plain(agent_name(agent), 40)
        if agent.id == ticket.assignee_id:
            label = texts("backoffice.button.current", label=label)
        builder.add(_button(label, AssignCallback(number=ticket.number, agent_id=agent.id)))
    builder.adjust(2)
    builder.row(_back(ticket, texts))
    return builder.as_markup()


def split_keyboard(message_id: int, texts: Texts) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        text=texts("backoffice.button.split"),
        callback_data=SplitCallback(message_id=message_id).pack(),
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def customer_message(
    name: str, text: str, texts: Texts, *, limit: int = MAX_TEXT, first: int | None = None
) -> list[str]:
    """A customer's (plain) message for the group: who wrote, then the text, in parts.

    Each part within ``limit``, the first within ``first`` when given (a caption).
    """
    header = texts(
        "backoffice.relay.customer", name=escape(name or texts("backoffice.card.no_name"))
    )
    if not text:
        return [header]
    return split_html(f"{header}\n{escape(text)}", limit, first=first)


def sla_warning_text(payload: dict[str, Any], view: View) -> str:
    """⚠️ at risk or ⛔ breached, with the due time, naming who has the request."""
    texts = view.texts
    assignee = payload.get("assignee")
    return texts(
        f"backoffice.sla.{payload['alert']}",
        number=format_number(int(payload["number"])),
        due=view.time(datetime.fromisoformat(payload["due_at"]) if payload.get("due_at") else None),
        assignee=escape(assignee) if assignee else texts("backoffice.sla.nobody"),
    )


def event_text(action: str, comment: str | None, texts: Texts) -> str:
    """A line in the request's thread about something agents did not do themselves."""
    try:
        line = texts(f"backoffice.event.{action}")
    except KeyError:
        line = texts("backoffice.event.other", action=escape(action))
    if comment:
        quote = texts("backoffice.event.comment", comment="")
        line += "\n" + texts(
            "backoffice.event.comment",
            comment=fit(comment, MAX_TEXT - text_length(line) - text_length(quote) - 1),
        )
    return line


def prompt_text(key: str, ticket: Ticket, texts: Texts, *, user_id: int, name: str) -> str:
    """Asks for text; names the agent, so that a selective ForceReply opens their field only."""
    mention = f'<a href="tg://user?id={user_id}">{fit(name, 64)}</a>'
    return texts(
        f"backoffice.prompt.{key}",
        number=format_number(ticket.number),
        topic=fit(ticket.topic, 200),
        agent=mention,
    )


# -- lists ---------------------------------------------------------------------


def message_link(chat_id: int, message_id: int | None) -> str | None:
    """A t.me link to a message of a supergroup (basic groups have none)."""
    text = str(chat_id)
    if message_id is None or not text.startswith("-100"):
        return None
    return f"https://t.me/c/{text[4:]}/{message_id}"


def ticket_link(ticket: Ticket, chat_id: int) -> str:
    number = format_number(ticket.number)
    link = message_link(chat_id, ticket.forum_thread_id or ticket.card_message_id)
    return f'<a href="{escape(link)}">{number}</a>' if link else f"<b>{number}</b>"


def queue_line(ticket: Ticket, view: View, chat_id: int, now: datetime) -> str:
    texts = view.texts
    assignee = agent_name(ticket.assignee)
    return texts(
        "backoffice.queue.line",
        priority=priority_label(texts, ticket.priority),
        number=ticket_link(ticket, chat_id),
        emoji=status_emoji(texts, ticket.status),
        topic=fit(ticket.topic, 60),
        assignee=escape(assignee) if assignee else texts("backoffice.card.unassigned"),
        due=view.time(ticket.resolution_due_at),
        overdue=texts("backoffice.queue.overdue") if is_overdue(ticket, now) else "",
    )


def queue_text(
    tickets: Sequence[Ticket],
    view: View,
    *,
    scope: QueueScope,
    offset: int,
    chat_id: int,
    now: datetime,
) -> str:
    texts = view.texts
    title = texts(f"backoffice.queue.title_{scope.name.lower()}")
    if not tickets:
        return f"{title}\n{texts('backoffice.queue.empty')}"
    shown = tickets[:QUEUE_PAGE]
    lines = [
        texts("backoffice.queue.page", title=title, first=offset + 1, last=offset + len(shown))
    ]
    lines += [queue_line(t, view, chat_id, now) for t in shown]
    return "\n".join(lines)


def queue_keyboard(
    scope: QueueScope, offset: int, has_more: bool, texts: Texts
) -> InlineKeyboardMarkup | None:
    row = []
    if offset > 0:
        previous = QueueCallback(scope=scope, offset=max(offset - QUEUE_PAGE, 0))
        row.append(
            InlineKeyboardButton(
                text=texts("backoffice.button.previous"), callback_data=previous.pack()
            )
        )
    if has_more:
        following = QueueCallback(scope=scope, offset=offset + QUEUE_PAGE)
        row.append(
            InlineKeyboardButton(
                text=texts("backoffice.button.next"), callback_data=following.pack()
            )
        )
    return InlineKeyboardMarkup(inline_keyboard=[row]) if row else None


def found_text(
    tickets: Sequence[Ticket], view: View, *, query: str, chat_id: int, now: datetime
) -> str:
    texts = view.texts
    if not tickets:
        return texts("backoffice.find.none", query=fit(query, 100))
    lines = [texts("backoffice.find.title", query=fit(query, 100), count=len(tickets))]
    lines += [queue_line(t, view, chat_id, now) for t in tickets[:QUEUE_PAGE]]
    return "\n".join(lines)


def _event_details(event: TicketEvent, texts: Texts) -> str:
    after, before = event.after or {}, event.before or {}
    if after.get("priority") and before.get("priority"):
        return f"{Priority(before['priority']).label} → {Priority(after['priority']).label}"
    if "new_number" in after:
        return format_number(int(after["new_number"]))
    if "parent_number" in after:
        return texts(
            "backoffice.history.split_from", number=format_number(int(after["parent_number"]))
        )
    if event.action in (Action.CLOSE.value, Action.AUTO_CLOSE.value) and "close_reason" in after:
        return texts(f"backoffice.close_reason.{after['close_reason']}")
    return ""


def history_texts(ticket: Ticket, events: Iterable[TicketEvent], view: View) -> list[str]:
    """R4: every action with who and when, in messages within 4096."""
    texts = view.texts
    lines = []
    for event in events:
        try:
            what = texts(f"backoffice.action.{event.action}")
        except KeyError:
            what = escape(event.action)
        details = _event_details(event, texts)
        line = texts(
            "backoffice.history.line",
            at=view.time(event.created_at),
            who=escape(event.actor_name or event.actor_role),
            what=what,
        )
        if details:
            line += f" ({escape(details)})"
        if event.internal:
            line = texts("backoffice.history.internal", line=line)
        if event.comment:
            line += "\n" + texts(
                "backoffice.history.comment", comment=fit(to_plain(event.comment), 300)
            )
        lines.append(line)
    title = texts(
        "backoffice.history.title",
        number=format_number(ticket.number),
        topic=fit(ticket.topic, 200),
    )
    messages: list[str] = []
    current, length = title, text_length(title)
    for line in lines:
        size = text_length(line)
        if length + 2 + size > MAX_TEXT:
            messages.append(current)
            current, length = line, size
        else:
            current += "\n\n" + line
            length += 2 + size
    messages.append(current)
    return messages


@dataclass(frozen=True)
class Stats:
    by_status: dict[str, int]
    by_priority: dict[int, int]
    overdue: int
    unassigned: int


def stats_text(stats: Stats, texts: Texts) -> str:
    statuses = " · ".join(
        f"{status_emoji(texts, s)} {texts(f'backoffice.status.{s}')}: "
        f"{stats.by_status.get(s.value, 0)}"
        for s in (Status.NEW, Status.IN_PROGRESS, Status.WAITING_CUSTOMER)
    )
    priorities = " · ".join(
        f"{priority_label(texts, p)}: {stats.by_priority.get(int(p), 0)}" for p in Priority
    )
    return texts(
        "backoffice.stats.text",
        total=sum(stats.by_status.values()),
        statuses=statuses,
        priorities=priorities,
        overdue=stats.overdue,
        unassigned=stats.unassigned,
    )
