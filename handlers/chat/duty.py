"""/duty: a head sees the week's duty roster and sets who is on duty with two taps."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.chat.common import OutpostContext
from i18n import translate
from services.callbacks import DutyDay, DutyPick, MalformedCallback, decode, encode, pattern
from services.duty import candidates, roster, set_duty
from services.people import Actor


async def _roster_view(actor: Actor, context: OutpostContext) -> tuple[str, Any]:
    days = await roster(actor=actor, clock=context.clock)
    nobody = translate(actor.language, "duty.nobody")
    lines = [translate(actor.language, "duty.title")]
    lines += [f"{d.day.isoformat()}: {d.person.name if d.person else nobody}" for d in days]
    buttons = [
        InlineKeyboardButton(d.day.strftime("%m-%d"), callback_data=encode(DutyDay(d.day)))
        for d in days
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def duty_command(update: Update, context: OutpostContext) -> None:
    """Show the next seven days of the roster, a button per day to change it."""
    message = update.effective_message
    if message is None:
        return
    text, markup = await _roster_view(context.registered, context)
    await message.reply_text(text, reply_markup=markup)


async def duty_pressed(update: Update, context: OutpostContext) -> None:
    """A day pressed: offer the station's people; a person pressed: put them on duty."""
    query = update.callback_query
    if query is None:
        return
    actor, button = context.registered, decode(query.data)
    if not isinstance(query.message, Message):
        raise MalformedCallback("the roster's message is gone")
    if isinstance(button, DutyDay):
        people = await candidates(actor=actor)
        rows = [
            [InlineKeyboardButton(p.name, callback_data=encode(DutyPick(button.day, p.id)))]
            for p in people
        ]
        await query.answer()
        await query.edit_message_text(
            translate(actor.language, "duty.pick", date=button.day.isoformat()),
            reply_markup=InlineKeyboardMarkup(rows),
        )
        return
    if not isinstance(button, DutyPick):
        raise MalformedCallback("not a duty button")
    await set_duty(actor=actor, day=button.day, person_id=button.person_id, clock=context.clock)
    text, markup = await _roster_view(actor, context)
    await query.answer(translate(actor.language, "duty.saved"))
    await query.edit_message_text(text, reply_markup=markup)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach the duty roster handlers."""
    application.add_handler(CommandHandler("duty", duty_command))
    application.add_handler(CallbackQueryHandler(duty_pressed, pattern=pattern(DutyDay, DutyPick)))
