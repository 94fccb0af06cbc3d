"""Attendance: check-in rules, and each station's day on its own clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from db.enums import CheckInKind, Lane, OutingStatus, RequestStatus, Role
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
from services.attendance import (
    STATION_DAY,
    CheckInRefused,
    DayMark,
    Position,
    counted_checkins,
    ensure_station_deadlines,
    handle_station_day,
    missing_checkins,
    next_station_event,
    record_checkin,
    reschedule_station,
    run_station_day,
    station_today_view,
    update_live_position,
)
from services.clock import ManualClock
from services.deadlines import DeadlineHandlers, RetryPolicy, fire_due
from services.people import identify
from tests.auxil.rows import fk_id

LAGOS = (6.4281, 3.4219)
# Before every day the tests play (created_at would otherwise be the machine's today).
JOINED = datetime(2025, 12, 1, tzinfo=UTC)


async def _station(code: str = "LOS", **extra: Any) -> Station:
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


async def _person(tid: int, station: Station, *roles: Role, language: str = "en") -> Person:
    person = await Person.create(
        telegram_id=tid, name=f"P{tid}", station=station, language=language, created_at=JOINED
    )
    for role in roles or (Role.STAFF,):
        await PersonRole.create(person=person, role=role)
    return person


def _at(clock: ManualClock, lat: float = LAGOS[0], lon: float = LAGOS[1], **kw: Any) -> Position:
    return Position(lat=lat, lon=lon, sent_at=clock.now(), **kw)


async def test_inside_and_outside_the_geofence(db: str, clock: ManualClock) -> None:
    """Distance is geodesic; 300 m is the fence; the first check-in of the day counts."""
    station = await _station()
    await _person(1, station)
    actor = await identify(1)
    assert actor is not None
    clock.set(datetime(2026, 1, 5, 7, 45, tzinfo=UTC))  # 08:45 in Lagos
    result = await record_checkin(actor=actor, position=_at(clock, 6.4290, 3.4219), clock=clock)
    assert result.kind == CheckInKind.IN
    assert 90 < result.distance_m < 110
    assert result.inside_geofence
    assert result.local_time.hour == 8
    assert not result.late
    again = await record_checkin(actor=actor, position=_at(clock, 6.46, 3.42), clock=clock)
    assert again.repeated
    assert again.checkin.id == result.checkin.id
    assert await CheckIn.all().count() == 1

    await _person(2, station)
    far = await identify(2)
    assert far is not None
    outside = await record_checkin(actor=far, position=_at(clock, 6.4381, 3.4219), clock=clock)
    assert not outside.inside_geofence
    assert 1100 < outside.distance_m < 1120


async def test_forwarded_stale_and_live_required(db: str, clock: ManualClock) -> None:
    """A forwarded or old pin is refused with its reason; a station may demand a live one."""
    station = await _station(require_live_location=True)
    await _person(1, station)
    actor = await identify(1)
    assert actor is not None
    with pytest.raises(CheckInRefused) as forwarded:
        await record_checkin(
            actor=actor, position=_at(clock, forwarded=True, live=True), clock=clock
        )
    assert forwarded.value.msgid == "checkin.refused_forwarded"
    old = Position(
        lat=LAGOS[0], lon=LAGOS[1], sent_at=clock.now() - timedelta(minutes=10), live=True
    )
    with pytest.raises(CheckInRefused) as stale:
        await record_checkin(actor=actor, position=old, clock=clock)
    assert stale.value.msgid == "checkin.refused_stale"
    with pytest.raises(CheckInRefused) as pin:
        await record_checkin(actor=actor, position=_at(clock), clock=clock)
    assert pin.value.msgid == "checkin.refused_live_required"
    result = await record_checkin(
        actor=actor, position=_at(clock, live=True, accuracy_m=250.0), clock=clock, message_id=77
    )
    assert result.poor_accuracy
    moved = await update_live_position(
        actor=actor, message_id=77, position=_at(clock, 6.4300, 3.4219, live=True), clock=clock
    )
    assert moved is None  # the same day: no new check-in
    row = await CheckIn.get(id=result.checkin.id)
    # The check-in keeps where it was made and its verdict; the live track is beside it.
    assert (row.lat, row.inside_geofence) == (LAGOS[0], True)
    assert (row.last_lat, row.last_lon, row.last_seen_at) == (6.4300, 3.4219, clock.now())
    assert await CheckIn.all().count() == 1


async def test_check_out_after_the_working_day(db: str, clock: ManualClock) -> None:
    """After the end of the day, with a sign-in, the same gesture signs out."""
    station = await _station()
    await _person(1, station)
    actor = await identify(1)
    assert actor is not None
    clock.set(datetime(2026, 1, 5, 7, 30, tzinfo=UTC))
    await record_checkin(actor=actor, position=_at(clock), clock=clock)
    clock.set(datetime(2026, 1, 5, 16, 30, tzinfo=UTC))  # 17:30 in Lagos
    out = await record_checkin(actor=actor, position=_at(clock), clock=clock)
    assert out.kind == CheckInKind.OUT
    assert await CheckIn.filter(kind=CheckInKind.OUT).count() == 1


async def test_head_told_of_a_check_in_outside_when_the_station_asks(
    db: str, clock: ManualClock
) -> None:
    """With notify_head_outside_geofence, the head gets an escalation in the outbox."""
    station = await _station(notify_head_outside_geofence=True)
    await _person(1, station)
    head = await _person(9, station, Role.HEAD, language="zh-Hans")
    actor = await identify(1)
    assert actor is not None
    await record_checkin(actor=actor, position=_at(clock, 6.50, 3.42), clock=clock)
    row = await OutboxMessage.get(recipient_id=head.id)
    assert row.msgid == "checkin.head_outside_geofence"
    # A correction from inside is told too, once.
    clock.advance(timedelta(minutes=5))
    await record_checkin(actor=actor, position=_at(clock), clock=clock)
    await record_checkin(actor=actor, position=_at(clock), clock=clock)
    told = await OutboxMessage.filter(recipient_id=head.id).order_by("id")
    assert [m.msgid for m in told] == ["checkin.head_outside_geofence", "checkin.head_corrected"]
    assert row.lane == Lane.ESCALATION
    # The distance is written for the head, in the head's language (one formatter).
    assert row.params["distance"] == "8公里"


async def test_station_day_reminder_then_digest(db: str, clock: ManualClock) -> None:
    """Reminders at the window's start, once; at its end one digest to the head, once."""
    station = await _station()
    present = await _person(1, station)
    await _person(2, station)
    on_leave = await _person(3, station)
    head = await _person(9, station, Role.HEAD)
    await LeaveRequest.create(
        person=on_leave,
        station=station,
        start_date=date(2026, 1, 5),
        end_date=date(2026, 1, 6),
        status=RequestStatus.APPROVED,
    )
    clock.set(datetime(2026, 1, 5, 6, 30, tzinfo=UTC))  # 07:30 Lagos: too early
    assert (await run_station_day(station, clock=clock)).reminders == 0
    clock.set(datetime(2026, 1, 5, 7, 1, tzinfo=UTC))  # 08:01
    assert (await run_station_day(station, clock=clock)).reminders == 2
    await run_station_day(station, clock=clock)
    assert await OutboxMessage.filter(msgid="checkin.reminder").count() == 2
    actor = await identify(present.telegram_id)
    assert actor is not None
    await record_checkin(actor=actor, position=_at(clock), clock=clock)
    clock.set(datetime(2026, 1, 5, 8, 31, tzinfo=UTC))  # 09:31
    events = await run_station_day(station, clock=clock)
    assert events.missed == 1
    assert events.digest_sent
    await run_station_day(station, clock=clock)
    digest = await OutboxMessage.filter(msgid="attendance.missed_digest").all()
    assert len(digest) == 1
    assert fk_id(digest[0], "recipient") == head.id
    assert digest[0].params["names"] == "P2"


async def test_weekends_holidays_and_outings_are_not_missed(db: str, clock: ManualClock) -> None:
    """No digest on a weekend or a holiday; someone on an approved outing is not missed."""
    station = await _station()
    await _person(9, station, Role.HEAD)
    walker = await _person(1, station)
    clock.set(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))  # Saturday
    assert (await run_station_day(station, clock=clock)).missed == 0
    await Holiday.create(station=station, date=date(2026, 1, 12), name="Holiday")
    clock.set(datetime(2026, 1, 12, 9, 0, tzinfo=UTC))
    assert (await run_station_day(station, clock=clock)).missed == 0
    await Outing.create(
        person=walker,
        station=station,
        destination="Customer",
        status=OutingStatus.OUT,
        leaves_at=datetime(2026, 1, 13, 6, 0, tzinfo=UTC),
        expected_return_at=datetime(2026, 1, 13, 12, 0, tzinfo=UTC),
    )
    clock.set(datetime(2026, 1, 13, 9, 0, tzinfo=UTC))
    assert (await run_station_day(station, clock=clock)).missed == 0


async def test_two_stations_keep_their_own_days(db: str, clock: ManualClock) -> None:
    """At 23:30 UTC it is already tomorrow's window in Jakarta, still last night in Lagos."""
    lagos = await _station("LOS")
    jakarta = await _station(
        "JKT",
        lat=-6.2088,
        lon=106.8456,
        timezone="Asia/Jakarta",
        country="ID",
        checkin_opens=time(6, 0),
        checkin_closes=time(7, 0),
    )
    await _person(1, lagos)
    await _person(2, jakarta)
    await _person(8, lagos, Role.HEAD)
    await _person(9, jakarta, Role.HEAD)
    clock.set(datetime(2026, 1, 5, 23, 30, tzinfo=UTC))  # Tue 06:30 in Jakarta, Mon 00:30 Lagos
    assert (await run_station_day(jakarta, clock=clock)).reminders == 1
    assert (await run_station_day(lagos, clock=clock)).reminders == 0
    row = await OutboxMessage.get(msgid="checkin.reminder")
    assert row.idempotency_key.startswith("checkin-reminder:2026-01-06:")
    clock.set(datetime(2026, 1, 6, 0, 5, tzinfo=UTC))  # 07:05 Jakarta: its digest
    assert (await run_station_day(jakarta, clock=clock)).digest_sent
    assert not (await run_station_day(lagos, clock=clock)).digest_sent


async def test_a_live_location_checks_in_again_on_the_next_day_and_not_after_work(
    db: str, clock: ManualClock
) -> None:
    """Shared until stopped: day 2's first position after the window opens is day 2's
    check-in; after the working day nothing is kept; a stale update changes nothing."""
    station = await _station()
    await _person(1, station)
    actor = await identify(1)
    assert actor is not None
    clock.set(datetime(2026, 1, 5, 7, 10, tzinfo=UTC))  # Monday 08:10 in Lagos
    first = await record_checkin(
        actor=actor, position=_at(clock, live=True), clock=clock, message_id=5
    )
    clock.set(datetime(2026, 1, 5, 16, 30, tzinfo=UTC))  # 17:30: after work
    far = _at(clock, 6.60, 3.40, live=True)
    assert await update_live_position(actor=actor, message_id=5, position=far, clock=clock) is None
    assert (await CheckIn.get(id=first.checkin.id)).last_lat is None
    clock.set(datetime(2026, 1, 6, 6, 30, tzinfo=UTC))  # Tuesday 07:30: window not open yet
    early = _at(clock, live=True)
    assert (
        await update_live_position(actor=actor, message_id=5, position=early, clock=clock) is None
    )
    assert await CheckIn.all().count() == 1
    clock.set(datetime(2026, 1, 6, 7, 5, tzinfo=UTC))  # 08:05
    stale = Position(
        lat=LAGOS[0], lon=LAGOS[1], sent_at=clock.now() - timedelta(minutes=10), live=True
    )
    assert (
        await update_live_position(actor=actor, message_id=5, position=stale, clock=clock) is None
    )
    second = await update_live_position(
        actor=actor, message_id=5, position=_at(clock, live=True), clock=clock
    )
    assert second is not None
    assert not second.repeated
    assert (second.checkin.local_date, second.kind, second.checkin.live) == (
        date(2026, 1, 6),
        CheckInKind.IN,
        True,
    )
    clock.advance(minutes=5)
    moved = await update_live_position(
        actor=actor, message_id=5, position=_at(clock, 6.4290, 3.4219, live=True), clock=clock
    )
    assert moved is None
    assert (await CheckIn.get(id=second.checkin.id)).last_lat == 6.4290
    assert await CheckIn.all().count() == 2


async def test_outings_excuse_only_the_window_they_cover(db: str, clock: ManualClock) -> None:
    """Approved and not gone yet: excused. An evening outing, or one back before the window
    opened, does not excuse the morning check-in."""
    station = await _station()
    await _person(9, station, Role.HEAD)
    waiting, evening, back_early = [await _person(n, station) for n in (1, 2, 3)]
    day = datetime(2026, 1, 5, tzinfo=UTC)  # Lagos is UTC+1
    await Outing.create(
        person=waiting,
        station=station,
        destination="Port",
        status=OutingStatus.APPROVED,
        decided_at=day.replace(hour=6),
        expected_return_at=day.replace(hour=12),
    )
    await Outing.create(
        person=evening,
        station=station,
        destination="Dinner",
        status=OutingStatus.APPROVED,
        leaves_at=day.replace(hour=17),
        decided_at=day.replace(hour=6),
        expected_return_at=day.replace(hour=18),
    )
    await Outing.create(
        person=back_early,
        station=station,
        destination="Bank",
        status=OutingStatus.RETURNED,
        leaves_at=day.replace(hour=5),
        returned_at=day.replace(hour=6, minute=30),
        expected_return_at=day.replace(hour=12),
    )
    clock.set(day.replace(hour=8, minute=31))  # 09:31 in Lagos
    await run_station_day(station, clock=clock)
    (digest,) = await OutboxMessage.filter(msgid="attendance.missed_digest")
    assert digest.params["names"] == "P2, P3"


async def test_people_still_registering_are_neither_reminded_nor_told(
    db: str, clock: ManualClock
) -> None:
    """A staff member or head who has not finished registering is not part of the day yet."""
    station = await _station()
    head = await _person(9, station, Role.HEAD)
    await _person(8, station, Role.HEAD)
    await Person.filter(telegram_id=8).update(registration_step="phone")
    await _person(1, station)
    await _person(2, station)
    await Person.filter(telegram_id=2).update(registration_step="language")
    clock.set(datetime(2026, 1, 5, 7, 1, tzinfo=UTC))
    assert (await run_station_day(station, clock=clock)).reminders == 1
    clock.set(datetime(2026, 1, 5, 8, 31, tzinfo=UTC))
    await run_station_day(station, clock=clock)
    (digest,) = await OutboxMessage.filter(msgid="attendance.missed_digest")
    assert (fk_id(digest, "recipient"), digest.params["names"]) == (head.id, "P1")


async def test_a_digest_missed_while_stopped_is_made_up_the_next_day(
    db: str, clock: ManualClock
) -> None:
    """Stopped from 09:00 Monday to Tuesday 00:30: Monday's digest goes out on restart. Right
    after installation, a day nobody could check in is not reported."""
    station = await _station()
    head = await _person(9, station, Role.HEAD)
    await _person(1, station)
    clock.set(datetime(2026, 1, 4, 23, 30, tzinfo=UTC))  # Monday 00:30: installed
    await run_station_day(station, clock=clock, catch_up=True)  # Sunday: nothing to make up
    clock.set(datetime(2026, 1, 5, 7, 1, tzinfo=UTC))  # Monday 08:01: reminded
    assert (await run_station_day(station, clock=clock)).reminders == 1
    # Joined on Monday afternoon, after the window closed: not missed on Monday.
    await _person(2, station)
    await Person.filter(telegram_id=2).update(created_at=datetime(2026, 1, 5, 15, 0, tzinfo=UTC))
    clock.set(datetime(2026, 1, 5, 23, 30, tzinfo=UTC))  # Tuesday 00:30 in Lagos
    await run_station_day(station, clock=clock)  # a minute's tick looks at today only
    assert not await OutboxMessage.exists(msgid="attendance.missed_digest")
    assert (await run_station_day(station, clock=clock, catch_up=True)).reminders == 0  # restart
    (digest,) = await OutboxMessage.filter(msgid="attendance.missed_digest")
    assert (fk_id(digest, "recipient"), digest.params["date"]) == (head.id, "2026-01-05")
    assert digest.params["names"] == "P1"
    await run_station_day(station, clock=clock, catch_up=True)
    assert await OutboxMessage.filter(msgid="attendance.missed_digest").count() == 1

    other = await _station("ABV")
    await _person(19, other, Role.HEAD)
    await _person(11, other)
    # The first start-up ever for ABV: Monday is not reported.
    await run_station_day(other, clock=clock, catch_up=True)
    assert await OutboxMessage.filter(msgid="attendance.missed_digest").count() == 1


async def test_a_stations_next_event_on_its_own_clock(db: str) -> None:
    """Opening then closing, in the station's zone; the next day's opening after the close;
    New York's 08:00 moves in UTC across the DST change."""
    lagos = await _station()
    monday = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)  # 07:00 in Lagos
    assert next_station_event(lagos, monday) == datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    opening = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    assert next_station_event(lagos, opening) == datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
    closing = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
    assert next_station_event(lagos, closing) == datetime(2026, 1, 6, 7, 0, tzinfo=UTC)
    york = await _station("NYC", timezone="America/New_York", country="US")
    before = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)  # Saturday 10:00 EST, after the close
    assert next_station_event(york, before) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # EDT


async def test_the_station_day_deadline_fires_each_event_and_follows_an_import(
    db: str, clock: ManualClock
) -> None:
    """The handler does the day's work and returns the next event; a station gone inactive
    has none; rescheduling looks at the day now, with the new hours."""
    station = await _station()
    await _person(1, station)
    handlers = DeadlineHandlers()
    handlers.register(STATION_DAY, handle_station_day)

    async def fire() -> list[str]:
        fired = await fire_due(
            handlers=handlers,
            clock=clock,
            token="t",
            lease=timedelta(minutes=1),
            retry=RetryPolicy(),
        )
        return [f.outcome for f in fired]

    clock.set(datetime(2026, 1, 5, 7, 0, tzinfo=UTC))  # Monday 08:00
    await reschedule_station(station.id, clock=clock)
    assert await fire() == ["rescheduled"]
    assert await OutboxMessage.filter(msgid="checkin.reminder").count() == 1
    row = await Deadline.get(kind=STATION_DAY)
    assert row.due_at == datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
    # Hours changed by an import: the window now opens at 08:30 (07:30 UTC), from today on.
    await Station.filter(id=station.id).update(checkin_opens=time(8, 30), checkin_closes=time(10))
    await reschedule_station(station.id, clock=clock)
    assert await fire() == ["rescheduled"]
    assert (await Deadline.get(kind=STATION_DAY)).due_at == datetime(2026, 1, 5, 7, 30, tzinfo=UTC)
    await Station.filter(id=station.id).update(active=False)
    clock.set(datetime(2026, 1, 5, 7, 30, tzinfo=UTC))
    assert await fire() == ["done"]
    assert await ensure_station_deadlines(clock=clock) == 0


async def test_a_first_check_in_outside_is_corrected_from_inside_in_time(
    db: str, clock: ManualClock
) -> None:
    """Within the station's correction time a check-in from inside corrects the first one
    outside (both kept, the correction counts); later, or from outside, it is a repeat that
    says where the first one was."""
    station = await _station(checkin_correction_min=20)
    await _person(1, station)
    await _person(2, station)
    amina, bola = await identify(1), await identify(2)
    assert amina is not None
    assert bola is not None
    clock.set(datetime(2026, 1, 5, 7, 0, tzinfo=UTC))
    first = await record_checkin(actor=amina, position=_at(clock, 6.53, 3.42), clock=clock)
    assert not first.inside_geofence
    await record_checkin(actor=bola, position=_at(clock, 6.53, 3.42), clock=clock)
    clock.advance(timedelta(minutes=10))
    outside_again = await record_checkin(actor=amina, position=_at(clock, 6.52, 3.42), clock=clock)
    assert outside_again.repeated
    assert not outside_again.inside_geofence
    assert outside_again.checkin.id == first.checkin.id
    assert outside_again.correctable_until == datetime(2026, 1, 5, 7, 20, tzinfo=UTC)
    fixed = await record_checkin(actor=amina, position=_at(clock), clock=clock)
    assert fixed.corrected
    assert not fixed.repeated
    assert fixed.inside_geofence
    assert fixed.first is not None
    assert fixed.first.id == first.checkin.id
    repeat = await record_checkin(actor=amina, position=_at(clock), clock=clock)
    assert repeat.repeated
    assert repeat.corrected
    assert repeat.checkin.id == fixed.checkin.id
    # Bola is 21 minutes late to correct: the first one stays the one that counts.
    clock.advance(timedelta(minutes=11))
    late = await record_checkin(actor=bola, position=_at(clock), clock=clock)
    assert late.repeated
    assert not late.inside_geofence
    assert late.correctable_until is None
    counted = await counted_checkins(station.id, date(2026, 1, 5), date(2026, 1, 5))
    assert counted[(amina.person.id, date(2026, 1, 5))].id == fixed.checkin.id
    assert not counted[(bola.person.id, date(2026, 1, 5))].inside_geofence
    assert await CheckIn.all().count() == 3
    view = await station_today_view(station, clock=clock)
    rows = {row.person.id: row for row in view.rows}
    assert rows[amina.person.id].first is not None
    assert not rows[amina.person.id].outside
    assert rows[bola.person.id].outside
    assert view.outside == 1


async def test_a_station_without_correction_keeps_the_first(db: str, clock: ManualClock) -> None:
    """checkin_correction_min 0: a first check-in outside stays as it is."""
    station = await _station(checkin_correction_min=0)
    await _person(1, station)
    actor = await identify(1)
    assert actor is not None
    await record_checkin(actor=actor, position=_at(clock, 6.53, 3.42), clock=clock)
    again = await record_checkin(actor=actor, position=_at(clock), clock=clock)
    assert again.repeated
    assert not again.inside_geofence
    assert again.correctable_until is None


async def test_the_window_closes_on_its_second_and_before_it_is_early(
    db: str, clock: ManualClock
) -> None:
    """09:30:00 is on time, 09:30:01 is late; 07:59:59 is early and still counts."""
    station = await _station()
    for tid in (1, 2, 3):
        await _person(tid, station)
    results = []
    for tid, moment in (
        (1, datetime(2026, 1, 5, 8, 30, 0, tzinfo=UTC)),
        (2, datetime(2026, 1, 5, 8, 30, 1, tzinfo=UTC)),
        (3, datetime(2026, 1, 5, 6, 59, 59, tzinfo=UTC)),
    ):
        clock.set(moment)
        actor = await identify(tid)
        assert actor is not None
        results.append(await record_checkin(actor=actor, position=_at(clock), clock=clock))
    assert [(r.late, r.early) for r in results] == [(False, False), (True, False), (False, True)]
    assert all(not r.repeated for r in results)
    clock.set(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    assert await missing_checkins(station, date(2026, 1, 5)) == []


async def test_a_position_dated_ahead_of_the_clock_is_refused(db: str, clock: ManualClock) -> None:
    """Up to a minute of drift passes; more is refused with its own reason."""
    station = await _station()
    await _person(1, station)
    actor = await identify(1)
    assert actor is not None
    ahead = Position(lat=LAGOS[0], lon=LAGOS[1], sent_at=clock.now() + timedelta(minutes=5))
    with pytest.raises(CheckInRefused) as refused:
        await record_checkin(actor=actor, position=ahead, clock=clock)
    assert refused.value.msgid == "checkin.refused_future"
    drift = Position(lat=LAGOS[0], lon=LAGOS[1], sent_at=clock.now() + timedelta(seconds=50))
    assert not (await record_checkin(actor=actor, position=drift, clock=clock)).repeated


async def test_today_at_a_station_marks_everyone(db: str, clock: ManualClock) -> None:
    """In, on leave, on an outing, waiting while the window is open, missing once it closed;
    someone still registering is not listed."""
    station = await _station()
    present, away, out, absent = [await _person(tid, station) for tid in (1, 2, 3, 4)]
    registering = await _person(5, station)
    registering.registration_step = "phone"
    await registering.save()
    await LeaveRequest.create(
        person=away,
        station=station,
        start_date=date(2026, 1, 5),
        end_date=date(2026, 1, 5),
        status=RequestStatus.APPROVED,
    )
    await Outing.create(
        person=out,
        station=station,
        destination="Port",
        status=OutingStatus.OUT,
        leaves_at=datetime(2026, 1, 5, 6, tzinfo=UTC),
        expected_return_at=datetime(2026, 1, 5, 12, tzinfo=UTC),
    )
    clock.set(datetime(2026, 1, 5, 7, 30, tzinfo=UTC))
    actor = await identify(1)
    assert actor is not None
    await record_checkin(actor=actor, position=_at(clock), clock=clock)
    view = await station_today_view(station, clock=clock)
    marks = {row.person.id: row.mark for row in view.rows}
    assert marks == {
        present.id: DayMark.IN,
        away.id: DayMark.LEAVE,
        out.id: DayMark.OUTING,
        absent.id: DayMark.WAITING,
    }
    assert view.working_day
    assert not view.window_closed
    clock.set(datetime(2026, 1, 5, 8, 31, tzinfo=UTC))
    view = await station_today_view(station, clock=clock)
    assert view.count(DayMark.MISSING) == 1
    assert view.window_closed
    assert view.day == date(2026, 1, 5)
    assert view.zone.key == "Africa/Lagos"


async def test_on_a_day_off_only_those_who_came_are_listed(db: str, clock: ManualClock) -> None:
    """Saturday: nobody is expected, nobody is missing; a check-in still shows."""
    station = await _station()
    came = await _person(1, station)
    await _person(2, station)
    clock.set(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))  # Saturday, 10:00 in Lagos
    actor = await identify(1)
    assert actor is not None
    await record_checkin(actor=actor, position=_at(clock), clock=clock)
    view = await station_today_view(station, clock=clock)
    assert not view.working_day
    assert [(row.person.id, row.mark) for row in view.rows] == [(came.id, DayMark.IN)]
