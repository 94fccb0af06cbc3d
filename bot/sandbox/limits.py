"""Flood limits as Telegram applies them, on an injectable clock."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]


class ManualClock:
    """A clock that only moves when told to, for deterministic tests."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        """Return the current time in seconds."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


@dataclass
class FloodLimits:
    """Configurable limits; the defaults follow Telegram's published figures."""

    enabled: bool = True
    per_second: float = 30.0
    paid_per_second: float = 1000.0
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: float = 20.0


@dataclass
class _Bucket:
    """A token bucket: capacity tokens, refilled at rate per second."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last look."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self) -> float:
        """Seconds until one token is available (0 if available now)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class FloodLimiter:
    """Decides whether a bot may send one more message now, or how long it must wait."""

    limits: FloodLimits = field(default_factory=FloodLimits)
    clock: Clock = time.monotonic
    _buckets: dict[tuple[str, str | int], _Bucket] = field(default_factory=dict)

    def _bucket(self, key: tuple[str, str | int], capacity: float, rate: float) -> _Bucket:
        """Return the bucket for key, creating it full."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(capacity, rate, capacity, self.clock())
            self._buckets[key] = bucket
        return bucket

    def acquire(self, bot_id: int, chat_id: int, chat_type: str, paid: bool = False) -> int:
        """Take one message slot; return 0 if granted, else retry_after in whole seconds."""
        if not self.limits.enabled:
            return 0
        now = self.clock()
        lim = self.limits
        overall = (
            self._bucket(("paid", bot_id), lim.paid_per_second, lim.paid_per_second)
            if paid
            else self._bucket(("all", bot_id), lim.per_second, lim.per_second)
        )
        if chat_type == "private":
            chat = self._bucket(
                (f"chat{bot_id}", chat_id), lim.private_burst, lim.private_per_second
            )
        else:
            chat = self._bucket(
                (f"group{bot_id}", chat_id), lim.group_per_minute, lim.group_per_minute / 60
            )
        buckets = [overall, chat]
        for b in buckets:
            b.refill(now)
        wait = max(b.wait_time() for b in buckets)
        if wait > 0:
            return max(1, math.ceil(wait))
        for b in buckets:
            b.tokens -= 1
        return 0

    def reset(self) -> None:
        """Forget all counters."""
        self._buckets.clear()
