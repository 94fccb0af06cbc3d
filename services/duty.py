"""The duty roster (值班表): who stays and patrols off-hours, first to hear of escalations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tortoise.transactions import in_transaction

from db.enums import Lane, RequestStatus, Role
from db.models import AuditLog, DutyRoster, LeaveRequest, Person
from i18n import format_day
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


# Who may stand station duty: the station's own staff and heads (HQ and safety officers
# oversee every station and are not part of a station's roster).
DUTY_ROLES = (Role.STAFF, Role.HEAD)


async def candidates(*, actor: Actor) -> list[Person]:
    """Who the head may put on duty: active staff and heads of the station who finished
    registering."""
    station_id = _station_id(actor)
    return (
        await Person.filter(
            station_id=station_id,
            active=True,
            registration_step__isnull=True,
            roles__role__in=DUTY_ROLES,
        )
        .distinct()
        .order_by("name", "id")
    )


async def leave_on(person_id: int, day: date) -> LeaveRequest | None:
    """The person's approved leave covering `day`, if any."""
    return await LeaveRequest.filter(
        person_id=person_id,
        status=RequestStatus.APPROVED,
        start_date__lte=day,
        end_date__gte=day,
    ).first()


async def _check_day(actor: Actor, day: date, clock: Clock) -> int:
    station_id = _station_id(actor)
    today = await station_today(actor, clock)
    if not today <= day <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput("day out of range", msgid="duty.bad_day", days=MAX_DAYS_AHEAD)
    return station_id


async def _tell(
    person: Person, msgid: str, day: date, key: str, entry_id: int, clock: Clock
) -> None:
    await notify(
        recipient=person,
        msgid=msgid,
        params={"date": format_day(person.language, day, year=True)},
        lane=Lane.ROUTINE,
        idempotency_key=key,
        source_kind="duty",
        source_id=entry_id,
        clock=clock,
    )


async def set_duty(
    *, actor: Actor, day: date, person_id: int, clock: Clock, confirmed: bool = False
) -> DutyRoster:
    """Put a person of the head's station on duty for `day`, replacing whoever was (who is
    told). Someone on approved leave that day only when `confirmed` (the head saw the
    warning)."""
    station_id = await _check_day(actor, day, clock)
    person = await Person.filter(
        id=row_id(person_id),
        station_id=station_id,
        active=True,
        registration_step__isnull=True,
        roles__role__in=DUTY_ROLES,
    ).first()
    if person is None:
        raise NotAllowed("not a person of this station's roster")
    if not confirmed and await leave_on(person.id, day) is not None:
        raise InvalidInput("on leave that day", msgid="duty.on_leave_unconfirmed")
    async with in_transaction():
        previous = await DutyRoster.get_or_none(station_id=station_id, date=day)
        removed_id = previous.person_id if previous is not None else None
        entry, _ = await DutyRoster.update_or_create(
            station_id=station_id,
            date=day,
            defaults={"person_id": person.id, "set_by_id": actor.person.id},
        )
        audit = await AuditLog.create(
            at=clock.now(),
            actor_id=actor.person.id,
            action="duty.set",
            object_kind="duty",
            object_id=entry.id,
            data={"date": day.isoformat(), "person_id": person.id},
        )
        if removed_id == person.id:
            return entry
        # One message per change of the roster (the audit row names the change).
        await _tell(person, "duty.assigned", day, f"duty-on:{audit.id}", entry.id, clock)
        if removed_id is not None:
            removed = await Person.get(id=removed_id)
            await _tell(removed, "duty.removed", day, f"duty-off:{audit.id}", entry.id, clock)
    return entry


async def clear_duty(*, actor: Actor, day: date, clock: Clock) -> Person | None:
    """Leave `day` with nobody on duty; whoever was is told. Returns them (None: nobody was)."""
    station_id = await _check_day(actor, day, clock)
    async with in_transaction():
        entry = await DutyRoster.get_or_none(station_id=station_id, date=day)
        if entry is None:
            return None
        removed = await Person.get(id=entry.person_id)
        audit = await AuditLog.create(
            at=clock.now(),
            actor_id=actor.person.id,
            action="duty.cleared",
            object_kind="duty",
            object_id=entry.id,
            data={"date": day.isoformat(), "person_id": removed.id},
        )
        await _tell(removed, "duty.removed", day, f"duty-off:{audit.id}", entry.id, clock)
        await entry.delete()
    return removed


async def on_duty(station_id: int, day: date) -> Person | None:
    """Who is on duty at a station on a day, if anyone."""
    entry = await DutyRoster.get_or_none(station_id=station_id, date=day).prefetch_related(
        "person"
    )
    return entry.person if entry is not None else None
