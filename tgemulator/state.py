"""What Telegram remembers: the bot, people, chats, topics, messages, files and updates."""

from __future__ import annotations

import asyncio
import copy
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from PIL import Image

from .limits import Clock, FaultInjector, RateLimiter, RateLimits
from .schema import Schema, load_schema

T = TypeVar("T")

DEFAULT_TOKEN = "123456:TEST-token"
# Telegram's default when allowed_updates was never given.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
TOPIC_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)


class ApiError(Exception):
    """A non-ok answer; `violation` marks the ones a correct bot never provokes."""

    def __init__(
        self,
        code: int,
        description: str,
        *,
        violation: bool = False,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.violation = violation
        self.retry_after = retry_after


def bad_request(text: str, *, violation: bool = True) -> ApiError:
    return ApiError(400, f"Bad Request: {text}", violation=violation)


@dataclass
class Violation:
    method: str
    description: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        shown = {k: v for k, v in self.params.items() if k not in ("photo", "document")}
        return f"{self.method}: {self.description} (params: {shown!r:.400})"


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    ok: bool
    error: str | None = None


@dataclass
class User:
    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        return data


@dataclass
class Member:
    user_id: int
    status: str  # creator, administrator, member, left, kicked
    can_manage_topics: bool = True
    can_pin_messages: bool = True

    @property
    def present(self) -> bool:
        return self.status in ("creator", "administrator", "member")

    @property
    def is_admin(self) -> bool:
        return self.status in ("creator", "administrator")


@dataclass
class Topic:
    thread_id: int
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    deleted: bool = False

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_thread_id": self.thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            data["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return data


@dataclass
class Chat:
    id: int
    type: str  # private, group, supergroup
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False
    members: dict[int, Member] = field(default_factory=dict)
    topics: dict[int, Topic] = field(default_factory=dict)
    next_message_id: int = 1
    # private chats only: whether the person opened the chat and whether they blocked the bot
    started: bool = False
    blocked: bool = False
    reply_keyboard: dict[str, Any] | None = None

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.first_name or ""
            if self.last_name:
                data["last_name"] = self.last_name
        else:
            data["title"] = self.title or ""
            if self.is_forum:
                data["is_forum"] = True
        if self.username:
            data["username"] = self.username
        return data

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    data: dict[str, Any]
    from_bot: bool
    thread_id: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    # A ForceReply sent with the message: the apps open a reply to it at once.
    force_reply: dict[str, Any] | None = None

    @property
    def text(self) -> str | None:
        value = self.data.get("text", self.data.get("caption"))
        return value if isinstance(value, str) else None

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        markup = self.data.get("reply_markup")
        return markup if isinstance(markup, dict) else None

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.reply_markup or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    kind: str  # photo, document
    file_path: str
    width: int = 0
    height: int = 0
    file_name: str | None = None
    mime_type: str | None = None
    # every size of a photo points to the whole list, so a file_id of any size re-sends it
    photo_sizes: list[dict[str, Any]] | None = None

    def to_api_file(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }

    def to_document(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        return data


@dataclass
class CallbackRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created_at: float
    answered: bool = False
    answer: dict[str, Any] | None = None
    future: asyncio.Future[dict[str, Any]] | None = None


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class World:
    """The whole emulated Telegram; the Bot API and the people's side both act on it."""

    CALLBACK_ANSWER_WINDOW = 15.0

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "ctv_desk_test_bot",
        bot_name: str = "CTV Desk (test)",
        schema: Schema | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.schema = schema or load_schema()
        self.clock = clock or Clock()
        self.limits = RateLimits()
        self.limiter = RateLimiter(self.clock, self.limits)
        self.faults = FaultInjector()
        self.token = token
        bot_id = int(token.split(":", 1)[0])
        self.bot = User(id=bot_id, first_name=bot_name, username=bot_username, is_bot=True)
        self.users: dict[int, User] = {bot_id: self.bot}
        self.chats: dict[int, Chat] = {}
        self.messages: dict[tuple[int, int], StoredMessage] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.bot_texts: dict[tuple[str, str], str] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.violations: list[Violation] = []
        self.calls: list[ApiCall] = []
        self.updates: list[dict[str, Any]] = []
        self.delivered_updates: list[dict[str, Any]] = []
        self.allowed_updates: list[str] | None = None
        self.webhook: WebhookConfig | None = None
        self.poll_generation = 0
        self.closing = False
        self._next_user_id = 700_000_001
        self._next_group_id = 4_000_000_001
        self._next_supergroup_id = 1_000_000_001
        self._next_update_id = 500_000_001
        self._next_file = 1
        self._next_callback = 1
        self._waiters: list[asyncio.Future[None]] = []

    # --- change notification -------------------------------------------------------------

    def notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_change(self, timeout: float | None) -> bool:  # noqa: ASYNC109
        """Sleep until anything changes; False on timeout."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for may swallow a cancellation.
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            return False
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return True

    async def wait_until(
        self,
        probe: Callable[[], T | None],
        timeout: float,  # noqa: ASYNC109
        what: str = "condition",
    ) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = probe()
            if found is not None and found is not False:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            await self.wait_change(remaining)

    # --- records ---------------------------------------------------------------------------

    def record_violation(self, method: str, description: str, params: dict[str, Any]) -> None:
        self.violations.append(Violation(method, description, dict(params)))
        # Watchers (the playground's red banner) learn of it like of any other change.
        self.notify()

    def take_violations(self) -> list[Violation]:
        taken, self.violations = self.violations, []
        return taken

    def now(self) -> int:
        return int(time.time())

    # --- people, chats, files ------------------------------------------------------------

    def new_user(
        self,
        first_name: str = "Test",
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
    ) -> User:
        if user_id is None:
            user_id = self._next_user_id
            self._next_user_id += 1
        user = User(
            id=user_id,
            first_name=first_name,
            username=username,
            last_name=last_name,
            language_code=language_code,
        )
        self.users[user.id] = user
        return user

    def private_chat(self, user: User) -> Chat:
        chat = self.chats.get(user.id)
        if chat is None:
            chat = Chat(
                id=user.id,
                type="private",
                first_name=user.first_name,
                last_name=user.last_name,
                username=user.username,
            )
            self.chats[user.id] = chat
        return chat

    def new_group(
        self,
        title: str,
        *,
        owner: User,
        supergroup: bool = True,
        forum: bool = False,
        chat_id: int | None = None,
        bot_status: str | None = "administrator",
        username: str | None = None,
    ) -> Chat:
        if chat_id is None:
            if supergroup or forum:
                chat_id = -(1_000_000_000_000 + self._next_supergroup_id)
                self._next_supergroup_id += 1
            else:
                chat_id = -self._next_group_id
                self._next_group_id += 1
        if chat_id in self.chats:
            raise ValueError(f"chat {chat_id} exists already")
        chat = Chat(
            id=chat_id,
            type="supergroup" if supergroup or forum else "group",
            title=title,
            is_forum=forum,
            username=username,
        )
        chat.members[owner.id] = Member(owner.id, "creator")
        self.chats[chat_id] = chat
        if bot_status is not None:
            self.set_member(chat, self.bot, bot_status, actor=owner)
        return chat

    def set_member(self, chat: Chat, user: User, status: str, *, actor: User | None = None) -> None:
        old = chat.members.get(user.id, Member(user.id, "left"))
        new = Member(user.id, status)
        chat.members[user.id] = new
        kind = "my_chat_member" if user.id == self.bot.id else "chat_member"
        self.push_update(
            kind,
            {
                "chat": chat.to_api(),
                "from": (actor or user).to_api(),
                "date": self.now(),
                "old_chat_member": self.member_to_api(chat, old),
                "new_chat_member": self.member_to_api(chat, new),
            },
        )

    def member_to_api(self, chat: Chat, member: Member) -> dict[str, Any]:
        user = self.users[member.user_id].to_api()
        if member.status == "creator":
            return {"status": "creator", "user": user, "is_anonymous": False}
        if member.status == "administrator":
            data: dict[str, Any] = {"status": "administrator", "user": user}
            data["can_be_edited"] = False
            data["is_anonymous"] = False
            data.update(dict.fromkeys(ADMIN_RIGHTS, True))
            data["can_send_welcome_messages"] = True
            data["can_pin_messages"] = member.can_pin_messages
            if chat.type == "supergroup":
                data["can_manage_topics"] = member.can_manage_topics
            return data
        if member.status == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        return {"status": member.status, "user": user}

    def member(self, chat: Chat, user_id: int) -> Member:
        if chat.type == "private":
            status = "member"
            if user_id == self.bot.id and chat.blocked:
                status = "kicked"
            return Member(user_id, status)
        return chat.members.get(user_id, Member(user_id, "left"))

    def store_file(
        self,
        data: bytes,
        kind: str,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int = 0,
        height: int = 0,
    ) -> StoredFile:
        seq = self._next_file
        self._next_file += 1
        prefix = "AgACAgIAAxkBAAI" if kind == "photo" else "BQACAgIAAxkBAAI"
        if kind == "photo":
            path = f"photos/file_{seq}.jpg"
        else:
            ext = file_name.rsplit(".", 1)[-1] if file_name and "." in file_name else "bin"
            path = f"documents/file_{seq}.{ext}"
        stored = StoredFile(
            file_id=f"{prefix}{seq:06d}Emu{kind.capitalize()}",
            file_unique_id=f"AQAD{seq:06d}",
            data=data,
            kind=kind,
            file_path=path,
            width=width,
            height=height,
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[path] = stored
        return stored

    def store_photo(self, data: bytes) -> list[dict[str, Any]]:
        """Register an image the way Telegram does: a few smaller sizes plus the original.

        The largest size keeps the original bytes so a download can be compared exactly.
        """
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            width, height = image.size
            thumbs: list[tuple[bytes, int, int]] = []
            for side in (90, 320, 800):
                if max(width, height) <= side:
                    break
                scale = side / max(width, height)
                size = (max(1, round(width * scale)), max(1, round(height * scale)))
                buffer = io.BytesIO()
                image.convert("RGB").resize(size).save(buffer, format="JPEG")
                thumbs.append((buffer.getvalue(), size[0], size[1]))
        thumbs.append((data, width, height))
        stored = [self.store_file(b, "photo", width=w, height=h) for b, w, h in thumbs]
        sizes = [
            {
                "file_id": s.file_id,
                "file_unique_id": s.file_unique_id,
                "file_size": len(s.data),
                "width": s.width,
                "height": s.height,
            }
            for s in stored
        ]
        for s in stored:
            s.photo_sizes = sizes
        return sizes

    # --- messages ----------------------------------------------------------------------

    def add_message(
        self,
        chat: Chat,
        sender: User,
        content: dict[str, Any],
        *,
        thread_id: int | None = None,
        reply_to: StoredMessage | None = None,
        message_id: int | None = None,
    ) -> StoredMessage:
        data: dict[str, Any] = {
            "message_id": message_id or chat.take_message_id(),
            "from": sender.to_api(),
            "date": self.now(),
            "chat": chat.to_api(),
        }
        if thread_id is not None:
            data["message_thread_id"] = thread_id
            data["is_topic_message"] = True
        if reply_to is not None:
            replied = copy.deepcopy(reply_to.data)
            replied.pop("reply_to_message", None)
            data["reply_to_message"] = replied
        data.update(content)
        stored = StoredMessage(
            chat_id=chat.id,
            message_id=data["message_id"],
            data=data,
            from_bot=sender.id == self.bot.id,
            thread_id=thread_id,
        )
        self.messages[(chat.id, stored.message_id)] = stored
        self.notify()
        return stored

    def find_message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        stored = self.messages.get((chat_id, message_id))
        if stored is None or stored.deleted:
            return None
        return stored

    def chat_messages(
        self,
        chat_id: int,
        *,
        thread_id: int | None = None,
        any_thread: bool = True,
        from_bot: bool | None = None,
        include_deleted: bool = False,
    ) -> list[StoredMessage]:
        found = [
            m
            for (cid, _), m in self.messages.items()
            if cid == chat_id
            and (include_deleted or not m.deleted)
            and (from_bot is None or m.from_bot == from_bot)
            and ((any_thread and thread_id is None) or m.thread_id == thread_id)
        ]
        return sorted(found, key=lambda m: m.message_id)

    # --- updates -----------------------------------------------------------------------

    def _accepts(self, kind: str) -> bool:
        allowed = self.webhook.allowed_updates if self.webhook else self.allowed_updates
        if not allowed:
            return kind not in DEFAULT_EXCLUDED_UPDATES
        return kind in allowed

    def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        # Telegram filters when the update is created, not when it is fetched.
        if not self._accepts(kind):
            return None
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        errors = self.schema.check_object(update, "Update", "update")[1]
        if errors:
            # Bots parse updates strictly too; a malformed one would test nothing real.
            self.record_violation(
                kind, f"EMULATOR BUG: update does not match schema: {errors[:3]}", {}
            )
        self.updates.append(update)
        self.notify()
        return update

    def confirm_updates(self, offset: int) -> None:
        if offset < 0:
            keep = -offset
            self.updates = self.updates[-keep:] if keep else []
            return
        self.updates = [u for u in self.updates if u["update_id"] >= offset]

    def new_callback_id(self) -> str:
        seq = self._next_callback
        self._next_callback += 1
        return f"{self.bot.id}{seq:010d}"

    def create_topic(self, chat: Chat, name: str, icon_color: int, creator: User) -> Topic:
        # A topic's id is the id of the service message that opened it, as in Telegram.
        message_id = chat.take_message_id()
        topic = Topic(thread_id=message_id, name=name, icon_color=icon_color)
        chat.topics[message_id] = topic
        self.add_message(
            chat,
            creator,
            {"forum_topic_created": {"name": name, "icon_color": icon_color}},
            thread_id=message_id,
            message_id=message_id,
        )
        return topic
