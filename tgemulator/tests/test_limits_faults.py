"""Flood limits (with a fast clock) and seeded fault injection."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tgemulator import FaultPlan, RunningEmulator, run_emulator

from .conftest import ApiCaller


async def test_limits_are_off_by_default(emulator: RunningEmulator, api: ApiCaller) -> None:
    ann = emulator.people.user("Ann")
    await emulator.people.send(ann, "hi")
    for _ in range(40):
        assert (await api("sendMessage", chat_id=ann.id, text="x"))["ok"] is True


async def test_per_chat_limit_answers_429_with_retry_after(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    emulator.world.limits.enabled = True
    ann = emulator.people.user("Ann")
    await emulator.people.send(ann, "hi")
    for _ in range(emulator.world.limits.per_chat_burst):
        assert (await api("sendMessage", chat_id=ann.id, text="x"))["ok"] is True
    refused = await api("sendMessage", chat_id=ann.id, text="x")
    assert refused == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    # 429 is a runtime condition a bot must handle, not a violation.
    assert emulator.world.violations == []
    emulator.world.clock.advance(1)
    assert (await api("sendMessage", chat_id=ann.id, text="x"))["ok"] is True


async def test_group_limit_per_minute_with_fast_clock(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    world = emulator.world
    world.limits.enabled = True
    group = emulator.people.group("Backoffice")
    sent = 0
    retry_after = 0
    for _ in range(30):
        world.clock.advance(1.0)  # stay inside the per-chat pace, hit the per-minute one
        answer = await api("sendMessage", chat_id=group.id, text="card")
        if not answer["ok"]:
            retry_after = answer["parameters"]["retry_after"]
            break
        sent += 1
    assert sent == 20
    assert 30 < retry_after <= 41
    world.clock.advance(retry_after)
    assert (await api("sendMessage", chat_id=group.id, text="card"))["ok"] is True


async def test_global_limit_across_chats(emulator: RunningEmulator, api: ApiCaller) -> None:
    world = emulator.world
    world.limits.enabled = True
    world.clock.speed = 0.0001  # freeze time: all calls land inside one second
    people = [emulator.people.user(f"P{i}") for i in range(31)]
    for person in people:
        await emulator.people.send(person, "hi")
    answers = [await api("sendMessage", chat_id=p.id, text="x") for p in people]
    assert [a["ok"] for a in answers].count(True) == 30
    assert answers[-1]["error_code"] == 429


async def test_edits_count_too(emulator: RunningEmulator, api: ApiCaller) -> None:
    world = emulator.world
    ann = emulator.people.user("Ann")
    await emulator.people.send(ann, "hi")
    sent = (await api("sendMessage", chat_id=ann.id, text="v0"))["result"]
    world.limits.enabled = True
    codes = [
        (
            await api(
                "editMessageText", chat_id=ann.id, message_id=sent["message_id"], text=f"v{i}"
            )
        ).get("error_code", 200)
        for i in range(1, 6)
    ]
    assert codes == [200, 200, 200, 429, 429]


def outcome_sequence(seed: int, n: int = 40) -> list[str]:
    from tgemulator.limits import FaultInjector

    injector = FaultInjector()
    injector.configure(FaultPlan(seed=seed, error_rate=0.2, drop_rate=0.1, delay_rate=0.2))
    return [injector.decide("sendMessage").kind for _ in range(n)]


def test_fault_decisions_are_deterministic_per_seed() -> None:
    assert outcome_sequence(7) == outcome_sequence(7)
    assert outcome_sequence(7) != outcome_sequence(8)
    kinds = set(outcome_sequence(7, 200))
    assert kinds == {"ok", "error500", "error502", "drop", "delay"}


async def run_faulty_calls(seed: int) -> list[int | str]:
    results: list[int | str] = []
    async with run_emulator() as running:
        ann = running.people.user("Ann")
        await running.people.send(ann, "hi")
        running.world.faults.configure(
            FaultPlan(seed=seed, error_rate=0.3, drop_rate=0.2, delay_rate=0.2)
        )
        async with aiohttp.ClientSession() as http:
            for _ in range(20):
                try:
                    async with http.post(
                        running.api_url("sendMessage"), json={"chat_id": ann.id, "text": "x"}
                    ) as response:
                        await response.read()
                        results.append(response.status)
                except aiohttp.ClientError:
                    results.append("dropped")
        assert running.world.violations == []
        # Failures before the effect leave no message behind.
        sent = running.people.bot_messages(ann)
        assert len(sent) == results.count(200)
    return results


async def test_fault_injection_over_http_is_deterministic() -> None:
    first = await run_faulty_calls(3)
    assert first == await run_faulty_calls(3)
    assert {500, 502, "dropped", 200} <= set(first)


async def test_after_effect_faults_still_deliver(emulator: RunningEmulator, api: ApiCaller) -> None:
    ann = emulator.people.user("Ann")
    await emulator.people.send(ann, "hi")
    emulator.world.faults.configure(FaultPlan(seed=1, error_rate=1.0, after_effect_rate=1.0))
    answer = await api("sendMessage", chat_id=ann.id, text="did it arrive?")
    assert answer["error_code"] == 500
    assert [m.text for m in emulator.people.bot_messages(ann)] == ["did it arrive?"]


async def test_a_late_answer_comes_after_the_message_is_in_the_chat(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    ann = emulator.people.user("Ann")
    await emulator.people.send(ann, "hi")
    emulator.world.faults.configure(
        FaultPlan(seed=1, delay_rate=1.0, delay_seconds=(0.5, 0.5), after_effect_rate=1.0)
    )
    call = asyncio.create_task(api("sendMessage", chat_id=ann.id, text="slow answer"))
    shown = await emulator.people.wait_for_message(ann, timeout=2)
    # The bot is still waiting while the message is already in the chat.
    assert shown.text == "slow answer" and not call.done()
    assert (await call)["ok"] is True
    assert emulator.world.faults.log == [("sendMessage", "delay")]


@pytest.mark.parametrize("method", ["getUpdates"])
async def test_get_updates_is_spared_by_default(
    emulator: RunningEmulator, api: ApiCaller, method: str
) -> None:
    emulator.world.faults.configure(FaultPlan(seed=1, error_rate=1.0))
    assert (await api(method))["ok"] is True


async def test_flood_faults_answer_429_and_never_apply_the_call(
    emulator: RunningEmulator, api: ApiCaller
) -> None:
    ann = emulator.people.user("Ann")
    await emulator.people.send(ann, "hi")
    # after_effect_rate does not apply to flood control: a 429 is a refusal.
    emulator.world.faults.configure(
        FaultPlan(seed=1, flood_rate=1.0, flood_retry_after=3, after_effect_rate=1.0)
    )
    refused = await api("sendMessage", chat_id=ann.id, text="too fast")
    assert refused == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert emulator.people.bot_messages(ann) == []
    assert emulator.world.faults.log == [("sendMessage", "flood")]
    assert emulator.world.violations == []


async def test_flood_faults_over_the_control_api(emulator: RunningEmulator) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{emulator.url}/_emulator/faults", json={"seed": 2, "flood_rate": 0.5}
        ) as response,
    ):
        shown = await response.json()
    assert shown["faults"]["flood_rate"] == 0.5
    assert shown["faults"]["flood_retry_after"] == 1
    kinds = {emulator.world.faults.decide("sendMessage").kind for _ in range(50)}
    assert kinds == {"ok", "flood"}
