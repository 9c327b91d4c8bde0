"""The desk's limits on messages count their text, not their HTML (issue 13)."""

from __future__ import annotations

from html import escape

import pytest

from desk.errors import ValidationFailed
from desk.values import TEXT_MAX, AttachmentIn, clean_markup, message_body, plain_text

PHOTO = AttachmentIn("file", "unique")


def test_markup_counts_as_the_text_it_shows() -> None:
    heavy = escape("<&>" * (TEXT_MAX // 3))
    assert len(heavy) > 4 * TEXT_MAX  # the HTML is far longer than the limit
    assert clean_markup(heavy) == heavy
    assert message_body(f"<b>{heavy}</b>", ()) == f"<b>{heavy}</b>"
    with pytest.raises(ValidationFailed) as refused:
        clean_markup(escape("<" * (TEXT_MAX + 1)))
    assert refused.value.problem == "too_long"
    assert refused.value.details["length"] == TEXT_MAX + 1


def test_markup_with_no_text_is_empty() -> None:
    for empty in ("", "  ", "<b> </b>", "<i>\n</i>"):
        with pytest.raises(ValidationFailed) as refused:
            clean_markup(empty)
        assert refused.value.problem == "empty"
        assert message_body(empty, [PHOTO]) == ""
    assert plain_text("<b>a &lt; b</b> &amp; c") == "a < b & c"
