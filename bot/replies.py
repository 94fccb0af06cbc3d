"""The bot the chat handlers talk to: their replies are captured for the outbox, the calls that
must be immediate go out at once and are tried again when Telegram fails."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

from telegram import InputFile, TelegramObject, Update
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import ExtBot

from services.updates import Reply

logger = logging.getLogger(__name__)

# Sent through the outbox when called while an update is handled.
CAPTURED_METHODS = frozenset({"sendMessage", "sendDocument"})
# Direct calls that fail with a 5xx, a timeout or a lost connection are tried this many times
# more, waiting this long before each (seconds).
DIRECT_RETRY_DELAYS = (0.1, 0.3, 0.9)
# A direct call told to wait longer than this (429 retry_after) fails instead: the update's
# transaction must not be held open that long. Only that chat waits.
MAX_DIRECT_RETRY_AFTER = 2.0
# How many answered callback query ids a process remembers (queries expire within minutes).
ANSWERED_KEPT = 10_000
# Answers that mean a direct call was already done (by an earlier handling of the same update).
_ALREADY_DONE = ("message is not modified", "query is too old", "query id is invalid")


@dataclass
class Capture:
    """The replies of the update being handled, and whether its handling failed."""

    update_id: int
    replies: list[Reply] = field(default_factory=list)
    failed: bool = False
    # What the handler raised (an error the handler edge caught and answered).
    error: BaseException | None = None
    # What to do once the update's transaction has committed (never if it rolls back).
    after_commit: list[Callable[[], None]] = field(default_factory=list)


_capture: ContextVar[Capture | None] = ContextVar("capture", default=None)


def start_capture(update_id: int) -> tuple[Capture, Token[Capture | None]]:
    """From now on (in this task), replies are recorded instead of sent."""
    capture = Capture(update_id)
    return capture, _capture.set(capture)


def stop_capture(token: Token[Capture | None]) -> None:
    """Send directly again."""
    _capture.reset(token)


def after_commit(callback: Callable[[], None]) -> bool:
    """Run `callback` once the update being handled is committed; False when no update is being
    handled here (the caller then acts at once). Work done in another task (a command menu
    published in the background) must not read the database before the update's changes are
    there: a person who just finished registering is still registering until the commit."""
    capture = _capture.get()
    if capture is None:
        return False
    capture.after_commit.append(callback)
    return True


def mark_failed(error: BaseException | None = None) -> None:
    """The handling of the update being handled raised `error` (called by the error handler):
    its transaction is rolled back."""
    capture = _capture.get()
    if capture is not None:
        capture.failed = True
        capture.error = error


def _markup(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, TelegramObject):
        return value.to_dict()
    return dict(value)


def _document(value: Any) -> tuple[str, bytes, str]:
    if not isinstance(value, InputFile) or not isinstance(value.input_file_content, bytes):
        raise TypeError("only uploaded documents can be sent as replies")
    return value.filename, value.input_file_content, value.mimetype


class OutpostBot(ExtBot[None]):
    """An ExtBot whose sends, while an update is handled, become outbox rows.

    The update is handled in one transaction with its outbox rows: a crash before the commit
    sends nothing (the update is handled again), a crash after it sends each reply once. A
    captured send returns a plausible Message (its message_id is negative: not Telegram's).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Callback queries this process has answered, newest last: an update handled again
        # (after a database fault) must not answer its button twice: Telegram refuses the
        # second ("query is too old").
        with self._unfrozen():
            self._answered: OrderedDict[str, None] = OrderedDict()

    async def _do_post(
        self,
        endpoint: str,
        data: dict[str, Any],
        *,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> Any:
        capture = _capture.get()
        if capture is not None and endpoint in CAPTURED_METHODS:
            return self._record(capture, endpoint, data)
        timeouts = {
            "read_timeout": read_timeout,
            "write_timeout": write_timeout,
            "connect_timeout": connect_timeout,
            "pool_timeout": pool_timeout,
        }
        timeouts = {name: value for name, value in timeouts.items() if value is not None}
        if endpoint == "getUpdates":
            return await super()._do_post(endpoint, data, **timeouts)
        if endpoint != "answerCallbackQuery":
            return await self._direct(endpoint, data, timeouts)
        query_id = str(data.get("callback_query_id"))
        if query_id in self._answered:
            return True
        result = await self._direct(endpoint, data, timeouts)
        self._answered[query_id] = None
        while len(self._answered) > ANSWERED_KEPT:
            self._answered.popitem(last=False)
        return result

    async def _direct(self, endpoint: str, data: dict[str, Any], timeouts: dict[str, Any]) -> Any:
        delays = iter(DIRECT_RETRY_DELAYS)
        while True:
            try:
                return await super()._do_post(endpoint, data, **timeouts)
            except RetryAfter as exc:
                seconds = _seconds(exc.retry_after)
                if seconds > MAX_DIRECT_RETRY_AFTER or next(delays, None) is None:
                    raise
                logger.info("%s: 429, again in %.1f s", endpoint, seconds)
                await asyncio.sleep(seconds)
            except BadRequest as exc:
                if any(phrase in exc.message.lower() for phrase in _ALREADY_DONE):
                    return True
                raise
            except NetworkError as exc:  # 5xx, timeouts, lost connections
                delay = next(delays, None)
                if delay is None:
                    raise
                logger.info("%s failed (%s): again in %.1f s", endpoint, type(exc).__name__, delay)
                await asyncio.sleep(delay)

    def _record(self, capture: Capture, endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
        chat_id = data["chat_id"]
        document = _document(data["document"]) if endpoint == "sendDocument" else None
        text = str(data.get("caption" if document else "text") or "")
        capture.replies.append(
            Reply(
                chat_id=str(chat_id),
                text=text,
                parse_mode=data.get("parse_mode"),
                reply_markup=_markup(data.get("reply_markup")),
                document=document,
            )
        )
        message: dict[str, Any] = {
            "message_id": -len(capture.replies),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
        }
        if document is not None:
            message["caption"] = text
        else:
            message["text"] = text
        return message

    async def get_raw_updates(
        self,
        *,
        offset: int | None,
        timeout: int,  # noqa: ASYNC109 - Telegram's
        limit: int = 100,
    ) -> list[Any]:
        """getUpdates as Telegram answered it, unparsed: one update that cannot be parsed must
        not lose the others (PTB's get_updates parses the whole batch)."""
        data: dict[str, Any] = {
            "timeout": timeout,
            "limit": limit,
            "allowed_updates": Update.ALL_TYPES,
        }
        if offset is not None:
            data["offset"] = offset
        result = await self._post("getUpdates", data, read_timeout=timeout + 10)
        return list(result) if isinstance(result, list) else []


def _seconds(value: Any) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if total is not None else float(value)
