"""What the chat side reads of the settings.

The settings themselves are loaded by the composition root (``bot.settings``)
and handed to handlers as the dispatcher's ``settings``; typing them with this
protocol keeps everything below ``bot`` from importing it.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import SecretStr


class ChatSettings(Protocol):
    @property
    def backoffice_chat_id(self) -> int: ...

    @property
    def agent_ids(self) -> frozenset[int]: ...

    @property
    def manager_ids(self) -> frozenset[int]: ...

    @property
    def admin_ids(self) -> frozenset[int]: ...

    @property
    def link_secret(self) -> SecretStr: ...

    @property
    def timezone(self) -> str: ...

    @property
    def support_hours(self) -> str: ...

    @property
    def default_locale(self) -> str: ...
