"""Invitations and registration steps, and the command table."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from db.enums import Role
from db.models import Invite, Person, PersonRole, Station
from services.clock import ManualClock
from services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from services.invites import (
    claim_invite,
    create_invite,
    deep_link,
    finish_with_language,
    parse_duration,
    record_phone,
)
from services.people import Standing, access, identify, require, station_roster


async def _station() -> Station:
    return await Station.create(code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4)


async def test_a_code_opened_twice_at_once_registers_once(db: str, clock: ManualClock) -> None:
    """The claim is a conditional UPDATE: one of two simultaneous claims wins."""
    await _station()
    invite = await create_invite(role=Role.STAFF, station_code="LOS", clock=clock)
    results = await asyncio.gather(
        *(
            claim_invite(
                code=invite.code,
                telegram_id=tid,
                name=f"P{tid}",
                telegram_language="en",
                clock=clock,
            )
            for tid in (1, 2, 3)
        ),
        return_exceptions=True,
    )
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    assert await Person.all().count() == 1
    assert await PersonRole.all().count() == 1


async def test_registration_steps(db: str, clock: ManualClock) -> None:
    """Phone (own only), then language; only then is the person registered."""
    await _station()
    invite = await create_invite(role=Role.STAFF, station_code="LOS", clock=clock)
    await claim_invite(
        code=invite.code, telegram_id=10, name="Bola", telegram_language="zh-CN", clock=clock
    )
    assert (await access(10)).standing == Standing.REGISTERING
    assert await identify(10) is None
    with pytest.raises(Conflict):
        await finish_with_language(telegram_id=10, language="en", clock=clock)
    with pytest.raises(InvalidInput) as caught:
        await record_phone(telegram_id=10, phone_number="+2348000000001", contact_user_id=11)
    assert caught.value.msgid == "registration.not_own_contact"
    await record_phone(telegram_id=10, phone_number="2348031234567", contact_user_id=10)
    done = await finish_with_language(telegram_id=10, language="zh-Hans", clock=clock)
    assert (done.person.phone, done.person.language) == ("+2348031234567", "zh-Hans")
    actor = await identify(10)
    assert actor is not None
    assert actor.roles == {Role.STAFF}
    with pytest.raises(Conflict) as again:
        await claim_invite(
            code="x", telegram_id=10, name="Bola", telegram_language=None, clock=clock
        )
    assert again.value.msgid == "invite.already_registered"


async def test_refusals(db: str, clock: ManualClock) -> None:
    """Unknown, expired and used codes each say why."""
    await _station()
    with pytest.raises(NotFound):
        await claim_invite(
            code="nope", telegram_id=1, name="A", telegram_language=None, clock=clock
        )
    invite = await create_invite(
        role=Role.STAFF, station_code="LOS", expires_in=timedelta(hours=1), clock=clock
    )
    clock.advance(hours=1)
    with pytest.raises(InvalidInput) as expired:
        await claim_invite(
            code=invite.code, telegram_id=1, name="A", telegram_language=None, clock=clock
        )
    assert expired.value.msgid == "invite.expired"
    assert (await Invite.get(id=invite.id)).used_at is None
    with pytest.raises(InvalidInput):
        await create_invite(role=Role.HEAD, station_code=None, clock=clock)


@pytest.mark.parametrize("code", ["a" * 65, "b" * 5000, "abc\u0000def", "a b", "", "   "])
async def test_codes_no_invitation_can_have(db: str, clock: ManualClock, code: str) -> None:
    """Over 64 characters, or characters a deep link cannot carry: unknown, before any query
    (a NUL would stop PostgreSQL); nobody is registered."""
    await _station()
    with pytest.raises(NotFound) as refused:
        await claim_invite(code=code, telegram_id=1, name="A", telegram_language=None, clock=clock)
    assert refused.value.msgid == "invite.unknown"
    assert not await Person.exists()


async def test_a_code_of_64_characters_is_read(db: str, clock: ManualClock) -> None:
    """The longest code a deep link carries is still a code."""
    await _station()
    invite = await create_invite(role=Role.STAFF, station_code="LOS", clock=clock)
    await Invite.filter(id=invite.id).update(code="Z" * 64)
    registration = await claim_invite(
        code="Z" * 64, telegram_id=1, name="A", telegram_language=None, clock=clock
    )
    assert registration.step == "phone"


def test_durations_and_links() -> None:
    """7d, 12h, 30m; links to the bot's /start."""
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("30m") == timedelta(minutes=30)
    with pytest.raises(InvalidInput):
        parse_duration("soon")
    assert deep_link("@bot", "abc") == "https://t.me/bot?start=abc"


async def test_require_and_roster(db: str) -> None:
    """require() raises NotAllowed; a head sees only their own station's roster."""
    los = await _station()
    nbo = await Station.create(code="NBO", name="Nairobi", country="KE", lat=-1.3, lon=36.8)
    head = await Person.create(telegram_id=1, name="Head", station=los)
    await PersonRole.create(person=head, role=Role.HEAD)
    staff = await Person.create(telegram_id=2, name="Staff", station=los)
    await PersonRole.create(person=staff, role=Role.STAFF)
    head_actor, staff_actor = await identify(1), await identify(2)
    assert head_actor is not None
    assert staff_actor is not None
    require(head_actor, Role.HEAD)
    with pytest.raises(NotAllowed):
        require(staff_actor, Role.HEAD, Role.HQ)
    with pytest.raises(NotAllowed):
        require(None, Role.STAFF)
    lines = await station_roster(head_actor, los.id)
    assert [(line.name, line.roles) for line in lines] == [
        ("Head", (Role.HEAD,)),
        ("Staff", (Role.STAFF,)),
    ]
    with pytest.raises(NotAllowed):
        await station_roster(head_actor, nbo.id)
    with pytest.raises(NotAllowed):
        await station_roster(staff_actor, los.id)


async def test_identify_reads_every_role_and_the_station_in_one_go(db: str) -> None:
    """Several roles, none, and a role taken away: each read comes from the database anew."""
    los = await _station()
    both = await Person.create(telegram_id=3, name="Both", station=los)
    for role in (Role.HEAD, Role.SAFETY, Role.HQ):
        await PersonRole.create(person=both, role=role)
    await Person.create(telegram_id=4, name="Nobody")
    actor = await identify(3)
    assert actor is not None
    assert actor.roles == {Role.HEAD, Role.SAFETY, Role.HQ}
    assert actor.person.station is not None
    assert actor.person.station.code == "LOS"
    bare = await identify(4)
    assert bare is not None
    assert (bare.roles, bare.person.station) == (frozenset(), None)
    await PersonRole.filter(person=both, role=Role.HEAD).delete()
    again = await identify(3)
    assert again is not None
    assert again.roles == {Role.SAFETY, Role.HQ}


async def test_the_telegram_name_is_stored_without_bidi_or_control_characters(
    db: str, clock: ManualClock
) -> None:
    """A Telegram name with an override cannot reorder what a head reads."""
    await _station()
    invite = await create_invite(role=Role.STAFF, station_code="LOS", clock=clock)
    await claim_invite(
        code=invite.code,
        telegram_id=12,
        name="\u202eLi Ming\u202c (HQ)\x00",
        telegram_language="en",
        clock=clock,
    )
    person = await Person.get(telegram_id=12)
    assert person.name == "Li Ming (HQ)"
