"""The Bot API methods: validation against the schema, then the effect on the World."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from .schema import MethodSpec, UploadedFile
from .state import (
    TOPIC_COLORS,
    ApiCall,
    ApiError,
    CallbackRecord,
    Chat,
    StoredFile,
    StoredMessage,
    WebhookConfig,
    World,
    bad_request,
)
from .tghtml import HtmlParseError, parse_html, strip_text, utf16_len

Params = dict[str, Any]
Handler = Callable[[Params], Awaitable[Any]]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_DOWNLOAD = 20 * 1024 * 1024
BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
MISSING_WORDING = {
    "text": "message text is empty",
    "chat_id": "chat_id is empty",
    "photo": "there is no photo in the request",
    "document": "there is no document in the request",
    "media": "there are no media in the request",
}
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


class BotApi:
    def __init__(self, world: World) -> None:
        self.world = world
        self.handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "logOut": self.just_true,
            "close": self.just_true,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "sendMediaGroup": self.send_media_group,
            "copyMessage": self.copy_message,
            "forwardMessage": self.forward_message,
            "sendChatAction": self.send_chat_action,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "answerCallbackQuery": self.answer_callback_query,
            "getFile": self.get_file,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatAdministrators": self.get_chat_administrators,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setMyDescription": self.set_bot_text("description"),
            "setMyShortDescription": self.set_bot_text("short_description"),
            "setMyName": self.set_bot_text("name"),
            "createForumTopic": self.create_forum_topic,
            "editForumTopic": self.edit_forum_topic,
            "closeForumTopic": self.close_forum_topic,
            "reopenForumTopic": self.reopen_forum_topic,
            "deleteForumTopic": self.delete_forum_topic,
        }

    # --- entry point -------------------------------------------------------------------

    async def call(
        self,
        token: str,
        method_name: str,
        raw: Params,
        files: dict[str, UploadedFile],
    ) -> Any:
        """Run one call; violations are recorded here so every transport shares the rule."""
        world = self.world
        try:
            if token != world.token:
                raise ApiError(401, "Unauthorized", violation=True)
            method = world.schema.canonical_method(method_name)
            if method is None:
                raise ApiError(404, "Not Found", violation=True)
            params = self.validate(world.schema.methods[method], raw, files)
            handler = self.handlers.get(method)
            if handler is None:
                raise bad_request("method not supported by the emulator")
            result = await handler(params)
            self._self_check(method, result, raw)
        except ApiError as error:
            world.calls.append(ApiCall(method_name, raw, ok=False, error=error.description))
            if error.violation:
                world.record_violation(method_name, error.description, raw)
            raise
        world.calls.append(ApiCall(method_name, raw, ok=True))
        return result

    def validate(self, spec: MethodSpec, raw: Params, files: dict[str, UploadedFile]) -> Params:
        schema = self.world.schema
        params: Params = {}
        for name, upload in files.items():
            # A file part named after a parameter is that parameter's value.
            if name in spec.fields and name not in raw:
                raw[name] = upload
        for name, value in raw.items():
            field_spec = spec.fields.get(name)
            if field_spec is None:
                raise bad_request(f'unknown parameter "{name}" for method {spec.name}')
            if isinstance(value, str) and value.startswith("attach://"):
                attached = files.get(value[len("attach://") :])
                if "InputFile" in field_spec.types:
                    if attached is None:
                        raise bad_request(f'can\'t find attached file "{value}"')
                    value = attached
            converted, errors = schema.check_value(value, field_spec.types, name)
            if errors:
                raise bad_request(f"can't parse {name}: {errors[0]}")
            params[name] = converted
        params["_attachments"] = files
        for name, field_spec in spec.fields.items():
            if field_spec.required and name not in params:
                raise bad_request(MISSING_WORDING.get(name, f'parameter "{name}" is required'))
        return params

    def _self_check(self, method: str, result: Any, raw: Params) -> None:
        """The emulator's own answers must match the schema, or tests prove nothing."""
        returns = self.world.schema.methods[method].returns
        errors = self.world.schema.check_value(result, returns, "result")[1]
        if errors:
            self.world.record_violation(
                method, f"EMULATOR BUG: answer does not match schema: {errors[:3]}", raw
            )

    # --- helpers -----------------------------------------------------------------------

    def chat_for_send(self, chat_id: Any) -> Chat:
        world = self.world
        chat = self.lookup_chat(chat_id)
        if chat.type == "private":
            if chat.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not chat.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        else:
            if not world.member(chat, world.bot.id).present:
                kind = "supergroup" if chat.type == "supergroup" else "group"
                raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        return chat

    def lookup_chat(self, chat_id: Any) -> Chat:
        world = self.world
        if isinstance(chat_id, str):
            name = chat_id.lstrip("@").lower()
            for chat in world.chats.values():
                if chat.username and chat.username.lower() == name:
                    return chat
            raise bad_request("chat not found", violation=False)
        found = world.chats.get(int(chat_id))
        user = world.users.get(int(chat_id))
        if found is None and user is not None and not user.is_bot:
            # Telegram knows every user's private chat, opened or not.
            found = world.private_chat(user)
        if found is None:
            raise bad_request("chat not found", violation=False)
        if found.type != "private" and world.bot.id not in found.members:
            # A group the bot was never in is invisible to it, as on Telegram.
            raise bad_request("chat not found", violation=False)
        return found

    def chat_with_bot(self, chat_id: Any) -> Chat:
        """A chat the bot reads from: groups it left or was removed from look absent."""
        chat = self.lookup_chat(chat_id)
        if chat.type != "private" and not self.world.member(chat, self.world.bot.id).present:
            raise bad_request("chat not found", violation=False)
        return chat

    def thread_for_send(self, chat: Chat, params: Params) -> int | None:
        thread_id = params.get("message_thread_id")
        if thread_id is None:
            return None
        if not chat.is_forum:
            raise bad_request("message thread not found", violation=False)
        topic = chat.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise bad_request("message thread not found", violation=False)
        if topic.closed and not self.world.member(chat, self.world.bot.id).is_admin:
            raise bad_request("TOPIC_CLOSED", violation=False)
        return int(thread_id)

    def flood_check(self, method: str, chat: Chat) -> None:
        retry_after = self.world.limiter.check(method, chat.id, chat.is_group)
        if retry_after is not None:
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )

    def formatted(
        self,
        text: str | None,
        parse_mode: str | None,
        entities: list[dict[str, Any]] | None,
        *,
        caption: bool,
    ) -> tuple[str, list[dict[str, Any]]]:
        limit = MAX_CAPTION if caption else MAX_TEXT
        text = text or ""
        parsed_entities: list[dict[str, Any]] = list(entities or [])
        mode = (parse_mode or "").lower()
        if entities is None and mode == "html":
            try:
                text, parsed_entities = parse_html(text)
            except HtmlParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        elif mode not in ("", "html", "markdown", "markdownv2"):
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
        for entity in parsed_entities:
            if entity["offset"] + entity["length"] > utf16_len(text):
                raise bad_request(
                    "can't parse entities: entity ends after the end of the text", violation=True
                )
        text, parsed_entities = strip_text(text, parsed_entities)
        if not caption and not text:
            raise bad_request("message text is empty")
        if len(text) > limit:
            raise bad_request("message caption is too long" if caption else "message is too long")
        return text, parsed_entities

    def check_markup(self, markup: dict[str, Any] | None) -> None:
        if not markup or "inline_keyboard" not in markup:
            return
        for row in markup["inline_keyboard"]:
            for button in row:
                actions = [a for a in BUTTON_ACTIONS if a in button]
                if not actions:
                    raise bad_request(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
                if len(actions) > 1:
                    raise bad_request(
                        "can't parse inline keyboard button: exactly one of "
                        f"{', '.join(actions)} must be used"
                    )
                if "callback_data" in button:
                    size = len(button["callback_data"].encode("utf-8"))
                    if not 1 <= size <= MAX_CALLBACK_DATA:
                        raise bad_request("BUTTON_DATA_INVALID")
                if "url" in button and not re.match(r"(https?|tg)://", button["url"]):
                    raise bad_request("BUTTON_URL_INVALID")
                if not button["text"]:
                    raise bad_request("BUTTON_TEXT_INVALID")

    def apply_reply_markup(self, chat: Chat, content: dict[str, Any], params: Params) -> None:
        markup = params.get("reply_markup")
        self.check_markup(markup)
        if not markup:
            return
        if "inline_keyboard" in markup:
            if markup["inline_keyboard"]:
                content["reply_markup"] = markup
        elif "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup.get("remove_keyboard"):
            chat.reply_keyboard = None

    def reply_target(self, chat: Chat, params: Params) -> StoredMessage | None:
        reply = params.get("reply_parameters")
        if not reply:
            return None
        target_chat = chat
        if "chat_id" in reply:
            target_chat = self.lookup_chat(reply["chat_id"])
        found = self.world.find_message(target_chat.id, reply["message_id"])
        if found is None and not reply.get("allow_sending_without_reply"):
            raise bad_request("message to be replied not found", violation=False)
        return found

    def media_file(self, value: Any, kind: str) -> tuple[StoredFile | None, list[dict[str, Any]]]:
        """Resolve an InputFile or file_id into a stored file (and photo sizes)."""
        world = self.world
        if isinstance(value, UploadedFile):
            if kind == "photo":
                try:
                    sizes = world.store_photo(value.data)
                except Exception:
                    raise bad_request("IMAGE_PROCESS_FAILED") from None
                return world.files[sizes[-1]["file_id"]], sizes
            stored = world.store_file(
                value.data,
                "document",
                file_name=value.filename,
                mime_type=value.content_type or "application/octet-stream",
            )
            return stored, []
        found = world.files.get(str(value))
        if found is None:
            if str(value).startswith(("http://", "https://")):
                raise bad_request("the emulator cannot fetch files by URL")
            raise bad_request("wrong file identifier/HTTP URL specified")
        if found.kind != kind:
            raise bad_request(
                f"can't use file of type {found.kind.capitalize()} as {kind.capitalize()}"
            )
        return found, list(found.photo_sizes or [])

    def media_content(self, stored: StoredFile, sizes: list[dict[str, Any]]) -> dict[str, Any]:
        if stored.kind == "photo":
            return {"photo": copy.deepcopy(sizes)}
        return {"document": stored.to_document()}

    def finish_send(
        self,
        chat: Chat,
        content: dict[str, Any],
        params: Params,
        *,
        thread_id: int | None,
        reply_to: StoredMessage | None,
    ) -> dict[str, Any]:
        self.apply_reply_markup(chat, content, params)
        stored = self.world.add_message(
            chat, self.world.bot, content, thread_id=thread_id, reply_to=reply_to
        )
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("force_reply"):
            # Not part of the Message Telegram returns, but the apps act on it.
            stored.force_reply = markup
        return copy.deepcopy(stored.data)

    def caption_content(self, params: Params, key: str = "caption") -> dict[str, Any]:
        if key not in params:
            return {}
        caption, entities = self.formatted(
            params.get(key),
            params.get("parse_mode"),
            params.get(f"{key}_entities") or params.get("caption_entities"),
            caption=True,
        )
        content: dict[str, Any] = {}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return content

    # --- methods -----------------------------------------------------------------------

    async def just_true(self, params: Params) -> bool:
        return True

    async def get_me(self, params: Params) -> dict[str, Any]:
        data = self.world.bot.to_api()
        data.update(
            can_join_groups=True,
            can_read_all_group_messages=True,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return data

    async def get_updates(self, params: Params) -> list[dict[str, Any]]:
        world = self.world
        if world.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        if "allowed_updates" in params:
            world.allowed_updates = list(params["allowed_updates"])
        if "offset" in params:
            world.confirm_updates(int(params["offset"]))
        limit = int(params.get("limit", 100))
        if not 1 <= limit <= 100:
            limit = 100
        timeout = float(params.get("timeout", 0))
        world.poll_generation += 1
        generation = world.poll_generation
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not world.updates and not world.closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await world.wait_change(remaining)
            if world.poll_generation != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )
        batch = copy.deepcopy(world.updates[:limit])
        world.delivered_updates.extend(batch)
        return batch

    async def set_webhook(self, params: Params) -> bool:
        world = self.world
        url = params["url"]
        if not url:
            world.webhook = None
            world.notify()
            return True
        if not re.match(r"https?://", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not SECRET_RE.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            world.updates.clear()
        allowed = params.get("allowed_updates")
        world.webhook = WebhookConfig(
            url=url,
            secret_token=secret,
            max_connections=int(params.get("max_connections", 40)),
            allowed_updates=list(allowed) if allowed is not None else world.allowed_updates,
        )
        if allowed is not None:
            world.allowed_updates = list(allowed)
        world.notify()
        return True

    async def delete_webhook(self, params: Params) -> bool:
        world = self.world
        world.webhook = None
        if params.get("drop_pending_updates"):
            world.updates.clear()
        world.notify()
        return True

    async def get_webhook_info(self, params: Params) -> dict[str, Any]:
        world = self.world
        hook = world.webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(world.updates),
        }
        if hook:
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message or ""
        return info

    async def send_message(self, params: Params) -> dict[str, Any]:
        text, entities = self.formatted(
            params["text"], params.get("parse_mode"), params.get("entities"), caption=False
        )
        self.check_markup(params.get("reply_markup"))
        chat = self.chat_for_send(params["chat_id"])
        thread_id = self.thread_for_send(chat, params)
        reply_to = self.reply_target(chat, params)
        self.flood_check("sendMessage", chat)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        return self.finish_send(chat, content, params, thread_id=thread_id, reply_to=reply_to)

    async def _send_media(self, method: str, kind: str, params: Params) -> dict[str, Any]:
        caption = self.caption_content(params)
        self.check_markup(params.get("reply_markup"))
        chat = self.chat_for_send(params["chat_id"])
        thread_id = self.thread_for_send(chat, params)
        reply_to = self.reply_target(chat, params)
        stored, sizes = self.media_file(params[kind], kind)
        assert stored is not None
        self.flood_check(method, chat)
        content = self.media_content(stored, sizes)
        content.update(caption)
        return self.finish_send(chat, content, params, thread_id=thread_id, reply_to=reply_to)

    async def send_photo(self, params: Params) -> dict[str, Any]:
        return await self._send_media("sendPhoto", "photo", params)

    async def send_document(self, params: Params) -> dict[str, Any]:
        return await self._send_media("sendDocument", "document", params)

    async def send_media_group(self, params: Params) -> list[dict[str, Any]]:
        media = params["media"]
        if not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media in the album: must include 2-10 items")
        kinds = {item["type"] for item in media}
        if len(kinds) > 1 and ("document" in kinds or "audio" in kinds):
            raise bad_request(f"{sorted(kinds)[0]} can't be mixed with other media types")
        if not kinds <= {"photo", "document"}:
            raise bad_request("method not supported by the emulator: media type " + str(kinds))
        captions = [self.caption_content(item) for item in media]
        sources: list[Any] = []
        for item in media:
            value: Any = item["media"]
            if isinstance(value, str) and value.startswith("attach://"):
                value = params["_attachments"].get(value[len("attach://") :])
                if value is None:
                    raise bad_request(f'can\'t find attached file "{item["media"]}"')
            sources.append(value)
        chat = self.chat_for_send(params["chat_id"])
        thread_id = self.thread_for_send(chat, params)
        reply_to = self.reply_target(chat, params)
        self.flood_check("sendMediaGroup", chat)
        resolved = [
            self.media_file(value, item["type"]) for value, item in zip(sources, media, strict=True)
        ]
        group_id = f"{13_000_000_000_000_000 + len(self.world.messages)}"
        results = []
        for (stored, sizes), caption in zip(resolved, captions, strict=True):
            assert stored is not None
            content = self.media_content(stored, sizes)
            content.update(caption)
            content["media_group_id"] = group_id
            results.append(
                self.finish_send(chat, content, {}, thread_id=thread_id, reply_to=reply_to)
            )
        return results

    async def copy_message(self, params: Params) -> dict[str, Any]:
        source_chat = self.lookup_chat(params["from_chat_id"])
        source = self.world.find_message(source_chat.id, params["message_id"])
        if source is None:
            raise bad_request("message to copy not found", violation=False)
        content = {
            k: copy.deepcopy(v)
            for k, v in source.data.items()
            if k in ("text", "entities", "photo", "document", "caption", "caption_entities")
        }
        if not content:
            raise bad_request("message can't be copied")
        if "caption" in params:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content.update(self.caption_content(params))
        self.check_markup(params.get("reply_markup"))
        chat = self.chat_for_send(params["chat_id"])
        thread_id = self.thread_for_send(chat, params)
        reply_to = self.reply_target(chat, params)
        self.flood_check("copyMessage", chat)
        sent = self.finish_send(chat, content, params, thread_id=thread_id, reply_to=reply_to)
        return {"message_id": sent["message_id"]}

    async def forward_message(self, params: Params) -> dict[str, Any]:
        source_chat = self.lookup_chat(params["from_chat_id"])
        source = self.world.find_message(source_chat.id, params["message_id"])
        if source is None:
            raise bad_request("message to forward not found", violation=False)
        chat = self.chat_for_send(params["chat_id"])
        thread_id = self.thread_for_send(chat, params)
        self.flood_check("forwardMessage", chat)
        content = {
            k: copy.deepcopy(v)
            for k, v in source.data.items()
            if k in ("text", "entities", "photo", "document", "caption", "caption_entities")
        }
        content["forward_origin"] = {
            "type": "user",
            "date": source.data["date"],
            "sender_user": copy.deepcopy(source.data["from"]),
        }
        return self.finish_send(chat, content, {}, thread_id=thread_id, reply_to=None)

    async def send_chat_action(self, params: Params) -> bool:
        if params["action"] not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat = self.chat_for_send(params["chat_id"])
        self.thread_for_send(chat, params)
        self.world.chat_actions.append((chat.id, params["action"]))
        return True

    def message_to_edit(self, params: Params) -> tuple[Chat, StoredMessage]:
        if "inline_message_id" in params:
            raise bad_request("method not supported by the emulator: inline messages")
        if "chat_id" not in params or "message_id" not in params:
            raise bad_request("message identifier is not specified")
        chat = self.lookup_chat(params["chat_id"])
        stored = self.world.find_message(chat.id, params["message_id"])
        if stored is None:
            raise bad_request("message to edit not found", violation=False)
        if not stored.from_bot:
            raise bad_request("message can't be edited")
        if chat.type == "private" and chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat, stored

    def commit_edit(
        self, method: str, chat: Chat, stored: StoredMessage, new: dict[str, Any]
    ) -> dict[str, Any]:
        self.flood_check(method, chat)
        stored.history.append(copy.deepcopy(stored.data))
        new["edit_date"] = self.world.now()
        stored.data = new
        self.world.notify()
        return copy.deepcopy(new)

    def _with_markup(self, data: dict[str, Any], params: Params) -> dict[str, Any]:
        # Telegram drops the inline keyboard when an edit does not repeat it.
        markup = params.get("reply_markup")
        self.check_markup(markup)
        data.pop("reply_markup", None)
        if markup and markup.get("inline_keyboard"):
            data["reply_markup"] = markup
        return data

    def _comparable(self, stored: StoredMessage) -> dict[str, Any]:
        data = copy.deepcopy(stored.data)
        data.pop("edit_date", None)
        return data

    async def edit_message_text(self, params: Params) -> dict[str, Any]:
        if "text" not in params:
            raise bad_request("message text is empty")
        text, entities = self.formatted(
            params["text"], params.get("parse_mode"), params.get("entities"), caption=False
        )
        chat, stored = self.message_to_edit(params)
        if "text" not in stored.data:
            raise bad_request("there is no text in the message to edit")
        new = self._comparable(stored)
        new["text"] = text
        new.pop("entities", None)
        if entities:
            new["entities"] = entities
        self._with_markup(new, params)
        if new == self._comparable(stored):
            raise bad_request(NOT_MODIFIED, violation=False)
        return self.commit_edit("editMessageText", chat, stored, new)

    async def edit_message_caption(self, params: Params) -> dict[str, Any]:
        caption = self.caption_content({**params, "caption": params.get("caption", "")})
        chat, stored = self.message_to_edit(params)
        if not any(k in stored.data for k in ("photo", "document")):
            raise bad_request("there is no caption in the message to edit")
        new = self._comparable(stored)
        new.pop("caption", None)
        new.pop("caption_entities", None)
        new.update(caption)
        self._with_markup(new, params)
        if new == self._comparable(stored):
            raise bad_request(NOT_MODIFIED, violation=False)
        return self.commit_edit("editMessageCaption", chat, stored, new)

    async def edit_message_reply_markup(self, params: Params) -> dict[str, Any]:
        chat, stored = self.message_to_edit(params)
        new = self._with_markup(self._comparable(stored), params)
        if new == self._comparable(stored):
            raise bad_request(NOT_MODIFIED, violation=False)
        return self.commit_edit("editMessageReplyMarkup", chat, stored, new)

    def _delete(self, chat: Chat, message_id: int) -> None:
        stored = self.world.find_message(chat.id, message_id)
        if stored is None:
            raise bad_request("message to delete not found", violation=False)
        bot_member = self.world.member(chat, self.world.bot.id)
        if not stored.from_bot and chat.is_group and not bot_member.is_admin:
            raise bad_request("message can't be deleted", violation=False)
        stored.deleted = True

    async def delete_message(self, params: Params) -> bool:
        chat = self.lookup_chat(params["chat_id"])
        self._delete(chat, params["message_id"])
        self.world.notify()
        return True

    async def delete_messages(self, params: Params) -> bool:
        chat = self.lookup_chat(params["chat_id"])
        ids = params["message_ids"]
        if not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must include 1-100 identifiers")
        for message_id in ids:
            if self.world.find_message(chat.id, message_id) is not None:
                self._delete(chat, message_id)
        self.world.notify()
        return True

    async def answer_callback_query(self, params: Params) -> bool:
        world = self.world
        record: CallbackRecord | None = world.callbacks.get(params["callback_query_id"])
        if (
            record is None
            or record.answered
            or world.clock.now() - record.created_at > world.CALLBACK_ANSWER_WINDOW
        ):
            raise bad_request(QUERY_TOO_OLD, violation=False)
        text = params.get("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answered = True
        record.answer = {
            "text": text,
            "show_alert": bool(params.get("show_alert", False)),
            "url": params.get("url"),
            "cache_time": params.get("cache_time"),
        }
        if record.future is not None and not record.future.done():
            record.future.set_result(record.answer)
        world.notify()
        return True

    async def get_file(self, params: Params) -> dict[str, Any]:
        stored = self.world.files.get(params["file_id"])
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise bad_request("file is too big", violation=False)
        return stored.to_api_file()

    async def get_chat(self, params: Params) -> dict[str, Any]:
        chat = self.chat_with_bot(params["chat_id"])
        data = chat.to_api()
        data.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return data

    async def get_chat_member(self, params: Params) -> dict[str, Any]:
        chat = self.chat_with_bot(params["chat_id"])
        user_id = params["user_id"]
        if user_id not in self.world.users:
            raise bad_request("user not found", violation=False)
        return self.world.member_to_api(chat, self.world.member(chat, user_id))

    async def get_chat_administrators(self, params: Params) -> list[dict[str, Any]]:
        chat = self.chat_with_bot(params["chat_id"])
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        return [
            self.world.member_to_api(chat, member)
            for member in chat.members.values()
            if member.is_admin
        ]

    def _command_key(self, params: Params) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code", "")

    async def set_my_commands(self, params: Params) -> bool:
        commands = params["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            if not COMMAND_RE.fullmatch(command["command"]):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"]) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.world.commands[self._command_key(params)] = copy.deepcopy(commands)
        return True

    async def get_my_commands(self, params: Params) -> list[dict[str, Any]]:
        return copy.deepcopy(self.world.commands.get(self._command_key(params), []))

    async def delete_my_commands(self, params: Params) -> bool:
        self.world.commands.pop(self._command_key(params), None)
        return True

    def set_bot_text(self, kind: str) -> Handler:
        async def handler(params: Params) -> bool:
            self.world.bot_texts[(kind, params.get("language_code", ""))] = params.get(kind, "")
            return True

        return handler

    # --- forum topics --------------------------------------------------------------------

    def forum(self, params: Params) -> Chat:
        chat = self.lookup_chat(params["chat_id"])
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        member = self.world.member(chat, self.world.bot.id)
        if not member.is_admin or not member.can_manage_topics:
            raise bad_request("not enough rights to manage topics", violation=False)
        return chat

    def topic(self, chat: Chat, params: Params) -> Any:
        topic = chat.topics.get(params["message_thread_id"])
        if topic is None or topic.deleted:
            raise bad_request("TOPIC_ID_INVALID", violation=False)
        return topic

    async def create_forum_topic(self, params: Params) -> dict[str, Any]:
        chat = self.forum(params)
        name = params["name"]
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_TITLE_INVALID")
        color = params.get("icon_color", TOPIC_COLORS[0])
        if color not in TOPIC_COLORS:
            raise bad_request("TOPIC_ICON_COLOR_INVALID")
        self.flood_check("sendMessage", chat)
        topic = self.world.create_topic(chat, name, color, self.world.bot)
        if "icon_custom_emoji_id" in params:
            topic.icon_custom_emoji_id = params["icon_custom_emoji_id"]
        return topic.to_api()

    async def edit_forum_topic(self, params: Params) -> bool:
        chat = self.forum(params)
        topic = self.topic(chat, params)
        changes: dict[str, Any] = {}
        if "name" in params and params["name"] != topic.name:
            if not 1 <= len(params["name"]) <= 128:
                raise bad_request("TOPIC_TITLE_INVALID")
            changes["name"] = params["name"]
        emoji = params.get("icon_custom_emoji_id")
        if emoji is not None and emoji != (topic.icon_custom_emoji_id or ""):
            changes["icon_custom_emoji_id"] = emoji
        if not changes:
            raise bad_request("TOPIC_NOT_MODIFIED", violation=False)
        topic.name = changes.get("name", topic.name)
        topic.icon_custom_emoji_id = changes.get("icon_custom_emoji_id", topic.icon_custom_emoji_id)
        self.world.add_message(
            chat, self.world.bot, {"forum_topic_edited": changes}, thread_id=topic.thread_id
        )
        return True

    async def _set_closed(self, params: Params, closed: bool) -> bool:
        chat = self.forum(params)
        topic = self.topic(chat, params)
        if topic.closed == closed:
            raise bad_request("TOPIC_NOT_MODIFIED", violation=False)
        topic.closed = closed
        key = "forum_topic_closed" if closed else "forum_topic_reopened"
        self.world.add_message(chat, self.world.bot, {key: {}}, thread_id=topic.thread_id)
        return True

    async def close_forum_topic(self, params: Params) -> bool:
        return await self._set_closed(params, True)

    async def reopen_forum_topic(self, params: Params) -> bool:
        return await self._set_closed(params, False)

    async def delete_forum_topic(self, params: Params) -> bool:
        chat = self.forum(params)
        topic = self.topic(chat, params)
        topic.deleted = True
        for message in self.world.chat_messages(chat.id, thread_id=topic.thread_id):
            message.deleted = True
        self.world.notify()
        return True
