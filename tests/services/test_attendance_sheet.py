"""The monthly attendance sheet: its numbers match the check-ins, leave and calendar."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time

from openpyxl import load_workbook

from db.enums import CheckInKind, RequestStatus, Role
from db.models import CheckIn, Holiday, LeaveRequest, Person, PersonRole, Station
from services.attendance_sheet import attendance_workbook, parse_month
from services.clock import ManualClock


async def _checkin(person: Person, station: Station, day: date, hour: int, minute: int = 0,
                   inside: bool = True) -> None:
    # Lagos is UTC+1: local 08:00 is 07:00 UTC.
    at = datetime(day.year, day.month, day.day, hour - 1, minute, tzinfo=UTC)
    await CheckIn.create(person=person, station=station, kind=CheckInKind.IN, at=at,
                         local_date=day, lat=6.4, lon=3.4, inside_geofence=inside)


async def test_sheet_numbers_match_the_data(db: str, clock: ManualClock) -> None:
    """November 2026 at Lagos: 21 working days minus one holiday, counted per person."""
    los = await Station.create(code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4,
                               timezone="Africa/Lagos", checkin_closes=time(9, 30))
    acc = await Station.create(code="ACC", name="Accra", country="GH", lat=5.6, lon=-0.2,
                               timezone="Africa/Accra")
    wang = await Person.create(telegram_id=1, name="Wang", station=los)
    amina = await Person.create(telegram_id=2, name="Amina", station=los)
    kofi = await Person.create(telegram_id=3, name="Kofi", station=acc)
    head = await Person.create(telegram_id=4, name="Head", station=los)
    for person in (wang, amina, kofi):
        await PersonRole.create(person=person, role=Role.STAFF)
    await PersonRole.create(person=head, role=Role.HEAD)
    await Holiday.create(station=los, date=date(2026, 11, 2), name="Holiday")
    # Wang: present on 3, 4 (late), 5 (outside); the rest missed.
    await _checkin(wang, los, date(2026, 11, 3), 8)
    await _checkin(wang, los, date(2026, 11, 4), 10, 15)
    await _checkin(wang, los, date(2026, 11, 5), 8, inside=False)
    # Amina: on approved leave 9-13 November, present on the 3rd, a check-in on the holiday.
    await LeaveRequest.create(person=amina, station=los, start_date=date(2026, 11, 9),
                              end_date=date(2026, 11, 13), status=RequestStatus.APPROVED)
    await _checkin(amina, los, date(2026, 11, 3), 8)
    # The month is read on 16 November at 12:00 Lagos time: 16 November counts, 17 not yet.
    clock.set(datetime(2026, 11, 16, 11, 0, tzinfo=UTC))
    data = await attendance_workbook(parse_month("2026-11"), clock=clock, language="en")
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Summary", "ACC", "LOS"]
    rows = {r[0]: r[1:] for r in book["LOS"].iter_rows(min_row=2, values_only=True)}
    # Working days 2-16 Nov: 11 (Mon-Fri), minus the holiday on the 2nd = 10.
    #               expected present late missed on_leave outside
    assert rows["Wang"] == (10, 3, 1, 7, 0, 1)
    assert rows["Amina"] == (10, 1, 0, 4, 5, 0)
    assert "Head" not in rows
    accra = {r[0]: r[1:] for r in book["ACC"].iter_rows(min_row=2, values_only=True)}
    assert accra["Kofi"] == (11, 0, 0, 11, 0, 0)
    summary = list(book["Summary"].iter_rows(values_only=True))
    assert summary[0][0] == "Attendance summary 2026-11"
    assert summary[1][:3] == ("Station", "Working days", "Present")
    assert summary[3] == ("LOS Lagos", 20, 4, 1, 11, 5, 1)


async def test_sheet_in_chinese(db: str, clock: ManualClock) -> None:
    """Headers follow the reader's language."""
    await Station.create(code="LOS", name="Lagos", country="NG", lat=6.4, lon=3.4,
                         timezone="Africa/Lagos")
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
