"""The scheduler's ticks: the minute's station days, and the catch-up Outpost runs at start-up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.scheduler import build_scheduler
from db.enums import Role
from db.models import OutboxMessage, Person, PersonRole, Station
from services.clock import ManualClock


async def test_the_start_up_tick_makes_up_yesterdays_digest_the_minute_tick_does_not(
    db: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Reminded on Monday, stopped until Tuesday 00:30 in Lagos: the start-up tick sends
    Monday's digest; the tick run every minute only looks at today."""
    station = await Station.create(code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4,
                                   timezone="Africa/Lagos")
    joined = datetime(2025, 12, 1, tzinfo=UTC)
    for telegram_id, role in ((1, Role.STAFF), (9, Role.HEAD)):
        person = await Person.create(telegram_id=telegram_id, name=f"P{telegram_id}",
                                     station=station, created_at=joined)
        await PersonRole.create(person=person, role=role)
    scheduler = build_scheduler(clock)
    clock.set(datetime(2026, 1, 5, 7, 1, tzinfo=UTC))  # Monday 08:01: the reminder goes
    await scheduler.run_now("station_days")
    clock.set(datetime(2026, 1, 5, 23, 30, tzinfo=UTC))
    await scheduler.run_now("station_days")
    assert not await OutboxMessage.exists(msgid="attendance.missed_digest")
    await scheduler.run_now("station_days_catch_up")
    assert await OutboxMessage.filter(msgid="attendance.missed_digest").count() == 1
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
