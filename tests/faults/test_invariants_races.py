"""Invariants the database keeps under concurrent calls (on PostgreSQL each call of a gather
takes its own pooled connection; on SQLite the one writer serialises them and they must hold
all the same): one first sign-in per person and station day, one decision per request, one
open outing and one open SOS per person."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError

from db.enums import CheckInKind, IncidentStatus, OutingStatus, RequestStatus, Role
from db.incidents import close_sos, open_sos
from db.models import AuditLog, CheckIn, Incident, OutboxMessage, Outing
from db.outings import close_outing, open_outing
from services.attendance import CheckInResult, Position, record_checkin, update_live_position
from services.clock import ManualClock
from services.errors import Conflict
from services.leave import LeaveDecision, decide_leave, request_leave
from tests.auxil.factories import LAGOS, actor_of, make_person, make_station

PINS = 20
DECIDERS = 10
TAPS = 10


def _pin(clock: ManualClock, *, live: bool = False) -> Position:
    return Position(lat=LAGOS[0], lon=LAGOS[1], sent_at=clock.now(), live=live)


async def test_twenty_pins_at_once_make_one_first_checkin(db: str, clock: ManualClock) -> None:
    """Every caller is answered with the one sign-in of the day; one of them made it."""
    station = await make_station()
    actor = await actor_of(await make_person(1, station))
    clock.set(datetime(2026, 1, 5, 7, 45, tzinfo=UTC))  # 08:45 in Lagos
    results = await asyncio.gather(
        *(record_checkin(actor=actor, position=_pin(clock), clock=clock) for _ in range(PINS))
    )
    rows = await CheckIn.filter(person_id=actor.person.id, local_date=date(2026, 1, 5))
    assert len(rows) == 1
    assert rows[0].kind == CheckInKind.IN
    assert rows[0].first_of_day is True
    assert {result.checkin.id for result in results} == {rows[0].id}
    assert [result.repeated for result in results].count(False) == 1
    assert all(result.kind == CheckInKind.IN and result.inside_geofence for result in results)


async def test_live_location_next_day_racing_pins_makes_one_first_checkin(
    db: str, clock: ManualClock
) -> None:
    """The next morning a live location's updates and fresh pins race: one sign-in."""
    station = await make_station()
    actor = await actor_of(await make_person(1, station))
    clock.set(datetime(2026, 1, 5, 7, 45, tzinfo=UTC))
    await record_checkin(actor=actor, position=_pin(clock, live=True), clock=clock, message_id=7)
    clock.set(datetime(2026, 1, 6, 7, 40, tzinfo=UTC))  # the next day, window open
    calls = [
        update_live_position(
            actor=actor, message_id=7, position=_pin(clock, live=True), clock=clock
        )
        for _ in range(PINS // 2)
    ] + [record_checkin(actor=actor, position=_pin(clock), clock=clock) for _ in range(PINS // 2)]
    results = await asyncio.gather(*calls)
    rows = await CheckIn.filter(person_id=actor.person.id, local_date=date(2026, 1, 6))
    assert len(rows) == 1
    answered = [result for result in results if isinstance(result, CheckInResult)]
    assert len(answered) == PINS
    assert {result.checkin.id for result in answered} == {rows[0].id}
    assert [result.repeated for result in answered].count(False) == 1


async def test_the_database_refuses_a_second_first_checkin(db: str, clock: ManualClock) -> None:
    """The constraint holds without the service: a second marked row is refused, unmarked
    rows (sign-outs) are not."""
    station = await make_station()
    person = await make_person(1, station)
    values: dict[str, Any] = {
        "person_id": person.id,
        "station_id": station.id,
        "at": clock.now(),
        "local_date": date(2026, 1, 5),
        "lat": LAGOS[0],
        "lon": LAGOS[1],
    }
    await CheckIn.create(kind=CheckInKind.IN, first_of_day=True, **values)
    with pytest.raises(IntegrityError):
        await CheckIn.create(kind=CheckInKind.IN, first_of_day=True, **values)
    await CheckIn.create(kind=CheckInKind.OUT, **values)
    await CheckIn.create(kind=CheckInKind.OUT, **values)
    await CheckIn.create(
        kind=CheckInKind.IN, first_of_day=True, **{**values, "local_date": date(2026, 1, 6)}
    )
    assert await CheckIn.filter(person_id=person.id).count() == 4


async def test_ten_deciders_at_once_decide_once(db: str, clock: ManualClock) -> None:
    """One decision wins; the nine others get Conflict; one audit entry, one message back."""
    station = await make_station()
    staff = await make_person(1, station)
    heads = [await make_person(100 + n, station, Role.HEAD) for n in range(DECIDERS)]
    leave = await request_leave(
        actor=await actor_of(staff),
        start=date(2026, 1, 8),
        end=date(2026, 1, 9),
        reason="family",
        clock=clock,
    )
    actors = [await actor_of(head) for head in heads]
    outcomes = await asyncio.gather(
        *(
            decide_leave(actor=actor, leave_id=leave.id, approve=n % 2 == 0, clock=clock)
            for n, actor in enumerate(actors)
        ),
        return_exceptions=True,
    )
    decisions = [outcome for outcome in outcomes if isinstance(outcome, LeaveDecision)]
    conflicts = [outcome for outcome in outcomes if isinstance(outcome, Conflict)]
    assert len(decisions) == 1
    assert len(conflicts) == DECIDERS - 1
    assert all(conflict.msgid == "leave.already_decided" for conflict in conflicts)
    await leave.refresh_from_db()
    winner = decisions[0]
    expected = RequestStatus.APPROVED if winner.approved else RequestStatus.REFUSED
    assert leave.status == expected
    assert await AuditLog.filter(object_kind="leave", object_id=leave.id).count() == 1
    told = await OutboxMessage.filter(recipient_id=staff.id, source_kind="leave")
    assert len(told) == 1
    assert told[0].msgid == ("leave.approved" if winner.approved else "leave.refused")


async def test_ten_outing_requests_at_once_open_one(db: str, clock: ManualClock) -> None:
    """Every caller gets the same open outing; once closed, the next one can open."""
    station = await make_station()
    person = await make_person(1, station)
    back = clock.now() + timedelta(hours=2)
    results = await asyncio.gather(
        *(
            open_outing(
                person_id=person.id,
                station_id=station.id,
                destination=f"Site {n}",
                expected_return_at=back,
            )
            for n in range(TAPS)
        )
    )
    assert await Outing.filter(person_id=person.id).count() == 1
    assert len({outing.id for outing, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1
    first = results[0][0]
    closes = await asyncio.gather(
        *(
            close_outing(first.id, status=OutingStatus.RETURNED, at=clock.now())
            for _ in range(TAPS)
        )
    )
    assert closes.count(True) == 1
    await first.refresh_from_db()
    assert first.status == OutingStatus.RETURNED
    assert first.returned_at == clock.now()
    assert first.open_marker is None
    after, created = await open_outing(
        person_id=person.id, destination="Market", expected_return_at=back
    )
    assert created
    assert after.id != first.id


async def test_ten_sos_presses_at_once_open_one_incident(db: str, clock: ManualClock) -> None:
    """Ten presses (from two devices, say) open one SOS; another person's is their own."""
    station = await make_station()
    person = await make_person(1, station)
    other = await make_person(2, station)
    presses = [
        open_sos(
            person_id=person.id,
            opened_at=clock.now(),
            station_id=station.id,
            idempotency_key=f"sos:{n}",
        )
        for n in range(TAPS)
    ]
    results = await asyncio.gather(*presses, open_sos(person_id=other.id, opened_at=clock.now()))
    mine, theirs = results[:TAPS], results[TAPS]
    assert await Incident.filter(reported_by_id=person.id).count() == 1
    assert len({incident.id for incident, _ in mine}) == 1
    assert [created for _, created in mine].count(True) == 1
    assert theirs[1]
    assert theirs[0].id != mine[0][0].id
    incident = mine[0][0]
    closes = await asyncio.gather(
        *(close_sos(incident.id, at=clock.now(), closed_by_id=other.id) for _ in range(TAPS))
    )
    assert closes.count(True) == 1
    await incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED
    assert incident.open_sos_marker is None
    again, created = await open_sos(person_id=person.id, opened_at=clock.now())
    assert created
    assert again.id != incident.id
