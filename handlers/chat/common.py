"""What every chat handler needs: the clock, and the person behind an update."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from i18n import translate
from services.clock import Clock
from services.people import Actor, identify

CLOCK_KEY = "clock"


def clock_of(context: ContextTypes.DEFAULT_TYPE) -> Clock:
    """The application's clock (put in bot_data by the wiring)."""
    clock: Clock = context.bot_data[CLOCK_KEY]
    return clock


async def actor_or_refuse(update: Update) -> Actor | None:
    """The registered person who sent the update; anyone else gets one polite line."""
    user, message = update.effective_user, update.effective_message
    if user is None:
        return None
    actor = await identify(user.id)
    if actor is None and message is not None:
        await message.reply_text(translate(user.language_code, "start.unregistered"))
    return actor
