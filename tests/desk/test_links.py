"""Signed organisation links: they fit a start payload, and any change breaks them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.links import (
    MAX_PAYLOAD,
    SIGNATURE_LENGTH,
    InvalidLink,
    sign_organisation_link,
    sign_request_link,
    verify_organisation_link,
    verify_request_link,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SECRET = "s3cret"


@given(st.from_regex(r"[A-Za-z0-9-]{1,24}", fullmatch=True), st.integers(1, 10 * 365 * 86400))
def test_round_trip_fits_a_start_payload(external_id: str, seconds: int) -> None:
    token = sign_organisation_link(SECRET, external_id, NOW + timedelta(seconds=seconds))
    assert len(token) <= MAX_PAYLOAD and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    link = verify_organisation_link(SECRET, token, NOW)
    assert link.organisation_external_id == external_id


def test_expired_forged_and_damaged_links_are_refused() -> None:
    token = sign_organisation_link(SECRET, "org-42", NOW + timedelta(days=1))
    with pytest.raises(InvalidLink, match="expired"):
        verify_organisation_link(SECRET, token, NOW + timedelta(days=2))
    with pytest.raises(InvalidLink, match="signature"):
        verify_organisation_link("other-secret", token, NOW)
    forged = token.replace("org-42", "org-43")
    with pytest.raises(InvalidLink, match="signature"):
        verify_organisation_link(SECRET, forged, NOW)
    for broken in ("o_", "o_org_1", "x_org_1_sig", token + "_more"):
        with pytest.raises(InvalidLink):
            verify_organisation_link(SECRET, broken, NOW)
    with pytest.raises(InvalidLink):
        verify_organisation_link("", token, NOW)  # no secret configured: no link is valid


def test_bad_organisation_ids_are_not_signed() -> None:
    with pytest.raises(ValueError):
        sign_organisation_link(SECRET, "has_underscore", NOW)
    with pytest.raises(ValueError):
        sign_organisation_link("", "org", NOW)


@given(st.integers(1, 10**9), st.integers(1001, 10**12), st.integers(1, 10 * 365 * 86400))
def test_request_links_round_trip_and_fit(customer_id: int, number: int, seconds: int) -> None:
    token = sign_request_link(SECRET, customer_id, number, NOW + timedelta(seconds=seconds))
    assert len(token) <= MAX_PAYLOAD and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    link = verify_request_link(SECRET, token, NOW)
    assert (link.customer_id, link.number) == (customer_id, number)


def test_request_links_refuse_forgery_expiry_and_the_other_kind() -> None:
    token = sign_request_link(SECRET, 7, 1042, NOW + timedelta(days=1))
    body = token[: -SIGNATURE_LENGTH - 1]
    # Another customer with the same signature, another secret, a late clock.
    forged = body.replace("c_7_", "c_8_") + token[-SIGNATURE_LENGTH - 1 :]
    for bad, secret, now in (
        (forged, SECRET, NOW),
        (token, "other", NOW),
        (token, SECRET, NOW + timedelta(days=2)),
        (token, "", NOW),
        (sign_organisation_link(SECRET, "org", NOW + timedelta(days=1)), SECRET, NOW),
    ):
        with pytest.raises(InvalidLink):
            verify_request_link(secret, bad, now)
