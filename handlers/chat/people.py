"""The station roster a head opens from the new-registration notice."""

from __future__ import annotations

from telegram import Update

from handlers.chat.common import OutpostContext
from i18n import translate
from services.callbacks import StationRoster, decode_as
from services.people import station_roster


async def roster(update: Update, context: OutpostContext) -> None:
    """Show the people of a station to its head (HQ and safety see any station)."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    button = decode_as(query.data, StationRoster)
    actor = context.registered
    language = actor.language
    lines = await station_roster(actor, button.station_id)
    await query.answer()
    text = [translate(language, "roster.title", count=len(lines))]
    for line in lines:
        roles = ", ".join(translate(language, f"role.{role}") for role in line.roles)
        pending = f" ({translate(language, 'roster.registering')})" if line.registering else ""
        text.append(f"• {line.name} — {roles}{pending}")
    await context.bot.send_message(user.id, "\n".join(text))
