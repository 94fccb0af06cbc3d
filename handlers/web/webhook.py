"""The Telegram webhook: checks the secret, stores the update, answers 200 once it is stored."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web

from handlers.inbound import read_update
from handlers.web.keys import CLOCK, INBOX_URGENT, INBOX_WAKE, TELEGRAM, WEBHOOK_SECRET
from services.updates import receive

logger = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
WEBHOOK_PATH = "/telegram/webhook"


async def telegram_webhook(request: web.Request) -> web.Response:
    """Take one update from Telegram into the inbox; it is handled there, like polled ones.

    200 means durably stored (Telegram will not send it again); a redelivery of a stored update
    is acknowledged and not stored twice. An update that cannot be parsed is stored as skipped
    and acknowledged too: sending it again would not make it any better.
    """
    secret = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(secret.encode(), request.app[WEBHOOK_SECRET].encode()):
        logger.warning("webhook call with a wrong or missing secret token")
        raise web.HTTPUnauthorized()
    try:
        payload = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="body is not JSON") from None
    bot = request.app[TELEGRAM].bot
    item = read_update(payload, bot)
    if item is None:
        raise web.HTTPBadRequest(text="not a Telegram update")
    await receive(bot_id=bot.id, updates=[item], clock=request.app[CLOCK])
    if not item.poison:
        urgent = request.app.get(INBOX_URGENT)
        if item.urgent and urgent is not None:
            urgent([item.sender_id])
        request.app[INBOX_WAKE]([item.sender_id])
    return web.Response(text="ok")
