"""Long polling that loses nothing: a batch is stored before the next getUpdates confirms it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable

from telegram.error import Conflict, InvalidToken, TelegramError
from tortoise.exceptions import DBConnectionError

from bot.replies import OutpostBot
from handlers.inbound import read_update
from services import updates
from services.clock import Clock

logger = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0


class Poller:
    """Our own getUpdates loop (instead of PTB's Updater).

    Telegram forgets the updates before `offset` when it is asked for the next batch with it.
    PTB's Updater asks as soon as a batch is fetched, so a crash loses the batch in hand; here
    a batch is written to the inbox in one transaction first, and only then is the next batch
    asked for with `offset = last update id + 1`. Killed before that, Telegram sends the batch
    again and the inbox keeps one row per update id. An update that cannot be parsed is stored
    as skipped (without holding up the others); network errors back off and retry.
    """

    def __init__(
        self,
        bot: OutpostBot,
        *,
        clock: Clock,
        on_stored: Callable[[Iterable[int | None]], None],
        on_urgent: Callable[[Iterable[int | None]], None] | None = None,
        timeout: int = 10,
    ) -> None:
        self.bot = bot
        self.clock = clock
        self.on_stored = on_stored
        # Told first of the senders of an SOS in a batch: they are served before the others.
        self.on_urgent = on_urgent
        self.timeout = timeout
        self.poisoned = 0
        self.stored = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start polling."""
        self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        """Stop polling; a batch fetched but not yet stored is fetched again next time."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        offset: int | None = None
        backoff = BACKOFF_FIRST_SECONDS
        while True:
            try:
                offset = await self._poll_once(offset)
                backoff = BACKOFF_FIRST_SECONDS
            except asyncio.CancelledError:
                raise
            except (Conflict, InvalidToken) as exc:
                logger.error(
                    "getUpdates refused (%s): again in %.0f s",
                    type(exc).__name__,
                    BACKOFF_MAX_SECONDS,
                )
                await asyncio.sleep(BACKOFF_MAX_SECONDS)
            except TelegramError as exc:
                logger.warning(
                    "getUpdates failed (%s): again in %.1f s", type(exc).__name__, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
            except Exception:
                logger.exception("storing updates failed: again in %.1f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)

    async def _poll_once(self, offset: int | None) -> int | None:
        """Fetch one batch (this confirms the previous one), store it; returns the next offset."""
        batch = await self.bot.get_raw_updates(offset=offset, timeout=self.timeout)
        if not batch:
            return offset
        received = []
        last = offset - 1 if offset is not None else None
        for payload in batch:
            item = read_update(payload, self.bot)
            if item is None:
                # Not even an update id to skip it by: count it and move past the batch.
                self.poisoned += 1
                logger.warning("an update without an update id skipped")
                continue
            received.append(item)
            last = item.update_id if last is None else max(last, item.update_id)
        try:
            self.poisoned += await updates.receive(
                bot_id=self.bot.id, updates=received, clock=self.clock
            )
        except (DBConnectionError, ConnectionError, TimeoutError):
            raise
        except Exception:
            # One update the database refuses must not hold up the batch, nor polling.
            self.poisoned += await updates.receive_each(
                bot_id=self.bot.id, updates=received, clock=self.clock
            )
        self.stored += len(received)
        urgent = [item.sender_id for item in received if item.urgent and not item.poison]
        if urgent and self.on_urgent is not None:
            self.on_urgent(urgent)
        self.on_stored(item.sender_id for item in received if not item.poison)
        return last + 1 if last is not None else offset
