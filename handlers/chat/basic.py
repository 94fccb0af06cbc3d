"""/start, /help and /cancel: the first things anyone sends."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from i18n import translate
from services.people import identify

HELP_COMMANDS = ("start", "help", "cancel")


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet a registered person; tell anyone else how to get an invitation."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    actor = await identify(user.id)
    if actor is None:
        await message.reply_text(translate(user.language_code, "start.unregistered"))
        return
    await message.reply_text(
        translate(actor.language, "start.welcome", name=actor.person.name)
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the commands this person can use, in their language."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    actor = await identify(user.id)
    if actor is None:
        await message.reply_text(translate(user.language_code, "start.unregistered"))
        return
    lines = [translate(actor.language, "help.intro")]
    lines += [
        f"/{name} — {translate(actor.language, f'command.{name}')}" for name in HELP_COMMANDS
    ]
    lines.append(translate(actor.language, "help.more_soon"))
    await message.reply_text("\n".join(lines))


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Leave whatever conversation is under way."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    actor = await identify(user.id)
    language = actor.language if actor else user.language_code
    await message.reply_text(translate(language, "cancel.done"))
