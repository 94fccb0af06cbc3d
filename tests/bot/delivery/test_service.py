"""The delivery worker against the sandbox: lanes, limits, retries, reports, languages."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta
from functools import partial

import pytest
from tortoise.transactions import in_transaction

from bot.delivery.config import RateConfig, RetryConfig, WorkerConfig
from bot.sandbox import SandboxServer
from db.enums import Channel, DeliveryStatus, Lane
from db.models import DeliveryAttempt, OutboxMessage, Person
from services.clock import ManualClock
from services.errors import InvalidInput
from services.notify import button, delivery_report, unreached

from .conftest import FAST_RATE, PeopleFactory, RecordingSender, ServiceFactory, queue, until


async def _all_settled(*ids: int) -> bool:
    rows = await OutboxMessage.filter(id__in=ids).values_list("status", flat=True)
    return all(status in (DeliveryStatus.SENT, DeliveryStatus.FAILED) for status in rows)


def _texts(server: SandboxServer, telegram_id: int) -> list[str | None]:
    return [message.raw_text for message in server.sandbox.person(telegram_id).messages]


async def test_lanes_go_out_highest_first(
    people: PeopleFactory, make_service: ServiceFactory, server: SandboxServer, clock: ManualClock
) -> None:
    """Rows written before the worker starts leave in lane order, oldest first within a lane."""
    recipients = await people(10)
    lanes = [Lane.ROUTINE, Lane.BROADCAST, Lane.EMERGENCY, Lane.APPROVAL, Lane.ESCALATION] * 2
    rows = [
        await queue(person, f"lanes-{index}", lane=lane, name="x", clock=clock)
        for index, (person, lane) in enumerate(zip(recipients, lanes, strict=True))
    ]
    service = await make_service(worker=WorkerConfig(max_in_flight=1, poll_seconds=0.05))
    await until(lambda: _all_settled(*(row.id for row in rows)))
    sender = service.senders[Channel.TELEGRAM]
    assert isinstance(sender, RecordingSender)
    by_id = {row.id: row for row in rows}
    sent_lanes = [by_id[message_id].lane for message_id in sender.order]
    assert sent_lanes == sorted(lanes)
    emergency_ids = [row.id for row in rows if row.lane == Lane.EMERGENCY]
    assert sender.order[:2] == emergency_ids


async def test_emergency_overtakes_a_running_broadcast(
    people: PeopleFactory, make_service: ServiceFactory, clock: ManualClock
) -> None:
    """An emergency written during a broadcast is the very next message to go out.

    Pacing follows the test's clock: at 20/s with a 0.1 s burst, two broadcast messages go at
    once and the other 38 wait, held by the worker, until the clock moves.
    """
    recipients = await people(41)
    broadcast = [
        await queue(
            person,
            f"broadcast-{person.id}",
            lane=Lane.BROADCAST,
            name="b",
            source_kind="alert",
            source_id=1,
            clock=clock,
        )
        for person in recipients[:40]
    ]
    service = await make_service(
        rate=RateConfig(per_second=20, per_chat_per_second=1000, per_chat_burst=1000),
    )
    sender = service.senders[Channel.TELEGRAM]
    assert isinstance(sender, RecordingSender)

    async def burst_sent() -> bool:
        return await OutboxMessage.filter(status=DeliveryStatus.SENT).count() == 2

    await until(burst_sent)
    assert len(sender.order) == 2
    sos = await queue(
        recipients[40],
        "sos-1",
        lane=Lane.EMERGENCY,
        name="sos",
        source_kind="incident",
        source_id=7,
        clock=clock,
    )

    async def sos_claimed() -> bool:
        return (await OutboxMessage.get(id=sos.id)).claimed_by is not None

    await until(sos_claimed)
    # Time for one and a half sends: exactly one goes, and it is the emergency.
    clock.advance(seconds=0.075)
    service.wake()
    await until(lambda: _all_settled(sos.id))
    assert sender.order[2:] == [sos.id]

    async def progress(count: int) -> bool:
        return len(sender.order) > count or await _all_settled(*(row.id for row in broadcast))

    while not await _all_settled(*(row.id for row in broadcast)):
        before = len(sender.order)
        clock.advance(seconds=0.1)
        service.wake()
        await until(partial(progress, before))
    assert sorted(sender.order) == sorted([row.id for row in broadcast] + [sos.id])
    assert service.throttled == 0


async def test_server_errors_are_retried_with_backoff(
    people: PeopleFactory, make_service: ServiceFactory, server: SandboxServer, clock: ManualClock
) -> None:
    """Two 502s, then success: three attempts recorded, the waits grow."""
    (person,) = await people(1)
    server.sandbox.faults.add("server_error", methods=["sendMessage"], times=2, status=502)
    row = await queue(person, "retry-1", lane=Lane.ESCALATION, name="r", clock=clock)
    service = await make_service(retry=RetryConfig(backoff_base_seconds=2, jitter=0))

    async def attempts(n: int) -> bool:
        return await DeliveryAttempt.filter(message_id=row.id).count() >= n

    await until(lambda: attempts(1))
    first = await OutboxMessage.get(id=row.id)
    assert first.status == DeliveryStatus.PENDING
    assert first.next_attempt_at == clock.now() + timedelta(seconds=2)
    clock.advance(seconds=2)
    service.wake()
    await until(lambda: attempts(2))
    second = await OutboxMessage.get(id=row.id)
    assert second.next_attempt_at == clock.now() + timedelta(seconds=4)
    clock.advance(seconds=4)
    service.wake()
    await until(lambda: _all_settled(row.id))
    log = await DeliveryAttempt.filter(message_id=row.id).order_by("id")
    assert [(a.outcome, a.http_status) for a in log] == [
        ("retry", 502),
        ("retry", 502),
        ("sent", 200),
    ]
    done = await OutboxMessage.get(id=row.id)
    assert done.status == DeliveryStatus.SENT
    assert done.attempts == 3
    assert done.external_id


async def test_gives_up_after_max_attempts(
    people: PeopleFactory, make_service: ServiceFactory, server: SandboxServer, clock: ManualClock
) -> None:
    """A message that keeps failing is failed for good after max_attempts, with the reason."""
    (person,) = await people(1)
    server.sandbox.faults.add("server_error", methods=["sendMessage"], status=500)
    row = await queue(
        person,
        "give-up",
        name="r",
        clock=clock,
        source_kind="reminder",
        source_id=3,
    )
    service = await make_service(retry=RetryConfig(max_attempts=2, backoff_base_seconds=1))
    await until(lambda: DeliveryAttempt.filter(message_id=row.id).exists())
    clock.advance(seconds=5)
    service.wake()
    await until(lambda: _all_settled(row.id))
    (entry,) = await delivery_report("reminder", 3)
    assert entry.state == "failed"
    assert entry.attempts == 2
    assert entry.error_code == 500
    assert entry.reason is not None
    assert entry.reason.startswith("gave up after 2 attempts")


async def test_blocked_bot_is_final_and_reported(
    people: PeopleFactory, make_service: ServiceFactory, server: SandboxServer, clock: ManualClock
) -> None:
    """403: failed at once, the person is marked, the sender's report names who was missed."""
    blocked, reachable = await people(2)
    server.sandbox.person(blocked.telegram_id).block_bot()
    rows = [
        await queue(
            person,
            f"sos-9-{person.id}",
            lane=Lane.EMERGENCY,
            name="a",
            clock=clock,
            source_kind="incident",
            source_id=9,
        )
        for person in (blocked, reachable)
    ]
    await make_service()
    await until(lambda: _all_settled(*(row.id for row in rows)))
    server.sandbox.acknowledge("blocked")
    report = await delivery_report("incident", 9)
    by_person = {entry.person_id: entry for entry in report}
    assert by_person[reachable.id].state == "delivered"
    missed = by_person[blocked.id]
    assert (missed.state, missed.error_code, missed.attempts) == ("failed", 403, 1)
    assert missed.reason is not None
    assert "blocked" in missed.reason
    assert [entry.person_id for entry in unreached(report)] == [blocked.id]
    person = await Person.get(id=blocked.id)
    assert person.bot_blocked_at == clock.now()


async def test_same_idempotency_key_writes_and_sends_once(
    people: PeopleFactory, make_service: ServiceFactory, server: SandboxServer, clock: ManualClock
) -> None:
    """notify() twice with one key: the same row, one message."""
    (person,) = await people(1)

    def once() -> Awaitable[OutboxMessage]:
        return queue(person, "approval-5-head", lane=Lane.APPROVAL, name="once", clock=clock)

    first = await once()
    second = await once()
    assert first.id == second.id
    assert await OutboxMessage.all().count() == 1
    await make_service()
    await until(lambda: _all_settled(first.id))
    again = await once()
    assert again.id == first.id
    assert again.status == DeliveryStatus.SENT
    assert _texts(server, person.telegram_id) == ["Test message for once."]


async def test_rendered_in_the_recipients_language_at_send_time(
    people: PeopleFactory, make_service: ServiceFactory, server: SandboxServer, clock: ManualClock
) -> None:
    """Text and buttons in the recipient's language, as it is when the message is sent."""
    (chinese,) = await people(1, "zh-Hans")
    (switching,) = await people(1, "en")
    rows = [
        await queue(
            chinese,
            "lang-1",
            name="王",
            clock=clock,
            buttons=[[button("outbox.button.open", callback_data="open:1")]],
        ),
        await queue(switching, "lang-2", name="Li", clock=clock),
    ]
    await Person.filter(id=switching.id).update(language="zh-Hans")
    await make_service()
    await until(lambda: _all_settled(*(row.id for row in rows)))
    message = server.sandbox.person(chinese.telegram_id).messages[0]
    assert message.raw_text == "给王的测试消息。"
    assert message.button_texts == ["打开"]
    assert _texts(server, switching.telegram_id) == ["给Li的测试消息。"]


async def test_notify_commits_with_the_business_change_or_not_at_all(
    people: PeopleFactory, clock: ManualClock
) -> None:
    """A row written in a transaction that rolls back never exists."""
    (person,) = await people(1)

    async def fail_after_notify() -> None:
        async with in_transaction():
            await queue(person, "tx-1", clock=clock)
            raise RuntimeError("business change failed")

    with pytest.raises(RuntimeError):
        await fail_after_notify()
    assert not await OutboxMessage.exists(idempotency_key="tx-1")
    async with in_transaction():
        await queue(person, "tx-2", clock=clock)
    assert await OutboxMessage.exists(idempotency_key="tx-2")


async def test_notify_refuses_what_cannot_be_delivered(
    people: PeopleFactory, clock: ManualClock
) -> None:
    """Raw addresses need a channel, keys are required, buttons have exactly one action."""
    (person,) = await people(1)
    with pytest.raises(InvalidInput):
        await queue("x@example.org", "k", clock=clock)
    with pytest.raises(InvalidInput):
        await queue(person, "", clock=clock)
    with pytest.raises(InvalidInput):
        await queue(person, "k", clock=clock, channel=Channel.EMAIL)
    with pytest.raises(InvalidInput):
        button("outbox.button.open", callback_data="a", url="https://example.org")


async def test_stop_hands_back_claimed_rows(
    people: PeopleFactory, make_service: ServiceFactory, clock: ManualClock
) -> None:
    """Rows a stopping worker held but did not send are pending again, claim cleared."""
    (person,) = await people(1)
    rows = [await queue(person, f"stop-{n}", name=str(n), clock=clock) for n in range(6)]
    # One per chat and a frozen clock: after the burst of 3 the rest wait in the worker.
    service = await make_service(rate=RateConfig(per_second=1000, per_chat_burst=3))

    async def three_sent() -> bool:
        return await OutboxMessage.filter(status=DeliveryStatus.SENT).count() == 3

    await until(three_sent)
    await service.stop()
    left = await OutboxMessage.filter(id__in=[row.id for row in rows]).exclude(
        status=DeliveryStatus.SENT
    )
    assert len(left) == 3
    assert all(r.status == DeliveryStatus.PENDING and r.claimed_by is None for r in left)
    assert FAST_RATE.per_chat_burst > 3
