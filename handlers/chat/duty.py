"""/duty: a head sees the week's duty roster and sets who is on duty with two taps."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.chat.common import OutpostContext
from i18n import format_day, translate
from services.callbacks import (
    DutyBack,
    DutyClear,
    DutyConfirm,
    DutyDay,
    DutyPick,
    MalformedCallback,
    decode,
    encode,
    pattern,
)
from services.duty import candidates, clear_duty, leave_on, roster, set_duty
from services.people import Actor

View = tuple[str, InlineKeyboardMarkup]
DAYS_PER_ROW = 2  # "Tue, Jan 6" twice fits a phone's width


def _button(
    text: str,
    payload: DutyBack | DutyClear | DutyConfirm | DutyDay | DutyPick,
) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=encode(payload))


async def _roster_view(actor: Actor, context: OutpostContext) -> View:
    language = actor.language
    days = await roster(actor=actor, clock=context.clock)
    nobody = translate(language, "duty.nobody")
    lines = [translate(language, "duty.title")]
    lines += [
        f"{format_day(language, d.day)}: {d.person.name if d.person else nobody}" for d in days
    ]
    buttons = [_button(format_day(language, d.day), DutyDay(d.day)) for d in days]
    rows = [buttons[i : i + DAYS_PER_ROW] for i in range(0, len(buttons), DAYS_PER_ROW)]
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def _picker_view(actor: Actor, context: OutpostContext, day: date) -> View:
    """The station's staff and heads for one day (the one on duty marked), clear and back."""
    language = actor.language
    current = next(
        (d.person for d in await roster(actor=actor, clock=context.clock) if d.day == day), None
    )
    rows = [
        [
            _button(
                f"✓ {p.name}" if current is not None and p.id == current.id else p.name,
                DutyPick(day, p.id),
            )
        ]
        for p in await candidates(actor=actor)
    ]
    if current is not None:
        rows.append([_button(translate(language, "duty.clear"), DutyClear(day))])
    rows.append([_button(translate(language, "flow.button.back"), DutyBack())])
    return (
        translate(language, "duty.pick", date=format_day(language, day, year=True)),
        InlineKeyboardMarkup(rows),
    )


async def duty_command(update: Update, context: OutpostContext) -> None:
    """Show the next seven days of the roster, a button per day to change it."""
    message = update.effective_message
    if message is None:
        return
    text, markup = await _roster_view(context.registered, context)
    await message.reply_text(text, reply_markup=markup)


async def duty_pressed(update: Update, context: OutpostContext) -> None:
    """A day: offer the station's people. A person: put them on duty (after a warning when
    they are on leave that day). Clear, back: as they say."""
    query = update.callback_query
    if query is None:
        return
    actor, button = context.registered, decode(query.data)
    if not isinstance(query.message, Message):
        raise MalformedCallback("the roster's message is gone")
    language, clock = actor.language, context.clock
    notice: str | None = None
    if isinstance(button, DutyDay):
        text, markup = await _picker_view(actor, context, button.day)
    elif isinstance(button, DutyBack):
        text, markup = await _roster_view(actor, context)
    elif isinstance(button, DutyClear):
        await clear_duty(actor=actor, day=button.day, clock=clock)
        notice = translate(language, "duty.cleared")
        text, markup = await _roster_view(actor, context)
    elif isinstance(button, DutyPick) and await leave_on(button.person_id, button.day):
        # The choice is checked against the station by set_duty once confirmed.
        people = {p.id: p for p in await candidates(actor=actor)}
        person = people.get(button.person_id)
        if person is None:
            raise MalformedCallback("not a person of this roster")
        text = translate(
            language,
            "duty.on_leave",
            name=person.name,
            date=format_day(language, button.day, year=True),
        )
        markup = InlineKeyboardMarkup(
            [
                [
                    _button(
                        translate(language, "duty.on_leave_confirm"),
                        DutyConfirm(button.day, button.person_id),
                    )
                ],
                [_button(translate(language, "duty.pick_another"), DutyDay(button.day))],
                [_button(translate(language, "flow.button.back"), DutyBack())],
            ]
        )
    elif isinstance(button, DutyPick | DutyConfirm):
        await set_duty(
            actor=actor,
            day=button.day,
            person_id=button.person_id,
            clock=clock,
            confirmed=isinstance(button, DutyConfirm),
        )
        notice = translate(language, "duty.saved")
        text, markup = await _roster_view(actor, context)
    else:
        raise MalformedCallback("not a duty button")
    await query.answer(notice)
    await query.edit_message_text(text, reply_markup=markup)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach the duty roster handlers."""
    application.add_handler(CommandHandler("duty", duty_command))
    application.add_handler(
        CallbackQueryHandler(
            duty_pressed, pattern=pattern(DutyDay, DutyPick, DutyClear, DutyBack, DutyConfirm)
        )
    )
