"""Typed keys for what the aiohttp application carries."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from telegram.ext import Application

from services.clock import Clock

TELEGRAM = web.AppKey("telegram", Application[Any, Any, Any, Any, Any, Any])
CLOCK = web.AppKey("clock", Clock)
WEBHOOK_SECRET = web.AppKey("webhook_secret", str)
# Update ids this process is handling right now (a redelivery meanwhile must wait).
UPDATES_IN_HAND = web.AppKey("updates_in_hand", set[int])
VERSION = web.AppKey("version", str)
