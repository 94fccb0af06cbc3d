"""Outings through the chat, as on a phone: asked in a few taps, approved in one, refused with a
reason, a question answered, a night outing approved twice, and the overdue ladder moved by the
clock (each step once, across a restart), stopped by "I'm back", and the dead-man timer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from bot.app import Outpost
from bot.sandbox import SandboxServer
from bot.sandbox.people import Person as ChatPerson
from bot.sandbox.world import ChatMessage
from db.enums import IncidentKind, OutingStatus, Role
from db.models import (
    CheckIn,
    Conversation,
    DutyRoster,
    Incident,
    OutboxMessage,
    Outing,
    Person,
    Station,
)
from services.callbacks import OutingMove, OutingNotMe, OutingVerdict, encode
from services.clock import ManualClock
from services.errors import InvalidInput, NotAllowed
from services.outings import (
    OutingPlan,
    come_back,
    decide_outing,
    record_return_position,
    request_outing,
    return_distance,
)
from tests.auxil.factories import actor_of
from tests.auxil.rows import fk_id
from tests.auxil.stations import lagos_with
from tests.e2e.conftest import eventually, outpost_settings

AMINA, ZHANG, BOLA, SAFIA, HANS = 5001, 5002, 5003, 5004, 5005
TEAM = (
    (AMINA, "Amina", Role.STAFF, "en"),
    (ZHANG, "张伟", Role.HEAD, "zh-Hans"),
    (BOLA, "Bola", Role.STAFF, "en"),
    (SAFIA, "Safia", Role.SAFETY, "en"),
    (HANS, "Hans", Role.HQ, "en"),
)


def _text(message: ChatMessage) -> str:
    return message.raw_text or ""


async def _said(person: ChatPerson) -> str:
    return _text(await person.wait_for_message())


async def _team(sandbox: SandboxServer) -> dict[int, ChatPerson]:
    station = await lagos_with(*TEAM)
    bola = await Person.get(telegram_id=BOLA)
    await DutyRoster.create(station=station, date=station_day(), person=bola)
    people = {
        AMINA: ("Amina", "en"),
        ZHANG: ("Zhang", "zh-hans"),
        BOLA: ("Bola", "en"),
        SAFIA: ("Safia", "en"),
        HANS: ("Hans", "en"),
    }
    return {tid: sandbox.add_person(tid, name, lang) for tid, (name, lang) in people.items()}


def station_day() -> object:
    from datetime import date

    return date(2026, 1, 5)


async def _from_outbox(person: ChatPerson, clock: ManualClock) -> ChatMessage:
    """The next message from the outbox, moving the clock a little as a real one would (the
    outbox keeps Telegram's per-chat pace on the business clock)."""
    for _ in range(10):
        try:
            return await person.wait_for_message(timeout=1.0)
        except TimeoutError:
            clock.advance(timedelta(seconds=2))
    raise AssertionError("no message from the outbox")


async def _from_outbox_with(person: ChatPerson, clock: ManualClock, part: str) -> ChatMessage:
    """The next outbox message to `person` that says `part` (earlier ones are passed over)."""
    for _ in range(10):
        message = await _from_outbox(person, clock)
        if part in _text(message):
            return message
    raise AssertionError(f"no message saying {part!r}")


async def _edited(
    person: ChatPerson, message: ChatMessage, clock: ManualClock, edits: int
) -> None:
    """Wait until the outbox edited `message` `edits` times, moving the clock meanwhile."""
    target = edits
    for _ in range(10):
        try:
            await person.wait_for_edit(message, timeout=1.0, edits=target)
            return
        except TimeoutError:
            clock.advance(timedelta(seconds=2))
    raise AssertionError("the message was not edited")


async def _sent(msgid: str) -> int:
    """How many messages with this msgid the outbox holds (each step's messages, once)."""
    return await OutboxMessage.filter(msgid=msgid).count()


async def _ask_with_buttons(amina: ChatPerson) -> None:
    """Amina asks for an outing to Ikeja market with Bola, leaving now, back in 2 hours."""
    amina.send_command("outing")
    assert (await _said(amina)).startswith("🚶 Where are you going?")
    amina.send_text("Ikeja market")
    assert (await _said(amina)) == "Why are you going out?"
    amina.send_text("buy spare parts")
    companions = await amina.wait_for_message()
    assert "Who goes with you?" in _text(companions)
    await amina.press("Bola", companions).wait_answer()
    picked = await amina.wait_for_message()
    await amina.press("Done", picked).wait_answer()
    departure = await amina.wait_for_message()
    assert "When do you leave?" in _text(departure)
    await amina.press("Now", departure).wait_answer()
    returns = await amina.wait_for_message()
    assert _text(returns).startswith("Leaving at 10:00")
    await amina.press("+2 h (12:00)", returns).wait_answer()
    summary = await amina.wait_for_message()
    assert "To: Ikeja market" in _text(summary)
    assert "With: Bola" in _text(summary)
    await amina.press("📨 Send", summary).wait_answer()
    assert "was sent for approval" in (await _said(amina))


async def test_outing_asked_in_taps_and_approved_in_one(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """The head gets the card in Chinese; the requester's and a colleague's crafted presses are
    refused; one tap approves; requester and companion are told; the out and back buttons work;
    /outings lists who is out."""
    chat = await _team(sandbox)
    amina, zhang, bola = chat[AMINA], chat[ZHANG], chat[BOLA]
    await _ask_with_buttons(amina)
    card = await _from_outbox(zhang, clock)
    assert _text(card).startswith("🚶 Amina 申请外出：Ikeja market")
    assert card.button_texts == ["✅ 批准", "❌ 不批准", "❓ 提问"]
    outing = await Outing.get()
    assert outing.status == OutingStatus.PENDING
    assert outing.companions == "Bola"

    bola.send_command("help")
    await bola.wait_for_message()
    for crafter in (amina, bola):
        crafted = crafter.send_crafted_callback(encode(OutingVerdict(outing.id, "a")))
        assert "not allowed" in ((await crafted.wait_answer()).text or "")
    await outing.refresh_from_db()
    assert outing.status == OutingStatus.PENDING

    await zhang.press("✅ 批准", card).wait_answer()
    await zhang.wait_for_edit(card)
    assert _text(card).endswith("✅ 您已批准。")
    approved = await _from_outbox(amina, clock)
    assert "was approved by 张伟" in _text(approved)
    assert approved.button_texts == ["🚶 I'm leaving now", "🏠 I'm back"]
    told = await _from_outbox(bola, clock)
    assert "going out to Ikeja market with you" in _text(told)

    await amina.press("🚶 I'm leaving now", approved).wait_answer()
    assert (await _said(amina)).startswith("🚶 Have a safe outing.")
    await outing.refresh_from_db()
    assert outing.status == OutingStatus.OUT

    zhang.send_command("outings")
    listing = await _said(zhang)
    assert "Amina — Ikeja market" in listing

    # Bola is not going after all: off the outing; Amina and the head are told.
    await bola.press("🙅 Not me", told).wait_answer()
    assert "不与 Amina 同去Ikeja market" in _text(await _from_outbox_with(zhang, clock, "不与"))
    assert "Bola is not going" in _text(await _from_outbox_with(amina, clock, "not going"))
    await outing.refresh_from_db()
    assert outing.companions == ""
    again = bola.send_crafted_callback(encode(OutingNotMe(outing.id)), told)
    assert "not allowed" in ((await again.wait_answer()).text or "")

    await amina.press("🏠 I'm back", approved).wait_answer()
    await amina.wait_for_edit(approved)
    assert _text(approved).endswith("Your outing is closed.")
    # The card is edited while the press is handled, a moment before its transaction commits.
    await eventually(_status_is(outing.id, OutingStatus.RETURNED))


def _status_is(outing_id: int, status: OutingStatus) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await Outing.get(id=outing_id)).status == status

    return check


async def test_refused_with_a_reason(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """Refuse asks the head for a reason (a short flow); the requester reads it."""
    chat = await _team(sandbox)
    amina, zhang = chat[AMINA], chat[ZHANG]
    await _ask_with_buttons(amina)
    card = await _from_outbox(zhang, clock)
    await zhang.press("❌ 不批准", card).wait_answer()
    assert "原因" in _text(await zhang.wait_for_message())
    zhang.send_text("今天太危险")
    assert _text(await zhang.wait_for_message()).startswith("❌ 你未批准该外出")
    refused = await _from_outbox(amina, clock)
    assert _text(refused) == (
        "❌ Your outing to Ikeja market was refused by 张伟.\nReason: 今天太危险"
    )
    await _edited(zhang, card, clock, edits=1)
    assert _text(card).endswith("❌ 张伟 未批准。")
    assert card.button_texts == []
    outing = await Outing.get()
    assert (outing.status, outing.decision_note, outing.open_marker) == (
        OutingStatus.REFUSED,
        "今天太危险",
        None,
    )
    # A press on the card after the decision changes nothing.
    late = zhang.send_crafted_callback(encode(OutingVerdict(outing.id, "a")), card)
    assert "已有审批结果" in ((await late.wait_answer()).text or "")
    await outing.refresh_from_db()
    assert outing.status == OutingStatus.REFUSED


async def test_a_question_answered_then_approved(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """Ask relays the head's question; the requester's answer comes back with the buttons."""
    chat = await _team(sandbox)
    amina, zhang = chat[AMINA], chat[ZHANG]
    await _ask_with_buttons(amina)
    card = await _from_outbox(zhang, clock)
    await zhang.press("❓ 提问", card).wait_answer()
    await zhang.wait_for_message()
    zhang.send_text("哪个门？")
    assert "问题已发送" in _text(await zhang.wait_for_message())
    question = await _from_outbox(amina, clock)
    assert _text(question) == "❓ 张伟 asks about your outing to Ikeja market:\n哪个门？"
    await amina.press("✍️ Answer", question).wait_answer()
    assert (await _said(amina)).startswith("Type your answer")
    amina.send_text("The north gate")
    assert (await _said(amina)) == "✍️ Your answer was sent."
    answer = await _from_outbox(zhang, clock)
    assert "The north gate" in _text(answer)
    await zhang.press("✅ 批准", answer).wait_answer()
    assert "was approved by 张伟" in _text(await _from_outbox(amina, clock))
    assert (await Outing.get()).status == OutingStatus.APPROVED


async def test_a_night_outing_needs_safety_or_hq_too(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """At 19:30 in Lagos the one-line form asks only what is missing; the head's approval is
    the first of two; safety approves; HQ's card then says who did."""
    chat = await _team(sandbox)
    amina, zhang, safia, hans = chat[AMINA], chat[ZHANG], chat[SAFIA], chat[HANS]
    clock.set(clock.now().replace(hour=18, minute=30))
    amina.send_command("outing", "Ikeja market, 1h")
    assert (await _said(amina)) == "Why are you going out?"
    amina.send_text("collect a parcel")
    companions = await amina.wait_for_message()
    await amina.press("Alone", companions).wait_answer()
    summary = await amina.wait_for_message()
    assert _text(summary).startswith("🌙 Your night outing:")
    await amina.press("📨 Send", summary).wait_answer()
    assert "night outing" in (await _said(amina))
    outing = await Outing.get()
    assert outing.is_night

    card = await _from_outbox(zhang, clock)
    await zhang.press("✅ 批准", card).wait_answer()
    await zhang.wait_for_edit(card)
    assert "安全员或总部" in _text(card)
    assert "safety or HQ approve it too" in _text(await _from_outbox(amina, clock))
    await outing.refresh_from_db()
    assert outing.status == OutingStatus.PENDING
    # The head cannot give the second approval too.
    again = zhang.send_crafted_callback(encode(OutingVerdict(outing.id, "a")), card)
    assert "没有权限" in ((await again.wait_answer()).text or "")

    second = await _from_outbox(safia, clock)
    assert _text(second).startswith("🌙 Night outing, approved by the head")
    hans_card = await _from_outbox(hans, clock)
    await safia.press("✅ Approve", second).wait_answer()
    assert "was approved by Safia" in _text(await _from_outbox(amina, clock))
    await _edited(hans, hans_card, clock, edits=1)
    assert _text(hans_card).endswith("✅ Approved by Safia.")
    assert hans_card.button_texts == []
    await outing.refresh_from_db()
    assert outing.status == OutingStatus.APPROVED


async def test_return_re_asked_with_the_reason(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """A one-line return in the past is asked again; typed returns in the past or beyond the
    longest outing are refused with why; a duration is taken."""
    chat = await _team(sandbox)
    amina = chat[AMINA]
    amina.send_command("outing", "Ikeja market, back 9:30")
    assert (await _said(amina)) == "Why are you going out?"
    amina.send_text("bank")
    await amina.press("Alone", await amina.wait_for_message()).wait_answer()
    assert (await _said(amina)).startswith("Leaving at 10:00")
    amina.send_text("09:30")
    assert (await _said(amina)).startswith("That return time has already passed")
    await amina.wait_for_message()
    amina.send_text("20:00")
    assert (await _said(amina)).startswith("An outing lasts at most 8 hours")
    await amina.wait_for_message()
    amina.send_text("soon")
    assert (await _said(amina)).startswith("I could not read that time")
    await amina.wait_for_message()
    amina.send_text("90m")
    assert "back by 11:30" in (await _said(amina))


async def _approved_outing(clock: ManualClock, *, hours: int = 1) -> Outing:
    """Amina's outing, asked and approved through the services (the ladder is the subject)."""
    amina = await actor_of(await Person.get(telegram_id=AMINA))
    zhang = await actor_of(await Person.get(telegram_id=ZHANG))
    outing = await request_outing(
        actor=amina,
        clock=clock,
        plan=OutingPlan(
            destination="Ikeja market",
            purpose="bank",
            returns_at=clock.now() + timedelta(hours=hours),
        ),
    )
    await decide_outing(actor=zhang, outing_id=outing.id, approve=True, clock=clock)
    await outing.refresh_from_db()
    return outing


def _at(clock: ManualClock, hour: int, minute: int = 0) -> None:
    clock.set(clock.now().replace(hour=hour, minute=minute, second=0))


async def _restart(
    app: Outpost, sandbox: SandboxServer, database_url: str, clock: ManualClock
) -> Outpost:
    """Stop this Outpost and start a new one on the same database."""
    await app.stop()
    fresh = Outpost(outpost_settings(sandbox, database_url), clock=clock, ticking=False)
    await fresh.start()
    return fresh


async def test_each_overdue_step_once_at_its_time_across_restarts(
    sandbox: SandboxServer, database_url: str, clock: ManualClock
) -> None:
    """Due back 10:00 UTC: reminder 09:45, "Are you back?" 10:00, head and duty 10:15, safety
    and HQ 10:45, an incident 11:15; each once, with Outpost restarted between steps."""
    app = Outpost(outpost_settings(sandbox, database_url), clock=clock, ticking=False)
    await app.start()
    try:
        chat = await _team(sandbox)
        amina, zhang, bola, safia = chat[AMINA], chat[ZHANG], chat[BOLA], chat[SAFIA]
        await _approved_outing(clock)
        await _from_outbox(amina, clock)  # approved
        assert app.deadlines is not None
        _at(clock, 9, 44)
        await app.deadlines.run_due()
        assert await _sent("outing.reminder") == 0

        _at(clock, 9, 45)
        await app.deadlines.run_due()
        reminder = await _from_outbox(amina, clock)
        assert _text(reminder).startswith("⏰ You are due back from Ikeja market at 11:00")
        await app.deadlines.run_due()
        app = await _restart(app, sandbox, database_url, clock)
        assert app.deadlines is not None
        assert await _sent("outing.reminder") == 1

        _at(clock, 10, 0)
        await app.deadlines.run_due()
        ask = await _from_outbox(amina, clock)
        assert _text(ask).endswith("Are you back?")
        assert ask.button_texts == ["🏠 I'm back", "⏳ I'm safe, need more time", "🆘 I need help"]
        _at(clock, 10, 14)
        await app.deadlines.run_due()
        assert await _sent("outing.overdue_heads") == 0

        _at(clock, 10, 15)
        await app.deadlines.run_due()
        assert "逾期未归" in _text(await _from_outbox_with(zhang, clock, "逾期"))
        assert "is overdue from Ikeja market" in _text(await _from_outbox(bola, clock))
        app = await _restart(app, sandbox, database_url, clock)
        assert app.deadlines is not None
        await app.deadlines.run_due()
        assert await _sent("outing.overdue_heads") == 2

        _at(clock, 10, 45)
        await app.deadlines.run_due()
        assert "still overdue" in _text(await _from_outbox(safia, clock))
        assert await _sent("outing.overdue_safety") == 4  # head, duty, safety, HQ
        assert not await Incident.exists()

        _at(clock, 11, 15)
        await app.deadlines.run_due()
        await app.deadlines.run_due()
        incident = await Incident.get()
        assert (incident.kind, fk_id(incident, "reported_by")) == (
            IncidentKind.OVERDUE,
            (await Person.get(telegram_id=AMINA)).id,
        )
        # The incident's card (from the SOS service) and the outing's own notice.
        card = await _from_outbox_with(safia, clock, "Overdue from an outing")
        assert "I'm handling it" in str(card.button_texts)
        assert "Incident opened" in _text(await _from_outbox_with(safia, clock, "Incident"))
        _at(clock, 13, 0)
        await app.deadlines.run_due()
        for msgid, count in (
            ("outing.reminder", 1),
            ("outing.are_you_back", 1),
            ("outing.overdue_heads", 2),
            ("outing.overdue_safety", 4),
            ("outing.incident_opened", 4),
        ):
            assert await _sent(msgid) == count, msgid
        assert await Incident.all().count() == 1
    finally:
        await app.stop()


LADDER = (
    (9, 45, "outing.reminder"),
    (10, 0, "outing.are_you_back"),
    (10, 15, "outing.overdue_heads"),
    (10, 45, "outing.overdue_safety"),
)


@pytest.mark.parametrize("steps", [1, 2, 3, 4])
async def test_back_stops_the_ladder_at_each_step(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock, steps: int
) -> None:
    """After 1 to 4 steps, /back closes the outing, nothing more fires, and whoever was
    alerted hears that Amina is back."""
    chat = await _team(sandbox)
    amina, zhang = chat[AMINA], chat[ZHANG]
    outing = await _approved_outing(clock)
    await _from_outbox(amina, clock)
    assert outpost.deadlines is not None
    for hour, minute, _ in LADDER[:steps]:
        _at(clock, hour, minute)
        await outpost.deadlines.run_due()
    amina.send_command("back")
    await _from_outbox_with(amina, clock, "Welcome back")
    await outing.refresh_from_db()
    assert outing.status == OutingStatus.RETURNED
    _at(clock, 13, 0)
    await outpost.deadlines.run_due()
    for _, _, msgid in LADDER[steps:]:
        assert await _sent(msgid) == 0, msgid
    assert not await Incident.exists()
    told = await _sent("outing.back_told")
    assert told == {1: 0, 2: 0, 3: 2, 4: 4}[steps]
    if told:
        back = await _from_outbox_with(zhang, clock, "已从")
        assert _text(back).startswith("🏠 Amina 已从Ikeja market返回")


async def test_a_missed_dead_man_tap_alerts_the_head(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """In a high-risk country with a 30-minute timer: a tap on I'm OK resets it; a missed one
    alerts the head and the person on duty long before the promised return."""
    chat = await _team(sandbox)
    amina, zhang = chat[AMINA], chat[ZHANG]
    await Station.filter(code="LOS").update(
        outing_policy={"high_risk_country": True, "dead_man_min": 30}
    )
    outing = await _approved_outing(clock, hours=4)
    assert outing.is_high_risk
    approved = await _from_outbox(amina, clock)
    await amina.press("🚶 I'm leaving now", approved).wait_answer()
    await amina.wait_for_message()
    assert outpost.deadlines is not None

    _at(clock, 9, 31)  # 30 minutes after leaving (the clock moved a few seconds meanwhile)
    await outpost.deadlines.run_due()
    first = await _from_outbox(amina, clock)
    assert _text(first).startswith("👋 Are you OK?")
    await amina.press("👍 I'm OK", first).wait_answer()
    await amina.wait_for_edit(first)
    _at(clock, 9, 45)
    await outpost.deadlines.run_due()  # the reply window of the first ask: tapped in time
    assert await _sent("outing.overdue_heads") == 0

    _at(clock, 10, 2)
    await outpost.deadlines.run_due()
    second = await _from_outbox(amina, clock)
    assert _text(second).startswith("👋 Are you OK?")
    _at(clock, 10, 13)
    await outpost.deadlines.run_due()
    await outpost.deadlines.run_due()
    assert "逾期未归" in _text(await _from_outbox_with(zhang, clock, "逾期"))
    assert await _sent("outing.overdue_heads") == 2


async def test_late_moves_the_ladder_and_tells_the_head(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """`/late 11:30 traffic` after "Are you back?": the head reads it, and the next steps count
    from the new return (no alert at 10:15, the reminder again at 11:15)."""
    chat = await _team(sandbox)
    amina, zhang = chat[AMINA], chat[ZHANG]
    await _approved_outing(clock)
    await _from_outbox(amina, clock)
    assert outpost.deadlines is not None
    for hour, minute in ((9, 45), (10, 0)):
        _at(clock, hour, minute)
        await outpost.deadlines.run_due()
    amina.send_command("late", "11:30 traffic on Third Mainland")
    noted = await _from_outbox_with(amina, clock, "Noted")
    assert _text(noted).startswith("⏳ Noted: back by 11:30")
    told = await _from_outbox_with(zhang, clock, "推迟")
    assert "原因：traffic on Third Mainland" in _text(told)
    _at(clock, 10, 20)
    await outpost.deadlines.run_due()
    assert await _sent("outing.overdue_heads") == 0
    _at(clock, 11, 15)
    await outpost.deadlines.run_due()
    assert await _sent("outing.reminder") == 2
    outing = await Outing.get()
    assert outing.late_reports == 1


async def test_late_without_arguments_asks_with_buttons(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """`/late` alone: +30 min / +1 h buttons, then the reason."""
    chat = await _team(sandbox)
    amina = chat[AMINA]
    await _approved_outing(clock)
    await _from_outbox(amina, clock)
    amina.send_command("late")
    ask = await amina.wait_for_message()
    assert ask.button_texts == ["+30 min", "+1 h", "✖️ Cancel"]
    await amina.press("+1 h", ask).wait_answer()
    assert (await _said(amina)).startswith("Why are you late?")
    amina.send_text("meeting ran over")
    assert (await _said(amina)).startswith("⏳ Noted: back by 11:00")


async def test_i_need_help_alerts_everyone_and_opens_an_incident(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """The help button on "Are you back?": heads, duty, safety and HQ at once, an incident."""
    chat = await _team(sandbox)
    amina, safia = chat[AMINA], chat[SAFIA]
    await _approved_outing(clock)
    await _from_outbox(amina, clock)
    assert outpost.deadlines is not None
    for hour, minute in ((9, 45), (10, 0)):
        _at(clock, hour, minute)
        await outpost.deadlines.run_due()
    ask = await _from_outbox_with(amina, clock, "Are you back?")
    await amina.press("🆘 I need help", ask).wait_answer()
    assert "asks for help" in _text(await _from_outbox_with(safia, clock, "help"))
    assert await _sent("outing.help_alert") == 4
    # "I need help" is an SOS: its responders are alerted and its tiers escalate.
    assert (await Incident.get()).kind == IncidentKind.SOS
    _at(clock, 12, 0)
    await outpost.deadlines.run_due()
    assert await _sent("outing.overdue_heads") == 0


async def test_the_person_on_duty_decides_when_the_head_is_on_leave(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """The head is on approved leave today: Bola (on duty, staff) gets the card and approves."""
    from db.enums import RequestStatus
    from db.models import LeaveRequest

    chat = await _team(sandbox)
    amina, zhang, bola = chat[AMINA], chat[ZHANG], chat[BOLA]
    head = await Person.get(telegram_id=ZHANG)
    await LeaveRequest.create(
        person=head,
        station_id=head.station_id,
        reason="home",
        start_date=station_day(),
        end_date=station_day(),
        status=RequestStatus.APPROVED,
    )
    amina.send_command("outing", "Bank, 1h")
    assert (await _said(amina)) == "Why are you going out?"
    amina.send_text("pay the rent")
    await amina.press("Alone", await amina.wait_for_message()).wait_answer()
    await amina.press("📨 Send", await amina.wait_for_message()).wait_answer()
    await amina.wait_for_message()
    card = await _from_outbox_with(bola, clock, "asks to go out")
    await bola.press("✅ Approve", card).wait_answer()
    assert "approved by Bola" in _text(await _from_outbox_with(amina, clock, "approved"))
    assert not [m for m in zhang.messages if "申请外出" in _text(m)]


async def test_a_shared_location_is_the_destination(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """At the first question a location answers it (not a check-in); its point is kept and a
    high-risk area marks the outing."""
    chat = await _team(sandbox)
    amina = chat[AMINA]
    await Station.filter(code="LOS").update(
        outing_policy={
            "high_risk_areas": [{"name": "Makoko", "lat": 6.49, "lon": 3.39, "radius_m": 1500}]
        }
    )
    amina.send_command("outing")
    await amina.wait_for_message()
    amina.share_location(6.495, 3.392)
    assert (await _said(amina)) == "Why are you going out?"
    amina.send_text("visit a supplier")
    await amina.press("Alone", await amina.wait_for_message()).wait_answer()
    await amina.press("Now", await amina.wait_for_message()).wait_answer()
    await amina.press("+1 h (11:00)", await amina.wait_for_message()).wait_answer()
    await amina.press("📨 Send", await amina.wait_for_message()).wait_answer()
    await amina.wait_for_message()
    outing = await Outing.get()
    assert (outing.dest_lat, outing.dest_lon, outing.is_high_risk) == (6.495, 3.392, True)
    assert not await CheckIn.exists()


async def test_a_live_location_is_the_last_position_and_the_distance_back(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """Shared live while out: /outings links to its last point; /back records how far from the
    station it was."""
    chat = await _team(sandbox)
    amina, zhang = chat[AMINA], chat[ZHANG]
    outing = await _approved_outing(clock, hours=2)
    approved = await _from_outbox(amina, clock)
    await amina.press("🚶 I'm leaving now", approved).wait_answer()
    await amina.wait_for_message()
    live = amina.share_live_location(6.43, 3.42)
    await amina.wait_for_message()  # the check-in it also is
    live.move(6.52, 3.38)

    async def moved() -> bool:
        await outing.refresh_from_db()
        return outing.last_lat == 6.52

    await eventually(moved)
    zhang.send_command("outings")
    listing = await zhang.wait_for_message(lambda m: "当前外出" in _text(m))
    assert "https://www.openstreetmap.org/?mlat=6.52000&mlon=3.38000" in _text(listing)
    amina.send_command("back")
    back = await amina.wait_for_message(lambda m: "Welcome back" in _text(m))
    assert _text(back).endswith("You are 10.9 km from the station.")


async def test_safe_but_needing_more_time(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """ "I'm safe, need more time" at "Are you back?": half an hour more, the head is told, no
    alert at 10:15, the ladder again from 10:30."""
    chat = await _team(sandbox)
    amina, zhang = chat[AMINA], chat[ZHANG]
    await _approved_outing(clock)
    await _from_outbox(amina, clock)
    assert outpost.deadlines is not None
    for hour, minute in ((9, 45), (10, 0)):
        _at(clock, hour, minute)
        await outpost.deadlines.run_due()
    ask = await _from_outbox_with(amina, clock, "Are you back?")
    await amina.press("⏳ I'm safe, need more time", ask).wait_answer()
    assert "back by 11:30" in _text(await _from_outbox_with(amina, clock, "Noted"))
    assert "很安全" in _text(await _from_outbox_with(zhang, clock, "很安全"))
    _at(clock, 10, 16)
    await outpost.deadlines.run_due()
    assert await _sent("outing.overdue_heads") == 0
    _at(clock, 10, 31)  # half an hour after the press (the clock moved a few seconds since)
    await outpost.deadlines.run_due()
    assert await _sent("outing.are_you_back") == 2


async def _back_and_asked(amina: ChatPerson, clock: ManualClock) -> None:
    """/back closes at once; then the question of where, with the location and Skip buttons."""
    amina.send_command("back")
    await _from_outbox_with(amina, clock, "🏠 Welcome back. Your outing is closed.")
    await _from_outbox_with(amina, clock, "Where are you now?")
    assert [
        (b["text"], b.get("request_location", False)) for b in amina.reply_keyboard_buttons()
    ] == [("📍 Share where I am", True), ("Skip", False)]


def _checkin_keyboard_back(amina: ChatPerson) -> bool:
    return [b["text"] for b in amina.reply_keyboard_buttons()] == ["📍 Check in", "🆘 SOS"]


async def test_back_then_where_records_the_distance(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """With the head alerted, /back closes the outing at once (the head told once); a forwarded
    location is refused with the reason; her own location then records the position, its time
    and the distance, with no check-in and no second message to the head; the check-in
    keyboard comes back."""
    chat = await _team(sandbox)
    amina, zhang = chat[AMINA], chat[ZHANG]
    outing = await _approved_outing(clock)
    await _from_outbox(amina, clock)
    assert outpost.deadlines is not None
    for hour, minute, _ in LADDER[:3]:
        _at(clock, hour, minute)
        await outpost.deadlines.run_due()
    await _back_and_asked(amina, clock)
    await outing.refresh_from_db()
    assert outing.status == OutingStatus.RETURNED  # closed before any answer
    assert await _sent("outing.back_told") == 2

    amina.share_location(6.52, 3.38, forwarded_from=zhang)
    await _from_outbox_with(amina, clock, "A forwarded location does not say where you are")
    await _from_outbox_with(amina, clock, "Where are you now?")
    await outing.refresh_from_db()
    assert outing.last_lat is None

    amina.share_location(6.52, 3.38)
    await _from_outbox_with(amina, clock, "📍 Noted: you are 10.9 km from the station.")
    assert _checkin_keyboard_back(amina)
    await outing.refresh_from_db()
    assert (outing.last_lat, outing.last_lon) == (6.52, 3.38)
    assert outing.last_seen_at is not None
    assert abs((outing.last_seen_at - clock.now()).total_seconds()) < 5
    distance = await return_distance(outing)
    assert distance is not None
    assert 10_800 < distance < 11_000
    assert not await CheckIn.exists()
    assert await _sent("outing.back_told") == 2
    assert await OutboxMessage.filter(msgid__startswith="outing.back.").count() == 0
    safia = chat[SAFIA]
    safia.send_command("outings")
    listing = await safia.wait_for_message(lambda m: "Back in the last 12 hours" in _text(m))
    assert _text(listing).startswith("Nobody is out right now.")
    assert "Amina — Ikeja market\nback at " in _text(listing)
    assert _text(listing).endswith(", 10.9 km from the station")


async def test_back_then_skip_records_nothing(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """The "I'm back" button closes the outing; Skip ends the question with nothing stored and
    the check-in keyboard back."""
    chat = await _team(sandbox)
    amina = chat[AMINA]
    outing = await _approved_outing(clock)
    approved = await _from_outbox(amina, clock)
    await amina.press("🏠 I'm back", approved).wait_answer()
    asked = await _said(amina)
    assert asked.startswith("Where are you now?")
    await eventually(_status_is(outing.id, OutingStatus.RETURNED))
    amina.press("Skip")
    assert (await _said(amina)) == "OK, no location recorded."
    assert _checkin_keyboard_back(amina)
    await outing.refresh_from_db()
    assert (outing.last_lat, outing.last_lon, outing.last_seen_at) == (None, None, None)
    assert await return_distance(outing) is None
    chat[SAFIA].send_command("outings")
    listing = await chat[SAFIA].wait_for_message(lambda m: "Back in the last" in _text(m))
    assert _text(listing).endswith("Amina — Ikeja market\nback at 10:00")


async def test_back_on_someone_elses_outing_refused(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """Bola's crafted "I'm back" on Amina's outing is refused and asks him nothing; the service
    refuses his position on her returned outing too."""
    chat = await _team(sandbox)
    bola = chat[BOLA]
    outing = await _approved_outing(clock)
    bola.send_command("help")
    await bola.wait_for_message()
    crafted = bola.send_crafted_callback(encode(OutingMove(outing.id, OutingMove.BACK)))
    assert "not allowed" in ((await crafted.wait_answer()).text or "")
    await outing.refresh_from_db()
    assert outing.status == OutingStatus.APPROVED
    assert not await Conversation.exists(telegram_id=BOLA)

    amina = await actor_of(await Person.get(telegram_id=AMINA))
    bola_actor = await actor_of(await Person.get(telegram_id=BOLA))
    await come_back(actor=amina, outing_id=outing.id, clock=clock)
    with pytest.raises(NotAllowed):
        await record_return_position(
            actor=bola_actor, outing_id=outing.id, lat=6.5, lon=3.4, clock=clock
        )
    with pytest.raises(InvalidInput):
        await record_return_position(
            actor=amina,
            outing_id=outing.id,
            lat=6.5,
            lon=3.4,
            clock=clock,
            sent_at=clock.now() - timedelta(minutes=20),
        )
    await outing.refresh_from_db()
    assert outing.last_lat is None
