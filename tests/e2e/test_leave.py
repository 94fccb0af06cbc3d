"""Leave through the chat: the head approves with one tap, nobody else can."""

from __future__ import annotations

import copy
import logging
from datetime import timedelta

import pytest

from bot.app import Outpost
from bot.sandbox import SandboxServer
from bot.sandbox.people import Person as ChatPerson
from bot.sandbox.world import ChatMessage
from db.enums import RequestStatus, Role
from db.models import LeaveRequest, Person, PersonRole, Station
from handlers.chat.edge import ErrorEdge
from services.callbacks import LeaveVerdict, LeaveWithdraw, encode
from services.clock import ManualClock
from tests.auxil.chat import text_of
from tests.e2e.conftest import eventually


async def _station_with(*people: tuple[int, str, Role, str]) -> None:
    station = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.43, lon=3.42, timezone="Africa/Lagos"
    )
    for telegram_id, name, role, language in people:
        person = await Person.create(
            telegram_id=telegram_id, name=name, station=station, language=language
        )
        await PersonRole.create(person=person, role=role)


async def test_leave_asked_and_approved_in_chat(outpost: Outpost, sandbox: SandboxServer) -> None:
    """Staff asks; the head gets buttons in Chinese, a colleague's crafted press is refused."""
    await _station_with(
        (4001, "Amina", Role.STAFF, "en"),
        (4002, "张伟", Role.HEAD, "zh-Hans"),
        (4003, "Bola", Role.STAFF, "en"),
    )
    amina = sandbox.add_person(4001, "Amina", "en")
    head = sandbox.add_person(4002, "Zhang", "zh-hans")
    bola = sandbox.add_person(4003, "Bola", "en")
    amina.send_command("leave", "someday")
    assert "/leave 12-24 12-27" in text_of(await amina.wait_for_message())
    amina.send_command("leave", "2026-01-08 2026-01-09 family visit")
    assert "was sent" in text_of(await amina.wait_for_message())
    ask = await head.wait_for_message()
    assert text_of(ask).startswith(
        "🗓 Amina（驻外员工，Lagos） 申请请假：2026年1月8日周四 至 2026年1月9日周五（2 天）"
    )
    assert ask.button_texts == ["✅ 批准", "❌ 不批准"]
    leave = await LeaveRequest.get()

    # A colleague replays the head's callback: the server checks who pressed.
    bola.send_command("help")
    await bola.wait_for_message()
    crafted = bola.send_crafted_callback(encode(LeaveVerdict(leave.id, approve=True)))
    answer = await crafted.wait_answer()
    assert "not allowed" in (answer.text or "")
    await leave.refresh_from_db()
    assert leave.status == RequestStatus.PENDING

    pressed = head.press("✅ 批准")
    await pressed.wait_answer()
    edited = await head.wait_for_edit(ask)
    assert text_of(edited).endswith("✅ 您已批准。")
    told = await amina.wait_for_message()
    assert told.raw_text == (
        "✅ Your leave (Thu, Jan 8, 2026 to Fri, Jan 9, 2026) was approved by 张伟."
    )
    await leave.refresh_from_db()
    assert leave.status == RequestStatus.APPROVED


async def test_the_other_heads_card_says_who_decided(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """Two heads get the request; when one approves, the other's card says so, without buttons."""
    await _station_with(
        (4101, "Amina", Role.STAFF, "en"),
        (4102, "张伟", Role.HEAD, "zh-Hans"),
        (4103, "Musa", Role.HEAD, "en"),
    )
    amina = sandbox.add_person(4101, "Amina", "en")
    zhang = sandbox.add_person(4102, "Zhang", "zh-hans")
    musa = sandbox.add_person(4103, "Musa", "en")
    amina.send_command("leave", "2026-01-08 2026-01-09 family visit")
    assert "was sent" in text_of(await amina.wait_for_message())
    zhang_card = await zhang.wait_for_message()
    musa_card = await musa.wait_for_message()
    assert musa_card.button_texts == ["✅ Approve", "❌ Refuse"]

    await zhang.press("✅ 批准").wait_answer()
    await zhang.wait_for_edit(zhang_card)
    assert text_of(zhang_card).endswith("✅ 您已批准。")
    edited = await musa.wait_for_edit(musa_card)
    assert edited.raw_text == (
        "🗓 Amina (staff, Lagos) asks for leave: Thu, Jan 8, 2026 to Fri, Jan 9, 2026 "
        "(2 days).\n"
        "Reason: family visit\n\n✅ Approved by 张伟."
    )
    assert edited.button_texts == []
    # The card no longer offers a decision; a replayed press is refused by the database.
    verdict = LeaveVerdict(leave_id=(await LeaveRequest.get()).id, approve=False)
    late = musa.send_crafted_callback(encode(verdict), musa_card)
    assert "already" in ((await late.wait_answer()).text or "")
    leave = await LeaveRequest.get()
    assert leave.status == RequestStatus.APPROVED


async def _while_time_passes(person: ChatPerson, clock: ManualClock) -> ChatMessage:
    """The next message from the outbox, moving the clock on as a real one would (the outbox
    keeps to Telegram's per-chat pace on the business clock)."""
    for _ in range(10):
        clock.advance(timedelta(seconds=2))
        try:
            return await person.wait_for_message(timeout=1.0)
        except TimeoutError:
            continue
    raise AssertionError("no message from the outbox")


async def test_leave_lists_own_requests_and_a_pending_one_is_withdrawn(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """/leave lists the person's requests with their state; withdrawing a pending one edits
    the head's card; a colleague's crafted withdraw is refused."""
    await _station_with(
        (4201, "Amina", Role.STAFF, "en"),
        (4202, "Musa", Role.HEAD, "en"),
        (4203, "Bola", Role.STAFF, "en"),
    )
    amina = sandbox.add_person(4201, "Amina", "en")
    musa = sandbox.add_person(4202, "Musa", "en")
    bola = sandbox.add_person(4203, "Bola", "en")
    amina.send_command("leave", "2026-01-08 family visit")
    await amina.wait_for_message()
    card = await musa.wait_for_message()
    assert text_of(card).startswith(
        "🗓 Amina (staff, Lagos) asks for leave: Thu, Jan 8, 2026 (1 day)."
    )
    amina.send_command("leave")
    listing = await amina.wait_for_message()
    assert listing.raw_text == (
        "🗓 Your leave requests:\n• Thu, Jan 8, 2026 (1 day): ⏳ waiting for a decision"
    )
    assert listing.button_texts == ["↩️ Withdraw Thu, Jan 8, 2026", "➕ New request"]
    leave = await LeaveRequest.get()

    bola.send_command("help")
    await bola.wait_for_message()
    crafted = bola.send_crafted_callback(encode(LeaveWithdraw(leave.id)))
    assert "not allowed" in ((await crafted.wait_answer()).text or "")
    await leave.refresh_from_db()
    assert leave.status == RequestStatus.PENDING

    answer = await amina.press("↩️ Withdraw Thu, Jan 8, 2026", listing).wait_answer()
    assert answer.text == "Withdrawn. Whoever was asked has been told."
    await amina.wait_for_edit(listing)
    assert listing.raw_text.endswith("(1 day): ↩️ withdrawn")
    assert listing.button_texts == ["➕ New request"]
    edited = await musa.wait_for_edit(card)
    assert text_of(edited).endswith("↩️ Withdrawn by Amina.")
    assert edited.button_texts == []
    await leave.refresh_from_db()
    assert leave.status == RequestStatus.CANCELLED
    # The head's old button (a double tap, or a stale card) is refused with the reason.
    late = musa.send_crafted_callback(encode(LeaveVerdict(leave.id, approve=True)), card)
    assert (await late.wait_answer()).text == "This request was withdrawn."

    # "New request" opens the short flow.
    await amina.press("➕ New request", listing).wait_answer()
    first = await amina.wait_for_message()
    assert "first day" in first.raw_text.lower()


async def test_a_refusal_asks_for_the_reason_and_the_requester_is_told(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """Refuse asks why; the typed reason reaches the requester; "no reason" works too."""
    await _station_with((4301, "Amina", Role.STAFF, "en"), (4302, "张伟", Role.HEAD, "zh-Hans"))
    amina = sandbox.add_person(4301, "Amina", "en")
    zhang = sandbox.add_person(4302, "Zhang", "zh-hans")
    amina.send_command("leave", "2026-01-08 2026-01-09 family visit")
    await amina.wait_for_message()
    card = await zhang.wait_for_message()
    await zhang.press("❌ 不批准", card).wait_answer()
    question = await zhang.wait_for_message()
    assert text_of(question).startswith("为什么不批准Amina的请假？")
    assert question.button_texts[0] == "❌ 不说明原因，直接拒绝"
    zhang.send_text("the site is short-staffed that week")
    done = await zhang.wait_for_message()
    assert done.raw_text == "❌ 已拒绝，并已告知Amina原因：the site is short-staffed that week"
    told = await amina.wait_for_message()
    assert told.raw_text == (
        "❌ Your leave (Thu, Jan 8, 2026 to Fri, Jan 9, 2026) was refused by 张伟.\n"
        "Reason: the site is short-staffed that week"
    )
    # The card may be edited before the last answer above arrives: once is what counts.
    edited = await zhang.wait_for_edit(card, edits=1)
    assert text_of(edited).endswith("❌ 已由张伟拒绝。")
    assert edited.button_texts == []
    assert (await LeaveRequest.get()).decision_note == "the site is short-staffed that week"

    amina.send_command("leave", "2026-01-12 doctor")
    assert "was sent" in text_of(await amina.wait_for_message())
    second = await _while_time_passes(zhang, clock)
    await zhang.press("❌ 不批准", second).wait_answer()
    question = await zhang.wait_for_message()
    await zhang.press("❌ 不说明原因，直接拒绝", question).wait_answer()
    assert (await zhang.wait_for_message()).raw_text == "❌ 已拒绝，并已通知Amina。"
    told = await amina.wait_for_message()
    assert told.raw_text == ("❌ Your leave (Mon, Jan 12, 2026) was refused by 张伟.")


async def test_a_double_tap_on_approve_logs_no_error(
    outpost: Outpost, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Two presses of Approve on one card: one decides, the other is answered, no traceback
    (the second edit would be "message is not modified")."""
    await _station_with((4401, "Amina", Role.STAFF, "en"), (4402, "Musa", Role.HEAD, "en"))
    amina = sandbox.add_person(4401, "Amina", "en")
    musa = sandbox.add_person(4402, "Musa", "en")
    amina.send_command("leave", "2026-01-08 family visit")
    await amina.wait_for_message()
    card = await musa.wait_for_message()
    data = encode(LeaveVerdict((await LeaveRequest.get()).id, approve=True))
    # The second tap comes from the card as the phone still showed it, buttons and all.
    stale = copy.deepcopy(card)
    await musa.send_crafted_callback(data, card).wait_answer()
    await musa.wait_for_edit(card)
    assert text_of(card).endswith("✅ You approved this.")
    assert card.button_texts == []
    late = await musa.send_crafted_callback(data, stale).wait_answer()
    assert late.text == "This request was already decided."

    # Taking the (already gone) buttons off is refused by Telegram as "not modified": noted
    # by the error edge, no traceback, and nothing counted as unexpected.
    async def refused_edit() -> bool:
        return bool(sandbox.sandbox.violations)

    await eventually(refused_edit)
    sandbox.sandbox.acknowledge("message is not modified")
    assert (await LeaveRequest.get()).status == RequestStatus.APPROVED
    assert outpost.telegram is not None
    edges = [h for h in outpost.telegram.error_handlers if isinstance(h, ErrorEdge)]
    assert [edge.unexpected for edge in edges] == [0]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_cards_name_role_and_station_from_the_database(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """HQ's card for a head's leave names the station; a display name dressed up as HQ is
    shown beside the role the database gives."""
    await _station_with((4501, "Li Ming (HQ)", Role.HEAD, "en"))
    hq = await Person.create(telegram_id=4502, name="Chen", language="en")
    await PersonRole.create(person=hq, role=Role.HQ)
    head = sandbox.add_person(4501, "Li", "en")
    chen = sandbox.add_person(4502, "Chen", "en")
    head.send_command("leave", "2026-01-08 2026-01-10 home leave")
    assert "was sent" in text_of(await head.wait_for_message())
    card = await chen.wait_for_message()
    assert card.raw_text == (
        "🗓 Li Ming (HQ) (station head, Lagos) asks for leave: Thu, Jan 8, 2026 to "
        "Sat, Jan 10, 2026 (3 days).\nReason: home leave"
    )
