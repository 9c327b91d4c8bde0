"""Tariffs as data (R7, R11): an administrator's TOML file, read and checked before start-up.

The file (named by ``TARIFFS_FILE``) lists every tariff by its code::

    [tariffs.standard]
    name = "Стандарт"
    default = true                 # exactly one tariff is the default
    business_days_only = false     # optional: the SLA clock stops on days off
    # per priority: first response and resolution, in support-hours minutes
    targets.P1 = { first_response = 60, resolution = 480 }
    targets.P2 = { first_response = 120, resolution = 960 }
    targets.P3 = { first_response = 240, resolution = 2880 }
    targets.P4 = { first_response = 480, resolution = 4800 }

Applying it (``Desk.apply_tariffs``) creates the tariffs it names and updates
those that exist; a tariff the file no longer names stays in the database,
because organisations and requests refer to it, but is no longer the default.
Requests keep the tariff they were filed under; new due times follow the new
targets. Any problem is one line naming the file, the line and what is wrong
(:class:`TariffsFileError`), and the desk does not start.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from desk.model import Priority

CODE = re.compile(r"^[a-z0-9_-]{1,32}$")
# A year of support hours: anything above is a typo, not a target.
MINUTES_MAX = 365 * 16 * 60


class TariffsFileError(Exception):
    """One line for the operator: the file, the line, the problem."""


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid")
    first_response: Annotated[StrictInt, Field(ge=1, le=MINUTES_MAX)]
    resolution: Annotated[StrictInt, Field(ge=1, le=MINUTES_MAX)]


class _Tariff(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)]
    default: StrictBool = False
    business_days_only: StrictBool = False
    targets: dict[Literal["P1", "P2", "P3", "P4"], _Target]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tariffs: dict[str, _Tariff]


@dataclass(frozen=True)
class TariffSpec:
    """One tariff as the file sets it: targets are priority -> (first response, resolution)."""

    code: str
    name: str
    default: bool
    business_days_only: bool
    targets: dict[int, tuple[int, int]]


def _lines(text: str) -> dict[tuple[str, ...], int]:
    """Where each table and key is written: dotted path -> line number (1-based)."""
    where: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = re.match(r"^\[+([^\]]+)\]+", line)
        if header:
            table = _path(header.group(1))
            path = table
        else:
            key = re.match(r"^([A-Za-z0-9_.\"' -]+?)\s*=", line)
            if not key:
                continue
            path = (*table, *_path(key.group(1)))
        # A dotted key or table also says where its parents are first written.
        for end in range(1, len(path) + 1):
            where.setdefault(path[:end], number)
    return where


def _path(dotted: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in dotted.split("."))


def _line_of(where: dict[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    for end in range(len(path), 0, -1):
        if path[:end] in where:
            return where[path[:end]]
    return None


def parse_tariffs(text: str, name: str = "TARIFFS_FILE") -> list[TariffSpec]:
    """The tariffs a file's text sets, or :class:`TariffsFileError` naming ``name`` and the line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # tomllib says "... (at line L, column C)": keep its words, lead with the line.
        message = str(error)
        found = re.search(r"\(at line (\d+), column \d+\)", message)
        if found:
            problem = message[: found.start()].strip()
            raise TariffsFileError(f"{name}, line {found.group(1)}: {problem}") from None
        raise TariffsFileError(f"{name}: {message}") from None
    where = _lines(text)
    try:
        parsed = _File.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        path = tuple(str(p) for p in first["loc"])
        line = _line_of(where, path)
        at = f", line {line}" if line else ""
        field = ".".join(path)
        raise TariffsFileError(f"{name}{at}: {field}: {first['msg']}") from None

    def fail(path: tuple[str, ...], problem: str) -> TariffsFileError:
        line = _line_of(where, path)
        at = f", line {line}" if line else ""
        return TariffsFileError(f"{name}{at}: {'.'.join(path)}: {problem}")

    if not parsed.tariffs:
        raise fail(("tariffs",), "names no tariff")
    specs: list[TariffSpec] = []
    for code, tariff in parsed.tariffs.items():
        if not CODE.match(code):
            raise fail(("tariffs", code), "a code is 1-32 of a-z, 0-9, _ and -")
        missing = [p.label for p in Priority if p.label not in tariff.targets]
        if missing:
            raise fail(("tariffs", code, "targets"), f"no targets for {', '.join(missing)}")
        for label, target in tariff.targets.items():
            if target.resolution < target.first_response:
                raise fail(
                    ("tariffs", code, "targets", label),
                    "resolution must not come before the first response",
                )
        specs.append(
            TariffSpec(
                code=code,
                name=tariff.name,
                default=tariff.default,
                business_days_only=tariff.business_days_only,
                targets={
                    int(label[1:]): (t.first_response, t.resolution)
                    for label, t in tariff.targets.items()
                },
            )
        )
    defaults = [s.code for s in specs if s.default]
    if len(defaults) != 1:
        named = ", ".join(defaults) if defaults else "none"
        raise fail(("tariffs",), f"exactly one tariff must have default = true (found: {named})")
    return specs


def read_tariffs(path: Path) -> list[TariffSpec]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise TariffsFileError(f"TARIFFS_FILE {path}: cannot be read ({reason})") from None
    return parse_tariffs(text, f"TARIFFS_FILE {path}")
