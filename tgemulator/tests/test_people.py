"""The people's side: groups, forums, members, albums, edits, replies, what a chat shows."""

from __future__ import annotations

import pytest

from tgemulator import RunningEmulator, button_texts, make_image, run_emulator
from tgemulator.pytest_plugin import assert_no_violations

from .conftest import ApiCaller


async def test_private_messages_commands_replies_edits(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    people = emulator.people
    ann = people.user("Ann", username="ann_k", language_code="uk")
    start = await people.command(ann, "start", "ref42")
    assert start.data["text"] == "/start ref42"
    assert start.data["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert start.data["from"]["language_code"] == "uk"
    bot_msg = (await api("sendMessage", chat_id=ann.id, text="Hi Ann"))["result"]
    reply = await people.send(ann, "thanks", reply_to=bot_msg["message_id"])
    assert reply.data["reply_to_message"]["text"] == "Hi Ann"
    await people.edit(ann, reply, "thanks!")
    updates = (await api("getUpdates"))["result"]
    assert "edited_message" in updates[-1]
    assert updates[-1]["edited_message"]["text"] == "thanks!"
    assert reply.history[0]["text"] == "thanks"
    assert [m.text for m in people.messages(ann)] == ["/start ref42", "Hi Ann", "thanks!"]


async def test_album_is_several_updates_with_one_group_id(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    ann = emulator.people.user("Ann")
    album = await emulator.people.send_album(
        ann, [make_image(30, 20), make_image(20, 30)], caption="two photos"
    )
    updates = (await api("getUpdates"))["result"]
    assert len(updates) == 2
    assert {u["message"]["media_group_id"] for u in updates} == {album[0].data["media_group_id"]}
    assert updates[0]["message"]["caption"] == "two photos"
    file_id = updates[1]["message"]["photo"][-1]["file_id"]
    info = (await api("getFile", file_id=file_id))["result"]
    assert info["file_size"] == len(emulator.people.file_bytes(file_id))


async def test_document_from_a_person(emulator: RunningEmulator, api: ApiCaller) -> None:
    ann = emulator.people.user("Ann")
    sent = await emulator.people.send_document(ann, b"%PDF", "act.pdf", caption="act")
    doc = sent.data["document"]
    assert (doc["file_name"], doc["mime_type"], doc["file_size"]) == (
        "act.pdf",
        "application/pdf",
        4,
    )
    path = (await api("getFile", file_id=doc["file_id"]))["result"]["file_path"]
    assert path.endswith(".pdf")


async def test_groups_members_and_admins(emulator: RunningEmulator, api: ApiCaller) -> None:
    people = emulator.people
    owner = people.user("Olga")
    group = people.group("Backoffice", owner=owner, chat_id=-1001000000001)
    kate = people.user("Kate")
    max_ = people.user("Max")
    await people.join(group, kate, status="administrator")
    await people.join(group, max_)
    member = (await api("getChatMember", chat_id=group.id, user_id=max_.id))["result"]
    assert member["status"] == "member"
    stranger = people.user("Stranger")
    left = (await api("getChatMember", chat_id=group.id, user_id=stranger.id))["result"]
    assert left["status"] == "left"
    admins = (await api("getChatAdministrators", chat_id=group.id))["result"]
    assert {(a["user"]["id"], a["status"]) for a in admins} == {
        (owner.id, "creator"),
        (kate.id, "administrator"),
        (emulator.world.bot.id, "administrator"),
    }
    posted = await people.send(kate, "/take 12", chat=group)
    updates = (await api("getUpdates"))["result"]
    assert updates[-1]["message"]["message_id"] == posted.message_id
    assert updates[-1]["message"]["chat"] == {
        "id": -1001000000001,
        "type": "supergroup",
        "title": "Backoffice",
    }
    with pytest.raises(ValueError, match="not a member"):
        await people.send(stranger, "let me in", chat=group)


async def test_forum_topics_both_sides(emulator: RunningEmulator, api: ApiCaller) -> None:
    people = emulator.people
    kate = people.user("Kate")
    forum = people.group("Desk", forum=True, owner=kate)
    created = (await api("createForumTopic", chat_id=forum.id, name="#12 Ann"))["result"]
    thread = created["message_thread_id"]
    assert created["icon_color"] == 7322096
    card = (
        await api(
            "sendMessage",
            chat_id=forum.id,
            message_thread_id=thread,
            text="card",
            reply_markup={"inline_keyboard": [[{"text": "Take", "callback_data": "t:12"}]]},
        )
    )["result"]
    seen = people.bot_messages(forum, thread=thread)
    assert [m.text for m in seen] == [None, "card"]  # the topic's service message first
    assert button_texts(seen[-1]) == ["Take"]
    answer = await people.send(kate, "on it", chat=forum, thread=thread)
    assert answer.data["message_thread_id"] == thread
    assert (await api("editForumTopic", chat_id=forum.id, message_thread_id=thread, name="#12"))[
        "ok"
    ]
    assert forum.topics[thread].name == "#12"
    assert (await api("closeForumTopic", chat_id=forum.id, message_thread_id=thread))["ok"]
    closed_again = await api("closeForumTopic", chat_id=forum.id, message_thread_id=thread)
    assert closed_again["description"] == "Bad Request: TOPIC_NOT_MODIFIED"
    assert (await api("reopenForumTopic", chat_id=forum.id, message_thread_id=thread))["ok"]
    user_topic = await people.create_topic(forum, "from Kate", user=kate)
    assert user_topic.thread_id > card["message_id"]
    not_forum = people.group("Plain")
    refused = await api("createForumTopic", chat_id=not_forum.id, name="x")
    assert refused["description"] == "Bad Request: the chat is not a forum"
    emulator.take_violations()


async def test_press_errors_are_test_errors(emulator: RunningEmulator, api: ApiCaller) -> None:
    ann = emulator.people.user("Ann")
    await emulator.people.send(ann, "hi")
    await api(
        "sendMessage",
        chat_id=ann.id,
        text="links",
        reply_markup={"inline_keyboard": [[{"text": "Site", "url": "https://example.org"}]]},
    )
    message = emulator.people.last_bot_message(ann)
    assert message is not None
    with pytest.raises(ValueError, match="not a callback button"):
        await emulator.people.press(ann, message, text="Site")
    with pytest.raises(ValueError, match="no button"):
        await emulator.people.press(ann, message, text="Nope")


async def test_callback_answer_only_once_and_in_time(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    ann = emulator.people.user("Ann")
    await emulator.people.send(ann, "hi")
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    await api("sendMessage", chat_id=ann.id, text="pick", reply_markup=markup)
    message = emulator.people.last_bot_message(ann)
    assert message is not None
    first = await emulator.people.press(ann, message, data="a")
    assert (await api("answerCallbackQuery", callback_query_id=first.id))["ok"] is True
    assert first.result == {"text": None, "show_alert": False, "url": None, "cache_time": None}
    assert (await api("answerCallbackQuery", callback_query_id=first.id))["error_code"] == 400
    late = await emulator.people.press(ann, message, data="a")
    emulator.world.clock.advance(16)
    assert (await api("answerCallbackQuery", callback_query_id=late.id))["error_code"] == 400
    with pytest.raises(TimeoutError):
        await late.answer(timeout=0.01)


async def test_commands_per_scope_and_language(emulator: RunningEmulator, api: ApiCaller) -> None:
    commands = [{"command": "start", "description": "Start"}]
    scope = {"type": "chat", "chat_id": -100123}
    assert (await api("setMyCommands", commands=commands, scope=scope, language_code="uk"))["ok"]
    assert (await api("getMyCommands", scope=scope, language_code="uk"))["result"] == commands
    assert (await api("getMyCommands"))["result"] == []
    bad = await api("setMyCommands", commands=[{"command": "Start!", "description": "x"}])
    assert bad["description"] == "Bad Request: BOT_COMMAND_INVALID"
    wrong_scope = await api("setMyCommands", commands=commands, scope={"type": "chat"})
    assert wrong_scope["error_code"] == 400
    assert len(emulator.take_violations()) == 2


async def test_forward_delete_and_chat_action(emulator: RunningEmulator, api: ApiCaller) -> None:
    people = emulator.people
    ann = people.user("Ann")
    group = people.group("Backoffice")
    note = await people.send(ann, "my address is ...")
    forwarded = (
        await api(
            "forwardMessage", chat_id=group.id, from_chat_id=ann.id, message_id=note.message_id
        )
    )["result"]
    assert forwarded["forward_origin"]["sender_user"]["id"] == ann.id
    assert (await api("sendChatAction", chat_id=ann.id, action="typing"))["ok"]
    assert (await api("deleteMessage", chat_id=group.id, message_id=forwarded["message_id"]))["ok"]
    assert people.bot_messages(group) == []
    gone = await api("deleteMessage", chat_id=group.id, message_id=forwarded["message_id"])
    assert gone["description"] == "Bad Request: message to delete not found"


async def test_fixture_check_fails_on_violations() -> None:
    async with run_emulator() as running:
        ann = running.people.user("Ann")
        running.world.private_chat(ann).started = True
        with pytest.raises(Exception, match="message text is empty"):
            await running.server.api.call(running.token, "sendMessage", {"chat_id": ann.id}, {})
    with pytest.raises(pytest.fail.Exception, match="message text is empty"):
        assert_no_violations(running)
    running.allow_violations()
    assert_no_violations(running)
