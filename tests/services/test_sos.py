"""The incident service as other features call it: overdue outings, kidnapping, racing takers."""

from __future__ import annotations

import asyncio

import pytest

from db.enums import Channel, ContactKind, IncidentKind, IncidentStatus, Role
from db.models import (
    Contact,
    Deadline,
    Incident,
    IncidentEvent,
    OutboxMessage,
    Person,
    PersonRole,
    Station,
)
from services import sos
from services.clock import ManualClock
from services.errors import Conflict, NotAllowed
from services.people import Actor, identify


async def _people() -> dict[str, Person]:
    station = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.43, lon=3.42, timezone="Africa/Lagos"
    )
    await Contact.create(
        country="NG",
        kind=ContactKind.EMBASSY,
        name="Embassy",
        email="consular@embassy.example.org",
        phone="+2349000000001",
    )
    people = {}
    for telegram_id, key, role in (
        (1, "amina", Role.STAFF),
        (2, "head", Role.HEAD),
        (3, "safety", Role.SAFETY),
        (4, "bola", Role.STAFF),
    ):
        person = await Person.create(
            telegram_id=telegram_id,
            name=key.title(),
            station=station if role != Role.SAFETY else None,
        )
        await PersonRole.create(person=person, role=role)
        people[key] = person
    return people


async def _actor(person: Person) -> Actor:
    actor = await identify(person.telegram_id)
    assert actor is not None
    return actor


async def test_an_overdue_outing_opens_one_incident_and_alerts_tier_one(
    db: str, clock: ManualClock
) -> None:
    """open_incident for another kind: deduplicated by its key, tier 1 alerted, tier 2 due."""
    people = await _people()
    first = await sos.open_incident(
        people["amina"],
        IncidentKind.OVERDUE,
        clock=clock,
        idempotency_key="overdue:7",
        outing_id=7,
    )
    again = await sos.open_incident(
        people["amina"],
        IncidentKind.OVERDUE,
        clock=clock,
        idempotency_key="overdue:7",
        outing_id=7,
    )
    assert (first.new, again.new) == (True, False)
    assert again.incident.id == first.incident.id
    cards = await OutboxMessage.filter(msgid=sos.CARD).values_list("recipient_id", flat=True)
    assert sorted(cards) == sorted([people["head"].id, people["safety"].id])
    due = await Deadline.get(kind=sos.TIER_DEADLINE, key=str(first.incident.id))
    assert due.due_at == clock.now() + sos.policy().tier2_after


async def test_kidnapping_tells_the_embassy_at_once_and_only_once(
    db: str, clock: ManualClock
) -> None:
    """Tier 3 at opening; a safety officer's "Notify embassy" afterwards changes nothing."""
    people = await _people()
    raised = await sos.open_incident(people["amina"], IncidentKind.KIDNAPPING, clock=clock)
    embassy = await OutboxMessage.filter(msgid="sos.embassy_brief").values_list(
        "channel", flat=True
    )
    assert sorted(embassy) == [Channel.EMAIL, Channel.SMS]
    safety = await _actor(people["safety"])
    assert not await sos.notify_embassy(actor=safety, incident_id=raised.incident.id, clock=clock)
    assert await OutboxMessage.filter(msgid="sos.embassy_brief").count() == 2
    with pytest.raises(NotAllowed):
        await sos.notify_embassy(
            actor=await _actor(people["bola"]), incident_id=raised.incident.id, clock=clock
        )


async def test_two_responders_pressing_at_once_take_it_once(db: str, clock: ManualClock) -> None:
    """The database lets one taker win; the other is told who; a bystander may not take it."""
    people = await _people()
    raised = await sos.raise_sos(actor=await _actor(people["amina"]), clock=clock)
    head, safety = await _actor(people["head"]), await _actor(people["safety"])
    with pytest.raises(NotAllowed):
        await sos.take(
            actor=await _actor(people["bola"]), incident_id=raised.incident.id, clock=clock
        )
    results = await asyncio.gather(
        sos.take(actor=head, incident_id=raised.incident.id, clock=clock),
        sos.take(actor=safety, incident_id=raised.incident.id, clock=clock),
        return_exceptions=True,
    )
    assert sum(isinstance(result, Incident) for result in results) == 1
    assert sum(isinstance(result, Conflict) for result in results) == 1
    incident = await Incident.get(id=raised.incident.id)
    assert incident.status == IncidentStatus.ACKNOWLEDGED
    assert await OutboxMessage.filter(msgid="sos.coming").count() == 1


async def test_a_message_with_control_characters_is_posted_without_them(
    db: str, clock: ManualClock
) -> None:
    """PostgreSQL refuses NUL in text: a message "\\x00" from the person in danger posts nothing
    and raises nothing; "help\\x00 now" is posted as "help now"."""
    people = await _people()
    actor = await _actor(people["amina"])
    raised = await sos.raise_sos(actor=actor, clock=clock)
    assert await sos.post_message(actor=actor, text="\x00", clock=clock) is not None
    assert not await IncidentEvent.filter(incident_id=raised.incident.id, kind="message").exists()
    await sos.post_message(actor=actor, text="help\x00 now", clock=clock)
    posted = await IncidentEvent.get(incident_id=raised.incident.id, kind="message")
    assert posted.text == "help now"
