"""Every text exists in both languages with the same placeholders."""

from __future__ import annotations

import string

import pytest

from locales import LOCALES, Texts, catalog, pick_locale


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_same_keys_and_placeholders_in_every_language() -> None:
    reference = catalog(LOCALES[0])
    assert reference
    for locale in LOCALES[1:]:
        other = catalog(locale)
        assert other.keys() == reference.keys(), locale
        for key, template in reference.items():
            assert placeholders(other[key]) == placeholders(template), (locale, key)


@pytest.mark.parametrize(
    ("code", "expected"), [("ru", "ru"), ("en-GB", "en"), ("de", "ru"), (None, "ru")]
)
def test_pick_locale(code: str | None, expected: str) -> None:
    assert pick_locale(code) == expected


def test_missing_key_falls_back_then_fails() -> None:
    with pytest.raises(KeyError):
        Texts("en")("no.such.key")
    assert "Call to Visit" in Texts("en")("start.greeting", name="Ann", hours="07:00-23:00")
