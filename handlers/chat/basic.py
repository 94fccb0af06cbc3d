"""/help and /cancel."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers.chat.common import actor_of, actor_or_refuse
from i18n import translate
from services.commands import commands_for


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the commands this person can use, in their language."""
    message = update.effective_message
    actor = await actor_or_refuse(update, context)
    if actor is None or message is None:
        return
    lines = [translate(actor.language, "help.intro")]
    lines += [
        f"/{spec.name} — {translate(actor.language, spec.description)}"
        for spec in commands_for(actor.roles)
    ]
    lines.append(translate(actor.language, "help.more_soon"))
    await message.reply_text("\n".join(lines))


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Leave whatever conversation is under way."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    actor = await actor_of(context, user.id)
    language = actor.language if actor else user.language_code
    await message.reply_text(translate(language, "cancel.done"))
