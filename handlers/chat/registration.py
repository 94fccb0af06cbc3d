"""Registration by invitation: /start <code>, the person's own phone, then their language."""

from __future__ import annotations

from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from handlers.chat.common import OutpostContext
from handlers.chat.edge import describe_error
from i18n import available_languages, language_name, translate
from services.callbacks import LanguagePick, encode
from services.errors import DomainError
from services.invites import STEP_PHONE, claim_invite, record_phone, registering


def language_buttons() -> InlineKeyboardMarkup:
    """One button per language, each labelled in its own language."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(language_name(tag), callback_data=encode(LanguagePick(tag)))]
         for tag in available_languages()]
    )


async def ask_phone(message: Message, language: str) -> None:
    """Ask for the person's own number with a contact-request button."""
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton(translate(language, "registration.share_phone"), request_contact=True)]],
        resize_keyboard=True, one_time_keyboard=True,
    )
    await message.reply_text(translate(language, "registration.ask_phone"), reply_markup=keyboard)


async def ask_language(message: Message, language: str) -> None:
    """Ask which language the person wants to read Outpost in."""
    await message.reply_text(
        translate(language, "registration.ask_language"), reply_markup=language_buttons()
    )


async def prompt_step(message: Message, person: Any) -> None:
    """Repeat the question of the step the person has reached."""
    if person.registration_step == STEP_PHONE:
        await ask_phone(message, person.language)
    else:
        await ask_language(message, person.language)


async def start(update: Update, context: OutpostContext) -> None:
    """Greet a registered person; with an invitation code, begin registering."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    if not context.args:
        actor = context.actor
        if actor is not None:
            await message.reply_text(
                translate(actor.language, "start.welcome", name=actor.person.name)
            )
            return
        person = await registering(user.id)
        if person is not None:
            await prompt_step(message, person)
        else:
            await message.reply_text(translate(user.language_code, "start.unregistered"))
        return
    registration = await claim_invite(
        code=context.args[0], telegram_id=user.id, name=user.full_name,
        telegram_language=user.language_code, clock=context.clock,
    )
    person = registration.person
    await message.reply_text(translate(person.language, "registration.welcome", name=person.name))
    await prompt_step(message, person)


async def contact(update: Update, context: OutpostContext) -> None:
    """Keep the phone number a registering person shared; only their own is accepted."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or message.contact is None:
        return
    shared = message.contact
    try:
        registration = await record_phone(
            telegram_id=user.id, phone_number=shared.phone_number,
            contact_user_id=shared.user_id,
        )
    except DomainError as exc:
        # Said here rather than by the error edge: the question is asked again after it.
        person = await registering(user.id)
        language = person.language if person is not None else user.language_code
        await message.reply_text(describe_error(language, exc))
        if person is not None:
            await prompt_step(message, person)
        return
    language = registration.person.language
    await message.reply_text(
        translate(language, "registration.phone_saved"), reply_markup=ReplyKeyboardRemove()
    )
    await ask_language(message, language)
