"""Texts of the desk, per language: ``ru/`` (default) and ``en/``.

Each language is a folder of TOML files, one per area (``common.toml``,
``intake.toml``, ``backoffice.toml``…), merged into one catalogue; a key may
be defined once per language. Keys are dotted (``start.greeting``); values
are ``str.format`` templates.
Values inserted into HTML messages are escaped by the caller's renderer; the
templates themselves may contain Telegram HTML tags.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LOCALES = ("ru", "en")
_DIR = Path(__file__).resolve().parent


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalog(locale: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((_DIR / locale).glob("*.toml")):
        with path.open("rb") as file:
            texts = _flatten(tomllib.load(file))
        clash = merged.keys() & texts.keys()
        if clash:
            raise ValueError(f"{path.name} redefines {', '.join(sorted(clash))} ({locale})")
        merged.update(texts)
    return merged


def pick_locale(language_code: str | None, default: str = "ru") -> str:
    """The user's Telegram language when we speak it, else the desk's default."""
    if language_code:
        base = language_code.split("-")[0].lower()
        if base in LOCALES:
            return base
    return default


class Texts:
    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in LOCALES else LOCALES[0]
        self._texts = catalog(self.locale)
        self._fallback = catalog(LOCALES[0])

    def __call__(self, key: str, **values: object) -> str:
        template = self._texts.get(key) or self._fallback.get(key)
        if template is None:
            raise KeyError(f"no text {key!r} in locale {self.locale}")
        return template.format(**values) if values else template
