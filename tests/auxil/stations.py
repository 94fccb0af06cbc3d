"""A station with people in it, for tests of what people do there."""

from __future__ import annotations

from db.enums import ContactKind, Role
from db.models import Contact, Person, PersonRole, Station


async def lagos_with(*people: tuple[int, str, Role, str]) -> Station:
    """The Lagos station (Africa/Lagos) and these (telegram id, name, role, language) people."""
    station = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.43, lon=3.42, timezone="Africa/Lagos"
    )
    for telegram_id, name, role, language in people:
        person = await Person.create(
            telegram_id=telegram_id, name=name, station=station, language=language
        )
        await PersonRole.create(person=person, role=role)
    return station


async def nigerian_emergency_numbers() -> None:
    """Police and an embassy in Nigeria, as the contacts directory holds them."""
    await Contact.create(
        country="NG", kind=ContactKind.POLICE, name="Lagos police", phone="+2341112"
    )
    await Contact.create(
        country="NG",
        kind=ContactKind.EMBASSY,
        name="Embassy in Abuja",
        phone="+23490000000",
        email="consular@example.org",
    )
