"""The intake dialog: a new request step by step (R1–R3).

Kind → topic → description → screenshots → technical details → summary, with
Back on every step, Edit for every field on the summary, Submit and Cancel.

How it keeps what the customer typed:
- every value lives in ``dialog_data`` as plain JSON (Redis keeps it across
  restarts); a step shown again shows the value it already has;
- bad input never touches the stored value: the step is shown again with a
  polite notice on top (``notice`` in ``dialog_data``, tied to its step);
- from the summary, Edit opens a step in *editing* mode: its Back and Next
  return to the summary instead of walking the whole way again.

Screenshots: photos are kept by the file_id of their largest size. Images sent
as files are downloaded, checked and cleaned by :mod:`desk.images`, and the
clean copy is uploaded back into the customer's chat — the customer sees what
support will see, and the attachment is the file_id of that clean copy.

Submit calls :meth:`desk.service.Desk.create`; the "request CTV-… registered"
message comes from the outbox. Here the summary only turns into "sent".

While a draft is open, the customer's plain messages belong to it, not to the
follow-up relay of handlers/relay.py (see :class:`DraftOwnsMessages`); commands
(/start, /new, /my, /help) still reach their handlers, and /new shows the draft
again instead of starting over.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Filter
from aiogram.fsm.state import State
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    Chat,
    ContentType,
    Document,
    Message,
    PhotoSize,
    TelegramObject,
    User,
)
from aiogram_dialog import Dialog, DialogManager, ShowMode, StartMode, Window
from aiogram_dialog.api.entities import Context, Stack
from aiogram_dialog.api.internal import CONTEXT_KEY, STACK_KEY
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Row
from aiogram_dialog.widgets.text import Format

from desk.errors import ValidationFailed
from desk.images import CleanImage, ImageRejected, inspect_and_clean, should_inspect
from desk.model import Channel, Kind
from desk.service import (
    ATTACHMENTS_MAX,
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    DETAILS_MAX,
    TOPIC_MAX,
    Actor,
    AttachmentIn,
    Desk,
    NewTicket,
)
from dialogs.common import LOCALE_KEY, texts_for
from dialogs.drafts import IdleReminder
from dialogs.states import IntakeSG
from locales import Texts
from tgkit.html import cut_text, utf16_len

log = logging.getLogger(__name__)

# The order of the steps; Back and Next walk it.
STEPS: tuple[State, ...] = (
    IntakeSG.kind,
    IntakeSG.topic,
    IntakeSG.description,
    IntakeSG.screenshots,
    IntakeSG.details,
    IntakeSG.summary,
)
STATES = {state.state: state for state in IntakeSG.__states__}
FINAL = frozenset({IntakeSG.sent, IntakeSG.cancelled})
# Where the desk's complaint about a field is fixed.
FIELD_STEP = {
    "kind": IntakeSG.kind,
    "topic": IntakeSG.topic,
    "description": IntakeSG.description,
    "technical_details": IntakeSG.details,
    "attachments": IntakeSG.screenshots,
    "screenshot": IntakeSG.screenshots,
}
ATTACHMENT_FIELDS = ("file_id", "file_unique_id", "kind", "size", "width", "height", "sha256")
PREVIEW_CHARS = 500
SUMMARY_DESCRIPTION_CHARS = 1500
SUMMARY_DETAILS_CHARS = 1000
BUTTONS = (
    "incident",
    "problem",
    "service",
    "development",
    "back",
    "next",
    "skip",
    "done",
    "cancel",
    "submit",
    "edit_kind",
    "edit_topic",
    "edit_description",
    "edit_screenshots",
    "edit_details",
    "remove_screenshots",
    "remove_details",
    "cancel_yes",
    "cancel_no",
)
KNOWN_CONTENT = frozenset(
    {
        "text",
        "sticker",
        "voice",
        "video_note",
        "audio",
        "video",
        "animation",
        "photo",
        "document",
        "location",
        "venue",
        "contact",
        "poll",
        "dice",
    }
)


# -- dialog data helpers ----------------------------------------------------


def _shots(manager: DialogManager) -> list[dict[str, Any]]:
    shots: list[dict[str, Any]] = manager.dialog_data.setdefault("shots", [])
    return shots


def _notify(manager: DialogManager, key: str, **values: object) -> None:
    """Show ``key`` on top of the current step the next time it is drawn."""
    manager.dialog_data["notice"] = {
        "state": manager.current_context().state.state,
        "key": key,
        "values": values,
    }


def _clear_notice(manager: DialogManager) -> None:
    manager.dialog_data.pop("notice", None)


def _content_name(message: Message) -> str:
    content = message.content_type
    kind = content.value if isinstance(content, ContentType) else str(content)
    return kind if kind in KNOWN_CONTENT else "other"


def _step_after(state: State) -> State:
    return STEPS[STEPS.index(state) + 1]


def _step_before(state: State) -> State:
    return STEPS[STEPS.index(state) - 1]


async def _forward(manager: DialogManager) -> None:
    """The next step, or back to the summary when a field was being edited."""
    _clear_notice(manager)
    state = manager.current_context().state
    if manager.dialog_data.pop("editing", False):
        await manager.switch_to(IntakeSG.summary)
    else:
        await manager.switch_to(_step_after(state))


# -- rendering --------------------------------------------------------------


def _cut(text: str, limit: int, texts: Texts) -> str:
    """At most ``limit`` as Telegram counts (UTF-16: an emoji is two), escaped after the cut."""
    if utf16_len(text) <= limit:
        return escape(text)
    return escape(cut_text(text, limit).rstrip()) + texts("intake.truncated", length=len(text))


def _current(value: str | None, texts: Texts) -> str:
    if not value:
        return ""
    shown = texts("intake.current", value=_cut(value, PREVIEW_CHARS, texts))
    return f"\n\n{shown}\n{texts('intake.current_hint')}"


def _summary(data: dict[str, Any], texts: Texts) -> str:
    kind = data.get("kind")
    lines = [
        texts("intake.summary"),
        "",
        texts("intake.summary_kind", value=texts(f"intake.kinds.{kind}") if kind else "—"),
        texts("intake.summary_topic", value=escape(data.get("topic") or "—")),
        texts(
            "intake.summary_description",
            value=_cut(data.get("description") or "—", SUMMARY_DESCRIPTION_CHARS, texts),
        ),
        texts("intake.summary_screenshots", count=len(data.get("shots") or [])),
    ]
    details = data.get("details")
    if details:
        lines.append(
            texts("intake.summary_details", value=_cut(details, SUMMARY_DETAILS_CHARS, texts))
        )
    else:
        lines.append(texts("intake.summary_no_details"))
    lines += ["", texts("intake.summary_footer")]
    return "\n".join(lines)


def _step_text(state: State, data: dict[str, Any], texts: Texts) -> str:
    if state == IntakeSG.kind:
        return f"{texts('intake.rule')}\n\n{texts('intake.step_kind')}"
    if state == IntakeSG.topic:
        return texts("intake.step_topic", maximum=TOPIC_MAX) + _current(data.get("topic"), texts)
    if state == IntakeSG.description:
        prompt = texts("intake.step_description", minimum=DESCRIPTION_MIN, maximum=DESCRIPTION_MAX)
        return prompt + _current(data.get("description"), texts)
    if state == IntakeSG.screenshots:
        text = texts("intake.step_screenshots", maximum=ATTACHMENTS_MAX)
        count = len(data.get("shots") or [])
        if count:
            text += "\n\n" + texts("intake.screenshots_count", count=count, maximum=ATTACHMENTS_MAX)
        return text
    if state == IntakeSG.details:
        return texts("intake.step_details") + _current(data.get("details"), texts)
    if state == IntakeSG.summary:
        return _summary(data, texts)
    if state == IntakeSG.cancel:
        return texts("intake.cancel_question")
    if state == IntakeSG.sent:
        return texts("intake.sent")
    return texts("intake.cancelled")


def _notice_text(notice: dict[str, Any], texts: Texts) -> str:
    values = dict(notice.get("values") or {})
    if "what" in values:
        values["what"] = texts(f"intake.content.{values['what']}")
    try:
        return texts(str(notice["key"]), **values)
    except (KeyError, IndexError):  # a desk complaint this dialog has no words for
        return texts("intake.bad.invalid")


async def getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    texts = texts_for(dialog_manager)
    data = dialog_manager.dialog_data
    state = dialog_manager.current_context().state
    text = _step_text(state, data, texts)
    notice = data.get("notice")
    if isinstance(notice, dict) and notice.get("state") == state.state:
        text = f"⚠️ {_notice_text(notice, texts)}\n\n{text}"
    labels = {f"b_{name}": texts(f"intake.buttons.{name}") for name in BUTTONS}
    return {
        "text": text,
        "editing": bool(data.get("editing")),
        "has_topic": bool(data.get("topic")),
        "has_description": bool(data.get("description")),
        "has_shots": bool(data.get("shots")),
        "no_shots": not data.get("shots"),
        "has_details": bool(data.get("details")),
        "no_details": not data.get("details"),
        **labels,
    }


# -- text steps -------------------------------------------------------------


def _accept_text(
    message: Message, manager: DialogManager, *, minimum: int, maximum: int
) -> str | None:
    """The text of ``message`` if it fits, else a notice and None."""
    if message.text is None:
        _notify(manager, "intake.bad.not_text", what=_content_name(message))
        return None
    text = message.text.strip()
    if not text:
        _notify(manager, "intake.bad.empty")
        return None
    if len(text) < minimum:
        _notify(manager, "intake.bad.too_short", minimum=minimum, length=len(text))
        return None
    if len(text) > maximum:
        _notify(manager, "intake.bad.too_long", maximum=maximum, length=len(text))
        return None
    return text


def _text_step(
    field: str, *, minimum: int, maximum: int
) -> Callable[[Message, MessageInput, DialogManager], Awaitable[None]]:
    async def on_text(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
        _clear_notice(manager)
        text = _accept_text(message, manager, minimum=minimum, maximum=maximum)
        if text is not None:
            manager.dialog_data[field] = text
            await _forward(manager)

    return on_text


async def on_text_at_kind(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    _notify(manager, "intake.bad.choose_kind")


async def on_text_at_summary(
    message: Message, _widget: MessageInput, manager: DialogManager
) -> None:
    _notify(manager, "intake.bad.use_buttons")


# -- screenshots ------------------------------------------------------------


def _largest(photo: list[PhotoSize]) -> PhotoSize:
    return max(photo, key=lambda size: (size.width * size.height, size.file_size or 0))


def _in_sent_order(shots: list[dict[str, Any]]) -> None:
    """Album items arrive as separate updates handled concurrently: restore the order sent."""
    shots.sort(key=lambda shot: int(shot.get("message_id") or 0))


def _reject_image(manager: DialogManager, error: ImageRejected) -> None:
    _notify(manager, f"intake.bad.{error.reason.value}", **error.text_args())


async def _clean_document(
    document: Document, manager: DialogManager, bot: Bot
) -> CleanImage | None:
    try:
        # Not downloaded at all when the size Telegram reports is enough to refuse.
        should_inspect(document.file_size, document.mime_type, screenshot=True)
    except ImageRejected as error:
        _reject_image(manager, error)
        return None
    try:
        downloaded = await bot.download(document)
    except TelegramAPIError:
        log.warning("could not download document %s", document.file_unique_id, exc_info=True)
        _notify(manager, "intake.bad.download_failed")
        return None
    if downloaded is None:
        _notify(manager, "intake.bad.download_failed")
        return None
    try:
        # Decoding up to 40 megapixels takes a while: keep the event loop free.
        return await asyncio.to_thread(inspect_and_clean, downloaded.read())
    except ImageRejected as error:
        _reject_image(manager, error)
        return None


async def _photo_sha256(photo: PhotoSize, bot: Bot) -> str | None:
    """The photo's hash; a failed download leaves it unknown rather than refusing the photo."""
    try:
        downloaded = await bot.download(photo)
    except TelegramAPIError:
        log.warning("could not download photo %s", photo.file_unique_id, exc_info=True)
        return None
    return hashlib.sha256(downloaded.read()).hexdigest() if downloaded is not None else None


async def on_screenshot(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    _clear_notice(manager)
    shots = _shots(manager)
    if message.photo is None and message.document is None:
        _notify(manager, "intake.bad.screenshot_expected", what=_content_name(message))
        return
    if len(shots) >= ATTACHMENTS_MAX:
        _notify(manager, "intake.bad.too_many_screenshots", maximum=ATTACHMENTS_MAX)
        return
    source = _largest(message.photo) if message.photo else message.document
    assert source is not None
    if any(shot.get("source_unique_id") == source.file_unique_id for shot in shots):
        _notify(manager, "intake.bad.duplicate_screenshot")
        return
    if isinstance(source, PhotoSize):
        digest = await _photo_sha256(source, manager.middleware_data["bot"])
        shots.append(
            {
                "file_id": source.file_id,
                "file_unique_id": source.file_unique_id,
                "source_unique_id": source.file_unique_id,
                "kind": "photo",
                "size": source.file_size,
                "width": source.width,
                "height": source.height,
                # Telegram re-encodes photos and strips their metadata itself;
                # the hash identifies the very image support will see.
                "sha256": digest,
                "album": message.media_group_id,
                "message_id": message.message_id,
            }
        )
        _in_sent_order(shots)
        return
    assert message.document is not None
    bot: Bot = manager.middleware_data["bot"]
    clean = await _clean_document(message.document, manager, bot)
    if clean is None:
        return
    texts = texts_for(manager)
    number = len(shots) + 1
    sent = await bot.send_document(
        message.chat.id,
        BufferedInputFile(clean.data, filename=f"screenshot-{number}.{clean.extension}"),
        caption=texts("intake.clean_copy", number=number, maximum=ATTACHMENTS_MAX),
        disable_content_type_detection=True,
    )
    if sent.document is None:  # Telegram always answers with the document it stored
        _notify(manager, "intake.bad.download_failed")
        return
    shots.append(
        {
            "file_id": sent.document.file_id,
            "file_unique_id": sent.document.file_unique_id,
            "source_unique_id": source.file_unique_id,
            "kind": "document",
            "size": clean.size,
            "width": clean.width,
            "height": clean.height,
            "sha256": clean.sha256,
            "album": message.media_group_id,
            "message_id": message.message_id,
        }
    )
    _in_sent_order(shots)


async def on_remove_screenshots(
    _callback: CallbackQuery, _button: Button, manager: DialogManager
) -> None:
    _clear_notice(manager)
    manager.dialog_data["shots"] = []


async def on_remove_details(
    _callback: CallbackQuery, _button: Button, manager: DialogManager
) -> None:
    _clear_notice(manager)
    manager.dialog_data["details"] = None


# -- buttons ----------------------------------------------------------------


async def on_kind(_callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    manager.dialog_data["kind"] = Kind(str(button.widget_id)).value
    await _forward(manager)


async def on_next(_callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    await _forward(manager)


async def on_skip_details(
    _callback: CallbackQuery, _button: Button, manager: DialogManager
) -> None:
    manager.dialog_data["details"] = None
    await _forward(manager)


async def on_back(_callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    _clear_notice(manager)
    state = manager.current_context().state
    if manager.dialog_data.pop("editing", False):
        await manager.switch_to(IntakeSG.summary)
    else:
        await manager.switch_to(_step_before(state))


def _edit(state: State) -> Callable[[CallbackQuery, Button, DialogManager], Awaitable[None]]:
    async def on_edit(_callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
        _clear_notice(manager)
        manager.dialog_data["editing"] = True
        await manager.switch_to(state)

    return on_edit


async def on_cancel(_callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    _clear_notice(manager)
    manager.dialog_data["cancel_from"] = manager.current_context().state.state
    await manager.switch_to(IntakeSG.cancel)


async def on_cancel_no(_callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    back_to = STATES.get(str(manager.dialog_data.pop("cancel_from", "")), IntakeSG.kind)
    await manager.switch_to(back_to)


async def _finish(manager: DialogManager, last_look: State) -> None:
    """Turn the dialog's message into its last look and close the dialog."""
    await manager.switch_to(last_look)
    await manager.show()
    await manager.done(show_mode=ShowMode.NO_UPDATE)


async def on_cancel_yes(_callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    await _finish(manager, IntakeSG.cancelled)


def _draft(data: dict[str, Any], intake_key: str | None = None) -> NewTicket:
    return NewTicket(
        kind=Kind(data["kind"]),
        topic=data.get("topic") or "",
        description=data.get("description") or "",
        technical_details=data.get("details"),
        attachments=tuple(
            AttachmentIn(**{name: shot.get(name) for name in ATTACHMENT_FIELDS})
            for shot in data.get("shots") or []
        ),
        channel=Channel.TELEGRAM,
        intake_key=intake_key,
    )


async def on_submit(_callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    _clear_notice(manager)
    data = manager.dialog_data
    if not data.get("kind"):
        await manager.switch_to(IntakeSG.kind)
        return
    desk: Desk = manager.middleware_data["desk"]
    actor: Actor = manager.middleware_data["actor"]
    try:
        # The dialog's id: a Submit that runs again (the process died after the
        # commit, or the database connection broke on it) finds the request it filed.
        await desk.create(actor, _draft(data, manager.current_context().id))
    except ValidationFailed as error:
        step = FIELD_STEP.get(error.field, IntakeSG.summary)
        data["editing"] = step != IntakeSG.summary
        await manager.switch_to(step)
        values = {k: v for k, v in error.details.items() if k not in ("field", "problem")}
        problem = "too_many_screenshots" if error.problem == "too_many" else error.problem
        _notify(manager, f"intake.bad.{problem}", **values)
        return
    await _finish(manager, IntakeSG.sent)


# -- lifecycle --------------------------------------------------------------

# handlers/relay.py (included before the dialogs) takes any plain message when
# the plain FSM state is empty; aiogram-dialog 2 keeps its state elsewhere. While
# an intake draft is open, the update is shown to the filters with this state,
# so the customer's answers reach the dialog. Nothing is stored: the view is
# recomputed from the dialog stack on every update, so it cannot go stale.
DRAFT_OPEN = "IntakeSG:draft_open"


class DraftOwnsMessages(BaseMiddleware):
    """Outer middleware on messages, after aiogram-dialog has loaded the context."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        context = data.get(CONTEXT_KEY)
        if (
            data.get("raw_state") is None
            and isinstance(context, Context)
            and context.state.group is IntakeSG
        ):
            data["raw_state"] = DRAFT_OPEN
        return await handler(event, data)


class PressElsewhereShowsAnew(BaseMiddleware):
    """A press on a message other than the dialog's window: the step is sent anew.

    The dialog answers a press by editing the window it last sent. The press may
    come from another message of the same dialog: one further up the chat, or one
    newer than the dialog knows of, when the step that sent it could not be saved
    (Redis went away between the send and the save, the customer sees the next step,
    the dialog is still on the one before). Edited there, the answer would change a
    message out of sight, or nothing at all (the same text), and the press would
    look ignored; sent anew, at the bottom, it shows where the dialog is.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        stack = data.get(STACK_KEY)
        manager: DialogManager | None = data.get("dialog_manager")
        if (
            isinstance(event, CallbackQuery)
            and isinstance(stack, Stack)
            and manager is not None
            and event.message is not None
            and stack.last_message_id not in (None, event.message.message_id)
        ):
            manager.show_mode = ShowMode.SEND
        return await handler(event, data)


class NotDraftAnswer(Filter):
    """For routers of plain handlers: with a draft open, only commands are theirs.

    What :class:`DraftOwnsMessages` means for each of their filters, said once
    at the top: a customer's answer to a step would otherwise be tried against
    every command and state filter before it reaches the dialog.
    """

    async def __call__(self, message: Message, raw_state: str | None = None) -> bool:
        if raw_state != DRAFT_OPEN:
            return True
        return (message.text or message.caption or "").startswith("/")


def _record_keys(data: dict[str, Any]) -> tuple[Chat, User] | None:
    chat, user = data.get("event_chat"), data.get("event_from_user")
    if isinstance(chat, Chat) and isinstance(user, User):
        return chat, user
    return None


class DraftActivityMiddleware(BaseMiddleware):
    """After every update the dialog handles: note the activity, or forget a closed draft."""

    def __init__(self, reminder: IdleReminder) -> None:
        self._reminder = reminder

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        result = await handler(event, data)
        keys = _record_keys(data)
        manager: DialogManager | None = data.get("dialog_manager")
        if keys is None or manager is None:
            return result
        chat, user = keys
        state = manager.current_context().state if manager.has_context() else None
        if state is not None and state.group is IntakeSG and state not in FINAL:
            await self._reminder.touch(
                chat.id,
                user.id,
                locale=texts_for(manager).locale,
                topic=str(manager.dialog_data.get("topic") or ""),
            )
        else:
            await self._reminder.forget(chat.id, user.id)
        return result


def intake_dialog(reminder: IdleReminder) -> Dialog:
    """A new Dialog each time: a router can belong to one Dispatcher only."""

    async def on_start(_start_data: Any, manager: DialogManager) -> None:
        texts = texts_for(manager)
        manager.dialog_data[LOCALE_KEY] = texts.locale
        manager.dialog_data.setdefault("shots", [])
        keys = _record_keys(manager.middleware_data)
        if keys is not None:
            await reminder.touch(keys[0].id, keys[1].id, locale=texts.locale)

    async def on_close(_result: Any, manager: DialogManager) -> None:
        keys = _record_keys(manager.middleware_data)
        if keys is not None:
            await reminder.forget(keys[0].id, keys[1].id)

    text = Format("{text}")

    # Every step's buttons have ids of their own ("next_topic", not "next"): a press
    # acts only on the step that drew it. A second tap on a window already moved on,
    # or a window ahead of a dialog whose save Redis lost, is then a button the
    # current step lacks, and the step is shown again, where the same id would have
    # acted on a step the customer does not see.
    def back(step: str, when: str | None = None) -> Button:
        return Button(Format("{b_back}"), id=f"back_{step}", on_click=on_back, when=when)

    def cancel(step: str) -> Button:
        return Button(Format("{b_cancel}"), id=f"cancel_{step}", on_click=on_cancel)

    def next_(step: str, when: str) -> Button:
        return Button(Format("{b_next}"), id=f"next_{step}", on_click=on_next, when=when)

    def window(state: State, *widgets: Any) -> Window:
        return Window(text, *widgets, state=state, parse_mode=ParseMode.HTML)

    dialog = Dialog(
        window(
            IntakeSG.kind,
            Row(
                Button(Format("{b_problem}"), id=Kind.PROBLEM.value, on_click=on_kind),
                Button(Format("{b_incident}"), id=Kind.INCIDENT.value, on_click=on_kind),
            ),
            Row(
                Button(Format("{b_service}"), id=Kind.SERVICE.value, on_click=on_kind),
                Button(Format("{b_development}"), id=Kind.DEVELOPMENT.value, on_click=on_kind),
            ),
            back("kind", when="editing"),
            cancel("kind"),
            MessageInput(on_text_at_kind),
        ),
        window(
            IntakeSG.topic,
            Row(back("topic"), next_("topic", "has_topic")),
            cancel("topic"),
            MessageInput(_text_step("topic", minimum=1, maximum=TOPIC_MAX)),
        ),
        window(
            IntakeSG.description,
            Row(back("description"), next_("description", "has_description")),
            cancel("description"),
            MessageInput(
                _text_step("description", minimum=DESCRIPTION_MIN, maximum=DESCRIPTION_MAX)
            ),
        ),
        window(
            IntakeSG.screenshots,
            Row(
                back("screenshots"),
                Button(Format("{b_skip}"), id="skip_shots", on_click=on_next, when="no_shots"),
                Button(Format("{b_done}"), id="done", on_click=on_next, when="has_shots"),
            ),
            Button(
                Format("{b_remove_screenshots}"),
                id="remove_shots",
                on_click=on_remove_screenshots,
                when="has_shots",
            ),
            cancel("screenshots"),
            MessageInput(on_screenshot),
        ),
        window(
            IntakeSG.details,
            Row(
                back("details"),
                Button(
                    Format("{b_skip}"),
                    id="skip_details",
                    on_click=on_skip_details,
                    when="no_details",
                ),
                next_("details", "has_details"),
            ),
            Button(
                Format("{b_remove_details}"),
                id="remove_details",
                on_click=on_remove_details,
                when="has_details",
            ),
            cancel("details"),
            MessageInput(_text_step("details", minimum=1, maximum=DETAILS_MAX)),
        ),
        window(
            IntakeSG.summary,
            Button(Format("{b_submit}"), id="submit", on_click=on_submit),
            Row(
                Button(Format("{b_edit_kind}"), id="edit_kind", on_click=_edit(IntakeSG.kind)),
                Button(Format("{b_edit_topic}"), id="edit_topic", on_click=_edit(IntakeSG.topic)),
            ),
            Row(
                Button(
                    Format("{b_edit_description}"),
                    id="edit_description",
                    on_click=_edit(IntakeSG.description),
                ),
                Button(
                    Format("{b_edit_screenshots}"),
                    id="edit_screenshots",
                    on_click=_edit(IntakeSG.screenshots),
                ),
            ),
            Button(Format("{b_edit_details}"), id="edit_details", on_click=_edit(IntakeSG.details)),
            Row(back("summary"), cancel("summary")),
            MessageInput(on_text_at_summary),
        ),
        window(
            IntakeSG.cancel,
            Row(
                Button(Format("{b_cancel_yes}"), id="cancel_yes", on_click=on_cancel_yes),
                Button(Format("{b_cancel_no}"), id="cancel_no", on_click=on_cancel_no),
            ),
        ),
        window(IntakeSG.sent),
        window(IntakeSG.cancelled),
        getter=getter,
        on_start=on_start,
        on_close=on_close,
    )
    activity = DraftActivityMiddleware(reminder)
    dialog.message.middleware(activity)
    dialog.callback_query.middleware(activity)
    dialog.callback_query.middleware(PressElsewhereShowsAnew())
    return dialog


async def show_or_start(manager: DialogManager, *, show_mode: ShowMode) -> None:
    """The entry point: an open intake draft is shown again; otherwise a new one starts."""
    if manager.has_context() and manager.current_context().state.group is IntakeSG:
        await manager.show(show_mode)
        return
    await manager.start(IntakeSG.kind, mode=StartMode.RESET_STACK, show_mode=show_mode)
