"""Typed keys for what the aiohttp application carries."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from telegram.ext import Application

from services.clock import Clock

TELEGRAM = web.AppKey("telegram", Application[Any, Any, Any, Any, Any, Any])
CLOCK = web.AppKey("clock", Clock)
WEBHOOK_SECRET = web.AppKey("webhook_secret", str)
VERSION = web.AppKey("version", str)
