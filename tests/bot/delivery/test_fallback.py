"""The emergency lane falls back to the person's next channel; other lanes keep failing."""

from __future__ import annotations

from bot.delivery.base import Outcome, RenderedMessage
from bot.delivery.config import LanePolicy, RetryConfig
from bot.delivery.hooks import DeliveryHooks
from bot.sandbox import SandboxServer
from db.enums import Channel, DeliveryStatus, Lane
from db.models import DeliveryAttempt, OutboxMessage, Person
from services.clock import ManualClock
from services.notify import DeliveryResult, delivery_report, unreached
from tests.auxil.senders import FakeSender

from .conftest import PeopleFactory, ServiceFactory, queue, until
from .test_service import _texts


async def _all_final(source_kind: str, source_id: int, count: int) -> bool:
    rows = await OutboxMessage.filter(source_kind=source_kind, source_id=source_id)
    final = (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED)
    return len(rows) == count and all(row.status in final for row in rows)


async def _with_phone(person: Person, phone: str) -> Person:
    person.phone = phone
    await person.save(update_fields=["phone"])
    return person


class Heard:
    """Hooks that note what they were told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, DeliveryResult]] = []

    def hooks(self, source_kind: str) -> DeliveryHooks:
        hooks = DeliveryHooks()
        hooks.on(source_kind, delivered=self.delivered, failed=self.failed, blocked=self.blocked)
        return hooks

    async def delivered(self, result: DeliveryResult) -> None:
        self.events.append(("delivered", result))

    async def failed(self, result: DeliveryResult) -> None:
        self.events.append(("failed", result))

    async def blocked(self, result: DeliveryResult) -> None:
        self.events.append(("blocked", result))

    def kinds(self) -> list[tuple[str, Channel]]:
        return [(event, result.channel) for event, result in self.events]


async def test_an_emergency_falls_back_to_sms_when_the_bot_is_blocked(
    people: PeopleFactory, make_service: ServiceFactory, server: SandboxServer, clock: ManualClock
) -> None:
    """Telegram answers 403: the person is marked and the SMS gateway gets the same message."""
    (person,) = await people(1)
    await _with_phone(person, "+2348000000001")
    server.sandbox.person(person.telegram_id).block_bot()
    sms = FakeSender(Channel.SMS)
    heard = Heard()
    first = await queue(
        person,
        "sos-1",
        lane=Lane.EMERGENCY,
        name="SOS",
        clock=clock,
        source_kind="incident",
        source_id=1,
    )
    await make_service(senders={Channel.SMS: sms}, hooks=heard.hooks("incident"))
    await until(lambda: _all_final("incident", 1, 2))
    server.sandbox.acknowledge("blocked")

    report = await delivery_report("incident", 1)
    by_channel = {entry.channel: entry for entry in report}
    telegram, text = by_channel[Channel.TELEGRAM], by_channel[Channel.SMS]
    assert (telegram.state, telegram.error_code) == ("failed", 403)
    assert (text.state, text.fallback_of) == ("delivered", first.id)
    assert unreached(report) == []
    (message,) = sms.messages
    assert (message.address, message.text) == ("+2348000000001", "Test message for SOS.")
    await person.refresh_from_db()
    assert person.bot_blocked_at == clock.now()
    assert heard.kinds() == [("blocked", Channel.TELEGRAM), ("delivered", Channel.SMS)]
    assert heard.events[0][1].fallback_message_id == text.message_id


async def test_a_person_known_to_block_the_bot_gets_the_next_channel_at_once(
    people: PeopleFactory, make_service: ServiceFactory, server: SandboxServer, clock: ManualClock
) -> None:
    """bot_blocked_at set: no Telegram request at all, the SMS goes straight away."""
    (person,) = await people(1)
    await _with_phone(person, "+2348000000002")
    person.bot_blocked_at = clock.now()
    await person.save(update_fields=["bot_blocked_at"])
    telegram = FakeSender(paced=True)
    sms = FakeSender(Channel.SMS)
    first = await queue(
        person,
        "sos-2",
        lane=Lane.EMERGENCY,
        name="SOS",
        clock=clock,
        source_kind="incident",
        source_id=2,
    )
    await make_service(senders={Channel.TELEGRAM: telegram, Channel.SMS: sms})
    await until(lambda: _all_final("incident", 2, 2))
    assert telegram.messages == []
    assert [message.address for message in sms.messages] == ["+2348000000002"]
    attempt = await DeliveryAttempt.get(message_id=first.id)
    assert attempt.outcome == "failed"
    assert attempt.error == "the person has blocked the bot"
    assert _texts(server, person.telegram_id) == []


async def test_every_channel_failed_is_told_and_reported(
    people: PeopleFactory, make_service: ServiceFactory, server: SandboxServer, clock: ManualClock
) -> None:
    """Telegram keeps failing (max attempts), then the SMS gateway refuses: failed, visibly."""
    (person,) = await people(1)
    await _with_phone(person, "+2348000000003")
    server.sandbox.faults.add("server_error", methods=["sendMessage"], status=500)

    def refuse(message: RenderedMessage) -> Outcome:
        return Outcome("failed", http_status=400, error="invalid number")

    sms = FakeSender(Channel.SMS, answer=refuse)
    heard = Heard()
    await queue(
        person,
        "sos-3",
        lane=Lane.EMERGENCY,
        name="SOS",
        clock=clock,
        source_kind="incident",
        source_id=3,
    )
    await make_service(
        senders={Channel.SMS: sms},
        hooks=heard.hooks("incident"),
        retry=RetryConfig(max_attempts=8, backoff_base_seconds=1),
        lanes=LanePolicy(fallback_after_attempts=1),
    )
    await until(lambda: _all_final("incident", 3, 2))
    report = await delivery_report("incident", 3)
    assert [(entry.channel, entry.state, entry.error_code) for entry in report] == [
        (Channel.TELEGRAM, "failed", 500),
        (Channel.SMS, "failed", 400),
    ]
    assert report[0].reason is not None
    assert report[0].reason.startswith("gave up after 1 attempts")
    assert [entry.channel for entry in unreached(report)] == [Channel.SMS]
    assert heard.kinds() == [("failed", Channel.SMS)]
    assert heard.events[0][1].reason == "invalid number"


async def test_other_lanes_keep_failing_on_telegram(
    people: PeopleFactory, make_service: ServiceFactory, server: SandboxServer, clock: ManualClock
) -> None:
    """A reminder to a person who blocked the bot fails there: no SMS for a routine message."""
    (person,) = await people(1)
    await _with_phone(person, "+2348000000004")
    server.sandbox.person(person.telegram_id).block_bot()
    sms = FakeSender(Channel.SMS)
    heard = Heard()
    await queue(
        person,
        "remind-4",
        lane=Lane.ROUTINE,
        name="r",
        clock=clock,
        source_kind="reminder",
        source_id=4,
    )
    await make_service(senders={Channel.SMS: sms}, hooks=heard.hooks("reminder"))
    await until(lambda: _all_final("reminder", 4, 1))
    server.sandbox.acknowledge("blocked")
    assert sms.messages == []
    assert heard.kinds() == [("blocked", Channel.TELEGRAM), ("failed", Channel.TELEGRAM)]


async def test_a_blocked_person_without_another_address_is_still_tried_on_telegram(
    people: PeopleFactory, make_service: ServiceFactory, clock: ManualClock
) -> None:
    """No phone or e-mail: Telegram is the only way, so it is tried (they may have unblocked)."""
    (person,) = await people(1)
    person.bot_blocked_at = clock.now()
    await person.save(update_fields=["bot_blocked_at"])
    telegram = FakeSender(paced=True)
    sms = FakeSender(Channel.SMS)
    row = await queue(
        person,
        "sos-5",
        lane=Lane.EMERGENCY,
        name="SOS",
        clock=clock,
        source_kind="incident",
        source_id=5,
    )
    await make_service(senders={Channel.TELEGRAM: telegram, Channel.SMS: sms})
    await until(lambda: _all_final("incident", 5, 1))
    assert [message.message_id for message in telegram.messages] == [row.id]
    assert sms.messages == []
    # Reached on Telegram: the person has not blocked the bot (any more).
    await person.refresh_from_db()
    assert person.bot_blocked_at is None
