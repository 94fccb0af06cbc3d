"""The gate every update passes first: one access decision, turned into stop or go on.

Registered in handler group -1, so it runs before every other handler and stops them with
ApplicationHandlerStop when the sender may not go on. What to decide is services.access's; the
gate only describes the update, sets `context.actor`, queues a stale command menu for the
background publisher (never on the update's path) and says the refusal.
"""

from __future__ import annotations

from telegram import Update, User
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from handlers.chat.common import OutpostContext
from handlers.chat.registration import prompt_step
from i18n import translate
from services.access import Knock, Verdict, admit


def command_of(update: Update) -> tuple[str, bool] | None:
    """The command a new message carries (without @bot) and whether it has arguments."""
    message = update.message
    if message is None or not message.text or not message.text.startswith("/"):
        return None
    head, _, rest = message.text.partition(" ")
    return head[1:].split("@", 1)[0].lower(), bool(rest.strip())


def knock_of(update: Update, user: User) -> Knock:
    """What the update asks for, in the access service's terms."""
    chat = update.effective_chat
    command = command_of(update)
    edited = update.edited_message
    query = update.callback_query
    return Knock(
        telegram_id=user.id,
        telegram_language=user.language_code,
        private_chat=chat is None or chat.type == ChatType.PRIVATE,
        message=update.message is not None,
        command=command[0] if command else None,
        command_has_args=command[1] if command else False,
        contact=update.message is not None and update.message.contact is not None,
        # Only a live location's moves count; an edited command or text is not run again.
        edited_text=edited is not None and edited.location is None,
        callback=query is not None,
        callback_data=query.data if query is not None else None,
    )


async def gate(update: Update, context: OutpostContext) -> None:
    """Let people through within their roles; hold everyone else at the door."""
    user = update.effective_user
    if user is None:
        return
    admission = await admit(knock_of(update, user), commands=context.commands)
    context.actor = admission.actor
    if admission.actor is not None:
        context.menus.notice(admission.actor)
    if admission.verdict == Verdict.PASS:
        return
    text = translate(admission.language, admission.msgid) if admission.msgid else None
    query = update.callback_query
    if query is not None:
        await query.answer(text, show_alert=text is not None)
    elif text is not None and update.effective_message is not None:
        await update.effective_message.reply_text(text)
    if admission.verdict == Verdict.PROMPT and update.message is not None:
        assert admission.person is not None
        await prompt_step(update.message, admission.person, context.clock)
    raise ApplicationHandlerStop
