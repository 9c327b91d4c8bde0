"""Telegram HTML and plain text.

Message texts the desk keeps (replies, questions, answers, notes, customers'
follow-ups) are Telegram HTML as aiogram's ``html_text`` gives it, so that
formatting reaches the other side. Request fields (topic, description,
technical details) and reasons are plain text. Where HTML must be shown as
plain text (history lines, previews, a new request split from a message),
:func:`to_plain` turns it back.
"""

from __future__ import annotations

from html.parser import HTMLParser


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def to_plain(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)
