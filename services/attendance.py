"""Attendance (考勤): check-in and check-out with a geofence, and each station's working day."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, cast
from zoneinfo import ZoneInfo

from geopy.distance import geodesic
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from db.constraints import create_unless_taken
from db.enums import CheckInKind, CheckInSource, Lane, OutingStatus, RequestStatus, Role
from db.models import (
    CheckIn,
    Deadline,
    Holiday,
    LeaveRequest,
    OutboxMessage,
    Outing,
    Person,
    PersonRole,
    Station,
)
from i18n import format_distance
from services.clock import Clock, ensure_utc
from services.deadlines import Wake, ensure, live_keys, schedule
from services.errors import InvalidInput, NotAllowed
from services.localtime import at_local, local_date, station_zone
from services.notify import notify
from services.people import Actor, actor_station

logger = logging.getLogger(__name__)

# A position older than this (by the message's own date) is not a check-in "now".
MAX_POSITION_AGE = timedelta(minutes=3)
# A position dated further ahead of Outpost's clock than this is refused: phones' clocks drift
# by seconds, not minutes, and a pin from the future proves nothing about now.
MAX_CLOCK_SKEW = timedelta(seconds=60)
# Telegram reports horizontal accuracy in metres; beyond this the position is marked doubtful.
POOR_ACCURACY_M = 100.0
DEFAULT_CHECKIN_OPENS = time(8, 0)
DEFAULT_CHECKIN_CLOSES = time(9, 30)
DEFAULT_WORKDAY_ENDS = time(17, 0)


class CheckInRefused(InvalidInput):
    """The position cannot count as a check-in; `msgid` says why."""


@dataclass(frozen=True)
class Position:
    """A location as the chat or the Mini App reported it."""

    lat: float
    lon: float
    sent_at: datetime
    accuracy_m: float | None = None
    live: bool = False
    forwarded: bool = False
    # When a live location stops updating (None: a pin, or shared until stopped).
    live_until: datetime | None = None


@dataclass(frozen=True)
class CheckInResult:
    """What a check-in recorded, to tell the person."""

    checkin: CheckIn
    station: Station
    kind: CheckInKind
    distance_m: float
    inside_geofence: bool
    poor_accuracy: bool
    local_time: datetime
    repeated: bool
    # A sign-in after the station's check-in window closed (at :00 of its minute).
    late: bool = False
    # A sign-in before the window opened: it counts as the day's arrival, and is said so.
    early: bool = False
    # This sign-in corrected the day's first one, made outside the geofence (`first`).
    corrected: bool = False
    # The day's first sign-in when it is not `checkin` (it was corrected).
    first: CheckIn | None = None
    # Until when a sign-in from inside the geofence would still correct the day's first one.
    correctable_until: datetime | None = None


@dataclass(frozen=True)
class StationHours:
    """A station's check-in window and end of day, with defaults filled in."""

    opens: time
    closes: time
    workday_ends: time

    @classmethod
    def of(cls, station: Station) -> StationHours:
        """The station's hours, or the defaults where it has none."""
        return cls(
            opens=station.checkin_opens or DEFAULT_CHECKIN_OPENS,
            closes=station.checkin_closes or DEFAULT_CHECKIN_CLOSES,
            workday_ends=station.workday_ends or DEFAULT_WORKDAY_ENDS,
        )


def distance_m(station: Station, lat: float, lon: float) -> float:
    """Geodesic distance in metres from the station to a point."""
    return float(geodesic((station.lat, station.lon), (lat, lon)).meters)


def _check_position(position: Position, station: Station, now: datetime) -> None:
    if not (-90 <= position.lat <= 90 and -180 <= position.lon <= 180):
        raise CheckInRefused("coordinates out of range", msgid="error.bad_coordinates")
    if position.forwarded:
        raise CheckInRefused("forwarded location", msgid="checkin.refused_forwarded")
    sent_at = ensure_utc(position.sent_at)
    if sent_at - now > MAX_CLOCK_SKEW:
        raise CheckInRefused("location dated in the future", msgid="checkin.refused_future")
    if now - sent_at > MAX_POSITION_AGE:
        raise CheckInRefused("stale location", msgid="checkin.refused_stale")
    if station.require_live_location and not position.live:
        raise CheckInRefused("live location required", msgid="checkin.refused_live_required")


async def _station_of(actor: Actor) -> Station:
    station = await actor_station(actor)
    if station is None:
        raise NotAllowed("no station", msgid="checkin.no_station")
    return station


async def record_checkin(
    *,
    actor: Actor,
    position: Position,
    clock: Clock,
    source: CheckInSource = CheckInSource.CHAT,
    kind: CheckInKind | None = None,
    message_id: int | None = None,
) -> CheckInResult:
    """Record a sign-in (or, after the working day, a sign-out) at `position`.

    The first sign-in of a local day counts; a second one is answered with the one that counts
    (where and when it really was). A first sign-in outside the geofence is corrected by one
    from inside within the station's `checkin_correction_min`: both are kept, the correction
    counts. `kind` None decides by the station's clock: after the end of the working day, with
    a sign-in that day, it is a sign-out.
    """
    now = clock.now()
    station = await _station_of(actor)
    _check_position(position, station, now)
    zone = station_zone(station)
    today = local_date(now, zone)
    local_now = now.astimezone(zone)
    first_in = (
        await CheckIn.filter(person_id=actor.person.id, local_date=today, kind=CheckInKind.IN)
        .order_by("at")
        .first()
    )
    if kind is None:
        after_hours = local_now.time() >= StationHours.of(station).workday_ends
        kind = CheckInKind.OUT if after_hours and first_in is not None else CheckInKind.IN
    distance = distance_m(station, position.lat, position.lon)
    if kind == CheckInKind.IN and first_in is not None:
        return await _repeated_or_correction(
            first_in,
            station,
            zone,
            actor=actor,
            position=position,
            distance=distance,
            source=source,
            message_id=message_id,
            clock=clock,
        )
    poor = position.accuracy_m is not None and position.accuracy_m > POOR_ACCURACY_M
    values: dict[str, Any] = dict(
        person_id=actor.person.id,
        station_id=station.id,
        kind=kind,
        source=CheckInSource.LIVE if position.live else source,
        at=now,
        local_date=today,
        lat=position.lat,
        lon=position.lon,
        accuracy_m=position.accuracy_m,
        distance_m=distance,
        inside_geofence=distance <= station.radius_m,
        poor_accuracy=poor,
        live=position.live,
        live_until=position.live_until,
        telegram_message_id=message_id,
    )
    if kind == CheckInKind.OUT:
        checkin = await CheckIn.create(**values)
    else:
        # Two pins sent at once both get here; the unique first-of-day marker lets one insert
        # win, and the other is answered with the winner, as a repeated sign-in.
        created = await create_unless_taken(CheckIn, first_of_day=True, **values)
        if created is None:
            winner = await CheckIn.get(
                person_id=actor.person.id, local_date=today, first_of_day=True
            )
            return await _repeated(winner, station, zone, now)
        checkin = created
    if not checkin.inside_geofence and station.notify_head_outside_geofence:
        await _tell_heads_outside(actor.person, station, checkin, clock)
    until = correction_deadline(checkin, station) if kind == CheckInKind.IN else None
    return _result(checkin, station, zone, repeated=False, correctable_until=until)


def correction_deadline(first: CheckIn, station: Station) -> datetime | None:
    """Until when a sign-in from inside the geofence corrects `first` (None: it cannot be
    corrected: it was inside, or the station allows no correction)."""
    if first.inside_geofence or station.checkin_correction_min <= 0:
        return None
    return ensure_utc(first.at) + timedelta(minutes=station.checkin_correction_min)


async def _repeated(
    first: CheckIn, station: Station, zone: ZoneInfo, now: datetime
) -> CheckInResult:
    """The answer to a second sign-in: the one that counts, where it really was."""
    correction = await CheckIn.get_or_none(correction_of_id=first.id)
    if correction is not None:
        return _result(correction, station, zone, repeated=True, corrected=True, first=first)
    until = correction_deadline(first, station)
    return _result(
        first,
        station,
        zone,
        repeated=True,
        correctable_until=until if until is not None and now <= until else None,
    )


async def _repeated_or_correction(
    first: CheckIn,
    station: Station,
    zone: ZoneInfo,
    *,
    actor: Actor,
    position: Position,
    distance: float,
    source: CheckInSource,
    message_id: int | None,
    clock: Clock,
) -> CheckInResult:
    now = clock.now()
    until = correction_deadline(first, station)
    if until is None or now > until or distance > station.radius_m:
        return await _repeated(first, station, zone, now)
    # Two corrections at once: the one-to-one column lets one insert win.
    correction = await create_unless_taken(
        CheckIn,
        person_id=actor.person.id,
        station_id=station.id,
        kind=CheckInKind.IN,
        source=CheckInSource.LIVE if position.live else source,
        at=now,
        local_date=first.local_date,
        lat=position.lat,
        lon=position.lon,
        accuracy_m=position.accuracy_m,
        distance_m=distance,
        inside_geofence=True,
        poor_accuracy=position.accuracy_m is not None and position.accuracy_m > POOR_ACCURACY_M,
        live=position.live,
        live_until=position.live_until,
        telegram_message_id=message_id,
        correction_of_id=first.id,
    )
    if correction is None:
        return await _repeated(first, station, zone, now)
    logger.info("check-in %s corrected by %s", first.id, correction.id)
    if station.notify_head_outside_geofence:
        # The heads were told of the first one: tell them it was corrected.
        for head in await heads_of(station.id):
            if head.id == actor.person.id:
                continue
            await notify(
                recipient=head,
                msgid="checkin.head_corrected",
                params={"name": actor.person.name},
                lane=Lane.ROUTINE,
                idempotency_key=f"checkin-corrected:{correction.id}:{head.id}",
                source_kind="checkin",
                source_id=correction.id,
                clock=clock,
            )
    return _result(correction, station, zone, repeated=False, corrected=True, first=first)


def _result(
    checkin: CheckIn,
    station: Station,
    zone: ZoneInfo,
    *,
    repeated: bool,
    corrected: bool = False,
    first: CheckIn | None = None,
    correctable_until: datetime | None = None,
) -> CheckInResult:
    local_time = checkin.at.astimezone(zone)
    is_in = checkin.kind == CheckInKind.IN
    return CheckInResult(
        checkin=checkin,
        station=station,
        kind=CheckInKind(checkin.kind),
        distance_m=checkin.distance_m or 0.0,
        inside_geofence=checkin.inside_geofence,
        poor_accuracy=checkin.poor_accuracy,
        local_time=local_time,
        repeated=repeated,
        late=is_in and is_late(checkin, station),
        early=is_in and is_early(checkin, station),
        corrected=corrected,
        first=first,
        correctable_until=correctable_until,
    )


def window_of(station: Station, day: date) -> tuple[datetime, datetime]:
    """The check-in window of a local day, as instants: [opens, closes].

    A sign-in at the closing instant itself (09:30:00) is on time; from 09:30:01 on it is
    late. Answers show the seconds when they decide (see the late message).
    """
    hours, zone = StationHours.of(station), station_zone(station)
    return at_local(day, hours.opens, zone), at_local(day, hours.closes, zone)


def is_late(checkin: CheckIn, station: Station) -> bool:
    """True when a sign-in came after its day's window closed."""
    return ensure_utc(checkin.at) > window_of(station, checkin.local_date)[1]


def is_early(checkin: CheckIn, station: Station) -> bool:
    """True when a sign-in came before its day's window opened. It still counts: staff sign
    in at arrival (签到制), and someone at work before the window has arrived."""
    return ensure_utc(checkin.at) < window_of(station, checkin.local_date)[0]


async def counted_checkins(
    station_id: int, first_day: date, last_day: date
) -> dict[tuple[int, date], CheckIn]:
    """The sign-in that counts per (person, local day): the day's first, or its correction."""
    rows = await CheckIn.filter(
        station_id=station_id,
        kind=CheckInKind.IN,
        local_date__gte=first_day,
        local_date__lte=last_day,
    ).order_by("at", "id")
    counted: dict[tuple[int, date], CheckIn] = {}
    corrections = {row.correction_of_id: row for row in rows if row.correction_of_id}
    for row in rows:
        if row.correction_of_id is not None:
            continue
        key = (row.person_id, row.local_date)
        if key not in counted:
            counted[key] = corrections.get(row.id, row)
    return counted


async def update_live_position(
    *, actor: Actor, message_id: int, position: Position, clock: Clock
) -> CheckInResult | None:
    """Follow a live location that made a check-in.

    The check-in keeps the position and geofence verdict it was made with; the latest position
    goes to its `last_*` columns until the station's working day ends. On a later local day,
    the first position once the station's check-in window has opened is that day's check-in,
    which is returned (also when the day already had one: `repeated`). A stale position, or
    one from a live location that made no check-in, changes nothing.
    """
    now = clock.now()
    if now - ensure_utc(position.sent_at) > MAX_POSITION_AGE:
        return None
    checkin = (
        await CheckIn.filter(person_id=actor.person.id, telegram_message_id=message_id, live=True)
        .order_by("-at")
        .first()
    )
    if checkin is None or (checkin.live_until is not None and now > checkin.live_until):
        return None
    station = await _station_of(actor)
    zone = station_zone(station)
    today = local_date(now, zone)
    hours = StationHours.of(station)
    if checkin.local_date != today:
        if now < at_local(today, hours.opens, zone):
            return None
        try:
            return await record_checkin(
                actor=actor,
                position=position,
                clock=clock,
                kind=CheckInKind.IN,
                message_id=message_id,
            )
        except CheckInRefused:
            return None
    if now >= at_local(today, hours.workday_ends, zone):
        return None  # where people go after work is theirs: nothing is kept
    checkin.last_lat, checkin.last_lon, checkin.last_seen_at = position.lat, position.lon, now
    await checkin.save(update_fields=["last_lat", "last_lon", "last_seen_at"])
    return None


async def heads_of(station_id: int) -> list[Person]:
    """The active heads (deputies last) of a station."""
    grants = (
        await PersonRole.filter(
            role=Role.HEAD,
            person__station_id=station_id,
            person__active=True,
            person__registration_step__isnull=True,
        )
        .prefetch_related("person")
        .order_by("deputy", "id")
    )
    return [grant.person for grant in grants]


async def _tell_heads_outside(
    person: Person, station: Station, checkin: CheckIn, clock: Clock
) -> None:
    for head in await heads_of(station.id):
        if head.id == person.id:
            continue
        await notify(
            recipient=head,
            msgid="checkin.head_outside_geofence",
            params={
                "name": person.name,
                "distance": format_distance(head.language, checkin.distance_m or 0),
            },
            lane=Lane.ESCALATION,
            idempotency_key=f"checkin-outside:{checkin.id}:{head.id}",
            source_kind="checkin",
            source_id=checkin.id,
            clock=clock,
        )


# --- the station's day ---------------------------------------------------------------------


async def is_working_day(station: Station, day: date) -> bool:
    """True when staff are expected at the station on `day` (its weekdays, minus holidays)."""
    if day.isoweekday() not in (station.working_days or []):
        return False
    return not await Holiday.filter(station_id=station.id, date=day).exists()


def counted_staff(station: Station) -> QuerySet[Person]:
    """The people whose attendance counts at the station: its staff who finished registering.

    One rule for the daily digest and the monthly sheet: someone who opened an invite and has
    not finished the steps cannot check in yet, so no day of theirs counts (see Membership for
    the days of those who count).
    """
    return Person.filter(
        station_id=station.id, registration_step__isnull=True, roles__role=Role.STAFF
    ).distinct()


async def expected_people(station: Station) -> list[Person]:
    """Active staff of the station who finished registering: they are expected to check in."""
    return await counted_staff(station).filter(active=True).order_by("name")


async def excused_ids(station: Station, day: date) -> set[int]:
    """People of the station on approved leave or on an approved outing that day."""
    on_leave = await LeaveRequest.filter(
        station_id=station.id,
        status=RequestStatus.APPROVED,
        start_date__lte=day,
        end_date__gte=day,
    ).values_list("person_id", flat=True)
    # An outing excuses the check-in when it covers part of the check-in window: from when
    # the person left (or, not gone yet, from its approval) until they came back (or, still
    # out, the return they promised).
    hours, zone = StationHours.of(station), station_zone(station)
    opens, closes = at_local(day, hours.opens, zone), at_local(day, hours.closes, zone)
    out = await Outing.filter(
        Q(station_id=station.id)
        & Q(status__in=[OutingStatus.APPROVED, OutingStatus.OUT, OutingStatus.RETURNED])
        & (Q(leaves_at__lt=closes) | Q(leaves_at__isnull=True, decided_at__lt=closes))
        & (Q(returned_at__isnull=True, expected_return_at__gt=opens) | Q(returned_at__gt=opens))
    ).values_list("person_id", flat=True)
    return set(cast("list[int]", [*on_leave, *out]))


@dataclass(frozen=True)
class Membership:
    """The station's local days on which a person belonged to it: [joined, left)."""

    joined: date
    left: date | None

    @classmethod
    def of(cls, person: Person, zone: ZoneInfo, closes: time) -> Membership:
        """From the person's creation to their deactivation, as local dates of the station.

        A day counts when they belonged at the close of its check-in window, as in the daily
        digest: who joins after it is expected from the next day, who leaves after it was
        expected that day.
        """

        def first_day_after(moment: datetime) -> date:
            local = moment.astimezone(zone)
            return local.date() + timedelta(days=1 if local.time() >= closes else 0)

        left = None
        if not person.active and person.deactivated_at is not None:
            left = first_day_after(person.deactivated_at)
        return cls(joined=first_day_after(person.created_at), left=left)

    def includes(self, day: date) -> bool:
        """True when the person belonged to the station on `day`."""
        return self.joined <= day and (self.left is None or day < self.left)


async def missing_checkins(station: Station, day: date) -> list[Person]:
    """Expected people with no sign-in on `day` who are not excused and belonged to the
    station that day (see Membership: the monthly sheet counts by the same rule)."""
    checked = set(
        await CheckIn.filter(
            station_id=station.id, local_date=day, kind=CheckInKind.IN
        ).values_list("person_id", flat=True)
    )
    excused = await excused_ids(station, day)
    zone, closes = station_zone(station), StationHours.of(station).closes
    return [
        person
        for person in await expected_people(station)
        if person.id not in checked
        and person.id not in excused
        and Membership.of(person, zone, closes).includes(day)
    ]


@dataclass(frozen=True)
class DayEvents:
    """What a tick of one station's day did."""

    reminders: int = 0
    missed: int = 0
    digest_sent: bool = False


async def run_station_day(station: Station, *, clock: Clock, catch_up: bool = False) -> DayEvents:
    """Do what is due at this station: reminders at the window's start, the missed check-in
    digest to the heads at its end. Idempotent: safe at any time, any number of times.

    With `catch_up` (at start-up), the previous working day's digest is made up for too, when
    Outpost was stopped over its end and past the station's midnight (it is computed from the
    database, like today's). A running Outpost sends each digest on its day.
    """
    zone = station_zone(station)
    now = clock.now()
    today = local_date(now, zone)
    if not station.active:
        return DayEvents()
    if catch_up:
        await _catch_up_digest(station, today - timedelta(days=1), clock=clock)
    if not await is_working_day(station, today):
        return DayEvents()
    hours = StationHours.of(station)
    opens, closes = at_local(today, hours.opens, zone), at_local(today, hours.closes, zone)
    if now < opens:
        return DayEvents()
    missing = await missing_checkins(station, today)
    if now >= closes:
        return await _send_digest(station, today, missing, clock=clock)
    for person in missing:
        await notify(
            recipient=person,
            msgid="checkin.reminder",
            params={"closes": hours.closes.strftime("%H:%M")},
            # The location request itself: one tap (and Telegram's confirmation) checks in.
            buttons=[[{"text": "checkin.button", "request_location": True}]],
            lane=Lane.ROUTINE,
            idempotency_key=_reminder_key(today, person.id),
            source_kind="station_day",
            source_id=station.id,
            clock=clock,
        )
    return DayEvents(reminders=len(missing))


def _reminder_key(day: date, person_id: int) -> str:
    return f"checkin-reminder:{day.isoformat()}:{person_id}"


def _digest_key(station: Station, day: date, head_id: int) -> str:
    return f"missed-digest:{station.id}:{day.isoformat()}:{head_id}"


async def _catch_up_digest(station: Station, day: date, *, clock: Clock) -> None:
    """Send `day`'s digest if Outpost stopped before sending it, but only if the station's
    day happened in Outpost (a reminder went out or someone checked in): right after
    installation nobody is reported for a day they could not check in."""
    if not await is_working_day(station, day):
        return
    heads = await heads_of(station.id)
    keys = [_digest_key(station, day, head.id) for head in heads]
    if not keys or await OutboxMessage.filter(idempotency_key__in=keys).count() == len(keys):
        return
    missing = await missing_checkins(station, day)
    if not missing:
        return
    reminded = await OutboxMessage.filter(
        idempotency_key__in=[_reminder_key(day, person.id) for person in missing]
    ).exists()
    if reminded or await CheckIn.filter(station_id=station.id, local_date=day).exists():
        await _send_digest(station, day, missing, clock=clock)


async def _send_digest(
    station: Station, day: date, missing: list[Person], *, clock: Clock
) -> DayEvents:
    """The missed check-ins of `day` to the station's heads, once per head and day."""
    if not missing:
        return DayEvents()
    names = ", ".join(person.name for person in missing)
    for head in await heads_of(station.id):
        await notify(
            recipient=head,
            msgid="attendance.missed_digest",
            params={
                "station": station.name,
                "date": day.isoformat(),
                "count": len(missing),
                "names": names,
            },
            lane=Lane.ESCALATION,
            idempotency_key=_digest_key(station, day, head.id),
            source_kind="station_day",
            source_id=station.id,
            clock=clock,
        )
    return DayEvents(missed=len(missing), digest_sent=True)


# --- the station's day as a deadline -----------------------------------------------------

# One deadline per station: its next event (the window opens, the window closes).
STATION_DAY = "station_day"


def next_station_event(station: Station, after: datetime) -> datetime:
    """The first opening or closing of the station's check-in window strictly after `after`,
    on its own wall clock (every day: working days and holidays are looked at when it fires,
    so a change to them needs no rescheduling)."""
    zone, hours = station_zone(station), StationHours.of(station)
    today = local_date(after, zone)
    return min(
        moment
        for offset in range(3)
        for wall in (hours.opens, hours.closes)
        if (moment := at_local(today + timedelta(days=offset), wall, zone)) > after
    )


async def handle_station_day(deadline: Deadline, clock: Clock) -> datetime | None:
    """Do what is due at the station now and return its next event (None: station gone).

    Yesterday's digest is made up for when this firing was due before yesterday's window
    closed (Outpost was stopped over it): a running Outpost sent it on its day.
    """
    station = await Station.get_or_none(id=int(deadline.key))
    if station is None or not station.active:
        return None
    zone, now = station_zone(station), clock.now()
    yesterday = local_date(now, zone) - timedelta(days=1)
    closed_yesterday = at_local(yesterday, StationHours.of(station).closes, zone)
    await run_station_day(station, clock=clock, catch_up=deadline.due_at <= closed_yesterday)
    return next_station_event(station, now)


async def reschedule_station(station_id: int, *, clock: Clock, wake: Wake | None = None) -> None:
    """Look at the station's day now (its hours, zone or state changed, or it is new): the
    firing does what is due by the new hours and schedules the next event from them."""
    await schedule(STATION_DAY, str(station_id), clock.now(), wake=wake)


async def ensure_station_deadlines(*, clock: Clock) -> int:
    """Give every active station without one its deadline (at start-up); returns how many.

    A new one is due at yesterday's close, so it fires at once and makes up a digest that fell
    due while no deadline existed, as a restart does.
    """
    known = await live_keys(STATION_DAY)
    added = 0
    for station in await Station.filter(active=True).order_by("id"):
        if str(station.id) in known:
            continue
        zone = station_zone(station)
        yesterday = local_date(clock.now(), zone) - timedelta(days=1)
        closes = at_local(yesterday, StationHours.of(station).closes, zone)
        added += await ensure(STATION_DAY, str(station.id), closes)
    return added


# --- today at a station, as a head reads it --------------------------------------------------


class DayMark(StrEnum):
    """Where a person stands on a station's day."""

    IN = "in"  # signed in (see the row's late / outside flags)
    LEAVE = "leave"  # on approved leave
    OUTING = "outing"  # on an approved outing over the check-in window
    MISSING = "missing"  # no sign-in and the window has closed
    WAITING = "waiting"  # no sign-in yet, the window is still open (or not open yet)


@dataclass(frozen=True)
class PersonToday:
    """One expected person's day so far."""

    person: Person
    mark: DayMark
    # The sign-in that counts, and the day's first when that one was corrected.
    checkin: CheckIn | None = None
    first: CheckIn | None = None
    late: bool = False
    early: bool = False

    @property
    def outside(self) -> bool:
        """True when the sign-in that counts was outside the geofence."""
        return self.checkin is not None and not self.checkin.inside_geofence


@dataclass(frozen=True)
class StationToday:
    """A station's day so far: who is in, late, outside, excused, missing."""

    station: Station
    day: date
    zone: ZoneInfo
    working_day: bool
    window_closed: bool
    rows: tuple[PersonToday, ...]

    def count(self, mark: DayMark) -> int:
        """How many people have `mark`."""
        return sum(1 for row in self.rows if row.mark == mark)

    @property
    def late(self) -> int:
        """How many signed in late."""
        return sum(1 for row in self.rows if row.late)

    @property
    def outside(self) -> int:
        """How many signed in outside the geofence (uncorrected)."""
        return sum(1 for row in self.rows if row.outside)


async def station_today_view(station: Station, *, clock: Clock) -> StationToday:
    """Today at `station`, by the rules of the daily digest and the monthly sheet: the same
    people (counted staff who belonged to it today), the same excuses, the same sign-in that
    counts (a correction over the first)."""
    zone, now = station_zone(station), clock.now()
    today = local_date(now, zone)
    closes = window_of(station, today)[1]
    counted = await counted_checkins(station.id, today, today)
    firsts = {
        row.id: row
        for row in await CheckIn.filter(
            station_id=station.id, local_date=today, kind=CheckInKind.IN, first_of_day=True
        )
    }
    on_leave = set(
        await LeaveRequest.filter(
            station_id=station.id,
            status=RequestStatus.APPROVED,
            start_date__lte=today,
            end_date__gte=today,
        ).values_list("person_id", flat=True)
    )
    excused = await excused_ids(station, today)
    hours_closes = StationHours.of(station).closes
    working_day = await is_working_day(station, today)
    rows: list[PersonToday] = []
    for person in await expected_people(station):
        if not Membership.of(person, zone, hours_closes).includes(today):
            continue
        checkin = counted.get((person.id, today))
        if checkin is not None:
            first = firsts.get(checkin.correction_of_id) if checkin.correction_of_id else None
            rows.append(
                PersonToday(
                    person=person,
                    mark=DayMark.IN,
                    checkin=checkin,
                    first=first,
                    late=is_late(checkin, station),
                    early=is_early(checkin, station),
                )
            )
        elif not working_day:
            continue  # nobody is expected: only those who came are listed
        elif person.id in on_leave:
            rows.append(PersonToday(person=person, mark=DayMark.LEAVE))
        elif person.id in excused:
            rows.append(PersonToday(person=person, mark=DayMark.OUTING))
        else:
            mark = DayMark.MISSING if now > closes else DayMark.WAITING
            rows.append(PersonToday(person=person, mark=mark))
    return StationToday(
        station=station,
        day=today,
        zone=zone,
        working_day=working_day,
        window_closed=now > closes,
        rows=tuple(rows),
    )
