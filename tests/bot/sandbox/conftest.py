"""Fixtures of the sandbox tests: a strict started server, a bot, people, an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.sandbox import BotAccount, FloodLimits, Person, SandboxServer

from .tinybot import TOKEN, HttpClient


@pytest.fixture
def limits() -> FloodLimits:
    """Flood limits for the server; generous unless a test asks otherwise."""
    return FloodLimits(per_second=1000, private_per_second=1000, private_burst=1000)


@pytest_asyncio.fixture
async def server(limits: FloodLimits) -> AsyncIterator[SandboxServer]:
    """A started sandbox; the test fails at teardown if the bot sent anything Telegram rejects."""
    sandbox_server = SandboxServer(
        limits=limits, webhook_retry_delays=(0.05, 0.1), webhook_timeout=2.0
    )
    await sandbox_server.start()
    try:
        yield sandbox_server
        sandbox_server.sandbox.assert_no_violations()
    finally:
        await sandbox_server.stop()


@pytest.fixture
def bot_account(server: SandboxServer) -> BotAccount:
    """The test bot registered with the sandbox."""
    return server.add_bot(TOKEN, "outpost_test_bot")


@pytest.fixture
def alice(server: SandboxServer, bot_account: BotAccount) -> Person:
    """A person who has opened the bot."""
    return server.add_person(1001, "Alice", "en", username="alice", phone_number="+15550001001")


@pytest.fixture
def bob(server: SandboxServer, bot_account: BotAccount) -> Person:
    """Another person, speaking French."""
    return server.add_person(1002, "Bob", "fr")


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpClient]:
    """A plain HTTP client for raw Bot API calls."""
    async with HttpClient() as client:
        yield client
