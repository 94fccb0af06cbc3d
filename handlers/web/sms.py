"""Inbound SMS from the gateway: "SOS" by text message when there is no data connection."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web

from handlers.web.keys import CLOCK, SMS_INBOUND_SECRET
from services.errors import NotFound
from services.sos import sos_by_sms

logger = logging.getLogger(__name__)
SMS_INBOUND_PATH = "/sms/inbound"
SECRET_HEADER = "X-Outpost-Secret"  # noqa: S105 - a header name
MAX_BODY = 16 * 1024


async def _fields(request: web.Request) -> tuple[str, str]:
    """(sender, text) from a JSON body {"from", "text"} or a Twilio-style form (From, Body)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    if request.content_type == "application/json":
        try:
            payload = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise web.HTTPBadRequest(text="body is not JSON") from None
        if not isinstance(payload, dict):
            raise web.HTTPBadRequest(text="expected an object")
        sender, text = payload.get("from"), payload.get("text")
    else:
        form = await request.post()
        sender, text = form.get("From"), form.get("Body")
    if not isinstance(sender, str) or not isinstance(text, str):
        raise web.HTTPBadRequest(text="from and text are required")
    return sender, text


async def sms_inbound(request: web.Request) -> web.Response:
    """Check the shared secret, then open (or find) the sender's SOS when the text says so."""
    secret = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(secret.encode(), request.app[SMS_INBOUND_SECRET].encode()):
        logger.warning("inbound SMS with a wrong or missing secret")
        raise web.HTTPUnauthorized()
    sender, text = await _fields(request)
    try:
        raised = await sos_by_sms(sender, text, clock=request.app[CLOCK])
    except NotFound:
        logger.warning("inbound SMS from a number nobody registered")
        raise web.HTTPForbidden(text="unknown sender") from None
    if raised is None:
        return web.json_response({"status": "ignored"})
    return web.json_response(
        {"status": "opened" if raised.new else "open", "incident": raised.incident.id}
    )
