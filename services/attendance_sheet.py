"""The monthly attendance summary (考勤汇总表), per station and person, as an XLSX workbook."""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from db.enums import Lane, RequestStatus, Role
from db.models import Deadline, Holiday, LeaveRequest, OutboxMessage, Person, Station
from i18n import translate
from services.attendance import (
    Membership,
    StationHours,
    counted_checkins,
    counted_staff,
    excused_ids,
    is_late,
)
from services.clock import Clock
from services.deadlines import schedule
from services.errors import InvalidInput, NotAllowed
from services.localtime import at_local, station_zone
from services.notify import Attachment, notify
from services.people import Actor, station_today

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# present + missed + on_leave + on_outing = expected; late and outside count present days.
COLUMNS = ("name", "expected", "present", "late", "missed", "on_leave", "on_outing", "outside")


@dataclass
class PersonMonth:
    """One person's month at one station."""

    person: Person
    expected: int = 0
    present: int = 0
    late: int = 0
    missed: int = 0
    on_leave: int = 0
    on_outing: int = 0
    outside: int = 0


@dataclass
class StationMonth:
    """A station's month: its people's rows."""

    station: Station
    rows: list[PersonMonth] = field(default_factory=list)
    # The month's working days whose check-in window has closed: the days that count so far.
    closed_days: int = 0


# The months a sheet may cover: a month outside is a typing mistake (and 9999-12 has no end
# that the calendar can reach).
FIRST_MONTH = date(2000, 1, 1)
LAST_MONTH = date(2099, 12, 1)


def parse_month(text: str) -> date:
    """'2026-11' → date(2026, 11, 1), or InvalidInput saying what a month looks like."""
    try:
        year, month = (int(part) for part in text.strip().split("-"))
        first = date(year, month, 1)
    except ValueError:
        raise InvalidInput(
            f"not a month: {text[:32]!r} (expected YYYY-MM)", msgid="attendance.usage"
        ) from None
    if not FIRST_MONTH <= first <= LAST_MONTH:
        raise InvalidInput(
            f"{first:%Y-%m} is outside {FIRST_MONTH:%Y-%m} to {LAST_MONTH:%Y-%m}",
            msgid="attendance.bad_month",
            first=f"{FIRST_MONTH:%Y-%m}",
            last=f"{LAST_MONTH:%Y-%m}",
        )
    return first


def _month_days(month: date) -> list[date]:
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return [month + timedelta(days=i) for i in range((following - month).days)]


async def station_month(station: Station, month: date, *, clock: Clock) -> StationMonth:
    """Count each staff member's month; a day counts once its check-in window has closed.

    The people are the daily digest's (`counted_staff`: staff who finished registering). A
    person counts from the local day they joined until the day before they were deactivated
    (there is no history of moves between stations: a person counts at their current one).
    """
    zone = station_zone(station)
    hours = StationHours.of(station)
    now = clock.now()
    holidays = set(
        await Holiday.filter(station_id=station.id, date__gte=month).values_list("date", flat=True)
    )
    days = _month_days(month)
    closed_days = [
        day
        for day in days
        if day.isoweekday() in (station.working_days or [])
        and day not in holidays
        and at_local(day, hours.closes, zone) <= now
    ]
    people = await counted_staff(station).order_by("name")
    # The day's first sign-in, or the one from inside that corrected it.
    first_in = await counted_checkins(station.id, month, days[-1])
    leave = await LeaveRequest.filter(
        station_id=station.id,
        status=RequestStatus.APPROVED,
        start_date__lte=days[-1],
        end_date__gte=month,
    )
    leave_days: dict[int, set[date]] = defaultdict(set)
    for request in leave:
        day = request.start_date
        while day <= request.end_date:
            leave_days[request.person_id].add(day)
            day += timedelta(days=1)
    excused_by_day = {day: await excused_ids(station, day) for day in closed_days}
    result = StationMonth(station=station, closed_days=len(closed_days))
    for person in people:
        membership = Membership.of(person, zone, hours.closes)
        if not any(membership.includes(day) for day in days):
            continue
        row = PersonMonth(person=person)
        for day in closed_days:
            if not membership.includes(day):
                continue
            row.expected += 1
            first = first_in.get((person.id, day))
            if first is not None:
                row.present += 1
                if is_late(first, station):
                    row.late += 1
                if not first.inside_geofence:
                    row.outside += 1
            elif day in leave_days[person.id]:
                row.on_leave += 1
            elif person.id in excused_by_day[day]:
                # The daily digest's excuse: leave, handled above, or an approved outing.
                row.on_outing += 1
            else:
                row.missed += 1
        result.rows.append(row)
    return result


async def month_now(actor: Actor, *, clock: Clock) -> date:
    """The month it is for the reader: on their station's calendar, UTC's without a station."""
    return (await station_today(actor, clock)).replace(day=1)


async def stations_for(actor: Actor) -> list[Station]:
    """The stations whose sheet the actor may read: all for HQ and admins, their own for a head."""
    if actor.has(Role.HQ, Role.ADMIN, Role.SAFETY):
        return await Station.filter(active=True).order_by("code")
    if actor.has(Role.HEAD) and actor.person.station_id is not None:
        return await Station.filter(id=actor.person.station_id)
    raise NotAllowed("attendance sheets are for heads and HQ")


def _sheet_title(text: str, used: set[str]) -> str:
    # Excel sheet names: at most 31 characters, none of []:*?/\ .
    title = "".join("_" if c in "[]:*?/\\" else c for c in text)[:31] or "Sheet"
    base, n = title, 2
    while title in used:
        title = f"{base[:28]}_{n}"
        n += 1
    used.add(title)
    return title


def build_workbook(months: list[StationMonth], month: date, language: str) -> bytes:
    """The workbook: a summary sheet, then one sheet per station."""
    book = Workbook()
    summary = book.active
    assert summary is not None
    used: set[str] = set()
    summary.title = _sheet_title(translate(language, "sheet.summary"), used)
    header = [translate(language, f"sheet.{name}") for name in COLUMNS]
    summary.append([translate(language, "sheet.title", month=month.strftime("%Y-%m"))])
    summary.append([translate(language, "sheet.station"), *header[1:]])
    for station_month_ in months:
        totals = [sum(getattr(row, name) for row in station_month_.rows) for name in COLUMNS[1:]]
        summary.append([f"{station_month_.station.code} {station_month_.station.name}", *totals])
        sheet = book.create_sheet(_sheet_title(station_month_.station.code, used))
        sheet.append(header)
        for row in station_month_.rows:
            sheet.append([row.person.name, *(getattr(row, name) for name in COLUMNS[1:])])
        _style(sheet)
    summary["A1"].font = Font(bold=True, size=13)
    for cell in summary[2]:
        cell.font = Font(bold=True)
    summary.column_dimensions["A"].width = 32
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _style(sheet: object) -> None:
    for cell in sheet[1]:  # type: ignore[index]
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 28  # type: ignore[attr-defined]
    for index in range(2, len(COLUMNS) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 12  # type: ignore[attr-defined]
    sheet.freeze_panes = "B2"  # type: ignore[attr-defined]


async def attendance_workbook(
    month: date, *, clock: Clock, stations: list[Station] | None = None, language: str = "en"
) -> bytes:
    """The month's workbook for `stations` (all active ones by default)."""
    chosen = (
        stations if stations is not None else await Station.filter(active=True).order_by("code")
    )
    months = [await station_month(station, month, clock=clock) for station in chosen]
    return build_workbook(months, month, language)


@dataclass(frozen=True)
class MonthSheet:
    """A month's workbook, and whether any day of it counts yet."""

    month: date
    data: bytes
    # The most closed working days at any one station: 0 when the month has only just begun
    # (or is still ahead), and the sheet holds names but no days.
    closed_days: int

    @property
    def empty(self) -> bool:
        """True when no day of the month counts yet at any station."""
        return self.closed_days == 0


async def month_sheet(
    month: date, *, clock: Clock, stations: list[Station], language: str
) -> MonthSheet:
    """The month's workbook for `stations`, saying whether any of its days counts yet."""
    months = [await station_month(station, month, clock=clock) for station in stations]
    return MonthSheet(
        month=month,
        data=build_workbook(months, month, language),
        closed_days=max((m.closed_days for m in months), default=0),
    )


def sheet_file_name(month: date) -> str:
    """attendance-2026-11.xlsx"""
    return f"attendance-{month.strftime('%Y-%m')}.xlsx"


def month_reported_on(day: date) -> date:
    """Which month's sheet is due on `day`: the current one late in a month (the 26th), the
    previous one early in the next (the 2nd), as the two regulations have it.
    """
    first = day.replace(day=1)
    return first if day.day >= 16 else (first - timedelta(days=1)).replace(day=1)


async def send_monthly_sheets(*, clock: Clock, day_of_month: int) -> int:
    """From the configured day to the month's end, queue the sheet to every HQ person who has
    not had it yet; returns how many. Fired hourly in that period (`handle_monthly_sheet`), so
    a bot down on the day, or HQ person added later, gets it later.
    """
    # UTC: the sheet covers every station, so no one station's calendar decides the day.
    today = clock.now().date()
    if today.day < day_of_month:
        return 0
    # The month due on the configured day, also when caught up after the 16th.
    month = month_reported_on(today.replace(day=day_of_month))
    queued = 0
    recipients = await Person.filter(active=True, roles__role=Role.HQ).distinct().order_by("id")
    for person in recipients:
        key = f"attendance-sheet:{month.strftime('%Y-%m')}:{person.id}"
        if await OutboxMessage.filter(idempotency_key=key).exists():
            continue
        data = await attendance_workbook(month, clock=clock, language=person.language)
        await notify(
            recipient=person,
            msgid="sheet.title",
            params={"month": month.strftime("%Y-%m")},
            lane=Lane.ROUTINE,
            idempotency_key=key,
            source_kind="attendance_sheet",
            source_id=int(month.strftime("%Y%m")),
            clock=clock,
            attachment=Attachment(file_name=sheet_file_name(month), data=data, mime_type=XLSX),
        )
        queued += 1
    return queued


# One deadline: the next time the monthly sheet is looked at.
MONTHLY_SHEET = "attendance_sheet"
MONTHLY_SHEET_KEY = "monthly"


def next_sheet_time(now: datetime, day_of_month: int) -> datetime:
    """When to look at the monthly sheet after `now` (UTC): every hour from the configured
    day to the month's end, then on that day of the next month."""
    now = now.astimezone(UTC)
    next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if now.day >= day_of_month and next_hour.month == now.month:
        return next_hour
    first = now.date().replace(day=1)
    if now.day >= day_of_month:
        first = (first + timedelta(days=32)).replace(day=1)
    return datetime.combine(first.replace(day=day_of_month), time(0), tzinfo=UTC)


async def handle_monthly_sheet(deadline: Deadline, clock: Clock) -> datetime | None:
    """Queue the sheet to whoever is due it, and return when to look again."""
    day_of_month = int(deadline.payload["day_of_month"])
    await send_monthly_sheets(clock=clock, day_of_month=day_of_month)
    return next_sheet_time(clock.now(), day_of_month)


async def schedule_monthly_sheet(*, clock: Clock, day_of_month: int) -> None:
    """Look at the monthly sheet now (at start-up, the configured day may have changed)."""
    await schedule(MONTHLY_SHEET, MONTHLY_SHEET_KEY, clock.now(), {"day_of_month": day_of_month})
