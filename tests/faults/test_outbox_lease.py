"""A short lease is never outlived: two workers, a slow sender, each message sent once."""

from __future__ import annotations

import asyncio
from collections import Counter

from bot.delivery.config import WorkerConfig
from db.enums import Channel, DeliveryStatus, Lane
from db.models import OutboxMessage
from services.clock import SystemClock
from tests.auxil.senders import FakeSender
from tests.bot.delivery import conftest as delivery
from tests.bot.delivery.conftest import PeopleFactory, ServiceFactory, queue, until

# The delivery tests' fixtures (sandbox, people, worker factory), taken here rather than
# through a conftest.py shared by every fault test.
limits = delivery.limits
sandbox_clock = delivery.sandbox_clock
server = delivery.server
people = delivery.people
make_service = delivery.make_service

MESSAGES = 24
LEASE_SECONDS = 2.0
# Two sends at a time of 0.2 s each: the first worker claims every row at once and needs
# about 2.4 s to send them, longer than the lease.
SEND_SECONDS = 0.2


async def test_two_workers_with_a_two_second_lease_send_each_message_once(
    people: PeopleFactory, make_service: ServiceFactory
) -> None:
    """Rows that wait in a worker past their first lease are renewed, never taken twice."""
    recipients = await people(MESSAGES)
    clock = SystemClock()
    rows = [
        await queue(person, f"lease-{person.id}", lane=Lane.BROADCAST, name="l", clock=clock)
        for person in recipients
    ]
    sends: Counter[int] = Counter()
    worker = WorkerConfig(
        lease_seconds=LEASE_SECONDS, poll_seconds=0.05, probe_seconds=0.02, max_in_flight=2
    )
    first = await make_service(
        use_clock=False,
        worker=worker,
        senders={Channel.TELEGRAM: FakeSender(paced=True, latency=SEND_SECONDS, sends=sends)},
    )

    async def all_claimed() -> bool:
        return not await OutboxMessage.filter(status=DeliveryStatus.PENDING).exists()

    # The first worker holds every row before the second starts looking.
    await until(all_claimed)
    second = await make_service(
        use_clock=False,
        worker=worker,
        senders={Channel.TELEGRAM: FakeSender(paced=True, latency=SEND_SECONDS, sends=sends)},
    )

    async def all_sent() -> bool:
        return await OutboxMessage.filter(status=DeliveryStatus.SENT).count() == MESSAGES

    await until(all_sent, within=30)
    await asyncio.gather(first.idle(), second.idle())
    assert sends == Counter({row.id: 1 for row in rows})
    assert first.sent + second.sent == MESSAGES
