"""The browser chat on a phone (390x844) as a newcomer meets it: everything on the screen and
tappable, a bad location refused with its reason, documents downloadable, history kept across a
reload, and a second person watched beside the first."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.sandbox import BotAccount, Person, SandboxServer
from tests.auxil.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_chromium

from .tinybot import TOKEN, polling_bot

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 800}
DOCS_SCREENSHOT = Path(__file__).resolve().parents[3] / "docs/screenshots/sandbox-chat-390.png"
SHEET = b"PK\x03\x04 a small attendance sheet"

pytestmark = pytest.mark.browser


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium (Playwright's async API)."""
    playwright_api = pytest.importorskip("playwright.async_api")
    require_chromium()
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def expect(locator: Any) -> Any:
    """Playwright's auto-waiting assertions."""
    from playwright.async_api import expect as playwright_expect

    return playwright_expect(locator)


async def assert_on_screen(page: Any, selector: str) -> None:
    """The element is entirely inside the viewport."""
    box = await page.locator(selector).bounding_box()
    assert box is not None, selector
    viewport = page.viewport_size
    assert box["x"] >= 0, (selector, box)
    assert box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= viewport["width"] + 0.5, (selector, box)
    assert box["y"] + box["height"] <= viewport["height"] + 0.5, (selector, box)


async def assert_fits_the_width(page: Any) -> None:
    """Nothing makes the page scroll sideways."""
    widths = await page.evaluate(
        "[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
    )
    assert max(widths[:2]) <= widths[2], widths


async def small_tap_targets(page: Any) -> list[str]:
    """Visible controls smaller than 44 px in either direction."""
    found: list[str] = await page.evaluate(
        """() => [...document.querySelectorAll(
              'button, select, input:not([type=file]), a.download, a.new-tab, label.attach-photo')]
            .filter(e => e.getClientRects().length)
            .map(e => [e, e.getBoundingClientRect()])
            .filter(([e, r]) => r.height < 44 || r.width < 44)
            .map(([e, r]) => `${e.tagName}.${e.className} "${e.textContent.trim()}" `
                 + `${Math.round(r.width)}x${Math.round(r.height)}`)"""
    )
    return found


async def test_phone_chat_fits_refuses_bad_locations_and_offers_documents(
    server: SandboxServer,
    bot_account: BotAccount,
    alice: Person,
    bob: Person,
    browser: Any,
    tmp_path: Path,
) -> None:
    async with polling_bot(server, TOKEN) as application:
        page = await browser.new_page(viewport=PHONE)
        await page.goto(server.chat_url(alice))
        pane = page.locator(".pane.active")

        # An empty chat says what to do; Start sends /start.
        await expect(pane.locator(".empty")).to_be_visible()
        await expect(pane.locator(".empty")).to_contain_text("Press Start")
        await pane.locator(".empty .start").click()
        await expect(pane.locator(".messages li.bot").first).to_contain_text("Welcome to Outpost!")
        await expect(pane.locator(".empty")).to_be_hidden()

        for selector in (
            ".pane.active .composer .send",
            ".pane.active .composer input[name=text]",
        ):
            await assert_on_screen(page, selector)
        await assert_fits_the_width(page)
        assert await small_tap_targets(page) == []

        # Bad locations are refused next to their field, and nothing reaches the bot.
        messages_before = len(alice.all_messages)
        await pane.locator(".composer .attach-location").click()
        form = pane.locator("form.location")
        await expect(form).to_be_visible()
        await form.locator("input[name=latitude]").fill("abc")
        await form.locator("input[name=longitude]").fill("")
        await form.locator("button.share").click()
        await expect(form.locator(".error[data-for=latitude]")).to_contain_text(
            "Latitude must be a number of degrees"
        )
        await expect(form.locator(".error[data-for=longitude]")).to_contain_text(
            "Longitude is empty"
        )
        await expect(form.locator("input[name=latitude]")).to_have_attribute(
            "aria-invalid", "true"
        )
        await form.locator("input[name=latitude]").fill("200")
        await form.locator("input[name=longitude]").fill("3.4219")
        await form.locator("button.share").click()
        await expect(form.locator(".error[data-for=latitude]")).to_contain_text(
            "Latitude must be between -90 and 90 degrees (not 200)"
        )
        await expect(form.locator(".error[data-for=longitude]")).to_be_empty()
        await assert_fits_the_width(page)
        await page.screenshot(path=str(tmp_path / "bad-location-390.png"))
        assert len(alice.all_messages) == messages_before
        # A good one goes through and closes the form.
        await form.locator("input[name=latitude]").fill("6,4281")
        await form.locator("button.share").click()
        await expect(form).to_be_hidden()
        await expect(pane.locator(".messages li.bot").last).to_contain_text(
            "plain location 6.4281,3.4219"
        )

        # A document shows its name and downloads under it.
        await application.bot.send_document(
            alice.id,
            document=SHEET,
            filename="attendance-2026-11.xlsx",
            caption="November's attendance sheet",
        )
        card = pane.locator(".messages li.bot .document").last
        await expect(card.locator(".name")).to_have_text("attendance-2026-11.xlsx")
        await expect(card.locator(".size")).to_contain_text(f"{len(SHEET)} B")
        async with page.expect_download() as downloading:
            await card.locator("a.download").click()
        download = await downloading.value
        assert download.suggested_filename == "attendance-2026-11.xlsx"
        saved = await download.path()
        assert await asyncio.to_thread(Path(saved).read_bytes) == SHEET
        await assert_on_screen(page, ".pane.active .messages li.bot .document a.download")
        await assert_fits_the_width(page)
        assert await small_tap_targets(page) == []

        shot = tmp_path / "sandbox-chat-390.png"
        await page.screenshot(path=str(shot))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, ARTIFACTS / "sandbox-chat-390.png")
        if os.environ.get("OUTPOST_UPDATE_SCREENSHOTS"):
            shutil.copy(shot, DOCS_SCREENSHOT)

        # Long words and a crowded keyboard wrap inside the bubble instead of widening the page.
        crowded = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        f"2026-12-0{day} Wednesday afternoon", callback_data=str(day)
                    )
                    for day in range(1, 5)
                ]
            ]
        )
        await application.bot.send_message(
            alice.id,
            "https://example.org/" + "a-very-long-path-segment" * 8,
            reply_markup=crowded,
        )
        await expect(pane.locator(".messages li.bot .inline-keyboard button")).to_have_count(5)
        await assert_fits_the_width(page)
        assert await small_tap_targets(page) == []

        # The history comes back after a reload of the page.
        shown = await pane.locator(".messages li").count()
        await page.reload()
        await expect(page.locator(".pane.active .messages li")).to_have_count(shown)
        await expect(page.locator(".pane.active .document .name")).to_have_text(
            "attendance-2026-11.xlsx"
        )
    assert bob.all_messages == []


async def test_plus_opens_another_person_one_at_a_time_on_a_phone_side_by_side_when_wide(
    server: SandboxServer,
    bot_account: BotAccount,
    alice: Person,
    bob: Person,
    browser: Any,
    tmp_path: Path,
) -> None:
    async with polling_bot(server, TOKEN):
        page = await browser.new_page(viewport=PHONE)
        await page.goto(server.chat_url(alice))
        await page.locator("#add-pane").click()
        picker = page.locator("#picker")
        await expect(picker.get_by_role("menuitem", name="Alice (open)")).to_be_disabled()
        await picker.get_by_role("menuitem", name="Bob").click()
        await expect(page.locator(".pane")).to_have_count(2)
        bob_pane = page.locator(f".pane[data-user='{bob.id}']")
        alice_pane = page.locator(f".pane[data-user='{alice.id}']")
        await expect(bob_pane).to_be_visible()
        await expect(alice_pane).to_be_hidden()
        assert f"user={alice.id}&user={bob.id}" in page.url

        await bob_pane.locator(".composer input[name=text]").fill("hello from Bob")
        await bob_pane.locator(".composer .send").click()
        await expect(bob_pane.locator(".messages li.bot")).to_contain_text(
            "You said: hello from Bob"
        )
        await assert_on_screen(page, ".pane.active .composer .send")
        await assert_fits_the_width(page)
        assert await small_tap_targets(page) == []

        # The switcher brings Alice back to the front; her chat is her own.
        await page.locator("#tabs").get_by_role("tab", name="Alice").click()
        await expect(alice_pane).to_be_visible()
        await expect(bob_pane).to_be_hidden()
        await expect(alice_pane.locator(".empty")).to_be_visible()
        await expect(page.locator("#person")).to_have_value(str(alice.id))

        # On a wide screen both stand side by side, after a reload too.
        await page.set_viewport_size(WIDE)
        await page.reload()
        await expect(alice_pane).to_be_visible()
        await expect(bob_pane).to_be_visible()
        left, right = await alice_pane.bounding_box(), await bob_pane.bounding_box()
        assert left is not None
        assert right is not None
        assert left["x"] + left["width"] <= right["x"]
        assert right["x"] + right["width"] <= WIDE["width"]
        await expect(bob_pane.locator(".messages li.bot")).to_contain_text("hello from Bob")
        await assert_fits_the_width(page)
        await page.screenshot(path=str(tmp_path / "two-people-wide.png"))
    assert [m.raw_text for m in bob.messages] == ["You said: hello from Bob"]
    assert alice.all_messages == []


async def test_mini_app_opens_in_the_chat_and_closes(
    server: SandboxServer, bot_account: BotAccount, alice: Person, browser: Any
) -> None:
    from telegram import WebAppInfo

    async with polling_bot(server, TOKEN) as application:
        page = await browser.new_page(viewport=PHONE)
        await page.goto(server.chat_url(alice))
        app_url = f"{server.url}/static/chat.css"
        await application.bot.send_message(
            alice.id,
            "Plan your day",
            reply_markup=(
                InlineKeyboardMarkup(
                    [[InlineKeyboardButton("Open app", web_app=WebAppInfo(app_url))]]
                )
            ),
        )
        pane = page.locator(".pane.active")
        await pane.get_by_role("button", name="Open app ⧉").click()
        frame = pane.locator(".webapp-box iframe")
        await expect(frame).to_have_attribute("src", re.compile(r"#tgWebAppData=.*hash"))
        await assert_on_screen(page, ".pane.active .webapp-box")
        await assert_on_screen(page, ".pane.active .composer .send")
        await assert_fits_the_width(page)
        assert await small_tap_targets(page) == []
        await pane.get_by_role("button", name="Close app").click()
        await expect(pane.locator(".webapp-box")).to_have_count(0)
