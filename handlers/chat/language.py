"""/language and the language buttons (also the last step of registering)."""

from __future__ import annotations

from telegram import Message, Update

from handlers.chat.attendance import checkin_keyboard
from handlers.chat.common import OutpostContext
from handlers.chat.registration import language_buttons
from i18n import translate
from services.callbacks import LanguagePick, decode_as
from services.invites import finish_with_language
from services.people import set_language


async def language_command(update: Update, context: OutpostContext) -> None:
    """Offer the languages Outpost speaks, each named in itself."""
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(
        translate(context.registered.language, "language.choose"),
        reply_markup=language_buttons(context.registered.language),
    )


async def chosen(update: Update, context: OutpostContext) -> None:
    """Store the language pressed: finish registering, or switch."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    tag = decode_as(query.data, LanguagePick).tag
    if context.actor is not None:
        language = await set_language(context.actor, tag, clock=context.clock)
        msgid, name = "language.switched", context.actor.person.name
    else:
        # The gate lets a language button through only to someone registering.
        registration = await finish_with_language(
            telegram_id=user.id, language=tag, clock=context.clock
        )
        language, msgid = registration.person.language, "registration.done"
        name = registration.person.name
    await query.answer()
    if isinstance(query.message, Message) and query.message.reply_markup:
        await query.edit_message_reply_markup(reply_markup=None)
    # Their roles' menu, in the language just chosen: published in the background.
    context.menus.request(user.id)
    # The check-in button on the keyboard is sent again, labelled in the new language.
    keyboard = checkin_keyboard(language) if context.actor is not None else None
    await context.bot.send_message(
        user.id, translate(language, msgid, name=name), reply_markup=keyboard
    )
