"""Telegram's HTML subset: entities come out with UTF-16 offsets."""

from __future__ import annotations

import pytest

from tgemulator.schema import SCHEMA_ENV, SchemaMissingError, load_schema
from tgemulator.tghtml import HtmlParseError, parse_html, strip_text


def test_all_supported_tags() -> None:
    text, entities = parse_html(
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        '<strike>k</strike><del>d</del><span class="tg-spoiler">p</span>'
        '<tg-spoiler>q</tg-spoiler><a href="https://x.org/?a=1&amp;b=2">l</a>'
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji><code>c</code>'
        '<pre><code class="language-python">py</code></pre><blockquote>q</blockquote>'
        "<blockquote expandable>x</blockquote>"
    )
    assert text == "bsieunskdpql👍cpyqx"
    types = [e["type"] for e in entities]
    assert types == [
        "bold",
        "bold",
        "italic",
        "italic",
        "underline",
        "underline",
        "strikethrough",
        "strikethrough",
        "strikethrough",
        "spoiler",
        "spoiler",
        "text_link",
        "custom_emoji",
        "code",
        "pre",
        "blockquote",
        "expandable_blockquote",
    ]
    link = entities[11]
    assert link["url"] == "https://x.org/?a=1&b=2"
    assert entities[12] == {
        "offset": 12,
        "length": 2,
        "type": "custom_emoji",
        "custom_emoji_id": "5368324170671202286",
    }
    assert entities[14] == {"offset": 15, "length": 2, "type": "pre", "language": "python"}


def test_entities_and_utf16_offsets() -> None:
    text, entities = parse_html("😀 &lt;b&gt; &quot;x&quot; &#169;&#x1F600; <i>é</i>")
    assert text == '😀 <b> "x" ©😀 é'
    assert entities == [{"offset": 15, "length": 1, "type": "italic"}]


def test_nested_and_case_insensitive_tags() -> None:
    text, entities = parse_html("<B>bold <I>both</I></B>")
    assert text == "bold both"
    assert entities == [
        {"offset": 0, "length": 9, "type": "bold"},
        {"offset": 5, "length": 4, "type": "italic"},
    ]


def test_byte_offsets_in_errors_count_utf8() -> None:
    with pytest.raises(HtmlParseError, match="byte offset 5"):
        parse_html("Жж <x>")


def test_strip_keeps_entities_aligned() -> None:
    text, entities = strip_text("  hi there ", [{"offset": 2, "length": 2, "type": "bold"}])
    assert text == "hi there"
    assert entities == [{"offset": 0, "length": 2, "type": "bold"}]


def test_schema_missing_fails_loudly(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv(SCHEMA_ENV, "/nonexistent/bot-api.json")
    with pytest.raises(SchemaMissingError, match="TELEGRAM_SCHEMA_PATH"):
        load_schema.__wrapped__()
