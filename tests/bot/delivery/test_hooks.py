"""Outcomes told back to the features that wrote the messages, after they are recorded."""

from __future__ import annotations

import logging

import pytest

from bot.app import delivery_hooks
from bot.delivery.hooks import DeliveryHooks
from db.enums import AlertScope, DeliveryStatus, Lane
from db.models import Alert, AlertDelivery, OutboxMessage
from services.clock import ManualClock
from services.notify import DeliveryResult, notify_many
from tests.auxil.rows import fk_id

from .conftest import PeopleFactory, ServiceFactory, until
from .test_service import _all_settled


async def test_an_alert_delivery_notes_when_it_reached_its_person(
    people: PeopleFactory, make_service: ServiceFactory, clock: ManualClock
) -> None:
    """The wiring's hooks set AlertDelivery.delivered_at from the outbox row's outcome."""
    recipients = await people(3)
    alert = await Alert.create(scope=AlertScope.ALL, title="Unrest downtown")
    rows = await notify_many(
        recipients=recipients,
        msgid="outbox.test",
        params={"name": "all"},
        lane=Lane.BROADCAST,
        idempotency_key=f"alert-{alert.id}",
        source_kind="alert",
        source_id=alert.id,
        clock=clock,
    )
    assert [fk_id(row, "recipient") for row in rows] == [person.id for person in recipients]
    for person, row in zip(recipients, rows, strict=True):
        await AlertDelivery.create(alert=alert, person=person, outbox_message_id=row.id)
    await make_service(hooks=delivery_hooks())
    await until(lambda: _all_settled(*(row.id for row in rows)))

    async def all_noted() -> bool:
        return not await AlertDelivery.filter(delivered_at__isnull=True).exists()

    await until(all_noted)
    assert set(await AlertDelivery.all().values_list("delivered_at", flat=True)) == {clock.now()}


async def test_a_failing_hook_is_logged_and_the_outcome_kept(
    people: PeopleFactory,
    make_service: ServiceFactory,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One hook raises: the next still runs, the row stays sent, the log names the message."""
    recipients = await people(2)
    told: list[int] = []

    async def broken(result: DeliveryResult) -> None:
        raise RuntimeError("feature bug")

    async def noted(result: DeliveryResult) -> None:
        told.append(result.message_id)

    hooks = DeliveryHooks()
    hooks.on("duty", delivered=broken)
    hooks.on("duty", delivered=noted)
    rows = await notify_many(
        recipients=recipients,
        msgid="outbox.test",
        params={"name": "d"},
        lane=Lane.ROUTINE,
        idempotency_key="duty-1",
        source_kind="duty",
        source_id=1,
        clock=clock,
    )
    with caplog.at_level(logging.ERROR, logger="bot.delivery.hooks"):
        service = await make_service(hooks=hooks)
        await until(lambda: _all_settled(*(row.id for row in rows)))
        await service.idle()

        async def both_told() -> bool:
            return len(told) == 2

        await until(both_told)
    assert sorted(told) == sorted(row.id for row in rows)
    statuses = await OutboxMessage.filter(id__in=told).values_list("status", flat=True)
    assert set(statuses) == {DeliveryStatus.SENT}
    failures = [r for r in caplog.records if r.name == "bot.delivery.hooks"]
    assert len(failures) == 2
    assert all(r.exc_info is not None for r in failures)


async def test_notify_many_returns_the_first_rows_for_known_keys(
    people: PeopleFactory, clock: ManualClock
) -> None:
    """A second broadcast with the same key writes nothing and returns the same rows."""
    recipients = await people(3)
    first = await notify_many(
        recipients=recipients,
        msgid="outbox.test",
        lane=Lane.BROADCAST,
        idempotency_key="b-1",
        clock=clock,
        chunk=2,
    )
    again = await notify_many(
        recipients=recipients,
        msgid="outbox.test",
        lane=Lane.BROADCAST,
        idempotency_key="b-1",
        clock=clock,
    )
    assert [row.id for row in again] == [row.id for row in first]
    assert len({row.id for row in first}) == 3
    assert await OutboxMessage.all().count() == 3
