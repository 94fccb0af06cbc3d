"""Opening and closing outings: one open outing per person, closed once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError

from db.enums import OutingStatus
from db.models import Outing
from db.outings import close_outing, open_outing
from services.clock import ManualClock
from tests.auxil.factories import make_person, make_station


async def test_open_close_and_open_again(db: str, clock: ManualClock) -> None:
    """A second request gets the open one; a closed outing frees the place; another person
    has their own."""
    station = await make_station()
    ada, ben = await make_person(1, station), await make_person(2, station)
    back = clock.now() + timedelta(hours=2)
    first, created = await open_outing(
        person_id=ada.id, destination="Port", expected_return_at=back, station_id=station.id
    )
    assert created
    assert first.status == OutingStatus.PENDING
    assert first.open_marker is True
    same, created = await open_outing(
        person_id=ada.id, destination="Bank", expected_return_at=back, status=OutingStatus.OUT
    )
    assert not created
    assert same.id == first.id
    assert same.destination == "Port"
    _, created = await open_outing(person_id=ben.id, destination="Bank", expected_return_at=back)
    assert created
    assert await close_outing(first.id, status=OutingStatus.CANCELLED, at=clock.now())
    assert not await close_outing(first.id, status=OutingStatus.RETURNED, at=clock.now())
    await first.refresh_from_db()
    assert first.status == OutingStatus.CANCELLED
    assert first.returned_at is None
    second, created = await open_outing(
        person_id=ada.id,
        destination="Market",
        expected_return_at=back,
        status=OutingStatus.APPROVED,
    )
    assert created
    assert second.id != first.id
    assert await Outing.filter(person_id=ada.id).count() == 2


async def test_statuses_that_do_not_open_or_close(db: str, clock: ManualClock) -> None:
    """An outing opens pending, approved or out and closes refused, returned or cancelled."""
    station = await make_station()
    person = await make_person(1, station)
    with pytest.raises(ValueError, match="opens as"):
        await open_outing(
            person_id=person.id,
            destination="Port",
            expected_return_at=clock.now(),
            status=OutingStatus.RETURNED,
        )
    outing, _ = await open_outing(
        person_id=person.id, destination="Port", expected_return_at=clock.now()
    )
    with pytest.raises(ValueError, match="closes as"):
        await close_outing(outing.id, status=OutingStatus.OUT, at=clock.now())


async def test_the_database_refuses_a_second_open_outing(db: str, clock: ManualClock) -> None:
    """Written around open_outing, a second marked row is still refused; closed ones are not."""
    station = await make_station()
    person = await make_person(1, station)
    trip: dict[str, Any] = {
        "person_id": person.id,
        "destination": "Port",
        "expected_return_at": clock.now(),
    }
    await Outing.create(open_marker=True, **trip)
    with pytest.raises(IntegrityError):
        await Outing.create(open_marker=True, **trip)
    await Outing.create(status=OutingStatus.RETURNED, **trip)
    await Outing.create(status=OutingStatus.CANCELLED, **trip)
    assert await Outing.filter(person_id=person.id).count() == 3
