"""/checkin: share a location; the answer says where, how far and whether inside the fence."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from db.enums import CheckInKind, Role
from handlers.chat import flows
from handlers.chat.common import OutpostContext
from i18n import format_clock, format_day, format_distance, translate
from services.attendance import (
    CheckInResult,
    DayMark,
    PersonToday,
    Position,
    StationToday,
    record_checkin,
    station_today_view,
    update_live_position,
    window_of,
)
from services.attendance_sheet import (
    month_now,
    month_sheet,
    parse_month,
    sheet_file_name,
    stations_for,
)
from services.callbacks import CheckInAsk, SheetAsk, decode_as, encode, pattern
from services.errors import InvalidInput
from services.outings import update_position as update_outing_position
from services.people import Actor


def checkin_keyboard(language: str) -> ReplyKeyboardMarkup:
    """The persistent keyboard whose button shares the phone's location in one tap."""
    button = KeyboardButton(translate(language, "checkin.button"), request_location=True)
    sos = KeyboardButton(translate(language, "sos.button.keyboard"))
    return ReplyKeyboardMarkup([[button], [sos]], resize_keyboard=True, is_persistent=True)


async def checkin_command(update: Update, context: OutpostContext) -> None:
    """Offer the check-in button (a location request) and say how it works."""
    message = update.effective_message
    if message is None:
        return
    actor = context.registered
    await message.reply_text(
        translate(actor.language, "checkin.ask"), reply_markup=checkin_keyboard(actor.language)
    )


async def checkin_button(update: Update, context: OutpostContext) -> None:
    """The reminder's inline button: answer it and offer the location keyboard."""
    query = update.callback_query
    if query is None:
        return
    actor = context.registered
    await query.answer()
    if not isinstance(query.message, Message):
        return
    await query.message.reply_text(
        translate(actor.language, "checkin.ask"), reply_markup=checkin_keyboard(actor.language)
    )


# Telegram's live_period for a live location shared until the person stops it.
LIVE_INDEFINITELY = 0x7FFFFFFF


def _position(message: Message) -> Position:
    location = message.location
    assert location is not None
    period = location.live_period
    seconds = int(period.total_seconds()) if isinstance(period, timedelta) else period
    if seconds is not None and not 0 <= seconds <= LIVE_INDEFINITELY:
        # Telegram sends 60 s to 24 h, or "until stopped": anything else is a forged client.
        raise InvalidInput("live period out of range")
    live_until = None
    if seconds is not None and seconds != LIVE_INDEFINITELY:
        live_until = message.date + timedelta(seconds=seconds)
    return Position(
        lat=location.latitude,
        lon=location.longitude,
        # A live location's update carries the time it moved; the message date is its start.
        sent_at=message.edit_date or message.date,
        accuracy_m=location.horizontal_accuracy,
        live=seconds is not None,
        forwarded=message.forward_origin is not None,
        live_until=live_until,
    )


def _correction_hint(language: str, result: CheckInResult) -> list[str]:
    """How long a check-in outside the geofence can still be corrected, if it can."""
    if result.correctable_until is None:
        return []
    until = result.correctable_until.astimezone(result.local_time.tzinfo)
    return [translate(language, "checkin.correct_until", until=format_clock(language, until))]


def render_result(language: str, result: CheckInResult) -> str:
    """The answer to a check-in, in the person's language, times on the station's clock."""
    params: dict[str, Any] = {
        "time": format_clock(language, result.local_time),
        "station": result.station.name,
        "distance": format_distance(language, result.distance_m),
        "radius": format_distance(language, result.station.radius_m),
    }
    first = result.first
    if first is not None:
        first_at = first.at.astimezone(result.local_time.tzinfo)
        params["first_time"] = format_clock(language, first_at)
        params["first_distance"] = format_distance(language, first.distance_m or 0)
    if result.repeated:
        if result.corrected:
            key = "checkin.already_corrected"
        else:
            key = "checkin.already" if result.inside_geofence else "checkin.already_outside"
        lines = [translate(language, key, **params)]
        return "\n".join([*lines, *_correction_hint(language, result)])
    if result.kind == CheckInKind.OUT:
        key = "checkout.done" if result.inside_geofence else "checkout.done_outside"
    elif result.corrected:
        key = "checkin.corrected"
    else:
        key = "checkin.done" if result.inside_geofence else "checkin.done_outside"
    lines = [translate(language, key, **params)]
    opens, closes = window_of(result.station, result.checkin.local_date)
    zone = result.local_time.tzinfo
    if result.late:
        # The seconds decide: 09:30:00 is on time, 09:30:40 is not, and both read "09:30".
        lines.append(
            translate(
                language,
                "checkin.late_exact",
                closes=format_clock(language, closes.astimezone(zone), seconds=True),
                time=format_clock(language, result.local_time, seconds=True),
            )
        )
    elif result.early:
        lines.append(
            translate(
                language,
                "checkin.early",
                opens=format_clock(language, opens.astimezone(zone)),
                closes=format_clock(language, closes.astimezone(zone)),
            )
        )
    lines.extend(_correction_hint(language, result))
    if result.poor_accuracy:
        accuracy = format_distance(language, result.checkin.accuracy_m or 0)
        lines.append(translate(language, "checkin.poor_accuracy", accuracy=accuracy))
    return "\n".join(lines)


async def location_received(update: Update, context: OutpostContext) -> None:
    """A shared location (pin or live) is a check-in, or a check-out after hours."""
    message = update.message
    if message is None or message.location is None:
        return
    if await flows.take_location(update, context):
        return  # the answer to a question that asked for a place (an outing's destination)
    actor = context.registered
    result = await record_checkin(
        actor=actor,
        position=_position(message),
        clock=context.clock,
        message_id=message.message_id,
    )
    await message.reply_text(
        render_result(actor.language, result), reply_markup=checkin_keyboard(actor.language)
    )


async def live_location_moved(update: Update, context: OutpostContext) -> None:
    """A live location moved: keep its latest position; on a new day it checks in again."""
    message = update.edited_message
    if message is None or message.location is None or context.actor is None:
        return
    actor = context.actor
    await update_outing_position(
        actor.person.id,
        message.location.latitude,
        message.location.longitude,
        at=context.clock.now(),
    )
    result = await update_live_position(
        actor=actor,
        message_id=message.message_id,
        position=_position(message),
        clock=context.clock,
    )
    if result is not None and not result.repeated:
        await message.reply_text(render_result(actor.language, result))


def _row_text(language: str, today: StationToday, row: PersonToday) -> str:
    name = row.person.name
    if row.mark != DayMark.IN or row.checkin is None:
        key = {
            DayMark.LEAVE: "attendance.row_leave",
            DayMark.OUTING: "attendance.row_outing",
            DayMark.MISSING: "attendance.row_missing",
            DayMark.WAITING: "attendance.row_waiting",
        }[row.mark]
        return translate(language, key, name=name)
    params: dict[str, Any] = {
        "name": name,
        "time": format_clock(language, row.checkin.at.astimezone(today.zone)),
        "distance": format_distance(language, row.checkin.distance_m or 0),
    }
    key = "attendance.row_outside" if row.outside else "attendance.row_in"
    line = translate(language, key, **params)
    notes = []
    if row.late:
        notes.append(translate(language, "attendance.note_late"))
    if row.early:
        notes.append(translate(language, "attendance.note_early"))
    if row.first is not None:
        notes.append(
            translate(
                language,
                "attendance.note_corrected",
                time=format_clock(language, row.first.at.astimezone(today.zone)),
                distance=format_distance(language, row.first.distance_m or 0),
            )
        )
    return " · ".join([line, *notes])


def render_station_today(language: str, today: StationToday) -> str:
    """A head's view of today at their station, times in the station's zone."""
    lines = [
        translate(
            language,
            "attendance.today_title",
            station=today.station.name,
            day=format_day(language, today.day),
            zone=today.zone.key,
        )
    ]
    if not today.working_day:
        lines.append(translate(language, "attendance.not_working_day"))
    if not today.rows:
        lines.append(translate(language, "attendance.nobody_expected"))
    lines.extend(_row_text(language, today, row) for row in today.rows)
    if not today.window_closed and today.count(DayMark.WAITING):
        closes = window_of(today.station, today.day)[1].astimezone(today.zone)
        lines.append(
            translate(language, "attendance.window_open", closes=format_clock(language, closes))
        )
    return "\n".join(lines)


def render_summary(language: str, days: list[StationToday]) -> str:
    """HQ's and safety's view of today: one line per station."""
    lines = [translate(language, "attendance.summary_title")]
    for today in days:
        lines.append(
            translate(
                language,
                "attendance.summary_row",
                code=today.station.code,
                station=today.station.name,
                day=format_day(language, today.day),
                expected=len(today.rows),
                present=today.count(DayMark.IN),
                late=today.late,
                outside=today.outside,
                leave=today.count(DayMark.LEAVE),
                outing=today.count(DayMark.OUTING),
                missing=today.count(DayMark.MISSING),
                waiting=today.count(DayMark.WAITING),
            )
        )
    if not days:
        lines.append(translate(language, "attendance.no_stations"))
    return "\n".join(lines)


def _sheet_button(language: str, month: date) -> InlineKeyboardMarkup:
    text = translate(language, "attendance.sheet_button", month=month.strftime("%Y-%m"))
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=encode(SheetAsk(month=month)))]]
    )


async def _send_sheet(message: Message, actor: Actor, month: date, clock: Any) -> None:
    sheet = await month_sheet(
        month, clock=clock, stations=await stations_for(actor), language=actor.language
    )
    if sheet.empty:
        await message.reply_text(
            translate(
                actor.language, "attendance.sheet_not_started", month=month.strftime("%Y-%m")
            )
        )
        return
    await message.reply_document(
        document=sheet.data,
        filename=sheet_file_name(month),
        caption=translate(actor.language, "sheet.title", month=month.strftime("%Y-%m")),
    )


async def attendance_command(update: Update, context: OutpostContext) -> None:
    """Today at the head's station (per station for HQ and safety), with a button for the
    month's sheet; `/attendance 2026-10` sends that month's sheet at once."""
    message = update.effective_message
    if message is None:
        return
    actor, clock = context.registered, context.clock
    if context.args:
        # parse_month refuses a bad month with its own message (usage, or out of range).
        await _send_sheet(message, actor, parse_month(context.args[0]), clock)
        return
    stations = await stations_for(actor)
    days = [await station_today_view(station, clock=clock) for station in stations]
    own = actor.person.station_id
    if (
        len(days) == 1
        and days[0].station.id == own
        and not actor.has(Role.HQ, Role.SAFETY, Role.ADMIN)
    ):
        text = render_station_today(actor.language, days[0])
    else:
        text = render_summary(actor.language, days)
    month = await month_now(actor, clock=clock)
    await message.reply_text(text, reply_markup=_sheet_button(actor.language, month))


async def sheet_button(update: Update, context: OutpostContext) -> None:
    """The button under today's attendance: the month's sheet, for whoever may read it now."""
    query = update.callback_query
    if query is None:
        return
    payload = decode_as(query.data, SheetAsk)
    actor = context.registered
    # stations_for checks the actor's roles as read from the database for this update.
    stations = await stations_for(actor)
    await query.answer()
    if not isinstance(query.message, Message) or not stations:
        return
    await _send_sheet(query.message, actor, payload.month, context.clock)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach the attendance handlers."""
    application.add_handler(CommandHandler("checkin", checkin_command))
    application.add_handler(CommandHandler("attendance", attendance_command))
    application.add_handler(CallbackQueryHandler(checkin_button, pattern=pattern(CheckInAsk)))
    application.add_handler(CallbackQueryHandler(sheet_button, pattern=pattern(SheetAsk)))
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.LOCATION, location_received)
    )
    application.add_handler(
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.LOCATION, live_location_moved)
    )
