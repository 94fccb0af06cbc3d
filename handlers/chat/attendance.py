"""/checkin: share a location; the answer says where, how far and whether inside the fence."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import KeyboardButton, Message, ReplyKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from db.enums import CheckInKind
from handlers.chat.common import OutpostContext
from i18n import format_distance, translate
from services.attendance import (
    CheckInResult,
    Position,
    StationHours,
    record_checkin,
    update_live_position,
)
from services.attendance_sheet import (
    attendance_workbook,
    month_now,
    parse_month,
    sheet_file_name,
    stations_for,
)
from services.callbacks import CheckInAsk, pattern
from services.errors import InvalidInput


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


def render_result(language: str, result: CheckInResult) -> str:
    """The answer to a check-in, in the person's language."""
    params: dict[str, Any] = {
        "time": result.local_time.strftime("%H:%M"),
        "station": result.station.name,
        "distance": format_distance(language, result.distance_m),
        "radius": format_distance(language, result.station.radius_m),
    }
    if result.repeated:
        return translate(language, "checkin.already", **params)
    if result.kind == CheckInKind.OUT:
        key = "checkout.done" if result.inside_geofence else "checkout.done_outside"
    else:
        key = "checkin.done" if result.inside_geofence else "checkin.done_outside"
    lines = [translate(language, key, **params)]
    if result.late:
        closes = StationHours.of(result.station).closes.strftime("%H:%M")
        lines.append(translate(language, "checkin.late", closes=closes))
    if result.poor_accuracy:
        accuracy = format_distance(language, result.checkin.accuracy_m or 0)
        lines.append(translate(language, "checkin.poor_accuracy", accuracy=accuracy))
    return "\n".join(lines)


async def location_received(update: Update, context: OutpostContext) -> None:
    """A shared location (pin or live) is a check-in, or a check-out after hours."""
    message = update.message
    if message is None or message.location is None:
        return
    actor = context.registered
    result = await record_checkin(
        actor=actor, position=_position(message), clock=context.clock,
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
    result = await update_live_position(
        actor=actor,
        message_id=message.message_id,
        position=_position(message),
        clock=context.clock,
    )
    if result is not None and not result.repeated:
        await message.reply_text(render_result(actor.language, result))


async def attendance_command(update: Update, context: OutpostContext) -> None:
    """Send the month's attendance sheet (`/attendance 2026-10` for another month)."""
    message = update.effective_message
    if message is None:
        return
    actor, clock = context.registered, context.clock
    # parse_month refuses a bad month with its own message (usage, or out of range).
    month = parse_month(context.args[0]) if context.args else await month_now(actor, clock=clock)
    stations = await stations_for(actor)
    data = await attendance_workbook(
        month, clock=clock, stations=stations, language=actor.language
    )
    await message.reply_document(
        document=data,
        filename=sheet_file_name(month),
        caption=translate(actor.language, "sheet.title", month=month.strftime("%Y-%m")),
    )


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach the attendance handlers."""
    application.add_handler(CommandHandler("checkin", checkin_command))
    application.add_handler(CommandHandler("attendance", attendance_command))
    application.add_handler(CallbackQueryHandler(checkin_button, pattern=pattern(CheckInAsk)))
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.LOCATION, location_received)
    )
    application.add_handler(
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.LOCATION, live_location_moved)
    )
