"""The deadline engine: sleeps until the next deadline, fires it, and sleeps again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from datetime import datetime, timedelta

from services.clock import Clock
from services.deadlines import (
    DeadlineHandlers,
    Fired,
    RetryPolicy,
    fire_due,
    next_due_at,
    release,
)

logger = logging.getLogger(__name__)


class DeadlineEngine:
    """Acts on due deadlines of this database, exactly once across processes.

    It sleeps until the earliest due_at it knows (not a fixed tick), is woken at once by `wake`
    when this process schedules something earlier, and looks again every `poll_interval`
    seconds for rows written by other processes (an import, a second Outpost). At start,
    everything overdue is due at once. The claim (db.deadlines.claim_due) keeps two engines on
    one PostgreSQL from taking the same row.
    """

    def __init__(
        self,
        handlers: DeadlineHandlers,
        *,
        clock: Clock,
        poll_interval: float = 2.0,
        lease: timedelta = timedelta(minutes=2),
        retry: RetryPolicy | None = None,
        batch: int = 200,
        group: int = 50,
        concurrency: int = 4,
    ) -> None:
        self.handlers = handlers
        self.clock = clock
        self.poll_interval = poll_interval
        self.lease = lease
        self.retry = retry or RetryPolicy()
        self.batch = batch
        self.group = group
        self.concurrency = concurrency
        self.token = f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._woken = asyncio.Event()
        # The earliest instant scheduled in this process that the database may not show yet
        # (the scheduling transaction has not committed when `wake` is called).
        self._hint: datetime | None = None
        self._asleep_until: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    def wake(self, due_at: datetime) -> None:
        """A deadline was scheduled at `due_at`: wake now if that is before the planned wake-up."""
        if self._hint is None or due_at < self._hint:
            self._hint = due_at
        if self._asleep_until is None or due_at < self._asleep_until:
            self._woken.set()

    async def run_due(self) -> list[Fired]:
        """Fire everything due now, batch after batch (also by hand in tests)."""
        fired: list[Fired] = []
        while True:
            batch = await fire_due(
                handlers=self.handlers,
                clock=self.clock,
                token=self.token,
                lease=self.lease,
                retry=self.retry,
                limit=self.batch,
                group=self.group,
                concurrency=self.concurrency,
            )
            fired += batch
            if len(batch) < self.batch:
                return fired

    async def next_wake_up(self) -> datetime:
        """When to look next: the earliest due row, a woken instant, or the next poll."""
        now = self.clock.now()
        if self._hint is not None and self._hint <= now:
            self._hint = None
        moments = [now + timedelta(seconds=self.poll_interval)]
        known = await next_due_at()
        moments += [moment for moment in (known, self._hint) if moment is not None]
        return min(moments)

    async def _run(self) -> None:
        while True:
            try:
                await self.run_due()
                wake_up = await self.next_wake_up()
            except Exception:
                logger.exception("deadline engine pass failed")
                wake_up = self.clock.now() + timedelta(seconds=self.poll_interval)
            self._asleep_until = wake_up
            delay = (wake_up - self.clock.now()).total_seconds()
            if delay > 0 and not self._woken.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), delay)
            self._woken.clear()
            self._asleep_until = None

    def start(self) -> None:
        """Start firing deadlines by the clock."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="deadline-engine")

    async def stop(self) -> None:
        """Stop; a row under way is rolled back and handed back, due again at its time."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        released = await release(self.token)
        if released:
            logger.info("handed back %d deadline(s) at stop", released)
