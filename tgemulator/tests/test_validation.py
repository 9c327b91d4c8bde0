"""Every kind of mistake gets the answer Telegram gives, and is recorded as a violation."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tgemulator import RunningEmulator

from .conftest import ApiCaller


def keyboard(*data: str) -> dict[str, object]:
    return {"inline_keyboard": [[{"text": d or "x", "callback_data": d} for d in data]]}


@pytest.fixture
def chat_id(emulator: RunningEmulator) -> int:
    user = emulator.people.user("Val")
    emulator.world.private_chat(user).started = True
    return user.id


async def expect_error(
    emulator: RunningEmulator,
    api: ApiCaller,
    method: str,
    code: int,
    description: str,
    *,
    violation: bool = True,
    **params: object,
) -> None:
    answer = await api(method, **params)
    assert answer == {"ok": False, "error_code": code, "description": description}
    recorded = emulator.take_violations()
    if violation:
        assert [v.description for v in recorded] == [description]
    else:
        assert recorded == []


async def test_unknown_method_is_404(emulator: RunningEmulator, api: ApiCaller) -> None:
    await expect_error(emulator, api, "sendMesage", 404, "Not Found", chat_id=1, text="x")


async def test_method_names_are_case_insensitive(
    emulator: RunningEmulator, api: ApiCaller, chat_id: int
) -> None:
    answer = await api("SENDMESSAGE", chat_id=chat_id, text="hello")
    assert answer["ok"] is True
    assert answer["result"]["text"] == "hello"


async def test_bad_token_is_401(emulator: RunningEmulator, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{emulator.url}/bot1:wrong/getMe") as response:
        assert response.status == 401
        assert await response.json() == {
            "ok": False,
            "error_code": 401,
            "description": "Unauthorized",
        }
    assert [v.description for v in emulator.take_violations()] == ["Unauthorized"]


async def test_unknown_parameter(emulator: RunningEmulator, api: ApiCaller, chat_id: int) -> None:
    await expect_error(
        emulator,
        api,
        "sendMessage",
        400,
        'Bad Request: unknown parameter "txt" for method sendMessage',
        chat_id=chat_id,
        text="a",
        txt="b",
    )


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": "hi"}, "Bad Request: chat_id is empty"),
        ({"chat_id": 1}, "Bad Request: message text is empty"),
    ],
)
async def test_missing_required(
    emulator: RunningEmulator, api: ApiCaller, params: dict[str, Any], description: str
) -> None:
    await expect_error(emulator, api, "sendMessage", 400, description, **params)


async def test_missing_required_generic(emulator: RunningEmulator, api: ApiCaller) -> None:
    await expect_error(
        emulator,
        api,
        "answerCallbackQuery",
        400,
        'Bad Request: parameter "callback_query_id" is required',
    )


async def test_wrong_scalar_type(emulator: RunningEmulator, api: ApiCaller, chat_id: int) -> None:
    await expect_error(
        emulator,
        api,
        "sendMessage",
        400,
        'Bad Request: can\'t parse disable_notification: field "disable_notification" must be '
        "of type Boolean",
        chat_id=chat_id,
        text="x",
        disable_notification="perhaps",
    )


async def test_chat_id_accepts_integer_or_string(
    emulator: RunningEmulator, api: ApiCaller, chat_id: int
) -> None:
    assert (await api("sendMessage", chat_id=str(chat_id), text="x"))["ok"] is True
    await expect_error(
        emulator,
        api,
        "sendMessage",
        400,
        'Bad Request: can\'t parse chat_id: field "chat_id" must be of type Integer',
        chat_id=[1],
        text="x",
    )


async def test_nested_button_with_unknown_field(
    emulator: RunningEmulator, api: ApiCaller, chat_id: int
) -> None:
    markup = {"inline_keyboard": [[{"text": "A", "callback": "a"}]]}
    answer = await api("sendMessage", chat_id=chat_id, text="x", reply_markup=markup)
    assert answer["error_code"] == 400
    assert "reply_markup.inline_keyboard[0][0].callback" in answer["description"]
    assert len(emulator.take_violations()) == 1


async def test_nested_wrong_type_in_reply_parameters(
    emulator: RunningEmulator, api: ApiCaller, chat_id: int
) -> None:
    answer = await api(
        "sendMessage", chat_id=chat_id, text="x", reply_parameters={"message_id": "first"}
    )
    assert answer["error_code"] == 400
    assert 'field "reply_parameters.message_id" must be of type Integer' in answer["description"]
    assert len(emulator.take_violations()) == 1


async def test_text_button_without_action(
    emulator: RunningEmulator, api: ApiCaller, chat_id: int
) -> None:
    await expect_error(
        emulator,
        api,
        "sendMessage",
        400,
        "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
        "inline keyboard",
        chat_id=chat_id,
        text="x",
        reply_markup={"inline_keyboard": [[{"text": "A"}]]},
    )


async def test_empty_and_blank_text(
    emulator: RunningEmulator, api: ApiCaller, chat_id: int
) -> None:
    for text in ("", "   \n "):
        await expect_error(
            emulator,
            api,
            "sendMessage",
            400,
            "Bad Request: message text is empty",
            chat_id=chat_id,
            text=text,
        )


async def test_text_too_long_counts_after_entity_parsing(
    emulator: RunningEmulator, api: ApiCaller, chat_id: int
) -> None:
    exactly = "<b>" + "x" * 4096 + "</b>"
    ok = await api("sendMessage", chat_id=chat_id, text=exactly, parse_mode="HTML")
    assert ok["ok"] is True
    assert len(ok["result"]["text"]) == 4096
    await expect_error(
        emulator,
        api,
        "sendMessage",
        400,
        "Bad Request: message is too long",
        chat_id=chat_id,
        text="&amp;" * 4097,
        parse_mode="HTML",
    )


async def test_caption_too_long(
    emulator: RunningEmulator, api: ApiCaller, http: aiohttp.ClientSession, chat_id: int
) -> None:
    from tgemulator import make_image

    form = aiohttp.FormData()
    form.add_field("chat_id", str(chat_id))
    form.add_field("caption", "c" * 1025)
    form.add_field("photo", make_image(), filename="p.png", content_type="image/png")
    async with http.post(emulator.api_url("sendPhoto"), data=form) as response:
        body = await response.json()
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message caption is too long",
    }
    assert len(emulator.take_violations()) == 1


async def test_callback_data_limit_is_in_bytes(
    emulator: RunningEmulator, api: ApiCaller, chat_id: int
) -> None:
    fits = "я" * 32  # 64 bytes in UTF-8
    assert (await api("sendMessage", chat_id=chat_id, text="x", reply_markup=keyboard(fits)))["ok"]
    for data in ("я" * 33, "x" * 65):
        await expect_error(
            emulator,
            api,
            "sendMessage",
            400,
            "Bad Request: BUTTON_DATA_INVALID",
            chat_id=chat_id,
            text="x",
            reply_markup=keyboard(data),
        )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a <foo>b</foo>", 'Unsupported start tag "foo" at byte offset 2'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        (
            "Tom & Jerry",
            'Character "&" is reserved and must be escaped with "&amp;" at byte offset 4',
        ),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href="x>y', "Unclosed start tag at byte offset 0"),
        ("é<br>", 'Unsupported start tag "br" at byte offset 2'),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        (
            "<a href>x</a>",
            'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0',
        ),
    ],
)
async def test_broken_html(
    emulator: RunningEmulator, api: ApiCaller, chat_id: int, text: str, error: str
) -> None:
    await expect_error(
        emulator,
        api,
        "sendMessage",
        400,
        f"Bad Request: can't parse entities: {error}",
        chat_id=chat_id,
        text=text,
        parse_mode="HTML",
    )


async def test_broken_html_is_fine_without_parse_mode(
    emulator: RunningEmulator, api: ApiCaller, chat_id: int
) -> None:
    answer = await api("sendMessage", chat_id=chat_id, text="a < b & <foo>")
    assert answer["result"]["text"] == "a < b & <foo>"


async def test_chat_not_found_and_blocked(
    emulator: RunningEmulator, api: ApiCaller, chat_id: int
) -> None:
    await expect_error(
        emulator,
        api,
        "sendMessage",
        400,
        "Bad Request: chat not found",
        violation=False,
        chat_id=424242,
        text="x",
    )
    await emulator.people.block(chat_id)
    await expect_error(
        emulator,
        api,
        "sendMessage",
        403,
        "Forbidden: bot was blocked by the user",
        violation=False,
        chat_id=chat_id,
        text="x",
    )


async def test_bot_cannot_start_a_conversation(emulator: RunningEmulator, api: ApiCaller) -> None:
    stranger = emulator.people.user("Stranger")
    await expect_error(
        emulator,
        api,
        "sendMessage",
        403,
        "Forbidden: bot can't initiate conversation with a user",
        violation=False,
        chat_id=stranger.id,
        text="x",
    )


async def test_edit_not_found_and_not_modified(
    emulator: RunningEmulator, api: ApiCaller, chat_id: int
) -> None:
    await expect_error(
        emulator,
        api,
        "editMessageText",
        400,
        "Bad Request: message to edit not found",
        violation=False,
        chat_id=chat_id,
        message_id=999,
        text="x",
    )
    sent = (await api("sendMessage", chat_id=chat_id, text="same", reply_markup=keyboard("k")))[
        "result"
    ]
    await expect_error(
        emulator,
        api,
        "editMessageText",
        400,
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
        violation=False,
        chat_id=chat_id,
        message_id=sent["message_id"],
        text="same",
        reply_markup=keyboard("k"),
    )
    # Telegram drops the keyboard when an edit leaves reply_markup out.
    edited = await api(
        "editMessageText", chat_id=chat_id, message_id=sent["message_id"], text="same"
    )
    assert "reply_markup" not in edited["result"]
    assert "edit_date" in edited["result"]


async def test_thread_not_found_after_delete_forum_topic(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    forum = emulator.people.group("Desk", forum=True)
    topic = (await api("createForumTopic", chat_id=forum.id, name="Ticket 1"))["result"]
    thread = topic["message_thread_id"]
    sent = await api("sendMessage", chat_id=forum.id, message_thread_id=thread, text="in topic")
    assert sent["result"]["message_thread_id"] == thread
    assert sent["result"]["is_topic_message"] is True
    assert (await api("deleteForumTopic", chat_id=forum.id, message_thread_id=thread))["ok"]
    await expect_error(
        emulator,
        api,
        "sendMessage",
        400,
        "Bad Request: message thread not found",
        violation=False,
        chat_id=forum.id,
        message_thread_id=thread,
        text="x",
    )


async def test_query_too_old(emulator: RunningEmulator, api: ApiCaller) -> None:
    await expect_error(
        emulator,
        api,
        "answerCallbackQuery",
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
        violation=False,
        callback_query_id="nope",
    )


async def test_valid_but_unimplemented_method(
    emulator: RunningEmulator, api: ApiCaller, chat_id: int
) -> None:
    await expect_error(
        emulator,
        api,
        "sendDice",
        400,
        "Bad Request: method not supported by the emulator",
        chat_id=chat_id,
    )


async def test_form_encoded_values_are_converted(
    emulator: RunningEmulator, http: aiohttp.ClientSession, chat_id: int
) -> None:
    form = {
        "chat_id": str(chat_id),
        "text": "<i>hi</i>",
        "parse_mode": "HTML",
        "disable_notification": "true",
        "reply_markup": json.dumps(keyboard("a", "b")),
    }
    async with http.post(emulator.api_url("sendMessage"), data=form) as response:
        body = await response.json()
    assert body["ok"] is True
    assert body["result"]["entities"] == [{"offset": 0, "length": 2, "type": "italic"}]
    assert len(body["result"]["reply_markup"]["inline_keyboard"][0]) == 2


async def test_get_with_query_string(
    emulator: RunningEmulator, http: aiohttp.ClientSession
) -> None:
    async with http.get(emulator.api_url("getMe")) as response:
        body = await response.json()
    assert body["result"]["is_bot"] is True
    assert body["result"]["id"] == 123456
