"""Stations and people for tests, made the way the organisation file makes them."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from db.enums import Role
from db.models import Person, PersonRole, Station
from services.people import Actor, identify

LAGOS = (6.4281, 3.4219)
# Before every day the tests play (created_at would otherwise be the machine's today).
JOINED = datetime(2025, 12, 1, tzinfo=UTC)


async def make_station(code: str = "LOS", **extra: Any) -> Station:
    """A station in Lagos with a 300 m fence, check-in 08:00-09:30, working day until 17:00."""
    values: dict[str, Any] = {
        "code": code,
        "name": f"{code} station",
        "country": "NG",
        "lat": LAGOS[0],
        "lon": LAGOS[1],
        "radius_m": 300,
        "timezone": "Africa/Lagos",
        "checkin_opens": time(8, 0),
        "checkin_closes": time(9, 30),
        "workday_ends": time(17, 0),
    }
    values.update(extra)
    return await Station.create(**values)


async def make_person(
    telegram_id: int, station: Station | None, *roles: Role, **extra: Any
) -> Person:
    """A registered person (staff unless `roles` says otherwise) who joined before the tests."""
    values: dict[str, Any] = {
        "telegram_id": telegram_id,
        "name": f"P{telegram_id}",
        "station": station,
        "created_at": JOINED,
    }
    values.update(extra)
    person = await Person.create(**values)
    for role in roles or (Role.STAFF,):
        await PersonRole.create(person=person, role=role)
    return person


async def actor_of(person: Person) -> Actor:
    """The person as the gate sees them."""
    actor = await identify(person.telegram_id)
    assert actor is not None, "not a registered, active person"
    return actor
