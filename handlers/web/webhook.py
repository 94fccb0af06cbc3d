"""The Telegram webhook: checks the secret, handles each update once, answers 200 when done."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from telegram import Update

from handlers.web.keys import CLOCK, TELEGRAM, UPDATES_IN_HAND, WEBHOOK_SECRET
from services.updates import already_processed, mark_processed

logger = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
WEBHOOK_PATH = "/telegram/webhook"


async def telegram_webhook(request: web.Request) -> web.Response:
    """Take one update from Telegram; a redelivery of a handled update is acknowledged only."""
    secret = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(secret.encode(), request.app[WEBHOOK_SECRET].encode()):
        logger.warning("webhook call with a wrong or missing secret token")
        raise web.HTTPUnauthorized()
    try:
        payload = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="body is not JSON") from None
    application = request.app[TELEGRAM]
    if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
        raise web.HTTPBadRequest(text="not a Telegram update")
    update = Update.de_json(payload, application.bot)
    bot_id = application.bot.id
    in_hand = request.app[UPDATES_IN_HAND]
    if update.update_id in in_hand:
        # Telegram gave up waiting and sent it again while it is being handled: answering 200
        # would lose it if this process died now, handling it again would do it twice.
        # Telegram retries later and is then told it was handled.
        return web.Response(status=503, text="being handled")
    if await already_processed(bot_id, update.update_id):
        return web.Response(text="ok")
    # Answering only after the update was handled lets Telegram redeliver it after a crash.
    in_hand.add(update.update_id)
    try:
        await application.process_update(update)
        await mark_processed(bot_id, update.update_id, clock=request.app[CLOCK])
    finally:
        in_hand.discard(update.update_id)
    return web.Response(text="ok")
