"""Telegram HTML: plain text, length as Telegram counts it, splitting and cutting.

Message texts the desk keeps (replies, questions, answers, notes, customers'
follow-ups) are Telegram HTML as aiogram's ``html_text`` gives it, so that
formatting reaches the other side. Request fields (topic, description,
technical details) and reasons are plain text. Where HTML must be shown as
plain text (history lines, previews, a new request split from a message),
:func:`to_plain` turns it back.

Telegram limits a message to 4096 and a caption to 1024 characters of the
text *after* entity parsing, counted in UTF-16 code units: ``&lt;`` is one
character, ``<b>`` none. :func:`split_html` is the one way a long text is cut
into messages: by that count, never inside a tag or an entity, with the tags
open at a cut closed at the end of a part and opened again (attributes and
all) at the start of the next; it prefers a paragraph break, then a line
break, then a space. :func:`cut_html` keeps only the first part, with "…",
for what must stay one message (an edit, a card).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser

from desk.values import plain_text

MAX_TEXT = 4096
MAX_CAPTION = 1024
ELLIPSIS = "…"
# A break is taken only if the part keeps at least this share of its room:
# cutting at a far-away paragraph would make many short messages.
_MIN_FILL = 0.5
_BREAKS = ("\n\n", "\n", " ")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def cut_text(raw: str, units: int) -> str:
    """The longest prefix of plain ``raw`` of at most ``units`` UTF-16 code units."""
    used = 0
    for index, char in enumerate(raw):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return raw[:index]
    return raw


def to_plain(html: str) -> str:
    """The text of Telegram HTML: tags dropped, entities decoded."""
    return plain_text(html)


def text_length(html: str) -> int:
    """What Telegram counts against its limits: UTF-16 code units of the parsed text."""
    return utf16_len(to_plain(html))


@dataclass(frozen=True)
class _Tag:
    name: str
    start: str  # the start tag as written, so it opens again with its attributes


@dataclass(frozen=True)
class _Open:
    tag: _Tag


@dataclass(frozen=True)
class _Close:
    name: str


_Token = str | _Open | _Close


class _Tokens(HTMLParser):
    """Text (decoded), start and end tags, in order; comments and the like dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[_Token] = []

    def handle_data(self, data: str) -> None:
        if data:
            self.tokens.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tokens.append(_Open(_Tag(tag, self.get_starttag_text() or f"<{tag}>")))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass  # Telegram has no empty elements; nothing to show, nothing to keep

    def handle_endtag(self, tag: str) -> None:
        self.tokens.append(_Close(tag))


def _tokens(html: str) -> list[_Token]:
    parser = _Tokens()
    parser.feed(html)
    parser.close()
    return parser.tokens


def _cut_points(text: str, limits: list[int]) -> list[int]:
    """Where to end each part of ``text`` (code point offsets), the last being len(text)."""
    points: list[int] = []
    start = 0
    while start < len(text):
        limit = limits[min(len(points), len(limits) - 1)]
        end, used = start, 0
        while end < len(text):
            size = 2 if ord(text[end]) > 0xFFFF else 1
            if used + size > limit:
                break
            used += size
            end += 1
        if end >= len(text):
            points.append(len(text))
            break
        cut = end
        floor = start + max(1, int((end - start) * _MIN_FILL))
        for mark in _BREAKS:
            at = text.rfind(mark, floor, end)
            if at >= 0:
                cut = at + len(mark)
                break
        if cut <= start:  # a limit below one character: one character per part anyway
            cut = start + 1
        points.append(cut)
        start = cut
    return points


def _raw_parts(html: str, limits: list[int]) -> list[str]:
    """Every part, including parts with nothing but white space in them."""
    tokens = _tokens(html)
    text = "".join(t for t in tokens if isinstance(t, str))
    points = _cut_points(text, limits)
    parts: list[str] = []
    stack: list[_Tag] = []
    current: list[str] = []
    position = 0  # in ``text``, code points
    cut_index = 0

    def next_cut() -> int:
        return points[cut_index] if cut_index < len(points) else len(text)

    def finish() -> None:
        nonlocal current, cut_index
        current.extend(f"</{tag.name}>" for tag in reversed(stack))
        parts.append("".join(current))
        current = [tag.start for tag in stack]
        cut_index += 1

    for token in tokens:
        if isinstance(token, _Close):
            # An end tag right at a cut still belongs to the part it closes.
            if any(tag.name == token.name for tag in stack):
                while stack:
                    tag = stack.pop()
                    current.append(f"</{tag.name}>")
                    if tag.name == token.name:
                        break
            continue
        if position == next_cut() and position < len(text):
            finish()
        if isinstance(token, _Open):
            stack.append(token.tag)
            current.append(token.tag.start)
            continue
        piece = token
        while piece:
            room = next_cut() - position
            if room <= 0:
                finish()
                continue
            head, piece = piece[:room], piece[room:]
            current.append(escape(head, quote=False))
            position += len(head)
            if piece:
                finish()
    current.extend(f"</{tag.name}>" for tag in reversed(stack))
    parts.append("".join(current))
    return parts


def split_html(html: str, limit: int = MAX_TEXT, *, first: int | None = None) -> list[str]:
    """``html`` in parts of at most ``limit`` characters each as Telegram counts them.

    ``first`` is the first part's limit when it differs (a caption, then messages).
    Parts with no visible text are left out (Telegram refuses an empty message);
    so text made only of white space gives no parts at all.
    """
    limits = [first if first is not None else limit, limit]
    return [part for part in _raw_parts(html, limits) if to_plain(part).strip()]


def cut_html(html: str, limit: int = MAX_TEXT) -> str:
    """``html`` as one message of at most ``limit``: cut with "…" when it is longer."""
    if text_length(html) <= limit:
        return html
    return _raw_parts(html, [max(limit - 1, 1)])[0] + ELLIPSIS
