"""Telegram handlers: parse the update, call one service, render the answer."""

from __future__ import annotations

from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers.chat import basic, contacts, flows, gate, language, people, registration
from handlers.chat.menus import sync_menus
from i18n import available_languages
from services.commands import mark_built, public_menu


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach every chat handler to the application (the gate first, in group -1)."""
    application.add_handler(TypeHandler(Update, gate.gate), group=-1)
    application.add_handler(CommandHandler("start", registration.start))
    application.add_handler(CallbackQueryHandler(flows.on_press, pattern=r"^f1:"))
    application.add_handler(CallbackQueryHandler(language.chosen, pattern=r"^lang:"))
    application.add_handler(CommandHandler("help", basic.help_command))
    application.add_handler(CommandHandler("cancel", flows.cancel))
    application.add_handler(CommandHandler("language", language.language_command))
    application.add_handler(CommandHandler("contacts", contacts.contacts_command))
    application.add_handler(CallbackQueryHandler(people.roster, pattern=r"^roster:"))


def register_fallbacks(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach, after every other handler, the one that takes answers to a flow and answers
    whatever else is sent (text, a photo, a document, a sticker...): never silence."""
    application.add_handler(MessageHandler(
        # Everything but commands and locations (check-ins), down to stickers and voice notes.
        filters.UpdateType.MESSAGE & ~filters.COMMAND & ~filters.LOCATION & ~filters.VENUE
        & ~filters.StatusUpdate.ALL,
        flows.on_message,
    ))


def command_menu(language: str) -> list[BotCommand]:
    """The public command menu (people who are not registered) in one language."""
    return [BotCommand(name, text) for name, text in public_menu(language)]


async def publish_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Publish the public menu once per language, then each registered person's own menu."""
    mark_built(
        command
        for group in application.handlers.values()
        for handler in group
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    )
    bot = application.bot
    await bot.set_my_commands(command_menu("en"))
    for language_tag in available_languages():
        code = language_tag.split("-")[0]
        if code != "en":
            await bot.set_my_commands(command_menu(language_tag), language_code=code)
    await sync_menus(bot)
