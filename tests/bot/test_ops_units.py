"""Pieces of operations that need no running desk: log masking and format, the webhook's
signature, the plugin loader's isolation of a broken module."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from aiogram import Dispatcher, Router
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage

from bot.logs import JsonFormatter, Redactor
from bot.plugins import candidates, load_plugins
from plugins.cabinet_webhook import sign, verify
from tgkit.calls import result_of

SECRET = "s3cret-value-for-tests"


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("t", logging.INFO, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_redactor_masks_message_arguments_extra_and_traceback() -> None:
    redactor = Redactor([SECRET, "short"])
    try:
        raise RuntimeError(f"https://api.telegram.org/bot{SECRET}/getMe failed")
    except RuntimeError:
        exc_info = sys.exc_info()
    item = record("calling %s", f"bot{SECRET}", url=f"x{SECRET}y")
    item.exc_info = exc_info
    assert redactor.filter(item)
    text = logging.Formatter().format(item)
    assert SECRET not in text
    assert "calling bot***" in text
    assert "RuntimeError: https://api.telegram.org/bot***/getMe" in text
    assert item.url == "x***y"
    # Too short to mask without masking ordinary words.
    assert redactor.clean("short words") == "short words"


def test_json_lines_carry_the_extra_fields() -> None:
    line = JsonFormatter().format(record("update %s", 7, update_id=7, outcome="handled"))
    body = json.loads(line)
    assert body["message"] == "update 7"
    assert (body["update_id"], body["outcome"], body["level"]) == (7, "handled", "INFO")


def test_bot_api_results_are_named_by_their_code() -> None:
    call = SendMessage(chat_id=1, text="x")
    assert result_of(TelegramRetryAfter(call, "Too Many Requests", retry_after=3)) == "429"
    assert result_of(TelegramForbiddenError(call, "Forbidden: bot was blocked")) == "403"
    assert result_of(TelegramBadRequest(call, "Bad Request: chat not found")) == "400"
    assert result_of(TelegramServerError(call, "Bad Gateway")) == "5xx"
    assert result_of(TelegramNetworkError(call, "timeout")) == "network"


def test_signature_verifies_and_rejects_tampering() -> None:
    body = b'{"number": 1042, "status": "closed"}'
    now = int(time.time())
    signature = sign(SECRET, now, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify(SECRET, str(now), body, signature)
    assert not verify(SECRET, str(now), body.replace(b"closed", b"new"), signature)
    assert not verify("another-secret", str(now), body, signature)
    assert not verify(SECRET, str(now + 1), body, signature)  # the time is signed too
    assert not verify(SECRET, str(now - 3600), body, sign(SECRET, now - 3600, body))  # replay
    assert not verify(SECRET, "yesterday", body, signature)


async def test_a_broken_plugin_is_left_out_and_the_next_one_loads(tmp_path: Path) -> None:
    (tmp_path / "ctv_unit_good.py").write_text(
        "def setup(context):\n"
        "    async def hear(event):\n        pass\n"
        "    context.subscribe(hear)\n"
        "    context.keep_secret('plugin-secret-123')\n",
        encoding="utf-8",
    )
    (tmp_path / "ctv_unit_bad.py").write_text(
        "def setup(context):\n"
        "    async def hear(event):\n        pass\n"
        "    context.subscribe(hear)\n"
        "    raise ValueError('no plugin-secret-123 here')\n",
        encoding="utf-8",
    )
    sys.path.insert(0, str(tmp_path))
    try:

        class FakeDesk:
            event_listeners: list[object] = []
            event_audiences: dict[str, object] = {}

        desk = FakeDesk()
        redactor = Redactor()
        modules = Router()
        plugins = await load_plugins(
            ["ctv_unit_bad", "ctv_unit_missing", "ctv_unit_good"],
            dispatcher=Dispatcher(),
            modules=modules,
            desk=desk,  # type: ignore[arg-type]
            deliverers={},
            redactor=redactor,
        )
    finally:
        sys.path.remove(str(tmp_path))
    assert "ctv_unit_good" in plugins.loaded
    assert set(plugins.failed) == {"ctv_unit_bad", "ctv_unit_missing"}
    assert "ModuleNotFoundError" in plugins.failed["ctv_unit_missing"]
    # Only the good plugin's listener was wired in; its secret is masked from then on.
    assert len(desk.event_listeners) == 1
    assert redactor.clean("x plugin-secret-123 y") == "x *** y"
    # The shipped cabinet webhook is an installed entry point; unconfigured, it does nothing.
    assert plugins.loaded == ["cabinet_webhook", "ctv_unit_good"]
    assert [r.name for r in modules.sub_routers] == [f"plugin:{n}" for n in plugins.loaded]


def test_modules_come_in_the_order_of_their_names_wherever_installed(tmp_path: Path) -> None:
    roots = []
    for name in ("zeta_mod", "alpha_mod"):  # found in this order on the path
        root = tmp_path / name
        info = root / f"ctv_unit_{name}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: ctv-unit-{name}\nVersion: 1.0\n", encoding="utf-8"
        )
        (info / "entry_points.txt").write_text(
            f"[ctv_desk.plugins]\n{name} = ctv_unit_{name}\n", encoding="utf-8"
        )
        roots.append(str(root))
    sys.path[:0] = roots
    try:
        names = [name for name, _ in candidates(["ctv_unit_named_b", "ctv_unit_named_a"])]
    finally:
        for root in roots:
            sys.path.remove(root)
    assert names == [
        "alpha_mod",
        "cabinet_webhook",
        "zeta_mod",
        "ctv_unit_named_b",  # named ones after, as PLUGINS lists them
        "ctv_unit_named_a",
    ]
