"""The customer's side over the wire: notifications, buttons, follow-ups (issue 4 §6-§9)."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import F
from aiogram.types import Message
from sqlalchemy import event
from sqlalchemy.engine import Engine

from desk.model import CloseReason, Kind, Role, Status
from desk.service import Actor, NewTicket
from desk.values import MessageRef
from locales import Texts
from storage import repository as repo
from tests.conftest import BACKOFFICE_CHAT_ID
from tests.harness import Harness
from tgemulator import StoredMessage, User, make_image
from tgkit.callbacks import TicketAction, TicketCallback

MSK = ZoneInfo("Europe/Moscow")
AGENT = frozenset({Role.AGENT})


async def start(h: Harness, name: str = "Анна", language: str = "ru") -> tuple[User, Actor]:
    person = h.people.user(name, language_code=language)
    await h.people.command(person, "start")
    await h.people.wait_for_message(person, lambda m: bool(m.buttons), timeout=10)
    actor = await h.desk.register_telegram_user(person.id, name=name, language=language)
    return person, actor


async def file_request(h: Harness, actor: Actor, kind: Kind = Kind.INCIDENT) -> int:
    ticket = await h.desk.create(
        actor, NewTicket(kind, "Не приходят звонки", "Звонки с сайта не доходят до менеджеров.")
    )
    return ticket.number


async def agent(h: Harness) -> Actor:
    return await h.desk.register_telegram_user(h.agent_user.id, name="Kate", staff_roles=AGENT)


def contains(*parts: str):  # type: ignore[no-untyped-def]
    return lambda m: all(p in (m.text or m.data.get("caption") or "") for p in parts)


async def test_start_greets_with_hours_and_two_buttons(harness: Harness) -> None:
    person = harness.people.user("Анна", language_code="ru")
    await harness.people.command(person, "start")
    answer = await harness.people.wait_for_message(person, lambda m: bool(m.buttons))
    assert "с 07:00 до 23:00" in (answer.text or "")
    assert [b["text"] for b in answer.buttons] == ["📝 Новая заявка", "📋 Мои заявки"]
    english = harness.people.user("Ann", language_code="en")
    await harness.people.command(english, "start")
    answer = await harness.people.wait_for_message(english, lambda m: bool(m.buttons))
    assert "Call to Visit support" in (answer.text or "")
    assert "from 07:00 to 23:00 Moscow time" in (answer.text or "")


async def test_commands_menu_in_both_languages(harness: Harness) -> None:
    from bot.app import set_commands

    await set_commands(harness.bot)
    commands = harness.world.commands
    listed = {key: [c["command"] for c in value] for key, value in commands.items()}
    assert all(names == ["new", "my", "lang", "help"] for names in listed.values())
    assert len(listed) == 2


async def test_registration_message_reaches_the_customer(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor, Kind.PROBLEM)
    message = await harness.people.wait_for_message(person, contains(f"CTV-{number}"))
    assert "зарегистрирована" in (message.text or "")
    assert "P1" in (message.text or "")
    assert re.search(
        r"Первый ответ ожидается до \d\d\.\d\d\.\d{4} \d\d:\d\d МСК\.", message.text or ""
    )
    assert [b["text"] for b in message.buttons] == ["Открыть заявку"]


async def test_registration_outside_hours_says_when_work_starts(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 11, 24, 23, 40, tzinfo=MSK))
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    message = await harness.people.wait_for_message(person, contains(f"CTV-{number}"))
    assert "нерабочее время" in (message.text or "") and "25.11.2026 07:00 МСК" in (
        message.text or ""
    )


async def test_status_updates_and_reply_are_pushed(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    kate = await agent(harness)
    await harness.desk.take(kate, number)
    await harness.people.wait_for_message(person, contains("взял(а) в работу", "Kate"))
    await harness.desk.reply(kate, number, "Проверьте <b>настройки</b> виджета &amp; сайта")
    reply = await harness.people.wait_for_message(person, contains("Ответ по заявке"))
    # The agent's formatting is kept.
    assert any(e["type"] == "bold" for e in reply.data.get("entities", []))
    assert "настройки виджета & сайта" in (reply.text or "")


async def test_customer_answers_a_question_by_replying(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    kate = await agent(harness)
    await harness.desk.ask_customer(kate, number, "Какой у вас номер аккаунта?")
    question = await harness.people.wait_for_message(person, contains("дополнительная информация"))
    await harness.people.send(person, "Аккаунт 4242", reply_to=question)
    await harness.people.wait_for_message(person, contains("Добавлено к заявке"))
    ticket = await harness.desk.ticket(actor, number)
    assert ticket.status == Status.IN_PROGRESS
    history = await harness.desk.history(actor, number)
    assert history[-1].action == "customer_message" and history[-1].comment == "Аккаунт 4242"


async def resolve(harness: Harness, person: User, number: int) -> StoredMessage:
    kate = await agent(harness)
    await harness.desk.resolve(kate, number, "Исправили настройки АТС.")
    return await harness.people.wait_for_message(person, contains("решена", "Исправили"))


async def test_not_solved_asks_the_reason_and_reopens(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    resolved = await resolve(harness, person, number)
    assert [b["text"] for b in resolved.buttons] == ["✅ Решено", "❌ Не решено"]
    press = await harness.people.press(person, resolved, text="❌ Не решено")
    await press.answer()
    asked = await harness.people.wait_for_message(person, contains("почему вопрос не решён"))
    # Nothing changes until the reason is given (R6).
    assert (await harness.desk.ticket(actor, number)).status == Status.RESOLVED
    await harness.people.send(person, "Звонки всё ещё теряются")
    await harness.people.wait_for_message(person, contains("снова в работе"), after=asked)
    await harness.settle()
    # One message says it, not two.
    after_reason = [
        m for m in harness.people.bot_messages(person) if m.message_id > asked.message_id
    ]
    assert [m.text for m in after_reason] == [
        f"🔄 Заявка CTV-{number} снова в работе. Причина: Звонки всё ещё теряются"
    ]
    ticket = await harness.desk.ticket(actor, number)
    assert ticket.status == Status.IN_PROGRESS and ticket.reopen_count == 1
    assert (await harness.desk.history(actor, number))[-1].comment == "Звонки всё ещё теряются"


async def test_solved_closes_and_rating_is_stored(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    resolved = await resolve(harness, person, number)
    press = await harness.people.press(person, resolved, text="✅ Решено")
    assert "Спасибо" in (await press.answer())["text"]
    closed = await harness.people.wait_for_message(
        person, contains("закрыта", "Спасибо за подтверждение")
    )
    assert [b["text"] for b in closed.buttons] == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]
    press = await harness.people.press(person, closed, text="5 ⭐")
    await press.answer()
    ticket = await harness.desk.ticket(actor, number)
    assert (ticket.status, ticket.close_reason, ticket.rating) == ("closed", "confirmed", 5)


async def test_buttons_sent_before_the_upgrade_still_work(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    resolved = await resolve(harness, person, number)
    await (await harness.people.press(person, resolved, text="✅ Решено")).answer()
    closed = await harness.people.wait_for_message(person, contains("Спасибо за подтверждение"))
    # The rating buttons as they were packed before RatingCallback existed.
    old = f"t:r:{number}:4"
    harness.world.find_message(closed.chat_id, closed.message_id).data["reply_markup"] = {  # type: ignore[union-attr]
        "inline_keyboard": [[{"text": "4⭐", "callback_data": old}]]
    }
    assert (
        "Спасибо" in (await (await harness.people.press(person, closed, data=old)).answer())["text"]
    )
    assert (await harness.desk.ticket(actor, number)).rating == 4


async def test_a_stale_button_is_refused_politely(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    resolved = await resolve(harness, person, number)
    await harness.desk.withdraw(actor, number)
    press = await harness.people.press(person, resolved, text="✅ Решено")
    answer = await press.answer()
    assert answer["show_alert"] and "уже закрыта" in answer["text"]
    assert (await harness.desk.ticket(actor, number)).close_reason == CloseReason.WITHDRAWN


async def test_my_requests_view_and_withdraw(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    await harness.desk.note(await agent(harness), number, "секретная внутренняя заметка")
    await harness.people.command(person, "my")
    listing = await harness.people.wait_for_message(person, contains("Ваши заявки"))
    entry = next(b["text"] for b in listing.buttons if f"CTV-{number}" in b["text"])
    assert entry == f"CTV-{number} · 🆕 Новая · 24.11 10:00 · Не приходят звонки"
    await (await harness.people.press(person, listing, text=entry)).answer()
    view = await harness.people.wait_for_message(person, contains("История"))
    assert "секретная" not in (view.text or "")  # internal notes never reach the customer
    await (await harness.people.press(person, view, text="🗑 Отозвать")).answer()
    confirm = await harness.people.wait_for_message(person, contains("Отозвать заявку"))
    await (await harness.people.press(person, confirm, text="Да, отозвать")).answer()
    await harness.people.wait_for_message(person, contains("закрыта по вашей просьбе"))
    assert (await harness.desk.ticket(actor, number)).close_reason == CloseReason.WITHDRAWN


async def test_customers_never_see_each_others_requests(harness: Harness) -> None:
    _anna, anna_actor = await start(harness, "Анна")
    ivan, _ = await start(harness, "Иван")
    number = await file_request(harness, anna_actor)
    await harness.people.command(ivan, "my")
    listing = await harness.people.wait_for_message(ivan, contains("нет заявок"))
    assert f"CTV-{number}" not in str(listing.data)
    # A forged button with Anna's number is "not found" for Ivan.
    data = TicketCallback(action=TicketAction.VIEW, number=number).pack()
    harness.world.find_message(listing.chat_id, listing.message_id).data["reply_markup"] = {  # type: ignore[union-attr]
        "inline_keyboard": [[{"text": "forged", "callback_data": data}]]
    }
    answer = await (await harness.people.press(ivan, listing, data=data)).answer()
    assert "не найдена" in answer["text"]


async def test_plain_message_goes_to_the_only_open_request(harness: Harness) -> None:
    person, actor = await start(harness)
    await harness.people.send(person, "Привет, у меня вопрос")
    await harness.people.wait_for_message(person, contains("нет открытых заявок"))
    number = await file_request(harness, actor)
    await harness.people.send(person, "Забыл добавить: это с телефона")
    await harness.people.wait_for_message(person, contains(f"Добавлено к заявке CTV-{number}"))
    async with harness.sessions() as session:
        rows = await repo.outbox_rows(session)
    assert [r.kind for r in rows][-1] == "backoffice.customer_message"


async def test_several_open_requests_ask_which(harness: Harness) -> None:
    person, actor = await start(harness)
    first = await file_request(harness, actor)
    second = await file_request(harness, actor, Kind.SERVICE)
    await harness.people.send(person, "Это ко второй заявке")
    question = await harness.people.wait_for_message(person, contains("К какой заявке"))
    chosen = next(b["text"] for b in question.buttons if f"CTV-{second}" in b["text"])
    await (await harness.people.press(person, question, text=chosen)).answer()
    history = await harness.desk.history(actor, second)
    assert history[-1].comment == "Это ко второй заявке"
    assert (await harness.desk.history(actor, first))[-1].action == "create"


async def test_message_to_a_resolved_request_offers_reopen_or_new(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    await resolve(harness, person, number)
    await harness.people.send(person, "Проблема вернулась")
    choice = await harness.people.wait_for_message(person, contains("уже решена"))
    await (await harness.people.press(person, choice, text="🔄 Вернуть в работу")).answer()
    ticket = await harness.desk.ticket(actor, number)
    assert ticket.status == Status.IN_PROGRESS
    assert (await harness.desk.history(actor, number))[-1].comment == "Проблема вернулась"


async def test_reminder_then_auto_close_reach_the_customer(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 11, 27, 15, 0, tzinfo=MSK))  # Friday
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    await resolve(harness, person, number)
    harness.clock.set(datetime(2026, 12, 3, 15, 1, tzinfo=MSK))
    await harness.scheduler.run_once()
    await harness.people.wait_for_message(
        person, contains("ждёт вашего подтверждения", "04.12.2026 15:00 МСК")
    )
    harness.clock.set(datetime(2026, 12, 4, 15, 1, tzinfo=MSK))
    await harness.scheduler.run_once()
    closed = await harness.people.wait_for_message(person, contains("закрыта автоматически"))
    assert len(closed.buttons) == 5  # the rating


async def test_blocked_customer_is_marked_and_not_retried(harness: Harness) -> None:
    person, actor = await start(harness)
    await harness.people.block(person)
    number = await file_request(harness, actor)
    await harness.settle()
    async with harness.sessions() as session:
        rows = [r for r in await repo.outbox_rows(session) if r.audience == "customer"]
        assert [(r.status, r.attempts) for r in rows] == [("failed", 1)]
        assert "blocked" in (rows[0].last_error or "")
    ticket = await harness.desk.ticket(actor, number)
    assert ticket.customer.blocked_bot_at is not None
    await harness.desk.take(await agent(harness), number)
    async with harness.sessions() as session:
        kinds = [r.kind for r in await repo.outbox_rows(session) if r.audience == "customer"]
    assert kinds == ["customer.registered"]  # nothing more is written to a blocked customer


async def test_a_customer_who_unblocks_and_writes_is_written_to_again(harness: Harness) -> None:
    person, actor = await start(harness)  # the process now remembers who Anna is
    number = await file_request(harness, actor)
    await harness.settle()
    await harness.people.block(person)
    kate = await agent(harness)
    await harness.desk.reply(kate, number, "Первый ответ")
    await harness.settle()  # refused: Anna is marked as having blocked the bot
    assert (await harness.desk.ticket(actor, number)).customer.blocked_bot_at is not None
    await harness.people.unblock(person)
    await harness.people.send(person, "Я вернулась")
    await harness.people.wait_for_message(person, contains(f"Добавлено к заявке CTV-{number}"))
    assert (await harness.desk.ticket(actor, number)).customer.blocked_bot_at is None
    await harness.desk.reply(kate, number, "Второй ответ")
    await harness.people.wait_for_message(person, contains("Второй ответ"))


async def test_lang_switches_the_language(harness: Harness) -> None:
    person, _ = await start(harness)
    await harness.people.command(person, "lang")
    choose = await harness.people.wait_for_message(person, contains("Choose your language"))
    await (await harness.people.press(person, choose, text="English")).answer()
    await harness.people.command(person, "help")
    help_text = await harness.people.wait_for_message(
        person, contains("How Call to Visit support works")
    )
    assert "every day from 07:00 to 23:00 Moscow time" in (help_text.text or "")


async def test_an_album_is_added_to_the_request_as_one_message(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    await harness.people.send_album(person, [make_image(64, 48) for _ in range(3)])
    await harness.people.wait_for_message(person, contains(f"Добавлено к заявке CTV-{number}"))
    history = await harness.desk.history(actor, number)
    assert [e.action for e in history] == ["create", "customer_message"]
    async with harness.sessions() as session:
        rows = await repo.outbox_rows(session)
    relayed = [r for r in rows if r.kind == "backoffice.customer_message"]
    assert len(relayed) == 1 and len(relayed[0].payload["attachments"]) == 3


async def test_not_solved_on_a_closed_request_asks_nothing(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    resolved = await resolve(harness, person, number)
    await harness.desk.confirm(actor, number)
    answer = await (await harness.people.press(person, resolved, text="❌ Не решено")).answer()
    assert answer["show_alert"] and "уже закрыта" in answer["text"]
    await harness.settle()
    assert not [m for m in harness.people.bot_messages(person) if "почему" in (m.text or "")]


async def test_special_characters_reach_the_agents_as_written(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    written = "Цена < 100 & скидка <5%> — <b>не</b> работает"
    await harness.people.send(person, written)
    await harness.people.wait_for_message(person, contains(f"Добавлено к заявке CTV-{number}"))
    shown = await harness.people.wait_for_message(harness.backoffice, contains(written))
    assert "&lt;" not in (shown.text or "")
    history = await harness.desk.history(actor, number)
    assert (
        history[-1].comment
        == "Цена &lt; 100 &amp; скидка &lt;5%&gt; — &lt;b&gt;не&lt;/b&gt; работает"
    )


async def test_a_customers_edit_follows_to_the_agents_copy(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    sent = await harness.people.send(person, "Звонки теряются с утра")
    await harness.people.wait_for_message(person, contains(f"Добавлено к заявке CTV-{number}"))
    copy = await harness.people.wait_for_message(
        harness.backoffice, contains("Звонки теряются с утра")
    )
    await harness.people.edit(person, sent, "Звонки теряются с 9 утра")
    await harness.people.wait_for(
        lambda: (
            "с 9 утра" in (harness.world.find_message(copy.chat_id, copy.message_id).text or "")
        ),
        what="the agents' copy edited",
    )
    history = await harness.desk.history(actor, number)
    assert history[-1].action == "edit" and "с 9 утра" in (history[-1].comment or "")


async def test_deep_link_opens_the_customers_request(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    await harness.people.command(person, "start", f"t_{number}")
    view = await harness.people.wait_for_message(person, contains(f"CTV-{number}", "История"))
    assert any(b["text"] == "🗑 Отозвать" for b in view.buttons)
    stranger = harness.people.user("Иван", language_code="ru")
    await harness.people.command(stranger, "start", f"t_{number}")
    await harness.people.wait_for_message(stranger, contains("не найдена"))
    greeting = await harness.people.wait_for_message(stranger, lambda m: bool(m.buttons))
    assert "Call to Visit" in (greeting.text or "")


async def test_signed_cabinet_link_joins_the_organisation(harness: Harness) -> None:
    from desk.links import sign_organisation_link
    from tests.harness import LINK_SECRET

    await harness.desk.create_organisation("ООО Ромашка", "premium", external_id="romashka")
    person, actor = await start(harness)
    expires = harness.clock.now + timedelta(hours=1)
    token = sign_organisation_link(LINK_SECRET, "romashka", expires)
    await harness.people.command(person, "start", token)
    await harness.people.wait_for_message(person, contains("Ромашка"))
    number = await file_request(harness, actor, Kind.PROBLEM)
    assert (await harness.desk.ticket(actor, number)).tariff.code == "premium"

    # The desk reads its own clock, as everywhere: links expire by it.
    expired = sign_organisation_link(LINK_SECRET, "romashka", harness.clock.now - timedelta(1))
    await harness.people.command(person, "start", expired)
    await harness.people.wait_for_message(person, contains("недействительна"))
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    await harness.people.command(person, "start", forged)
    notices = await harness.people.wait_for(
        lambda: (
            [m for m in harness.people.bot_messages(person) if "недействительна" in (m.text or "")][
                1:
            ]
            or None
        )
    )
    assert notices


async def test_a_follow_up_image_file_reaches_support_without_gps(harness: Harness) -> None:
    from PIL import Image

    from tests.dialogs.images import jpeg_with_gps

    person, actor = await start(harness)
    number = await file_request(harness, actor)
    await harness.people.send_document(person, jpeg_with_gps(), "photo.jpg", mime_type="image/jpeg")
    copy = await harness.people.wait_for_message(person, contains("увидит поддержка"))
    await harness.people.wait_for_message(person, contains(f"Добавлено к заявке CTV-{number}"))
    shown = await harness.people.wait_for(
        lambda: next(
            (m for m in harness.people.messages(harness.backoffice) if "document" in m.data), None
        )
    )
    assert shown.data["document"]["file_id"] == copy.data["document"]["file_id"]
    with Image.open(
        io.BytesIO(harness.people.file_bytes(copy.data["document"]["file_id"]))
    ) as image:
        assert not image.getexif()
    # A file that is not an image passes as sent; a fake image is not an image.
    await harness.people.send_document(person, b"%PDF-1.4 act", "act.pdf")
    await harness.people.wait_for(
        lambda: (
            len(
                [
                    m
                    for m in harness.people.bot_messages(person)
                    if "Добавлено к заявке" in (m.text or "")
                ]
            )
            == 2
            or None
        )
    )


async def test_agents_files_reach_the_customer(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    card = await harness.people.wait_for_message(
        harness.backoffice, lambda m: f"CTV-{number}" in (m.text or "") and bool(m.buttons)
    )
    # No waiting for the card's message id to be recorded: its buttons name the request.
    kate = harness.agent_user
    await harness.people.send_document(
        kate, b"%PDF-1.4 instruction", "instruction.pdf", chat=harness.backoffice, reply_to=card
    )
    document = await harness.people.wait_for_message(person, lambda m: "document" in m.data)
    assert (
        harness.people.file_bytes(document.data["document"]["file_id"]) == b"%PDF-1.4 instruction"
    )
    await harness.people.send_photo(
        kate, make_image(80, 60), caption="Вот так", chat=harness.backoffice, reply_to=card
    )
    photo = await harness.people.wait_for_message(person, lambda m: "photo" in m.data)
    assert "Вот так" in (photo.data.get("caption") or "")


async def test_an_agents_album_reaches_the_customer_as_one_album(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    card = await harness.people.wait_for_message(
        harness.backoffice, lambda m: f"CTV-{number}" in (m.text or "") and bool(m.buttons)
    )
    await harness.people.send_album(
        harness.agent_user,
        [make_image(40, 30), make_image(50, 30)],
        caption="Два скриншота настроек",
        chat=harness.backoffice,
        reply_to=card,
    )
    text = await harness.people.wait_for_message(person, contains("Два скриншота настроек"))
    photos = await harness.people.wait_for(
        lambda: [m for m in harness.people.bot_messages(person) if "photo" in m.data][:2] or None
    )
    assert len({m.data.get("media_group_id") for m in photos}) == 1
    assert text.message_id < photos[0].message_id
    history = await harness.desk.history(actor, number)
    assert [e.action for e in history].count("reply") == 1


async def test_an_update_that_changes_nothing_writes_nothing(harness: Harness) -> None:
    person, _ = await start(harness)
    first = await harness.people.wait_for_message(person, lambda m: bool(m.buttons))
    writes: list[str] = []

    def record(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        await harness.people.command(person, "help")
        await harness.people.wait_for_message(person, contains("07:00"), after=first)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert writes == []


async def test_a_failed_update_is_answered_politely_and_the_draft_is_kept(
    harness: Harness,
) -> None:
    ru = Texts("ru")

    async def broken(message: Message) -> None:
        raise RuntimeError("a bug in a handler")

    # Ahead of every router: the one message that fails, whatever state the chat is in.
    harness.dispatcher.message.register(broken, F.text == "💥")
    person = harness.people.user("Анна", language_code="ru")
    await harness.people.command(person, "new")
    window = await harness.people.wait_for_message(person, contains("Одна заявка — одна проблема"))
    await harness.people.press(person, window, text=ru("intake.buttons.incident"))
    await harness.people.wait_for_message(person, contains("Шаг 2 из 5"))
    await harness.people.send(person, "Не приходят звонки")
    step3 = await harness.people.wait_for_message(person, contains("Шаг 3 из 5"))

    await harness.people.send(person, "💥")
    sorry = await harness.people.wait_for_message(person, after=step3)
    assert sorry.text == ru("errors.generic")

    # The draft is where it was: the next message is the description (step 3).
    await harness.people.send(person, "Звонки с сайта не доходят до менеджеров.")
    await harness.people.wait_for_message(person, contains("Шаг 4 из 5"), after=sorry)


async def test_refusals_speak_the_language_chosen_with_lang(harness: Harness) -> None:
    """Telegram says Russian, the customer chose English with /lang: a refusal raised
    while handling the update (answered by the error handlers) is in English too."""
    person, actor = await start(harness)
    await harness.people.command(person, "lang")
    choose = await harness.people.wait_for_message(person, contains("Choose your language"))
    await (await harness.people.press(person, choose, text="English")).answer()
    number = await file_request(harness, actor)
    kate = await agent(harness)
    await harness.desk.resolve(kate, number, "Fixed the PBX settings.")
    resolved = await harness.people.wait_for_message(person, contains("Fixed the PBX"))
    await harness.desk.withdraw(actor, number)
    label = next(b["text"] for b in resolved.buttons if b["text"].startswith("✅"))
    answer = await (await harness.people.press(person, resolved, text=label)).answer()
    assert answer["show_alert"] and answer["text"] == "This request is already closed."


async def test_an_edited_resolution_answer_keeps_its_header_and_buttons(harness: Harness) -> None:
    """An agent corrects the answer they resolved with: the customer's copy changes its
    text, and stays a resolution they can confirm (editMessageText without the keyboard
    would take the buttons away)."""
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    kate = await agent(harness)
    written = MessageRef(BACKOFFICE_CHAT_ID, 501)  # the agent's message in the group
    await harness.desk.resolve(kate, number, "Исправили настройки АТС.", source=written)
    copy = await harness.people.wait_for_message(person, contains("решена", "Исправили"))
    await harness.desk.edit_message(kate, written, "Исправили настройки АТС и маршрут.")

    def edited() -> StoredMessage | None:
        now = harness.people.world.find_message(copy.chat_id, copy.message_id)
        return now if now is not None and "маршрут" in (now.text or "") else None

    shown = await harness.people.wait_for(edited, what="the copy edited")
    assert f"Заявка CTV-{number} решена" in (shown.text or "")
    assert [b["text"] for b in shown.buttons] == ["✅ Решено", "❌ Не решено"]


async def test_an_edited_question_keeps_its_header(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    kate = await agent(harness)
    written = MessageRef(BACKOFFICE_CHAT_ID, 502)
    await harness.desk.ask_customer(kate, number, "Кто ваш провайдер?", source=written)
    copy = await harness.people.wait_for_message(person, contains("провайдер"))
    await harness.desk.edit_message(kate, written, "Кто ваш оператор связи?")

    def edited() -> StoredMessage | None:
        now = harness.people.world.find_message(copy.chat_id, copy.message_id)
        return now if now is not None and "оператор" in (now.text or "") else None

    shown = await harness.people.wait_for(edited, what="the copy edited")
    assert "нужна дополнительная информация" in (shown.text or "")
