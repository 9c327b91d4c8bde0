"""Splitting and cutting Telegram HTML (issue 13 §2): by the text's length, never inside a tag.

Every part is checked with the emulator's parser, which follows Telegram's parse
mode, so "well-formed" here means what Telegram would accept.
"""

from __future__ import annotations

from html import escape

from hypothesis import given, settings
from hypothesis import strategies as st

from tgemulator.tghtml import parse_html
from tgkit.html import (
    MAX_CAPTION,
    MAX_TEXT,
    _raw_parts,
    cut_html,
    cut_text,
    split_html,
    text_length,
    to_plain,
    utf16_len,
)

# Characters that stress the count and the escaping: markup, surrogate pairs,
# combining marks, right-to-left and zero-width characters, breaks.
ALPHABET = st.sampled_from(
    [*"ab <>&\"'\n", "\n\n", "😀", "\u0301", "\u200b", "\u202e", "Ж", "١", "&amp;", "  "]
)
TAGS = [
    ("<b>", "</b>"),
    ("<i>", "</i>"),
    ("<u>", "</u>"),
    ("<s>", "</s>"),
    ("<tg-spoiler>", "</tg-spoiler>"),
    ('<span class="tg-spoiler">', "</span>"),
    ("<code>", "</code>"),
    ('<pre><code class="language-python">', "</code></pre>"),
    ('<a href="https://example.com/?a=1&amp;b=&lt;2&gt;">', "</a>"),
    ("<blockquote expandable>", "</blockquote>"),
    ("<blockquote>", "</blockquote>"),
]


def raw_text() -> st.SearchStrategy[str]:
    return st.lists(ALPHABET, max_size=60).map("".join)


@st.composite
def markup(draw: st.DrawFn, depth: int = 0) -> str:
    """Telegram HTML as aiogram's html_text gives it: escaped text in nested tags."""
    pieces = []
    for _ in range(draw(st.integers(0, 4))):
        if depth < 3 and draw(st.booleans()):
            start, end = draw(st.sampled_from(TAGS))
            inner = draw(markup(depth + 1))
            if start.startswith(("<pre>", "<code>")):
                inner = escape(to_plain(inner), quote=False)  # no tags inside code
            pieces.append(f"{start}{inner}{end}")
        else:
            pieces.append(escape(draw(raw_text()), quote=False))
    return "".join(pieces)


def check_parts(html: str, parts: list[str], limits: list[int]) -> None:
    for index, part in enumerate(parts):
        text, _ = parse_html(part)  # raises on anything Telegram would refuse
        assert utf16_len(text) <= limits[min(index, len(limits) - 1)]
        assert text.strip(), "an empty part would be refused"


@settings(max_examples=400, deadline=None)
@given(html=markup(), limit=st.integers(2, 120), first=st.none() | st.integers(2, 60))
def test_parts_fit_are_well_formed_and_give_back_the_text(
    html: str, limit: int, first: int | None
) -> None:
    limits = [first if first is not None else limit, limit]
    raw = _raw_parts(html, limits)
    assert "".join(to_plain(p) for p in raw) == to_plain(html)
    for index, part in enumerate(raw):
        text, _ = parse_html(part)  # raises on anything Telegram would refuse
        assert utf16_len(text) <= limits[min(index, 1)]
    parts = split_html(html, limit, first=first)
    assert all(parse_html(p)[0].strip() for p in parts)
    # Only parts of white space alone are left out (Telegram would refuse them).
    assert [p for p in raw if to_plain(p).strip()] == parts


@settings(max_examples=200, deadline=None)
@given(html=markup(), limit=st.integers(3, 120))
def test_a_cut_fits_and_is_well_formed(html: str, limit: int) -> None:
    cut = cut_html(html, limit)
    text, _ = parse_html(cut)
    assert utf16_len(text) <= limit
    if text_length(html) <= limit:
        assert cut == html
    else:
        assert text.endswith("…")
        assert to_plain(html).startswith(text[:-1].rstrip())


def test_a_long_bold_reply_is_closed_and_reopened() -> None:
    html = "<b>" + "слово " * 700 + "</b>"  # 4200 characters of bold text
    parts = split_html(html)
    assert len(parts) == 2
    check_parts(html, parts, [MAX_TEXT])
    assert parts[0].startswith("<b>") and parts[0].endswith(" </b>")
    assert parts[1].startswith("<b>слово") and parts[1].endswith("</b>")


def test_the_limit_counts_the_text_not_the_markup() -> None:
    html = escape("<&>" * 1365 + "<")  # 4096 characters, 17 745 escaped
    assert len(html) > 17000
    assert split_html(html) == [html]
    assert cut_html(html) == html
    parts = split_html(html + "&amp;")
    assert len(parts) == 2 and all(parse_html(p) for p in parts)
    assert "".join(to_plain(p) for p in parts) == to_plain(html) + "&"


def test_emoji_count_twice_and_are_never_halved() -> None:
    html = "😀" * 3000  # 6000 UTF-16 code units
    parts = split_html(html)
    assert [utf16_len(p) for p in parts] == [4096, 1904]


def test_attributes_come_back_with_the_tag() -> None:
    html = (
        '<blockquote expandable><a href="https://x.org/?a=1&amp;b=2">'
        + "x" * 20
        + "</a></blockquote>"
    )
    parts = split_html(html, 10)
    assert (
        parts
        == [
            '<blockquote expandable><a href="https://x.org/?a=1&amp;b=2">'
            + "x" * 10
            + "</a></blockquote>"
        ]
        * 2
    )
    code = '<pre><code class="language-sql">' + "select 1;\n" * 3 + "</code></pre>"
    first, *rest = split_html(code, 12)
    assert first == '<pre><code class="language-sql">select 1;\n</code></pre>'
    assert all(p.startswith('<pre><code class="language-sql">') for p in rest)


def test_breaks_are_preferred_paragraph_then_line_then_space() -> None:
    paragraph = "a" * 60 + "\n\n" + "b" * 20 + "\n" + "c" * 5 + " " + "d" * 30
    assert [to_plain(p) for p in split_html(paragraph, 100)] == [
        "a" * 60 + "\n\n",
        "b" * 20 + "\n" + "c" * 5 + " " + "d" * 30,
    ]
    line = "a" * 30 + "\n\n" + "b" * 40 + "\n" + "c" * 5 + " " + "d" * 30
    assert to_plain(split_html(line, 100)[0]) == "a" * 30 + "\n\n" + "b" * 40 + "\n"
    space = "a" * 30 + "\n" + "b" * 40 + " " + "c" * 40
    assert to_plain(split_html(space, 100)[0]) == "a" * 30 + "\n" + "b" * 40 + " "
    # A break too early would leave a stub: the cut is hard then.
    assert to_plain(split_html("ab " + "c" * 100, 50)[0]) == "ab " + "c" * 47


def test_caption_first_then_messages() -> None:
    html = "<i>" + "w " * 1500 + "</i>"
    parts = split_html(html, first=MAX_CAPTION)
    check_parts(html, parts, [MAX_CAPTION, MAX_TEXT])
    assert text_length(parts[0]) <= MAX_CAPTION < text_length(parts[0]) + 3


def test_white_space_only_gives_no_parts() -> None:
    assert split_html("") == []
    assert split_html("<b> \n </b>") == []
    assert [to_plain(p).strip() for p in split_html(" " * 5000 + "x")] == ["x"]


def test_plain_text_is_cut_by_code_units_between_characters() -> None:
    assert cut_text("😀😀😀", 5) == "😀😀"
    assert cut_text("ab😀", 3) == "ab"
    assert cut_text("abc", 10) == "abc"
