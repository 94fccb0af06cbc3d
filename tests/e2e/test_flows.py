"""Conversations end to end, as on a phone: the /leave flow with buttons, re-asks, Back,
/cancel, expiry, a restart mid-way, and what is said to messages outside any flow."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Outpost
from bot.sandbox import SandboxServer
from bot.sandbox.people import Person as ChatPerson
from bot.sandbox.world import ChatMessage
from db.enums import RequestStatus, Role
from db.models import Conversation, LeaveRequest, Person
from services.clock import ManualClock
from services.invites import create_invite
from tests.auxil.stations import lagos_with, nigerian_emergency_numbers
from tests.e2e.conftest import outpost_settings

AMINA, ZHANG = 4001, 4002
TEAM = ((AMINA, "Amina", Role.STAFF, "en"), (ZHANG, "张伟", Role.HEAD, "zh-Hans"))


def _data(message: ChatMessage, text: str) -> str:
    """The callback data of the button labelled `text` on `message`."""
    for row in (message.reply_markup or {}).get("inline_keyboard", []):
        for button in row:
            if button["text"] == text:
                return str(button["callback_data"])
    raise LookupError(text)


def _text(message: ChatMessage) -> str:
    return message.raw_text or ""


async def _said(person: ChatPerson) -> str:
    """The text of the next message the bot sends to `person`."""
    return _text(await person.wait_for_message())


async def _while_time_passes(person: ChatPerson, clock: ManualClock) -> ChatMessage:
    """The next message from the outbox, moving the clock on as a real one would: the person
    had several answers this (standing) second, and the outbox keeps to Telegram's per-chat
    pace, retrying after a 429 on the business clock."""
    for _ in range(10):
        clock.advance(timedelta(seconds=2))
        try:
            return await person.wait_for_message(timeout=1.0)
        except TimeoutError:
            continue
    raise AssertionError("no message from the outbox")


async def test_leave_flow_on_a_phone_with_re_asks_and_back(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """Tomorrow → other date → an unreadable and an earlier day re-asked with why → Back →
    +1 day → a reason too long refused with the limit → summary → Send: the head is asked."""
    await lagos_with(*TEAM)
    amina = sandbox.add_person(AMINA, "Amina", "en")
    head = sandbox.add_person(ZHANG, "Zhang", "zh-hans")

    amina.send_command("leave")
    first = await amina.wait_for_message()
    assert _text(first).startswith("🗓 Leave request. What is your first day")
    # Monday 5 January 2026 in Lagos; days named with their weekday.
    assert first.button_texts == [
        "Today, Mon, Jan 5",
        "Tomorrow, Tue, Jan 6",
        "Wed, Jan 7",
        "📅 Other date",
        "✖️ Cancel",
    ]
    old_today = _data(first, "Today, Mon, Jan 5")
    await amina.press("Tomorrow, Tue, Jan 6", first).wait_answer()
    end = await amina.wait_for_message()
    assert _text(end) == "First day: Tue, Jan 6. What is your last day of leave?"
    assert end.button_texts[:3] == [
        "Same day, Tue, Jan 6",
        "Wed, Jan 7 (2 days)",
        "Thu, Jan 8 (3 days)",
    ]
    # Answered: its buttons are gone.
    assert (await amina.wait_for_edit(first, edits=1)).inline_buttons == []

    await amina.press("📅 Other date", end).wait_answer()
    typed = await amina.wait_for_message()
    assert _text(typed).startswith("First day: Tue, Jan 6. Type your last day")
    amina.send_text("31-31")
    assert "could not read that date" in (await _said(amina))
    await amina.wait_for_message()  # the question again
    amina.send_text("01-05")
    assert (await _said(amina)) == "The last day is before the first day."
    again = await amina.wait_for_message()
    assert _text(again).startswith("First day: Tue, Jan 6. Type your last day")

    await amina.press("⬅️ Back", again).wait_answer()
    end = await amina.wait_for_message()
    assert _text(end).startswith("First day: Tue, Jan 6. What is your last day")
    await amina.press("Wed, Jan 7 (2 days)", end).wait_answer()
    assert (await _said(amina)).startswith("What is the reason?")
    amina.send_text("x" * 1001)
    refused = await amina.wait_for_message()
    assert _text(refused) == (
        "The reason is 1001 characters long; the limit is 1000. Please make it shorter."
    )
    await amina.wait_for_message()
    amina.send_text("family visit")
    summary = await amina.wait_for_message()
    assert _text(summary) == (
        "Please check your leave request:\nFrom: Tue, Jan 6, 2026\n"
        "To: Wed, Jan 7, 2026 (2 days)\nReason: family visit\n\nSend it for a decision?"
    )
    assert summary.button_texts == ["📨 Send", "⬅️ Back", "✖️ Cancel"]
    await amina.press("📨 Send", summary).wait_answer()
    assert (await _said(amina)) == (
        "Your leave request (Tue, Jan 6, 2026 to Wed, Jan 7, 2026) was sent. "
        "You will be told the decision here."
    )
    ask = await head.wait_for_message()
    assert _text(ask).startswith(
        "🗓 Amina（驻外员工，Lagos） 申请请假：2026年1月6日周二 至 2026年1月7日周三（2 天）"
    )
    leave = await LeaveRequest.get()
    assert (leave.reason, leave.status) == ("family visit", RequestStatus.PENDING)
    assert not await Conversation.exists()

    # A button of the finished flow is answered with a reason and changes nothing.
    answer = await amina.send_crafted_callback(old_today, first).wait_answer()
    assert answer.text == "This conversation is over. Start again from the menu."
    assert await LeaveRequest.all().count() == 1


async def test_a_flow_survives_a_restart_mid_way(
    sandbox: SandboxServer, database_url: str, clock: ManualClock
) -> None:
    """Stop Outpost mid-way through /leave and through registration, start a new one on the
    same database: the buttons already shown still work and both go on at the same step."""
    before = Outpost(outpost_settings(sandbox, database_url), clock=clock, ticking=False)
    await before.start()
    try:
        await lagos_with(*TEAM)
        invite = await create_invite(role=Role.STAFF, station_code="LOS", clock=clock)
        amina = sandbox.add_person(AMINA, "Amina", "en")
        sandbox.add_person(ZHANG, "Zhang", "zh-hans")  # told of the leave and the newcomer
        newcomer = sandbox.add_person(7002, "Bola", "en", phone_number="+2348031234567")
        amina.send_command("leave")
        await amina.press("Tomorrow, Tue, Jan 6", await amina.wait_for_message()).wait_answer()
        end = await amina.wait_for_message()
        newcomer.send_command("start", invite.code)
        await newcomer.wait_for_message()  # welcome
        assert "your own phone number" in (await _said(newcomer))
    finally:
        await before.stop()

    after = Outpost(outpost_settings(sandbox, database_url), clock=clock, ticking=False)
    await after.start()
    try:
        await amina.press("Same day, Tue, Jan 6", end).wait_answer()
        assert (await _said(amina)).startswith("What is the reason?")
        amina.send_text("doctor")
        await amina.press("📨 Send", await amina.wait_for_message()).wait_answer()
        assert "was sent" in (await _said(amina))
        leave = await LeaveRequest.get()
        assert (str(leave.start_date), str(leave.end_date), leave.reason) == (
            "2026-01-06",
            "2026-01-06",
            "doctor",
        )

        newcomer.press("Share my phone number")
        assert "phone number is saved" in (await _said(newcomer))
        choose = await newcomer.wait_for_message()
        await newcomer.press("English", choose).wait_answer()
        assert "You are registered" in (await _said(newcomer))
        person = await Person.get(telegram_id=7002)
        assert (person.phone, person.registration_step) == ("+2348031234567", None)
        assert not await Conversation.exists()
    finally:
        await after.stop()


async def test_cancel_drops_the_flow_and_says_what(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """/cancel with nothing under way says so; mid-flow it names the dates dropped, and a
    button of the dropped flow is answered with a reason."""
    await lagos_with(*TEAM)
    amina = sandbox.add_person(AMINA, "Amina", "en")
    amina.send_command("cancel")
    assert (await _said(amina)) == "There was nothing to cancel."
    amina.send_command("leave")
    await amina.press("Tomorrow, Tue, Jan 6", await amina.wait_for_message()).wait_answer()
    await amina.press("Thu, Jan 8 (3 days)", await amina.wait_for_message()).wait_answer()
    reason = await amina.wait_for_message()
    amina.send_command("cancel")
    assert (await _said(amina)) == ("Leave request dropped: 2026-01-06 to 2026-01-08.")
    answer = await amina.press("⬅️ Back", reason).wait_answer()
    assert answer.text == "This conversation is over. Start again from the menu."
    assert not await LeaveRequest.exists()
    assert not await Conversation.exists()


async def test_a_flow_left_alone_expires_and_the_person_is_told(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """30 minutes of silence: the next message hears that the request was dropped; the deadline
    engine's sweep tells someone who never writes again."""
    await lagos_with(*TEAM)
    amina = sandbox.add_person(AMINA, "Amina", "en")
    amina.send_command("leave")
    await amina.press("Today, Mon, Jan 5", await amina.wait_for_message()).wait_answer()
    await amina.wait_for_message()
    clock.advance(timedelta(minutes=31))
    amina.send_text("01-06")
    assert (await _said(amina)) == (
        "Your leave request (from 2026-01-05) was dropped after 30 minutes without an answer. "
        "Send /leave to start again."
    )

    amina.send_command("leave")
    await amina.wait_for_message()
    clock.advance(timedelta(minutes=31))
    assert outpost.deadlines is not None
    await outpost.deadlines.run_due()
    told = await _while_time_passes(amina, clock)
    assert _text(told) == (
        "Your leave request was dropped after 30 minutes without an answer. "
        "Send /leave to start again."
    )
    assert not await Conversation.exists()


async def test_outside_any_flow_every_message_gets_a_useful_answer(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """Free text, files and stickers point at /help; "sos", "🆘" and "救命" raise an SOS
    with the emergency numbers in the person's language, even in the middle of a flow, which
    then goes on."""
    await lagos_with(*TEAM)
    await nigerian_emergency_numbers()
    amina = sandbox.add_person(AMINA, "Amina", "en")
    head = sandbox.add_person(ZHANG, "Zhang", "zh-hans")
    amina.send_text("hello?")
    assert "Send /help" in (await _said(amina))
    amina.send_photo(caption="my desk")
    assert "nothing is waiting for a photo" in (await _said(amina))
    amina.send_document(b"notes", "notes.txt", "text/plain")
    assert "nothing is waiting for a photo or a file" in (await _said(amina))

    amina._send(
        {
            "sticker": {  # as a Telegram client sends one
                "file_id": "CAACAgIAAxk",
                "file_unique_id": "AgAD",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        }
    )
    assert "Send /help" in (await _said(amina))

    amina.send_text("  Sos ")
    numbers = await amina.wait_for_message()
    assert _text(numbers).startswith("🆘 Help is being called.")
    assert "Embassy · Embassy in Abuja" in _text(numbers)
    assert "Police · Lagos police" in _text(numbers)
    assert (await _said(amina)).startswith("What happened?")
    head.send_text("救命")
    said = await head.wait_for_message(lambda m: _text(m).startswith("🆘 正在呼叫救援"))
    assert "请立即拨打以下电话" in _text(said)

    amina.send_command("leave")
    await amina.wait_for_message()
    amina.send_text("🆘")
    assert (await _said(amina)).startswith("🆘 Your SOS is already open")
    assert (await _said(amina)).startswith("What happened?")
    amina.send_text("01-07")
    assert (await _said(amina)).startswith("First day: Wed, Jan 7.")

    stranger = sandbox.add_person(9999, "Eve", "en")
    stranger.send_text("sos")
    assert "invitation link" in (await _said(stranger))


async def test_a_crafted_flow_press_on_another_message_changes_nothing(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """Flow data pressed on a decider's card, or malformed: answered, the card keeps its
    buttons, nothing is decided."""
    await lagos_with(*TEAM)
    amina = sandbox.add_person(AMINA, "Amina", "en")
    head = sandbox.add_person(ZHANG, "Zhang", "zh-hans")
    amina.send_command("leave", "01-08 family visit")
    await amina.wait_for_message()
    card = await head.wait_for_message()
    answer = await head.send_crafted_callback("f1:1:1:send", card).wait_answer()
    assert answer.text == "此对话已结束，请从菜单重新开始。"
    # Malformed flow data never reaches the flow: the button codec refuses it at the gate.
    for data in ("f1:x", "f1:99999999999999999999999:1:d0"):
        answer = await head.send_crafted_callback(data, card).wait_answer()
        assert answer.text == "此按钮已失效，请重新打开相应命令。"
    assert card.button_texts == ["✅ 批准", "❌ 不批准"]
    assert (await LeaveRequest.get()).status == RequestStatus.PENDING
