"""The agents' group end to end through aiogram: emulated Telegram, real desk and database."""

from __future__ import annotations

import asyncio

import pytest

from bot.version import __version__
from desk.model import Priority, Status
from desk.service import AttachmentIn, MessageRef
from locales import Texts
from tests.backoffice.conftest import Office
from tests.conftest import Clock
from tgemulator import button_texts, make_image


async def test_new_request_gets_its_card(office: Office) -> None:
    created = await office.new_request(photos=2)
    await office.drain()

    ticket = await office.ticket(created.number)
    card = office.card(ticket)
    assert card.text is not None and card.text.startswith("🆕 CTV-1001")
    assert "Не приходят звонки" in card.text and "Анна (@anna)" in card.text
    assert button_texts(card)[:2] == ["🙋 Взять", "👥 Назначить…"]
    photos = [m for m in office.people.bot_messages(office.group) if "photo" in m.data]
    assert len(photos) == 2 and photos[0].data["media_group_id"] == photos[1].data["media_group_id"]
    if office.forum:
        topic = office.topic(ticket)
        assert topic.name == "🆕 CTV-1001 · Не приходят звонки"
        shown = [m for m in office.people.bot_messages(office.group, thread=topic) if m.text]
        assert shown[0].message_id == card.message_id  # the card opens the topic
        assert all(p.thread_id == topic.thread_id for p in photos)
    else:
        assert ticket.forum_thread_id is None
        assert all(p.data["reply_to_message"]["message_id"] == card.message_id for p in photos)
    sent = await office.outbox("backoffice.card")
    assert [r.status for r in sent] == ["sent"]


async def test_two_agents_take_at_once_one_wins(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    card = office.card(await office.ticket(created.number))

    kate = await office.people.press(office.kate, card, text="🙋 Взять")
    bob = await office.people.press(office.bob, card, text="🙋 Взять")
    await asyncio.gather(*(office.feed(u) for u in office.updates()))
    answers = [await kate.answer(), await bob.answer()]

    ticket = await office.ticket(created.number)
    assert ticket.assignee is not None
    winner = ticket.assignee.name
    loser = answers[1] if winner == "Kate" else answers[0]
    won = answers[0] if winner == "Kate" else answers[1]
    assert not won["show_alert"]
    assert loser["show_alert"] and winner in loser["text"]
    await office.drain()
    card = office.card(ticket)
    assert card.text is not None and f"исполнитель: {winner}" in card.text
    assert "🙋 Взять" not in button_texts(card)


async def test_a_press_is_answered_before_its_card_changes(office: Office) -> None:
    """The card's edit may wait for the group's budget; the press's answer may not."""
    created = await office.new_request()
    await office.drain()
    card = office.card(await office.ticket(created.number))
    first = len(office.world.calls)

    press = await office.people.press(office.kate, card, text="🙋 Взять")
    for update in office.updates():
        await office.feed(update)
    assert (await press.answer())["text"]

    methods = [call.method for call in office.world.calls[first:]]
    assert methods.index("answerCallbackQuery") < methods.index("editMessageReplyMarkup")


async def test_agent_reply_reaches_the_customer(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    ticket = await office.ticket(created.number)

    entities = [{"type": "bold", "offset": 0, "length": 6}]
    await office.say(office.kate, "Добрый день, проверяем", ticket, entities=entities)

    replies = await office.outbox("customer.reply")
    assert len(replies) == 1
    assert replies[0].payload["text"] == "<b>Добрый</b> день, проверяем"
    assert (await office.ticket(created.number)).status == Status.IN_PROGRESS


async def test_internal_note_stays_inside(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    ticket = await office.ticket(created.number)

    note = await office.say(office.kate, "!клиент звонил, ждём логи", ticket)
    await office.say(office.kate, "/note второй раз звонил", ticket, entities=None)

    assert [r.kind for r in await office.outbox() if "reply" in r.kind] == []
    history = await office.desk.history(office.customer, created.number)
    assert all(e.action != "note" for e in history)  # customers never see notes
    confirmations = [
        m
        for m in office.people.bot_messages(office.group)
        if m.data.get("reply_to_message", {}).get("message_id") == note.message_id
    ]
    assert confirmations and "📝" in (confirmations[0].text or "")
    agent = await office.agent(office.kate)
    notes = [e for e in await office.desk.history(agent, created.number) if e.action == "note"]
    assert [e.comment for e in notes] == ["клиент звонил, ждём логи", "второй раз звонил"]


async def test_stranger_presses_a_button_and_nothing_changes(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    card = office.card(await office.ticket(created.number))

    press = await office.people.press(office.stranger, card, text="🙋 Взять")
    await office.pump()
    answer = await press.answer()

    assert answer["show_alert"] and "специалисты" in answer["text"]
    ticket = await office.ticket(created.number)
    assert ticket.assignee_id is None and ticket.status == Status.NEW
    assert await office.outbox("customer.taken") == []


async def test_stranger_message_is_not_relayed(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    ticket = await office.ticket(created.number)
    office.world.set_member(office.group, office.stranger, "member")
    office.world.updates.clear()

    await office.say(office.stranger, "я тут случайно", ticket)

    assert [r.kind for r in await office.outbox() if "reply" in r.kind] == []


async def test_priority_picker_changes_priority_and_card(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    card = office.card(await office.ticket(created.number))

    press = await office.people.press(office.kate, card, text="⚡ Приоритет…")
    await office.pump()
    await press.answer()
    assert button_texts(office.card(await office.ticket(created.number)))[:4] == [
        "🔴 P1",
        "• 🟠 P2",
        "🟡 P3",
        "⚪ P4",
    ]
    press = await office.people.press(office.kate, card, text="🔴 P1")
    await office.pump()
    await press.answer()
    await office.drain()

    ticket = await office.ticket(created.number)
    assert ticket.priority == Priority.P1
    card = office.card(ticket)
    assert card.text is not None and "🔴 P1" in card.text
    assert "⚡ Приоритет…" in button_texts(card)


async def test_resolve_asks_for_the_answer(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    card = office.card(await office.ticket(created.number))

    press = await office.people.press(office.kate, card, text="✅ Решено")
    await office.pump()
    await press.answer()
    prompt = office.people.last_bot_message(office.group)
    assert prompt is not None and "ответом на это сообщение" in (prompt.text or "")
    assert "Kate" in (prompt.text or "")  # named, so that the ForceReply opens for her
    assert (await office.ticket(created.number)).status == Status.NEW

    await office.people.send(
        office.kate,
        "Перезапустите АТС",
        chat=office.group,
        reply_to=prompt,
        thread=prompt.thread_id,
    )
    await office.pump()

    ticket = await office.ticket(created.number)
    assert ticket.status == Status.RESOLVED
    resolved = await office.outbox("customer.resolved")
    assert resolved[0].payload["answer"] == "Перезапустите АТС"
    assert await office.outbox("customer.reply") == []  # the answer is not relayed twice
    await office.drain()
    assert button_texts(office.card(ticket))[-1] == "↩️ Переоткрыть"


async def test_close_as_duplicate(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    card = office.card(await office.ticket(created.number))

    await office.people.press(office.kate, card, text="🔒 Закрыть…")
    await office.pump()
    press = await office.people.press(office.kate, card, text="Дубликат")
    await office.pump()
    await press.answer()
    await office.drain()

    ticket = await office.ticket(created.number)
    assert ticket.status == Status.CLOSED and ticket.close_reason == "duplicate"
    assert button_texts(office.card(ticket)) == ["↩️ Переоткрыть"]
    if office.forum:
        assert office.topic(ticket).name.startswith("🔒 CTV-1001")


async def test_customer_message_is_relayed_and_split(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    await office.desk.add_information(office.customer, created.number, "А ещё не работает <чат>")
    await office.drain()

    copy = office.people.last_bot_message(office.group)
    assert copy is not None and copy.text == "💬 Анна:\nА ещё не работает <чат>"
    ticket = await office.ticket(created.number)
    if office.forum:
        assert copy.thread_id == ticket.forum_thread_id
    else:
        assert copy.data["reply_to_message"]["message_id"] == ticket.card_message_id

    # A reply to the relayed copy is a reply to the customer (plain group and forum alike).
    await office.people.send(
        office.bob, "Посмотрим и чат", chat=office.group, reply_to=copy, thread=copy.thread_id
    )
    await office.pump()
    assert [r.payload["text"] for r in await office.outbox("customer.reply")] == ["Посмотрим и чат"]

    press = await office.people.press(office.bob, copy, text="➕ Новая заявка из сообщения")
    await office.pump()
    answer = await press.answer()
    assert "CTV-1002" in answer["text"]
    split = await office.ticket(1002)
    assert split.description == "А ещё не работает <чат>"
    await office.drain()
    assert (await office.ticket(1002)).card_message_id is not None


async def test_agent_edit_follows_to_the_customer(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    ticket = await office.ticket(created.number)
    sent = await office.say(office.kate, "Перезагрузите роутер", ticket)

    await office.people.edit(office.kate, sent, "Перезагрузите роутер и АТС")
    await office.pump()

    edits = await office.outbox("customer.reply_edited")
    assert [r.payload["text"] for r in edits] == ["Перезагрузите роутер и АТС"]


@pytest.mark.parametrize("forum", [True], ids=["forum"])
async def test_deleted_topic_is_recreated_on_the_next_edit(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    old = await office.ticket(created.number)
    assert old.forum_thread_id is not None
    await office.bot.delete_forum_topic(office.group.id, old.forum_thread_id)

    agent = await office.agent(office.kate)
    await office.desk.set_priority(agent, created.number, Priority.P1)
    await office.drain()

    ticket = await office.ticket(created.number)
    assert ticket.forum_thread_id not in (None, old.forum_thread_id)
    assert office.topic(ticket).name == "🆕 CTV-1001 · Не приходят звонки"
    card = office.card(ticket)
    assert card.thread_id == ticket.forum_thread_id and "🔴 P1" in (card.text or "")
    assert all(r.status == "sent" for r in await office.outbox("backoffice.card"))


async def test_deleted_card_is_posted_again(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    old = await office.ticket(created.number)
    assert old.card_message_id is not None
    await office.bot.delete_message(office.group.id, old.card_message_id)

    await office.desk.add_information(office.customer, created.number, "Ещё деталь")
    agent = await office.agent(office.kate)
    await office.desk.take(agent, created.number)
    await office.drain()

    ticket = await office.ticket(created.number)
    assert ticket.card_message_id != old.card_message_id
    assert "Kate" in (office.card(ticket).text or "")


async def test_the_queue_measures_overdue_by_the_desks_clock(office: Office, clock: Clock) -> None:
    """The demo moves the desk's clock; the queue's "overdue" must follow it, not the wall."""
    await office.new_request()
    await office.drain()
    overdue = Texts("ru")("backoffice.queue.overdue").strip()

    async def queue() -> str:
        before = office.people.last_bot_message(office.group)
        await office.people.send(office.kate, "/queue", chat=office.group)
        await office.pump()
        return (await office.people.wait_for_message(office.group, after=before)).text or ""

    assert overdue not in await queue()
    clock.advance(days=30)
    assert overdue in await queue()


async def test_commands(office: Office) -> None:
    first = await office.new_request()
    await office.new_request(topic="Не работает виджет")
    await office.drain()
    ticket = await office.ticket(first.number)

    async def command(text: str) -> str:
        before = office.people.last_bot_message(office.group)
        await office.people.send(office.kate, text, chat=office.group)
        await office.pump()
        found = await office.people.wait_for_message(office.group, after=before)
        return found.text or ""

    queue = await command("/queue")
    assert "CTV-1001" in queue and "CTV-1002" in queue
    assert "Открытых заявок нет" in await command("/mine")
    assert "CTV-1002" in await command("/find виджет")
    assert "CTV-1001" in await command("/find @anna")
    assert (await command("/ticket CTV-1001")).startswith("🆕 CTV-1001")
    history = await command("/history 1001")
    assert "История CTV-1001" in history and "создал(а) заявку" in history
    stats = await command("/stats")
    assert "Сейчас открыто: 2" in stats
    assert "Заявка не найдена" in await command("/ticket CTV-9999")
    assert await command("/version") == f"Версия деска: {__version__}"
    assert ticket.card_message_id is not None


@pytest.mark.parametrize("agent_ids_from_settings", [False])
async def test_group_members_are_agents_by_default(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    card = office.card(await office.ticket(created.number))

    stranger = await office.people.press(office.stranger, card, text="🙋 Взять")
    await office.pump()
    assert (await stranger.answer())["show_alert"]
    bob = await office.people.press(office.bob, card, text="🙋 Взять")
    await office.pump()
    assert not (await bob.answer())["show_alert"]
    ticket = await office.ticket(created.number)
    assert ticket.assignee is not None and ticket.assignee.name == "Bob"


async def test_customer_photo_and_its_edit(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    sizes = office.world.store_photo(make_image())
    photo = AttachmentIn(sizes[-1]["file_id"], sizes[-1]["file_unique_id"], kind="photo")
    source = MessageRef(office.customer_user.id, 77)
    await office.desk.add_information(
        office.customer, created.number, "Вот скриншот", source=source, attachments=[photo]
    )
    await office.drain()
    copy = office.people.last_bot_message(office.group)
    assert copy is not None and "photo" in copy.data
    assert copy.text == "💬 Анна:\nВот скриншот"
    assert button_texts(copy) == ["➕ Новая заявка из сообщения"]

    await office.desk.edit_message(office.customer, source, "Вот скриншот ошибки")
    await office.drain()
    edited = office.world.find_message(office.group.id, copy.message_id)
    assert edited.text == "💬 Анна:\nВот скриншот ошибки"
    assert button_texts(edited) == ["➕ Новая заявка из сообщения"]
    assert all(r.status == "sent" for r in await office.outbox())


async def test_customer_confirmation_is_told_in_the_thread(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    agent = await office.agent(office.kate)
    await office.desk.resolve(agent, created.number, "Готово")
    await office.desk.confirm(office.customer, created.number)
    await office.drain()

    ticket = await office.ticket(created.number)
    line = office.people.last_bot_message(office.group)
    assert line is not None and line.text == "✅ Клиент подтвердил решение."
    if office.forum:
        assert line.thread_id == ticket.forum_thread_id
        assert office.topic(ticket).name.startswith("🔒 CTV-1001")
    else:
        assert line.data["reply_to_message"]["message_id"] == ticket.card_message_id
    card = office.card(ticket)
    assert "Закрыта" in (card.text or "") and button_texts(card) == ["↩️ Переоткрыть"]


async def test_blocked_customer_is_shown_on_the_card(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    await office.desk.mark_customer_blocked(office.customer.customer_id or 0)
    await office.desk.set_priority(await office.agent(office.kate), created.number, Priority.P1)
    await office.drain()
    assert "⛔" in (office.card(await office.ticket(created.number)).text or "")


async def test_long_customer_messages_are_split(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    long_text = ("Очень подробное описание <ошибки> & шагов. " * 400)[:16000]
    await office.desk.add_information(office.customer, created.number, long_text)
    sizes = office.world.store_photo(make_image())
    photo = AttachmentIn(sizes[-1]["file_id"], sizes[-1]["file_unique_id"], kind="photo")
    await office.desk.add_information(
        office.customer, created.number, long_text[:3000], attachments=[photo]
    )
    await office.drain()

    card = office.card(await office.ticket(created.number))
    shown = [m for m in office.people.bot_messages(office.group) if m.message_id > card.message_id]
    texts = [m.text or m.data.get("caption") or "" for m in shown]
    # Telegram counts the text, not its HTML: 16 000 characters take four messages, not five;
    # the photo carries 1 024 of the 3 000 as its caption, the rest follows.
    assert len(texts) == 6 and "photo" in shown[4].data
    assert all(len(t) <= 4096 for t in texts) and len(texts[4]) <= 1024
    squeezed = "".join("".join(t.split()) for t in texts[:4])
    assert squeezed == "".join(("💬 Анна:" + long_text).split())  # nothing lost, nothing doubled
    squeezed = "".join("".join(t.split()) for t in texts[4:])
    assert squeezed == "".join(("💬 Анна:" + long_text[:3000]).split())
    assert all(r.status == "sent" for r in await office.outbox())


async def test_sla_warnings_reach_the_group_naming_the_assignee(
    office: Office, clock: Clock
) -> None:
    created = await office.new_request()  # an incident: P2, first response in 240 minutes
    await office.desk.take(await office.agent(office.kate), created.number)
    await office.drain()
    clock.advance(minutes=193)  # 80 % of 240 minutes gone
    await office.desk.watch_sla()
    clock.advance(minutes=60)
    await office.desk.watch_sla()
    await office.desk.watch_sla()
    await office.drain()
    texts = [m.text or "" for m in office.people.bot_messages(office.group)]
    risk = [t for t in texts if t.startswith("⚠️ CTV-")]
    breach = [t for t in texts if t.startswith("⛔ CTV-")]
    assert len(risk) == 1 and "первого ответа" in risk[0] and "Kate" in risk[0]
    assert len(breach) == 1 and "нарушен" in breach[0] and "Kate" in breach[0]


async def test_a_reply_edited_into_a_note_never_reaches_the_customer(office: Office) -> None:
    created = await office.new_request()
    await office.drain()
    ticket = await office.ticket(created.number)
    sent = await office.say(office.kate, "Перезагрузите роутер", ticket)
    await office.drain()
    assert [r.payload["text"] for r in await office.outbox("customer.reply")] == [
        "Перезагрузите роутер"
    ]

    await office.people.edit(office.kate, sent, "! клиент опять всё сломал")
    await office.pump()
    await office.drain()

    assert await office.outbox("customer.reply_edited") == []
    history = await office.desk.history(await office.agent(office.kate), created.number)
    assert not any("сломал" in (e.comment or "") for e in history)
    told = office.people.last_bot_message(office.group)
    assert told is not None and "Правка не отправлена клиенту" in (told.text or "")
    assert "заметкой его не сделать" in (told.text or "")


@pytest.mark.parametrize("forum", [False], ids=["plain"])
async def test_a_reply_to_a_strangers_message_with_card_buttons_goes_nowhere(
    office: Office,
) -> None:
    created = await office.new_request()
    await office.drain()
    # An outsider posts, through some inline bot, a message whose button names the
    # request's card; an agent answers it without noticing whose it is.
    stranger = office.people.user("Злоумышленник", username="mallory")
    await office.people.join(office.group, stranger)
    forged = office.world.add_message(
        office.group,
        stranger,
        {
            "text": f"CTV-{created.number}: уточните пароль",
            "via_bot": {"id": 777, "is_bot": True, "first_name": "Inline", "username": "ib_bot"},
            "reply_markup": {
                "inline_keyboard": [[{"text": "Взять", "callback_data": f"bo:tk:{created.number}"}]]
            },
        },
    )
    await office.people.send(office.kate, "Пароль: qwerty", chat=office.group, reply_to=forged)
    await office.pump()
    await office.drain()

    texts = [m.text or "" for m in office.people.bot_messages(office.customer_user)]
    assert not any("qwerty" in t for t in texts), texts
    assert [r.kind for r in await office.outbox() if "reply" in r.kind] == []
