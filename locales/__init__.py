"""Texts of the desk, per language: ``ru/`` (default) and ``en/``.

Each language is a folder of Project Fluent files, one per area
(``common.ftl``, ``intake.ftl``, ``backoffice.ftl``…), merged into one
catalogue; a message may be defined once per language. Values may contain
Telegram HTML tags; values inserted into HTML messages are escaped by the
caller's renderer.

Conventions of this wrapper, so that callers need not know about Fluent:

* Keys stay dotted as callers know them (``start.greeting``); Fluent
  identifiers cannot contain dots, so the message for a key is its key with
  every dot replaced by ``-`` (``start-greeting``). Keys themselves use ``_``
  and never ``-``, so the mapping is one-to-one. :func:`message_id` is the
  only place that does it.
* Interpolations are not wrapped in Unicode isolation marks
  (``use_isolating=False``): Telegram shows them as stray characters.
* An ``int`` argument renders exactly as ``str()`` renders it (no locale
  grouping: request numbers and ids must not become ``1 042``), yet stays a
  number, so a message may select a plural form on it
  (``{ $count -> [one] … *[other] … }``). Every other argument renders as
  ``format(value, "")``, as ``str.format`` did before.
* A missing key, a missing argument or a malformed file raises instead of
  sending a broken text.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

from fluent.runtime import FluentBundle, resolver
from fluent.runtime.types import fluent_number
from fluent.syntax import FluentParser, FluentSerializer
from fluent.syntax import ast as ftl

LOCALES = ("ru", "en")

# fluent.runtime refuses any placeable longer than this many characters (a guard
# against hostile translations), yet customers' descriptions and agents' replies
# run to Telegram's 4,096 and are ours to send. Checked so that a library that
# renames the limit fails here instead of in a customer's chat.
if not hasattr(resolver, "MAX_PART_LENGTH"):
    raise ImportError("fluent.runtime.resolver.MAX_PART_LENGTH is gone: review locales/")
resolver.MAX_PART_LENGTH = 1_000_000

_DIR = Path(__file__).resolve().parent


def message_id(key: str) -> str:
    """The Fluent message that holds the text of a dotted key."""
    return key.replace(".", "-")


def key_of(identifier: str) -> str:
    """The dotted key of a Fluent message (the inverse of :func:`message_id`)."""
    return identifier.replace("-", ".")


@cache
def resources(locale: str) -> tuple[ftl.Resource, ...]:
    """The parsed files of a language, checked: no syntax errors, no message defined twice."""
    parsed: list[ftl.Resource] = []
    seen: dict[str, str] = {}
    parser = FluentParser()
    for path in sorted((_DIR / locale).glob("*.ftl")):
        resource = parser.parse(path.read_text(encoding="utf-8"))
        for entry in resource.body:
            if isinstance(entry, ftl.Junk):
                # fluent.runtime would silently skip a broken entry; a text must not vanish
                problems = "; ".join(str(a.message) for a in entry.annotations)
                raise ValueError(f"{locale}/{path.name}: {problems}: {entry.content!r}")
            if isinstance(entry, ftl.Message):
                name = entry.id.name
                if name in seen:
                    raise ValueError(f"{path.name} redefines {key_of(name)} ({locale})")
                seen[name] = path.name
        parsed.append(resource)
    return tuple(parsed)


@cache
def catalog(locale: str) -> dict[str, str]:
    """Every dotted key of a language with the Fluent source of its value."""
    serializer = FluentSerializer()
    merged: dict[str, str] = {}
    for resource in resources(locale):
        for entry in resource.body:
            if isinstance(entry, ftl.Message) and entry.value is not None:
                source = serializer.serialize_entry(entry)
                merged[key_of(entry.id.name)] = source.split("=", 1)[1].strip()
    return merged


@cache
def bundle(locale: str) -> FluentBundle:
    result = FluentBundle([locale], use_isolating=False)
    for resource in resources(locale):
        result.add_resource(resource)
    return result


def pick_locale(language_code: str | None, default: str = "ru") -> str:
    """The user's Telegram language when we speak it, else the desk's default."""
    if language_code:
        base = language_code.split("-")[0].lower()
        if base in LOCALES:
            return base
    return default


def _argument(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return fluent_number(value, useGrouping=False)
    return format(value, "")


# Formatting with Fluent costs a tenth of a millisecond or more, and a window asks for
# a score of texts on every render (every button label, its step's prompt with the
# same limits every time). A text is a function of its language, key and arguments,
# so the latest ones are kept; arguments other than plain strings and numbers
# (whose rendering could depend on more than their value) are formatted each time.
FORMATTED_KEPT = 4096


class Texts:
    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in LOCALES else LOCALES[0]

    def __call__(self, key: str, **values: object) -> str:
        items = tuple(values.items())
        if all(type(value) is str or type(value) is int for _, value in items):
            return _formatted(self.locale, key, items)
        return _format(self.locale, key, values)


def _format(locale: str, key: str, values: dict[str, object]) -> str:
    name = message_id(key)
    own = bundle(locale)
    source = own if own.has_message(name) else bundle(LOCALES[0])
    if not source.has_message(name):
        raise KeyError(f"no text {key!r} in locale {locale}")
    pattern = source.get_message(name).value
    if pattern is None:
        raise KeyError(f"text {key!r} has no value in locale {locale}")
    arguments = {arg: _argument(value) for arg, value in values.items()}
    text, errors = source.format_pattern(pattern, arguments)
    if errors:
        raise KeyError(f"text {key!r} ({locale}): {'; '.join(map(str, errors))}")
    return str(text)


@lru_cache(maxsize=FORMATTED_KEPT)
def _formatted(locale: str, key: str, items: tuple[tuple[str, object], ...]) -> str:
    return _format(locale, key, dict(items))
