"""The refusal's conversation: the reason, or none; a leave decided meanwhile ends it."""

from __future__ import annotations

from datetime import date

from db.enums import RequestStatus, Role
from db.models import LeaveRequest, OutboxMessage, Person, PersonRole, Station
from services.clock import ManualClock
from services.conversations import Answer, AnswerKind, TurnKind, start_flow, take_answer
from services.leave import decide_leave, request_leave
from services.leave_flow import REFUSAL_FLOW
from services.people import Actor, identify


async def _actors() -> tuple[Actor, Actor, Actor]:
    station = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4, timezone="Africa/Lagos"
    )
    actors = []
    for tid, role in ((1, Role.STAFF), (2, Role.HEAD), (3, Role.HEAD)):
        person = await Person.create(telegram_id=tid, name=f"P{tid}", station=station)
        await PersonRole.create(person=person, role=role)
        actor = await identify(tid)
        assert actor is not None
        actors.append(actor)
    return actors[0], actors[1], actors[2]


async def _refusing(head: Actor, leave: LeaveRequest, clock: ManualClock) -> None:
    turn = await start_flow(
        REFUSAL_FLOW,
        telegram_id=head.person.telegram_id,
        person=head.person,
        actor=head,
        clock=clock,
        answers={"leave_id": leave.id, "name": "P1"},
    )
    assert turn.prompt is not None
    assert [c.value for row in turn.prompt.choices for c in row] == ["none", "cancel"]


async def test_a_typed_reason_refuses_and_edits_every_card(db: str, clock: ManualClock) -> None:
    """The reason typed is the refusal's note; both heads' cards are edited."""
    staff, head, other = await _actors()
    leave = await request_leave(
        actor=staff, start=date(2026, 1, 8), end=date(2026, 1, 8), reason="family", clock=clock
    )
    await _refusing(head, leave, clock)
    turn = await take_answer(
        2, Answer(AnswerKind.TEXT, text="short-staffed"), actor=head, clock=clock
    )
    assert turn.kind == TurnKind.DONE
    assert turn.text is not None
    assert turn.text.msgid == "leave.refuse.done_because"
    await leave.refresh_from_db()
    assert (leave.status, leave.decision_note) == (RequestStatus.REFUSED, "short-staffed")
    edited = await OutboxMessage.filter(msgid="leave.card_refused_by").values_list(
        "recipient_id", flat=True
    )
    assert sorted(edited) == [head.person.id, other.person.id]


async def test_decided_meanwhile_ends_the_question(db: str, clock: ManualClock) -> None:
    """Another head approved while this one was typing: told so, not asked again."""
    staff, head, other = await _actors()
    leave = await request_leave(
        actor=staff, start=date(2026, 1, 8), end=date(2026, 1, 8), reason="family", clock=clock
    )
    await _refusing(head, leave, clock)
    await decide_leave(actor=other, leave_id=leave.id, approve=True, clock=clock)
    turn = await take_answer(2, Answer(AnswerKind.TEXT, text="no"), actor=head, clock=clock)
    assert turn.kind == TurnKind.DONE
    assert turn.text is not None
    assert turn.text.msgid == "leave.already_decided"
    await leave.refresh_from_db()
    assert leave.status == RequestStatus.APPROVED
