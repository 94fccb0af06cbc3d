"""The duty roster: kept by a station's head, and offered to exactly those the service serves."""

from __future__ import annotations

from datetime import date
from itertools import combinations

import pytest

from db.enums import Role
from db.models import DutyRoster
from services.callbacks import DutyDay
from services.clock import ManualClock
from services.commands import may_run
from services.duty import roster, set_duty
from services.errors import NotAllowed, NotFound
from tests.auxil.factories import actor_of, make_person, make_station

ROLE_SETS = [frozenset(c) for n in range(1, 3) for c in combinations(sorted(Role), n)]


async def test_menu_and_service_agree_on_who_keeps_the_roster(
    db: str, clock: ManualClock
) -> None:
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
async def test_ids_out_of_range_are_not_found(
    db: str, clock: ManualClock, person_id: int
) -> None:
    """A forged button naming an id no row can have is NotFound, and the roster is unchanged."""
    station = await make_station()
    head = await actor_of(await make_person(1, station, Role.HEAD))
    with pytest.raises(NotFound):
        await set_duty(actor=head, day=date(2026, 1, 6), person_id=person_id, clock=clock)
    assert not await DutyRoster.exists()
