"""One person's flood never delays anyone else: while 3,000 updates of one person wait in the
inbox, twenty others are answered within a second (p99)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bench.common import percentile
from bot.app import Outpost
from bot.delivery.config import DeliveryConfig, RateConfig
from bot.sandbox import SandboxServer
from bot.sandbox.people import Person as SandboxPerson
from bot.settings import Settings
from db.enums import InboxStatus
from db.models import InboundUpdate
from services.clock import ManualClock
from tests.e2e.conftest import eventually, outpost_settings, sandbox  # noqa: F401 - fixture

FLOOD = 3000
OTHERS = 20
ROUNDS = 5


@pytest_asyncio.fixture
async def unpaced_outpost(
    sandbox: SandboxServer,  # noqa: F811
    database_url: str,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Outpost]:
    """Outpost by polling, its outbox not pacing (the sandbox's limits are off too): this is
    about the inbox; pacing per chat is the outbox's, tested in tests/bot/delivery."""
    sandbox.sandbox.limits.enabled = False
    configured = Settings.delivery_config

    def unpaced(settings: Settings) -> DeliveryConfig:
        return configured(settings).model_copy(
            update={
                "rate": RateConfig(
                    per_second=100_000, per_chat_per_second=1000, per_chat_burst=1000
                )
            }
        )

    monkeypatch.setattr(Settings, "delivery_config", unpaced)
    app = Outpost(outpost_settings(sandbox, database_url), clock=clock, ticking=False)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def test_others_are_answered_within_a_second_during_a_flood(
    unpaced_outpost: Outpost,
    sandbox: SandboxServer,  # noqa: F811
) -> None:
    """The flooder's updates are stored first; the others' go behind them in Telegram's queue
    and in the inbox, and are answered at once all the same."""
    flooder = sandbox.add_person(9000, "Flood", "en")
    others = [sandbox.add_person(9100 + i, f"P{i}", "en") for i in range(OTHERS)]
    for _ in range(FLOOD):
        flooder.send_command("help")
    poller = unpaced_outpost.poller
    assert poller is not None

    async def flood_stored() -> bool:
        return poller.stored >= FLOOD

    await eventually(flood_stored, timeout=30)

    latencies: list[float] = []

    async def keep_asking(person: SandboxPerson) -> None:
        for _ in range(ROUNDS):
            started = time.perf_counter()
            person.send_command("help")
            await person.wait_for_message()
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(keep_asking(person) for person in others))
    # The flood was still being worked through the whole time.
    waiting = await InboundUpdate.filter(sender_id=9000, status=InboxStatus.PENDING).count()
    assert waiting > 0
    assert len(latencies) == OTHERS * ROUNDS
    p99 = percentile(latencies, 0.99)
    print(f"others p99 {p99:.3f} s, {waiting} of the flood still waiting")
    assert p99 < 1.0, f"p99 {p99:.3f} s, {waiting} of the flood still waiting"
