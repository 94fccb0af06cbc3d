"""Sending outbox messages on Telegram through a python-telegram-bot Bot."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from http import HTTPStatus
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    WebAppInfo,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.delivery.base import Outcome, RenderedMessage
from db.enums import Channel

logger = logging.getLogger(__name__)

_STATUS_IN_MESSAGE = re.compile(r"\((\d{3})\)")
_STATUS_BY_PHRASE = {status.phrase.lower(): int(status) for status in HTTPStatus}


def status_of(message: str) -> int | None:
    """The HTTP status PTB folded into an error message ("Bad Gateway", "... (502)")."""
    match = _STATUS_IN_MESSAGE.search(message)
    if match:
        return int(match.group(1))
    return _STATUS_BY_PHRASE.get(message.strip().rstrip(".").lower())


def reply_markup(
    rows: list[list[dict[str, Any]]] | None,
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    """Rendered button rows as Telegram's keyboard: a keyboard under the message box when they
    request the location (a message carries one kind of keyboard), else inline buttons."""
    if rows and any(spec.get("request_location") for row in rows for spec in row):
        return ReplyKeyboardMarkup(
            [
                [KeyboardButton(spec["text"], request_location=True) for spec in row]
                for row in rows
            ],
            resize_keyboard=True,
            is_persistent=True,
        )
    return inline_keyboard(rows)


def inline_keyboard(rows: list[list[dict[str, Any]]] | None) -> InlineKeyboardMarkup | None:
    """Rendered button rows as Telegram's inline keyboard (an edit can carry no other: a
    location request is left out)."""
    rows = [[spec for spec in row if not spec.get("request_location")] for row in rows or []]
    rows = [row for row in rows if row]
    if not rows:
        return None
    keyboard = []
    for row in rows:
        buttons = []
        for spec in row:
            if spec.get("web_app"):
                buttons.append(
                    InlineKeyboardButton(spec["text"], web_app=WebAppInfo(spec["web_app"]))
                )
            elif spec.get("url"):
                buttons.append(InlineKeyboardButton(spec["text"], url=spec["url"]))
            else:
                buttons.append(
                    InlineKeyboardButton(spec["text"], callback_data=spec["callback_data"])
                )
        keyboard.append(buttons)
    return InlineKeyboardMarkup(keyboard)


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# Telegram refuses captions longer than this.
CAPTION_LIMIT = 1024


class TelegramSender:
    """Calls sendMessage; maps PTB's errors onto outcomes."""

    channel = Channel.TELEGRAM
    paced = True

    def __init__(self, bot: Bot, *, own_bot: bool = False) -> None:
        self.bot = bot
        # True when this sender initializes and shuts the bot down itself.
        self._own_bot = own_bot

    async def start(self) -> None:
        """Initialize the bot when this sender owns it."""
        if self._own_bot:
            await self.bot.initialize()

    async def stop(self) -> None:
        """Shut the bot down when this sender owns it."""
        if self._own_bot:
            await self.bot.shutdown()

    async def send(self, message: RenderedMessage) -> Outcome:
        """Send one message; 429 throttles, network errors retry, 400/403 are final."""
        if message.edit_of is not None:
            return await self.edit(message)
        chat_id: int | str = int(message.address) if _is_int(message.address) else message.address
        try:
            if message.document is not None:
                file_name, data = message.document
                sent = await self.bot.send_document(
                    chat_id=chat_id,
                    document=data,
                    filename=file_name,
                    caption=message.text[:CAPTION_LIMIT],
                    parse_mode=message.parse_mode,
                    reply_markup=_reply_markup(message),
                )
            else:
                sent = await self.bot.send_message(
                    chat_id=chat_id,
                    text=message.text,
                    parse_mode=message.parse_mode,
                    reply_markup=_reply_markup(message),
                    allow_paid_broadcast=True if message.paid else None,
                )
        except TelegramError as exc:
            return outcome_of(exc)
        return Outcome.sent(str(sent.message_id))

    async def edit(self, message: RenderedMessage) -> Outcome:
        """Edit a message sent before (its text, or a document's caption) and its buttons.

        Telegram refuses an edit that changes nothing ("message is not modified"): the message
        already reads as asked, so that counts as done.
        """
        assert message.edit_of is not None
        chat_id: int | str = int(message.address) if _is_int(message.address) else message.address
        markup = inline_keyboard(message.buttons)
        try:
            if message.edit_caption:
                await self.bot.edit_message_caption(
                    chat_id=chat_id,
                    message_id=int(message.edit_of),
                    caption=message.text[:CAPTION_LIMIT],
                    reply_markup=markup,
                )
            else:
                await self.bot.edit_message_text(
                    chat_id=chat_id,
                    message_id=int(message.edit_of),
                    text=message.text,
                    reply_markup=markup,
                )
        except BadRequest as exc:
            if NOT_MODIFIED in exc.message.lower():
                return Outcome.sent(message.edit_of)
            return outcome_of(exc)
        except TelegramError as exc:
            return outcome_of(exc)
        return Outcome.sent(message.edit_of)


# Part of Telegram's answer to an edit that would leave the message as it is.
NOT_MODIFIED = "message is not modified"


def outcome_of(exc: TelegramError) -> Outcome:
    """PTB's error as an outcome: 429 throttles, network errors retry, 400/403 are final."""
    if isinstance(exc, RetryAfter):
        return Outcome(
            "throttled",
            http_status=429,
            error="Flood control exceeded",
            retry_after=_seconds(exc.retry_after),
        )
    if isinstance(exc, Forbidden):
        return Outcome("failed", http_status=403, error=exc.message, blocked=True)
    if isinstance(exc, ChatMigrated):
        return Outcome("failed", http_status=400, error=f"chat migrated: {exc.message}")
    if isinstance(exc, BadRequest):
        return Outcome("failed", http_status=400, error=exc.message)
    if isinstance(exc, InvalidToken):
        # A wrong token is a configuration fault: keep the message and try later.
        return Outcome("retry", http_status=401, error=exc.message)
    if isinstance(exc, TimedOut):
        return Outcome("retry", error=f"timed out: {exc.message}")
    if isinstance(exc, NetworkError):
        return Outcome("retry", http_status=status_of(exc.message), error=exc.message)
    return Outcome("retry", error=f"{type(exc).__name__}: {exc.message}")


def _reply_markup(message: RenderedMessage) -> Any:
    # A raw reply_markup goes to Telegram as is (PTB serialises a dict unchanged).
    if message.reply_markup is not None:
        return message.reply_markup
    return reply_markup(message.buttons)


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def make_bot(token: str, api_url: str, *, connection_pool_size: int = 256) -> Bot:
    """A PTB Bot on the aiohttp backend for the Bot API server at `api_url`."""
    from bot.delivery.aiohttp_request import AiohttpRequest

    base = api_url.rstrip("/")
    return Bot(
        token,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=AiohttpRequest(connection_pool_size=connection_pool_size),
        get_updates_request=AiohttpRequest(connection_pool_size=1, read_timeout=30.0),
    )
