"""The duty roster (值班表): who stays and patrols off-hours, first to hear of escalations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tortoise.transactions import in_transaction

from db.enums import Lane, Role
from db.models import AuditLog, DutyRoster, Person
from services.clock import Clock
from services.errors import InvalidInput, NotAllowed
from services.notify import notify
from services.people import Actor, station_today
from services.validation import row_id

ROSTER_DAYS = 7
MAX_DAYS_AHEAD = 62


@dataclass(frozen=True)
class RosterDay:
    """One day of a station's roster."""

    day: date
    person: Person | None


def _station_id(actor: Actor) -> int:
    if not actor.has(Role.HEAD) or actor.person.station_id is None:
        raise NotAllowed("only a station head sets the roster")
    return actor.person.station_id


async def roster(*, actor: Actor, clock: Clock, days: int = ROSTER_DAYS) -> list[RosterDay]:
    """The next `days` days of the head's station roster, from today."""
    station_id = _station_id(actor)
    start = await station_today(actor, clock)
    rows = await DutyRoster.filter(
        station_id=station_id, date__gte=start, date__lt=start + timedelta(days=days)
    ).prefetch_related("person")
    by_day = {row.date: row.person for row in rows}
    return [
        RosterDay(day=start + timedelta(days=i), person=by_day.get(start + timedelta(days=i)))
        for i in range(days)
    ]


async def candidates(*, actor: Actor) -> list[Person]:
    """Who the head may put on duty: active people of the station who finished registering."""
    station_id = _station_id(actor)
    return await Person.filter(
        station_id=station_id, active=True, registration_step__isnull=True
    ).order_by("name")


async def set_duty(*, actor: Actor, day: date, person_id: int, clock: Clock) -> DutyRoster:
    """Put a person of the head's station on duty for `day`, replacing whoever was."""
    station_id = _station_id(actor)
    today = await station_today(actor, clock)
    if not today <= day <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput("day out of range", msgid="duty.bad_day", days=MAX_DAYS_AHEAD)
    person = await Person.get_or_none(
        id=row_id(person_id), station_id=station_id, active=True, registration_step__isnull=True
    )
    if person is None:
        raise NotAllowed("not a person of this station")
    async with in_transaction():
        entry, _ = await DutyRoster.update_or_create(
            station_id=station_id, date=day,
            defaults={"person_id": person.id, "set_by_id": actor.person.id},
        )
        await AuditLog.create(
            at=clock.now(), actor_id=actor.person.id, action="duty.set", object_kind="duty",
            object_id=entry.id, data={"date": day.isoformat(), "person_id": person.id},
        )
        await notify(
            recipient=person,
            msgid="duty.assigned",
            params={"date": day.isoformat()},
            lane=Lane.ROUTINE,
            idempotency_key=f"duty:{station_id}:{day.isoformat()}:{person.id}",
            source_kind="duty",
            source_id=entry.id,
            clock=clock,
        )
    return entry


async def on_duty(station_id: int, day: date) -> Person | None:
    """Who is on duty at a station on a day, if anyone."""
    entry = await DutyRoster.get_or_none(station_id=station_id, date=day).prefetch_related(
        "person"
    )
    return entry.person if entry is not None else None
