"""Long and hostile texts reach Telegram whole and valid (issue 13: messages Telegram would refuse).

Through the harness and the emulator, which parses every HTML text as Telegram does and
refuses one over 4096 characters (1024 for a caption): a cut inside a tag or an entity, or
a part too long, fails the test as a violation.
"""

from __future__ import annotations

from html import escape

import pytest

from desk.errors import ValidationFailed
from desk.service import AttachmentIn
from tests.bot.test_customer import agent, file_request, start
from tests.harness import Harness
from tgemulator import StoredMessage, User, make_image
from tgkit.html import utf16_len

MARKUP_HEAVY = "<&>" * 1365 + "<"  # 4096 characters; 17 749 once escaped


def after(h: Harness, person: User, floor: int) -> list[StoredMessage]:
    return [m for m in h.people.bot_messages(person) if m.message_id > floor]


def squeezed(text: str) -> str:
    """Text without white space: Telegram trims each message, so cuts at spaces lose them."""
    return "".join(text.split())


async def last_id(h: Harness, person: User) -> int:
    await h.settle()
    last = h.people.last_bot_message(person)
    return last.message_id if last else 0


async def test_a_long_bold_reply_is_split_with_its_tags_closed_and_reopened(
    harness: Harness,
) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    floor = await last_id(harness, person)
    words = ("Перезагрузите роутер и проверьте настройки АТС. " * 90)[:4090]
    await harness.desk.reply(await agent(harness), number, f"<b>{escape(words)}</b>")
    await harness.settle()
    parts = after(harness, person, floor)
    assert len(parts) == 2  # the header and 4 090 characters do not fit in one
    # Bold from the first word to the last, in both parts.
    for part in parts:
        text = part.text or ""
        bold = [e for e in part.data.get("entities", []) if e["type"] == "bold"]
        assert bold and bold[-1]["offset"] + bold[-1]["length"] == utf16_len(text)
    assert squeezed("".join(p.text or "" for p in parts)).endswith(squeezed(words))


async def test_a_reply_of_4096_markup_characters_is_accepted_and_delivered(
    harness: Harness,
) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    kate = await agent(harness)
    floor = await last_id(harness, person)
    # Valid in Telegram (4 096 characters of text): the desk must not count its HTML.
    await harness.desk.reply(kate, number, escape(MARKUP_HEAVY))
    await harness.settle()
    parts = after(harness, person, floor)
    assert 1 < len(parts) <= 2
    assert "".join(p.text or "" for p in parts).endswith(MARKUP_HEAVY)
    # The desk's own limit counts the text too.
    with pytest.raises(ValidationFailed) as refused:
        await harness.desk.reply(kate, number, escape("<" * 16001))
    assert refused.value.problem == "too_long"


async def test_a_long_reopen_reason_is_echoed_in_valid_parts(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    await harness.desk.resolve(await agent(harness), number, "Исправили настройки АТС.")
    floor = await last_id(harness, person)
    reason = "Звонки теряются: " + "<&" * 3000
    await harness.desk.reopen(actor, number, reason)
    await harness.settle()
    parts = after(harness, person, floor)
    assert len(parts) == 2
    assert "снова в работе" in (parts[0].text or "")
    assert squeezed("".join(p.text or "" for p in parts)).endswith(squeezed(reason))


async def test_a_long_history_in_my_is_split_with_the_buttons_under_the_last_part(
    harness: Harness,
) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    # Fifteen lines of 200 characters of "<", "&" and emoji: far over 4 096 escaped, and
    # over 4 096 as Telegram counts (an emoji is two UTF-16 code units).
    for index in range(15):
        await harness.desk.add_information(actor, number, escape(f"{index:02d}" + "<&😀" * 400))
    await harness.settle()
    floor = await last_id(harness, person)
    await harness.people.command(person, "start", f"t_{number}")
    last = await harness.people.wait_for_message(person, lambda m: bool(m.buttons), after=floor)
    parts = after(harness, person, floor)
    assert len(parts) == 2 and parts[-1] is last and not parts[0].buttons
    joined = "".join(p.text or "" for p in parts)
    assert all(f"{index:02d}<&😀" in joined for index in range(15))
    assert all(utf16_len(p.text or "") <= 4096 for p in parts)


async def test_an_edited_caption_is_corrected_as_a_caption(harness: Harness) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    card = await harness.people.wait_for_message(
        harness.backoffice, lambda m: f"CTV-{number}" in (m.text or "") and bool(m.buttons)
    )
    kate = harness.agent_user
    sent = await harness.people.send_photo(
        kate, make_image(80, 60), caption="Вот так", chat=harness.backoffice, reply_to=card
    )
    photo = await harness.people.wait_for_message(person, lambda m: "photo" in m.data)
    await harness.people.wait_for(lambda: photo.data.get("caption"))
    await harness.settle()

    await harness.people.edit(kate, sent, "Вот <так> & только так")
    await harness.people.wait_for(
        lambda: "только так" in (photo.data.get("caption") or ""), what="the caption edited"
    )
    assert "text" not in photo.data
    assert photo.data["caption"].endswith("Вот <так> & только так")

    # A caption grown past 1 024 characters is cut with "…", never refused.
    await harness.people.edit(kate, sent, "<&" * 1000)
    await harness.people.wait_for(
        lambda: (photo.data.get("caption") or "").endswith("…"), what="the caption cut"
    )
    assert len(photo.data["caption"]) <= 1024


async def test_a_long_reply_with_one_photo_carries_the_start_as_its_caption(
    harness: Harness,
) -> None:
    person, actor = await start(harness)
    number = await file_request(harness, actor)
    floor = await last_id(harness, person)
    sizes = harness.world.store_photo(make_image(80, 60))
    photo = AttachmentIn(sizes[-1]["file_id"], sizes[-1]["file_unique_id"], kind="photo")
    text = ("Шаг <1> & шаг 2. " * 200)[:3000]
    await harness.desk.reply(await agent(harness), number, escape(text), attachments=[photo])
    await harness.settle()
    parts = after(harness, person, floor)
    assert len(parts) == 2
    assert "photo" in parts[0].data and len(parts[0].data["caption"]) <= 1024
    assert "text" in parts[1].data
    shown = parts[0].data["caption"] + (parts[1].text or "")
    assert squeezed(shown).endswith(squeezed(text))
