"""The outing rules: the station policy, reading times, the re-asks, night and high risk."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from db.models import Station
from services.clock import ManualClock
from services.errors import InvalidInput
from services.organisation import export_organisation, import_organisation
from services.organisation_models import OrganisationFileError, OutingPolicy, validate
from services.outings import (
    check_return,
    first_step,
    is_high_risk,
    is_night,
    parse_one_line,
    parse_when,
)
from tests.services.test_organisation import contract

LAGOS = ZoneInfo("Africa/Lagos")
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # 10:00 in Lagos


def _errors(block: object) -> list[str]:
    data = contract()
    data["stations"][0]["outings"] = block
    try:
        validate(data, source="org.yaml", stored_stations={})
    except OrganisationFileError as exc:
        return exc.errors
    return []


def test_policy_defaults() -> None:
    """A station without an `outings:` block has the regulations' defaults."""
    policy = OutingPolicy.stored({})
    assert (policy.night_starts, policy.night_ends) == (time(19), time(6))
    assert (policy.grace_1_min, policy.grace_2_min, policy.grace_3_min) == (15, 30, 30)
    assert (policy.reminder_before_min, policy.longest_hours) == (15, 8.0)
    assert not policy.companion_required
    assert policy.dead_man_min == 0


def test_policy_errors_name_the_field() -> None:
    """Each bad field is named with what it should be."""
    assert _errors(
        {
            "grace_1_min": "15",
            "longest_hours": 30,
            "companion_required": "yes",
            "night_starts": "7pm",
            "high_risk_areas": [{"lat": 6.5}],
            "color": 1,
        }
    ) == [
        "org.yaml: stations[0].outings.color: unknown field (allowed: companion_required, "
        "dead_man_min, dead_man_reply_min, grace_1_min, grace_2_min, grace_3_min, "
        "high_risk_areas, high_risk_country, longest_hours, night_ends, night_starts, "
        "reminder_before_min)",
        "org.yaml: stations[0].outings.night_starts: not a time of day HH:MM: '7pm'",
        "org.yaml: stations[0].outings.companion_required: must be true or false, got 'yes'",
        "org.yaml: stations[0].outings.longest_hours: must be hours above 0, at most 24, got 30",
        "org.yaml: stations[0].outings.grace_1_min: must be whole minutes from 1 to 240, got '15'",
        "org.yaml: stations[0].outings.high_risk_areas[0].lon: is required",
    ]


async def test_policy_imported_and_exported(db: str, clock: ManualClock) -> None:
    """Only what differs from the defaults is stored, and exported back as given."""
    data = contract()
    data["stations"][0]["outings"] = {
        "night_starts": "20:00",
        "companion_required": True,
        "dead_man_min": 30,
        "high_risk_areas": [{"name": "Makoko", "lat": 6.49, "lon": 3.39, "radius_m": 1500}],
    }
    await import_organisation(data, source="org.yaml", clock=clock)
    station = await Station.get(code="LOS")
    assert station.outing_policy == {
        "night_starts": "20:00:00",
        "companion_required": True,
        "dead_man_min": 30,
        "high_risk_areas": [{"name": "Makoko", "lat": 6.49, "lon": 3.39, "radius_m": 1500}],
    }
    exported = await export_organisation()
    assert exported["stations"][0]["outings"] == station.outing_policy
    policy = OutingPolicy.stored(station.outing_policy)
    assert is_high_risk(policy, 6.495, 3.392)
    assert not is_high_risk(policy, 6.6, 3.5)


def test_times_read_as_a_clock_or_a_duration() -> None:
    """16:30, 1630 and 16h30 are today on the station's clock; 2h, 90m and 1h30 are from the
    base; anything else is None."""
    at_1630 = datetime(2026, 1, 5, 15, 30, tzinfo=UTC)
    for text in ("16:30", "1630", "16h30", "16.30"):
        assert parse_when(text, base=NOW, zone=LAGOS) == at_1630, text
    assert parse_when("2h", base=NOW, zone=LAGOS) == NOW + timedelta(hours=2)
    assert parse_when("90m", base=NOW, zone=LAGOS) == NOW + timedelta(minutes=90)
    assert parse_when("1h30", base=NOW, zone=LAGOS) == NOW + timedelta(minutes=90)
    assert parse_when("1.5h", base=NOW, zone=LAGOS) == NOW + timedelta(minutes=90)
    for text in ("soon", "", "0h", "25:00", "7"):
        assert parse_when(text, base=NOW, zone=LAGOS) is None, text


def test_one_line_form() -> None:
    """Destination, then a return after the last comma (`back` is optional)."""
    assert parse_one_line("Ikeja market, back 16:30") == ("Ikeja market", "16:30")
    assert parse_one_line("Bank, Allen Avenue, 2h") == ("Bank, Allen Avenue", "2h")
    assert parse_one_line("Ikeja market") == ("Ikeja market", None)


@pytest.mark.parametrize(
    ("leaves", "returns", "msgid"),
    [
        (NOW, NOW - timedelta(minutes=1), "outing.return_past"),
        (NOW + timedelta(hours=3), NOW + timedelta(hours=2), "outing.return_before_departure"),
        (NOW, NOW + timedelta(hours=9), "outing.too_long"),
        (NOW + timedelta(hours=12), NOW + timedelta(hours=15), "outing.overnight"),
    ],
)
def test_each_bad_return_has_its_own_re_ask(
    leaves: datetime, returns: datetime, msgid: str
) -> None:
    """Before the departure, in the past, beyond the longest outing, overnight."""
    with pytest.raises(InvalidInput) as caught:
        check_return(OutingPolicy(), leaves_at=leaves, returns_at=returns, now=NOW, zone=LAGOS)
    assert caught.value.msgid == msgid


def test_night_window() -> None:
    """19:00-06:00 on the station's clock: any overlap makes it a night outing."""
    policy = OutingPolicy()
    day = datetime(2026, 1, 5, tzinfo=LAGOS)
    assert not is_night(
        policy, leaves_at=day.replace(hour=10), returns_at=day.replace(hour=18), zone=LAGOS
    )
    assert is_night(
        policy,
        leaves_at=day.replace(hour=18),
        returns_at=day.replace(hour=19, minute=30),
        zone=LAGOS,
    )
    assert is_night(
        policy, leaves_at=day.replace(hour=5), returns_at=day.replace(hour=7), zone=LAGOS
    )


def test_ladder_starts_with_the_reminder_unless_there_is_none() -> None:
    """The first step: a reminder before the return, or "Are you back?" at it."""
    assert first_step(OutingPolicy(), NOW) == (0, NOW - timedelta(minutes=15))
    assert first_step(OutingPolicy(reminder_before_min=0), NOW) == (1, NOW)


async def test_two_engines_fire_each_step_once(db: str, clock: ManualClock) -> None:
    """Two engines running at every step's instant: each step's messages once, one incident."""
    import asyncio

    from bot.app import build_deadline_handlers
    from bot.deadlines import DeadlineEngine
    from db.enums import Role
    from db.models import Incident, OutboxMessage, Person
    from services.outings import OutingPlan, decide_outing, request_outing
    from tests.auxil.factories import actor_of
    from tests.auxil.stations import lagos_with

    await lagos_with(
        (1, "Amina", Role.STAFF, "en"),
        (2, "Musa", Role.HEAD, "en"),
        (3, "Safia", Role.SAFETY, "en"),
    )
    amina = await actor_of(await Person.get(telegram_id=1))
    outing = await request_outing(
        actor=amina,
        clock=clock,
        plan=OutingPlan(
            destination="Bank", purpose="rent", returns_at=clock.now() + timedelta(hours=1)
        ),
    )
    await decide_outing(
        actor=await actor_of(await Person.get(telegram_id=2)),
        outing_id=outing.id,
        approve=True,
        clock=clock,
    )
    engines = [DeadlineEngine(build_deadline_handlers(), clock=clock) for _ in range(2)]
    for minutes in (45, 60, 75, 105, 135, 200):
        clock.set(NOW + timedelta(minutes=minutes))
        await asyncio.gather(*(engine.run_due() for engine in engines))
    counts = {
        msgid: await OutboxMessage.filter(msgid=msgid).count()
        for msgid in (
            "outing.reminder",
            "outing.are_you_back",
            "outing.overdue_heads",
            "outing.overdue_safety",
            "outing.incident_opened",
        )
    }
    assert counts == {
        "outing.reminder": 1,
        "outing.are_you_back": 1,
        "outing.overdue_heads": 1,
        "outing.overdue_safety": 2,
        "outing.incident_opened": 2,
    }
    assert await Incident.all().count() == 1


async def test_who_is_out_overdue_first_and_only_for_watchers(db: str, clock: ManualClock) -> None:
    """Heads see their station's open outings, overdue first; staff may not look."""
    from db.enums import OutingStatus, Role
    from db.models import Person
    from db.outings import open_outing
    from services.errors import NotAllowed
    from services.outings import who_is_out
    from tests.auxil.factories import actor_of
    from tests.auxil.stations import lagos_with

    station = await lagos_with(
        (1, "Amina", Role.STAFF, "en"), (2, "Bola", Role.STAFF, "en"), (3, "Musa", Role.HEAD, "en")
    )
    amina, bola = await Person.get(telegram_id=1), await Person.get(telegram_id=2)
    for person, minutes in ((amina, 60), (bola, -5)):
        await open_outing(
            person_id=person.id,
            station_id=station.id,
            destination=person.name,
            expected_return_at=NOW + timedelta(minutes=minutes),
            status=OutingStatus.OUT,
            leaves_at=NOW - timedelta(hours=1),
        )
    lines = await who_is_out(actor=await actor_of(await Person.get(telegram_id=3)), clock=clock)
    assert [(line.person.name, line.overdue) for line in lines] == [
        ("Bola", True),
        ("Amina", False),
    ]
    assert lines[0].zone == LAGOS
    with pytest.raises(NotAllowed):
        await who_is_out(actor=await actor_of(amina), clock=clock)


async def test_return_position_only_own_returned_and_fresh(db: str, clock: ManualClock) -> None:
    """Where one came back: refused on someone else's outing, before the return, forwarded,
    too old or dated ahead; kept with its time and distance otherwise, and listed for the head
    (staff may not look)."""
    from db.enums import Role
    from db.models import AuditLog, Outing, Person
    from services.errors import Conflict, NotAllowed
    from services.outings import (
        OutingPlan,
        Returned,
        back_lately,
        come_back,
        decide_outing,
        record_return_position,
        request_outing,
        return_distance,
    )
    from services.people import Actor
    from tests.auxil.factories import actor_of
    from tests.auxil.stations import lagos_with

    await lagos_with(
        (1, "Amina", Role.STAFF, "en"), (2, "Bola", Role.STAFF, "en"), (3, "Musa", Role.HEAD, "en")
    )
    amina, bola, musa = [await actor_of(await Person.get(telegram_id=i)) for i in (1, 2, 3)]
    outing = await request_outing(
        actor=amina,
        clock=clock,
        plan=OutingPlan(
            destination="Bank", purpose="rent", returns_at=clock.now() + timedelta(hours=1)
        ),
    )
    await decide_outing(actor=musa, outing_id=outing.id, approve=True, clock=clock)

    async def record(
        actor: Actor = amina,
        *,
        lat: float = 6.52,
        forwarded: bool = False,
        sent_at: datetime | None = None,
    ) -> Returned:
        return await record_return_position(
            actor=actor,
            outing_id=outing.id,
            lat=lat,
            lon=3.38,
            clock=clock,
            sent_at=sent_at,
            forwarded=forwarded,
        )

    with pytest.raises(Conflict):
        await record()  # not back yet
    returned = await come_back(actor=amina, clock=clock)
    assert returned.distance_m is None
    with pytest.raises(NotAllowed):
        await record(bola)
    for refused in (
        record(forwarded=True),
        record(sent_at=NOW - timedelta(minutes=5)),
        record(sent_at=NOW + timedelta(minutes=5)),
        record(lat=91.0),
    ):
        with pytest.raises(InvalidInput):
            await refused
    await outing.refresh_from_db()
    assert outing.last_lat is None
    clock.advance(timedelta(minutes=2))
    kept = await record(sent_at=NOW + timedelta(minutes=1))
    await outing.refresh_from_db()
    assert (outing.last_lat, outing.last_lon) == (6.52, 3.38)
    assert outing.last_seen_at == NOW + timedelta(minutes=1)
    distance = await return_distance(outing)
    assert distance is not None
    assert kept.distance_m == pytest.approx(distance)
    audit = await AuditLog.get(action="outing.return_position")
    assert audit.data == {"distance_m": round(distance)}
    lines = await back_lately(actor=musa, clock=clock)
    assert [(line.person.name, line.distance_m) for line in lines] == [("Amina", distance)]
    assert await Outing.filter(id=outing.id, open_marker=True).count() == 0
    with pytest.raises(NotAllowed):
        await back_lately(actor=amina, clock=clock)
