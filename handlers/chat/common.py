"""What every chat handler needs: the clock, and the person behind an update."""

from __future__ import annotations

from typing import Any, Protocol

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from services.clock import Clock
from services.commands import CommandBook
from services.errors import NotAllowed
from services.people import Actor, identify

# Keys of what the wiring puts in bot_data (one application's long-lived objects).
CLOCK_KEY = "clock"
COMMANDS_KEY = "commands"
MENUS_KEY = "menus"


Data = dict[Any, Any]


class MenuQueue(Protocol):
    """Where the gate drops "this person's command menu may be stale" (bot.menus)."""

    def notice(self, actor: Actor) -> None:
        """Queue the actor's menu when its fingerprint differs from the published one."""

    def request(self, telegram_id: int) -> None:
        """Queue the menu of this Telegram account to be published again."""


class OutpostContext(CallbackContext[ExtBot[None], Data, Data, Data]):
    """One update's context: who sent it (set by the gate) and the application's clock."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id, user_id)
        # The registered person behind the update, read once by the gate; None for anyone
        # else (someone registering, a stranger with an invitation, an update without sender).
        self.actor: Actor | None = None

    @property
    def clock(self) -> Clock:
        """The application's clock (tests move it)."""
        clock: Clock = self.bot_data[CLOCK_KEY]
        return clock

    @property
    def commands(self) -> CommandBook:
        """The commands this application has handlers for."""
        book: CommandBook = self.bot_data[COMMANDS_KEY]
        return book

    @property
    def menus(self) -> MenuQueue:
        """The background publisher of people's command menus."""
        menus: MenuQueue = self.bot_data[MENUS_KEY]
        return menus

    @property
    def registered(self) -> Actor:
        """The registered person behind the update; NotAllowed (answered by the error edge)
        when there is none."""
        if self.actor is None:
            raise NotAllowed("not registered", msgid="start.unregistered")
        return self.actor


def wire(
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    clock: Clock,
    commands: CommandBook,
    menus: MenuQueue,
) -> None:
    """Give the application's handlers their clock, command book and menu publisher."""
    application.bot_data[CLOCK_KEY] = clock
    application.bot_data[COMMANDS_KEY] = commands
    application.bot_data[MENUS_KEY] = menus


# Thin compatibility for handlers written before context.actor / context.clock.


async def actor_of(context: ContextTypes.DEFAULT_TYPE, telegram_id: int) -> Actor | None:
    """The registered person with this Telegram id (the gate's, else read from the database)."""
    actor = context.actor if isinstance(context, OutpostContext) else None
    if actor is not None and actor.person.telegram_id == telegram_id:
        return actor
    return await identify(telegram_id)


def clock_of(context: ContextTypes.DEFAULT_TYPE) -> Clock:
    """The application's clock (put in bot_data by the wiring)."""
    clock: Clock = context.bot_data[CLOCK_KEY]
    return clock
