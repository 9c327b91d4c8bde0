"""Problem details (RFC 9457): every refusal of the API, one JSON shape naming each bad field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from api.schemas import FieldProblem, Problem

PROBLEM_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
}


class ApiProblem(Exception):
    """Raised anywhere in a handler; the middleware answers it as problem details."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        errors: Sequence[FieldProblem] = (),
        *,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(detail or TITLES.get(status, ""))
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers or {}
        self.code = code or TITLES.get(status, "error").lower().replace(" ", "-")


def field_path(location: Sequence[int | str]) -> str:
    """``("screenshots", 0, "content_base64")`` -> ``screenshots[0].content_base64``."""
    out = ""
    for part in location:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def from_validation(error: ValidationError, prefix: Sequence[int | str] = ()) -> ApiProblem:
    problems = [
        FieldProblem(field=field_path([*prefix, *item["loc"]]), problem=str(item["msg"]))
        for item in error.errors()
    ]
    return ApiProblem(422, "some fields are missing or wrong", problems, code="invalid-fields")


def invalid(field: str, problem: str, status: int = 422) -> ApiProblem:
    return ApiProblem(status, f"{field}: {problem}", [FieldProblem(field=field, problem=problem)])


def response(problem: ApiProblem) -> web.Response:
    body = Problem(
        type=f"/api/problems/{problem.code}",
        title=TITLES.get(problem.status, "Error"),
        status=problem.status,
        detail=problem.detail,
        errors=problem.errors or None,
    )
    data: dict[str, Any] = body.model_dump(mode="json", exclude_none=True)
    return web.json_response(
        data, status=problem.status, content_type=PROBLEM_TYPE, headers=problem.headers
    )
