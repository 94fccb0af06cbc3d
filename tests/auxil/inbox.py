"""Helpers for tests of the inbox: an OutpostBot application on an in-process sandbox, with
handlers of the test's own, and updates stored as polling or the webhook would."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, TypeHandler

from bot.replies import OutpostBot, mark_failed
from bot.sandbox import SandboxServer
from services.clock import Clock
from services.updates import Inbound, receive

TOKEN = "424243:INBOX-unit-token-for-sandbox"
TelegramApp = Application[Any, Any, Any, Any, Any, Any]
Handler = Callable[[Update, Any], Coroutine[Any, Any, None]]


async def _fail_quietly(update: object, context: Any) -> None:
    mark_failed(context.error)


@contextlib.asynccontextmanager
async def inbox_application(
    handler: Handler, *, limits_enabled: bool = False
) -> AsyncIterator[tuple[TelegramApp, SandboxServer]]:
    """A started sandbox and an initialized application whose every update goes to
    `handler`; a handler that raises marks its update's handling failed, as Outpost's does."""
    server = SandboxServer("127.0.0.1", 0)
    server.sandbox.limits.enabled = limits_enabled
    server.add_bot(TOKEN, "inbox_test_bot", "Inbox")
    await server.start()
    bot = OutpostBot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url)
    application = ApplicationBuilder().bot(bot).updater(None).build()
    application.add_handler(TypeHandler(Update, handler))
    application.add_error_handler(_fail_quietly)
    await application.initialize()
    try:
        yield application, server
        server.sandbox.assert_no_violations()
    finally:
        await application.shutdown()
        await server.stop()


def text_update(update_id: int, user_id: int, text: str = "hi") -> dict[str, Any]:
    """A private text message as Telegram sends it."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1767603600,
            "chat": {"id": user_id, "type": "private", "first_name": f"P{user_id}"},
            "from": {"id": user_id, "is_bot": False, "first_name": f"P{user_id}"},
            "text": text,
        },
    }


async def store(bot_id: int, clock: Clock, *payloads: dict[str, Any]) -> list[int | None]:
    """Store updates in the inbox as received; returns their senders."""
    items = [
        Inbound(
            update_id=payload["update_id"],
            sender_id=payload["message"]["from"]["id"] if "message" in payload else None,
            payload=payload,
        )
        for payload in payloads
    ]
    await receive(bot_id=bot_id, updates=items, clock=clock)
    return [item.sender_id for item in items]
