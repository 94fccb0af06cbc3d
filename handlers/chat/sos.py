"""SOS in one tap, the responders' buttons, positions after an SOS, and /incidents."""

from __future__ import annotations

from html import escape
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from db.enums import IncidentStatus, Lane
from handlers.chat.common import OutpostContext
from i18n import translate
from services import sos
from services.callbacks import (
    IncidentCancel,
    IncidentClose,
    IncidentEmbassy,
    IncidentNature,
    IncidentTake,
    decode_as,
    encode,
    pattern,
)
from services.emergency import emergency_numbers
from services.people import Actor
from services.updates import reply_on_lane

# Open incidents shown with their closing buttons by /incidents.
MAX_CLOSE_CARDS = 10


def location_keyboard(language: str) -> ReplyKeyboardMarkup:
    """One button that shares the phone's position with the responders."""
    share = KeyboardButton(translate(language, "sos.button.share_location"), request_location=True)
    return ReplyKeyboardMarkup([[share]], resize_keyboard=True, one_time_keyboard=True)


def nature_keyboard(language: str, incident_id: int) -> InlineKeyboardMarkup:
    """What happened, and the false-alarm button."""

    def choice(nature: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            translate(language, f"sos.nature.{nature}"),
            callback_data=encode(IncidentNature(incident_id, nature)),
        )

    return InlineKeyboardMarkup(
        [
            [choice("medical"), choice("security")],
            [choice("accident"), choice("detained")],
            [choice("other")],
            [
                InlineKeyboardButton(
                    translate(language, "sos.button.cancel"),
                    callback_data=encode(IncidentCancel(incident_id)),
                )
            ],
        ]
    )


async def _numbers(actor: Actor) -> str:
    lines = []
    for entry in await emergency_numbers(actor):
        kind = translate(actor.language, f"contacts.kind.{entry.kind}")
        phone = entry.phone or ""
        lines.append(
            f"{escape(kind)} · {escape(entry.name)}: "
            f'<a href="tel:{escape(phone)}">{escape(entry.phone_display or phone)}</a>'
        )
    return "\n".join(lines)


async def raise_alarm(message: Message, context: OutpostContext) -> None:
    """The alarm goes out at once, then the person is asked for a position and what happened."""
    reply_on_lane(Lane.EMERGENCY)
    actor = context.registered
    language = actor.language
    raised = await sos.raise_sos(actor=actor, clock=context.clock)
    msgid = "sos.help_called" if raised.new else "sos.already_open"
    text = escape(translate(language, msgid))
    numbers = await _numbers(actor)
    if numbers:
        text += "\n\n" + escape(translate(language, "sos.call_now")) + "\n" + numbers
    await message.reply_text(
        text, parse_mode=ParseMode.HTML, reply_markup=location_keyboard(language)
    )
    await message.reply_text(
        translate(language, "sos.what_happened"),
        reply_markup=nature_keyboard(language, raised.incident.id),
    )


async def sos_command(update: Update, context: OutpostContext) -> None:
    """/sos: the alarm, no questions first."""
    message = update.effective_message
    if message is not None:
        await raise_alarm(message, context)


async def take_pressed(update: Update, context: OutpostContext) -> None:
    """ "I'm handling it": the database lets the first responder have it."""
    query = update.callback_query
    if query is None:
        return
    reply_on_lane(Lane.EMERGENCY)
    button = decode_as(query.data, IncidentTake)
    actor = context.registered
    await sos.take(actor=actor, incident_id=button.incident_id, clock=context.clock)
    await query.answer(translate(actor.language, "sos.you_took"))


async def nature_pressed(update: Update, context: OutpostContext) -> None:
    """The person says what happened."""
    query = update.callback_query
    if query is None:
        return
    reply_on_lane(Lane.EMERGENCY)
    button = decode_as(query.data, IncidentNature)
    actor = context.registered
    await sos.set_nature(
        actor=actor, incident_id=button.incident_id, nature=button.nature, clock=context.clock
    )
    await query.answer(translate(actor.language, "sos.nature_sent"))


async def cancel_pressed(update: Update, context: OutpostContext) -> None:
    """A false alarm: called off, everyone alerted is told."""
    query = update.callback_query
    if query is None:
        return
    reply_on_lane(Lane.EMERGENCY)
    button = decode_as(query.data, IncidentCancel)
    actor = context.registered
    await sos.cancel_sos(actor=actor, incident_id=button.incident_id, clock=context.clock)
    await query.answer()
    if isinstance(query.message, Message):
        await query.edit_message_text(translate(actor.language, "sos.cancelled"))


async def embassy_pressed(update: Update, context: OutpostContext) -> None:
    """A safety officer has the embassy told now (once per incident)."""
    query = update.callback_query
    if query is None:
        return
    reply_on_lane(Lane.EMERGENCY)
    button = decode_as(query.data, IncidentEmbassy)
    actor = context.registered
    told = await sos.notify_embassy(
        actor=actor, incident_id=button.incident_id, clock=context.clock
    )
    await query.answer(
        translate(actor.language, "sos.embassy_told" if told else "sos.embassy_already")
    )


async def position_received(update: Update, context: OutpostContext) -> None:
    """A position (or a live location moving) from someone with an open SOS moves it."""
    message = update.effective_message
    actor = context.actor
    if message is None or message.location is None or actor is None:
        return
    await sos.position_update(
        actor=actor,
        lat=message.location.latitude,
        lon=message.location.longitude,
        clock=context.clock,
    )


def close_keyboard(language: str, incident_id: int) -> InlineKeyboardMarkup:
    """The outcomes an incident may be closed with."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    translate(language, f"incidents.close.{outcome}"),
                    callback_data=encode(IncidentClose(incident_id, outcome)),
                )
            ]
            for outcome in sos.OUTCOMES
        ]
    )


async def incidents_command(update: Update, context: OutpostContext) -> None:
    """/incidents: open ones first (each with its closing buttons), for safety and HQ."""
    message = update.effective_message
    if message is None:
        return
    actor = context.registered
    language = actor.language
    found = await sos.open_incidents_for(actor)
    if not found:
        await message.reply_text(translate(language, "incidents.none"))
        return
    lines = [translate(language, "incidents.title")]
    open_ones = []
    for listed in found:
        lines.append(
            translate(
                language,
                "incidents.line",
                id=listed.incident.id,
                name=listed.name,
                status=translate(language, f"incidents.status.{listed.incident.status}"),
                kind=translate(language, f"sos.nature.{listed.incident.nature or 'unknown'}"),
                opened=listed.incident.opened_at.strftime("%Y-%m-%d %H:%M UTC"),
            )
        )
        if listed.incident.status != IncidentStatus.CLOSED:
            open_ones.append(listed)
    await message.reply_text("\n".join(lines))
    for listed in open_ones[:MAX_CLOSE_CARDS]:
        await message.reply_text(
            translate(language, "incidents.close_ask", id=listed.incident.id, name=listed.name),
            reply_markup=close_keyboard(language, listed.incident.id),
        )


async def close_pressed(update: Update, context: OutpostContext) -> None:
    """Safety or HQ closes an incident with an outcome."""
    query = update.callback_query
    if query is None:
        return
    button = decode_as(query.data, IncidentClose)
    actor = context.registered
    await sos.close_incident(
        actor=actor, incident_id=button.incident_id, outcome=button.outcome, clock=context.clock
    )
    await query.answer()
    if isinstance(query.message, Message):
        await query.edit_message_text(
            translate(
                actor.language,
                "incidents.closed",
                id=button.incident_id,
                outcome=translate(actor.language, f"incidents.outcome.{button.outcome}"),
            )
        )


async def relay(message: Message, actor: Actor, context: OutpostContext) -> bool:
    """Text from the person in danger or the responder handling it goes to the incident and
    everyone following it; False when the actor has no open incident."""
    if not message.text:
        return False
    incident = await sos.post_message(actor=actor, text=message.text, clock=context.clock)
    if incident is None:
        return False
    reply_on_lane(Lane.EMERGENCY)
    await message.reply_text(translate(actor.language, "sos.relay_sent"))
    return True


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach the SOS handlers (the words "SOS", "help"... are matched in the message handler)."""
    application.add_handler(CommandHandler("sos", sos_command))
    application.add_handler(CommandHandler("incidents", incidents_command))
    application.add_handler(CallbackQueryHandler(take_pressed, pattern=pattern(IncidentTake)))
    application.add_handler(CallbackQueryHandler(close_pressed, pattern=pattern(IncidentClose)))
    application.add_handler(CallbackQueryHandler(nature_pressed, pattern=pattern(IncidentNature)))
    application.add_handler(CallbackQueryHandler(cancel_pressed, pattern=pattern(IncidentCancel)))
    application.add_handler(
        CallbackQueryHandler(embassy_pressed, pattern=pattern(IncidentEmbassy))
    )
    # After the check-in handlers (group 0): a position also moves an open SOS.
    application.add_handler(MessageHandler(filters.LOCATION, position_received), group=1)
