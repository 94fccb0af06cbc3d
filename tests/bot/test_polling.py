"""Long polling into the inbox: a batch is confirmed to Telegram only once it is stored."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import Update

from bot import polling
from bot.polling import Poller
from bot.replies import OutpostBot
from db.enums import InboxStatus
from db.models import InboundUpdate
from services.clock import ManualClock
from tests.auxil.inbox import inbox_application


async def _nothing(update: Update, context: Any) -> None:
    """The handlers are not what these tests are about."""


def _poller(bot: object, clock: ManualClock, stored: asyncio.Event) -> Poller:
    assert isinstance(bot, OutpostBot)
    return Poller(bot, clock=clock, on_stored=lambda senders: stored.set(), timeout=1)


async def test_a_batch_is_confirmed_only_after_it_is_stored(
    db: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storing fails once: Telegram still holds the updates, they are fetched again, stored
    once each, and only then confirmed (gone from Telegram's queue)."""
    monkeypatch.setattr(polling, "BACKOFF_FIRST_SECONDS", 0.01)
    real_receive = polling.updates.receive
    failures = [RuntimeError("database down")]

    async def flaky_receive(**kwargs: Any) -> int:
        if failures:
            raise failures.pop()
        return await real_receive(**kwargs)

    monkeypatch.setattr(polling.updates, "receive", flaky_receive)
    async with inbox_application(_nothing) as (application, server):
        account = next(iter(server.sandbox.bots.values()))
        ada = server.add_person(7, "Ada", "en")
        ada.send_text("one")
        ada.send_text("two")
        stored = asyncio.Event()
        poller = _poller(application.bot, clock, stored)
        await poller.start()
        await stored.wait()
        # Stored, not yet confirmed: the next getUpdates (with the offset) confirms them.
        assert await InboundUpdate.filter(status=InboxStatus.PENDING).count() == 2
        ada.send_text("three")
        stored.clear()
        await stored.wait()
        await poller.stop()
        assert [u["update_id"] for u in account.updates] == [3]  # only the last is unconfirmed
    assert failures == []
    assert sorted(await InboundUpdate.all().values_list("update_id", flat=True)) == [1, 2, 3]


async def test_network_errors_back_off_and_polling_goes_on(
    db: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two 502s from getUpdates: polling waits, tries again and stores the update."""
    monkeypatch.setattr(polling, "BACKOFF_FIRST_SECONDS", 0.01)
    async with inbox_application(_nothing) as (application, server):
        server.sandbox.faults.add("server_error", methods=["getUpdates"], times=2)
        server.add_person(7, "Ada", "en").send_text("hello")
        stored = asyncio.Event()
        poller = _poller(application.bot, clock, stored)
        await poller.start()
        await stored.wait()
        await poller.stop()
    row = await InboundUpdate.get()
    assert (row.sender_id, row.payload["message"]["text"]) == (7, "hello")
