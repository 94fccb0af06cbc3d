"""Outpost itself in the browser chat: a person checks in from a phone-sized page."""

from __future__ import annotations

import pytest

from bot.app import Outpost
from bot.sandbox import SandboxServer
from db.enums import Role
from db.models import CheckIn, Person, PersonRole, Station
from tests.auxil.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_chromium


@pytest.mark.browser
async def test_check_in_from_the_browser_chat(outpost: Outpost, sandbox: SandboxServer) -> None:
    """/checkin, the location button, the 'At the station' preset: checked in, inside the fence."""
    playwright_api = pytest.importorskip("playwright.async_api")
    require_chromium()
    station = await Station.create(
        code="LOS",
        name="Lagos service station",
        country="NG",
        lat=6.4281,
        lon=3.4219,
        radius_m=300,
        timezone="Africa/Lagos",
    )
    person = await Person.create(telegram_id=8801, name="Amina Bello", station=station)
    await PersonRole.create(person=person, role=Role.STAFF)
    sandbox.add_person(8801, "Amina", "en")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(sandbox.chat_url(8801))
            await page.fill(".pane .composer input[name=text]", "/checkin")
            await page.click(".pane .composer .send")
            keyboard = page.locator(".pane .reply-keyboard button", has_text="Check in")
            await keyboard.click()
            await page.locator(
                ".pane .location .presets button", has_text="At the station"
            ).click()
            answer = page.locator(".pane .messages li.bot", has_text="Checked in")
            await playwright_api.expect(answer).to_contain_text("inside the geofence")
            # 10:00 in Lagos is after the window that closed at 09:30.
            await playwright_api.expect(answer).to_contain_text(
                "Late: the check-in window closed at 09:30:00 and this check-in was at 10:00:00"
            )
            await page.screenshot(path=str(ARTIFACTS / "outpost-checkin.png"))
        finally:
            await browser.close()
    checkin = await CheckIn.get()
    assert checkin.inside_geofence
