"""The playground in a real browser: headless Chromium on the page of ``ctv-desk demo``.

The demo is started as ``ctv-desk demo`` starts it (the emulator with the page in this
process, the real desk process against it); Chromium clicks and types as a visitor does.
Chromium is Debian's ``chromium`` package (``scripts/setup.sh test`` installs it where it
can), driven by Playwright through its ``executable_path``. Without a browser the test
is skipped with the reason, except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import pytest_asyncio

from bot.demo import MANAGER, TIMEZONE, Demo, DemoPaths, free_port
from locales import Texts

from .conftest import quick_intake

playwright_api = pytest.importorskip("playwright.async_api")

RU = Texts("ru")
IN_CI = os.environ.get("CI", "").lower() == "true"
WAIT_MS = 20_000


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    reason = "no Chromium found (scripts/setup.sh test installs Debian's chromium)"
    if IN_CI:
        pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
    pytest.skip(reason)


def plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


@pytest_asyncio.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    data = tmp_path / "data"
    data.mkdir()
    running = Demo(DemoPaths(data), "127.0.0.1", free_port())
    try:
        await running.start()
        yield running
    finally:
        await running.stop()


async def test_a_visitor_walks_the_whole_journey_in_the_browser(demo: Demo, tmp_path: Path) -> None:
    executable = chromium_path()
    async with playwright_api.async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=executable)
        try:
            page = await browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(WAIT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(demo.url)
            await page.wait_for_selector("body[data-ready='1']")
            customer = page.locator("#customer")
            group = page.locator("#group")
            manager = page.locator("#manager")

            def said(pane: playwright_api.Locator, text: str) -> playwright_api.Locator:
                return pane.locator(".msg", has_text=plain(text)).last

            async def press(pane: playwright_api.Locator, text: str, button: str) -> None:
                await said(pane, text).locator("button", has_text=plain(button)).click()

            async def type_in(pane: playwright_api.Locator, text: str) -> None:
                await pane.locator(".composer .text").fill(text)
                await pane.locator(".composer .send").click()

            # The customer comes from the cabinet's link and files a request with a screenshot.
            await customer.locator(".start-button").click()
            await said(customer, "ООО «Ромашка»").wait_for()
            await type_in(customer, "/new")
            await press(customer, RU("intake.rule"), RU("intake.buttons.incident"))
            await said(customer, "Шаг 2 из 5").wait_for()
            await type_in(customer, "Не приходят звонки с сайта")
            await said(customer, "Шаг 3 из 5").wait_for()
            await type_in(customer, "С утра виджет не соединяет, клиенты жалуются.")
            await said(customer, "Шаг 4 из 5").wait_for()
            await customer.locator(".composer input[type=file]").set_input_files(
                files=[{"name": "screen.png", "mimeType": "image/png", "buffer": screenshot()}]
            )
            counted = RU("intake.screenshots_count", count=1, maximum=10)
            await press(customer, counted, RU("intake.buttons.done"))
            await press(customer, "Шаг 5 из 5", RU("intake.buttons.skip"))
            await press(customer, RU("intake.summary"), RU("intake.buttons.submit"))
            registered = said(customer, "зарегистрирована")
            await registered.wait_for()
            number = re.search(r"CTV-\d+", await registered.inner_text())
            assert number is not None
            card = group.locator(".msg", has=page.locator("button")).filter(has_text=number[0])
            await card.last.wait_for()
            await group.locator(".photos img").first.wait_for()
            await page.screenshot(path=tmp_path / "1-filed.png")

            # An agent takes it and resolves it, answering the prompt the desk forces a reply to.
            await card.last.locator("button", has_text=plain(RU("backoffice.button.take"))).click()
            await page.locator("#toast", has_text=RU("backoffice.answer.taken")).wait_for()
            await said(customer, "взял(а) в работу").wait_for()
            await card.last.locator(
                "button", has_text=plain(RU("backoffice.button.resolve"))
            ).click()
            await said(group, "ответ с решением").wait_for()
            # The prompt forces a reply: the composer is already replying to it.
            await group.locator(".replying:not([hidden])").wait_for()
            await type_in(group, "Перезапустили виджет, звонки снова проходят.")

            # The customer confirms and rates.
            resolved = said(customer, "Перезапустили виджет")
            await resolved.wait_for()
            await resolved.locator("button", has_text=plain(RU("buttons.solved"))).click()
            await press(customer, RU("notify.rate_prompt"), RU("buttons.stars", stars=5))
            await page.locator("#toast", has_text=RU("done.rated")).wait_for()
            await said(group, "★★★★★").wait_for()
            await page.screenshot(path=tmp_path / "2-resolved.png")

            # A manager asks for the digest and sees the chart.
            await type_in(manager, "/digest")
            chart = manager.locator(".msg", has_text="Сводка за сегодня").locator(".photos img")
            await chart.last.wait_for()
            assert await chart.last.evaluate("image => image.naturalWidth") > 100
            await chart.last.scroll_into_view_if_needed()
            await page.screenshot(path=tmp_path / "3-digest.png")

            assert await page.locator("#violations").is_hidden()
            assert errors == []
            # A call that breaks the Bot API's rules turns into the red banner at once.
            demo.world.record_violation("sendMessage", "Bad Request: message text is empty", {})
            await page.locator("#violations", has_text="message text is empty").wait_for()
            demo.world.take_violations()
        except Exception:
            await page.screenshot(path=tmp_path / "failed.png")
            raise
        finally:
            await browser.close()
    assert demo.world.violations == []
    for name in ("1-filed.png", "2-resolved.png", "3-digest.png"):
        assert (tmp_path / name).stat().st_size > 10_000


def screenshot() -> bytes:
    from tgemulator import make_image

    return make_image(800, 500, (30, 120, 200))


async def test_the_clock_control_moves_the_desks_time(demo: Demo) -> None:
    """A request filed now misses its first-response target a day later: the desk, a real
    process, learns the time from the page's clock and warns the agents."""
    people = demo.playground.people
    anna = demo.world.users[demo.cast.personas[0].user_id]
    await people.send(anna, f"/start {demo.cast.personas[0].start}")
    registered = await quick_intake(people, anna, "Не приходят звонки")
    number = re.search(r"CTV-\d+", registered.text or "")
    assert number is not None
    group = demo.cast.group_id
    assert not [m for m in people.messages(group) if "нарушен" in (m.text or "")]
    manager = MANAGER.user_id
    # Daily digests go out at 09:00 about the day before. The one sent at the start is
    # about the day before the last 09:00; a day later the next is about (now - 9 h)'s date.
    day = (datetime.now(ZoneInfo(TIMEZONE)) - timedelta(hours=9)).date()
    daily = f"Сводка за {day:%d.%m.%Y}"
    assert not [m for m in people.messages(manager) if daily in (m.text or "")]
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{demo.url}play/clock", json={"move": "day"}) as response,
    ):
        assert response.status == 200
        assert (await response.json())["offset_seconds"] == 86400
    warning = await people.wait_for_message(
        group, lambda m: number[0] in (m.text or "") and "нарушен" in (m.text or ""), timeout=30
    )
    assert "срок первого ответа" in (warning.text or "")
    # A day later the manager gets the daily digest of the day the request was filed.
    await people.wait_for_message(
        manager, lambda m: "photo" in m.data and daily in (m.text or ""), timeout=30
    )
    assert demo.world.violations == []


async def test_the_forum_switch_gives_each_new_request_a_topic(demo: Demo) -> None:
    people = demo.playground.people
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{demo.url}play/forum", json={"forum": True}) as response,
    ):
        assert response.status == 200
    group = demo.world.chats[demo.cast.group_id]
    assert group.is_forum
    olga = demo.world.users[demo.cast.personas[2].user_id]
    await people.send(olga, f"/start {demo.cast.personas[2].start}")
    registered = await quick_intake(people, olga, "Не открывается отчёт")
    number = re.search(r"CTV-\d+", registered.text or "")
    assert number is not None
    topic = await people.wait_for(
        lambda: next((t for t in group.topics.values() if number[0] in t.name), None), timeout=30
    )
    await people.wait_for_message(
        group, lambda m: number[0] in (m.text or "") and bool(m.buttons), thread=topic, timeout=30
    )
    assert demo.world.violations == []
