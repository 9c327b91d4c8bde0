"""The people's side: act as users and see what they see.

`People` works directly on the World; the control HTTP API (server.py) calls the same
methods, so a bot in another process is driven exactly like an in-process one.
"""

from __future__ import annotations

import asyncio
import copy
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from .state import TOPIC_COLORS, CallbackRecord, Chat, StoredMessage, Topic, User, World
from .tghtml import utf16_len

UserRef = User | int
ChatRef = Chat | int
MessagePredicate = Callable[[StoredMessage], bool]
_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


def make_image(
    width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 40, 40), fmt: str = "PNG"
) -> bytes:
    """Real image bytes, so the emulator (and the bot) can read their dimensions."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format=fmt)
    return buffer.getvalue()


def command_entities(text: str) -> list[dict[str, Any]]:
    """bot_command entities as a Telegram app attaches them."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group(0)),
        }
        for match in _COMMAND_RE.finditer(text)
    ]


def button_texts(message: StoredMessage | dict[str, Any]) -> list[str]:
    data = message.data if isinstance(message, StoredMessage) else message
    markup = data.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class CallbackPress:
    """A button press; `answer()` waits for the bot's answerCallbackQuery."""

    id: str
    world: World

    @property
    def answered(self) -> bool:
        return self.world.callbacks[self.id].answered

    @property
    def result(self) -> dict[str, Any] | None:
        return self.world.callbacks[self.id].answer

    # A plain timeout= argument reads better in tests than asyncio.timeout blocks.
    async def answer(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        record = self.world.callbacks[self.id]
        assert record.future is not None
        try:
            return await asyncio.wait_for(asyncio.shield(record.future), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"the bot did not answer callback query {self.id} within {timeout}s"
            ) from None


class People:
    def __init__(self, world: World) -> None:
        self.world = world

    # --- resolving references ----------------------------------------------------------

    def _user(self, user: UserRef) -> User:
        return user if isinstance(user, User) else self.world.users[int(user)]

    def _chat(self, user: User, chat: ChatRef | None) -> Chat:
        if chat is None:
            return self.world.private_chat(user)
        chat_id = chat.id if isinstance(chat, Chat) else int(chat)
        return self.world.chats[chat_id]

    def _chat_id(self, chat: ChatRef | User) -> int:
        return chat.id if isinstance(chat, Chat | User) else int(chat)

    # --- people and places ---------------------------------------------------------------

    def user(
        self,
        first_name: str = "Alice",
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
    ) -> User:
        return self.world.new_user(
            first_name,
            username=username,
            last_name=last_name,
            language_code=language_code,
            user_id=user_id,
        )

    def group(
        self,
        title: str = "Test group",
        *,
        owner: UserRef | None = None,
        supergroup: bool = True,
        forum: bool = False,
        chat_id: int | None = None,
        bot_status: str | None = "administrator",
        username: str | None = None,
    ) -> Chat:
        """A group with its owner and (unless bot_status is None) the bot in it."""
        owner_user = self._user(owner) if owner is not None else self.user("Owner")
        return self.world.new_group(
            title,
            owner=owner_user,
            supergroup=supergroup,
            forum=forum,
            chat_id=chat_id,
            bot_status=bot_status,
            username=username,
        )

    async def join(self, chat: ChatRef, user: UserRef, *, status: str = "member") -> None:
        """Add a person (status member or administrator); a service message announces it."""
        person = self._user(user)
        target = self._chat(person, chat)
        self.world.set_member(target, person, status)
        self._deliver(
            target, self.world.add_message(target, person, {"new_chat_members": [person.to_api()]})
        )

    async def leave(self, chat: ChatRef, user: UserRef) -> None:
        person = self._user(user)
        target = self._chat(person, chat)
        self.world.set_member(target, person, "left")
        self._deliver(
            target, self.world.add_message(target, person, {"left_chat_member": person.to_api()})
        )

    async def create_topic(
        self, chat: ChatRef, name: str, *, user: UserRef, icon_color: int = TOPIC_COLORS[1]
    ) -> Topic:
        person = self._user(user)
        target = self._chat(person, chat)
        if not target.is_forum:
            raise ValueError(f"chat {target.id} is not a forum")
        topic = self.world.create_topic(target, name, icon_color, person)
        self._deliver(target, self.world.messages[(target.id, topic.thread_id)])
        return topic

    async def block(self, user: UserRef) -> None:
        """The person blocks the bot; sends to them answer 403 from now on."""
        await self._set_blocked(self._user(user), True)

    async def unblock(self, user: UserRef) -> None:
        await self._set_blocked(self._user(user), False)

    async def _set_blocked(self, person: User, blocked: bool) -> None:
        chat = self.world.private_chat(person)
        if chat.blocked == blocked:
            return
        chat.blocked = blocked
        bot = self.world.bot.to_api()
        before = {"status": "member", "user": bot}
        after = {"status": "kicked", "user": bot, "until_date": 0}
        old, new = (before, after) if blocked else (after, before)
        self.world.push_update(
            "my_chat_member",
            {
                "chat": chat.to_api(),
                "from": person.to_api(),
                "date": self.world.now(),
                "old_chat_member": old,
                "new_chat_member": new,
            },
        )

    # --- sending -----------------------------------------------------------------------

    def _prepare(
        self, person: User, chat: ChatRef | None, thread: Topic | int | None
    ) -> tuple[Chat, int | None]:
        target = self._chat(person, chat)
        if target.type == "private":
            if target.blocked:
                raise ValueError(f"user {person.id} blocked the bot; call unblock() first")
            target.started = True
        elif not self.world.member(target, person.id).present:
            raise ValueError(f"user {person.id} is not a member of chat {target.id}")
        thread_id = thread.thread_id if isinstance(thread, Topic) else thread
        if thread_id is not None:
            topic = target.topics.get(thread_id)
            if topic is None or topic.deleted:
                raise ValueError(f"topic {thread_id} does not exist in chat {target.id}")
            if topic.closed and not self.world.member(target, person.id).is_admin:
                raise ValueError(f"topic {thread_id} is closed")
        return target, thread_id

    def _deliver(self, chat: Chat, message: StoredMessage, kind: str = "message") -> None:
        if chat.type != "private" and not self.world.member(chat, self.world.bot.id).present:
            return
        self.world.push_update(kind, copy.deepcopy(message.data))

    def _reply(self, chat: Chat, reply_to: StoredMessage | int | None) -> StoredMessage | None:
        if reply_to is None:
            return None
        message_id = reply_to.message_id if isinstance(reply_to, StoredMessage) else reply_to
        found = self.world.find_message(chat.id, message_id)
        if found is None:
            raise ValueError(f"message {message_id} not found in chat {chat.id}")
        return found

    async def send(
        self,
        user: UserRef,
        text: str,
        *,
        chat: ChatRef | None = None,
        thread: Topic | int | None = None,
        reply_to: StoredMessage | int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> StoredMessage:
        """Send text (to the bot's private chat unless `chat` is given)."""
        person = self._user(user)
        target, thread_id = self._prepare(person, chat, thread)
        content: dict[str, Any] = {"text": text}
        found_entities = command_entities(text) if entities is None else entities
        if found_entities:
            content["entities"] = found_entities
        message = self.world.add_message(
            target, person, content, thread_id=thread_id, reply_to=self._reply(target, reply_to)
        )
        self._deliver(target, message)
        return message

    async def send_content(
        self,
        user: UserRef,
        content: dict[str, Any],
        *,
        chat: ChatRef | None = None,
        thread: Topic | int | None = None,
        reply_to: StoredMessage | int | None = None,
    ) -> StoredMessage:
        """Send a message of any other kind, its fields as the Bot API names them
        (``{"sticker": {...}}``, ``{"location": {...}}``, ``{"dice": {...}}``…)."""
        person = self._user(user)
        target, thread_id = self._prepare(person, chat, thread)
        message = self.world.add_message(
            target,
            person,
            dict(content),
            thread_id=thread_id,
            reply_to=self._reply(target, reply_to),
        )
        self._deliver(target, message)
        return message

    async def command(
        self, user: UserRef, command: str, args: str = "", **kwargs: Any
    ) -> StoredMessage:
        text = "/" + command.lstrip("/") + (f" {args}" if args else "")
        return await self.send(user, text, **kwargs)

    def _media_content(
        self, kind: str, data: bytes, file_name: str | None, mime_type: str | None
    ) -> dict[str, Any]:
        if kind == "photo":
            return {"photo": self.world.store_photo(data)}
        stored = self.world.store_file(data, "document", file_name=file_name, mime_type=mime_type)
        return {"document": stored.to_document()}

    async def send_photo(
        self,
        user: UserRef,
        image: bytes | None = None,
        *,
        caption: str | None = None,
        chat: ChatRef | None = None,
        thread: Topic | int | None = None,
        reply_to: StoredMessage | int | None = None,
    ) -> StoredMessage:
        person = self._user(user)
        target, thread_id = self._prepare(person, chat, thread)
        content = self._media_content("photo", image or make_image(), None, None)
        if caption:
            content["caption"] = caption
        message = self.world.add_message(
            target, person, content, thread_id=thread_id, reply_to=self._reply(target, reply_to)
        )
        self._deliver(target, message)
        return message

    async def send_document(
        self,
        user: UserRef,
        data: bytes,
        file_name: str = "file.pdf",
        *,
        mime_type: str = "application/pdf",
        caption: str | None = None,
        chat: ChatRef | None = None,
        thread: Topic | int | None = None,
        reply_to: StoredMessage | int | None = None,
    ) -> StoredMessage:
        person = self._user(user)
        target, thread_id = self._prepare(person, chat, thread)
        content = self._media_content("document", data, file_name, mime_type)
        if caption:
            content["caption"] = caption
        message = self.world.add_message(
            target, person, content, thread_id=thread_id, reply_to=self._reply(target, reply_to)
        )
        self._deliver(target, message)
        return message

    async def send_album(
        self,
        user: UserRef,
        images: list[bytes],
        *,
        caption: str | None = None,
        chat: ChatRef | None = None,
        thread: Topic | int | None = None,
        reply_to: StoredMessage | int | None = None,
    ) -> list[StoredMessage]:
        """Several photos sharing a media_group_id: one update per photo, as Telegram does.

        With ``reply_to`` every item replies to that message, as Telegram sends them.
        """
        if not 2 <= len(images) <= 10:
            raise ValueError("an album holds 2-10 items")
        person = self._user(user)
        target, thread_id = self._prepare(person, chat, thread)
        group_id = f"{14_000_000_000_000_000 + len(self.world.messages)}"
        sent = []
        for index, image in enumerate(images):
            content = self._media_content("photo", image, None, None)
            content["media_group_id"] = group_id
            if caption and index == 0:
                content["caption"] = caption
            message = self.world.add_message(
                target, person, content, thread_id=thread_id, reply_to=self._reply(target, reply_to)
            )
            self._deliver(target, message)
            sent.append(message)
        return sent

    async def edit(self, user: UserRef, message: StoredMessage, text: str) -> StoredMessage:
        """Edit one's own message: its text, or its caption when it is a photo or a file."""
        person = self._user(user)
        if message.data.get("from", {}).get("id") != person.id:
            raise ValueError("people can only edit their own messages")
        message.history.append(copy.deepcopy(message.data))
        # A photo or a file is edited in its caption, as Telegram's apps do.
        field = "text" if "text" in message.data else "caption"
        entities_field = "entities" if field == "text" else "caption_entities"
        message.data[field] = text
        message.data.pop(entities_field, None)
        found_entities = command_entities(text)
        if found_entities:
            message.data[entities_field] = found_entities
        message.data["edit_date"] = self.world.now()
        self.world.notify()
        self._deliver(self.world.chats[message.chat_id], message, "edited_message")
        return message

    async def press(
        self,
        user: UserRef,
        message: StoredMessage,
        *,
        text: str | None = None,
        data: str | None = None,
    ) -> CallbackPress:
        """Press an inline button (found by its label or its callback_data)."""
        person = self._user(user)
        current = self.world.find_message(message.chat_id, message.message_id)
        if current is None:
            raise ValueError("the message is gone")
        buttons = current.buttons
        chosen = [
            b
            for b in buttons
            if (text is None or b["text"] == text)
            and (data is None or b.get("callback_data") == data)
        ]
        if not chosen:
            shown = [(b["text"], b.get("callback_data")) for b in buttons]
            raise ValueError(f"no button text={text!r} data={data!r}; the message has {shown}")
        button = chosen[0]
        if "callback_data" not in button:
            raise ValueError(f"button {button['text']!r} is not a callback button")
        return self._press(person, current, button["callback_data"])

    async def press_forged(self, user: UserRef, message: StoredMessage, data: str) -> CallbackPress:
        """A press carrying ``data`` that no button of the message has: what a modified
        client, or an old keyboard from another version of the bot, can send."""
        person = self._user(user)
        current = self.world.find_message(message.chat_id, message.message_id)
        if current is None:
            raise ValueError("the message is gone")
        return self._press(person, current, data)

    def _press(self, person: User, current: StoredMessage, data: str) -> CallbackPress:
        world = self.world
        record = CallbackRecord(
            id=world.new_callback_id(),
            user_id=person.id,
            chat_id=current.chat_id,
            message_id=current.message_id,
            data=data,
            created_at=world.clock.now(),
            future=asyncio.get_running_loop().create_future(),
        )
        world.callbacks[record.id] = record
        world.push_update(
            "callback_query",
            {
                "id": record.id,
                "from": person.to_api(),
                "message": copy.deepcopy(current.data),
                "chat_instance": str(abs(hash((current.chat_id, world.bot.id)))),
                "data": record.data,
            },
        )
        return CallbackPress(record.id, world)

    # --- seeing ------------------------------------------------------------------------

    def messages(
        self,
        chat: ChatRef | User,
        *,
        thread: Topic | int | None = None,
        from_bot: bool | None = None,
        include_deleted: bool = False,
    ) -> list[StoredMessage]:
        """Messages of a chat, oldest first; `thread` narrows to one forum topic."""
        thread_id = thread.thread_id if isinstance(thread, Topic) else thread
        return self.world.chat_messages(
            self._chat_id(chat),
            thread_id=thread_id,
            from_bot=from_bot,
            include_deleted=include_deleted,
        )

    def bot_messages(
        self, chat: ChatRef | User, *, thread: Topic | int | None = None
    ) -> list[StoredMessage]:
        return self.messages(chat, thread=thread, from_bot=True)

    def last_bot_message(
        self, chat: ChatRef | User, *, thread: Topic | int | None = None
    ) -> StoredMessage | None:
        found = self.bot_messages(chat, thread=thread)
        return found[-1] if found else None

    def callback_answer(self, callback_id: str) -> dict[str, Any] | None:
        return self.world.callbacks[callback_id].answer

    def file_bytes(self, file_id: str) -> bytes:
        return self.world.files[file_id].data

    def violations(self) -> list[str]:
        return [str(v) for v in self.world.violations]

    async def wait_for_message(
        self,
        chat: ChatRef | User,
        predicate: MessagePredicate | None = None,
        *,
        thread: Topic | int | None = None,
        from_bot: bool | None = True,
        after: StoredMessage | int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> StoredMessage:
        """The first message (by default from the bot) matching `predicate`.

        `after` skips messages up to that id, so a test can wait for the next answer.
        """
        floor = after.message_id if isinstance(after, StoredMessage) else (after or 0)

        def probe() -> StoredMessage | None:
            for message in self.messages(chat, thread=thread, from_bot=from_bot):
                if message.message_id > floor and (predicate is None or predicate(message)):
                    return message
            return None

        return await self.world.wait_until(probe, timeout, f"a message in chat {chat!r}")

    async def wait_for(
        self,
        probe: Callable[[], Any],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> Any:
        """Wait until `probe()` returns something truthy (re-checked on every change)."""
        return await self.world.wait_until(probe, timeout, what)
