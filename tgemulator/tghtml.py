"""Telegram's HTML parse mode: the supported tags, entity decoding and error wording.

Error texts and byte offsets follow what the real server answers, so a test failing here
reads like the production log line the same mistake would produce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
SUPPORTED_TAGS = {*SIMPLE_TAGS, "span", "a", "tg-emoji", "blockquote"}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAME_RE = re.compile(r"[A-Za-z0-9-]*")


class HtmlParseError(ValueError):
    """The description after "Bad Request: can't parse entities: "."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    tag: str
    start16: int
    attrs: dict[str, str] = field(default_factory=dict)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, index: int) -> tuple[str, int] | None:
    match = _ENTITY_RE.match(text, index)
    if match is None:
        return None
    named, dec, hexa = match.groups()
    if named:
        return NAMED_ENTITIES[named], match.end()
    code = int(dec) if dec else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def _decode_attr(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            decoded = _decode_entity(value, i)
            if decoded is not None:
                out.append(decoded[0])
                i = decoded[1]
                continue
        out.append(value[i])
        i += 1
    return "".join(out)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Return the plain text and its entities (offsets in UTF-16 code units)."""
    out: list[str] = []
    pos16 = 0
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "&":
            decoded = _decode_entity(text, i)
            if decoded is None:
                # Telegram itself lets a stray "&" through, but then "&lt;"-style mistakes
                # in user data slip by unnoticed; the emulator insists on escaping.
                raise HtmlParseError(
                    f'Character "&" is reserved and must be escaped with "&amp;" '
                    f"at byte offset {_byte_offset(text, i)}"
                )
            out.append(decoded[0])
            pos16 += utf16_len(decoded[0])
            i = decoded[1]
            continue
        if ch != "<":
            out.append(ch)
            pos16 += utf16_len(ch)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            i += 1
            name_match = _NAME_RE.match(text, i)
            assert name_match is not None
            name = name_match.group(0).lower()
            i = name_match.end()
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != ">":
                raise HtmlParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            i += 1
            if not stack:
                raise HtmlParseError(
                    f"Unexpected end tag at byte offset {_byte_offset(text, begin)}"
                )
            top = stack[-1]
            if name != top.tag:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{top.tag}>", found "</{name}>"'
                )
            stack.pop()
            _close(top, pos16, stack, entities)
            continue
        name_match = _NAME_RE.match(text, i)
        assert name_match is not None
        name = name_match.group(0).lower()
        i = name_match.end()
        if name not in SUPPORTED_TAGS:
            raise HtmlParseError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, begin)}'
            )
        attrs: dict[str, str] = {}
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise HtmlParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            if text[i] == ">":
                i += 1
                break
            attr_match = _NAME_RE.match(text, i)
            assert attr_match is not None
            attr = attr_match.group(0).lower()
            i = attr_match.end()
            if not attr:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
            while i < n and text[i].isspace():
                i += 1
            if i < n and text[i] != "=":
                if name == "blockquote" and attr == "expandable":
                    attrs[attr] = ""
                    continue
                raise HtmlParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise HtmlParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            if text[i] in "\"'":
                quote = text[i]
                end = text.find(quote, i + 1)
                if end < 0:
                    raise HtmlParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                    )
                value = text[i + 1 : end]
                i = end + 1
            else:
                start = i
                while i < n and not text[i].isspace() and text[i] != ">":
                    i += 1
                value = text[start:i]
            attrs[attr] = _decode_attr(value)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        stack.append(_Open(tag=name, start16=pos16, attrs=attrs))
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close(top: _Open, pos16: int, stack: list[_Open], entities: list[dict[str, Any]]) -> None:
    length = pos16 - top.start16
    if length <= 0:
        return
    entity: dict[str, Any] = {"offset": top.start16, "length": length}
    if top.tag in SIMPLE_TAGS:
        entity["type"] = SIMPLE_TAGS[top.tag]
        if top.tag == "code" and stack and stack[-1].tag == "pre":
            language = top.attrs.get("class", "")
            if language.startswith("language-"):
                stack[-1].attrs["language"] = language[len("language-") :]
                return
        if top.tag == "pre" and top.attrs.get("language"):
            entity["language"] = top.attrs["language"]
    elif top.tag == "span":
        entity["type"] = "spoiler"
    elif top.tag == "blockquote":
        entity["type"] = "expandable_blockquote" if "expandable" in top.attrs else "blockquote"
    elif top.tag == "a":
        href = top.attrs.get("href")
        if not href:
            return
        entity["type"] = "text_link"
        entity["url"] = href
    elif top.tag == "tg-emoji":
        emoji_id = top.attrs.get("emoji-id")
        if not emoji_id:
            return
        entity["type"] = "custom_emoji"
        entity["custom_emoji_id"] = emoji_id
    entities.append(entity)


def strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace as Telegram does, keeping entities aligned."""
    stripped_left = text.lstrip()
    left16 = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip()
    total16 = utf16_len(result)
    fixed: list[dict[str, Any]] = []
    for entity in entities:
        start = max(0, entity["offset"] - left16)
        end = min(total16, entity["offset"] + entity["length"] - left16)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return result, fixed
