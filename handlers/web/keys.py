"""Typed keys for what the aiohttp application carries."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web
from telegram.ext import Application

from services.clock import Clock

TELEGRAM = web.AppKey("telegram", Application[Any, Any, Any, Any, Any, Any])
CLOCK = web.AppKey("clock", Clock)
WEBHOOK_SECRET = web.AppKey("webhook_secret", str)
SMS_INBOUND_SECRET = web.AppKey("sms_inbound_secret", str)
# Tells the inbox dispatcher that these senders have new updates stored.
InboxWake = Callable[[Iterable[int | None]], None]
INBOX_WAKE: web.AppKey[InboxWake] = web.AppKey("inbox_wake")
VERSION = web.AppKey("version", str)
# Tells the dispatcher that these senders sent an SOS: served before everyone else.
INBOX_URGENT: web.AppKey[InboxWake] = web.AppKey("inbox_urgent")
