"""Checking in from the chat: the location button, pins, forwarded pins and live locations."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from bot.app import Outpost
from bot.sandbox import SandboxServer
from db.enums import CheckInKind, Role
from db.models import CheckIn, OutboxMessage, Person, PersonRole, Station
from services.attendance import reschedule_station
from services.attendance_sheet import MONTHLY_SHEET
from services.clock import ManualClock
from tests.e2e.conftest import eventually

LAGOS = (6.4281, 3.4219)
# Before every day the tests play (created_at would otherwise be the machine's today).
JOINED = datetime(2025, 12, 1, tzinfo=UTC)


async def _staff(telegram_id: int, language: str = "en", **station: object) -> Person:
    values: dict[str, object] = {
        "code": "LOS", "name": "Lagos station", "country": "NG", "lat": LAGOS[0],
        "lon": LAGOS[1], "radius_m": 300, "timezone": "Africa/Lagos",
        "checkin_opens": time(8), "checkin_closes": time(9, 30), "workday_ends": time(17),
    }
    values.update(station)
    st = await Station.create(**values)
    person = await Person.create(telegram_id=telegram_id, name="Amina", language=language,
                                 station=st, created_at=JOINED)
    await PersonRole.create(person=person, role=Role.STAFF)
    return person


async def test_check_in_with_the_location_button(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """/checkin offers a location button; pressing it checks in, inside the fence."""
    clock.set(datetime(2026, 1, 5, 7, 40, tzinfo=UTC))
    await _staff(3001)
    amina = sandbox.add_person(3001, "Amina", "en")
    amina.send_command("checkin")
    offer = await amina.wait_for_message()
    assert "Check in" in offer.raw_text
    button = next(b for b in amina.reply_keyboard_buttons() if b.get("request_location"))
    assert button["text"] == "📍 Check in"
    amina.share_location(6.4285, 3.4219, horizontal_accuracy=15)
    answer = await amina.wait_for_message()
    assert answer.raw_text.startswith("✅ Checked in at 08:40 at Lagos station")
    assert "inside the geofence" in answer.raw_text
    row = await CheckIn.get()
    assert row.kind == CheckInKind.IN
    assert row.inside_geofence
    # After the working day, the same gesture signs out.
    clock.set(datetime(2026, 1, 5, 16, 15, tzinfo=UTC))
    amina.share_location(6.4285, 3.4219)
    assert (await amina.wait_for_message()).raw_text.startswith("👋 Checked out at 17:15")


async def test_forwarded_location_refused_and_outside_marked(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """A forwarded pin is refused with its reason; a far pin is recorded as outside."""
    await _staff(3002, language="zh-Hans")
    li = sandbox.add_person(3002, "Li", "zh-hans")
    friend = sandbox.add_person(3003, "Friend", "en")
    li.share_location(*LAGOS, forwarded_from=friend)
    assert "转发的位置不能用于签到" in (await li.wait_for_message()).raw_text
    assert await CheckIn.all().count() == 0
    li.share_location(6.45, 3.42, horizontal_accuracy=500)
    text = (await li.wait_for_message()).raw_text
    assert "超出签到范围" in text
    assert "2.4公里" in text
    assert "定位精度较差" in text


async def test_live_location_required_and_followed(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """A station that demands a live location refuses a pin and follows the live one."""
    await _staff(3004, require_live_location=True)
    sam = sandbox.add_person(3004, "Sam", "en")
    sam.share_location(*LAGOS)
    assert "live location" in (await sam.wait_for_message()).raw_text
    live = sam.share_live_location(*LAGOS, live_period=900)
    assert (await sam.wait_for_message()).raw_text.startswith("✅ Checked in")
    live.move(6.4300, 3.4219)

    async def moved() -> bool:
        return (await CheckIn.get()).last_lat == 6.4300

    await eventually(moved)
    checkin = await CheckIn.get()
    assert (checkin.lat, checkin.inside_geofence) == (LAGOS[0], True)
    assert checkin.live_until == clock.now() + timedelta(seconds=900)
    assert await CheckIn.all().count() == 1


async def test_head_gets_the_month_sheet_staff_does_not(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """/attendance sends the head an XLSX of their station; staff are refused."""
    import io

    from openpyxl import load_workbook

    staff = await _staff(3010)
    head = await Person.create(telegram_id=3011, name="Head", station_id=staff.station_id)
    await PersonRole.create(person=head, role=Role.HEAD)
    boss = sandbox.add_person(3011, "Head", "en")
    boss.send_command("attendance")
    sheet = await boss.wait_for_message()
    assert sheet.document is not None
    assert sheet.document["file_name"] == "attendance-2026-01.xlsx"
    book = load_workbook(io.BytesIO(sandbox.sandbox.files[sheet.document["file_id"]].data))
    assert book.sheetnames == ["Summary", "LOS"]
    boss.send_command("attendance", "november")
    assert "/attendance 2026-10" in (await boss.wait_for_message()).raw_text
    amina = sandbox.add_person(3010, "Amina", "en")
    amina.send_command("attendance")
    assert "not allowed" in (await amina.wait_for_message()).raw_text


async def test_station_day_reminds_then_tells_the_head(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """Across Lagos's morning: a reminder at 08:00, a check-in, the missed digest at 09:30."""
    staff = await _staff(3020)
    late = await Person.create(telegram_id=3021, name="Bola", station_id=staff.station_id,
                               created_at=JOINED)
    await PersonRole.create(person=late, role=Role.STAFF)
    head = await Person.create(telegram_id=3022, name="Head", station_id=staff.station_id)
    await PersonRole.create(person=head, role=Role.HEAD)
    amina = sandbox.add_person(3020, "Amina", "en")
    bola = sandbox.add_person(3021, "Bola", "en")
    boss = sandbox.add_person(3022, "Head", "en")
    assert outpost.deadlines is not None
    # Created after start-up, as an import does: its day is looked at from now on.
    await reschedule_station(staff.station_id, clock=clock)
    clock.set(datetime(2026, 1, 6, 7, 0, 30, tzinfo=UTC))  # Tuesday 08:00:30 in Lagos
    await outpost.deadlines.run_due()
    reminder = await amina.wait_for_message()
    assert reminder.raw_text == "⏰ Good morning! Please check in before 09:30."
    assert reminder.button_texts == ["📍 Check in"]
    assert (await bola.wait_for_message()).raw_text.startswith("⏰")
    await amina.press("📍 Check in", reminder).wait_answer()
    offer = await amina.wait_for_message()
    assert any(b.get("request_location") for b in amina.reply_keyboard_buttons())
    assert "Check in" in offer.raw_text
    amina.share_location(*LAGOS)
    assert (await amina.wait_for_message()).raw_text.startswith("✅ Checked in at 08:00")
    clock.set(datetime(2026, 1, 6, 8, 31, tzinfo=UTC))  # 09:31: the window has closed
    await outpost.deadlines.run_due()
    digest = await boss.wait_for_message()
    assert digest.raw_text == "Missed check-ins at Lagos station on 2026-01-06 (1): Bola"
    assert await outpost.deadlines.run_due() == []
    assert await OutboxMessage.filter(msgid="attendance.missed_digest").count() == 1
    assert len(boss.messages) == 1


async def _sheets_fired(outpost: Outpost) -> int:
    """Fire what is due; how many of the firings were the monthly sheet's."""
    assert outpost.deadlines is not None
    return sum(fired.kind == MONTHLY_SHEET for fired in await outpost.deadlines.run_due())


async def test_month_sheet_reaches_hq_on_its_day(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """On the 26th the sheet goes to HQ as a document, once; on other days nothing goes."""
    import io

    from openpyxl import load_workbook

    await _staff(3030)
    hq = await Person.create(telegram_id=3031, name="HQ", language="zh-Hans")
    await PersonRole.create(person=hq, role=Role.HQ)
    chen = sandbox.add_person(3031, "Chen", "zh-hans")
    assert outpost.deadlines is not None
    clock.set(datetime(2026, 1, 25, 10, 0, tzinfo=UTC))
    assert await _sheets_fired(outpost) == 0
    assert await OutboxMessage.filter(source_kind="attendance_sheet").count() == 0
    clock.set(datetime(2026, 1, 26, 10, 0, tzinfo=UTC))
    assert await _sheets_fired(outpost) == 1
    assert await _sheets_fired(outpost) == 0
    sheet = await chen.wait_for_message()
    assert sheet.document is not None
    assert sheet.document["file_name"] == "attendance-2026-01.xlsx"
    assert sheet.raw_text == "考勤汇总表 2026-01"
    book = load_workbook(io.BytesIO(sandbox.sandbox.files[sheet.document["file_id"]].data))
    assert book.sheetnames == ["汇总", "LOS"]
    assert await OutboxMessage.filter(source_kind="attendance_sheet").count() == 1
