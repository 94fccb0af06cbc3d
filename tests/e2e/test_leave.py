"""Leave through the chat: the head approves with one tap, nobody else can."""

from __future__ import annotations

from bot.app import Outpost
from bot.sandbox import SandboxServer
from db.enums import RequestStatus, Role
from db.models import LeaveRequest, Person, PersonRole, Station
from services.callbacks import LeaveVerdict, encode


async def _station_with(*people: tuple[int, str, Role, str]) -> None:
    station = await Station.create(code="LOS", name="Lagos", country="NG", lat=6.43, lon=3.42,
                                   timezone="Africa/Lagos")
    for telegram_id, name, role, language in people:
        person = await Person.create(telegram_id=telegram_id, name=name, station=station,
                                     language=language)
        await PersonRole.create(person=person, role=role)


async def test_leave_asked_and_approved_in_chat(outpost: Outpost, sandbox: SandboxServer) -> None:
    """Staff asks; the head gets buttons in Chinese, a colleague's crafted press is refused."""
    await _station_with((4001, "Amina", Role.STAFF, "en"), (4002, "张伟", Role.HEAD, "zh-Hans"),
                        (4003, "Bola", Role.STAFF, "en"))
    amina = sandbox.add_person(4001, "Amina", "en")
    head = sandbox.add_person(4002, "Zhang", "zh-hans")
    bola = sandbox.add_person(4003, "Bola", "en")
    amina.send_command("leave", "someday")
    assert "/leave 12-24 12-27" in (await amina.wait_for_message()).raw_text
    amina.send_command("leave", "2026-01-08 2026-01-09 family visit")
    assert "was sent" in (await amina.wait_for_message()).raw_text
    ask = await head.wait_for_message()
    assert ask.raw_text.startswith("🗓 Amina 申请请假：2026-01-08 至 2026-01-09（2 天）")
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
    assert edited.raw_text.endswith("✅ 您已批准。")
    told = await amina.wait_for_message()
    assert told.raw_text == "✅ Your leave from 2026-01-08 to 2026-01-09 was approved by 张伟."
    await leave.refresh_from_db()
    assert leave.status == RequestStatus.APPROVED


async def test_the_other_heads_card_says_who_decided(
    outpost: Outpost, sandbox: SandboxServer
) -> None:
    """Two heads get the request; when one approves, the other's card says so, without buttons."""
    await _station_with((4101, "Amina", Role.STAFF, "en"), (4102, "张伟", Role.HEAD, "zh-Hans"),
                        (4103, "Musa", Role.HEAD, "en"))
    amina = sandbox.add_person(4101, "Amina", "en")
    zhang = sandbox.add_person(4102, "Zhang", "zh-hans")
    musa = sandbox.add_person(4103, "Musa", "en")
    amina.send_command("leave", "2026-01-08 2026-01-09 family visit")
    assert "was sent" in ((await amina.wait_for_message()).raw_text or "")
    zhang_card = await zhang.wait_for_message()
    musa_card = await musa.wait_for_message()
    assert musa_card.button_texts == ["✅ Approve", "❌ Refuse"]

    await zhang.press("✅ 批准").wait_answer()
    await zhang.wait_for_edit(zhang_card)
    assert (zhang_card.raw_text or "").endswith("✅ 您已批准。")
    edited = await musa.wait_for_edit(musa_card)
    assert edited.raw_text == (
        "🗓 Amina asks for leave: 2026-01-08 to 2026-01-09 (2 days).\n"
        "Reason: family visit\n\n✅ Approved by 张伟."
    )
    assert edited.button_texts == []
    # The card no longer offers a decision; a replayed press is refused by the database.
    verdict = LeaveVerdict(leave_id=(await LeaveRequest.get()).id, approve=False)
    late = musa.send_crafted_callback(encode(verdict), musa_card)
    assert "already" in ((await late.wait_answer()).text or "")
    leave = await LeaveRequest.get()
    assert leave.status == RequestStatus.APPROVED
