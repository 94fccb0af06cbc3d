"""Security alerts through the chat: composed on a phone, reaching exactly the right people,
answered, followed up on time, and refused to staff."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Outpost
from bot.sandbox import ChatMessage, SandboxServer
from bot.sandbox.people import Person as ChatPerson
from db.enums import AlertReply, IncidentKind, OutingStatus, Role
from db.models import (
    Alert,
    AlertAnswer,
    AlertDelivery,
    CheckIn,
    Incident,
    Outing,
    Person,
    PersonRole,
    Station,
)
from db.outings import open_outing
from services.callbacks import AlertPress, encode
from services.clock import ManualClock
from tests.auxil.chat import text_of
from tests.e2e.conftest import eventually

HQ, AMINA, BOLA, CHIDI, HEAD, DAN = 5001, 5002, 5003, 5004, 5005, 5006


async def _world(clock: ManualClock) -> dict[int, Person]:
    """Lagos and Abuja in Nigeria, Nairobi in Kenya; HQ without a station.

    Amina checked in in Lagos; Bola is based in Abuja but on an outing in Lagos; Chidi checked
    in in Nairobi; the Lagos head; Dan in Lagos has no known position.
    """
    los = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.43, lon=3.42, timezone="Africa/Lagos"
    )
    abv = await Station.create(
        code="ABV", name="Abuja", country="NG", lat=9.07, lon=7.49, timezone="Africa/Lagos"
    )
    nbo = await Station.create(
        code="NBO", name="Nairobi", country="KE", lat=-1.29, lon=36.82, timezone="Africa/Nairobi"
    )
    people: dict[int, Person] = {}
    for telegram_id, name, station, role, language in (
        (HQ, "Hui", None, Role.HQ, "en"),
        (AMINA, "Amina", los, Role.STAFF, "en"),
        (BOLA, "Bola", abv, Role.STAFF, "zh-Hans"),
        (CHIDI, "Chidi", nbo, Role.STAFF, "en"),
        (HEAD, "Hadiza", los, Role.HEAD, "en"),
        (DAN, "Dan", los, Role.STAFF, "en"),
    ):
        person = await Person.create(
            telegram_id=telegram_id, name=name, station=station, language=language
        )
        await PersonRole.create(person=person, role=role)
        people[telegram_id] = person
    now = clock.now()
    for telegram_id, station, lat, lon in (
        (AMINA, los, 6.44, 3.41),
        (BOLA, abv, 9.07, 7.49),
        (CHIDI, nbo, -1.29, 36.82),
    ):
        await CheckIn.create(
            person=people[telegram_id],
            station=station,
            at=now,
            local_date=now.date(),
            lat=lat,
            lon=lon,
            first_of_day=True,
        )
    outing, _ = await open_outing(
        person_id=people[BOLA].id,
        destination="Lagos port",
        expected_return_at=now + timedelta(hours=8),
        status=OutingStatus.OUT,
    )
    await Outing.filter(id=outing.id).update(last_lat=6.45, last_lon=3.40)
    return people


async def _compose(
    hq: ChatPerson,
    audience: str,
    pick: str | None,
    expected: int,
    *,
    point: str | None = None,
    radius: str | None = None,
) -> None:
    """Go through /alert with buttons, check the preview's count and send."""
    hq.send_command("alert")
    assert "How serious" in text_of(await hq.wait_for_message())
    hq.press("🟠 Warning")
    await hq.wait_for_message()
    hq.press(audience)
    await hq.wait_for_message()
    if pick is not None:
        hq.press(pick)
        await hq.wait_for_message()
    if point is not None:
        hq.send_text(point)
        assert "How far" in text_of(await hq.wait_for_message())
    if radius is not None:
        hq.press(radius)
        await hq.wait_for_message()
    hq.send_text("Unrest near the port")
    await hq.wait_for_message()
    hq.send_text("Stay indoors until further notice.")
    assert "too" in text_of(await hq.wait_for_message())
    hq.press("Skip ➡️")
    await hq.wait_for_message()
    hq.press("24 h")
    await hq.wait_for_message()
    hq.press("✅ Yes, ask for an answer")
    preview = await hq.wait_for_message()
    assert f"Recipients now: {expected}" in text_of(preview)
    hq.press("📣 Send")
    sent = await hq.wait_for_message(lambda m: "on its way" in (m.raw_text or ""))
    assert f"to {expected} people" in text_of(sent)


async def _recipients(alert: Alert) -> set[int]:
    rows = await AlertDelivery.filter(alert_id=alert.id).prefetch_related("person")
    return {row.person.telegram_id for row in rows}


async def test_audiences_reach_exactly_the_right_people(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """By country, by station and by radius: the preview's count is what is sent, and each
    reaches exactly its people; each reads the alert in their language."""
    await _world(clock)
    hq = sandbox.add_person(HQ, "Hui", "en")
    chats = {
        tid: sandbox.add_person(tid, str(tid), "en") for tid in (AMINA, BOLA, CHIDI, HEAD, DAN)
    }

    await _compose(hq, "🌍 A country", "NG", 4)
    alert = await Alert.get()
    assert await _recipients(alert) == {AMINA, BOLA, HEAD, DAN}
    message = await chats[AMINA].wait_for_message()
    assert text_of(message).startswith("🚨 🟠 Warning: Unrest near the port")
    assert message.button_texts == ["✅ I am safe", "🆘 I need help", "📍 Not in the area"]
    assert text_of(await chats[BOLA].wait_for_message()).startswith("🚨 🟠 警告")

    await _compose(hq, "🏢 A station", "LOS", 3)
    by_station = await Alert.all().order_by("-id").first()
    assert by_station is not None
    assert await _recipients(by_station) == {AMINA, HEAD, DAN}

    # Amina's check-in and Bola's outing are within 5 km of the port; Dan has no position.
    await _compose(hq, "📍 An area", None, 2, point="6.45, 3.40", radius="5 km")
    by_area = await Alert.all().order_by("-id").first()
    assert by_area is not None
    assert by_area.area_radius_m == 5000
    alert = by_area
    assert await _recipients(alert) == {AMINA, BOLA}
    assert chats[CHIDI].messages == []

    # The sender's card is edited as delivery goes on, not a flood of messages.
    heading = f'📣 Alert #{alert.id} "'
    card = next(m for m in reversed(hq.messages) if (m.raw_text or "").startswith(heading))
    assert "2 pending (of 2)" in text_of(card)
    await eventually(lambda: _all_sent(alert.id))
    clock.advance(seconds=5)
    await outpost.deadlines.run_due()  # type: ignore[union-attr]
    await hq.wait_for_edit(card)
    assert "2 sent · 0 not reached · 0 pending (of 2)" in text_of(card)


async def _all_sent(alert_id: int) -> bool:
    return not await AlertDelivery.filter(alert_id=alert_id, delivered_at__isnull=True).exists()


async def test_answers_help_reminders_heads_and_unreached(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """Answers are recorded and changed with their history; "I need help" opens an incident
    and tells HQ; the silent get a reminder, then their head the list; a blocked recipient is
    shown as not reached."""
    people = await _world(clock)
    hq = sandbox.add_person(HQ, "Hui", "en")
    amina = sandbox.add_person(AMINA, "Amina", "en")
    sandbox.add_person(BOLA, "Bola", "zh-hans")
    head = sandbox.add_person(HEAD, "Hadiza", "en")
    dan = sandbox.add_person(DAN, "Dan", "en")
    dan.block_bot()
    sent_at = clock.now()
    await _compose(hq, "🏢 A station", "LOS", 3)
    alert = await Alert.get()

    await amina.wait_for_message(lambda m: "Unrest" in (m.raw_text or ""))
    await (amina.press("✅ I am safe")).wait_answer()
    assert "Recorded: you are safe" in text_of(await amina.wait_for_message())
    clock.advance(minutes=3)
    await (amina.press("🆘 I need help")).wait_answer()
    await amina.wait_for_message(lambda m: "you need help" in (m.raw_text or ""))
    delivery = await AlertDelivery.get(alert_id=alert.id, person=people[AMINA])
    assert delivery.answer == AlertReply.HELP
    history = await AlertAnswer.filter(delivery_id=delivery.id).order_by("id")
    assert [(a.answer, a.answered_at) for a in history] == [
        (AlertReply.SAFE, clock.now() - timedelta(minutes=3)),
        (AlertReply.HELP, clock.now()),
    ]
    incident = await Incident.get(reported_by=people[AMINA])
    assert incident.kind == IncidentKind.SOS
    told = await hq.wait_for_message(lambda m: "I need help" in (m.raw_text or ""))
    assert f"Incident #{incident.id}" in text_of(told)

    # Dan blocked the bot: not reached, and not reminded.
    await eventually(
        lambda: AlertDelivery.filter(person=people[DAN], failed_at__isnull=False).exists()
    )

    head.mark_read()
    clock.set(sent_at + timedelta(minutes=30))
    await outpost.deadlines.run_due()  # type: ignore[union-attr]
    reminder = await head.wait_for_message(lambda m: "Please answer" in (m.raw_text or ""))
    assert reminder.button_texts == ["✅ I am safe", "🆘 I need help", "📍 Not in the area"]
    assert not any("Please answer" in (m.raw_text or "") for m in amina.messages)

    clock.set(sent_at + timedelta(minutes=60))
    await outpost.deadlines.run_due()  # type: ignore[union-attr]
    listed = await head.wait_for_message(lambda m: "have not answered" in (m.raw_text or ""))
    assert text_of(listed).endswith(": Hadiza")

    hq.send_command("alert", f"status {alert.id}")
    # HQ's chat also carries the SOS tiers (nobody took Amina's SOS): the outbox paces the chat
    # on the business clock, so time moves on while the answer waits its turn.
    status = await _while_time_passes(hq, clock, "recipients")
    assert (
        "LOS: 3 recipients · 1 answered · 0 safe · 1 need help · 0 not in the area · "
        "1 no answer · 1 not reached"
    ) in text_of(status)
    assert "No answer: Hadiza" in text_of(status)
    assert "Not reached: Dan" in text_of(status)
    sandbox.sandbox.acknowledge("blocked")


async def _while_time_passes(person: ChatPerson, clock: ManualClock, part: str) -> ChatMessage:
    """The next message to `person` that says `part`, moving the clock on as a real one would."""
    for _ in range(20):
        try:
            return await person.wait_for_message(lambda m: part in (m.raw_text or ""), timeout=1.0)
        except TimeoutError:
            clock.advance(seconds=5)
    raise AssertionError(f"no message saying {part!r}")


async def test_staff_cannot_send_or_answer_for_others(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """A staff member's /alert is refused; a crafted answer to an alert they did not receive
    records nothing."""
    await _world(clock)
    chidi = sandbox.add_person(CHIDI, "Chidi", "en")
    chidi.send_command("alert")
    assert text_of(await chidi.wait_for_message()) == "You are not allowed to do that."
    hq = sandbox.add_person(HQ, "Hui", "en")
    for telegram_id in (AMINA, HEAD, DAN):
        sandbox.add_person(telegram_id, str(telegram_id), "en")
    await _compose(hq, "🏢 A station", "LOS", 3)
    alert = await Alert.get()
    crafted = chidi.send_crafted_callback(encode(AlertPress(alert.id, AlertReply.SAFE)))
    answer = await crafted.wait_answer()
    assert "not allowed" in (answer.text or "").lower()
    assert not await AlertAnswer.exists()
    assert await Alert.all().count() == 1


async def test_security_report_becomes_an_alert(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """Staff report with a shared place; HQ gets it with "Make an alert", which opens the
    composer with the report's text and place; staff cannot press it."""
    await _world(clock)
    hq = sandbox.add_person(HQ, "Hui", "en")
    amina = sandbox.add_person(AMINA, "Amina", "en")
    sandbox.add_person(BOLA, "Bola", "zh-hans")
    amina.send_command("security")
    assert "Security report" in text_of(await amina.wait_for_message())
    amina.send_text("Roadblock with armed men at the port gate")
    assert "photo" in text_of(await amina.wait_for_message())
    amina.press("Skip ➡️")
    assert "Where?" in text_of(await amina.wait_for_message())
    amina.share_location(6.45, 3.40)
    summary = await amina.wait_for_message()
    assert "Place: 6.45000, 3.40000" in text_of(summary)
    assert not await CheckIn.filter(person__telegram_id=AMINA, lat=6.45).exists()
    amina.press("📨 Send report")
    assert "Thank you" in text_of(await amina.wait_for_message())
    report = await hq.wait_for_message(
        lambda m: "Security report from Amina" in (m.raw_text or "")
    )
    assert report.button_texts == ["🚨 Make an alert"]
    assert "Roadblock with armed men" in text_of(report)

    crafted = amina.send_crafted_callback(report_button_data(report))
    assert "not allowed" in ((await crafted.wait_answer()).text or "").lower()

    hq.press("🚨 Make an alert", report)
    await hq.wait_for_message(lambda m: "How serious" in (m.raw_text or ""))
    hq.press("🔴 Critical")
    await hq.wait_for_message()
    hq.press("📍 An area")
    assert "How far" in text_of(await hq.wait_for_message())  # the report's place is kept
    hq.press("5 km")
    title = await hq.wait_for_message()
    assert title.button_texts[0] == "✅ Use: Roadblock with armed men at the port ga…"
    hq.press(title.button_texts[0])
    await hq.wait_for_message()
    hq.press("✅ Use: Roadblock with armed men at the port ga…")
    await hq.wait_for_message()
    hq.press("Skip ➡️")
    await hq.wait_for_message()
    hq.press("6 h")
    await hq.wait_for_message()
    hq.press("No, for information")
    preview = await hq.wait_for_message()
    assert "Recipients now: 2" in text_of(preview)
    assert "🔴 Critical: Roadblock with armed men at the port gate" in text_of(preview)


def report_button_data(message: object) -> str:
    """The callback data of the first inline button of a sandbox message."""
    return str(message.inline_buttons[0]["callback_data"])  # type: ignore[attr-defined]
