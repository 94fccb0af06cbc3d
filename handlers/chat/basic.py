"""/help (/cancel is in handlers/chat/flows.py)."""

from __future__ import annotations

from telegram import Update

from handlers.chat.common import OutpostContext
from i18n import translate


async def help_command(update: Update, context: OutpostContext) -> None:
    """List the commands this person can use, in their language."""
    message = update.effective_message
    if message is None:
        return
    actor = context.registered
    lines = [translate(actor.language, "help.intro")]
    lines += [
        f"/{spec.name} — {translate(actor.language, spec.description)}"
        for spec in context.commands.commands_for(actor.roles)
    ]
    lines.append(translate(actor.language, "help.more_soon"))
    await message.reply_text("\n".join(lines))
