"""Telegram handlers: parse the update, call one service, render the answer."""

from __future__ import annotations

from typing import Any

from telegram import BotCommand
from telegram.ext import Application, CommandHandler

from handlers.chat import basic
from i18n import available_languages, translate

# Commands everyone sees, in menu order; later features add theirs.
PUBLIC_COMMANDS = ("start", "help", "cancel")


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach every chat handler to the application."""
    application.add_handler(CommandHandler("start", basic.start))
    application.add_handler(CommandHandler("help", basic.help_command))
    application.add_handler(CommandHandler("cancel", basic.cancel))


def command_menu(language: str) -> list[BotCommand]:
    """The command menu in one language."""
    return [BotCommand(name, translate(language, f"command.{name}")) for name in PUBLIC_COMMANDS]


async def publish_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Tell Telegram the command menu, once per language (English is the default)."""
    bot = application.bot
    await bot.set_my_commands(command_menu("en"))
    for language in available_languages():
        code = language.split("-")[0]
        if code != "en":
            await bot.set_my_commands(command_menu(language), language_code=code)
