"""Signed links from the personal cabinet that tie a Telegram user to their organisation.

The cabinet (or the HTTP API) gives a customer the link
``https://t.me/<bot>?start=<token>``; Telegram passes ``<token>`` to /start.
A start payload is at most 64 characters of ``A-Za-z0-9_-``, so the token is
compact: ``o_<organisation>_<expiry>_<signature>`` where ``organisation`` is
the organisation's external id in the cabinet, ``expiry`` a Unix time in base
36, and ``signature`` the first 16 bytes of HMAC-SHA256 over the rest,
base64url without padding. The secret is the ``LINK_SECRET`` setting, shared
with the cabinet. Only the desk verifies a link: ``Desk.join_organisation``
takes the token as it came and refuses it with :class:`InvalidLink`.

The HTTP API hands out a second kind, ``c_<customer>_<number>_<expiry>_<sig>``
(ids and expiry in base 36, signed the same way): it ties the Telegram account
that follows it to the cabinet's customer, their organisation and the request
just filed (``Desk.follow_cabinet_link``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from desk.errors import InvalidLink as InvalidLink

PREFIX = "o"
REQUEST_PREFIX = "c"
SIGNATURE_LENGTH = 22  # 16 bytes in base64url without padding
MAX_PAYLOAD = 64
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9-]{1,24}$")


@dataclass(frozen=True)
class OrganisationLink:
    organisation_external_id: str
    expires_at: datetime


def _signature(secret: str, body: str) -> str:
    digest = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        value, remainder = divmod(value, 36)
        out = digits[remainder] + out
        if value == 0:
            return out


def sign_organisation_link(secret: str, external_id: str, expires_at: datetime) -> str:
    if not secret:
        raise ValueError("LINK_SECRET is not set")
    if not _EXTERNAL_ID.match(external_id):
        raise ValueError("an organisation id in a link is 1-24 of A-Z, a-z, 0-9 and -")
    body = f"{PREFIX}_{external_id}_{_base36(int(expires_at.timestamp()))}"
    token = f"{body}_{_signature(secret, body)}"
    assert len(token) <= MAX_PAYLOAD
    return token


def is_organisation_link(payload: str) -> bool:
    return payload.startswith(f"{PREFIX}_")


def verify_organisation_link(secret: str, payload: str, now: datetime) -> OrganisationLink:
    # The signature is base64url, which may itself contain "_": it is the
    # fixed-length tail, not a field to split on.
    body, separator, signature = (
        payload[: -SIGNATURE_LENGTH - 1],
        payload[-SIGNATURE_LENGTH - 1 : -SIGNATURE_LENGTH],
        payload[-SIGNATURE_LENGTH:],
    )
    parts = body.split("_")
    if not secret or separator != "_" or len(parts) != 3 or parts[0] != PREFIX:
        raise InvalidLink("malformed")
    if not hmac.compare_digest(_signature(secret, body), signature):
        raise InvalidLink("bad signature")
    try:
        expires_at = datetime.fromtimestamp(int(parts[2], 36), UTC)
    except (ValueError, OverflowError):
        raise InvalidLink("bad expiry") from None
    if expires_at <= now:
        raise InvalidLink("expired")
    return OrganisationLink(parts[1], expires_at)


@dataclass(frozen=True)
class RequestLink:
    customer_id: int
    number: int
    expires_at: datetime


def sign_request_link(secret: str, customer_id: int, number: int, expires_at: datetime) -> str:
    if not secret:
        raise ValueError("LINK_SECRET is not set")
    expiry = _base36(int(expires_at.timestamp()))
    body = f"{REQUEST_PREFIX}_{_base36(customer_id)}_{_base36(number)}_{expiry}"
    token = f"{body}_{_signature(secret, body)}"
    assert len(token) <= MAX_PAYLOAD
    return token


def is_request_link(payload: str) -> bool:
    return payload.startswith(f"{REQUEST_PREFIX}_")


def verify_request_link(secret: str, payload: str, now: datetime) -> RequestLink:
    body, separator, signature = (
        payload[: -SIGNATURE_LENGTH - 1],
        payload[-SIGNATURE_LENGTH - 1 : -SIGNATURE_LENGTH],
        payload[-SIGNATURE_LENGTH:],
    )
    parts = body.split("_")
    if not secret or separator != "_" or len(parts) != 4 or parts[0] != REQUEST_PREFIX:
        raise InvalidLink("malformed")
    if not hmac.compare_digest(_signature(secret, body), signature):
        raise InvalidLink("bad signature")
    try:
        customer_id, number, expiry = (int(p, 36) for p in parts[1:])
        expires_at = datetime.fromtimestamp(expiry, UTC)
    except (ValueError, OverflowError):
        raise InvalidLink("bad expiry") from None
    if expires_at <= now:
        raise InvalidLink("expired")
    return RequestLink(customer_id, number, expires_at)
