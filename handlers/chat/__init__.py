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
from handlers.chat.common import COMMANDS_KEY, OutpostContext
from handlers.chat.menus import sync_menus
from i18n import available_languages, translate
from services.callbacks import FlowAnswer, LanguagePick, StationRoster, pattern
from services.commands import CommandBook, public_menu


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach every chat handler to the application (the gate first, in group -1)."""
    application.add_handler(TypeHandler(Update, gate.gate), group=-1)
    application.add_handler(CommandHandler("start", registration.start))
    application.add_handler(CallbackQueryHandler(flows.on_press, pattern=pattern(FlowAnswer)))
    application.add_handler(CallbackQueryHandler(language.chosen, pattern=pattern(LanguagePick)))
    application.add_handler(CommandHandler("help", basic.help_command))
    application.add_handler(CommandHandler("cancel", flows.cancel))
    application.add_handler(CommandHandler("language", language.language_command))
    application.add_handler(CommandHandler("contacts", contacts.contacts_command))
    application.add_handler(CallbackQueryHandler(people.roster, pattern=pattern(StationRoster)))


def command_menu(language: str) -> list[BotCommand]:
    """The public command menu (people who are not registered) in one language."""
    return [BotCommand(name, text) for name, text in public_menu(language)]


def command_book(application: Application[Any, Any, Any, Any, Any, Any]) -> CommandBook:
    """The commands the application has handlers for (call once every handler is added)."""
    return CommandBook(
        command
        for group in application.handlers.values()
        for handler in group
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    )


def add_fallbacks(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Last of all: the handler that takes answers to a flow and answers whatever else is sent
    (text, a photo, a document, a sticker...), and one for a pressed button no handler took:
    never silence, never a spinning button."""
    application.add_handler(
        MessageHandler(
            # Everything but commands and locations (check-ins), down to stickers and voice notes.
            filters.UpdateType.MESSAGE
            & ~filters.COMMAND
            & ~filters.LOCATION
            & ~filters.VENUE
            & ~filters.StatusUpdate.ALL,
            flows.on_message,
        )
    )
    application.add_handler(CallbackQueryHandler(button_not_handled))


async def button_not_handled(update: Update, context: OutpostContext) -> None:
    """Answer a button press that no handler took (a kind without a handler yet)."""
    query, user = update.callback_query, update.effective_user
    if query is None:
        return
    actor = context.actor
    language = actor.language if actor is not None else (user.language_code if user else None)
    await query.answer(translate(language, "button.refused"), show_alert=True)


async def publish_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Publish the public menu once per language, then each registered person's own menu."""
    bot = application.bot
    await bot.set_my_commands(command_menu("en"))
    for language_tag in available_languages():
        code = language_tag.split("-")[0]
        if code != "en":
            await bot.set_my_commands(command_menu(language_tag), language_code=code)
    await sync_menus(bot, application.bot_data[COMMANDS_KEY])
