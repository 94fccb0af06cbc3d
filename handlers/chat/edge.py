"""The one edge where a handler's error becomes an answer to the person.

A service raises a DomainError (NotAllowed, NotFound, InvalidInput, Conflict...) with a msgid and
its params; the application's error handler says it in the person's language: as a reply to a
message, or as an alert answering a pressed button (which otherwise spins). A Conflict on a
button also takes the stale buttons off its message. Anything else is a bug: it is logged once
with its traceback (never the update's content), counted, and answered "error.generic".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from i18n import translate
from services.errors import Conflict, DomainError
from services.people import access

logger = logging.getLogger(__name__)


class ErrorEdge:
    """The application's error handler; `unexpected` counts the errors that were not
    DomainErrors (tests assert it stays zero under hostile input)."""

    def __init__(self, on_unexpected: Callable[[BaseException], None] | None = None) -> None:
        self.unexpected = 0
        # Told of every unexpected error of an update (the inbox then rolls its handling back).
        self.on_unexpected = on_unexpected

    async def __call__(self, update: object, context: Any) -> None:
        """Answer the update's sender for the error, then stop the update's other handlers."""
        error = context.error
        if not isinstance(update, Update):
            # A job's or the polling loop's error: nobody to answer.
            self.unexpected += 1
            logger.error("error outside an update (%s)", type(error).__name__, exc_info=error)
            return
        if isinstance(error, DomainError):
            logger.debug("update %s refused (%s)", update.update_id, type(error).__name__)
            msgid, params = error.msgid, error.params
        else:
            self.unexpected += 1
            if self.on_unexpected is not None:
                self.on_unexpected(error)
            logger.error("error while handling update %s", update.update_id, exc_info=error)
            msgid, params = "error.generic", {}
        text = describe(await _language(update), msgid, params)
        try:
            await _say(update, text, stale_buttons=isinstance(error, Conflict))
        except TelegramError as exc:
            logger.info("could not answer update %s (%s)", update.update_id, type(exc).__name__)
        raise ApplicationHandlerStop


def describe(language: str | None, msgid: str, params: dict[str, Any]) -> str:
    """A refusal in the person's language, with the error's params (never dropped)."""
    return translate(language, msgid, **params)


def describe_error(language: str | None, error: DomainError) -> str:
    """What a DomainError says to a person."""
    return describe(language, error.msgid, error.params)


async def _language(update: Update) -> str | None:
    """The sender's language: theirs in Outpost when known, else their Telegram app's."""
    user = update.effective_user
    if user is None:
        return None
    try:
        state = await access(user.id)
    except Exception:  # the database may be what failed
        logger.info("language of update %s not read", update.update_id)
        return user.language_code
    return state.person.language if state.person is not None else user.language_code


async def _say(update: Update, text: str, *, stale_buttons: bool) -> None:
    query = update.callback_query
    if query is not None:
        await query.answer(text, show_alert=True)
        message = query.message
        if stale_buttons and isinstance(message, Message) and message.reply_markup:
            await query.edit_message_reply_markup(reply_markup=None)
        return
    if update.effective_message is not None and update.edited_message is None:
        await update.effective_message.reply_text(text)
