"""The OpenAPI 3.1 document of the cabinet's API (from ``api/schemas.py``) and a page to read it.

Served at ``/api/openapi.json`` and ``/api/docs`` without a key: it says
what the API takes, not what the desk holds.
"""

from __future__ import annotations

import html
import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from api.problems import PROBLEM_TYPE
from api.schemas import (
    MessageIn,
    OrganisationIn,
    OrganisationOut,
    Problem,
    ReopenIn,
    RequestCreated,
    RequestIn,
    RequestPage,
    RequestView,
    WithdrawIn,
)

_MODELS: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (RequestIn, "validation"),
    (MessageIn, "validation"),
    (ReopenIn, "validation"),
    (WithdrawIn, "validation"),
    (OrganisationIn, "validation"),
    (RequestCreated, "serialization"),
    (RequestView, "serialization"),
    (RequestPage, "serialization"),
    (OrganisationOut, "serialization"),
    (Problem, "serialization"),
]

_ERRORS = {
    400: "the body is not the JSON (or multipart) it should be, or a header is malformed",
    401: "no valid key in X-API-Key or Authorization: Bearer",
    404: "no such request for this key",
    409: "not possible in the request's status, or the same Idempotency-Key is in progress",
    413: "the body or one of its files is over the size limit",
    415: "this call takes application/json",
    422: "a field is missing or wrong: ``errors`` names each one",
    429: "this key made too many calls this minute: see Retry-After",
}

_NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "description": "the request's number: CTV-1042 (or 1042)",
    "schema": {"type": "string"},
    "example": "CTV-1001",
}
_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "a retried call with the same key (kept 24 h) returns the first answer and changes"
        " nothing; the same key with another body is refused (422)"
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def document(version: str) -> dict[str, Any]:
    keys, top = models_json_schema(_MODELS, ref_template="#/components/schemas/{model}")

    def ref(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(keys[(model, mode)])

    def body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
        return {
            "required": required,
            "content": {"application/json": {"schema": ref(model, "validation")}},
        }

    def answers(
        ok: dict[int, tuple[str, type[BaseModel]]], errors: tuple[int, ...]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            str(code): {
                "description": text,
                "content": {"application/json": {"schema": ref(model, "serialization")}},
            }
            for code, (text, model) in ok.items()
        }
        for code in errors:
            out[str(code)] = {
                "description": _ERRORS[code],
                "content": {PROBLEM_TYPE: {"schema": ref(Problem, "serialization")}},
            }
        return out

    writes = (400, 401, 404, 409, 413, 415, 422, 429)
    create_body = body(RequestIn)
    create_body["content"]["multipart/form-data"] = {
        "schema": {
            "type": "object",
            "required": ["request"],
            "properties": {
                "request": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "description": "the same JSON document (screenshots may go as files instead)",
                },
                "screenshots": {
                    "type": "array",
                    "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                },
            },
        }
    }
    message_body = body(MessageIn)
    message_body["content"]["multipart/form-data"] = {
        "schema": {
            "type": "object",
            "properties": {
                "text": {"type": "string"},
                "files": {
                    "type": "array",
                    "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                },
            },
        }
    }
    request_ops = {
        "confirm": ("Confirm the resolution: the request closes (R6)", None),
        "reopen": ("Disagree with the resolution: the request goes back to work (R6)", ReopenIn),
        "withdraw": ("Withdraw: the answer is no longer needed, the request closes", WithdrawIn),
    }
    paths: dict[str, Any] = {
        "/api/v1/requests": {
            "post": {
                "operationId": "createRequest",
                "summary": "File a request from the personal cabinet",
                "description": (
                    "Creates (or updates) the customer and their organisation by their external"
                    " ids, and files the request with its technical details and screenshots"
                    " (JSON with base64, or multipart). Screenshots are checked and cleaned"
                    " of EXIF/GPS like those sent to the bot."
                ),
                "parameters": [_IDEMPOTENCY],
                "requestBody": create_body,
                "responses": answers(
                    {201: ("the request is registered", RequestCreated)},
                    (400, 401, 409, 413, 415, 422, 429),
                ),
            },
            "get": {
                "operationId": "listRequests",
                "summary": "A customer's requests, open first, paged",
                "parameters": [
                    {
                        "name": "customer",
                        "in": "query",
                        "required": True,
                        "description": "the customer's external id",
                        "schema": {"type": "string", "minLength": 1},
                    },
                    {
                        "name": "offset",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 0, "default": 0},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                    },
                ],
                "responses": answers({200: ("a page", RequestPage)}, (401, 422, 429)),
            },
        },
        "/api/v1/requests/{number}": {
            "get": {
                "operationId": "getRequest",
                "summary": "Status, priority, deadlines and public history (never internal notes)",
                "parameters": [_NUMBER],
                "responses": answers({200: ("the request", RequestView)}, (401, 404, 429)),
            }
        },
        "/api/v1/requests/{number}/messages": {
            "post": {
                "operationId": "addMessage",
                "summary": "The customer's follow-up (text and files), relayed to support",
                "parameters": [_NUMBER, _IDEMPOTENCY],
                "requestBody": message_body,
                "responses": answers({201: ("added", RequestView)}, writes),
            }
        },
        "/api/v1/organisations/{external_id}": {
            "put": {
                "operationId": "putOrganisation",
                "summary": "Create or update an organisation and its tariff (R7)",
                "parameters": [
                    {
                        "name": "external_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "example": "org-7",
                    },
                    _IDEMPOTENCY,
                ],
                "requestBody": body(OrganisationIn),
                "responses": answers(
                    {
                        200: ("updated", OrganisationOut),
                        201: ("created", OrganisationOut),
                    },
                    (400, 401, 413, 415, 422, 429),
                ),
            }
        },
    }
    for action, (summary, model) in request_ops.items():
        operation: dict[str, Any] = {
            "operationId": f"{action}Request",
            "summary": summary,
            "parameters": [_NUMBER, _IDEMPOTENCY],
            "responses": answers({200: ("the request now", RequestView)}, writes),
        }
        if model is not None:
            operation["requestBody"] = body(model, required=model is ReopenIn)
        paths[f"/api/v1/requests/{{number}}/{action}"] = {"post": operation}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Call to Visit support desk: the personal cabinet's API",
            "version": version,
            "description": (
                "Requests from the customer's personal cabinet (R8). Every call needs a key"
                " from API_KEYS in X-API-Key or Authorization: Bearer. Refusals are problem"
                " details (RFC 9457). Message texts in the history are Telegram HTML as"
                " written; other fields are plain text."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}, {"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def page(spec: dict[str, Any]) -> str:
    """A plain, self-contained HTML page of the document (nothing loaded from elsewhere)."""
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(spec['info']['title'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "pre{background:#f4f4f4;padding:.6em;overflow:auto}code{background:#f4f4f4}"
        "h3{margin-top:2em}</style></head><body>",
        f"<h1>{html.escape(spec['info']['title'])}</h1>",
        f"<p>Version {html.escape(spec['info']['version'])}. "
        f"{html.escape(spec['info']['description'])}</p>",
        "<p>The machine-readable document: <a href='/api/openapi.json'>/api/openapi.json</a>.</p>",
    ]
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            out.append(f"<h3><code>{method.upper()} {html.escape(path)}</code></h3>")
            out.append(f"<p>{html.escape(operation.get('summary', ''))}</p>")
            if "description" in operation:
                out.append(f"<p>{html.escape(operation['description'])}</p>")
            params = operation.get("parameters", [])
            if params:
                out.append("<ul>")
                for p in params:
                    need = "required" if p.get("required") else "optional"
                    note = html.escape(p.get("description", ""))
                    out.append(
                        f"<li><code>{html.escape(p['name'])}</code> ({p['in']}, {need}) {note}</li>"
                    )
                out.append("</ul>")
            if "requestBody" in operation:
                kinds = ", ".join(operation["requestBody"]["content"])
                out.append(f"<p>Body: {html.escape(kinds)}</p>")
            codes = ", ".join(
                f"{code} {html.escape(r['description'])}"
                for code, r in operation["responses"].items()
            )
            out.append(f"<p>Answers: {codes}</p>")
    out.append("<h2>Schemas</h2>")
    for name, schema in spec["components"]["schemas"].items():
        text = html.escape(json.dumps(schema, indent=2, ensure_ascii=False))
        out.append(f"<h3 id='{html.escape(name)}'>{html.escape(name)}</h3><pre>{text}</pre>")
    out.append("</body></html>")
    return "\n".join(out)
