"""/duty: a head sees the week's duty roster and sets who is on duty with two taps."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from handlers.chat.common import actor_of, actor_or_refuse, clock_of
from i18n import translate
from services.duty import candidates, roster, set_duty
from services.errors import DomainError
from services.people import Actor


async def _roster_view(actor: Actor, context: ContextTypes.DEFAULT_TYPE) -> tuple[str, Any]:
    days = await roster(actor=actor, clock=clock_of(context))
    nobody = translate(actor.language, "duty.nobody")
    lines = [translate(actor.language, "duty.title")]
    lines += [f"{d.day.isoformat()}: {d.person.name if d.person else nobody}" for d in days]
    buttons = [
        InlineKeyboardButton(d.day.strftime("%m-%d"), callback_data=f"duty:d:{d.day.isoformat()}")
        for d in days
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def duty_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the next seven days of the roster, a button per day to change it."""
    message = update.effective_message
    actor = await actor_or_refuse(update, context)
    if actor is None or message is None:
        return
    try:
        text, markup = await _roster_view(actor, context)
    except DomainError as error:
        await message.reply_text(translate(actor.language, error.msgid, **error.params))
        return
    await message.reply_text(text, reply_markup=markup)


async def duty_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A day pressed: offer the station's people; a person pressed: put them on duty."""
    query = update.callback_query
    if query is None or query.data is None or not isinstance(query.message, Message):
        return
    actor = await actor_of(context, query.from_user.id)
    if actor is None:
        await query.answer(translate(query.from_user.language_code, "error.not_allowed"))
        return
    parts = query.data.split(":")
    try:
        day = date.fromisoformat(parts[2])
        if parts[1] == "d":
            people = await candidates(actor=actor)
            rows = [
                [InlineKeyboardButton(p.name, callback_data=f"duty:s:{day.isoformat()}:{p.id}")]
                for p in people
            ]
            await query.answer()
            await query.edit_message_text(
                translate(actor.language, "duty.pick", date=day.isoformat()),
                reply_markup=InlineKeyboardMarkup(rows),
            )
            return
        await set_duty(actor=actor, day=day, person_id=int(parts[3]), clock=clock_of(context))
        text, markup = await _roster_view(actor, context)
    except DomainError as error:
        await query.answer(translate(actor.language, error.msgid, **error.params), show_alert=True)
        return
    await query.answer(translate(actor.language, "duty.saved"))
    await query.edit_message_text(text, reply_markup=markup)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach the duty roster handlers."""
    application.add_handler(CommandHandler("duty", duty_command))
    day = r"\d{4}-\d\d-\d\d"
    application.add_handler(
        CallbackQueryHandler(duty_pressed, pattern=rf"^duty:(d:{day}|s:{day}:\d+)$")
    )
