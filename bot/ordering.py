"""The inbox dispatcher: stored updates handled once, each person's in order, many at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from telegram import Update
from telegram.ext import Application
from tortoise.exceptions import DBConnectionError, OperationalError, TransactionManagementError
from tortoise.transactions import in_transaction

from bot.replies import start_capture, stop_capture
from db import inbox
from db.enums import InboxStatus, Lane
from services import updates
from services.clock import Clock

logger = logging.getLogger(__name__)

TelegramApp = Application[Any, Any, Any, Any, Any, Any]
Sender = int | None


class _HandlingFailed(Exception):
    """A handler raised: the update's transaction is rolled back."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__(type(error).__name__ if error is not None else "handler failed")
        self.error = error


# Errors that may pass (the database busy or restarting, a lost connection, a race lost to a
# constraint): the update is handled again. Anything else is a bug that would fail the same way
# again: the update is given up at once and its sender told.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,  # IntegrityError included
    DBConnectionError,
    TransactionManagementError,
    ConnectionError,
    TimeoutError,
)


def is_transient(error: BaseException | None) -> bool:
    """True when handling the update again may well succeed."""
    return error is None or isinstance(error, TRANSIENT_ERRORS)


class Slots:
    """Database slots for handlings, taken by urgent callers before anyone who waits."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    @contextlib.asynccontextmanager
    async def take(self, *, urgent: bool = False) -> AsyncIterator[None]:
        """Hold one slot for the block; an urgent caller is next whoever waits longer."""
        if self._free > 0 and not self._urgent and (urgent or not self._normal):
            self._free -= 1
        else:
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            (self._urgent if urgent else self._normal).append(granted)
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():
                    self._release()  # given the slot just as it was cancelled: pass it on
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        for waiting in (self._urgent, self._normal):
            while waiting:
                granted = waiting.popleft()
                if not granted.done():
                    granted.set_result(None)
                    return
        self._free += 1


class InboxDispatcher:
    """Handles the inbox's pending updates: one person's strictly in update order, different
    people concurrently.

    A person with updates waiting has one task here, which handles them one after the other;
    at most `max_senders` such tasks run, and a person waiting for a free task holds nothing
    (a flood from one person takes one task, never the others'). A task takes one of
    `max_handling` database slots only for the handling itself, never while it waits for the
    person's earlier update. After `turn` updates in a row
    a person goes to the back of the line if others wait. Each update is handled in one
    database transaction with its replies (see bot/replies.py) and its row marked handled, so
    it is handled exactly once; the row is locked meanwhile, so that with two processes on one
    PostgreSQL neither takes that person's next update before this one is done
    (db/inbox.py `take_oldest`). New rows stored by this process wake the dispatcher at once;
    rows stored by another process (or left by a crash) are found by a slow poll.

    A sender of an SOS (`wake_urgent`) goes to the front of the line, gets a task even when
    all `max_senders` are busy, is never sent to the back, and takes the next free database
    slot before anyone waiting for one.
    """

    def __init__(
        self,
        application: TelegramApp,
        *,
        clock: Clock,
        worker_id: str,
        on_replies: Callable[[Lane], None] | None = None,
        max_senders: int = 64,
        max_handling: int = 4,
        poll_seconds: float = 1.0,
        turn: int = 8,
        give_up_after: int = 3,
        cleanup_seconds: float = 3600.0,
    ) -> None:
        self.application = application
        self.clock = clock
        self.worker_id = worker_id
        self.on_replies = on_replies
        self.max_senders = max_senders
        # Transactions open at once: each holds a database connection (SQLite: the database)
        # for the whole handling, and the outbox and polling need theirs in between.
        self._handling = Slots(max_handling)
        self.poll_seconds = poll_seconds
        self.turn = turn
        self.give_up_after = give_up_after
        self.cleanup_seconds = cleanup_seconds
        self.handled = 0
        self.failed = 0
        self._active: dict[Sender, asyncio.Task[None]] = {}
        self._waiting: deque[Sender] = deque()
        self._queued: set[Sender] = set()
        self._again: set[Sender] = set()
        self._urgent: set[Sender] = set()
        self._kick = asyncio.Event()
        self._stopping = False
        self._runner: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()

    @property
    def bot_id(self) -> int:
        """The bot whose updates these are."""
        return int(self.application.bot.id)

    async def start(self) -> None:
        """Start handling; pending updates (left by a restart) are looked for at once."""
        self._stopping = False
        self._runner = asyncio.create_task(self._run(), name="inbox-dispatcher")

    async def stop(self, drain_seconds: float = 10.0) -> None:
        """Stop taking updates; an update being handled is finished (or rolled back)."""
        if self._runner is None:
            return
        self._stopping = True
        self._kick.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._runner
        self._runner = None
        tasks = list(self._active.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=drain_seconds)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        self._waiting.clear()
        self._queued.clear()

    def wake(self, senders: Iterable[Sender]) -> None:
        """These senders have new updates stored (called by this process's polling/webhook)."""
        for sender in senders:
            self._want(sender)
        self._start_waiting()

    def wake_urgent(self, senders: Iterable[Sender]) -> None:
        """These senders sent an SOS: serve them before everyone else."""
        for sender in senders:
            self._urgent.add(sender)
            if sender in self._active:
                self._again.add(sender)
                continue
            if sender in self._queued:
                self._waiting.remove(sender)
            self._queued.add(sender)
            self._waiting.appendleft(sender)
        self._start_waiting()

    async def idle(self) -> None:
        """Wait until no sender is being served or waiting (for tests)."""
        while self._active or self._waiting:
            self._idle.clear()
            await self._idle.wait()

    # -- scheduling ---------------------------------------------------------------------------

    def _want(self, sender: Sender) -> None:
        if sender in self._active:
            self._again.add(sender)
        elif sender not in self._queued:
            self._queued.add(sender)
            self._waiting.append(sender)

    def _start_waiting(self) -> None:
        while (
            self._waiting
            and not self._stopping
            and (len(self._active) < self.max_senders or self._waiting[0] in self._urgent)
        ):
            sender = self._waiting.popleft()
            self._queued.discard(sender)
            self._active[sender] = asyncio.create_task(
                self._serve(sender), name=f"inbox-sender-{sender}"
            )
        if not self._active and not self._waiting:
            self._idle.set()

    async def _run(self) -> None:
        next_cleanup = time.monotonic()
        while not self._stopping:
            self._kick.clear()
            try:
                for sender in await inbox.pending_senders(self.bot_id):
                    self._want(sender)
                self._start_waiting()
                if time.monotonic() >= next_cleanup:
                    next_cleanup = time.monotonic() + self.cleanup_seconds
                    forgotten = await updates.forget_old(clock=self.clock)
                    if forgotten:
                        logger.info("forgot %d handled updates past retention", forgotten)
            except Exception:
                logger.exception("inbox: looking for pending updates failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._kick.wait()

    async def _serve(self, sender: Sender) -> None:
        in_a_row = 0
        try:
            while not self._stopping:
                self._again.discard(sender)
                outcome = await self._handle_next(sender)
                if outcome == "none":
                    if sender in self._again:
                        continue
                    break
                if outcome == "failed":
                    await asyncio.sleep(0.2)
                in_a_row += 1
                if in_a_row >= self.turn and self._waiting and sender not in self._urgent:
                    # Others wait for a task: to the back of the line.
                    self._again.add(sender)
                    break
        except Exception:
            logger.exception("inbox: serving a sender failed")
        finally:
            del self._active[sender]
            self._urgent.discard(sender)
            if sender in self._again:
                self._again.discard(sender)
                self._want(sender)
            self._start_waiting()

    # -- one update ---------------------------------------------------------------------------

    async def _handle_next(self, sender: Sender) -> str:
        """Handle the sender's oldest pending update: "handled", "failed" or "none"."""
        row_id: int | None = None
        update_id = 0
        lane = updates.REPLY_LANE
        replied = False
        pressed = False
        committed: list[Callable[[], None]] = []
        try:
            async with self._handling.take(urgent=sender in self._urgent), in_transaction():
                row = await inbox.take_oldest(self.bot_id, sender)
                if row is None:
                    return "none"
                row_id, update_id = int(row.id), int(row.update_id)
                update = Update.de_json(row.payload, self.application.bot)
                pressed = update.callback_query is not None
                updates.start_replies()
                capture, token = start_capture(update_id)
                try:
                    await self.application.process_update(update)
                finally:
                    stop_capture(token)
                if capture.failed:
                    raise _HandlingFailed(capture.error)
                lane = updates.reply_lane()
                if capture.replies:
                    await updates.queue_replies(
                        bot_id=self.bot_id,
                        update_id=update_id,
                        replies=capture.replies,
                        lane=lane,
                        clock=self.clock,
                    )
                    replied = True
                await inbox.finish(
                    row_id, status=InboxStatus.HANDLED, at=self.clock.now(), by=self.worker_id
                )
                committed = capture.after_commit
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if row_id is None:
                raise
            if not isinstance(exc, _HandlingFailed):
                logger.exception("inbox: handling update %s failed", update_id)
            error = exc.error if isinstance(exc, _HandlingFailed) else exc
            # A pressed button was answered by the error edge already; a message is answered
            # once the update is given up.
            await self._count_failure(
                row_id, update_id, None if pressed else sender, transient=is_transient(error)
            )
            return "failed"
        self.handled += 1
        if replied and self.on_replies is not None:
            self.on_replies(lane)
        for callback in committed:
            try:
                callback()
            except Exception:
                logger.exception("inbox: an after-commit action of update %s failed", update_id)
        return "handled"

    async def _count_failure(
        self, row_id: int, update_id: int, sender: Sender, *, transient: bool
    ) -> None:
        self.failed += 1
        give_up_after = self.give_up_after if transient else 1
        try:
            async with in_transaction():
                attempts = await inbox.count_failure(
                    row_id,
                    give_up_after=give_up_after,
                    at=self.clock.now(),
                    by=self.worker_id,
                )
                if attempts >= give_up_after:
                    await updates.tell_sender_it_failed(
                        bot_id=self.bot_id,
                        update_id=update_id,
                        sender_id=sender,
                        clock=self.clock,
                    )
        except Exception:
            logger.exception("inbox: recording a failed handling of update %s failed", update_id)
            return
        if not transient:
            # The error was logged with its traceback where it was caught.
            logger.warning("update %s skipped: its handler failed", update_id)
        elif attempts >= give_up_after:
            logger.error("update %s skipped: its handling failed %d times", update_id, attempts)
        else:
            logger.warning("update %s: handling failed (attempt %d)", update_id, attempts)
