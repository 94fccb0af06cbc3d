"""The monthly attendance sheet: its numbers match the check-ins, leave and calendar."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from db.enums import CheckInKind, OutingStatus, RequestStatus, Role
from db.models import (
    CheckIn,
    Holiday,
    LeaveRequest,
    OutboxMessage,
    Outing,
    Person,
    PersonRole,
    Station,
)
from services.attendance import missing_checkins, run_station_day
from services.attendance_sheet import (
    MONTHLY_SHEET,
    attendance_workbook,
    handle_monthly_sheet,
    month_now,
    next_sheet_time,
    parse_month,
    schedule_monthly_sheet,
    send_monthly_sheets,
)
from services.clock import ManualClock
from services.deadlines import DeadlineHandlers, RetryPolicy, fire_due
from services.errors import InvalidInput
from services.people import Actor

# Joined well before the months these tests read.
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


async def _checkin(
    person: Person, station: Station, day: date, hour: int, minute: int = 0, inside: bool = True
) -> None:
    # Lagos is UTC+1: local 08:00 is 07:00 UTC.
    at = datetime(day.year, day.month, day.day, hour - 1, minute, tzinfo=UTC)
    await CheckIn.create(
        person=person,
        station=station,
        kind=CheckInKind.IN,
        at=at,
        local_date=day,
        lat=6.4,
        lon=3.4,
        inside_geofence=inside,
    )


async def test_sheet_numbers_match_the_data(db: str, clock: ManualClock) -> None:
    """November 2026 at Lagos: 21 working days minus one holiday, counted per person."""
    los = await Station.create(
        code="LOS",
        name="Lagos",
        country="NG",
        lat=6.4,
        lon=3.4,
        timezone="Africa/Lagos",
        checkin_closes=time(9, 30),
    )
    acc = await Station.create(
        code="ACC", name="Accra", country="GH", lat=5.6, lon=-0.2, timezone="Africa/Accra"
    )
    wang = await Person.create(telegram_id=1, name="Wang", station=los, created_at=LONG_AGO)
    amina = await Person.create(telegram_id=2, name="Amina", station=los, created_at=LONG_AGO)
    kofi = await Person.create(telegram_id=3, name="Kofi", station=acc, created_at=LONG_AGO)
    head = await Person.create(telegram_id=4, name="Head", station=los, created_at=LONG_AGO)
    for person in (wang, amina, kofi):
        await PersonRole.create(person=person, role=Role.STAFF)
    await PersonRole.create(person=head, role=Role.HEAD)
    await Holiday.create(station=los, date=date(2026, 11, 2), name="Holiday")
    # Wang: present on 3, 4 (late), 5 (outside); the rest missed.
    await _checkin(wang, los, date(2026, 11, 3), 8)
    await _checkin(wang, los, date(2026, 11, 4), 10, 15)
    await _checkin(wang, los, date(2026, 11, 5), 8, inside=False)
    # Amina: on approved leave 9-13 November, present on the 3rd, a check-in on the holiday.
    await LeaveRequest.create(
        person=amina,
        station=los,
        start_date=date(2026, 11, 9),
        end_date=date(2026, 11, 13),
        status=RequestStatus.APPROVED,
    )
    await _checkin(amina, los, date(2026, 11, 3), 8)
    # The month is read on 16 November at 12:00 Lagos time: 16 November counts, 17 not yet.
    clock.set(datetime(2026, 11, 16, 11, 0, tzinfo=UTC))
    data = await attendance_workbook(parse_month("2026-11"), clock=clock, language="en")
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Summary", "ACC", "LOS"]
    rows = {r[0]: r[1:] for r in book["LOS"].iter_rows(min_row=2, values_only=True)}
    # Working days 2-16 Nov: 11 (Mon-Fri), minus the holiday on the 2nd = 10.
    #               expected present late missed on_leave on_outing outside
    assert rows["Wang"] == (10, 3, 1, 7, 0, 0, 1)
    assert rows["Amina"] == (10, 1, 0, 4, 5, 0, 0)
    assert "Head" not in rows
    accra = {r[0]: r[1:] for r in book["ACC"].iter_rows(min_row=2, values_only=True)}
    assert accra["Kofi"] == (11, 0, 0, 11, 0, 0, 0)
    summary = list(book["Summary"].iter_rows(values_only=True))
    assert summary[0][0] == "Attendance summary 2026-11"
    assert summary[1][:3] == ("Station", "Working days", "Present")
    assert summary[3] == ("LOS Lagos", 20, 4, 1, 11, 5, 0, 1)


async def test_sheet_in_chinese(db: str, clock: ManualClock) -> None:
    """Headers follow the reader's language."""
    await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4, timezone="Africa/Lagos"
    )
    data = await attendance_workbook(date(2026, 1, 1), clock=clock, language="zh-Hans")
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames[0] == "汇总"
    assert book["LOS"]["B1"].value == "应出勤天数"


def test_which_month_a_day_reports() -> None:
    """The 26th reports its own month; the 2nd reports the month before."""
    from services.attendance_sheet import month_reported_on

    assert month_reported_on(date(2026, 11, 26)) == date(2026, 11, 1)
    assert month_reported_on(date(2026, 12, 2)) == date(2026, 11, 1)
    assert month_reported_on(date(2026, 1, 2)) == date(2025, 12, 1)


async def _staff(
    name: str, telegram_id: int, station: Station, joined: datetime, **values: Any
) -> Person:
    person = await Person.create(
        telegram_id=telegram_id, name=name, station=station, created_at=joined, **values
    )
    await PersonRole.create(person=person, role=Role.STAFF)
    return person


def _rows(data: bytes, sheet: str) -> dict[str, tuple[object, ...]]:
    book = load_workbook(io.BytesIO(data))
    return {r[0]: r[1:] for r in book[sheet].iter_rows(min_row=2, values_only=True)}


def _counts(row: tuple[object, ...]) -> tuple[int, ...]:
    """A row's cells as whole numbers; a cell that is not one fails the test."""
    assert all(isinstance(n, int) for n in row), row
    return tuple(n for n in row if isinstance(n, int))


async def test_counted_from_the_local_day_they_joined(db: str, clock: ManualClock) -> None:
    """Joined on 20 November, Lagos time: expected from that day, not from the 1st."""
    los = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4, timezone="Africa/Lagos"
    )
    # 23:30 UTC on the 19th is 00:30 on Friday the 20th in Lagos (UTC+1).
    await _staff("Tunde", 1, los, datetime(2026, 11, 19, 23, 30, tzinfo=UTC))
    await _staff("Later", 2, los, datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    clock.set(datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    november = _rows(await attendance_workbook(date(2026, 11, 1), clock=clock), "LOS")
    # Fri 20, Mon-Fri 23-27, Mon 30: 7 of November's 21 working days.
    #                          expected present late missed on_leave on_outing outside
    assert november == {"Tunde": (7, 0, 0, 7, 0, 0, 0)}
    october = _rows(await attendance_workbook(date(2026, 10, 1), clock=clock), "LOS")
    assert october == {}
    december = _rows(await attendance_workbook(date(2026, 12, 1), clock=clock), "LOS")
    # Tue 1 to Fri 4 for Tunde. Joined at 10:00 on the 3rd, after that day's window closed
    # (09:30): expected from Friday the 4th, as the daily digest would have it.
    assert december["Tunde"][0] == 4
    assert december["Later"][0] == 1


async def test_counted_until_the_local_day_they_left(db: str, clock: ManualClock) -> None:
    """Deactivated on Tuesday 10 November at 20:00 in Honolulu (06:00 UTC on the 11th), after
    that day's window closed: expected up to that Tuesday (not the UTC Wednesday), and still
    listed for November. Someone gone since October is not listed."""
    hnl = await Station.create(
        code="HNL",
        name="Honolulu",
        country="US",
        lat=21.3,
        lon=-157.9,
        timezone="Pacific/Honolulu",
    )
    await _staff(
        "Keola",
        1,
        hnl,
        LONG_AGO,
        active=False,
        deactivated_at=datetime(2026, 11, 11, 6, 0, tzinfo=UTC),
    )
    await _staff(
        "Gone",
        2,
        hnl,
        LONG_AGO,
        active=False,
        deactivated_at=datetime(2026, 10, 20, 6, 0, tzinfo=UTC),
    )
    clock.set(datetime(2026, 12, 2, 0, 0, tzinfo=UTC))
    rows = _rows(await attendance_workbook(date(2026, 11, 1), clock=clock), "HNL")
    # Mon 2 to Fri 6, Mon 9 and Tue 10.
    assert rows == {"Keola": (7, 0, 0, 7, 0, 0, 0)}


async def test_people_still_registering_count_in_neither_sheet_nor_digest(
    db: str, clock: ManualClock
) -> None:
    """One rule for both: staff who have not finished registering are not counted, in the
    month's sheet as in the day's missed check-in digest."""
    los = await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4, timezone="Africa/Lagos"
    )
    await _staff("Done", 1, los, LONG_AGO)
    await _staff("Halfway", 2, los, LONG_AGO, registration_step="phone")
    head = await Person.create(telegram_id=3, name="Head", station=los, created_at=LONG_AGO)
    await PersonRole.create(person=head, role=Role.HEAD)
    # Tuesday 3 November at 12:00 in Lagos: the 2nd and the 3rd have closed.
    clock.set(datetime(2026, 11, 3, 11, 0, tzinfo=UTC))
    rows = _rows(await attendance_workbook(date(2026, 11, 1), clock=clock), "LOS")
    assert rows == {"Done": (2, 0, 0, 2, 0, 0, 0)}
    missing = await missing_checkins(los, date(2026, 11, 3))
    assert [person.name for person in missing] == ["Done"]
    await run_station_day(los, clock=clock)
    (digest,) = await OutboxMessage.filter(msgid="attendance.missed_digest")
    assert digest.params["names"] == "Done"
    assert digest.params["count"] == 1


async def test_outing_days_have_their_own_column(db: str, clock: ManualClock) -> None:
    """A day excused by an approved outing is counted as such: a row adds up to its days."""
    los = await Station.create(
        code="LOS",
        name="Lagos",
        country="NG",
        lat=6.4,
        lon=3.4,
        timezone="Africa/Lagos",
        checkin_closes=time(9, 30),
    )
    ada = await _staff("Ada", 1, los, LONG_AGO)
    # Out from Tuesday 07:00 to Wednesday 18:00 (Lagos): both days excused.
    await Outing.create(
        person=ada,
        station=los,
        destination="Abuja",
        status=OutingStatus.RETURNED,
        leaves_at=datetime(2026, 11, 3, 6, 0, tzinfo=UTC),
        expected_return_at=datetime(2026, 11, 4, 17, 0, tzinfo=UTC),
    )
    await LeaveRequest.create(
        person=ada,
        station=los,
        start_date=date(2026, 11, 5),
        end_date=date(2026, 11, 5),
        status=RequestStatus.APPROVED,
    )
    await _checkin(ada, los, date(2026, 11, 2), 8)
    clock.set(datetime(2026, 11, 6, 12, 0, tzinfo=UTC))  # Friday 13:00 in Lagos
    data = await attendance_workbook(date(2026, 11, 1), clock=clock, language="en")
    book = load_workbook(io.BytesIO(data))
    header = next(book["LOS"].iter_rows(max_row=1, values_only=True))
    assert header == (
        "Name",
        "Working days",
        "Present",
        "Late",
        "Missed",
        "On leave",
        "On outing",
        "Outside geofence",
    )
    expected, present, _late, missed, on_leave, on_outing, _outside = _counts(
        _rows(data, "LOS")["Ada"]
    )
    assert (expected, present, missed, on_leave, on_outing) == (5, 1, 1, 1, 2)
    assert present + missed + on_leave + on_outing == expected
    chinese = await attendance_workbook(date(2026, 11, 1), clock=clock, language="zh-Hans")
    assert load_workbook(io.BytesIO(chinese))["LOS"]["G1"].value == "外出"


async def test_monthly_send_catches_up_after_its_day(db: str, clock: ManualClock) -> None:
    """Down all of the 26th: the sheet goes on the 27th, once; never before the 26th."""
    await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4, timezone="Africa/Lagos"
    )
    hq = await Person.create(telegram_id=9, name="HQ")
    await PersonRole.create(person=hq, role=Role.HQ)
    clock.set(datetime(2026, 11, 25, 23, 0, tzinfo=UTC))
    assert await send_monthly_sheets(clock=clock, day_of_month=26) == 0
    clock.set(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    assert await send_monthly_sheets(clock=clock, day_of_month=26) == 1
    clock.set(datetime(2026, 11, 28, 10, 0, tzinfo=UTC))
    assert await send_monthly_sheets(clock=clock, day_of_month=26) == 0
    keys = await OutboxMessage.filter(source_kind="attendance_sheet").values_list(
        "idempotency_key", flat=True
    )
    assert keys == [f"attendance-sheet:2026-11:{hq.id}"]


async def test_late_send_covers_the_month_of_its_day(db: str, clock: ManualClock) -> None:
    """Set to the 2nd (last month's sheet), a send caught up on the 17th is still last month's."""
    await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4, timezone="Africa/Lagos"
    )
    hq = await Person.create(telegram_id=9, name="HQ")
    await PersonRole.create(person=hq, role=Role.HQ)
    clock.set(datetime(2026, 12, 17, 10, 0, tzinfo=UTC))
    assert await send_monthly_sheets(clock=clock, day_of_month=2) == 1
    sent = await OutboxMessage.get(source_kind="attendance_sheet")
    assert sent.idempotency_key == f"attendance-sheet:2026-11:{hq.id}"


async def test_month_now_is_the_readers_station_month(db: str, clock: ManualClock) -> None:
    """At 07:30 on 1 December in Beijing it is still November in UTC: the sheet is December's."""
    pek = await Station.create(
        code="PEK", name="Beijing", country="CN", lat=39.9, lon=116.4, timezone="Asia/Shanghai"
    )
    head = await Person.create(telegram_id=1, name="Head", station=pek)
    hq = await Person.create(telegram_id=2, name="HQ")
    clock.set(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    assert await month_now(Actor(head, frozenset({Role.HEAD})), clock=clock) == date(2026, 12, 1)
    assert await month_now(Actor(hq, frozenset({Role.HQ})), clock=clock) == date(2026, 11, 1)


@pytest.mark.parametrize(
    ("text", "msgid"),
    [
        ("9999-12", "attendance.bad_month"),
        ("0001-01", "attendance.bad_month"),
        ("1999-12", "attendance.bad_month"),
        ("2100-01", "attendance.bad_month"),
        ("2026-00", "attendance.usage"),
        ("2026-13", "attendance.usage"),
        ("2026", "attendance.usage"),
        ("2026-11-01", "attendance.usage"),
        ("november", "attendance.usage"),
        ("9" * 5000 + "-1", "attendance.usage"),
    ],
)
def test_months_a_sheet_cannot_cover(text: str, msgid: str) -> None:
    """Each gets InvalidInput with a message for the reader, never an overflow later on."""
    with pytest.raises(InvalidInput) as refused:
        parse_month(text)
    assert refused.value.msgid == msgid
    assert len(str(refused.value)) < 120


def test_the_first_and_last_months_a_sheet_covers() -> None:
    """2000-01 and 2099-12 are read; the last one's days end on 31 December."""
    assert parse_month("2000-01") == date(2000, 1, 1)
    assert parse_month(" 2099-12 ") == date(2099, 12, 1)


def test_the_sheet_is_looked_at_hourly_from_its_day_to_the_months_end() -> None:
    """Before the day: on the day at 00:00 UTC; from it: the next hour; at the month's end:
    the day of the next month (across a year too)."""
    assert next_sheet_time(datetime(2026, 11, 3, 10, 20, tzinfo=UTC), 26) == datetime(
        2026, 11, 26, tzinfo=UTC
    )
    assert next_sheet_time(datetime(2026, 11, 26, 0, 0, tzinfo=UTC), 26) == datetime(
        2026, 11, 26, 1, tzinfo=UTC
    )
    assert next_sheet_time(datetime(2026, 11, 30, 23, 10, tzinfo=UTC), 26) == datetime(
        2026, 12, 26, tzinfo=UTC
    )
    assert next_sheet_time(datetime(2026, 12, 31, 23, 0, tzinfo=UTC), 2) == datetime(
        2027, 1, 2, tzinfo=UTC
    )


async def test_the_monthly_sheet_deadline_sends_once_and_comes_back(
    db: str, clock: ManualClock
) -> None:
    """Scheduled at start-up, fired: nothing before the 26th, the sheet on it, then hourly."""
    await Station.create(
        code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4, timezone="Africa/Lagos"
    )
    hq = await Person.create(telegram_id=9, name="HQ")
    await PersonRole.create(person=hq, role=Role.HQ)
    handlers = DeadlineHandlers()
    handlers.register(MONTHLY_SHEET, handle_monthly_sheet)

    async def fire() -> list[str]:
        fired = await fire_due(
            handlers=handlers,
            clock=clock,
            token="t",
            lease=timedelta(minutes=1),
            retry=RetryPolicy(),
        )
        return [f.outcome for f in fired]

    clock.set(datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    await schedule_monthly_sheet(clock=clock, day_of_month=26)
    assert await fire() == ["rescheduled"]
    assert not await OutboxMessage.exists(source_kind="attendance_sheet")
    clock.set(datetime(2026, 11, 25, 23, 59, tzinfo=UTC))
    assert await fire() == []
    clock.set(datetime(2026, 11, 26, 0, 0, tzinfo=UTC))
    assert await fire() == ["rescheduled"]
    assert await OutboxMessage.filter(source_kind="attendance_sheet").count() == 1
    clock.set(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))
    assert await fire() == ["rescheduled"]
    assert await OutboxMessage.filter(source_kind="attendance_sheet").count() == 1
