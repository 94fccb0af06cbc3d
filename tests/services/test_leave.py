"""Leave: asked by staff, decided by their head once; a head's own leave goes to HQ."""

from __future__ import annotations

from datetime import date

import pytest

from db.enums import Lane, RequestStatus, Role
from db.models import AuditLog, OutboxMessage, Person, PersonRole, Station
from services.clock import ManualClock
from services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from services.leave import decide_leave, my_requests, request_leave, withdraw_leave
from services.people import Actor, identify
from tests.auxil.rows import fk_id


async def _people() -> dict[str, Person]:
    los = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4, timezone="Africa/Lagos"
    )
    acc = await Station.create(
        code="ACC", name="Accra", country="GH", lat=5.6, lon=-0.2, timezone="Africa/Accra"
    )
    people = {}
    for tid, key, station, role in [
        (1, "staff", los, Role.STAFF),
        (2, "head", los, Role.HEAD),
        (3, "other_head", acc, Role.HEAD),
        (4, "hq", None, Role.HQ),
        (5, "colleague", los, Role.STAFF),
    ]:
        person = await Person.create(telegram_id=tid, name=key, station=station)
        await PersonRole.create(person=person, role=role)
        people[key] = person
    return people


async def _actor(person: Person) -> Actor:
    actor = await identify(person.telegram_id)
    assert actor is not None
    return actor


async def test_staff_leave_goes_to_the_head_and_is_decided_once(
    db: str, clock: ManualClock
) -> None:
    """The head gets approve/refuse buttons; a second press finds it decided."""
    people = await _people()
    leave = await request_leave(
        actor=await _actor(people["staff"]),
        start=date(2026, 1, 8),
        end=date(2026, 1, 9),
        reason="family",
        clock=clock,
    )
    ask = await OutboxMessage.get(source_kind="leave", source_id=leave.id)
    assert fk_id(ask, "recipient") == people["head"].id
    assert ask.lane == Lane.APPROVAL
    assert ask.buttons[0][0]["callback_data"] == f"lv1:a:{leave.id}"
    decision = await decide_leave(
        actor=await _actor(people["head"]), leave_id=leave.id, approve=True, clock=clock
    )
    assert decision.leave.status == RequestStatus.APPROVED
    assert fk_id(decision.leave, "decided_by") == people["head"].id
    with pytest.raises(Conflict):
        await decide_leave(
            actor=await _actor(people["head"]), leave_id=leave.id, approve=False, clock=clock
        )
    told = await OutboxMessage.get(msgid="leave.approved")
    assert fk_id(told, "recipient") == people["staff"].id
    assert await AuditLog.filter(action="leave.approved", object_id=leave.id).exists()


@pytest.mark.parametrize("who", ["staff", "colleague", "other_head", "hq"])
async def test_nobody_else_may_decide(db: str, clock: ManualClock, who: str) -> None:
    """The requester, a colleague, another station's head and HQ cannot decide a staff leave."""
    people = await _people()
    leave = await request_leave(
        actor=await _actor(people["staff"]),
        start=date(2026, 1, 8),
        end=date(2026, 1, 8),
        reason="x",
        clock=clock,
    )
    with pytest.raises(NotAllowed):
        await decide_leave(
            actor=await _actor(people[who]), leave_id=leave.id, approve=True, clock=clock
        )


async def test_a_heads_leave_goes_to_hq(db: str, clock: ManualClock) -> None:
    """Only HQ decides a head's leave (HQ people who finished registering)."""
    people = await _people()
    newcomer = await Person.create(telegram_id=6, name="new hq", registration_step="phone")
    await PersonRole.create(person=newcomer, role=Role.HQ)
    leave = await request_leave(
        actor=await _actor(people["head"]),
        start=date(2026, 1, 8),
        end=date(2026, 1, 8),
        reason="rest",
        clock=clock,
    )
    ask = await OutboxMessage.get(source_kind="leave", source_id=leave.id)
    assert fk_id(ask, "recipient") == people["hq"].id
    with pytest.raises(NotAllowed):
        await decide_leave(
            actor=await _actor(people["other_head"]), leave_id=leave.id, approve=True, clock=clock
        )
    decision = await decide_leave(
        actor=await _actor(people["hq"]), leave_id=leave.id, approve=False, clock=clock
    )
    assert decision.leave.status == RequestStatus.REFUSED


@pytest.mark.parametrize(
    ("start", "end", "reason", "msgid"),
    [
        (date(2026, 1, 9), date(2026, 1, 8), "x", "leave.bad_order"),
        (date(2026, 1, 8), date(2026, 6, 8), "x", "leave.too_long"),
        (date(2026, 1, 8), date(2026, 1, 8), "  ", "leave.no_reason"),
        (date(2025, 12, 1), date(2025, 12, 2), "x", "leave.too_old"),
        (date(1, 1, 1), date(1, 1, 2), "x", "leave.too_old"),
        (date(2027, 1, 7), date(2027, 1, 8), "x", "leave.too_far_ahead"),
        (date(9999, 12, 30), date(9999, 12, 31), "x", "leave.too_far_ahead"),
    ],
)
async def test_bad_requests_say_why(
    db: str, clock: ManualClock, start: date, end: date, reason: str, msgid: str
) -> None:
    """Each bad request is refused with its own message."""
    people = await _people()
    with pytest.raises(InvalidInput) as refused:
        await request_leave(
            actor=await _actor(people["staff"]), start=start, end=end, reason=reason, clock=clock
        )
    assert refused.value.msgid == msgid


async def test_overlapping_leave_refused(db: str, clock: ManualClock) -> None:
    """A second request over the same days is refused."""
    people = await _people()
    actor = await _actor(people["staff"])
    await request_leave(
        actor=actor, start=date(2026, 1, 8), end=date(2026, 1, 10), reason="a", clock=clock
    )
    with pytest.raises(InvalidInput) as refused:
        await request_leave(
            actor=actor, start=date(2026, 1, 10), end=date(2026, 1, 12), reason="b", clock=clock
        )
    assert refused.value.msgid == "leave.overlaps"


@pytest.mark.parametrize("leave_id", [0, -1, 2**31, 2**63, 2**64 + 5])
async def test_ids_out_of_range_are_not_found(db: str, clock: ManualClock, leave_id: int) -> None:
    """An id no row can have (from a forged button) is NotFound before any query runs."""
    people = await _people()
    with pytest.raises(NotFound):
        await decide_leave(
            actor=await _actor(people["head"]), leave_id=leave_id, approve=True, clock=clock
        )
    assert not await AuditLog.exists()


async def test_a_leave_a_year_ahead_is_still_taken(db: str, clock: ManualClock) -> None:
    """366 days ahead is the furthest a leave may start (a year, leap day included)."""
    people = await _people()
    leave = await request_leave(
        actor=await _actor(people["staff"]),
        start=date(2027, 1, 6),
        end=date(2027, 1, 6),
        reason="x",
        clock=clock,
    )
    assert leave.status == RequestStatus.PENDING


async def test_own_requests_listed_and_a_pending_one_withdrawn_once(
    db: str, clock: ManualClock
) -> None:
    """Pending first, then recent decided ones; only the requester withdraws, only while
    pending; the head's card is edited as withdrawn."""
    people = await _people()
    staff = await _actor(people["staff"])
    first = await request_leave(
        actor=staff, start=date(2026, 1, 8), end=date(2026, 1, 9), reason="family", clock=clock
    )
    second = await request_leave(
        actor=staff, start=date(2026, 1, 20), end=date(2026, 1, 20), reason="doctor", clock=clock
    )
    await decide_leave(
        actor=await _actor(people["head"]), leave_id=first.id, approve=True, clock=clock
    )
    assert [leave.id for leave in await my_requests(actor=staff, clock=clock)] == [
        second.id,
        first.id,
    ]
    assert await my_requests(actor=await _actor(people["colleague"]), clock=clock) == []

    with pytest.raises(NotAllowed):
        await withdraw_leave(
            actor=await _actor(people["colleague"]), leave_id=second.id, clock=clock
        )
    with pytest.raises(Conflict) as late:
        await withdraw_leave(actor=staff, leave_id=first.id, clock=clock)
    assert late.value.msgid == "leave.withdraw_too_late"
    withdrawn = await withdraw_leave(actor=staff, leave_id=second.id, clock=clock)
    assert withdrawn.status == RequestStatus.CANCELLED
    with pytest.raises(Conflict) as again:
        await withdraw_leave(actor=staff, leave_id=second.id, clock=clock)
    assert again.value.msgid == "leave.withdrawn_already"
    edit = await OutboxMessage.get(
        source_kind="leave", source_id=second.id, msgid="leave.card_withdrawn"
    )
    assert fk_id(edit, "recipient") == people["head"].id
    assert edit.params["by"] == "staff"
    with pytest.raises(Conflict) as decided:
        await decide_leave(
            actor=await _actor(people["head"]), leave_id=second.id, approve=True, clock=clock
        )
    assert decided.value.msgid == "leave.withdrawn_already"
    assert await AuditLog.filter(action="leave.withdrawn", object_id=second.id).exists()


async def test_a_refusal_note_reaches_the_requester(db: str, clock: ManualClock) -> None:
    """The reason is stored and told; one over the limit is refused, never cut."""
    people = await _people()
    leave = await request_leave(
        actor=await _actor(people["staff"]),
        start=date(2026, 1, 8),
        end=date(2026, 1, 8),
        reason="family",
        clock=clock,
    )
    head = await _actor(people["head"])
    with pytest.raises(InvalidInput):
        await decide_leave(
            actor=head, leave_id=leave.id, approve=False, clock=clock, note="x" * 1001
        )
    decision = await decide_leave(
        actor=head, leave_id=leave.id, approve=False, clock=clock, note="  short-staffed \x00 "
    )
    assert decision.leave.decision_note == "short-staffed"
    told = await OutboxMessage.get(recipient_id=people["staff"].id, msgid="leave.refused_because")
    assert told.params["note"] == "short-staffed"
