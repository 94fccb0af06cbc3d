"""Checking in from the chat: the location button, pins, forwarded pins and live locations."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.app import Outpost
from bot.sandbox import SandboxServer
from db.enums import CheckInKind, OutingStatus, RequestStatus, Role
from db.models import CheckIn, LeaveRequest, OutboxMessage, Outing, Person, PersonRole, Station
from services.attendance import reschedule_station
from services.attendance_sheet import MONTHLY_SHEET
from services.callbacks import SheetAsk, encode
from services.clock import ManualClock
from tests.auxil.chat import text_of
from tests.e2e.conftest import eventually

LAGOS = (6.4281, 3.4219)
# Before every day the tests play (created_at would otherwise be the machine's today).
JOINED = datetime(2025, 12, 1, tzinfo=UTC)


async def _staff(telegram_id: int, language: str = "en", **station: Any) -> Person:
    values: dict[str, Any] = {
        "code": "LOS",
        "name": "Lagos station",
        "country": "NG",
        "lat": LAGOS[0],
        "lon": LAGOS[1],
        "radius_m": 300,
        "timezone": "Africa/Lagos",
        "checkin_opens": time(8),
        "checkin_closes": time(9, 30),
        "workday_ends": time(17),
    }
    values.update(station)
    st = await Station.create(**values)
    person = await Person.create(
        telegram_id=telegram_id, name="Amina", language=language, station=st, created_at=JOINED
    )
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
    assert "Check in" in text_of(offer)
    button = next(b for b in amina.reply_keyboard_buttons() if b.get("request_location"))
    assert button["text"] == "📍 Check in"
    amina.share_location(6.4285, 3.4219, horizontal_accuracy=15)
    answer = await amina.wait_for_message()
    assert text_of(answer).startswith("✅ Checked in at 08:40 at Lagos station")
    assert "inside the geofence" in text_of(answer)
    row = await CheckIn.get()
    assert row.kind == CheckInKind.IN
    assert row.inside_geofence
    # After the working day, the same gesture signs out.
    clock.set(datetime(2026, 1, 5, 16, 15, tzinfo=UTC))
    amina.share_location(6.4285, 3.4219)
    assert text_of(await amina.wait_for_message()).startswith("👋 Checked out at 17:15")


async def test_forwarded_location_refused_and_outside_marked(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """A forwarded pin is refused with its reason; a far pin is recorded as outside."""
    await _staff(3002, language="zh-Hans")
    li = sandbox.add_person(3002, "Li", "zh-hans")
    friend = sandbox.add_person(3003, "Friend", "en")
    li.share_location(*LAGOS, forwarded_from=friend)
    assert "转发的位置不能用于签到" in text_of(await li.wait_for_message())
    assert await CheckIn.all().count() == 0
    li.share_location(6.45, 3.42, horizontal_accuracy=500)
    text = text_of(await li.wait_for_message())
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
    assert "live location" in text_of(await sam.wait_for_message())
    live = sam.share_live_location(*LAGOS, live_period=900)
    assert text_of(await sam.wait_for_message()).startswith("✅ Checked in")
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
    """/attendance shows the head today, and its button sends an XLSX of their station;
    staff are refused, also when they press a crafted sheet button."""
    import io

    from openpyxl import load_workbook

    staff = await _staff(3010)
    head = await Person.create(telegram_id=3011, name="Head", station_id=staff.station_id)
    await PersonRole.create(person=head, role=Role.HEAD)
    boss = sandbox.add_person(3011, "Head", "en")
    boss.send_command("attendance")
    today = await boss.wait_for_message()
    assert text_of(today).startswith("📋 Lagos station, Mon, Jan 5 (times in Africa/Lagos)")
    assert today.button_texts == ["📊 Sheet for 2026-01"]
    await boss.press("📊 Sheet for 2026-01", today).wait_answer()
    sheet = await boss.wait_for_message()
    assert sheet.document is not None
    assert sheet.document["file_name"] == "attendance-2026-01.xlsx"
    book = load_workbook(io.BytesIO(sandbox.sandbox.files[sheet.document["file_id"]].data))
    assert book.sheetnames == ["Summary", "LOS"]
    boss.send_command("attendance", "november")
    assert "/attendance 2026-10" in text_of(await boss.wait_for_message())
    amina = sandbox.add_person(3010, "Amina", "en")
    amina.send_command("attendance")
    assert "not allowed" in text_of(await amina.wait_for_message())
    crafted = amina.send_crafted_callback(encode(SheetAsk(month=date(2026, 1, 1))))
    assert "not allowed" in ((await crafted.wait_answer()).text or "")
    assert len(amina.messages) == 1


async def test_station_day_reminds_then_tells_the_head(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """Across Lagos's morning: a reminder at 08:00, a check-in, the missed digest at 09:30."""
    staff = await _staff(3020)
    late = await Person.create(
        telegram_id=3021, name="Bola", station_id=staff.station_id, created_at=JOINED
    )
    await PersonRole.create(person=late, role=Role.STAFF)
    head = await Person.create(telegram_id=3022, name="Head", station_id=staff.station_id)
    await PersonRole.create(person=head, role=Role.HEAD)
    amina = sandbox.add_person(3020, "Amina", "en")
    bola = sandbox.add_person(3021, "Bola", "en")
    boss = sandbox.add_person(3022, "Head", "en")
    assert outpost.deadlines is not None
    # Created after start-up, as an import does: its day is looked at from now on.
    assert staff.station_id is not None
    await reschedule_station(staff.station_id, clock=clock)
    clock.set(datetime(2026, 1, 6, 7, 0, 30, tzinfo=UTC))  # Tuesday 08:00:30 in Lagos
    await outpost.deadlines.run_due()
    reminder = await amina.wait_for_message()
    assert reminder.raw_text == "⏰ Good morning! Please check in before 09:30."
    # The reminder itself brings the location button: one tap (and the phone's confirmation).
    assert reminder.button_texts == []
    assert [b["text"] for b in amina.reply_keyboard_buttons() if b.get("request_location")] == [
        "📍 Check in"
    ]
    assert text_of(await bola.wait_for_message()).startswith("⏰")
    amina.share_location(*LAGOS)
    assert text_of(await amina.wait_for_message()).startswith("✅ Checked in at 08:00")
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


# About 11.3 km north of the Lagos station.
FAR = (6.53, 3.4219)


async def _colleague(
    station_id: int, telegram_id: int, name: str, role: Role = Role.STAFF, language: str = "en"
) -> Person:
    person = await Person.create(
        telegram_id=telegram_id,
        name=name,
        station_id=station_id,
        language=language,
        created_at=JOINED,
    )
    await PersonRole.create(person=person, role=role)
    return person


async def test_a_second_check_in_says_where_the_first_was_and_one_inside_corrects_it(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """A first fix 11 km out is answered as such; from inside within 30 min it is corrected,
    both are kept, the head sees both, and the sheet counts the day as inside."""
    import io

    from openpyxl import load_workbook

    staff = await _staff(3040)
    await _colleague(staff.station_id or 0, 3041, "Head", Role.HEAD)
    amina = sandbox.add_person(3040, "Amina", "en")
    boss = sandbox.add_person(3041, "Head", "en")
    clock.set(datetime(2026, 1, 5, 7, 20, tzinfo=UTC))  # 08:20 in Lagos
    amina.share_location(*FAR)
    first = text_of(await amina.wait_for_message())
    assert first.startswith("⚠️ Checked in at 08:20, 11.3 km from Lagos station: outside")
    assert "before 08:50" in first
    clock.set(datetime(2026, 1, 5, 7, 30, tzinfo=UTC))
    amina.share_location(*FAR)
    again = text_of(await amina.wait_for_message())
    assert again.startswith(
        "You already checked in today at 08:20, 11.3 km from Lagos station: outside the "
        "geofence (300 m)."
    )
    assert "before 08:50" in again
    clock.set(datetime(2026, 1, 5, 7, 45, tzinfo=UTC))
    amina.share_location(6.4285, 3.4219)
    fixed = text_of(await amina.wait_for_message())
    assert fixed.startswith("✅ Corrected: checked in at 08:45 at Lagos station")
    assert "first check-in at 08:20, 11.3 km away, is kept" in fixed
    amina.share_location(6.4285, 3.4219)
    assert (await amina.wait_for_message()).raw_text == (
        "You already checked in today at 08:45 at Lagos station, inside the geofence "
        "(correcting your first check-in at 08:20, 11.3 km away)."
    )
    rows = await CheckIn.all().order_by("at")
    assert [(row.inside_geofence, row.correction_of_id) for row in rows] == [
        (False, None),
        (True, rows[0].id),
    ]
    clock.set(datetime(2026, 1, 5, 8, 31, tzinfo=UTC))
    boss.send_command("attendance")
    today = await boss.wait_for_message()
    assert "✅ Amina: in at 08:45 · corrected (first at 08:20, 11.3 km away)" in text_of(today)
    await boss.press("📊 Sheet for 2026-01", today).wait_answer()
    sheet = await boss.wait_for_message()
    assert sheet.document is not None
    book = load_workbook(io.BytesIO(sandbox.sandbox.files[sheet.document["file_id"]].data))
    header, row = list(book["LOS"].values)
    counts = dict(zip(header, row, strict=True))
    # Jan 1, 2 and 5 are working days; Amina checked in on the 5th, from inside in the end.
    assert (counts["Present"], counts["Outside geofence"], counts["Late"]) == (1, 0, 0)


async def test_early_and_late_are_said_exactly(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """Hours before the window: early, and it counts. 09:30:00 is on time, 09:30:40 is late,
    and the answer shows the seconds that decide it."""
    staff = await _staff(3050)
    await _colleague(staff.station_id or 0, 3051, "Bola")
    await _colleague(staff.station_id or 0, 3052, "Li", language="zh-Hans")
    amina = sandbox.add_person(3050, "Amina", "en")
    bola = sandbox.add_person(3051, "Bola", "en")
    li = sandbox.add_person(3052, "Li", "zh-hans")
    clock.set(datetime(2026, 1, 5, 2, 20, tzinfo=UTC))  # 03:20 in Lagos
    amina.share_location(*LAGOS)
    early = text_of(await amina.wait_for_message())
    assert early.startswith("✅ Checked in at 03:20 at Lagos station")
    assert "🌅 Early: the check-in window is 08:00–09:30. This counts as today's check-in" in early
    clock.set(datetime(2026, 1, 5, 8, 30, 0, tzinfo=UTC))  # 09:30:00 sharp: on time
    bola.share_location(*LAGOS)
    on_time = text_of(await bola.wait_for_message())
    assert on_time.startswith("✅ Checked in at 09:30")
    assert "Late" not in on_time
    clock.set(datetime(2026, 1, 5, 8, 30, 40, tzinfo=UTC))  # 09:30:40
    li.share_location(*LAGOS)
    late = text_of(await li.wait_for_message())
    assert "⏰ 迟到：签到时间截至 09:30:00，本次签到时间为 09:30:40。" in late
    assert await CheckIn.all().count() == 3


async def test_the_reminder_checks_in_with_one_tap(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """The morning reminder carries the location button: pressing it shares the location."""
    staff = await _staff(3060)
    amina = sandbox.add_person(3060, "Amina", "en")
    assert outpost.deadlines is not None
    await reschedule_station(staff.station_id or 0, clock=clock)
    clock.set(datetime(2026, 1, 6, 7, 0, 30, tzinfo=UTC))
    await outpost.deadlines.run_due()
    reminder = await amina.wait_for_message()
    assert text_of(reminder).startswith("⏰")
    # The sandbox's phone has no GPS: the tap shares (0, 0), far from Lagos, which still
    # shows that the one tap made the check-in.
    amina.press("📍 Check in")
    answer = text_of(await amina.wait_for_message())
    assert answer.startswith("⚠️ Checked in at 08:00")
    assert await CheckIn.filter(person_id=staff.id).count() == 1


async def test_a_pin_from_the_future_is_refused(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """A location dated minutes ahead of Outpost's clock is refused with the reason."""
    await _staff(3070)
    amina = sandbox.add_person(3070, "Amina", "en")
    sandbox.sandbox.wall_clock = lambda: (clock.now() + timedelta(minutes=10)).timestamp()
    amina.share_location(*LAGOS)
    assert "dated in the future" in text_of(await amina.wait_for_message())
    assert await CheckIn.all().count() == 0
    # A few seconds of drift is normal and accepted.
    sandbox.sandbox.wall_clock = lambda: (clock.now() + timedelta(seconds=20)).timestamp()
    amina.share_location(*LAGOS)
    assert text_of(await amina.wait_for_message()).startswith("✅ Checked in")


async def test_attendance_shows_today_to_the_head_and_a_summary_to_hq(
    outpost: Outpost, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """The head's today: in, late, outside, on leave, on an outing, missing, in Lagos time;
    HQ gets one line per station; an empty sheet at the month's start says why."""
    staff = await _staff(3080)
    station_id = staff.station_id or 0
    for telegram_id, name in (
        (3081, "Bola"),
        (3082, "Chen"),
        (3083, "Dayo"),
        (3084, "Efe"),
        (3085, "Femi"),
    ):
        await _colleague(station_id, telegram_id, name)
    await _colleague(station_id, 3089, "Head", Role.HEAD)
    hq = await Person.create(telegram_id=3090, name="HQ", language="zh-Hans")
    await PersonRole.create(person=hq, role=Role.HQ)
    people = {p.name: p for p in await Person.all()}
    await LeaveRequest.create(
        person=people["Dayo"],
        station_id=station_id,
        start_date=date(2026, 1, 5),
        end_date=date(2026, 1, 6),
        status=RequestStatus.APPROVED,
    )
    await Outing.create(
        person=people["Efe"],
        station_id=station_id,
        destination="Port",
        status=OutingStatus.OUT,
        leaves_at=datetime(2026, 1, 5, 6, tzinfo=UTC),
        expected_return_at=datetime(2026, 1, 5, 12, tzinfo=UTC),
    )
    chat = {
        name: sandbox.add_person(tid, name, "en")
        for tid, name in ((3080, "Amina"), (3081, "Bola"), (3082, "Chen"))
    }
    clock.set(datetime(2026, 1, 5, 7, 10, tzinfo=UTC))
    chat["Amina"].share_location(*LAGOS)
    await chat["Amina"].wait_for_message()
    clock.set(datetime(2026, 1, 5, 8, 40, tzinfo=UTC))
    chat["Bola"].share_location(*LAGOS)
    chat["Chen"].share_location(*FAR)
    for name in ("Bola", "Chen"):
        await chat[name].wait_for_message()
    clock.set(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    boss = sandbox.add_person(3089, "Head", "en")
    boss.send_command("attendance")
    lines = text_of(await boss.wait_for_message()).splitlines()
    assert lines == [
        "📋 Lagos station, Mon, Jan 5 (times in Africa/Lagos)",
        "✅ Amina: in at 08:10",
        "✅ Bola: in at 09:40 · late",
        "⚠️ Chen: in at 09:40, 11.3 km away, outside the geofence · late",
        "🌴 Dayo: on leave",
        "🚶 Efe: on an approved outing",
        "❌ Femi: missing",
    ]
    chen = sandbox.add_person(3090, "Chen HQ", "zh-hans")
    chen.send_command("attendance")
    summary = await chen.wait_for_message()
    assert text_of(summary).splitlines() == [
        "📋 今日各站考勤（各站当地时间）",
        "LOS Lagos station，1月5日周一：3/6 已签到（迟到 2，超出范围 1）· 请假 1 · 外出 1 · "
        "未签到 1 · 尚未签到 0",
    ]
    assert summary.button_texts == ["📊 2026-01 考勤表"]
    # On the month's first working day, before its window closes, no day of it counts yet.
    clock.set(datetime(2026, 2, 2, 7, 0, tzinfo=UTC))  # Monday 2 February, 08:00 in Lagos
    boss.send_command("attendance", "2026-02")
    empty = await boss.wait_for_message()
    assert empty.document is None
    assert text_of(empty).startswith("2026-02 has no working day whose check-in window has")
