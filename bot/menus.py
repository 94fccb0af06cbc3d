"""Publishing people's command menus in the background, never on an update's path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot
from telegram.error import RetryAfter, TelegramError

from bot.replies import after_commit
from db.models import Deadline
from handlers.chat.menus import drop_menu, ensure_menu
from services.clock import Clock
from services.commands import CommandBook
from services.deadlines import Handler
from services.people import Actor, access, deactivated_with_menu

logger = logging.getLogger(__name__)


class MenuPublisher:
    """Publishes the command menus the gate found stale, one person at a time.

    setMyCommands used to be called by the gate while the update waited: through the
    rate-limited bot, a 429 on it paused every direct answer, an SOS included. The gate now only
    drops the person's Telegram id here (deduplicated: a person is queued at most once) and goes
    on. The publisher has its own Bot, outside the answers' rate limiter, so a 429 on a menu
    pauses menus only; a failure is tried again later. The menu's key is stored only once
    Telegram accepted it, so a menu lost with the process is published on the next update or at
    the next start (`sync_menus`).
    """

    def __init__(
        self, bot: Bot, book: CommandBook, *, retry_delay: float = 60.0, own_bot: bool = True
    ) -> None:
        self.bot = bot
        self.book = book
        self.retry_delay = retry_delay
        self._own_bot = own_bot
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._pending: set[int] = set()
        self._retries: dict[int, asyncio.TimerHandle] = {}
        self._task: asyncio.Task[None] | None = None
        self.published = 0
        self.failed = 0

    def notice(self, actor: Actor) -> None:
        """Queue the actor's menu when its fingerprint differs from the one published."""
        if actor.person.menu_key != self.book.menu_key(actor.roles, actor.language):
            self.request(actor.person.telegram_id)

    def request(self, telegram_id: int) -> None:
        """Queue this account's menu (once, however often asked before it is published); while
        an update is handled, once its transaction has committed."""
        if after_commit(lambda: self._enqueue(telegram_id)):
            return
        self._enqueue(telegram_id)

    def _enqueue(self, telegram_id: int) -> None:
        if telegram_id in self._pending:
            return
        self._pending.add(telegram_id)
        self._queue.put_nowait(telegram_id)

    async def start(self) -> None:
        """Start publishing what is queued."""
        if self._own_bot:
            await self.bot.initialize()
        self._task = asyncio.create_task(self._run(), name="menu-publisher")

    async def stop(self) -> None:
        """Stop; what is still queued is published at the next start or the next update."""
        for handle in self._retries.values():
            handle.cancel()
        self._retries.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._own_bot:
            await self.bot.shutdown()

    async def idle(self) -> None:
        """Wait until everything queued now has been tried (tests)."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            telegram_id = await self._queue.get()
            try:
                pause = await self.publish(telegram_id)
            finally:
                self._queue.task_done()
            if pause:
                # Telegram asked this bot to wait: only menus wait, answers do not.
                await asyncio.sleep(pause)

    async def publish(self, telegram_id: int) -> float:
        """Publish one person's menu now; the seconds Telegram asked to pause (0 mostly)."""
        # Out of the pending set first: a change while this runs queues the person again.
        self._pending.discard(telegram_id)
        try:
            state = await access(telegram_id)
            if state.actor is None:
                # Deactivated since their menu was published: it goes at once.
                gone = await deactivated_with_menu(telegram_id)
                if gone is not None:
                    await drop_menu(self.bot, gone)
                    self.published += 1
                return 0.0
            await ensure_menu(self.bot, self.book, state.actor.person, state.actor.roles)
        except RetryAfter as exc:
            delay = _seconds(exc.retry_after)
            self._retry_later(telegram_id, delay)
            return delay
        except TelegramError as exc:
            logger.info("command menu not published (%s), tried again later", type(exc).__name__)
            self._retry_later(telegram_id, self.retry_delay)
            return 0.0
        except Exception:
            logger.exception("command menu not published, tried again later")
            self._retry_later(telegram_id, self.retry_delay)
            return 0.0
        self.published += 1
        return 0.0

    def _retry_later(self, telegram_id: int, delay: float) -> None:
        self.failed += 1
        if telegram_id in self._pending or telegram_id in self._retries:
            return
        self._pending.add(telegram_id)

        def again() -> None:
            self._retries.pop(telegram_id, None)
            self._queue.put_nowait(telegram_id)

        self._retries[telegram_id] = asyncio.get_running_loop().call_later(delay, again)

    def retry_now(self) -> None:
        """Queue every menu waiting for a retry at once (tests, instead of waiting)."""
        for telegram_id, handle in list(self._retries.items()):
            handle.cancel()
            del self._retries[telegram_id]
            self._queue.put_nowait(telegram_id)


def menu_refresh_handler(menus: MenuPublisher | None) -> Handler:
    """The handler of MENU_REFRESH deadlines (services.handover): queue the account's menu on
    this process's publisher (without one, such as a command-line process, nothing to do)."""

    async def handle(deadline: Deadline, clock: Clock) -> datetime | None:
        telegram_id = (deadline.payload or {}).get("telegram_id")
        if menus is not None and isinstance(telegram_id, int):
            menus.request(telegram_id)
        return None

    return handle


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
