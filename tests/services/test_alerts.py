"""Alert rules without Telegram: audiences, languages, who may send and who may answer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db.enums import AlertReply, AlertScope, Role, Severity
from db.models import AlertAnswer, AlertDelivery, CheckIn, Person, PersonRole, Station
from services import alerts
from services.alert_flow import parse_point
from services.clock import ManualClock
from services.errors import InvalidInput, NotAllowed
from services.people import identify


def test_each_reader_gets_the_closest_language() -> None:
    """Own language, else zh-Hans ↔ zh, else English, else the first given."""
    both = {"zh-Hans": {"title": "骚乱"}, "en": {"title": "Unrest"}}
    assert alerts.pick_text(both, "zh-Hans")["title"] == "骚乱"
    assert alerts.pick_text(both, "zh")["title"] == "骚乱"
    assert alerts.pick_text(both, "fr")["title"] == "Unrest"
    assert alerts.pick_text({"zh-Hans": {"title": "骚乱"}}, "en")["title"] == "骚乱"
    assert alerts.pick_text({"zh": {"title": "骚乱"}}, "zh-Hans")["title"] == "骚乱"


def test_typed_points_and_impossible_circles() -> None:
    """ "lat, lon" with a comma (either width) or a space; out-of-range ones refused."""
    assert parse_point("6.45, 3.40") == (6.45, 3.40)
    assert parse_point("-1.29，36.82") == (-1.29, 36.82)
    for text in ("91, 3", "6.4", "port gate"):
        with pytest.raises(InvalidInput):
            parse_point(text)
    with pytest.raises(InvalidInput):
        alerts.Audience(AlertScope.AREA, lat=6.4, lon=3.4, radius_m=0).check()
    with pytest.raises(InvalidInput):
        alerts.Audience(AlertScope.COUNTRY).check()


async def _people(clock: ManualClock) -> dict[str, Person]:
    los = await Station.create(code="LOS", name="Lagos", country="NG", lat=6.43, lon=3.42)
    people = {}
    for telegram_id, name, role in (
        (1, "hq", Role.HQ),
        (2, "staff", Role.STAFF),
        (3, "mover", Role.STAFF),
        (4, "new", Role.STAFF),
    ):
        person = await Person.create(
            telegram_id=telegram_id,
            name=name,
            station=los,
            registration_step="phone" if name == "new" else None,
        )
        await PersonRole.create(person=person, role=role)
        people[name] = person
    now = clock.now()
    # The mover checked in at the station and then shared a live position 40 km away.
    await CheckIn.create(
        person=people["mover"],
        station=los,
        at=now,
        local_date=now.date(),
        lat=6.43,
        lon=3.42,
        last_lat=6.70,
        last_lon=3.60,
        first_of_day=True,
    )
    await CheckIn.create(
        person=people["staff"],
        station=los,
        at=now,
        local_date=now.date(),
        lat=6.43,
        lon=3.42,
        first_of_day=True,
    )
    await CheckIn.create(
        person=people["new"],
        station=los,
        at=now,
        local_date=now.date(),
        lat=6.43,
        lon=3.42,
        first_of_day=True,
    )
    return people


async def test_area_uses_the_live_position_and_skips_people_registering(
    db: str, clock: ManualClock
) -> None:
    """The live position counts over the check-in's; someone still registering is not counted."""
    people = await _people(clock)
    near_station = alerts.Audience(AlertScope.AREA, lat=6.43, lon=3.42, radius_m=2000)
    assert [p.id for p in await alerts.recipients(near_station)] == [people["staff"].id]
    far = alerts.Audience(AlertScope.AREA, lat=6.70, lon=3.60, radius_m=2000)
    assert await alerts.count(far) == 1
    assert await alerts.count(alerts.Audience(AlertScope.COUNTRY, ("ng",))) == 3


def _draft(clock: ManualClock, **extra: object) -> alerts.Draft:
    values: dict[str, object] = {
        "severity": Severity.ADVISORY,
        "audience": alerts.Audience(AlertScope.STATION, ("LOS",)),
        "texts": {"en": {"title": "Unrest", "body": "Stay in."}},
        "expires_at": clock.now() + timedelta(hours=1),
    }
    values.update(extra)
    return alerts.Draft(**values)  # type: ignore[arg-type]


async def test_only_senders_send_and_only_recipients_answer(db: str, clock: ManualClock) -> None:
    """Staff are refused by the database; a role taken away counts at once; an answer from
    someone the alert did not reach, or after it expired, is refused and not recorded."""
    people = await _people(clock)
    staff = await identify(2)
    with pytest.raises(NotAllowed):
        await alerts.send(staff, _draft(clock), clock=clock)
    hq = await identify(1)
    alert = await alerts.send(hq, _draft(clock), clock=clock)
    assert alert.recipient_count == 3
    assert await AlertDelivery.filter(alert_id=alert.id).count() == 3
    await PersonRole.filter(person=people["hq"]).delete()
    with pytest.raises(NotAllowed):
        await alerts.send(hq, _draft(clock), clock=clock)  # the Actor is stale, the table is not

    outsider = await Person.create(telegram_id=9, name="outsider")
    await PersonRole.create(person=outsider, role=Role.STAFF)
    with pytest.raises(NotAllowed):
        await alerts.answer(telegram_id=9, alert_id=alert.id, reply=AlertReply.SAFE, clock=clock)
    await alerts.answer(telegram_id=2, alert_id=alert.id, reply=AlertReply.AWAY, clock=clock)
    clock.advance(hours=2)
    with pytest.raises(InvalidInput):
        await alerts.answer(telegram_id=2, alert_id=alert.id, reply=AlertReply.SAFE, clock=clock)
    assert [a.answer for a in await AlertAnswer.all()] == [AlertReply.AWAY]
