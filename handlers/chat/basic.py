"""/help (/cancel is in handlers/chat/flows.py)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers.chat.common import actor_or_refuse
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

