"""Settings from the environment or a ``.env`` file; the README lists each with its meaning."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from desk.calendar import BusinessCalendar, SupportHours
from desk.digest import DigestSchedule

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/desk.sqlite3"
TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
CLOCK_PATTERN = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def clock_time(value: str) -> time:
    match = CLOCK_PATTERN.match(value.strip())
    if match is None:
        raise ValueError("must be a time of day like 09:00")
    return time(int(match.group(1)), int(match.group(2)))


def weekly_time(value: str) -> tuple[int, time]:
    """ "mon 09:00" -> (0, 09:00)."""
    day, _, at = value.strip().lower().partition(" ")
    if day[:3] not in WEEKDAYS or not at:
        raise ValueError("must be a weekday and a time like mon 09:00")
    return WEEKDAYS.index(day[:3]), clock_time(at)


def _id_set(value: object) -> object:
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(";", ",").split(",")]
        return frozenset(int(p) for p in parts if p)
    return value


class StorageSettings(BaseSettings):
    """What ``migrate`` needs: the database, nothing of Telegram."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["console", "json"] = "console"

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value


class Settings(StorageSettings):
    bot_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org"
    backoffice_chat_id: int
    agent_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    manager_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    redis_url: str = ""
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=1, le=65535)
    api_keys: Annotated[frozenset[str], NoDecode] = frozenset()
    api_rate_limit: int = Field(120, ge=1, le=1_000_000)  # calls a minute per key
    api_max_body_mb: int = Field(32, ge=1, le=1024)
    tariffs_file: str = ""
    link_secret: SecretStr = SecretStr("")
    timezone: str = "Europe/Moscow"
    support_hours: str = "07:00-23:00"
    auto_close_business_days: int = Field(5, ge=1, le=60)
    default_locale: Literal["ru", "en"] = "ru"
    scheduler_interval: float = Field(60.0, gt=0, le=3600)
    startup_retry_seconds: float = Field(60.0, ge=0, le=3600)
    # A poll's whole batch (Telegram hands up to 100 updates at a time): with 64 the
    # rest of each batch waited for slots and the next poll for the batch, and the
    # updates' Redis commands shared fewer trips (bench/README.md: 2.13 → 1.97 ms of
    # CPU per answer on PostgreSQL + Redis, medians of 7 runs, within the noise).
    updates_at_once: int = Field(100, ge=1, le=10_000)
    # Telegram's published ceiling for a bot's sends across all chats; a local Bot
    # API server or a benchmark that measures the desk itself may raise it.
    telegram_max_per_second: int = Field(30, ge=1, le=100_000)
    # Telegram's per-chat pace and per-group budget. Telegram may raise them for a bot;
    # the end-to-end tests raise them together with the emulator's, so that hundreds
    # of cards into one group take seconds instead of ten minutes.
    telegram_chat_per_second: float = Field(1.0, gt=0, le=1_000)
    telegram_group_per_minute: int = Field(20, ge=1, le=100_000)
    # Modules (plugins) to load besides the installed entry points, by module name.
    plugins: Annotated[tuple[str, ...], NoDecode] = ()
    # Managers' digests (R11): in TIMEZONE; the managers' chat gets them too when set.
    managers_chat_id: int | None = None
    digest_daily_at: str = "09:00"
    digest_weekly_at: str = "mon 09:00"
    # The playground's clock control (bot/clock.py); empty in production.
    clock_offset_file: str = ""

    @field_validator("bot_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if not TOKEN_PATTERN.match(value.get_secret_value()):
            raise ValueError("must look like 123456789:AA... (the token @BotFather gave)")
        return value

    @field_validator("agent_ids", "manager_ids", "admin_ids", mode="before")
    @classmethod
    def _ids(cls, value: object) -> object:
        try:
            return _id_set(value)
        except ValueError:
            raise ValueError("must be comma-separated Telegram user ids") from None

    @field_validator("api_keys", mode="before")
    @classmethod
    def _keys(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(k.strip() for k in value.split(",") if k.strip())
        return value

    @field_validator("plugins", mode="before")
    @classmethod
    def _plugins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))
        return value

    @field_validator("telegram_api_url", "webhook_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @field_validator("digest_daily_at")
    @classmethod
    def _daily(cls, value: str) -> str:
        clock_time(value)
        return value

    @field_validator("digest_weekly_at")
    @classmethod
    def _weekly(cls, value: str) -> str:
        weekly_time(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        SupportHours.parse(self.support_hours, self.timezone)
        secret = self.webhook_secret.get_secret_value()
        if self.webhook_url and not secret:
            # Without it anybody who finds the URL could post updates in a user's name.
            raise ValueError("WEBHOOK_SECRET is required with WEBHOOK_URL")
        if secret and not SECRET_PATTERN.match(secret):
            raise ValueError("WEBHOOK_SECRET may use only A-Z, a-z, 0-9, _ and - (1-256)")
        return self

    @property
    def webhook_mode(self) -> bool:
        return bool(self.webhook_url)

    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        values = [self.bot_token, self.webhook_secret, self.link_secret]
        found = [v.get_secret_value() for v in values if v.get_secret_value()]
        found += sorted(self.api_keys)
        for url in (self.database_url, self.redis_url):
            password = urlsplit(url).password if url else None
            if password:
                found.append(password)
        return found

    @property
    def staff_ids(self) -> frozenset[int]:
        return self.agent_ids | self.manager_ids | self.admin_ids

    @property
    def digest_recipients(self) -> tuple[int, ...]:
        """The managers' private chats, then the managers' chat."""
        chats = tuple(sorted(self.manager_ids))
        return (*chats, self.managers_chat_id) if self.managers_chat_id is not None else chats

    def digest_schedule(self) -> DigestSchedule:
        day, at = weekly_time(self.digest_weekly_at)
        return DigestSchedule(clock_time(self.digest_daily_at), day, at)

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(SupportHours.parse(self.support_hours, self.timezone))


class SettingsError(Exception):
    """One line for the operator, naming every setting that is wrong."""


def describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        name = "_".join(str(p) for p in item["loc"]).upper()
        if item["type"] == "missing":
            problems.append(f"{name} is missing")
        elif item["type"] in ("int_parsing", "int_type", "int_from_float"):
            problems.append(f"{name} must be a whole number, got {item.get('input')!r}")
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(f"{name} {message}" if name else message)
    return "; ".join(problems)


def load(kind: type[StorageSettings] = Settings) -> StorageSettings:
    try:
        return kind()
    except ValidationError as error:
        raise SettingsError(describe(error)) from None
