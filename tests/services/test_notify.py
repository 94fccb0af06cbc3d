"""notify's wake-up of this process's worker, and what edit() refuses."""

from __future__ import annotations

import asyncio
import contextvars
import logging

import pytest

from db.enums import Channel, Lane
from db.models import Person
from services.clock import ManualClock
from services.errors import InvalidInput, NotFound
from services.notify import OutboxWakeup, button, edit, notify, use_wakeup
from tests.auxil.rows import fk_id


async def _person() -> Person:
    return await Person.create(telegram_id=700001, name="P", language="en", phone="+100")


async def test_rows_written_wake_the_worker_of_this_context(
    db: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Listeners hear the lane; a failing one is logged; another context hears nothing."""
    person = await _person()
    heard: list[Lane] = []

    def broken(lane: Lane) -> None:
        raise RuntimeError("listener bug")

    wakeup = OutboxWakeup()
    wakeup.add(broken)
    wakeup.add(heard.append)

    async def in_own_context() -> None:
        use_wakeup(wakeup)
        with caplog.at_level(logging.ERROR, logger="services.notify"):
            await notify(
                recipient=person,
                msgid="outbox.test",
                lane=Lane.EMERGENCY,
                idempotency_key="w-1",
                clock=clock,
            )

    await asyncio.create_task(in_own_context(), context=contextvars.copy_context())
    assert heard == [Lane.EMERGENCY]
    assert any("listener failed" in record.getMessage() for record in caplog.records)
    # This test's own context never set a wake-up: nobody is told.
    await notify(
        recipient=person,
        msgid="outbox.test",
        lane=Lane.ROUTINE,
        idempotency_key="w-2",
        clock=clock,
    )
    assert heard == [Lane.EMERGENCY]


async def test_edit_refuses_what_cannot_be_edited(db: str, clock: ManualClock) -> None:
    """An SMS, an edit of an edit and an unknown row cannot be edited."""
    person = await _person()
    sms = await notify(
        recipient=person,
        msgid="outbox.test",
        lane=Lane.EMERGENCY,
        idempotency_key="e-sms",
        channel=Channel.SMS,
        clock=clock,
    )
    with pytest.raises(InvalidInput):
        await edit(original=sms, msgid="outbox.test", idempotency_key="e-1", clock=clock)
    card = await notify(
        recipient=person,
        msgid="outbox.test",
        lane=Lane.APPROVAL,
        idempotency_key="e-card",
        clock=clock,
    )
    changed = await edit(original=card, msgid="outbox.test", idempotency_key="e-2", clock=clock)
    assert (changed.address, changed.lane, fk_id(changed, "recipient")) == (
        card.address,
        Lane.APPROVAL,
        person.id,
    )
    with pytest.raises(InvalidInput):
        await edit(original=changed, msgid="outbox.test", idempotency_key="e-3", clock=clock)
    with pytest.raises(NotFound):
        await edit(original=10**9, msgid="outbox.test", idempotency_key="e-4", clock=clock)


async def test_a_location_request_button_goes_alone(db: str, clock: ManualClock) -> None:
    """A location request is kept as such, and never mixed with inline buttons (a Telegram
    message carries one kind of keyboard)."""
    person = await _person()
    row = await notify(
        recipient=person,
        msgid="outbox.test",
        lane=Lane.ROUTINE,
        idempotency_key="loc-1",
        buttons=[[button("checkin.button", request_location=True)]],
        clock=clock,
    )
    assert row.buttons == [[{"text": "checkin.button", "request_location": True}]]
    with pytest.raises(InvalidInput, match="cannot share a message"):
        await notify(
            recipient=person,
            msgid="outbox.test",
            lane=Lane.ROUTINE,
            idempotency_key="loc-2",
            buttons=[
                [
                    button("checkin.button", request_location=True),
                    button("checkin.button", callback_data="ci1"),
                ]
            ],
            clock=clock,
        )
    with pytest.raises(InvalidInput, match="true or absent"):
        await notify(
            recipient=person,
            msgid="outbox.test",
            lane=Lane.ROUTINE,
            idempotency_key="loc-3",
            buttons=[[{"text": "checkin.button", "request_location": "yes"}]],
            clock=clock,
        )
