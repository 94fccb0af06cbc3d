"""Registration by invitation: /start <code>, then the registration flow (the person's own
phone, then their language; services.invites.REGISTRATION_FLOW)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from db.models import Person
from handlers.chat.common import OutpostContext
from handlers.chat.flows import send_turn
from i18n import available_languages, language_name, translate
from services.callbacks import LanguagePick, encode
from services.clock import Clock, SystemClock
from services.conversations import TurnKind, current_prompt
from services.invites import claim_invite, registering, resume_registration


def language_buttons(current: str | None = None) -> InlineKeyboardMarkup:
    """One button per language, each labelled in its own language (/language); the
    `current` one is marked."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"✓ {language_name(tag)}" if tag == current else language_name(tag),
                    callback_data=encode(LanguagePick(tag)),
                )
            ]
            for tag in available_languages()
        ]
    )


async def prompt_step(message: Message, person: Person, clock: Clock | None = None) -> None:
    """Repeat the question of the registration step the person has reached (kept in their
    conversation, so it is the same after a restart)."""
    clock = clock or SystemClock()
    await resume_registration(person, clock)
    turn = await current_prompt(person.telegram_id, actor=None, clock=clock)
    if turn.kind == TurnKind.NO_FLOW:
        await message.reply_text(translate(person.language, "start.unregistered"))
        return
    await send_turn(message.get_bot(), person.telegram_id, person.language, turn)


async def start(update: Update, context: OutpostContext) -> None:
    """Greet a registered person; with an invitation code, begin registering."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    clock = context.clock
    if not context.args:
        actor = context.actor
        if actor is not None:
            await message.reply_text(
                translate(actor.language, "start.welcome", name=actor.person.name)
            )
            return
        person = await registering(user.id)
        if person is not None:
            await prompt_step(message, person, clock)
        else:
            await message.reply_text(translate(user.language_code, "start.unregistered"))
        return
    registration = await claim_invite(
        code=context.args[0],
        telegram_id=user.id,
        name=user.full_name,
        telegram_language=user.language_code,
        clock=clock,
    )
    person = registration.person
    await message.reply_text(translate(person.language, "registration.welcome", name=person.name))
    await prompt_step(message, person, clock)
