"""Logging: readable lines in a console, JSON lines in production, secrets never written.

``LOG_FORMAT=console`` (the default) writes ``time level logger: message``;
``LOG_FORMAT=json`` writes one JSON object per line with ``time``, ``level``,
``logger``, ``message``, the fields a call passed in ``extra`` (an update's
``update_id``, ``user_id``, ``requests``, ``outcome``…) and ``exc`` for a
traceback. Every record, from the desk or a library, passes :class:`Redactor`
first: the bot token, the webhook and link secrets, the API keys and whatever
a module declares secret, and the value of every environment variable named
``*SECRET``, ``*TOKEN``, ``*PASSWORD``, ``*_KEY`` or ``*_KEYS`` are replaced by
``***`` in the message, its arguments, its extra fields and the traceback.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

MASK = "***"
# Secrets shorter than this would mask ordinary words; settings validate longer ones.
MIN_SECRET = 6

# The attributes every LogRecord has; anything else came from ``extra``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class Redactor(logging.Filter):
    """Masks known secret values in every record that reaches a handler."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        for secret in secrets:
            if len(secret) >= MIN_SECRET and secret not in self._secrets:
                self._secrets.append(secret)
        # Longest first: a secret containing another is masked whole.
        self._secrets.sort(key=len, reverse=True)

    def clean(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        # Render once, then mask: a secret may hide in any argument's repr.
        record.msg = self.clean(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.clean(value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                body[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            body["exc"] = record.exc_text
        return json.dumps(body, ensure_ascii=False, default=str)


CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Environment variables whose values are secret by their name, whoever reads them
# (a module's own settings too, before it had a chance to declare them).
SECRET_NAME = re.compile(r"(SECRET|TOKEN|PASSWORD|_KEY|_KEYS)$")


def secrets_in(environ: Mapping[str, str] = os.environ) -> list[str]:
    found: list[str] = []
    for name, value in environ.items():
        if SECRET_NAME.search(name.upper()):
            found.extend(part.strip() for part in value.split(",") if part.strip())
    return found


def setup(
    level: str, fmt: Literal["console", "json"] = "console", secrets: Iterable[str] = ()
) -> Redactor:
    """Configure the root logger once; returns the redactor so modules can add secrets."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(CONSOLE_FORMAT))
    redactor = Redactor([*secrets, *secrets_in()])
    # On the handler, not a logger: records of every library pass it.
    handler.addFilter(redactor)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic announces every plugin it loads; operators need only the migrations.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if root.level > logging.DEBUG:
        # aiogram's "Update id=… is handled" repeats the line tgkit.updates ends every
        # update with (which also says who, which requests and the outcome): half the
        # log of a burst and a few per cent of its time. Its errors are still written.
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    return redactor
