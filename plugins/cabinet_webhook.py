"""The outgoing cabinet webhook: tells the personal cabinet when a request's status changes.

Settings (environment or ``.env``): ``CABINET_WEBHOOK_URL`` (empty: the plugin
does nothing), ``CABINET_WEBHOOK_SECRET`` (required with the URL),
``CABINET_WEBHOOK_TIMEOUT`` (seconds, default 10).

Each ``created`` and ``status_changed`` event (a close is a status change to
``closed``) is written to the outbox with the change that caused it and POSTed
as JSON (``desk.events.RequestEvent`` plus ``delivery_id``) with these headers:

- ``X-CTV-Event``: the event kind; ``X-CTV-Delivery``: the same on every
  retry of one delivery, so the cabinet can drop a repeat;
- ``X-CTV-Timestamp``: Unix seconds when this attempt was signed;
- ``X-CTV-Signature``: ``sha256=`` + hex HMAC-SHA256 with the shared secret
  of ``<timestamp>.<body>`` (see :func:`verify` for the cabinet's side).

Deliveries are at least once and may arrive out of order (several go out at
once): the cabinet keeps the one with the highest ``event_id`` per request.
A 2xx answer is success; 408, 429, 5xx and network errors are retried by the
outbox sender with its exponential backoff (8 attempts); other answers are
recorded on the outbox row as failed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import aiohttp
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from desk.events import EventKind
from storage.models import Outbox, Ticket
from tgkit.outbox import Delivery, RetryLater
from tgkit.plugins import PluginContext

AUDIENCE = "cabinet"
KINDS = frozenset({EventKind.CREATED, EventKind.STATUS_CHANGED})
SIGNATURE = "X-CTV-Signature"
TIMESTAMP = "X-CTV-Timestamp"
RETRIED_STATUSES = frozenset({408, 425, 429})


class CabinetWebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    cabinet_webhook_url: str = ""
    cabinet_webhook_secret: SecretStr = SecretStr("")
    cabinet_webhook_timeout: float = Field(default=10.0, gt=0, le=120)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    """The cabinet's check: the signature matches and the attempt is recent (no replay)."""
    try:
        when = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - when) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, when, body), signature)


class CabinetWebhook:
    """The outbox deliverer of the ``cabinet`` audience."""

    def __init__(self, url: str, secret: str, timeout: float) -> None:
        self.url = url
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __call__(self, row: Outbox, ticket: Ticket | None, context: Delivery) -> int | None:
        body = json.dumps(
            {**row.payload, "delivery_id": row.idempotency_key}, ensure_ascii=False
        ).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-CTV-Event": str(row.payload.get("kind", "")),
            "X-CTV-Delivery": row.idempotency_key,
            TIMESTAMP: str(timestamp),
            SIGNATURE: sign(self._secret, timestamp, body),
        }
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(self.url, data=body, headers=headers) as answer:
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RetryLater(f"cabinet webhook unreachable: {type(error).__name__}") from error
        if 200 <= status < 300:
            return None
        if status >= 500 or status in RETRIED_STATUSES:
            raise RetryLater(f"cabinet webhook answered {status}")
        raise ValueError(f"cabinet webhook refused the delivery: {status}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def setup(context: PluginContext) -> None:
    settings = CabinetWebhookSettings()
    if not settings.cabinet_webhook_url:
        return  # not configured: nothing to tell
    secret = settings.cabinet_webhook_secret.get_secret_value()
    if not secret:
        raise ValueError("CABINET_WEBHOOK_SECRET is required with CABINET_WEBHOOK_URL")
    context.keep_secret(secret)
    hook = CabinetWebhook(settings.cabinet_webhook_url, secret, settings.cabinet_webhook_timeout)
    context.deliver(AUDIENCE, hook, KINDS)
    context.on_shutdown(hook.close)
