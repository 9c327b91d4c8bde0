"""The cabinet's HTTP API against the running aiohttp app (issue 12 §1).

Created, idempotent retry, follow-up, confirm / reopen / withdraw, every bad
input the issue names, authentication, the rate per key; each on SQLite and
PostgreSQL. A refused call is checked to have created nothing.
"""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from PIL import Image
from sqlalchemy import func, select

from desk.links import verify_request_link
from desk.model import Role
from desk.service import Desk
from storage.db import SessionFactory
from storage.models import ApiIdempotency, Attachment, Customer, Organisation, Ticket, Upload
from tests.api.conftest import BOT_USERNAME, HEADERS, KEY, LINK_SECRET, OTHER_KEY, ClientFactory
from tests.conftest import Clock
from tests.dialogs.images import jpeg_with_gps, png

Client = TestClient[Any, Any]
AGENT = frozenset({Role.AGENT})


def request_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer": {
            "external_id": "cust-42",
            "name": "Анна Петрова",
            "email": "anna@example.com",
            "phone": "+7 900 000-00-00",
            "organisation": {"external_id": "org-7", "name": "ООО Ромашка"},
        },
        "kind": "incident",
        "topic": "Не приходят звонки",
        "description": "Звонки с сайта не доходят до менеджеров со вчерашнего дня.",
        "technical_details": {
            "browser": "Chrome 131",
            "os": "Windows 11",
            "page_url": "https://cabinet.example/calls",
            "app_version": "5.2.1",
            "account_id": 9001,
        },
    }
    body.update(changes)
    return body


async def count(sessions: SessionFactory, model: type[Any]) -> int:
    async with sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def create(client: Client, **changes: Any) -> dict[str, Any]:
    answer = await client.post("/api/v1/requests", json=request_body(**changes), headers=HEADERS)
    assert answer.status == 201, await answer.text()
    data: dict[str, Any] = await answer.json()
    return data


async def problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status == status, await answer.text()
    assert answer.content_type == "application/problem+json"
    body: dict[str, Any] = await answer.json()
    assert body["status"] == status and body["title"]
    return body


def fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors") or []}


async def test_a_request_is_created_with_its_details_and_a_deep_link(
    client: Client, desk: Desk, sessions: SessionFactory, clock: Clock
) -> None:
    shot = base64.b64encode(jpeg_with_gps()).decode()
    created = await create(client, screenshots=[{"filename": "calls.jpg", "content_base64": shot}])
    assert created["number"] == "CTV-1001"
    assert created["status"] == "new" and created["priority"] == "P2"
    assert created["first_response_due_at"] and created["resolution_due_at"]
    prefix = f"https://t.me/{BOT_USERNAME}?start="
    assert created["telegram_link"].startswith(prefix)
    token = created["telegram_link"].removeprefix(prefix)
    assert len(token) <= 64
    link = verify_request_link(LINK_SECRET, token, clock.now)
    assert link.number == 1001 and link.expires_at > clock.now + timedelta(days=29)

    async with sessions() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        assert ticket.channel == "cabinet"
        assert ticket.technical_details is not None
        assert "browser: Chrome 131" in ticket.technical_details
        assert "account_id: 9001" in ticket.technical_details
        customer = ticket.customer
        assert (customer.external_id, customer.email, customer.telegram_user_id) == (
            "cust-42",
            "anna@example.com",
            None,
        )
        assert customer.organisation is not None
        assert customer.organisation.external_id == "org-7"
        attachment = (await session.execute(select(Attachment))).scalar_one()
        upload = await session.get(Upload, attachment.upload_id)
        assert upload is not None and attachment.file_id == ""
    # The same cleaning as the bot's: EXIF (with GPS) is gone, the pixels stay.
    image = Image.open(io.BytesIO(upload.data))
    assert image.size == (120, 80) and not image.getexif()

    view = await client.get("/api/v1/requests/CTV-1001", headers=HEADERS)
    assert view.status == 200
    shown = await view.json()
    assert shown["channel"] == "cabinet" and shown["kind"] == "incident"
    assert [h["action"] for h in shown["history"]] == ["create"]


async def test_multipart_with_files_is_taken_like_json(client: Client, desk: Desk) -> None:
    import json

    form = FormData()
    form.add_field("request", json.dumps(request_body()), content_type="application/json")
    form.add_field("screenshots", png((300, 200)), filename="a.png", content_type="image/png")
    form.add_field("screenshots", jpeg_with_gps(), filename="b.jpg", content_type="image/jpeg")
    answer = await client.post("/api/v1/requests", data=form, headers=HEADERS)
    assert answer.status == 201, await answer.text()
    number = int((await answer.json())["number"].removeprefix("CTV-"))
    ticket = await desk.ticket(await desk.cabinet_actor(number), number)
    files = await desk.attachments(ticket.id)
    assert [(f.width, f.height) for f in files] == [(300, 200), (120, 80)]


async def test_a_retried_call_with_its_key_returns_the_first_answer(
    client: Client, sessions: SessionFactory
) -> None:
    headers = {**HEADERS, "Idempotency-Key": "order-1"}
    first = await client.post("/api/v1/requests", json=request_body(), headers=headers)
    again = await client.post("/api/v1/requests", json=request_body(), headers=headers)
    assert first.status == again.status == 201
    assert await first.json() == await again.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await count(sessions, Ticket) == 1
    # Another key is another scope: the same key string from another key is new.
    other = await client.post(
        "/api/v1/requests",
        json=request_body(),
        headers={"X-API-Key": OTHER_KEY, "Idempotency-Key": "order-1"},
    )
    assert other.status == 201 and await count(sessions, Ticket) == 2
    # The same key for a different call is refused and changes nothing.
    reused = await client.post(
        "/api/v1/requests", json=request_body(topic="Другое"), headers=headers
    )
    body = await problem(reused, 422)
    assert fields(body) == {"Idempotency-Key"}
    assert await count(sessions, Ticket) == 2


async def test_a_failed_call_frees_its_idempotency_key(
    client: Client, sessions: SessionFactory
) -> None:
    headers = {**HEADERS, "Idempotency-Key": "order-2"}
    bad = await client.post("/api/v1/requests", json=request_body(kind="wish"), headers=headers)
    await problem(bad, 422)
    assert await count(sessions, ApiIdempotency) == 0
    fixed = await client.post("/api/v1/requests", json=request_body(), headers=headers)
    assert fixed.status == 201


async def test_follow_up_confirm_reopen_withdraw_follow_the_rules(
    client: Client, desk: Desk
) -> None:
    number = int((await create(client))["number"].removeprefix("CTV-"))
    agent = await desk.register_telegram_user(777, name="Kate", staff_roles=AGENT)

    # Confirming a request nobody resolved is not possible (R6).
    early = await client.post(f"/api/v1/requests/{number}/confirm", headers=HEADERS)
    assert "confirm" in (await problem(early, 409))["detail"]

    added = await client.post(
        f"/api/v1/requests/CTV-{number}/messages",
        json={
            "text": "Ещё: ошибка 502 в консоли.",
            "files": [{"filename": "log.txt", "content_base64": base64.b64encode(b"x").decode()}],
        },
        headers=HEADERS,
    )
    assert added.status == 201, await added.text()
    history = (await added.json())["history"]
    assert history[-1]["action"] == "customer_message"
    assert history[-1]["text"] == "Ещё: ошибка 502 в консоли."
    ticket = await desk.ticket(agent, number)
    files = await desk.attachments(ticket.id, message_id=None)
    assert files == []  # the log belongs to the message, not to the request's screenshots

    await desk.note(agent, number, "внутреннее: клиент на старом тарифе")
    await desk.resolve(agent, number, "Перезапустили шлюз, звонки идут.")
    shown = await (await client.get(f"/api/v1/requests/{number}", headers=HEADERS)).json()
    assert shown["status"] == "resolved"
    assert all("внутреннее" not in (h["text"] or "") for h in shown["history"])

    no_reason = await client.post(f"/api/v1/requests/{number}/reopen", json={}, headers=HEADERS)
    assert fields(await problem(no_reason, 422)) == {"reason"}
    reopened = await client.post(
        f"/api/v1/requests/{number}/reopen",
        json={"reason": "Звонки снова пропадают"},
        headers=HEADERS,
    )
    assert reopened.status == 200 and (await reopened.json())["status"] == "in_progress"

    await desk.resolve(agent, number, "Заменили номер.")
    confirmed = await client.post(f"/api/v1/requests/{number}/confirm", headers=HEADERS)
    assert (await confirmed.json())["status"] == "closed"
    again = await client.post(f"/api/v1/requests/{number}/withdraw", headers=HEADERS)
    await problem(again, 409)

    second = int((await create(client))["number"].removeprefix("CTV-"))
    withdrawn = await client.post(
        f"/api/v1/requests/{second}/withdraw", json={"comment": "уже не нужно"}, headers=HEADERS
    )
    assert (await withdrawn.json())["status"] == "closed"
    assert (await desk.ticket(agent, second)).close_reason == "withdrawn"


async def test_a_customers_requests_are_listed_and_paged(client: Client) -> None:
    await create(client)
    await create(client, topic="Второй вопрос")
    await create(client, customer={"external_id": "someone-else", "name": "Иван"})
    page = await client.get(
        "/api/v1/requests", params={"customer": "cust-42", "limit": "1"}, headers=HEADERS
    )
    body = await page.json()
    assert body["total"] == 2 and len(body["items"]) == 1 and body["limit"] == 1
    rest = await client.get(
        "/api/v1/requests", params={"customer": "cust-42", "offset": "1"}, headers=HEADERS
    )
    numbers = {i["number"] for i in body["items"]} | {
        i["number"] for i in (await rest.json())["items"]
    }
    assert numbers == {"CTV-1001", "CTV-1002"}
    bad = await client.get("/api/v1/requests", params={"limit": "0"}, headers=HEADERS)
    assert fields(await problem(bad, 422)) == {"customer", "limit"}


async def test_organisations_and_their_tariffs_are_kept_in_step(
    client: Client, desk: Desk, sessions: SessionFactory
) -> None:
    made = await client.put(
        "/api/v1/organisations/org-7",
        json={"name": "ООО Ромашка", "tariff": "premium"},
        headers=HEADERS,
    )
    assert made.status == 201
    assert await made.json() == {"external_id": "org-7", "name": "ООО Ромашка", "tariff": "premium"}
    created = await create(client, kind="problem")
    async with sessions() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        assert ticket.tariff.code == "premium"
    changed = await client.put(
        "/api/v1/organisations/org-7",
        json={"name": "АО Ромашка", "tariff": "standard"},
        headers=HEADERS,
    )
    assert changed.status == 200 and (await changed.json())["tariff"] == "standard"
    async with sessions() as session:
        names = (await session.execute(select(Organisation.name))).scalars().all()
    assert names == ["АО Ромашка"]
    later = await create(client, kind="problem")
    # Premium answers a P1 in 15 minutes, standard in 60 (the seeded targets).
    assert later["first_response_due_at"] > created["first_response_due_at"]
    unknown = await client.put(
        "/api/v1/organisations/org-7", json={"name": "X", "tariff": "gold"}, headers=HEADERS
    )
    body = await problem(unknown, 422)
    assert fields(body) == {"tariff"} and "premium" in body["errors"][0]["problem"]
    bad_id = await client.put(
        "/api/v1/organisations/bad%20id", json={"name": "X", "tariff": "basic"}, headers=HEADERS
    )
    assert fields(await problem(bad_id, 422)) == {"external_id"}
    assert await count(sessions, Organisation) == 1


async def test_every_bad_field_is_named_and_nothing_is_created(
    client: Client, sessions: SessionFactory
) -> None:
    broken = request_body(kind="wish", topic="", description="short")
    broken["customer"] = {"external_id": "", "email": "not-an-email"}
    answer = await client.post("/api/v1/requests", json=broken, headers=HEADERS)
    body = await problem(answer, 422)
    assert fields(body) >= {
        "kind",
        "topic",
        "description",
        "customer.external_id",
        "customer.name",
        "customer.email",
    }

    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"screenshots": [{"content_base64": "%%%"}]}, 422, "screenshots[0].content_base64"),
        (
            {"screenshots": [{"content_base64": base64.b64encode(b"not a picture").decode()}]},
            422,
            "screenshots[0]",
        ),
        ({"technical_details": "Chrome"}, 422, "technical_details"),
        ({"technical_details": {"dump": "x" * 9000}}, 422, "technical_details"),
        ({"screenshots": [{"content_base64": "AA=="}] * 11}, 422, "screenshots"),
        ({"unexpected": 1}, 422, "unexpected"),
    ]
    for changes, status, field in cases:
        answer = await client.post(
            "/api/v1/requests", json=request_body(**changes), headers=HEADERS
        )
        assert field in fields(await problem(answer, status)), changes

    not_json = await client.post(
        "/api/v1/requests",
        data=b"{nope",
        headers={**HEADERS, "Content-Type": "application/json"},
    )
    await problem(not_json, 400)
    a_list = await client.post("/api/v1/requests", json=[1, 2], headers=HEADERS)
    await problem(a_list, 400)
    for model in (Ticket, Customer, Organisation, Upload):
        assert await count(sessions, model) == 0, model


async def test_keys_are_required_in_either_header(client: Client) -> None:
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}):
        answer = await client.get("/api/v1/requests/1001", headers=headers)
        await problem(answer, 401)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    await create(client)
    bearer = await client.get("/api/v1/requests/1001", headers={"Authorization": f"Bearer {KEY}"})
    assert bearer.status == 200
    # The document itself is public: it says what the API takes, not what the desk holds.
    spec = await client.get("/api/openapi.json")
    assert spec.status == 200 and (await spec.json())["openapi"] == "3.1.0"
    page = await client.get("/api/docs")
    assert page.status == 200 and "POST /api/v1/requests" in await page.text()


async def test_a_request_the_key_may_not_see_is_not_found(client: Client, desk: Desk) -> None:
    telegram_only = await desk.register_telegram_user(555, name="Пётр")
    from desk.model import Kind
    from desk.service import NewTicket

    ticket = await desk.create(
        telegram_only, NewTicket(Kind.SERVICE, "Вопрос", "Как подключить второй номер?")
    )
    for path in (
        f"/api/v1/requests/{ticket.number}",
        "/api/v1/requests/99999",
        "/api/v1/requests/x",
    ):
        await problem(await client.get(path, headers=HEADERS), 404)
    hidden = await client.post(
        f"/api/v1/requests/{ticket.number}/messages", json={"text": "hi"}, headers=HEADERS
    )
    await problem(hidden, 404)
    await problem(await client.get("/api/v2/anything", headers=HEADERS), 404)


async def test_bodies_over_the_limit_are_refused(
    make_client: ClientFactory, sessions: SessionFactory
) -> None:
    client = await make_client(max_body_bytes=64 * 1024)
    big = base64.b64encode(b"\0" * 100_000).decode()
    answer = await client.post(
        "/api/v1/requests",
        json=request_body(screenshots=[{"content_base64": big}]),
        headers=HEADERS,
    )
    await problem(answer, 413)
    form = FormData()
    form.add_field("request", "{}", content_type="application/json")
    form.add_field("screenshots", io.BytesIO(b"\0" * 100_000), filename="a.png")
    await problem(await client.post("/api/v1/requests", data=form, headers=HEADERS), 413)
    assert await count(sessions, Ticket) == 0


async def test_a_screenshot_over_ten_megabytes_is_refused(
    client: Client, sessions: SessionFactory
) -> None:
    form = FormData()
    import json

    form.add_field("request", json.dumps(request_body()), content_type="application/json")
    form.add_field("screenshots", io.BytesIO(b"\0" * (10 * 1024 * 1024 + 1)), filename="huge.png")
    await problem(await client.post("/api/v1/requests", data=form, headers=HEADERS), 413)
    assert await count(sessions, Ticket) == 0


async def test_a_key_over_its_rate_gets_429(make_client: ClientFactory) -> None:
    client = await make_client(rate_per_minute=3)
    statuses = [
        (await client.get("/api/v1/requests", params={"customer": "c"}, headers=HEADERS)).status
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    limited = await client.get("/api/v1/requests", params={"customer": "c"}, headers=HEADERS)
    await problem(limited, 429)
    assert int(limited.headers["Retry-After"]) >= 1
    # The rate is per key: another key still has its own minute.
    other = await client.get(
        "/api/v1/requests", params={"customer": "c"}, headers={"X-API-Key": OTHER_KEY}
    )
    assert other.status == 200


async def test_with_redis_the_rate_is_shared_by_replicas(redis_url: str) -> None:
    from redis.asyncio import Redis

    from api.guard import RateLimit, scope_of

    client = Redis.from_url(redis_url)
    try:
        # A fixed clock: the minute cannot roll over between the calls.
        def clock() -> float:
            return 1_800_000_000.0

        one, two = RateLimit(2, client, clock), RateLimit(2, client, clock)
        await one.check(scope_of(KEY))
        await two.check(scope_of(KEY))
        try:
            await one.check(scope_of(KEY))
        except Exception as error:
            assert getattr(error, "status", None) == 429
        else:
            raise AssertionError("the third call of the minute was let through")
        await two.check(scope_of(OTHER_KEY))  # another key, another count
    finally:
        await client.aclose()


async def test_two_calls_at_once_with_one_key_create_one_request(
    client: Client, sessions: SessionFactory
) -> None:
    import asyncio

    headers = {**HEADERS, "Idempotency-Key": "order-3"}
    answers = await asyncio.gather(
        *[client.post("/api/v1/requests", json=request_body(), headers=headers) for _ in range(5)]
    )
    statuses = sorted(a.status for a in answers)
    # One creates; the others either replay its answer or are told it is still running.
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    numbers = {(await a.json())["number"] for a in answers if a.status == 201}
    assert numbers == {"CTV-1001"}
    assert await count(sessions, Ticket) == 1


async def test_a_follow_up_file_over_ten_megabytes_is_refused(client: Client, desk: Desk) -> None:
    number = (await create(client))["number"]
    form = FormData()
    form.add_field("text", "лог целиком")
    form.add_field("files", io.BytesIO(b"x" * (10 * 1024 * 1024 + 1)), filename="huge.log")
    answer = await client.post(f"/api/v1/requests/{number}/messages", data=form, headers=HEADERS)
    body = await problem(answer, 413)
    assert body["detail"].startswith("files[0]: ")
    shown = await (await client.get(f"/api/v1/requests/{number}", headers=HEADERS)).json()
    assert [h["action"] for h in shown["history"]] == ["create"]
