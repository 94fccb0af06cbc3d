"""The deadline engine: sleeps until the next deadline, wakes early, survives a restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import build_deadline_handlers
from bot.deadlines import DeadlineEngine
from db.enums import DeadlineStatus, Role
from db.models import Deadline, OutboxMessage, Person, PersonRole, Station
from services.attendance import STATION_DAY, ensure_station_deadlines
from services.clock import Clock, ManualClock
from services.deadlines import DeadlineHandlers, schedule

WAIT = 10.0  # seconds: a bound for a loaded machine, never a pause


class Signal:
    """A handler that tells the test each time it fires; can be held until released."""

    def __init__(self, *, hold: bool = False) -> None:
        self.fired = asyncio.Event()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        if not hold:
            self.release.set()
        self.count = 0

    async def __call__(self, deadline: Deadline, clock: Clock) -> datetime | None:
        """Fire (after the test releases it, when held)."""
        self.entered.set()
        await self.release.wait()
        self.count += 1
        self.fired.set()
        return None


async def _settled(key: str) -> None:
    """Wait until the firing of `key` has committed (the handler signals before the commit)."""
    for _ in range(int(WAIT * 100)):
        if (await Deadline.get(key=key)).status == DeadlineStatus.DONE:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{key} not done in time")


def _engine(signal: Signal, clock: Clock, **options: Any) -> DeadlineEngine:
    handlers = DeadlineHandlers()
    handlers.register("test", signal)
    return DeadlineEngine(handlers, clock=clock, **options)


async def test_sleeps_until_the_earliest_deadline_and_is_woken_for_an_earlier_one(
    db: str, clock: ManualClock
) -> None:
    """Asleep until a deadline an hour away (not a poll a minute away); a deadline scheduled
    for now in this process wakes it at once."""
    signal = Signal()
    engine = _engine(signal, clock, poll_interval=3600.0)
    later = clock.now() + timedelta(minutes=30)
    await schedule("test", "later", later)
    assert await engine.next_wake_up() == later
    engine.start()
    try:
        await schedule("test", "now", clock.now(), wake=engine.wake)
        await asyncio.wait_for(signal.fired.wait(), WAIT)
        await _settled("now")
        assert (await Deadline.get(key="later")).status == DeadlineStatus.PENDING
    finally:
        await engine.stop()
    assert signal.count == 1


async def test_polls_for_rows_written_by_other_processes(db: str, clock: ManualClock) -> None:
    """A row this process was not told about is found at the next poll."""
    signal = Signal()
    engine = _engine(signal, clock, poll_interval=0.05)
    engine.start()
    try:
        await schedule("test", "elsewhere", clock.now())  # no wake: as another process would
        await asyncio.wait_for(signal.fired.wait(), WAIT)
    finally:
        await engine.stop()


async def test_stopped_mid_way_the_row_is_handed_back_and_fires_once_after_restart(
    db: str, clock: ManualClock
) -> None:
    """Stopped while a handler runs: its work is rolled back, the row is pending again, and
    the next engine fires it at start, once."""
    held = Signal(hold=True)
    first = _engine(held, clock)
    await schedule("test", "k", clock.now() - timedelta(hours=1))
    first.start()
    await asyncio.wait_for(held.entered.wait(), WAIT)
    await first.stop()
    row = await Deadline.get(key="k")
    assert (row.status, row.claimed_by, held.count) == (DeadlineStatus.PENDING, None, 0)
    signal = Signal()
    second = _engine(signal, clock)
    fired = await second.run_due()
    assert [f.outcome for f in fired] == ["done"]
    assert signal.count == 1
    assert await second.run_due() == []


async def test_start_up_makes_up_the_digest_that_fell_due_while_stopped(
    db: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Reminded on Monday, stopped until Tuesday 00:30 in Lagos: the overdue deadline of
    Monday's close fires at start and sends Monday's digest; the station's next event is
    Tuesday's opening."""
    station = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4, timezone="Africa/Lagos"
    )
    joined = datetime(2025, 12, 1, tzinfo=UTC)
    for telegram_id, role in ((1, Role.STAFF), (9, Role.HEAD)):
        person = await Person.create(
            telegram_id=telegram_id, name=f"P{telegram_id}", station=station, created_at=joined
        )
        await PersonRole.create(person=person, role=role)
    clock.set(datetime(2026, 1, 5, 7, 1, tzinfo=UTC))  # Monday 08:01: the reminder goes
    engine = DeadlineEngine(build_deadline_handlers(), clock=clock)
    assert await ensure_station_deadlines(clock=clock) == 1
    await engine.run_due()
    assert await OutboxMessage.filter(msgid="checkin.reminder").count() == 1
    row = await Deadline.get(kind=STATION_DAY, key=str(station.id))
    assert row.due_at == datetime(2026, 1, 5, 8, 30, tzinfo=UTC)  # Monday 09:30 in Lagos
    await engine.stop()

    clock.set(datetime(2026, 1, 5, 23, 30, tzinfo=UTC))
    restarted = DeadlineEngine(build_deadline_handlers(), clock=clock)
    assert await ensure_station_deadlines(clock=clock) == 0
    await restarted.run_due()
    (digest,) = await OutboxMessage.filter(msgid="attendance.missed_digest")
    assert digest.params["date"] == "2026-01-05"
    row = await Deadline.get(kind=STATION_DAY, key=str(station.id))
    assert row.due_at == datetime(2026, 1, 6, 7, 0, tzinfo=UTC)  # Tuesday 08:00 in Lagos
    await restarted.run_due()
    assert await OutboxMessage.filter(msgid="attendance.missed_digest").count() == 1
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


async def test_a_running_engine_sends_the_digest_on_its_day(db: str, clock: ManualClock) -> None:
    """Each event in turn: the reminder at 08:00, the digest at 09:30, nothing made up the
    next morning."""
    station = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4, timezone="Africa/Lagos"
    )
    joined = datetime(2025, 12, 1, tzinfo=UTC)
    for telegram_id, role in ((1, Role.STAFF), (9, Role.HEAD)):
        person = await Person.create(
            telegram_id=telegram_id, name=f"P{telegram_id}", station=station, created_at=joined
        )
        await PersonRole.create(person=person, role=role)
    clock.set(datetime(2026, 1, 5, 6, 0, tzinfo=UTC))  # Monday 07:00
    engine = DeadlineEngine(build_deadline_handlers(), clock=clock)
    await ensure_station_deadlines(clock=clock)
    await engine.run_due()
    assert not await OutboxMessage.exists()
    clock.set(datetime(2026, 1, 5, 6, 59, 59, tzinfo=UTC))
    assert await engine.run_due() == []
    clock.set(datetime(2026, 1, 5, 7, 0, tzinfo=UTC))
    assert len(await engine.run_due()) == 1
    assert await OutboxMessage.filter(msgid="checkin.reminder").count() == 1
    clock.set(datetime(2026, 1, 5, 8, 30, tzinfo=UTC))
    assert len(await engine.run_due()) == 1
    assert await OutboxMessage.filter(msgid="attendance.missed_digest").count() == 1
    clock.set(datetime(2026, 1, 6, 7, 0, tzinfo=UTC))
    await engine.run_due()
    assert await OutboxMessage.filter(msgid="attendance.missed_digest").count() == 1
    assert await OutboxMessage.filter(msgid="checkin.reminder").count() == 2
