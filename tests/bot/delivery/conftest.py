"""Fixtures of the delivery tests: a sandbox Bot API, people on both sides, a worker factory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from bot.delivery.base import Outcome, RenderedMessage
from bot.delivery.config import DeliveryConfig, RateConfig, RetryConfig, WorkerConfig
from bot.delivery.hooks import DeliveryHooks
from bot.delivery.service import DeliveryService
from bot.delivery.telegram import TelegramSender, make_bot
from bot.sandbox import FloodLimits, SandboxServer
from bot.sandbox.limits import ManualClock as SandboxClock
from db.enums import Channel, Lane
from db.models import OutboxMessage, Person
from services.clock import Clock, ManualClock
from services.notify import notify

TOKEN = "424242:delivery-test-token-abcdef"

# Generous limits: the tests that are about limits set their own.
FAST_RATE = RateConfig(per_second=1000, per_chat_per_second=1000, per_chat_burst=1000)
FAST_WORKER = WorkerConfig(poll_seconds=0.05, probe_seconds=0.02, lease_seconds=30)


@pytest.fixture
def sandbox_clock() -> SandboxClock:
    """The sandbox's flood-limit clock: it stands still unless a test moves it."""
    return SandboxClock()


@pytest.fixture
def limits() -> FloodLimits:
    """Flood limits of the sandbox; generous unless a test asks otherwise."""
    return FloodLimits(per_second=1000, private_per_second=1000, private_burst=1000)


@pytest_asyncio.fixture
async def server(limits: FloodLimits, sandbox_clock: SandboxClock) -> AsyncIterator[SandboxServer]:
    """A started strict sandbox with the test bot."""
    sandbox_server = SandboxServer(limits=limits, clock=sandbox_clock)
    sandbox_server.add_bot(TOKEN, "outpost_delivery_bot")
    await sandbox_server.start()
    try:
        yield sandbox_server
        sandbox_server.sandbox.assert_no_violations()
    finally:
        await sandbox_server.stop()


PeopleFactory = Callable[..., Awaitable[list[Person]]]


@pytest.fixture
def people(server: SandboxServer, db: str) -> PeopleFactory:
    """Make n people known to the sandbox (they opened the bot) and to the database."""
    counter = iter(range(10_000))

    async def make(n: int, language: str = "en") -> list[Person]:
        made = []
        for _ in range(n):
            index = next(counter)
            telegram_id = 500_000 + index
            server.add_person(telegram_id, f"P{index}", language)
            made.append(
                await Person.create(telegram_id=telegram_id, name=f"P{index}", language=language)
            )
        return made

    return make


class RecordingSender(TelegramSender):
    """The Telegram sender, remembering the order in which messages went out."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order: list[int] = []

    async def send(self, message: RenderedMessage) -> Outcome:
        """Send and note the message id."""
        self.order.append(message.message_id)
        return await super().send(message)


ServiceFactory = Callable[..., Awaitable[DeliveryService]]


@pytest_asyncio.fixture
async def make_service(
    server: SandboxServer, db: str, clock: ManualClock
) -> AsyncIterator[ServiceFactory]:
    """Start delivery workers on the sandbox; all are stopped at the end of the test."""
    started: list[DeliveryService] = []

    async def make(
        *,
        rate: RateConfig = FAST_RATE,
        worker: WorkerConfig = FAST_WORKER,
        retry: RetryConfig | None = None,
        use_clock: bool = True,
        senders: dict[Channel, Any] | None = None,
        hooks: DeliveryHooks | None = None,
        **config: Any,
    ) -> DeliveryService:
        telegram = RecordingSender(make_bot(TOKEN, server.url), own_bot=True)
        service = DeliveryService(
            senders={Channel.TELEGRAM: telegram, **(senders or {})},
            config=DeliveryConfig(
                rate=rate, worker=worker, retry=retry or RetryConfig(), **config
            ),
            clock=clock if use_clock else None,
            hooks=hooks,
        )
        await service.start()
        started.append(service)
        return service

    yield make
    for service in started:
        await service.stop()


async def until(
    predicate: Callable[[], Awaitable[bool]],
    within: float = 10.0,
    what: str = "",
) -> None:
    """Wait for work in progress to reach a state (checks often; fails after `within` seconds)."""
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.01)


async def queue(
    recipient: Person | str,
    key: str,
    *,
    clock: Clock,
    lane: Lane = Lane.ROUTINE,
    name: str | None = None,
    **extra: Any,
) -> OutboxMessage:
    """notify() with the test message ("Test message for {name}.") and its defaults."""
    return await notify(
        clock=clock,
        recipient=recipient,
        msgid="outbox.test",
        params={} if name is None else {"name": name},
        lane=lane,
        idempotency_key=key,
        **extra,
    )
