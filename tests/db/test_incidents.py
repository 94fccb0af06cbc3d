"""Opening and closing an SOS: one open SOS per person, closed once."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise.exceptions import IntegrityError

from db.enums import IncidentKind, IncidentStatus
from db.incidents import close_sos, open_sos
from db.models import Incident
from services.clock import ManualClock
from tests.auxil.factories import make_person, make_station
from tests.auxil.rows import fk_id


async def test_open_close_and_open_again(db: str, clock: ManualClock) -> None:
    """A second SOS while one is open is that one (acknowledged or escalated still counts as
    open); closed, the next press opens a new one; other incidents do not count."""
    station = await make_station()
    person = await make_person(1, station)
    safety = await make_person(2, None)
    await Incident.create(kind=IncidentKind.CRIME, reported_by=person, opened_at=clock.now())
    first, created = await open_sos(
        person_id=person.id, opened_at=clock.now(), station_id=station.id, lat=6.4, lon=3.4
    )
    assert created
    assert (first.kind, first.status) == (IncidentKind.SOS, IncidentStatus.OPEN)
    await Incident.filter(id=first.id).update(status=IncidentStatus.ESCALATED)
    same, created = await open_sos(person_id=person.id, opened_at=clock.now())
    assert not created
    assert same.id == first.id
    assert await close_sos(first.id, at=clock.now(), closed_by_id=safety.id, note="safe")
    assert not await close_sos(first.id, at=clock.now())
    await first.refresh_from_db()
    assert first.status == IncidentStatus.CLOSED
    assert fk_id(first, "closed_by") == safety.id
    assert first.closing_note == "safe"
    second, created = await open_sos(person_id=person.id, opened_at=clock.now())
    assert created
    assert second.id != first.id


async def test_a_press_seen_again_after_closing_is_its_incident(
    db: str, clock: ManualClock
) -> None:
    """The same idempotency key (Telegram delivering the press again) after the SOS closed
    finds that incident instead of opening a second."""
    person = await make_person(1, None)
    first, _ = await open_sos(person_id=person.id, opened_at=clock.now(), idempotency_key="u:1")
    await close_sos(first.id, at=clock.now())
    again, created = await open_sos(
        person_id=person.id, opened_at=clock.now(), idempotency_key="u:1"
    )
    assert not created
    assert again.id == first.id
    assert await Incident.all().count() == 1


async def test_the_database_refuses_a_second_open_sos(db: str, clock: ManualClock) -> None:
    """Written around open_sos, a second marked row is still refused."""
    person = await make_person(1, None)
    sos: dict[str, Any] = {
        "kind": IncidentKind.SOS,
        "reported_by": person,
        "opened_at": clock.now(),
    }
    await Incident.create(open_sos_marker=True, **sos)
    with pytest.raises(IntegrityError):
        await Incident.create(open_sos_marker=True, **sos)
    await Incident.create(status=IncidentStatus.CLOSED, **sos)
