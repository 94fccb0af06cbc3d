"""SOS through the chat: the alarm at once to every responder, one taker, a false alarm called
off, and the tiers on the deadline engine with the e-mail and SMS caught locally."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.app import Outpost
from bot.sandbox import SandboxServer
from db.enums import ContactKind, IncidentStatus, Role
from db.models import (
    Contact,
    DutyRoster,
    Incident,
    IncidentEvent,
    OutboxMessage,
    Person,
    PersonRole,
    Station,
)
from services.callbacks import IncidentTake, encode
from services.clock import ManualClock

REPORTER, HEAD, DUTY, SAFETY, HQ, BYSTANDER = 5001, 5002, 5003, 5004, 5005, 5006


async def _world(day: date) -> None:
    station = await Station.create(code="LOS", name="Lagos", country="NG", lat=6.43, lon=3.42,
                                   timezone="Africa/Lagos")
    people: dict[int, Person] = {}
    for telegram_id, name, role, language, phone in (
        (REPORTER, "Amina", Role.STAFF, "en", "+2348010000001"),
        (HEAD, "张伟", Role.HEAD, "zh-Hans", "+2348010000002"),
        (DUTY, "Musa", Role.STAFF, "en", None),
        (SAFETY, "Li Safety", Role.SAFETY, "en", None),
        (HQ, "HQ Wang", Role.HQ, "en", None),
        (BYSTANDER, "Bola", Role.STAFF, "en", None),
    ):
        person = await Person.create(
            telegram_id=telegram_id, name=name, language=language, phone=phone,
            station=station if role in (Role.STAFF, Role.HEAD) else None,
        )
        await PersonRole.create(person=person, role=role)
        people[telegram_id] = person
    await DutyRoster.create(station=station, date=day, person=people[DUTY])
    await Contact.create(country="NG", kind=ContactKind.EMBASSY, name="Embassy in Abuja",
                         phone="+2349000000001", email="consular@embassy.example.org",
                         lat=9.05, lon=7.49)
    await Contact.create(country="NG", kind=ContactKind.HOSPITAL, name="Reddington Hospital",
                         phone="+2341000000002", lat=6.44, lon=3.43)


def _people(sandbox: SandboxServer) -> dict[int, Any]:
    return {
        telegram_id: sandbox.add_person(telegram_id, name, language)
        for telegram_id, name, language in (
            (REPORTER, "Amina", "en"), (HEAD, "Zhang", "zh-hans"), (DUTY, "Musa", "en"),
            (SAFETY, "Li", "en"), (HQ, "Wang", "en"), (BYSTANDER, "Bola", "en"),
        )
    }


async def test_sos_reaches_every_responder_and_one_takes_it(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """Head (in Chinese), person on duty, safety and HQ get the card at once; the first
    "I'm handling it" wins, the other cards say who, a bystander's crafted press is refused."""
    await _world(clock.now().date())
    chats = _people(sandbox)
    chats[REPORTER].send_text("SOS")
    help_called = await chats[REPORTER].wait_for_message()
    assert (help_called.raw_text or "").startswith("🆘 Help is being called.")
    asked = await chats[REPORTER].wait_for_message()
    assert asked.button_texts == [
        "🩺 Medical", "⚠️ Security threat", "🚗 Accident", "🚓 Detained", "❔ Other",
        "Cancel: false alarm",
    ]
    cards = {}
    for telegram_id in (HEAD, DUTY, SAFETY, HQ):
        cards[telegram_id] = await chats[telegram_id].wait_for_message()
    assert (cards[HEAD].raw_text or "").startswith("🆘 Amina 发出求救\n📞 +2348010000001")
    assert "🏛 Embassy in Abuja +2349000000001" in (cards[DUTY].raw_text or "")
    assert "🏥 Reddington Hospital" in (cards[DUTY].raw_text or "")
    assert cards[DUTY].button_texts == ["✋ I'm handling it"]
    assert cards[SAFETY].button_texts == ["✋ I'm handling it", "🏛 Notify embassy"]
    assert chats[BYSTANDER].messages == []

    # A second SOS (or Telegram redelivering) opens nothing new.
    chats[REPORTER].send_command("sos")
    again = await chats[REPORTER].wait_for_message()
    assert (again.raw_text or "").startswith("🆘 Your SOS is already open")
    incident = await Incident.get()
    assert await Incident.all().count() == 1

    # The person says what happened: every responder hears it.
    await chats[REPORTER].press("🩺 Medical", asked).wait_answer()
    told = await chats[HQ].wait_for_message()
    assert told.raw_text == "🆘 Amina says: 🩺 Medical"

    # A bystander replays the button: refused by the database, nothing taken.
    chats[BYSTANDER].send_command("help")
    await chats[BYSTANDER].wait_for_message()
    crafted = chats[BYSTANDER].send_crafted_callback(encode(IncidentTake(incident.id)))
    assert "not allowed" in ((await crafted.wait_answer()).text or "")
    await incident.refresh_from_db()
    assert incident.acknowledged_at is None

    await chats[DUTY].press("✋ I'm handling it", cards[DUTY]).wait_answer()
    edited = await chats[HEAD].wait_for_edit(cards[HEAD])
    assert (edited.raw_text or "").endswith("✋ Musa 正在处理。")
    assert edited.button_texts == []
    await chats[SAFETY].wait_for_edit(cards[SAFETY])
    coming = await chats[REPORTER].wait_for_message(
        lambda m: (m.raw_text or "").startswith("✋")
    )
    assert (coming.raw_text or "").startswith("✋ Musa is handling")
    # HQ's card lost its button; a press of the old one is told who has it.
    await chats[HQ].wait_until(lambda: cards[HQ].button_texts == [])
    late = chats[HQ].send_crafted_callback(encode(IncidentTake(incident.id)))
    assert "Musa is already handling this." in ((await late.wait_answer()).text or "")
    await incident.refresh_from_db()
    assert incident.status == IncidentStatus.ACKNOWLEDGED
    kinds = await IncidentEvent.filter(incident_id=incident.id).values_list("kind", flat=True)
    assert {"opened", "alerted", "nature", "acknowledged"} <= set(kinds)

    # Taken: the tiers still to come never happen.
    clock.advance(minutes=30)
    assert outpost.deadlines is not None
    await outpost.deadlines.run_due()
    assert not await OutboxMessage.filter(idempotency_key__startswith="incident-t2").exists()


async def test_false_alarm_is_called_off_and_everyone_told(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """Cancel within two minutes: every card says so, every responder is told, no tier 2."""
    await _world(clock.now().date())
    chats = _people(sandbox)
    chats[REPORTER].send_text("救命")
    await chats[REPORTER].wait_for_message()
    asked = await chats[REPORTER].wait_for_message()
    cards = {tid: await chats[tid].wait_for_message() for tid in (HEAD, DUTY, SAFETY, HQ)}
    await chats[REPORTER].press("Cancel: false alarm", asked).wait_answer()
    for telegram_id in (DUTY, SAFETY, HQ):
        note = await chats[telegram_id].wait_for_message()
        assert note.raw_text == "✅ Amina called the SOS off: false alarm. Nothing to do."
        card = cards[telegram_id]
        await chats[telegram_id].wait_until(
            lambda card=card: (card.raw_text or "").endswith("✅ Called off: false alarm.")
        )
    head_note = await chats[HEAD].wait_for_message()
    assert head_note.raw_text == "✅ Amina 已取消求救：误报，无需处理。"
    incident = await Incident.get()
    assert incident.status == IncidentStatus.CLOSED
    assert incident.closing_note == "false alarm"
    clock.advance(minutes=5)
    assert outpost.deadlines is not None
    await outpost.deadlines.run_due()
    assert not await OutboxMessage.filter(idempotency_key__startswith="incident-t2").exists()


async def test_cancel_after_the_window_is_refused(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """After two minutes the false-alarm button no longer closes the incident."""
    await _world(clock.now().date())
    chats = _people(sandbox)
    chats[REPORTER].send_command("sos")
    await chats[REPORTER].wait_for_message()
    asked = await chats[REPORTER].wait_for_message()
    clock.advance(minutes=2, seconds=1)
    answer = await chats[REPORTER].press("Cancel: false alarm", asked).wait_answer()
    assert "too late" in (answer.text or "")
    assert (await Incident.get()).status == IncidentStatus.OPEN
