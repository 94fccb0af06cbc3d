"""The outbox both ways: a queued message cancelled by its source, a sent one edited."""

from __future__ import annotations

import asyncio

from bot.delivery.base import Outcome, RenderedMessage
from bot.delivery.config import WorkerConfig
from bot.sandbox import SandboxServer
from db.enums import Channel, DeliveryStatus, Lane
from db.models import DeliveryAttempt, OutboxMessage
from services.clock import ManualClock
from services.notify import Attachment, button, cancel, edit
from tests.auxil.senders import FakeSender

from .conftest import FAST_WORKER, PeopleFactory, ServiceFactory, queue, until
from .test_service import _all_settled, _texts


async def _status(row: OutboxMessage) -> DeliveryStatus:
    await row.refresh_from_db()
    return DeliveryStatus(row.status)


async def test_a_cancelled_escalation_is_never_sent(
    people: PeopleFactory, make_service: ServiceFactory, server: SandboxServer, clock: ManualClock
) -> None:
    """Cancelled before a worker saw it: the outing's escalations stay unsent, others go."""
    head, other = await people(2)
    steps = [
        await queue(
            head,
            f"outing-7-step-{n}",
            lane=Lane.ESCALATION,
            name=str(n),
            clock=clock,
            source_kind="outing",
            source_id=7,
        )
        for n in range(3)
    ]
    unrelated = await queue(
        other,
        "outing-8-step-0",
        lane=Lane.ESCALATION,
        name="x",
        clock=clock,
        source_kind="outing",
        source_id=8,
    )
    assert await cancel("outing", 7, clock=clock, reason="back safe") == 3
    await make_service()
    await until(lambda: _all_settled(unrelated.id))
    assert _texts(server, head.telegram_id) == []
    for row in steps:
        assert await _status(row) == DeliveryStatus.CANCELLED
        assert row.last_error == "back safe"
    assert not await DeliveryAttempt.filter(message_id__in=[row.id for row in steps]).exists()
    # Cancelling again finds nothing left to cancel.
    assert await cancel("outing", 7, clock=clock) == 0


async def test_a_claimed_escalation_cancelled_before_its_send_is_not_sent(
    people: PeopleFactory, make_service: ServiceFactory, clock: ManualClock
) -> None:
    """The worker holds the row in memory when the cancel commits: it checks and drops it."""
    first, head = await people(2)
    gate = asyncio.Event()
    telegram = FakeSender(paced=True, gate=gate)
    ahead = await queue(first, "sos-1", lane=Lane.EMERGENCY, name="a", clock=clock)
    step = await queue(
        head,
        "outing-9-step-1",
        lane=Lane.ESCALATION,
        name="b",
        clock=clock,
        source_kind="outing",
        source_id=9,
    )
    service = await make_service(
        senders={Channel.TELEGRAM: telegram}, worker=WorkerConfig(max_in_flight=1)
    )
    await asyncio.wait_for(telegram.started.wait(), 5)
    # Both rows are claimed; the first is being sent, the escalation waits its turn.
    assert await _status(step) == DeliveryStatus.SENDING
    assert await cancel("outing", 9, clock=clock, reason="back safe") == 1
    gate.set()
    await until(lambda: _all_settled(ahead.id))
    # Nothing left in the worker: the escalation was looked at and dropped.
    await asyncio.wait_for(service.idle(), 5)
    assert [message.message_id for message in telegram.messages] == [ahead.id]
    assert await _status(step) == DeliveryStatus.CANCELLED
    assert not await DeliveryAttempt.filter(message_id=step.id).exists()


async def test_cancel_by_key_prefix_leaves_the_other_steps(
    people: PeopleFactory, clock: ManualClock
) -> None:
    """One step of a source can be cancelled on its own."""
    (head,) = await people(1)
    first = await queue(
        head, "outing-3/remind", name="a", clock=clock, source_kind="outing", source_id=3
    )
    second = await queue(
        head, "outing-3/escalate", name="b", clock=clock, source_kind="outing", source_id=3
    )
    assert await cancel("outing", 3, clock=clock, key_prefix="outing-3/remind") == 1
    assert await _status(first) == DeliveryStatus.CANCELLED
    assert await _status(second) == DeliveryStatus.PENDING


async def test_a_sent_message_is_edited_and_loses_its_buttons(
    people: PeopleFactory, make_service: ServiceFactory, server: SandboxServer, clock: ManualClock
) -> None:
    """editMessageText on the original chat and message; an edit that changes nothing is done."""
    (person,) = await people(1)
    original = await queue(
        person,
        "card",
        name="card",
        clock=clock,
        source_kind="leave",
        source_id=5,
        buttons=[[button("outbox.button.open", callback_data="open:1")]],
    )
    service = await make_service()
    await until(lambda: _all_settled(original.id))
    chat = server.sandbox.person(person.telegram_id)
    (message,) = chat.messages
    assert message.button_texts == ["Open"]
    changed = await edit(
        original=original,
        msgid="outbox.test",
        params={"name": "done"},
        idempotency_key="card-edit",
        clock=clock,
    )
    assert (changed.action, changed.edit_of_id) == ("edit", original.id)
    assert (changed.source_kind, changed.source_id) == ("leave", 5)
    service.wake()
    await until(lambda: _all_settled(changed.id))
    assert message.raw_text == "Test message for done."
    assert message.button_texts == []
    # Telegram answers "message is not modified": the message already reads so.
    again = await edit(
        original=original.id,
        msgid="outbox.test",
        params={"name": "done"},
        idempotency_key="card-edit-again",
        clock=clock,
    )
    service.wake()
    await until(lambda: _all_settled(again.id))
    assert await _status(again) == DeliveryStatus.SENT
    server.sandbox.acknowledge("message is not modified")
    assert len(chat.messages) == 1


async def test_an_edit_waits_for_its_original(
    people: PeopleFactory, make_service: ServiceFactory, server: SandboxServer, clock: ManualClock
) -> None:
    """Queued before the original went out, the edit is applied after it, never instead."""
    (person,) = await people(1)
    original = await queue(person, "slow-card", name="first", clock=clock)
    changed = await edit(
        original=original,
        msgid="outbox.test",
        params={"name": "second"},
        idempotency_key="slow-card-edit",
        clock=clock,
    )
    service = await make_service()
    await until(lambda: _all_settled(original.id))
    clock.advance(seconds=2)
    service.wake()
    await until(lambda: _all_settled(changed.id))
    (message,) = server.sandbox.person(person.telegram_id).messages
    assert message.raw_text == "Test message for second."


async def test_an_edit_of_a_failed_message_is_dropped(
    people: PeopleFactory, make_service: ServiceFactory, clock: ManualClock
) -> None:
    """Nothing to edit: the edit is cancelled with the reason, and nothing is sent."""
    (person,) = await people(1)

    def refuse(message: RenderedMessage) -> Outcome:
        return Outcome("failed", http_status=400, error="Bad Request: chat not found")

    telegram = FakeSender(answer=refuse)
    original = await queue(person, "lost-card", name="a", clock=clock)
    changed = await edit(
        original=original,
        msgid="outbox.test",
        params={"name": "b"},
        idempotency_key="lost-card-edit",
        clock=clock,
    )
    await make_service(senders={Channel.TELEGRAM: telegram}, worker=FAST_WORKER)

    async def dropped() -> bool:
        return await _status(changed) == DeliveryStatus.CANCELLED

    await until(dropped)
    assert changed.last_error == "the original message was not delivered"
    assert [message.message_id for message in telegram.messages] == [original.id]
    assert await _status(original) == DeliveryStatus.FAILED


async def test_the_caption_of_a_sent_document_is_edited(
    people: PeopleFactory, make_service: ServiceFactory, server: SandboxServer, clock: ManualClock
) -> None:
    """A document's text is its caption: editMessageCaption, the file stays."""
    (person,) = await people(1)
    sheet = Attachment(file_name="attendance-2026-11.xlsx", data=b"PK\x03\x04data")
    original = await queue(person, "sheet-card", name="sheet", clock=clock, attachment=sheet)
    service = await make_service()
    await until(lambda: _all_settled(original.id))
    (message,) = server.sandbox.person(person.telegram_id).messages
    assert message.raw_text == "Test message for sheet."
    changed = await edit(
        original=original,
        msgid="outbox.test",
        params={"name": "new sheet"},
        idempotency_key="sheet-card-edit",
        clock=clock,
    )
    service.wake()
    await until(lambda: _all_settled(changed.id))
    assert await _status(changed) == DeliveryStatus.SENT
    assert message.raw_text == "Test message for new sheet."
    assert message.data["document"]["file_name"] == "attendance-2026-11.xlsx"
