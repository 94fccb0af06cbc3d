"""The wiring: database, Telegram, web server and sandbox, started and stopped in order."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes

import handlers.chat
import handlers.chat.alerts
import handlers.chat.attendance
import handlers.chat.duty
import handlers.chat.leave
import handlers.chat.outings
import handlers.chat.sos
from bot import __version__
from bot.deadlines import DeadlineEngine
from bot.delivery.aiohttp_request import AiohttpRequest
from bot.delivery.base import Sender
from bot.delivery.email import EmailSender
from bot.delivery.hooks import DeliveryHooks
from bot.delivery.service import DeliveryService, default_worker_id
from bot.delivery.sms import SmsSender
from bot.delivery.telegram import TelegramSender, make_bot
from bot.menus import MenuPublisher, menu_refresh_handler
from bot.ordering import InboxDispatcher
from bot.polling import Poller
from bot.replies import OutpostBot, mark_failed
from bot.settings import SANDBOX_DATABASE_URL, Settings
from db.config import is_sqlite
from db.database import (
    DatabaseNotMigrated,
    apply_migrations,
    close_database,
    open_database,
    require_migrated,
)
from db.enums import Channel, Lane
from handlers.chat.common import MENUS_KEY, OutpostContext, wire
from handlers.chat.edge import ErrorEdge
from handlers.web.health import healthz
from handlers.web.keys import (
    CLOCK,
    INBOX_URGENT,
    INBOX_WAKE,
    SMS_INBOUND_SECRET,
    TELEGRAM,
    VERSION,
    WEBHOOK_SECRET,
)
from handlers.web.sms import SMS_INBOUND_PATH, sms_inbound
from handlers.web.webhook import WEBHOOK_PATH, telegram_webhook
from services import alerts, outings, sos
from services.attendance import STATION_DAY, ensure_station_deadlines, handle_station_day
from services.attendance_sheet import (
    MONTHLY_SHEET,
    handle_monthly_sheet,
    schedule_monthly_sheet,
)
from services.clock import Clock, SystemClock
from services.conversations import FLOW_EXPIRY, ensure_flow_expiry, handle_flow_expiry
from services.deadlines import DeadlineHandlers
from services.handover import MENU_REFRESH
from services.notify import OutboxWakeup

logger = logging.getLogger(__name__)

TelegramApp = Application[Any, Any, Any, Any, Any, Any]


def delivery_hooks() -> DeliveryHooks:
    """What each feature does when its messages are delivered, fail or find the bot blocked."""
    hooks = DeliveryHooks()
    hooks.on(
        alerts.ALERT_SOURCE,
        delivered=alerts.mark_delivered,
        failed=alerts.mark_failed,
        blocked=alerts.mark_failed,
    )
    hooks.on(
        sos.SOURCE,
        delivered=sos.record_delivered,
        failed=sos.record_unreached,
        blocked=sos.record_unreached,
    )
    return hooks


class StartupError(RuntimeError):
    """Outpost cannot start; the message tells the operator what to do."""


@dataclass(frozen=True)
class TelegramEndpoint:
    """Where the Bot API is and which bot to be: Telegram itself or the sandbox."""

    token: str
    api_url: str


# Loggers that write request parameters or SQL values (message texts, phone numbers,
# positions) at DEBUG: they stay at INFO whatever the log level.
CHATTY_LOGGERS = ("telegram", "tortoise", "aiosqlite", "asyncpg", "hpack", "httpx", "httpcore")


def quiet_chatty_loggers() -> None:
    """Keep personal data out of the log even at DEBUG."""
    for name in CHATTY_LOGGERS:
        logger_ = logging.getLogger(name)
        if logger_.level < logging.INFO:
            logger_.setLevel(logging.INFO)


def build_telegram(endpoint: TelegramEndpoint, *, clock: Clock) -> TelegramApp:
    """The python-telegram-bot Application with every chat handler registered.

    Updates do not reach it through PTB's Updater: they are stored in the inbox (by polling or
    the webhook) and handed to `process_update` by the inbox dispatcher (bot/ordering.py).
    Its bot captures replies for the outbox and retries direct calls (bot/replies.py); PTB's
    AIORateLimiter is not used: on one chat's 429 it pauses every chat.
    """
    quiet_chatty_loggers()
    api = endpoint.api_url.rstrip("/")
    bot = OutpostBot(
        endpoint.token,
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        # aiohttp instead of PTB's default httpx: several times more requests per second here
        # (docs/performance.md).
        request=AiohttpRequest(connection_pool_size=64),
        get_updates_request=AiohttpRequest(connection_pool_size=2),
    )
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .updater(None)
        .context_types(ContextTypes(context=OutpostContext))
    )
    application = builder.build()
    handlers.chat.register(application)
    handlers.chat.attendance.register(application)
    handlers.chat.leave.register(application)
    handlers.chat.duty.register(application)
    handlers.chat.outings.register(application)
    handlers.chat.sos.register(application)
    handlers.chat.alerts.register(application)
    handlers.chat.add_fallbacks(application)
    book = handlers.chat.command_book(application)
    # Menus go out through a bot of their own, outside the answers' rate limiter.
    menus = MenuPublisher(make_bot(endpoint.token, endpoint.api_url, connection_pool_size=4), book)
    wire(application, clock=clock, commands=book, menus=menus)
    # An unexpected error rolls the update's transaction back; the inbox handles it again.
    application.add_error_handler(ErrorEdge(on_unexpected=mark_failed))
    return application


def menu_publisher(application: TelegramApp) -> MenuPublisher:
    """The application's background publisher of command menus."""
    menus: MenuPublisher = application.bot_data[MENUS_KEY]
    return menus


def build_web(
    *,
    telegram: TelegramApp,
    clock: Clock,
    webhook_secret: str | None,
    inbox_wake: Callable[[Iterable[int | None]], None] | None = None,
    sms_inbound_secret: str | None = None,
    inbox_urgent: Callable[[Iterable[int | None]], None] | None = None,
) -> web.Application:
    """The aiohttp application: health, the Telegram webhook (only when updates come by
    webhook: `webhook_secret` set), inbound SMS (only with its secret) and (later) the web
    app."""
    app = web.Application(client_max_size=20 * 1024 * 1024)
    app[TELEGRAM] = telegram
    app[CLOCK] = clock
    app[VERSION] = __version__
    app.router.add_get("/healthz", healthz)
    if webhook_secret is not None:
        assert inbox_wake is not None
        app[WEBHOOK_SECRET] = webhook_secret
        app[INBOX_WAKE] = inbox_wake
        if inbox_urgent is not None:
            app[INBOX_URGENT] = inbox_urgent
        app.router.add_post(WEBHOOK_PATH, telegram_webhook)
    if sms_inbound_secret:
        app[SMS_INBOUND_SECRET] = sms_inbound_secret
        app.router.add_post(SMS_INBOUND_PATH, sms_inbound)
    return app


def build_deadline_handlers(menus: MenuPublisher | None = None) -> DeadlineHandlers:
    """What acts on each kind of deadline (`menus`: this process's menu publisher)."""
    handlers = DeadlineHandlers()
    handlers.register(MENU_REFRESH, menu_refresh_handler(menus))
    handlers.register(STATION_DAY, handle_station_day)
    handlers.register(MONTHLY_SHEET, handle_monthly_sheet)
    handlers.register(FLOW_EXPIRY, handle_flow_expiry)
    handlers.register(outings.WATCH, outings.handle_watch)
    handlers.register(outings.DEAD_MAN, outings.handle_dead_man)
    handlers.register(outings.DEAD_MAN_MISS, outings.handle_dead_man_miss)
    handlers.register(sos.TIER_DEADLINE, sos.handle_tier)
    handlers.register(alerts.ALERT_PROGRESS, alerts.handle_progress)
    handlers.register(alerts.ALERT_FOLLOW_UP, alerts.handle_follow_up)
    return handlers


@dataclass
class Outpost:
    """One running Outpost: everything long-lived, started and stopped in one place."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    sandbox: Any = None  # bot.sandbox.SandboxServer in sandbox mode
    telegram: TelegramApp | None = None
    web_runner: web.AppRunner | None = None
    web_url: str = ""
    deadlines: DeadlineEngine | None = None
    delivery: DeliveryService | None = None
    dispatcher: InboxDispatcher | None = None
    poller: Poller | None = None
    # False leaves the deadline engine to be driven by hand (`deadlines.run_due()`): tests
    # whose clock stands still must not see deadlines fired at unpredictable moments.
    ticking: bool = True
    _started: list[str] = field(default_factory=list)

    async def start(self) -> None:
        """Open the database, then Telegram, then the web server; undo all on failure."""
        if self.settings.sandbox and self.settings.database_url != SANDBOX_DATABASE_URL:
            # An empty or lost token must not turn a real deployment into the demo: the
            # sandbox writes its demo people (with made-up Telegram ids and roles) into its
            # database.
            raise StartupError(
                "OUTPOST_DATABASE_URL is set but OUTPOST_TELEGRAM_TOKEN is not: refusing to run "
                "the sandbox, whose demo data would go into that database. Set the token to run "
                "the bot, or unset OUTPOST_DATABASE_URL to try the sandbox "
                f"({SANDBOX_DATABASE_URL})"
            )
        try:
            await self._start_database()
            endpoint = await self._start_sandbox()
            await self._start_telegram(endpoint)
            await self._start_delivery(endpoint)
            await self._start_web()
            await self._start_updates()
            await self._start_deadlines()
        except BaseException:
            await self.stop()
            raise

    async def _start_database(self) -> None:
        settings = self.settings
        sos.configure(settings.sos_policy())
        await open_database(settings.database_url)
        self._started.append("database")
        if settings.should_auto_migrate:
            applied = await apply_migrations()
            if applied:
                logger.info("applied %d migration(s)", len(applied))
        else:
            try:
                await require_migrated()
            except DatabaseNotMigrated as exc:
                raise StartupError(str(exc)) from None

    async def _start_sandbox(self) -> TelegramEndpoint:
        settings = self.settings
        if settings.telegram_token is not None:
            return TelegramEndpoint(
                token=settings.telegram_token.get_secret_value(),
                api_url=str(settings.telegram_api_url),
            )
        from bot.demo import start_demo_sandbox

        self.sandbox, token = await start_demo_sandbox(settings)
        self._started.append("sandbox")
        return TelegramEndpoint(token=token, api_url=self.sandbox.url)

    async def _start_telegram(self, endpoint: TelegramEndpoint) -> None:
        self.telegram = build_telegram(endpoint, clock=self.clock)
        await self.telegram.initialize()
        self._started.append("telegram")
        self.dispatcher = InboxDispatcher(
            self.telegram,
            clock=self.clock,
            worker_id=default_worker_id(),
            on_replies=self._replies_written,
            # SQLite has one writer, held for a whole transaction: one handling at a time
            # leaves the outbox and polling a turn between two; PostgreSQL's pool has five.
            max_handling=1 if is_sqlite(self.settings.database_url) else 4,
        )
        await handlers.chat.publish_commands(self.telegram)
        await menu_publisher(self.telegram).start()
        self._started.append("menus")

    async def _start_delivery(self, endpoint: TelegramEndpoint) -> None:
        config = self.settings.delivery_config()
        bot = make_bot(endpoint.token, endpoint.api_url)
        senders: dict[Channel, Sender] = {Channel.TELEGRAM: TelegramSender(bot, own_bot=True)}
        if config.email is not None:
            senders[Channel.EMAIL] = EmailSender(config.email)
        if config.sms is not None:
            senders[Channel.SMS] = SmsSender(config.sms)
            senders[Channel.VOICE] = SmsSender(config.sms, channel=Channel.VOICE)
        # Pacing follows the machine's monotonic clock; deadlines follow the business clock.
        self.delivery = DeliveryService(
            senders=senders,
            config=config,
            clock=self.clock,
            rate_clock=time.monotonic,
            hooks=delivery_hooks(),
            wakeup=OutboxWakeup(),
        )
        await self.delivery.start()
        self._started.append("delivery")

    def _replies_written(self, lane: Lane) -> None:
        if self.delivery is not None:
            self.delivery.wake(lane)

    async def _start_web(self) -> None:
        assert self.telegram is not None
        assert self.dispatcher is not None
        app = build_web(
            telegram=self.telegram,
            clock=self.clock,
            webhook_secret=(
                self.settings.effective_webhook_secret() if self.settings.webhook else None
            ),
            inbox_wake=self.dispatcher.wake,
            inbox_urgent=self.dispatcher.wake_urgent,
            sms_inbound_secret=(
                self.settings.sms_inbound_secret.get_secret_value()
                if self.settings.sms_inbound_secret is not None
                else None
            ),
        )
        self.web_runner = web.AppRunner(app, access_log=None)
        await self.web_runner.setup()
        site = web.TCPSite(self.web_runner, self.settings.web_host, self.settings.web_port)
        try:
            await site.start()
        except OSError as exc:
            raise StartupError(
                f"cannot listen on {self.settings.web_host}:{self.settings.web_port}: "
                f"{exc.strerror} (set OUTPOST_WEB_HOST / OUTPOST_WEB_PORT)"
            ) from None
        self._started.append("web")
        port = self.web_runner.addresses[0][1] if self.web_runner.addresses else 0
        self.web_url = f"http://{self.settings.web_host}:{port}"
        logger.info("web server listening on %s", self.web_url)

    async def _start_updates(self) -> None:
        assert self.telegram is not None
        assert self.dispatcher is not None
        await self.telegram.start()
        await self.dispatcher.start()
        self._started.append("updates")
        if self.settings.webhook:
            assert self.settings.public_url is not None
            url = str(self.settings.public_url).rstrip("/") + WEBHOOK_PATH
            await self.telegram.bot.set_webhook(
                url=url,
                secret_token=self.settings.effective_webhook_secret(),
                allowed_updates=Update.ALL_TYPES,
            )
            logger.info("taking updates by webhook")
        else:
            bot = self.telegram.bot
            assert isinstance(bot, OutpostBot)
            await bot.delete_webhook()
            self.poller = Poller(
                bot,
                clock=self.clock,
                on_stored=self.dispatcher.wake,
                on_urgent=self.dispatcher.wake_urgent,
            )
            await self.poller.start()
            logger.info("taking updates by long polling")

    async def _start_deadlines(self) -> None:
        menus = menu_publisher(self.telegram) if self.telegram is not None else None
        self.deadlines = DeadlineEngine(build_deadline_handlers(menus), clock=self.clock)
        self._started.append("deadlines")
        # Every active station has its next event, the sheet its next look; then whatever fell
        # due while Outpost was stopped fires at once.
        await ensure_station_deadlines(clock=self.clock)
        await ensure_flow_expiry(clock=self.clock)
        await schedule_monthly_sheet(
            clock=self.clock, day_of_month=self.settings.attendance_sheet_day
        )
        await self.deadlines.run_due()
        if self.ticking:
            self.deadlines.start()

    async def stop(self) -> None:
        """Stop what was started, newest first; safe to call twice."""
        while self._started:
            part = self._started.pop()
            try:
                await self._stop_part(part)
            except Exception:
                logger.exception("error while stopping %s", part)

    async def _stop_part(self, part: str) -> None:
        if part == "deadlines" and self.deadlines is not None:
            await self.deadlines.stop()
        elif part == "updates" and self.telegram is not None:
            if self.poller is not None:
                await self.poller.stop()
            if self.dispatcher is not None:
                await self.dispatcher.stop()
            await self.telegram.stop()
        elif part == "menus" and self.telegram is not None:
            await menu_publisher(self.telegram).stop()
        elif part == "delivery" and self.delivery is not None:
            await self.delivery.stop()
        elif part == "web" and self.web_runner is not None:
            await self.web_runner.cleanup()
        elif part == "telegram" and self.telegram is not None:
            await self.telegram.shutdown()
        elif part == "sandbox" and self.sandbox is not None:
            await self.sandbox.stop()
        elif part == "database":
            await close_database()
