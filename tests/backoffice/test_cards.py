"""Card rendering and keyboards: pure functions, checked against Telegram's HTML and limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiogram.filters.callback_data import CallbackData
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice import callbacks
from backoffice.callbacks import CardAction, CardCallback, SplitCallback
from backoffice.cards import (
    CARD_BUTTONS,
    MAX_CAPTION,
    MAX_TEXT,
    MAX_TOPIC_NAME,
    Stats,
    View,
    agents_keyboard,
    card_actions,
    card_keyboard,
    card_text,
    close_keyboard,
    customer_message,
    event_text,
    history_texts,
    priority_keyboard,
    queue_text,
    stats_text,
    topic_name,
)
from desk import lifecycle
from desk.model import Priority, Status
from desk.sla import is_overdue
from locales import LOCALES, Texts
from storage.models import Agent, Customer, Organisation, Tariff, Ticket, TicketEvent
from tgemulator.tghtml import parse_html
from tgkit.html import text_length

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
CHAT_ID = -1001000000001


def make_ticket(**overrides: object) -> Ticket:
    tariff = Tariff(name="Стандарт", code="standard", business_days_only=False)
    customer = Customer(
        name="Анна",
        username="anna",
        organisation=Organisation(name="ООО «Ромашка»", tariff=tariff),
        blocked_bot_at=None,
    )
    values: dict[str, object] = {
        "id": 1,
        "number": 1042,
        "kind": "incident",
        "status": "new",
        "priority": 2,
        "channel": "telegram",
        "topic": "Не приходят звонки",
        "description": "Со вчерашнего дня звонки с сайта не доходят до менеджеров.",
        "technical_details": None,
        "customer": customer,
        "tariff": tariff,
        "assignee": None,
        "assignee_id": None,
        "created_at": NOW,
        "first_response_due_at": NOW + timedelta(hours=2),
        "resolution_due_at": NOW + timedelta(days=1),
        "first_responded_at": None,
        "paused_at": None,
        "auto_close_at": None,
        "closed_at": None,
        "close_reason": None,
        "reopen_count": 0,
        "rating": None,
        "forum_thread_id": None,
        "card_message_id": None,
    }
    values.update(overrides)
    return Ticket(**values)


def visible(html: str) -> str:
    """What Telegram shows (and counts): the text after parsing the HTML."""
    text, _ = parse_html(html)
    return text


@pytest.fixture(params=LOCALES)
def view(request: pytest.FixtureRequest) -> View:
    return View(Texts(request.param), MSK)


@pytest.mark.parametrize("status", list(Status))
def test_card_for_every_status(status: Status, view: View) -> None:
    agent = Agent(id=7, name="Борис", telegram_user_id=9001)
    closed = status is Status.CLOSED
    ticket = make_ticket(
        status=status.value,
        assignee=agent if status is not Status.NEW else None,
        assignee_id=7 if status is not Status.NEW else None,
        close_reason="duplicate" if closed else None,
        closed_at=NOW if closed else None,
        rating=4 if closed else None,
        auto_close_at=NOW + timedelta(days=7) if status is Status.RESOLVED else None,
        paused_at=NOW if status is Status.WAITING_CUSTOMER else None,
    )
    html = card_text(ticket, view)
    text = visible(html)
    texts = view.texts
    assert "CTV-1042" in text
    assert texts(f"backoffice.status.{status}") in text
    assert texts("backoffice.kind.incident") in text and "P2" in text
    assert "Анна (@anna) · ООО «Ромашка»" in text and "Стандарт" in text
    assert ("Борис" in text) is (status is not Status.NEW)
    if status.is_open and status is not Status.RESOLVED:
        assert "25.11 10:00" in text  # the resolution due time, in Moscow time
    if closed:
        assert texts("backoffice.close_reason.duplicate") in text and "★★★★☆" in text
    if status is Status.WAITING_CUSTOMER:
        assert texts("backoffice.card.paused") in text
    assert text_length(html) <= MAX_TEXT


@settings(max_examples=60, deadline=None)
@given(status=st.sampled_from(Status), assigned=st.booleans())
def test_buttons_follow_the_lifecycle(status: Status, assigned: bool) -> None:
    ticket = make_ticket(status=status.value, assignee_id=7 if assigned else None)
    markup = card_keyboard(ticket, Texts("ru"))
    shown = [
        CardCallback.unpack(b.callback_data or "").action
        for row in markup.inline_keyboard
        for b in row
    ]
    assert shown == card_actions(ticket)
    assert len(shown) == len(set(shown))
    buttons = dict((button, action) for action, button in CARD_BUTTONS)
    for button in shown:
        # Every button is one the desk would accept now.
        lifecycle.next_status(buttons[button], status)
    if assigned:
        assert CardAction.TAKE not in shown
    if status is Status.CLOSED:
        assert shown == [CardAction.REOPEN]
    else:
        assert CardAction.CLOSE in shown and CardAction.ASSIGN in shown
    assert (CardAction.RESOLVE in shown) is (status in lifecycle.WORKING)
    assert (CardAction.TAKE in shown) is (status is not Status.CLOSED and not assigned)


def test_long_texts_fit_and_are_escaped(view: View) -> None:
    nasty = '<b>&amp;</b> "кавычки" & <script> 🙂 '
    ticket = make_ticket(
        topic=(nasty * 10)[:120],
        description=(nasty * 200)[:4000],
        technical_details=("stack <trace> & " * 600)[:8000],
    )
    html = card_text(ticket, view)
    assert text_length(html) <= MAX_TEXT
    text = visible(html)  # parses: every inserted value was escaped
    assert "<script>" in text and "<b>&amp;</b>" in text
    assert "stack <trace>" in text
    assert "…" in text  # cut, not refused


def test_topic_name_within_telegram_limit() -> None:
    texts = Texts("ru")
    name = topic_name(make_ticket(topic="Очень длинная тема " * 10, status="resolved"), texts)
    assert len(name) <= MAX_TOPIC_NAME
    assert name.startswith("✅ CTV-1042 · Очень длинная тема") and name.endswith("…")
    assert topic_name(make_ticket(), texts) == "🆕 CTV-1042 · Не приходят звонки"


def test_blocked_customer_is_marked(view: View) -> None:
    ticket = make_ticket()
    ticket.customer.blocked_bot_at = NOW
    assert "⛔" in visible(card_text(ticket, view))


def test_cabinet_request_shows_its_channel() -> None:
    texts = Texts("en")
    text = visible(card_text(make_ticket(channel="cabinet"), View(texts, MSK)))
    assert texts("backoffice.card.from_cabinet") in text


def _callback_classes() -> list[type[CallbackData]]:
    return [
        value
        for value in vars(callbacks).values()
        if isinstance(value, type) and issubclass(value, CallbackData) and value is not CallbackData
    ]


def test_every_callback_prefix_is_unique() -> None:
    prefixes = [cls.__prefix__ for cls in _callback_classes()]
    assert len(prefixes) == len(set(prefixes))


def test_pickers_keep_a_way_back() -> None:
    texts = Texts("ru")
    ticket = make_ticket()
    agents = [Agent(id=i, name=f"Агент {i}", telegram_user_id=100 + i) for i in range(1, 4)]
    for markup in (
        priority_keyboard(ticket, texts),
        close_keyboard(ticket, texts),
        agents_keyboard(ticket, agents, texts),
    ):
        last = markup.inline_keyboard[-1][0]
        assert CardCallback.unpack(last.callback_data or "").action is CardAction.BACK
    labels = [b.text for row in priority_keyboard(ticket, texts).inline_keyboard for b in row]
    assert "• 🟠 P2" in labels  # the current priority is marked


def test_customer_message_is_split_within_limits() -> None:
    texts = Texts("ru")
    raw = ("строка с <тегом> & амперсандом\n" * 600)[:16000]
    pieces = customer_message("Анна <A&B>", raw, texts)
    assert len(pieces) > 1
    assert all(text_length(p) <= MAX_TEXT for p in pieces)
    shown = [visible(p) for p in pieces]
    assert shown[0].startswith("💬 Анна <A&B>:")
    assert "".join(s.replace("\n", "") for s in shown).endswith(raw.replace("\n", "")[-200:])
    caption, *rest = customer_message("Анна", "x" * 3000, texts, first=MAX_CAPTION)
    assert text_length(caption) <= MAX_CAPTION
    assert rest and all(text_length(p) <= MAX_TEXT for p in rest)
    # The text counts, not its HTML: 4 000 characters of "<" and "&" are one message.
    (whole,) = customer_message("Анна", "<&" * 2000, texts)
    assert visible(whole).endswith("<&" * 2000)


def test_event_lines() -> None:
    texts = Texts("ru")
    assert visible(event_text("confirm", None, texts)) == texts("backoffice.event.confirm")
    disagreed = visible(event_text("reopen", "Не работает <снова>", texts))
    assert "Не работает <снова>" in disagreed
    assert "mystery" in visible(event_text("mystery", None, texts))
    assert text_length(event_text("reopen", "x" * 16000, texts)) <= MAX_TEXT


def test_history_is_cut_into_messages(view: View) -> None:
    ticket = make_ticket()
    events = [
        TicketEvent(
            action="note" if i % 2 else "set_priority",
            actor_name="Борис <b>",
            actor_role="agent",
            before={} if i % 2 else {"priority": 3},
            after={} if i % 2 else {"priority": 2},
            comment="заметка " * 30 if i % 2 else None,
            internal=bool(i % 2),
            created_at=NOW,
        )
        for i in range(60)
    ]
    messages = history_texts(ticket, events, view)
    assert len(messages) > 1
    assert all(text_length(m) <= MAX_TEXT for m in messages)
    joined = "\n".join(visible(m) for m in messages)
    assert "Борис <b>" in joined and "P3 → P2" in joined and "📝" in joined


def test_queue_and_stats() -> None:
    texts = Texts("ru")
    view = View(texts, MSK)
    late = make_ticket(number=1001, priority=1, resolution_due_at=NOW - timedelta(hours=1))
    paused = make_ticket(
        number=1002,
        status="waiting_customer",
        paused_at=NOW,
        resolution_due_at=NOW - timedelta(hours=1),
    )
    fine = make_ticket(number=1003, priority=3, assignee_id=7, forum_thread_id=55)
    assert is_overdue(late, NOW) and not is_overdue(paused, NOW) and not is_overdue(fine, NOW)
    html = queue_text(
        [late, paused, fine],
        view,
        scope=callbacks.QueueScope.ALL,
        offset=0,
        chat_id=CHAT_ID,
        now=NOW,
    )
    text = visible(html)
    assert text.index("CTV-1001") < text.index("CTV-1003")
    assert 'href="https://t.me/c/1000000001/55"' in html
    assert texts("backoffice.queue.overdue").strip() in text
    summary = Stats({"new": 2, "waiting_customer": 1}, {1: 1, 3: 2}, overdue=1, unassigned=2)
    shown = visible(stats_text(summary, texts))
    assert "3" in shown and "P1: 1" in shown


def test_split_button_packs_the_stored_message() -> None:
    packed = SplitCallback(message_id=123).pack()
    assert SplitCallback.unpack(packed).message_id == 123


def test_priorities_render_for_all() -> None:
    texts = Texts("en")
    for priority in Priority:
        assert priority.label in visible(
            card_text(make_ticket(priority=int(priority)), View(texts, MSK))
        )


def test_command_menu_is_valid_for_telegram() -> None:
    from backoffice.commands import menu

    for locale in LOCALES:
        for command in menu(Texts(locale)):
            assert command.command.islower() and 1 <= len(command.description) <= 256


def test_a_card_gives_markup_characters_their_full_room(view: View) -> None:
    # 3 000 characters of "<" and "&" are 13 500 escaped: the card counts what Telegram does.
    ticket = make_ticket(description="<&" * 1500, technical_details=None)
    html = card_text(ticket, view)
    assert len(html) > MAX_TEXT >= text_length(html)
    assert "<&" * 1500 in visible(html) and "…" not in visible(html)
