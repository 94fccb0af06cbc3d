"""The browser chat in headless Chromium: pick a person, send /start, see the bot's answer."""

from __future__ import annotations

import pytest

from bot.sandbox import BotAccount, Person, SandboxServer
from tests.auxil.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_chromium

from .tinybot import TOKEN, polling_bot


@pytest.mark.browser
async def test_chat_page_start_and_button(
    server: SandboxServer, bot_account: BotAccount, alice: Person, bob: Person
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    require_chromium()
    async with polling_bot(server, TOKEN), playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(server.chat_url())
            await page.select_option("#person", str(bob.id))
            await page.fill(".pane .composer input[name=text]", "/start")
            await page.click(".pane .composer .send")
            bot_line = page.locator(".pane .messages li.bot").first
            await playwright_api.expect(bot_line).to_contain_text("Welcome to Outpost!")
            await playwright_api.expect(bot_line.locator("b")).to_have_text("Outpost")
            await bot_line.get_by_role("button", name="Check in").click()
            await playwright_api.expect(page.locator(".pane .alert")).to_have_text("Checked in")
            await playwright_api.expect(bot_line).to_contain_text("You are checked in.")
            await page.screenshot(path=str(ARTIFACTS / "sandbox-chat.png"))
        finally:
            await browser.close()
    assert bob.messages[0].raw_text == "You are checked in."
    assert alice.messages == []
