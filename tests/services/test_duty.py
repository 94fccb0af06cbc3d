"""The duty roster: kept by a station's head, and offered to exactly those the service serves."""

from __future__ import annotations

from datetime import date
from itertools import combinations

import pytest

from db.enums import RequestStatus, Role
from db.models import DutyRoster, LeaveRequest, OutboxMessage
from services.callbacks import DutyDay
from services.clock import ManualClock
from services.commands import may_run
from services.duty import candidates, clear_duty, leave_on, roster, set_duty
from services.errors import InvalidInput, NotAllowed, NotFound
from tests.auxil.factories import actor_of, make_person, make_station
from tests.auxil.rows import fk_id

ROLE_SETS = [frozenset(c) for n in range(1, 3) for c in combinations(sorted(Role), n)]


async def test_menu_and_service_agree_on_who_keeps_the_roster(db: str, clock: ManualClock) -> None:
    """For every one or two roles a person of a station may hold: /duty is in their menu (and
    its buttons pressable) exactly when the service lets them read the roster."""
    station = await make_station()
    for n, roles in enumerate(ROLE_SETS):
        actor = await actor_of(await make_person(1000 + n, station, *roles))
        try:
            await roster(actor=actor, clock=clock)
            served = True
        except NotAllowed:
            served = False
        assert may_run("duty", roles) == served, sorted(roles)
        assert DutyDay(day=date(2026, 1, 6)).may_press(roles) == served, sorted(roles)


async def test_an_admin_is_not_offered_the_roster(db: str, clock: ManualClock) -> None:
    """Duty is a station matter: an admin is refused by the menu and the service alike; an
    admin who also heads the station keeps it."""
    station = await make_station()
    admin = await actor_of(await make_person(1, station, Role.ADMIN))
    staff = await make_person(2, station)
    assert not may_run("duty", admin.roles)
    with pytest.raises(NotAllowed):
        await set_duty(actor=admin, day=date(2026, 1, 6), person_id=staff.id, clock=clock)
    both = await actor_of(await make_person(3, station, Role.ADMIN, Role.HEAD))
    assert may_run("duty", both.roles)
    entry = await set_duty(actor=both, day=date(2026, 1, 6), person_id=staff.id, clock=clock)
    assert await DutyRoster.get(id=entry.id, person_id=staff.id)


@pytest.mark.parametrize("person_id", [0, 2**31, 2**63, 2**64 + 5])
async def test_ids_out_of_range_are_not_found(db: str, clock: ManualClock, person_id: int) -> None:
    """A forged button naming an id no row can have is NotFound, and the roster is unchanged."""
    station = await make_station()
    head = await actor_of(await make_person(1, station, Role.HEAD))
    with pytest.raises(NotFound):
        await set_duty(actor=head, day=date(2026, 1, 6), person_id=person_id, clock=clock)
    assert not await DutyRoster.exists()


async def test_the_picker_offers_only_the_stations_staff_and_heads(
    db: str, clock: ManualClock
) -> None:
    """HQ and safety officers posted at the station are not station duty, nor can a forged
    button put them on it."""
    station = await make_station()
    head = await actor_of(await make_person(1, station, Role.HEAD))
    staff = await make_person(2, station)
    hq = await make_person(3, station, Role.HQ)
    safety = await make_person(4, station, Role.SAFETY)
    offered = await candidates(actor=head)
    assert [p.id for p in offered] == [head.person.id, staff.id]
    for outsider in (hq, safety):
        with pytest.raises(NotAllowed):
            await set_duty(actor=head, day=date(2026, 1, 6), person_id=outsider.id, clock=clock)
    assert not await DutyRoster.exists()


async def test_reassigning_and_clearing_tell_the_one_removed(db: str, clock: ManualClock) -> None:
    """A changes to B: both are told; clearing the day tells B; putting A on again tells A."""
    station = await make_station()
    head = await actor_of(await make_person(1, station, Role.HEAD))
    a = await make_person(2, station, language="zh-Hans")
    b = await make_person(3, station)
    day = date(2026, 1, 6)
    await set_duty(actor=head, day=day, person_id=a.id, clock=clock)
    await set_duty(actor=head, day=day, person_id=b.id, clock=clock)
    sent = [
        (fk_id(m, "recipient"), m.msgid, m.params["date"])
        for m in await OutboxMessage.all().order_by("id")
    ]
    assert sent == [
        (a.id, "duty.assigned", "2026年1月6日周二"),
        (b.id, "duty.assigned", "Tue, Jan 6, 2026"),
        (a.id, "duty.removed", "2026年1月6日周二"),
    ]
    assert await clear_duty(actor=head, day=day, clock=clock) == b
    assert not await DutyRoster.exists()
    last = await OutboxMessage.all().order_by("-id").first()
    assert last is not None
    assert (fk_id(last, "recipient"), last.msgid) == (b.id, "duty.removed")
    assert await clear_duty(actor=head, day=day, clock=clock) is None
    await set_duty(actor=head, day=day, person_id=a.id, clock=clock)
    assert await OutboxMessage.filter(recipient_id=a.id, msgid="duty.assigned").count() == 2


async def test_someone_on_leave_needs_the_heads_confirmation(db: str, clock: ManualClock) -> None:
    """Approved leave that day: refused unless confirmed; pending leave does not count."""
    station = await make_station()
    head = await actor_of(await make_person(1, station, Role.HEAD))
    away = await make_person(2, station)
    day = date(2026, 1, 7)
    await LeaveRequest.create(
        person=away,
        station=station,
        start_date=date(2026, 1, 6),
        end_date=day,
        reason="x",
        status=RequestStatus.APPROVED,
    )
    assert await leave_on(away.id, day) is not None
    assert await leave_on(away.id, date(2026, 1, 8)) is None
    with pytest.raises(InvalidInput) as refused:
        await set_duty(actor=head, day=day, person_id=away.id, clock=clock)
    assert refused.value.msgid == "duty.on_leave_unconfirmed"
    await set_duty(actor=head, day=day, person_id=away.id, clock=clock, confirmed=True)
    assert await DutyRoster.get(date=day, person_id=away.id)
