"""Bot API calls sent as one JSON body, not as a form.

aiogram's ``AiohttpSession`` sends every call as ``application/x-www-form-urlencoded``:
each field is turned into JSON text on its own, then the whole form is
percent-encoded character by character (``urllib.parse.quote``). For the
Cyrillic texts and inline keyboards the desk sends, that encoding was about a
tenth of the desk's time in a burst of customers (py-spy, ``bench/intake``).
The Bot API takes ``application/json`` bodies as well, so a call without files
goes as one ``json.dumps`` of its fields. A call that uploads a file (a chart, a
photo) still needs multipart and goes the library's way. Answers are read the
same way round: pydantic parses the text itself (see ``check_response``).

Nothing else changes: the same fields are sent (aiogram's own ``prepare_value``
turns models, enums, dates and defaults into plain values), refusals are read by
aiogram's ``check_response`` into its exceptions, and timeouts and network errors
become the same ``TelegramNetworkError`` the retry middleware (tgkit/retry.py) knows.
"""

from __future__ import annotations

import functools
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import Response
from aiogram.methods.base import TelegramType
from aiohttp import ClientError, ClientTimeout
from pydantic import ValidationError

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import TelegramMethod
    from aiogram.types import InputFile

JSON_HEADERS = {"Content-Type": "application/json"}


@functools.cache
def _response_type(returning: Any) -> Any:
    """``Response[returning]``, made once: pydantic's lookup of a generic model it has
    made already was 0.7 % of the desk's time in a burst (py-spy)."""
    return Response[returning]


class JsonSession(AiohttpSession):
    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        """A successful answer is parsed by pydantic straight from its text.

        The library loads the JSON into Python objects and then validates them;
        pydantic reading the text itself does the same in one pass, in about half
        the time. Anything else (an error, an answer that does not parse) goes the
        library's way, which names the error.
        """
        if HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            answer_type = _response_type(method.__returning__)
            try:
                answer = answer_type.model_validate_json(content, context={"bot": bot})
            except ValidationError:
                pass
            else:
                if answer.ok:
                    return cast(Response[TelegramType], answer)
        return super().check_response(bot, method, status_code, content)

    def json_body(self, bot: Bot, method: TelegramMethod[Any]) -> str | None:
        """The call's fields as JSON text, or None when it carries a file."""
        files: dict[str, InputFile] = {}
        fields: dict[str, Any] = {}
        # None fields (most of a method's, and of each button's) are left out as the form
        # leaves them, before prepare_value walks what is left.
        for key, value in method.model_dump(warnings=False, exclude_none=True).items():
            prepared = self._plain(value, bot, files)
            # As the form does: no value or an empty text is left out.
            if prepared is None or prepared == "":
                continue
            fields[key] = prepared
        if files:
            return None
        return self.json_dumps(fields)

    def _plain(self, value: Any, bot: Bot, files: dict[str, InputFile]) -> Any:
        """``prepare_value`` without its chain of ``isinstance`` checks for the plain
        JSON values that make up nearly all of a call (a keyboard is hundreds of them);
        anything else (defaults, files, dates, enums) goes to the library's."""
        kind = type(value)
        if kind is str or kind is int or kind is bool or kind is float:
            return value
        if kind is dict:
            return {
                key: prepared
                for key, item in value.items()
                if (prepared := self._plain(item, bot, files)) is not None
            }
        if kind is list:
            return [
                prepared
                for item in value
                if (prepared := self._plain(item, bot, files)) is not None
            ]
        return self.prepare_value(value, bot=bot, files=files, _dumps_json=False)

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:
        body = self.json_body(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout=timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=body.encode(),
                headers=JSON_HEADERS,
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as response:
                raw = await response.text()
        except TimeoutError as error:
            raise TelegramNetworkError(method=method, message="Request timeout error") from error
        except ClientError as error:
            message = f"{type(error).__name__}: {error}"
            raise TelegramNetworkError(method=method, message=message) from error
        checked = self.check_response(
            bot=bot, method=method, status_code=response.status, content=raw
        )
        return cast(TelegramType, checked.result)
