"""The contacts directory: who to call in the person's station country, and how far they are."""

from __future__ import annotations

from dataclasses import dataclass

from geopy.distance import geodesic

from db.enums import ContactKind
from db.models import CheckIn, Contact
from services.errors import NotFound
from services.people import Actor, actor_station
from services.validation import display_phone

# Embassy and consulate first: the regulations say they are told at once.
KIND_ORDER = (
    ContactKind.EMBASSY,
    ContactKind.CONSULATE,
    ContactKind.POLICE,
    ContactKind.AMBULANCE,
    ContactKind.FIRE,
    ContactKind.HOSPITAL,
    ContactKind.INSURER,
    ContactKind.HQ_DUTY,
)


@dataclass(frozen=True)
class DirectoryEntry:
    """One contact as /contacts lists it."""

    kind: ContactKind
    name: str
    phone: str | None  # as dialled: E.164 or a short local number
    phone_display: str | None
    email: str | None
    distance_m: float | None
    verified: bool
    notes: str


@dataclass(frozen=True)
class Directory:
    """The contacts of one country, measured from the person (or their station)."""

    country: str
    measured_from: str  # "checkin" or "station"
    entries: list[DirectoryEntry]


async def directory(actor: Actor) -> Directory:
    """The contacts for the country of the actor's station, embassy first."""
    station = await actor_station(actor)
    if station is None:
        raise NotFound("no station", msgid="contacts.no_station")
    last = await CheckIn.filter(person_id=actor.person.id).order_by("-at").first()
    origin = (last.lat, last.lon) if last is not None else (station.lat, station.lon)
    order = {kind: index for index, kind in enumerate(KIND_ORDER)}
    contacts = sorted(
        await Contact.filter(country=station.country),
        key=lambda c: (order.get(ContactKind(c.kind), len(order)), c.name),
    )
    entries = [
        DirectoryEntry(
            kind=ContactKind(c.kind),
            name=c.name,
            phone=c.phone,
            phone_display=display_phone(c.phone) if c.phone else None,
            email=c.email,
            distance_m=(
                geodesic(origin, (c.lat, c.lon)).meters
                if c.lat is not None and c.lon is not None
                else None
            ),
            verified=c.verified,
            notes=c.notes,
        )
        for c in contacts
    ]
    return Directory(station.country, "checkin" if last is not None else "station", entries)
