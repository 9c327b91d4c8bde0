"""Every text exists in both languages with the same variables, and renders as sent to Telegram."""

from __future__ import annotations

from pathlib import Path

import pytest
from fluent.syntax import FluentParser, ast
from fluent.syntax.visitor import Visitor

import locales
from locales import LOCALES, Texts, catalog, pick_locale

LOCALES_DIR = Path(locales.__file__).resolve().parent


class _Variables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_VariableReference(self, node: ast.VariableReference) -> None:
        self.names.add(node.id.name)


def variables_by_message(locale: str) -> dict[str, set[str]]:
    """Each message of a language's files with the variables it uses, selectors included."""
    found: dict[str, set[str]] = {}
    for path in sorted((LOCALES_DIR / locale).glob("*.ftl")):
        resource = FluentParser().parse(path.read_text(encoding="utf-8"))
        for entry in resource.body:
            assert not isinstance(entry, ast.Junk), (locale, path.name, entry.content)
            if isinstance(entry, ast.Message):
                assert entry.id.name not in found, (locale, entry.id.name)
                visitor = _Variables()
                visitor.visit(entry)
                found[entry.id.name] = visitor.names
    return found


def test_same_messages_and_variables_in_every_language() -> None:
    reference = variables_by_message(LOCALES[0])
    assert reference
    for locale in LOCALES[1:]:
        other = variables_by_message(locale)
        assert other.keys() == reference.keys(), (locale, other.keys() ^ reference.keys())
        for name, variables in reference.items():
            assert other[name] == variables, (locale, name)


def test_the_same_files_in_every_language() -> None:
    names = {loc: sorted(p.name for p in (LOCALES_DIR / loc).glob("*.ftl")) for loc in LOCALES}
    assert names[LOCALES[0]]
    assert all(files == names[LOCALES[0]] for files in names.values()), names


def test_catalog_keys_are_the_dotted_keys_callers_use() -> None:
    keys = catalog("en")
    assert "start.greeting" in keys
    assert "notify.closed.auto" in keys
    assert "priority.1" in keys
    assert keys.keys() == catalog("ru").keys()


@pytest.mark.parametrize(
    ("code", "expected"), [("ru", "ru"), ("en-GB", "en"), ("de", "ru"), (None, "ru")]
)
def test_pick_locale(code: str | None, expected: str) -> None:
    assert pick_locale(code) == expected


def test_missing_key_falls_back_then_fails() -> None:
    with pytest.raises(KeyError):
        Texts("en")("no.such.key")
    assert "Call to Visit" in Texts("en")("start.greeting", name="Ann", start="07:00", end="23:00")


def test_missing_variable_fails_instead_of_sending_a_broken_text() -> None:
    with pytest.raises(KeyError, match="number"):
        Texts("ru")("done.added")


def test_long_values_go_in_whole() -> None:
    # customers' descriptions reach Telegram's 4,096 characters; Fluent's own limit is lower
    long = "я" * 5000
    assert (
        Texts("ru")("backoffice.event.comment", comment=long) == f"<blockquote>{long}</blockquote>"
    )


def test_values_go_in_as_they_are() -> None:
    # no isolation marks around values, no locale grouping of numbers, HTML kept
    for locale in LOCALES:
        text = Texts(locale)("backoffice.card.title", emoji="🆕", number=1042, kind="K", priority=3)
        assert "\u2068" not in text
        assert "\u2069" not in text
        assert text.startswith("🆕 <b>1042</b> · K · 3")
    assert Texts("en")("intake.clean_copy", number=12345, maximum=-1000).startswith(
        "Screenshot 12345 of -1000 "
    )


@pytest.mark.parametrize(
    ("length", "word"),
    [
        (1, "1 символ,"),
        (2, "2 символа,"),
        (5, "5 символов,"),
        (11, "11 символов,"),
        (21, "21 символ,"),
    ],
)
def test_russian_plural_forms(length: int, word: str) -> None:
    text = Texts("ru")("intake.bad.too_long", length=length, maximum=100)
    assert text.startswith(f"Слишком длинно: {word} а можно не больше 100.")


@pytest.mark.parametrize(("length", "word"), [(1, "1 character,"), (2, "2 characters,")])
def test_english_plural_forms(length: int, word: str) -> None:
    assert Texts("en")("intake.bad.too_long", length=length, maximum=100).startswith(
        f"Too long: {word} the limit is 100."
    )


def test_a_count_of_one_in_the_intake() -> None:
    assert "1 символ," in Texts("ru")("intake.bad.too_short", length=1, minimum=10)
    assert "(всего 4001 символ," in Texts("ru")("intake.truncated", length=4001)
    assert "не больше 1 скриншота —" in Texts("ru")("intake.bad.too_many_screenshots", maximum=1)
    assert "at least 1 is needed" in Texts("en")("intake.bad.too_short", length=0, minimum=1)
