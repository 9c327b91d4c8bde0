"""The Bot API contract, read from the machine-readable schema shipped in this package.

The emulator checks every call against it (parameters, their types, nested objects) and
checks its own answers against it too, so both sides stay honest about the real API.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_ENV = "TELEGRAM_SCHEMA_PATH"
SCHEMA_FILE = "bot-api-10.1.json"
PRIMITIVES = frozenset({"Integer", "String", "Boolean", "Float", "InputFile"})
# "always "x"" / "must be x" in a field description marks the discriminator of a subtype.
_DISCRIMINATOR_RE = re.compile(r'(?:must be|always) "?([a-z_]+)"?')
_DISCRIMINATOR_FIELDS = ("type", "status", "source")
# Fields newer than the schema file that aiogram 3.31 (Bot API 10.3) already requires, so
# the emulator must send them: {type: {field: types}}.
NEWER_REQUIRED_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "ChatMemberAdministrator": {"can_send_welcome_messages": ("Boolean",)},
    "ChatAdministratorRights": {"can_send_welcome_messages": ("Boolean",)},
}


def packaged_schema_path() -> Path:
    """The schema file that ships beside this module (see README.md in this folder)."""
    return Path(__file__).resolve().with_name(SCHEMA_FILE)


def default_schema_path() -> Path:
    override = os.environ.get(SCHEMA_ENV)
    if override:
        return Path(override)
    return packaged_schema_path()


class SchemaMissingError(RuntimeError):
    pass


@dataclass(frozen=True)
class FieldSpec:
    name: str
    types: tuple[str, ...]
    required: bool
    description: str


@dataclass
class UploadedFile:
    """A multipart part that carried a file."""

    name: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class TypeErrorInfo:
    path: str
    expected: str

    def __str__(self) -> str:
        return f'field "{self.path}" must be of type {self.expected}'


@dataclass
class ObjectSpec:
    name: str
    fields: dict[str, FieldSpec]
    subtypes: tuple[str, ...] = ()
    discriminator: tuple[str, str] | None = None


@dataclass
class MethodSpec:
    name: str
    fields: dict[str, FieldSpec]
    returns: tuple[str, ...]


@dataclass
class Schema:
    methods: dict[str, MethodSpec]
    types: dict[str, ObjectSpec]
    version: str
    _lower: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lower = {name.lower(): name for name in self.methods}

    def canonical_method(self, name: str) -> str | None:
        # Telegram treats method names case-insensitively.
        return self._lower.get(name.lower())

    # --- checking values -------------------------------------------------------------

    def check_value(
        self, value: Any, types: tuple[str, ...], path: str, *, strict_objects: bool = True
    ) -> tuple[Any, list[str]]:
        """Check a value against a union of schema types.

        Returns the value converted to its JSON shape (form bodies carry strings) and the
        list of problems; the first alternative without problems wins.
        """
        best: tuple[Any, list[str]] | None = None
        for type_name in types:
            converted, errors = self._check_one(value, type_name, path, strict_objects)
            if not errors:
                return converted, []
            if best is None or len(errors) < len(best[1]):
                best = (converted, errors)
        assert best is not None
        return best

    def _check_one(
        self, value: Any, type_name: str, path: str, strict_objects: bool
    ) -> tuple[Any, list[str]]:
        if type_name.startswith("Array of "):
            inner = type_name[len("Array of ") :]
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    return value, [f'field "{path}" must be of type {type_name}']
            if not isinstance(value, list):
                return value, [f'field "{path}" must be of type {type_name}']
            out: list[Any] = []
            errors: list[str] = []
            for index, item in enumerate(value):
                conv, errs = self._check_one(item, inner, f"{path}[{index}]", strict_objects)
                out.append(conv)
                errors.extend(errs)
            return out, errors
        if type_name == "Integer":
            if isinstance(value, bool):
                return value, [f'field "{path}" must be of type Integer']
            if isinstance(value, int):
                return value, []
            if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
                return int(value), []
            return value, [f'field "{path}" must be of type Integer']
        if type_name == "Float":
            if isinstance(value, bool):
                return value, [f'field "{path}" must be of type Float']
            if isinstance(value, int | float):
                return float(value), []
            if isinstance(value, str):
                try:
                    return float(value), []
                except ValueError:
                    pass
            return value, [f'field "{path}" must be of type Float']
        if type_name == "Boolean":
            if isinstance(value, bool):
                return value, []
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
                return value.lower() in ("true", "1"), []
            return value, [f'field "{path}" must be of type Boolean']
        if type_name == "String":
            if isinstance(value, str):
                return value, []
            return value, [f'field "{path}" must be of type String']
        if type_name == "InputFile":
            if isinstance(value, UploadedFile):
                return value, []
            return value, [f'field "{path}" must be an uploaded file']
        spec = self.types.get(type_name)
        if spec is None:
            return value, [f'field "{path}" has unknown schema type {type_name}']
        if isinstance(value, str):
            # Form bodies (and lenient JSON callers) carry objects JSON-encoded.
            try:
                value = json.loads(value)
            except ValueError:
                return value, [f'field "{path}" must be a JSON-serialized {type_name}']
        if spec.subtypes:
            return self._check_union_object(value, spec, path, strict_objects)
        return self.check_object(value, type_name, path, strict_objects=strict_objects)

    def _check_union_object(
        self, value: Any, spec: ObjectSpec, path: str, strict_objects: bool
    ) -> tuple[Any, list[str]]:
        if not isinstance(value, dict):
            return value, [f'field "{path}" must be of type {spec.name}']
        candidates = [self.types[s] for s in spec.subtypes if s in self.types]
        for candidate in candidates:
            if candidate.discriminator is not None:
                key, expected = candidate.discriminator
                if value.get(key) == expected:
                    return self.check_object(
                        value, candidate.name, path, strict_objects=strict_objects
                    )
        for candidate in candidates:
            if candidate.discriminator is None:
                conv, errs = self.check_object(
                    value, candidate.name, path, strict_objects=strict_objects
                )
                if not errs:
                    return conv, errs
        return value, [f'field "{path}" is not any of {", ".join(spec.subtypes)}']

    def check_object(
        self, value: Any, type_name: str, path: str, *, strict_objects: bool = True
    ) -> tuple[Any, list[str]]:
        spec = self.types[type_name]
        if not isinstance(value, dict):
            return value, [f'field "{path}" must be of type {type_name}']
        errors: list[str] = []
        out: dict[str, Any] = {}
        for key, item in value.items():
            field_spec = spec.fields.get(key)
            if field_spec is None:
                if strict_objects:
                    errors.append(f'field "{path}.{key}" is unknown in type {type_name}')
                continue
            conv, errs = self.check_value(
                item, field_spec.types, f"{path}.{key}", strict_objects=strict_objects
            )
            out[key] = conv
            errors.extend(errs)
        for name, field_spec in spec.fields.items():
            if field_spec.required and name not in value:
                errors.append(f'field "{path}.{name}" of type {type_name} is required')
        if spec.discriminator is not None:
            key, expected = spec.discriminator
            if key in value and value[key] != expected:
                errors.append(f'field "{path}.{key}" must be "{expected}" in type {type_name}')
        return out, errors


def _discriminator(fields: dict[str, FieldSpec]) -> tuple[str, str] | None:
    for key in _DISCRIMINATOR_FIELDS:
        spec = fields.get(key)
        if spec is not None:
            match = _DISCRIMINATOR_RE.search(spec.description)
            if match:
                return key, match.group(1)
    return None


def _fields(raw: list[dict[str, Any]]) -> dict[str, FieldSpec]:
    return {
        f["name"]: FieldSpec(
            name=f["name"],
            types=tuple(f["types"]),
            required=bool(f.get("required")),
            description=f.get("description", ""),
        )
        for f in raw
    }


@lru_cache(maxsize=4)
def load_schema(path: str | None = None) -> Schema:
    schema_path = Path(path) if path else default_schema_path()
    if not schema_path.is_file():
        raise SchemaMissingError(
            f"Telegram Bot API schema not found at {schema_path}. It ships in the tgemulator "
            f"package as schema/{SCHEMA_FILE}; {SCHEMA_ENV}, when set, overrides it."
        )
    raw = json.loads(schema_path.read_text(encoding="utf-8"))
    methods = {
        name: MethodSpec(
            name=name, fields=_fields(m.get("fields", [])), returns=tuple(m["returns"])
        )
        for name, m in raw["methods"].items()
    }
    types: dict[str, ObjectSpec] = {}
    for name, t in raw["types"].items():
        fields = _fields(t.get("fields", []))
        for extra, extra_types in NEWER_REQUIRED_FIELDS.get(name, {}).items():
            fields.setdefault(extra, FieldSpec(extra, extra_types, False, "newer Bot API"))
        types[name] = ObjectSpec(
            name=name,
            fields=fields,
            subtypes=tuple(t.get("subtypes", [])),
            discriminator=_discriminator(fields) if t.get("subtype_of") else None,
        )
    return Schema(methods=methods, types=types, version=str(raw.get("version", "")))
