"""The station roster a head opens from the new-registration notice."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers.chat.common import actor_of
from i18n import translate
from services.errors import DomainError
from services.people import station_roster


async def roster(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the people of a station to its head (HQ and safety see any station)."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    actor = await actor_of(context, user.id)
    language = actor.language if actor else user.language_code
    try:
        station_id = int(query.data.split(":", 1)[1])
        lines = await station_roster(actor, station_id)
    except (ValueError, DomainError) as exc:
        msgid = exc.msgid if isinstance(exc, DomainError) else "error.invalid_input"
        await query.answer(translate(language, msgid), show_alert=True)
        return
    await query.answer()
    text = [translate(language, "roster.title", count=len(lines))]
    for line in lines:
        roles = ", ".join(translate(language, f"role.{role}") for role in line.roles)
        pending = f" ({translate(language, 'roster.registering')})" if line.registering else ""
        text.append(f"• {line.name} — {roles}{pending}")
    await context.bot.send_message(user.id, "\n".join(text))
