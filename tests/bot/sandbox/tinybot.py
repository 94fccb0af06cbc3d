"""Tiny PTB bots and raw Bot API calls used by the sandbox tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.sandbox import SandboxServer

WEBHOOK_SECRET = "s3cret-token_for-tests"
TOKEN = "123456:TEST-token-for-the-sandbox"
# aiohttp's HTTP client class, under a name saying what it is here.
HttpClient = aiohttp.ClientSession
PNG_MAGIC = b"\x89PNG"


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer /start with a greeting and an inline button."""
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Check in", callback_data="checkin")]])
    await update.effective_message.reply_text(
        "Welcome to <b>Outpost</b>!", parse_mode="HTML", reply_markup=keyboard
    )


async def checkin_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the button and edit the message it belongs to."""
    query = update.callback_query
    assert query is not None
    await query.answer("Checked in", show_alert=True)
    await query.edit_message_text("You are checked in.")


async def ask_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer a reply keyboard with location and contact buttons."""
    assert update.effective_message is not None
    keyboard = ReplyKeyboardMarkup(
        [
            [KeyboardButton("Send location", request_location=True)],
            [KeyboardButton("Share phone", request_contact=True), KeyboardButton("Later")],
        ],
        one_time_keyboard=True,
        resize_keyboard=True,
    )
    await update.effective_message.reply_text("Where are you?", reply_markup=keyboard)


async def location_received(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Confirm a received location with its accuracy."""
    message = update.effective_message
    assert message is not None
    assert message.location is not None
    loc = message.location
    kind = (
        "live"
        if loc.to_dict().get("live_period")
        else "forwarded"
        if message.forward_origin
        else "plain"
    )
    edited = "edited " if update.edited_message else ""
    await message.reply_text(
        f"{edited}{kind} location {loc.latitude:.4f},{loc.longitude:.4f} "
        f"±{loc.horizontal_accuracy or 0:.0f}m"
    )


async def contact_received(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Confirm a received contact."""
    message = update.effective_message
    assert message is not None
    assert message.contact is not None
    own = message.contact.user_id == message.from_user.id if message.from_user else False
    await message.reply_text(f"phone {message.contact.phone_number} own={own}")


async def photo_received(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Download the photo and tell its size and signature."""
    message = update.effective_message
    assert message is not None
    assert message.photo
    file = await message.photo[-1].get_file()
    data = await file.download_as_bytearray()
    is_png = bytes(data[:4]) == PNG_MAGIC
    await message.reply_text(f"photo {len(data)} bytes png={is_png}")


async def text_received(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo plain text."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(f"You said: {message.text}")


def add_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register the tiny bot's handlers."""
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("where", ask_location))
    application.add_handler(CallbackQueryHandler(checkin_pressed))
    application.add_handler(
        MessageHandler(filters.LOCATION & filters.UpdateType.MESSAGES, location_received)
    )
    application.add_handler(MessageHandler(filters.CONTACT, contact_received))
    application.add_handler(MessageHandler(filters.PHOTO, photo_received))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, text_received))


def builder(
    server: SandboxServer, token: str, *, rate_limiter: bool = False
) -> ApplicationBuilder:
    """An ApplicationBuilder pointed at the sandbox."""
    b = (
        Application.builder()
        .token(token)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
    )
    if rate_limiter:
        b = b.rate_limiter(AIORateLimiter(max_retries=3))  # type: ignore[arg-type]
    return b


@asynccontextmanager
async def polling_bot(
    server: SandboxServer, token: str, *, rate_limiter: bool = False
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """Run the tiny bot with long polling against the sandbox."""
    application = builder(server, token, rate_limiter=rate_limiter).build()
    add_handlers(application)
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=5)
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()


class WebhookReceiver:
    """A small aiohttp view feeding PTB, checking the secret and deduplicating update ids."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self.application = application
        self.seen: set[int] = set()
        self.received: list[int] = []
        self.processed: list[int] = []
        self.fail_next = 0
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        """Accept one update."""
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != WEBHOOK_SECRET:
            return web.Response(status=403)
        data = await request.json()
        self.received.append(data["update_id"])
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=500)
        if data["update_id"] in self.seen:
            return web.Response()
        self.seen.add(data["update_id"])
        self.processed.append(data["update_id"])
        await self.application.update_queue.put(Update.de_json(data, self.application.bot))
        return web.Response()

    async def start(self) -> None:
        """Listen on an ephemeral port."""
        app = web.Application()
        app.router.add_post("/telegram", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/telegram"

    async def stop(self) -> None:
        """Stop listening."""
        if self.runner is not None:
            await self.runner.cleanup()


@asynccontextmanager
async def webhook_bot(
    server: SandboxServer, token: str
) -> AsyncIterator[tuple[Application[Any, Any, Any, Any, Any, Any], WebhookReceiver]]:
    """Run the tiny bot with updater(None), fed by a webhook receiver."""
    application = builder(server, token).updater(None).build()
    add_handlers(application)
    receiver = WebhookReceiver(application)
    await receiver.start()
    async with application:
        await application.start()
        await application.bot.set_webhook(receiver.url, secret_token=WEBHOOK_SECRET)
        try:
            yield application, receiver
        finally:
            await application.bot.delete_webhook()
            await application.stop()
            await receiver.stop()


async def call(
    client: HttpClient,
    server: SandboxServer,
    token: str,
    method: str,
    *,
    form: bool = False,
    **params: Any,
) -> tuple[int, dict[str, Any]]:
    """Call a Bot API method directly; form=True sends PTB-style urlencoded values."""
    url = f"{server.base_url}{token}/{method}"
    if form:
        data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        response = await client.post(url, data=data)
    else:
        response = await client.post(url, json=params)
    async with response:
        return response.status, await response.json()


async def gather_ok(*aws: Any) -> list[Any]:
    """Await several calls concurrently."""
    return list(await asyncio.gather(*aws))
