"""The intake dialog end to end through the real Dispatcher, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io

import pytest
from aiogram.methods import AnswerCallbackQuery, SendDocument, SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram_dialog.test_tools.keyboard import InlineButtonTextLocator
from PIL import Image
from sqlalchemy import select

from desk.errors import ValidationFailed
from desk.model import Kind
from desk.service import Desk
from storage.db import SessionFactory
from storage.models import Attachment, Outbox, Ticket
from tests.dialogs.conftest import CHAT_ID, Customer
from tests.dialogs.images import jpeg_with_gps, png

DESCRIPTION = "После обновления клиентам перестали приходить SMS-напоминания о записи."


async def tickets(sessions: SessionFactory) -> list[Ticket]:
    async with sessions() as session:
        return list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())


async def attachments(sessions: SessionFactory) -> list[Attachment]:
    async with sessions() as session:
        query = select(Attachment).order_by(Attachment.id)
        return list((await session.execute(query)).scalars())


def notice(customer: Customer, key: str, **values: object) -> None:
    expected = f"⚠️ {customer.t(key, **values)}"
    assert customer.text.startswith(expected), customer.text


async def to_step(customer: Customer, step: str, *, kind: str = "problem") -> None:
    """Walk a fresh draft up to ``step`` with good answers."""
    await customer.say("/new")
    if step == "kind":
        return
    await customer.press(kind)
    if step == "topic":
        return
    await customer.say("Не приходят SMS")
    if step == "description":
        return
    await customer.say(DESCRIPTION)
    if step == "screenshots":
        return
    await customer.press("skip")
    if step == "details":
        return
    await customer.press("skip")
    assert step == "summary"


# -- the happy path, with every kind of bad input on the way -------------------


async def test_submit_after_bad_inputs_creates_the_request_with_nothing_lost(
    customer: Customer, desk: Desk, sessions: SessionFactory
) -> None:
    await customer.say("/new")
    assert customer.t("intake.rule") in customer.text
    assert customer.t("intake.step_kind") in customer.text
    assert customer.buttons() == [
        customer.t("intake.buttons.problem"),
        customer.t("intake.buttons.incident"),
        customer.t("intake.buttons.service"),
        customer.t("intake.buttons.development"),
        customer.t("intake.buttons.cancel"),
    ]
    await customer.say("У нас всё сломалось")  # text before choosing the kind
    notice(customer, "intake.bad.choose_kind")
    await customer.press("problem")

    await customer.sticker()
    notice(customer, "intake.bad.not_text", what=customer.t("intake.content.sticker"))
    await customer.say("x" * 121)
    notice(customer, "intake.bad.too_long", maximum=120, length=121)
    await customer.say("  Не приходят SMS  ")

    await customer.say("коротко")
    notice(customer, "intake.bad.too_short", minimum=10, length=7)
    await customer.voice()
    notice(customer, "intake.bad.not_text", what=customer.t("intake.content.voice"))
    await customer.say(DESCRIPTION)

    assert customer.t("intake.step_screenshots", maximum=10) in customer.text
    await customer.say("вот скриншот")
    notice(customer, "intake.bad.screenshot_expected", what=customer.t("intake.content.text"))
    await customer.photo(album="a1")
    await customer.photo(album="a1")
    assert customer.t("intake.screenshots_count", count=2, maximum=10) in customer.text
    await customer.document(b"not an image at all, just text" * 10, name="shot.jpg")
    notice(customer, "intake.bad.not_image")
    await customer.document(jpeg_with_gps(), name="IMG_0001.JPG")
    assert customer.t("intake.screenshots_count", count=3, maximum=10) in customer.text
    await customer.press("done")

    await customer.location()
    notice(customer, "intake.bad.not_text", what=customer.t("intake.content.location"))
    await customer.say("Chrome 120, страница /calendar")

    summary = customer.text
    assert customer.t("intake.summary") in summary
    assert customer.t("intake.summary_kind", value=customer.t("intake.kinds.problem")) in summary
    assert "Не приходят SMS" in summary and DESCRIPTION in summary
    assert customer.t("intake.summary_screenshots", count=3) in summary
    await customer.press("submit")

    assert customer.text == customer.t("intake.sent")
    assert customer.buttons() == []
    [ticket] = await tickets(sessions)
    assert ticket.kind == Kind.PROBLEM
    assert ticket.topic == "Не приходят SMS"
    assert ticket.description == DESCRIPTION
    assert ticket.technical_details == "Chrome 120, страница /calendar"
    assert ticket.channel == "telegram"
    stored = await attachments(sessions)
    assert [(a.file_id, a.kind, a.width, a.height) for a in stored] == [
        ("u1-l", "photo", 1280, 853),  # the largest size, not the last one
        ("u2-l", "photo", 1280, 853),
        ("clean-1", "document", 120, 80),
    ]
    assert stored[0].size == 123_456
    assert (
        stored[0].sha256
        == hashlib.sha256(f"photo {stored[0].file_unique_id[:-2]}".encode()).hexdigest()
    )
    clean = customer.bot.sent(SendDocument)[0]
    clean_bytes = clean.document.data
    assert stored[2].size == len(clean_bytes)
    assert stored[2].sha256 is not None and len(stored[2].sha256) == 64
    with Image.open(io.BytesIO(clean_bytes)) as image:
        assert image.format == "JPEG" and not image.getexif()
    assert clean.caption == customer.t("intake.clean_copy", number=3, maximum=10)
    # The registration message is the outbox's job, not the dialog's.
    async with sessions() as session:
        kinds = [row.kind for row in (await session.execute(select(Outbox))).scalars()]
    assert "customer.registered" in kinds
    assert not customer.bot.sent(SendMessage)


async def test_start_menu_button_opens_the_dialog(customer: Customer) -> None:
    await customer.say("/start")
    [greeting] = customer.bot.sent(SendMessage)
    menu = Message.model_validate(
        {
            "message_id": 5,
            "date": 0,
            "chat": {"id": CHAT_ID, "type": "private"},
            "text": greeting.text,
            "reply_markup": greeting.reply_markup,
        }
    )
    callback_id = await customer.client.click(
        menu, InlineButtonTextLocator(customer.t("start.new_request"))
    )
    assert customer.t("intake.rule") in customer.text
    answered = [c.callback_query_id for c in customer.bot.sent(AnswerCallbackQuery)]
    assert callback_id in answered


# -- Back, Next and Edit -----------------------------------------------------------


async def test_back_returns_step_by_step_and_keeps_what_was_typed(customer: Customer) -> None:
    await to_step(customer, "screenshots", kind="incident")
    await customer.photo()
    await customer.press("back")
    assert customer.t("intake.step_description", minimum=10, maximum=4000) in customer.text
    assert DESCRIPTION in customer.text  # shown as the current value
    await customer.press("back")
    assert "Не приходят SMS" in customer.text
    await customer.press("back")
    assert customer.t("intake.step_kind") in customer.text
    await customer.press("incident")
    await customer.press("next")  # the topic as it was
    await customer.press("next")  # the description as it was
    assert customer.t("intake.screenshots_count", count=1, maximum=10) in customer.text
    await customer.press("done")
    await customer.press("skip")
    summary = customer.text
    assert customer.t("intake.kinds.incident") in summary
    assert "Не приходят SMS" in summary and DESCRIPTION in summary
    assert customer.t("intake.summary_screenshots", count=1) in summary
    await customer.press("back")
    assert customer.t("intake.step_details") in customer.text


async def test_edit_from_the_summary_returns_to_the_summary(
    customer: Customer, sessions: SessionFactory
) -> None:
    await to_step(customer, "summary")
    await customer.press("edit_topic")
    assert "Не приходят SMS" in customer.text
    await customer.say("")
    notice(customer, "intake.bad.empty")
    await customer.say("SMS не уходят клиентам")
    assert customer.t("intake.summary") in customer.text
    assert "SMS не уходят клиентам" in customer.text

    await customer.press("edit_kind")
    await customer.press("back")  # changed my mind: the summary, kind unchanged
    assert customer.t("intake.kinds.problem") in customer.text
    await customer.press("edit_kind")
    await customer.press("service")
    assert customer.t("intake.kinds.service") in customer.text

    await customer.press("edit_details")
    await customer.say("Версия 2.14")
    assert "Версия 2.14" in customer.text
    await customer.press("edit_details")
    await customer.press("remove_details")
    await customer.press("skip")
    assert customer.t("intake.summary_no_details") in customer.text

    await customer.press("edit_screenshots")
    await customer.photo()
    await customer.press("done")
    assert customer.t("intake.summary_screenshots", count=1) in customer.text

    await customer.press("edit_description")
    await customer.say("y" * 4001)
    notice(customer, "intake.bad.too_long", maximum=4000, length=4001)
    assert DESCRIPTION in customer.text  # the previous value is still there
    await customer.press("back")
    await customer.press("submit")
    [ticket] = await tickets(sessions)
    assert (ticket.kind, ticket.topic, ticket.description, ticket.technical_details) == (
        Kind.SERVICE,
        "SMS не уходят клиентам",
        DESCRIPTION,
        None,
    )
    assert len(await attachments(sessions)) == 1


async def test_text_on_the_summary_is_not_taken_for_a_field(customer: Customer) -> None:
    await to_step(customer, "summary")
    await customer.say("ещё одна мысль")
    notice(customer, "intake.bad.use_buttons")
    assert DESCRIPTION in customer.text


# -- bad input, one by one ---------------------------------------------------------


@pytest.mark.parametrize("what", ["sticker", "voice", "location", "contact"])
async def test_non_text_where_text_is_expected(customer: Customer, what: str) -> None:
    await to_step(customer, "description")
    await getattr(customer, what)()
    notice(customer, "intake.bad.not_text", what=customer.t(f"intake.content.{what}"))
    assert customer.t("intake.step_description", minimum=10, maximum=4000) in customer.text
    await customer.say(DESCRIPTION)
    assert customer.t("intake.step_screenshots", maximum=10) in customer.text
    await customer.press("back")
    await customer.press("back")
    assert "Не приходят SMS" in customer.text  # the topic before the bad input is kept


async def test_whitespace_only_topic(customer: Customer) -> None:
    await to_step(customer, "topic")
    await customer.say("   \n  ")
    notice(customer, "intake.bad.empty")
    await customer.say("Тема")
    assert customer.t("intake.step_description", minimum=10, maximum=4000) in customer.text


async def test_a_notice_does_not_follow_the_customer_to_another_step(
    customer: Customer,
) -> None:
    await to_step(customer, "topic")
    await customer.say("x" * 500)
    await customer.press("back")
    assert not customer.text.startswith("⚠️")
    await customer.press("problem")
    assert not customer.text.startswith("⚠️")


@pytest.mark.parametrize(
    ("data", "problem", "values"),
    [
        (b"PK\x03\x04 a zip renamed to .jpg" * 20, "not_image", {}),
        (png((8000, 5200), "1"), "too_many_pixels", {"maximum": 40}),
        (png((10000, 9000), "1"), "bomb", {}),
    ],
    ids=["not_image", "too_many_pixels", "bomb"],
)
async def test_bad_image_files(
    customer: Customer, data: bytes, problem: str, values: dict[str, object]
) -> None:
    await to_step(customer, "screenshots")
    await customer.photo()
    await customer.document(data)
    notice(customer, f"intake.bad.{problem}", **values)
    assert customer.t("intake.screenshots_count", count=1, maximum=10) in customer.text
    assert not customer.bot.sent(SendDocument)  # nothing uploaded


async def test_image_over_ten_megabytes_is_refused_without_downloading(
    customer: Customer,
) -> None:
    await to_step(customer, "screenshots")
    await customer.document(png((10, 10)), size=11 * 1024 * 1024)
    notice(customer, "intake.bad.too_large", maximum=10)
    assert customer.bot.downloads == []


async def test_eleventh_screenshot_and_duplicates_are_refused(customer: Customer) -> None:
    await to_step(customer, "screenshots")
    await customer.photo(unique="same")
    await customer.photo(unique="same")
    notice(customer, "intake.bad.duplicate_screenshot")
    for _ in range(9):
        await customer.photo(album="big")
    assert customer.t("intake.screenshots_count", count=10, maximum=10) in customer.text
    await customer.photo(album="big")
    notice(customer, "intake.bad.too_many_screenshots", maximum=10)
    await customer.document(jpeg_with_gps())
    notice(customer, "intake.bad.too_many_screenshots", maximum=10)
    # Only the ten accepted photos were fetched (for their hash): not the
    # duplicate, not the eleventh, not the refused file.
    assert len(customer.bot.downloads) == 10
    assert not [d for d in customer.bot.downloads if d.startswith("doc-")]
    await customer.press("remove_screenshots")
    assert customer.t("intake.screenshots_count", count=0, maximum=10) not in customer.text
    assert customer.t("intake.buttons.skip") in customer.buttons()


async def test_desk_refusal_on_submit_returns_to_the_field(
    customer: Customer, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    await to_step(customer, "summary")

    async def refuse(*_: object, **__: object) -> None:
        raise ValidationFailed("topic", "too_long", maximum=100, length=110)

    monkeypatch.setattr(desk, "create", refuse)
    await customer.press("submit")
    notice(customer, "intake.bad.too_long", maximum=100, length=110)
    assert "Не приходят SMS" in customer.text
    monkeypatch.undo()
    await customer.say("Короче")
    assert customer.t("intake.summary") in customer.text  # back to the summary


# -- cancel, /new again, old buttons ---------------------------------------------------


async def test_cancel_asks_first_and_no_keeps_the_draft(
    customer: Customer, sessions: SessionFactory
) -> None:
    await to_step(customer, "description")
    await customer.press("cancel")
    assert customer.text == customer.t("intake.cancel_question")
    await customer.press("cancel_no")
    assert customer.t("intake.step_description", minimum=10, maximum=4000) in customer.text
    await customer.press("back")
    assert "Не приходят SMS" in customer.text
    await customer.press("cancel")
    await customer.press("cancel_yes")
    assert customer.text == customer.t("intake.cancelled")
    assert await tickets(sessions) == []
    await customer.say("/new")
    await customer.press("problem")
    assert customer.t("intake.current", value="Не приходят SMS") not in customer.text


async def test_new_command_shows_the_open_draft_again(customer: Customer) -> None:
    await to_step(customer, "description")
    await customer.say("/new")
    assert customer.t("intake.step_description", minimum=10, maximum=4000) in customer.text
    await customer.press("back")
    assert "Не приходят SMS" in customer.text


async def test_button_of_an_unknown_dialog_restarts_cleanly(customer: Customer) -> None:
    old = Message.model_validate(
        {
            "message_id": 3,
            "date": 0,
            "chat": {"id": CHAT_ID, "type": "private"},
            "text": "old",
            "reply_markup": InlineKeyboardMarkup(
                inline_keyboard=[
                    [InlineKeyboardButton(text="Submit", callback_data="deadintent\x1dsubmit")]
                ]
            ),
        }
    )
    await customer.client.click(old, InlineButtonTextLocator("Submit"))
    [menu] = customer.bot.sent(SendMessage)
    assert menu.text == customer.t("dialogs.restarted")
    assert customer.t("start.new_request") in str(menu.reply_markup)
    assert customer.bot.sent(AnswerCallbackQuery)


async def test_submit_of_an_intake_that_filed_says_so_instead_of_starting_over(
    customer: Customer, sessions: SessionFactory
) -> None:
    """The process stopped after filing, before the dialog moved on; pressed again, the
    old Submit must not offer to start again (the same problem would be filed twice)."""
    await to_step(customer, "summary")
    summary = customer.window
    await customer.press("submit")
    [ticket] = await tickets(sessions)
    customer.bot.calls.clear()
    shown = len(customer.messages.sent_messages)
    await customer.press("submit", message=summary)  # its dialog is closed: a stale button
    [answer] = customer.bot.sent(AnswerCallbackQuery)
    assert answer.text == customer.t("dialogs.already_filed", number=f"CTV-{ticket.number}")
    assert answer.show_alert
    assert len(customer.messages.sent_messages) == shown  # no "start again" menu
    assert len(await tickets(sessions)) == 1


async def test_button_of_an_older_window_shows_the_current_step(customer: Customer) -> None:
    await to_step(customer, "topic")
    first = customer.window
    await customer.press("cancel")
    await customer.press("cancel_yes")
    await customer.say("/new")
    await customer.press("incident")
    await customer.say("Другая тема")
    shown = len(customer.messages.sent_messages)
    await customer.press("back", message=first)  # a button of the closed draft
    [answer] = customer.bot.sent(AnswerCallbackQuery)
    assert answer.text == customer.t("dialogs.stale_button")
    assert len(customer.messages.sent_messages) == shown + 1
    assert customer.t("intake.step_description", minimum=10, maximum=4000) in customer.text


async def test_a_second_tap_on_a_window_that_moved_on_does_not_skip_a_step(
    customer: Customer,
) -> None:
    """The same "Next" id on two steps would let a double tap (or a window ahead of a
    dialog whose save was lost) act on the step the customer does not see."""
    await to_step(customer, "screenshots")
    await customer.press("back")  # the description step, filled: it has Next
    await customer.press("back")  # the topic step
    topic_window = customer.window
    await customer.press("next")  # on to the description step
    await customer.press("next", message=topic_window)  # the same tap again
    assert customer.t("intake.step_description", minimum=10, maximum=4000) in customer.text
