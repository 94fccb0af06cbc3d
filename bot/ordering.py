"""Updates of one person in the order they sent them; different people at the same time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerPersonUpdateProcessor(BaseUpdateProcessor):
    """Handles updates concurrently, except that one person's wait for each other.

    Two location pins sent in one second must not both become the day's first check-in, and a
    registration step must not overtake the one before it. Updates with no sender (a channel
    post, say) are not held back.
    """

    __slots__ = ("_queues",)

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        # Per sender: the lock their updates take in turn, and how many hold or wait for it.
        self._queues: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the update's handling once that person's earlier updates are done."""
        user = update.effective_user if isinstance(update, Update) else None
        if user is None:
            await coroutine
            return
        lock, waiting = self._queues.get(user.id, (asyncio.Lock(), 0))
        self._queues[user.id] = (lock, waiting + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, waiting = self._queues[user.id]
            if waiting == 1:
                del self._queues[user.id]
            else:
                self._queues[user.id] = (lock, waiting - 1)

    async def initialize(self) -> None:
        """Nothing to prepare."""

    async def shutdown(self) -> None:
        """Nothing to release."""
