"""The browser chat in headless Chromium: pick a person, send /start, see the bot's answer."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.sandbox import BotAccount, Person, SandboxServer

from .tinybot import TOKEN, polling_bot

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.browser
async def test_chat_page_start_and_button(
    server: SandboxServer, bot_account: BotAccount, alice: Person, bob: Person
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium (scripts/test does)")
        pytest.skip("system Chromium not installed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with polling_bot(server, TOKEN), playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
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
