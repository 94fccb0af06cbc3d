"""What every chat handler needs: the clock, and the person behind an update."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from i18n import translate
from services.clock import Clock
from services.people import Actor, identify

CLOCK_KEY = "clock"


Data = dict[Any, Any]


class OutpostContext(CallbackContext[ExtBot[None], Data, Data, Data]):
    """One update's context: remembers who sent it, so the gate and the handler ask once."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id, user_id)
        self.actors: dict[int, Actor | None] = {}


async def actor_of(context: ContextTypes.DEFAULT_TYPE, telegram_id: int) -> Actor | None:
    """The registered person with this Telegram id, read once per update from the database."""
    if isinstance(context, OutpostContext):
        if telegram_id not in context.actors:
            context.actors[telegram_id] = await identify(telegram_id)
        return context.actors[telegram_id]
    return await identify(telegram_id)


def remember_actor(context: ContextTypes.DEFAULT_TYPE, telegram_id: int, actor: Actor) -> None:
    """Keep what the gate read for the handlers of the same update."""
    if isinstance(context, OutpostContext):
        context.actors[telegram_id] = actor


def clock_of(context: ContextTypes.DEFAULT_TYPE) -> Clock:
    """The application's clock (put in bot_data by the wiring)."""
    clock: Clock = context.bot_data[CLOCK_KEY]
    return clock


async def actor_or_refuse(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> Actor | None:
    """The registered person who sent the update; anyone else gets one polite line."""
    user, message = update.effective_user, update.effective_message
    if user is None:
        return None
    actor = await actor_of(context, user.id)
    if actor is None and message is not None:
        await message.reply_text(translate(user.language_code, "start.unregistered"))
    return actor
