"""End-to-end fixtures: the real Outpost wiring against the sandbox over HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest_asyncio

from bot.app import Outpost
from bot.sandbox import FloodLimits, SandboxServer
from bot.settings import Settings
from services.clock import ManualClock

TOKEN = "424242:OUTPOST-e2e-token-for-sandbox"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest_asyncio.fixture
async def sandbox(clock: ManualClock) -> AsyncIterator[SandboxServer]:
    """A strict sandbox with the Outpost bot; fails the test if the bot broke Telegram's rules.

    Message dates follow the test's clock, as Telegram's follow real time.
    """
    # Replies leave through the outbox, which paces each chat as Telegram does (1/s, burst
    # of 3); the sandbox allows a longer burst so that timing jitter between the two buckets
    # never yields a 429, whose retry would wait on the test's clock, which stands still.
    server = SandboxServer("127.0.0.1", 0, limits=FloodLimits(private_burst=20))
    server.sandbox.wall_clock = lambda: clock.now().timestamp()
    server.add_bot(TOKEN, "outpost_test_bot", "Outpost")
    await server.start()
    try:
        yield server
        server.sandbox.assert_no_violations()
    finally:
        await server.stop()


def outpost_settings(sandbox: SandboxServer, database_url: str, **extra: Any) -> Settings:
    """Settings for an Outpost that talks to `sandbox` and listens on a free port."""
    values: dict[str, Any] = {
        "telegram_token": TOKEN,
        "telegram_api_url": sandbox.url,
        "database_url": database_url,
        "web_port": free_port(),
        "auto_migrate": False,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest_asyncio.fixture
async def outpost(
    sandbox: SandboxServer, database_url: str, clock: ManualClock
) -> AsyncIterator[Outpost]:
    """Outpost running by long polling against the sandbox, on this test's database.

    Deadlines do not fire by the wall clock here: a test fires what is due with
    `outpost.deadlines.run_due()` after moving its clock, so what is due never depends on when
    the test happens to run.
    """
    app = Outpost(outpost_settings(sandbox, database_url), clock=clock, ticking=False)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until `check()` holds: for work the bot does after its last message (no clock)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
