"""Command menus per person: their roles' commands, described in their language."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from telegram import BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from services.people import menus_to_refresh, published_menu

if TYPE_CHECKING:
    from db.enums import Role
    from db.models import Person
    from services.commands import CommandBook

logger = logging.getLogger(__name__)


async def ensure_menu(bot: Any, book: CommandBook, person: Person, roles: frozenset[Role]) -> None:
    """Publish the person's menu when their roles or language changed since the last time."""
    key = book.menu_key(roles, person.language)
    if person.menu_key == key:
        return
    commands = [BotCommand(name, text) for name, text in book.menu(roles, person.language)]
    await bot.set_my_commands(commands, scope=BotCommandScopeChat(person.telegram_id))
    await published_menu(person, key)


async def drop_menu(bot: Any, person: Person) -> None:
    """Remove a deactivated person's own menu: they see the public one again."""
    await bot.delete_my_commands(scope=BotCommandScopeChat(person.telegram_id))
    await published_menu(person, None)


async def sync_menus(bot: Any, book: CommandBook) -> None:
    """At start-up: bring every person's menu up to date (after imports, role changes...)."""
    published = failed = 0
    for person, roles in await menus_to_refresh():
        try:
            if roles is None:
                await drop_menu(bot, person)
            elif person.menu_key != book.menu_key(roles, person.language):
                await ensure_menu(bot, book, person, roles)
            else:
                continue
            published += 1
        except TelegramError as exc:
            # Someone imported who never opened the bot has no chat yet: retried next start.
            failed += 1
            logger.info("command menu not published (%s)", type(exc).__name__)
    if published or failed:
        logger.info("command menus: %d published, %d not reachable", published, failed)
