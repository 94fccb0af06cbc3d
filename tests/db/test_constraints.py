"""create_unless_taken: a refused insert leaves the caller's transaction usable."""

from __future__ import annotations

from datetime import date
from typing import Any

from tortoise.transactions import in_transaction

from db.constraints import create_unless_taken
from db.enums import CheckInKind
from db.models import AuditLog, CheckIn
from services.clock import ManualClock
from tests.auxil.factories import LAGOS, make_person, make_station


async def test_a_refused_insert_keeps_the_surrounding_transaction(
    db: str, clock: ManualClock
) -> None:
    """Inside a transaction, the loser gets None and the transaction goes on and commits (on
    PostgreSQL a failed statement outside a savepoint would abort it)."""
    station = await make_station()
    person = await make_person(1, station)
    values: dict[str, Any] = {
        "person_id": person.id,
        "station_id": station.id,
        "kind": CheckInKind.IN,
        "at": clock.now(),
        "local_date": date(2026, 1, 5),
        "lat": LAGOS[0],
        "lon": LAGOS[1],
        "first_of_day": True,
    }
    first = await create_unless_taken(CheckIn, **values)
    assert first is not None
    async with in_transaction():
        assert await create_unless_taken(CheckIn, **values) is None
        winner = await CheckIn.get(person_id=person.id, first_of_day=True)
        await AuditLog.create(
            at=clock.now(),
            action="test.after_conflict",
            object_kind="checkin",
            object_id=winner.id,
        )
    assert winner.id == first.id
    assert await AuditLog.filter(action="test.after_conflict", object_id=first.id).exists()
    assert await CheckIn.all().count() == 1


async def test_a_refused_insert_outside_any_transaction(db: str, clock: ManualClock) -> None:
    """Without a caller's transaction the insert has its own; the next one is unaffected."""
    station = await make_station()
    person = await make_person(1, station)
    values: dict[str, Any] = {
        "person_id": person.id,
        "station_id": station.id,
        "at": clock.now(),
        "local_date": date(2026, 1, 5),
        "lat": LAGOS[0],
        "lon": LAGOS[1],
        "first_of_day": True,
    }
    assert await create_unless_taken(CheckIn, **values) is not None
    assert await create_unless_taken(CheckIn, **values) is None
    other_day = await create_unless_taken(CheckIn, **{**values, "local_date": date(2026, 1, 6)})
    assert other_day is not None
    assert await CheckIn.all().count() == 2
