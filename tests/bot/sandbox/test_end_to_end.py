"""A real PTB Application against the sandbox over HTTP, by long polling and by webhook."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from bot.sandbox import BotAccount, Person, SandboxServer
from tests.auxil.chat import text_of

from .tinybot import TOKEN, polling_bot, webhook_bot


def _runner(mode: str, server: SandboxServer) -> AbstractAsyncContextManager[Any]:
    """The tiny bot in the given mode."""
    return polling_bot(server, TOKEN) if mode == "polling" else webhook_bot(server, TOKEN)


@pytest.fixture(params=["polling", "webhook"])
async def running_bot(
    request: pytest.FixtureRequest, server: SandboxServer, bot_account: BotAccount
) -> AsyncIterator[str]:
    """The tiny bot running in polling or webhook mode."""
    async with _runner(request.param, server):
        yield request.param


async def test_command_answered_and_button_edits(running_bot: str, alice: Person) -> None:
    alice.send_text("/start")
    greeting = await alice.wait_for_message()
    assert greeting.raw_text == "Welcome to Outpost!"
    assert greeting.data["entities"] == [{"type": "bold", "offset": 11, "length": 7}]
    assert greeting.button_texts == ["Check in"]

    pressed = alice.press("Check in")
    answer = await pressed.wait_answer()
    assert answer.text == "Checked in"
    assert answer.show_alert
    await alice.wait_for_edit(greeting)
    assert greeting.raw_text == "You are checked in."
    assert greeting.history[0]["text"] == "Welcome to Outpost!"


async def test_location_received(running_bot: str, alice: Person, bob: Person) -> None:
    alice.share_location(6.4281, 3.4219, horizontal_accuracy=12)
    reply = await alice.wait_for_message()
    assert reply.raw_text == "plain location 6.4281,3.4219 ±12m"

    alice.share_location(6.5, 3.3, forwarded_from=bob)
    assert (await alice.wait_for_message()).raw_text == "forwarded location 6.5000,3.3000 ±0m"

    live = alice.share_live_location(6.0, 3.0, live_period=600)
    started = await alice.wait_for_message()
    assert text_of(started).startswith("live location 6.0000,3.0000")
    live.move(6.1, 3.1, horizontal_accuracy=5)
    moved = await alice.wait_for_message()
    assert moved.raw_text == "edited live location 6.1000,3.1000 ±5m"


async def test_photo_downloaded(running_bot: str, alice: Person) -> None:
    sent = alice.send_photo()
    reply = await alice.wait_for_message()
    size = sent.data["photo"][0]["file_size"]
    assert reply.raw_text == f"photo {size} bytes png=True"


async def test_reply_keyboard_location_and_contact(running_bot: str, alice: Person) -> None:
    alice.send_command("where")
    await alice.wait_for_message(lambda m: m.raw_text == "Where are you?")
    assert [b["text"] for b in alice.reply_keyboard_buttons()] == [
        "Send location",
        "Share phone",
        "Later",
    ]
    alice.press("Share phone")
    assert (await alice.wait_for_message()).raw_text == "phone +15550001001 own=True"
    # one_time_keyboard: the keyboard is gone after use
    assert alice.reply_keyboard_buttons() == []

    alice.send_command("where")
    await alice.wait_for_message()
    alice.press("Later")
    assert (await alice.wait_for_message()).raw_text == "You said: Later"


async def test_duplicate_webhook_delivery_processed_once(
    server: SandboxServer, bot_account: BotAccount, alice: Person
) -> None:
    async with webhook_bot(server, TOKEN) as (_, receiver):
        bot_account.duplicate_deliveries = 1
        alice.send_text("hello")
        await alice.wait_for_message()
        update_id = receiver.processed[-1]
        await alice.wait_until(lambda: bot_account.delivered.count(update_id) == 2)
        assert receiver.received.count(update_id) == 2
        assert receiver.processed.count(update_id) == 1
        assert len(alice.messages) == 1


async def test_webhook_retried_after_failure(
    server: SandboxServer, bot_account: BotAccount, alice: Person
) -> None:
    async with webhook_bot(server, TOKEN) as (application, receiver):
        receiver.fail_next = 2
        alice.send_text("are you there?")
        reply = await alice.wait_for_message()
        assert reply.raw_text == "You said: are you there?"
        assert len(receiver.received) == 3
        info = await application.bot.get_webhook_info()
        assert info.url == receiver.url
        assert info.pending_update_count == 0
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )
