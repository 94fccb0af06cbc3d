"""A 429 for one chat holds that chat only; a chat gets one message at a time, in order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.delivery.config import WorkerConfig
from bot.sandbox import FloodLimits, SandboxServer
from bot.sandbox.limits import ManualClock as SandboxClock
from db.enums import Channel, DeliveryStatus, Lane
from db.models import DeliveryAttempt, OutboxMessage
from services.clock import ManualClock
from tests.auxil.senders import FakeSender

from .conftest import PeopleFactory, ServiceFactory, queue, until
from .test_service import _all_settled, _texts


@pytest.fixture
def limits() -> FloodLimits:
    """One message per private chat, then 429 until the sandbox clock moves."""
    return FloodLimits(per_second=1000, private_per_second=1, private_burst=1)


async def test_429_holds_only_that_chat(
    people: PeopleFactory,
    make_service: ServiceFactory,
    server: SandboxServer,
    clock: ManualClock,
    sandbox_clock: SandboxClock,
) -> None:
    """A 429 for one chat pauses that chat for retry_after; other chats keep flowing."""
    busy, *others = await people(6)
    first = [
        await queue(busy, f"busy-{n}", lane=Lane.EMERGENCY, name=str(n), clock=clock)
        for n in range(2)
    ]
    rest = [await queue(person, f"other-{person.id}", name="o", clock=clock) for person in others]
    service = await make_service(worker=WorkerConfig(max_in_flight=1, poll_seconds=0.05))
    await until(lambda: _all_settled(first[0].id, *(row.id for row in rest)))
    held = await OutboxMessage.get(id=first[1].id)
    assert held.status == DeliveryStatus.PENDING
    assert held.next_attempt_at == clock.now() + timedelta(seconds=1)
    attempt = await DeliveryAttempt.get(message_id=held.id)
    assert (attempt.outcome, attempt.http_status, attempt.retry_after_s) == ("retry", 429, 1.0)
    assert len(_texts(server, busy.telegram_id)) == 1
    assert service.throttled == 1
    # Time passes for both sides: the held message goes.
    sandbox_clock.advance(1)
    clock.advance(seconds=1)
    service.wake()
    await until(lambda: _all_settled(held.id))
    assert len(_texts(server, busy.telegram_id)) == 2
    assert (await OutboxMessage.get(id=held.id)).attempts == 1


async def test_one_message_at_a_time_per_chat_in_the_order_written(
    people: PeopleFactory, make_service: ServiceFactory, clock: ManualClock
) -> None:
    """Replies to one chat go one after the other by id; other chats are sent meanwhile."""
    talker, *others = await people(4)
    telegram = FakeSender(paced=True, latency=0.02)
    replies = [await queue(talker, f"reply-{n}", name=str(n), clock=clock) for n in range(6)]
    rest = [await queue(person, f"o-{person.id}", name="o", clock=clock) for person in others]
    await make_service(senders={Channel.TELEGRAM: telegram})
    await until(lambda: _all_settled(*(row.id for row in [*replies, *rest])))
    to_talker = [m.message_id for m in telegram.messages if m.address == str(talker.telegram_id)]
    assert to_talker == [row.id for row in replies]
    assert telegram.most_per_address == 1
    assert telegram.most_at_once > 1
