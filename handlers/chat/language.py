"""/language and the language buttons (also the last step of registering)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers.chat.common import clock_of
from handlers.chat.menus import ensure_menu
from handlers.chat.registration import language_buttons
from i18n import translate
from services.errors import DomainError
from services.invites import finish_with_language
from services.people import Standing, access, set_language


async def language_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer the languages Outpost speaks, each named in itself."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    state = await access(user.id)
    if state.actor is None:
        return
    await message.reply_text(
        translate(state.actor.language, "language.choose"), reply_markup=language_buttons()
    )


async def chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Store the language pressed: finish registering, or switch."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    tag = query.data.split(":", 1)[1]
    state = await access(user.id)
    try:
        if state.standing == Standing.REGISTERING:
            registration = await finish_with_language(
                telegram_id=user.id, language=tag, clock=clock_of(context)
            )
            language, msgid = registration.person.language, "registration.done"
            name = registration.person.name
        elif state.actor is not None:
            language = await set_language(state.actor, tag, clock=clock_of(context))
            msgid, name = "language.switched", state.actor.person.name
        else:
            return
    except DomainError as exc:
        await query.answer(translate(user.language_code, exc.msgid), show_alert=True)
        return
    await query.answer()
    if query.message is not None:
        await query.edit_message_reply_markup(reply_markup=None)
    fresh = await access(user.id)
    if fresh.actor is not None:
        await ensure_menu(context.bot, fresh.actor.person, fresh.actor.roles)
    await context.bot.send_message(user.id, translate(language, msgid, name=name))
