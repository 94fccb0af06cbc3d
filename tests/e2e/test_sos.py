"""SOS through the chat: the alarm at once to every responder, one taker, a false alarm called
off, and the tiers on the deadline engine with the e-mail and SMS caught locally."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiosmtpd.controller import Controller

from bot.app import Outpost
from bot.sandbox import SandboxServer
from db.enums import ContactKind, DeliveryStatus, IncidentStatus, Role
from db.models import (
    CheckIn,
    Contact,
    DutyRoster,
    Incident,
    IncidentEvent,
    OutboxMessage,
    Person,
    PersonRole,
    Station,
)
from services.callbacks import IncidentClose, IncidentTake, encode
from services.clock import ManualClock

from .conftest import eventually, outpost_settings

REPORTER, HEAD, DUTY, SAFETY, HQ, BYSTANDER = 5001, 5002, 5003, 5004, 5005, 5006


async def _world(day: date) -> None:
    station = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.43, lon=3.42, timezone="Africa/Lagos"
    )
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
            telegram_id=telegram_id,
            name=name,
            language=language,
            phone=phone,
            station=station if role in (Role.STAFF, Role.HEAD) else None,
        )
        await PersonRole.create(person=person, role=role)
        people[telegram_id] = person
    await DutyRoster.create(station=station, date=day, person=people[DUTY])
    await Contact.create(
        country="NG",
        kind=ContactKind.EMBASSY,
        name="Embassy in Abuja",
        phone="+2349000000001",
        email="consular@embassy.example.org",
        lat=9.05,
        lon=7.49,
    )
    await Contact.create(
        country="NG",
        kind=ContactKind.HOSPITAL,
        name="Reddington Hospital",
        phone="+2341000000002",
        lat=6.44,
        lon=3.43,
    )


def _people(sandbox: SandboxServer) -> dict[int, Any]:
    return {
        telegram_id: sandbox.add_person(telegram_id, name, language)
        for telegram_id, name, language in (
            (REPORTER, "Amina", "en"),
            (HEAD, "Zhang", "zh-hans"),
            (DUTY, "Musa", "en"),
            (SAFETY, "Li", "en"),
            (HQ, "Wang", "en"),
            (BYSTANDER, "Bola", "en"),
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
        "🩺 Medical",
        "⚠️ Security threat",
        "🚗 Accident",
        "🚓 Detained",
        "❔ Other",
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
    coming = await chats[REPORTER].wait_for_message(lambda m: (m.raw_text or "").startswith("✋"))
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    """An aiosmtpd handler keeping what it received."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the recipients and the decoded body."""
        mail = message_from_bytes(envelope.content)
        body = mail.get_payload(decode=True)
        subject = str(make_header(decode_header(mail["Subject"] or "")))
        text = body.decode() if isinstance(body, bytes) else str(mail.get_payload())
        self.received.append((list(envelope.rcpt_tos), f"{subject}\n{text}"))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[str]:
        """The bodies received for `address`."""
        return [body for recipients, body in self.received if address in recipients]


class Gateway:
    """A local SMS gateway keeping what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        """Record and accept."""
        self.sent.append(await request.json())
        return web.json_response({"id": f"gw-{len(self.sent)}"}, status=201)


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A local SMTP server on 127.0.0.1."""
    handler = Mailbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest_asyncio.fixture
async def gateway() -> AsyncIterator[tuple[Gateway, str]]:
    """An SMS gateway served on 127.0.0.1."""
    handler = Gateway()
    app = web.Application()
    app.router.add_post("/{tail:.*}", handler.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield handler, f"http://127.0.0.1:{port}/send"
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture
async def escalating(
    sandbox: SandboxServer,
    database_url: str,
    clock: ManualClock,
    mailbox: tuple[Mailbox, int],
    gateway: tuple[Gateway, str],
) -> AsyncIterator[tuple[Outpost, Mailbox, Gateway]]:
    """Outpost with e-mail and SMS going to the local servers."""
    app = _escalating_outpost(sandbox, database_url, clock, mailbox[1], gateway[1])
    await app.start()
    try:
        yield app, mailbox[0], gateway[0]
    finally:
        await app.stop()


def _escalating_outpost(
    sandbox: SandboxServer, database_url: str, clock: ManualClock, smtp_port: int, sms_url: str
) -> Outpost:
    settings = outpost_settings(
        sandbox,
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        smtp_from="outpost@example.org",
        sms_url=sms_url,
        sos_hq_security_email="security@hq.example.org",
        sos_company_contact="HQ +86-10-1",
    )
    return Outpost(settings, clock=clock, ticking=False)


EMBASSY_MAIL = "consular@embassy.example.org"
EMBASSY_PHONE = "+2349000000001"


async def _settled() -> bool:
    pending = await OutboxMessage.filter(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
    ).count()
    return pending == 0


async def test_tiers_on_time_once_each_across_a_restart(
    escalating: tuple[Outpost, Mailbox, Gateway],
    sandbox: SandboxServer,
    clock: ManualClock,
    database_url: str,
    mailbox: tuple[Mailbox, int],
    gateway: tuple[Gateway, str],
) -> None:
    """Nobody takes it: tier 2 after 3 minutes (HQ, the security mailbox), Outpost restarts,
    tier 3 ten minutes later (the embassy by e-mail and SMS in English and Chinese, HQ asked to
    phone the hotline), each exactly once; a head who blocked the bot is shown unreached."""
    outpost, inbox, sms = escalating
    await _world(clock.now().date())
    chats = _people(sandbox)
    chats[HEAD].block_bot()
    chats[REPORTER].send_command("sos")
    await chats[REPORTER].wait_for_message()
    await chats[HQ].wait_for_message()
    incident = await Incident.get()

    async def head_unreached() -> bool:
        head = await Person.get(telegram_id=HEAD)
        return await IncidentEvent.filter(
            incident_id=incident.id, kind="unreached", actor_id=head.id
        ).exists()

    await eventually(head_unreached)
    sandbox.sandbox.acknowledge("blocked")
    # The head's alarm went on to the head's phone instead.
    await eventually(lambda: _async_true(any(sent["to"] == "+2348010000002" for sent in sms.sent)))

    clock.advance(minutes=2, seconds=59)
    assert outpost.deadlines is not None
    await outpost.deadlines.run_due()
    assert inbox.received == []
    clock.advance(seconds=1)
    await outpost.deadlines.run_due()
    escalated = await chats[HQ].wait_for_message()
    assert (escalated.raw_text or "").startswith("🆘 Nobody has taken the SOS of Amina yet")
    await eventually(lambda: _async_true(len(inbox.to("security@hq.example.org")) == 1))
    assert "SOS not yet taken" in inbox.to("security@hq.example.org")[0]
    assert inbox.to(EMBASSY_MAIL) == []

    # A restart between the tiers: nothing lost, nothing repeated.
    await outpost.stop()
    again = _escalating_outpost(sandbox, database_url, clock, mailbox[1], gateway[1])
    await again.start()
    try:
        clock.advance(minutes=9, seconds=59)
        assert again.deadlines is not None
        await again.deadlines.run_due()
        await eventually(_settled)
        assert inbox.to(EMBASSY_MAIL) == []
        clock.advance(seconds=1)
        await again.deadlines.run_due()
        task = await chats[HQ].wait_for_message()
        assert "+86-10-12308" in (task.raw_text or "")
        await eventually(
            lambda: _async_true(len(_to_embassy(sms)) == len(inbox.to(EMBASSY_MAIL)) == 1)
        )
        clock.advance(hours=1)
        await again.deadlines.run_due()
        await eventually(_settled)
        await _tier3_told_once(incident, inbox, sms, clock)
    finally:
        await again.stop()


async def _tier3_told_once(
    incident: Incident, inbox: Mailbox, sms: Gateway, clock: ManualClock
) -> None:
    (brief,) = inbox.to(EMBASSY_MAIL)
    assert "Who: Amina, phone +2348010000001" in brief
    assert "人员：Amina，电话 +2348010000001" in brief
    assert "Company contact: HQ +86-10-1" in brief
    (text,) = _to_embassy(sms)
    assert "中国公民紧急情况" in text["text"]
    assert len(inbox.to("security@hq.example.org")) == 1
    await incident.refresh_from_db()
    assert incident.embassy_notified_at == clock.now() - timedelta(hours=1)
    told = IncidentEvent.filter(incident_id=incident.id, kind="embassy_notified")
    assert await told.count() == 1


def _to_embassy(sms: Gateway) -> list[dict[str, Any]]:
    return [sent for sent in sms.sent if sent["to"] == EMBASSY_PHONE]


async def _async_true(value: bool) -> bool:
    return value


async def test_detention_goes_straight_to_the_embassy_once(
    escalating: tuple[Outpost, Mailbox, Gateway], sandbox: SandboxServer, clock: ManualClock
) -> None:
    """ "Detained" tells the embassy at once; "Notify embassy" afterwards tells it nothing more."""
    outpost, inbox, sms = escalating
    await _world(clock.now().date())
    chats = _people(sandbox)
    chats[REPORTER].send_text("help")
    await chats[REPORTER].wait_for_message()
    asked = await chats[REPORTER].wait_for_message()
    card = await chats[SAFETY].wait_for_message()
    await chats[REPORTER].press("🚓 Detained", asked).wait_answer()
    await eventually(lambda: _async_true(len(sms.sent) == len(inbox.to(EMBASSY_MAIL)) == 1))
    answer = await chats[SAFETY].press("🏛 Notify embassy", card).wait_answer()
    assert answer.text == "The embassy was already told about this incident."
    clock.advance(minutes=30)
    assert outpost.deadlines is not None
    await outpost.deadlines.run_due()
    await eventually(_settled)
    assert len(sms.sent) == 1
    assert len(inbox.to(EMBASSY_MAIL)) == 1


async def test_messages_position_and_closing_go_on_the_timeline(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """The person's position and words reach the responders, the taker's reply reaches the
    person; safety closes from /incidents with an outcome; a staff member's crafted close is
    refused."""
    await _world(clock.now().date())
    chats = _people(sandbox)
    chats[REPORTER].send_text("🆘 SOS")
    await chats[REPORTER].wait_for_message()
    await chats[REPORTER].wait_for_message()
    card = await chats[DUTY].wait_for_message()
    chats[REPORTER].share_location(6.45, 3.40)
    incident = await Incident.get()

    async def moved() -> bool:
        await incident.refresh_from_db()
        return incident.lat == 6.45

    await eventually(moved)
    await chats[DUTY].press("✋ I'm handling it", card).wait_answer()
    await chats[REPORTER].wait_for_message(lambda m: (m.raw_text or "").startswith("✋"))

    chats[REPORTER].send_text("I am behind the market gate")
    assert (await chats[REPORTER].wait_for_message()).raw_text == "Sent to everyone on this SOS."
    relayed = await chats[DUTY].wait_for_message(lambda m: "💬" in (m.raw_text or ""))
    assert relayed.raw_text == "💬 Amina (SOS): I am behind the market gate"
    chats[DUTY].send_text("Coming, ten minutes")
    back = await chats[REPORTER].wait_for_message(lambda m: "💬" in (m.raw_text or ""))
    assert back.raw_text == "💬 Musa (SOS): Coming, ten minutes"

    chats[BYSTANDER].send_command("help")
    await chats[BYSTANDER].wait_for_message()
    crafted = chats[BYSTANDER].send_crafted_callback(encode(IncidentClose(incident.id, "safe")))
    assert "not allowed" in ((await crafted.wait_answer()).text or "")

    chats[SAFETY].send_command("incidents")
    listing = await chats[SAFETY].wait_for_message(lambda m: "#" in (m.raw_text or ""))
    assert f"#{incident.id} Amina · 🟠 being handled" in (listing.raw_text or "")
    ask = await chats[SAFETY].wait_for_message(lambda m: bool(m.button_texts))
    await chats[SAFETY].press("✅ Close: safe", ask).wait_answer()
    told = await chats[REPORTER].wait_for_message(lambda m: "closed" in (m.raw_text or ""))
    assert told.raw_text == f"✅ Incident {incident.id} closed by Li Safety: safe."
    await incident.refresh_from_db()
    assert (incident.status, incident.closing_note) == (IncidentStatus.CLOSED, "safe")
    kinds = (
        await IncidentEvent.filter(incident_id=incident.id)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert [k for k in kinds if k not in ("alerted", "delivered")] == [
        "opened",
        "position",
        "acknowledged",
        "message",
        "message",
        "closed",
    ]


async def test_sos_by_sms_opens_the_incident_and_forged_ones_are_refused(
    sandbox: SandboxServer,
    database_url: str,
    clock: ManualClock,
    gateway: tuple[Gateway, str],
) -> None:
    """ "SOS" by SMS from Amina's phone opens her incident with her last position and alerts
    tier 1; a wrong secret and an unknown number are refused and open nothing."""
    settings = outpost_settings(
        sandbox, database_url, sms_url=gateway[1], sms_inbound_secret="gw-shared-secret"
    )
    app = Outpost(settings, clock=clock, ticking=False)
    await app.start()
    try:
        await _world(clock.now().date())
        amina = await Person.get(telegram_id=REPORTER)
        await CheckIn.create(
            person=amina,
            station_id=amina.station_id,
            at=clock.now(),
            local_date=clock.now().date(),
            lat=6.4301,
            lon=3.4202,
        )
        clock.advance(minutes=40)
        chats = _people(sandbox)
        url = app.web_url + "/sms/inbound"
        good = {"X-Outpost-Secret": "gw-shared-secret"}
        async with aiohttp.ClientSession() as http:
            async with http.post(
                url,
                json={"from": "+2348010000001", "text": "SOS"},
                headers={"X-Outpost-Secret": "guess"},
            ) as forged:
                assert forged.status == 401
            async with http.post(
                url, json={"from": "+15550000000", "text": "SOS"}, headers=good
            ) as stranger:
                assert stranger.status == 403
            assert not await Incident.exists()
            async with http.post(
                url, data={"From": "+234 801 000 0001", "Body": "sos"}, headers=good
            ) as opened:
                assert opened.status == 200
                assert (await opened.json())["status"] == "opened"
        card = await chats[HQ].wait_for_message()
        assert (card.raw_text or "").startswith("🆘 SOS from Amina")
        assert "📍 6.43010, 3.42020 (40 min ago, " in (card.raw_text or "")
        assert card.button_texts[1] == "🗺 Map"
        incident = await Incident.get()
        assert (incident.lat, incident.lon) == (6.4301, 3.4202)
        opened_event = await IncidentEvent.get(incident_id=incident.id, kind="opened")
        assert opened_event.data["source"] == "sms"
        await eventually(
            lambda: _async_true(any(sent["to"] == "+2348010000001" for sent in gateway[0].sent))
        )
    finally:
        await app.stop()
