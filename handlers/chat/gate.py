"""The gate every update passes first: strangers get one polite line, roles come from the DB.

Registered in handler group -1, so it runs before every other handler and stops them with
ApplicationHandlerStop when the sender may not go on.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, ContextTypes

from handlers.chat.common import clock_of, remember_actor
from handlers.chat.menus import ensure_menu_quietly
from handlers.chat.registration import prompt_step
from i18n import translate
from services.commands import BY_NAME, is_built, may_press, may_run
from services.people import Standing, access


def _command(update: Update) -> tuple[str, bool] | None:
    """The command a message carries (without @bot) and whether it has arguments."""
    message = update.message
    if message is None or not message.text or not message.text.startswith("/"):
        return None
    head, _, rest = message.text.partition(" ")
    return head[1:].split("@", 1)[0].lower(), bool(rest.strip())


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Let registered people through (within their roles); hold everyone else at the door."""
    user = update.effective_user
    if user is None:
        return
    await _private_chats_only(update, user.language_code)
    edited = update.edited_message
    if edited is not None and edited.location is None:
        # Only a live location's moves count; an edited command or text is not run again.
        raise ApplicationHandlerStop
    state = await access(user.id)
    command = _command(update)
    query = update.callback_query
    if state.standing == Standing.REGISTERED:
        assert state.actor is not None
        actor = state.actor
        remember_actor(context, user.id, actor)
        await ensure_menu_quietly(context.bot, actor.person, actor.roles)
        if command is not None:
            name = command[0]
            if not may_run(name, actor.roles):
                await _say(update, translate(actor.language, "error.not_allowed"))
                raise ApplicationHandlerStop
            if not is_built(name):
                msgid = "command.not_available" if name in BY_NAME else "help.unknown_command"
                await _say(update, translate(actor.language, msgid))
                raise ApplicationHandlerStop
        if query is not None and not may_press(query.data or "", actor.roles):
            await query.answer(translate(actor.language, "error.not_allowed"), show_alert=True)
            raise ApplicationHandlerStop
        return
    if state.standing == Standing.REGISTERING:
        assert state.person is not None
        message = update.message
        if message is not None and (message.contact is not None
                                    or (command is not None and command[0] == "start")):
            return
        if query is not None and (query.data or "").startswith(("lang:", "f1:")):
            return
        if query is not None:
            await query.answer()
        if message is not None:
            await prompt_step(message, state.person, clock_of(context))
        raise ApplicationHandlerStop
    # Unknown or deactivated: only an invitation link opens the door.
    if command is not None and command == ("start", True):
        return
    refusal = translate(user.language_code, "start.unregistered")
    if query is not None:
        await query.answer(refusal, show_alert=True)
    elif update.message is not None:
        await update.message.reply_text(refusal)
    raise ApplicationHandlerStop


async def _private_chats_only(update: Update, language: str | None) -> None:
    """Outpost talks to each person alone: nothing personal may land in a group, and a
    location shared there is not a check-in. A command there gets one line, the rest nothing."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    text = translate(language, "chat.private_only")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif _command(update) is not None and update.message is not None:
        await update.message.reply_text(text)
    raise ApplicationHandlerStop


async def _say(update: Update, text: str) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(text)
